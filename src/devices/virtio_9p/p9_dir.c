/*
 * Directory messages: Treaddir, Tmkdir, Tmknod, Tsymlink, Treadlink,
 * Tlink, Trename, Trenameat, Tunlinkat, Tremove (reference/protocols.md
 * 7.3).
 *
 * Every name is one checked element (p9_path_name) used with a directory
 * descriptor and an *at() call that does not follow a final symlink, so
 * no guest string ever becomes a host path. Names the security model keeps
 * for itself are invisible (ENOENT) and cannot be created (EINVAL).
 * Renames and removals are serialised (srv->rename_lock) with the fix-ups
 * of the fids whose entry moved or vanished.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "devices/virtio_9p/p9_op.h"
#include "devices/virtio_9p/p9_sec.h"

/* ---- helpers ---- */

/* Checks a name for creation: valid, not reserved, share writable. */
static int new_name(struct p9_op *op, const struct p9_str *s, char name[NAME_MAX + 1])
{
	int ret = p9_path_name(s, name);

	if (!ret && p9_sec_reserved(op->srv, name))
		ret = -EINVAL;
	return ret ? ret : p9_op_writable(op);
}

/* Checks a name for lookup: as above, but a reserved name does not exist. */
static int old_name(struct p9_op *op, const struct p9_str *s, char name[NAME_MAX + 1])
{
	int ret = p9_path_name(s, name);

	if (!ret && p9_sec_reserved(op->srv, name))
		ret = -ENOENT;
	return ret ? ret : p9_op_writable(op);
}

/*
 * The directory descriptor of fid `num` (its node: valid while *out is
 * held) and its uid; -ENOTDIR if it is not a directory.
 */
static int dir_fd(struct p9_op *op, uint32_t num, struct p9_fid **out, uint32_t *uid)
{
	int ret, fd = -ENOTDIR;
	struct p9_fid *fid = p9_op_fid(op, num, &ret);

	*out = fid;
	if (!fid)
		return ret;
	pthread_mutex_lock(&fid->lock);
	if ((fid->kind == P9_FID_NODE || fid->kind == P9_FID_OPEN) && S_ISDIR(fid->type))
		fd = p9_fid_node_fd(fid);
	if (uid)
		*uid = fid->uid;
	pthread_mutex_unlock(&fid->lock);
	return fd;
}

/*
 * After creating dirfd/name: applies the credentials and answers its qid.
 * On failure the new object is removed again.
 */
static int made(struct p9_op *op, int dirfd, const char *name, const struct p9_cred *c)
{
	struct p9_node n = {.dirfd = dirfd, .name = name};
	struct p9_qid q;
	struct stat st;
	int ret;

	n.fd = p9_path_openat(&op->srv->root, dirfd, name, O_PATH, 0);
	ret = n.fd < 0 ? n.fd : p9_sec_created(op->srv, &n, c);
	if (!ret)
		ret = p9_sec_stat(op->srv, &n, &st);
	if (n.fd >= 0)
		close(n.fd);
	if (ret) {
		p9_sec_removed(op->srv, dirfd, name);
		(void)unlinkat(dirfd, name, S_ISDIR(c->mode) ? AT_REMOVEDIR : 0);
		return ret;
	}
	p9_op_qid(op->srv, &st, &q);
	p9_wire_put_qid(op->r, &q);
	return 0;
}

/* ---- Treaddir ---- */

static void entry_qid(const struct p9_fid *dir, const struct dirent64 *d, struct p9_qid *q)
{
	q->type = d->d_type == DT_DIR ? P9_QTDIR : d->d_type == DT_LNK ? P9_QTSYMLINK : P9_QTFILE;
	q->version = 0;
	/* ".." of the root would show the host's parent: show the root again. */
	q->path = dir->root && !strcmp(d->d_name, "..") ? dir->ino : d->d_ino;
}

/* Appends the entries of one getdents64 batch; false once the reply is full. */
static bool put_batch(struct p9_op *op, const struct p9_fid *dir, const uint8_t *buf, size_t len,
		      size_t limit)
{
	for (size_t pos = 0; pos < len;) {
		const struct dirent64 *d = (const struct dirent64 *)(const void *)(buf + pos);
		size_t nlen = strlen(d->d_name);
		struct p9_qid q;

		pos += d->d_reclen;
		if (p9_sec_reserved(op->srv, d->d_name))
			continue;
		if (op->r->len + P9_QID_SIZE + 8 + 1 + 2 + nlen > limit)
			return false;
		entry_qid(dir, d, &q);
		p9_wire_put_qid(op->r, &q);
		p9_wire_put_u64(op->r, (uint64_t)d->d_off);
		p9_wire_put_u8(op->r, p9_sec_dtype(op->srv, d->d_type));
		p9_wire_put_str(op->r, d->d_name, nlen);
	}
	return true;
}

/*
 * Entries from the cookie `offset` on, as many as fit in `count` bytes.
 * The directory is repositioned on every call, so a reply that stopped
 * early resumes exactly at the next cookie. Fid lock held.
 */
static int read_entries(struct p9_op *op, struct p9_fid *dir)
{
	uint32_t count = MIN(op->m->read.count, (uint32_t)(op->cap - P9_READ_HDR_SIZE));
	size_t start = op->r->len + 4, limit = start + count;
	size_t count_at = op->r->len;
	long n;

	if (op->m->read.offset > INT64_MAX)
		return -EINVAL;
	if (lseek(dir->ofd, (off_t)op->m->read.offset, SEEK_SET) < 0)
		return -errno;
	p9_wire_put_u32(op->r, 0);
	do {
		n = getdents64(dir->ofd, op->ctx->dirents, MIN(65536u, MAX(count, 1024u)));
		if (n < 0)
			return -errno;
	} while (n > 0 && put_batch(op, dir, op->ctx->dirents, (size_t)n, limit));
	count = (uint32_t)(op->r->len - start);
	for (unsigned int i = 0; i < 4; i++)
		op->r->data[count_at + i] = (uint8_t)(count >> (8 * i));
	return 0;
}

int p9_dir_readdir(struct p9_op *op)
{
	int ret;
	struct p9_fid *fid = p9_op_fid(op, op->m->read.fid, &ret);

	if (!fid)
		return ret;
	pthread_mutex_lock(&fid->lock);
	if (fid->kind != P9_FID_OPEN)
		ret = -EBADF;
	else if (!S_ISDIR(fid->type))
		ret = -ENOTDIR;
	else
		ret = read_entries(op, fid);
	pthread_mutex_unlock(&fid->lock);
	p9_op_put(op, fid);
	return ret;
}

/* ---- Tmkdir, Tmknod, Tsymlink ---- */

int p9_dir_mkdir(struct p9_op *op)
{
	char name[NAME_MAX + 1];
	struct p9_fid *dir = NULL;
	struct p9_cred c = {.gid = op->m->mkdir.gid, .mode = S_IFDIR | (op->m->mkdir.mode & 07777)};
	int ret = new_name(op, &op->m->mkdir.name, name), fd;

	if (ret)
		return ret;
	fd = dir_fd(op, op->m->mkdir.dfid, &dir, &c.uid);
	ret = fd;
	if (fd >= 0) {
		ret = mkdirat(fd, name, p9_sec_host_mode(op->srv, c.mode)) < 0 ? -errno : 0;
		if (!ret)
			ret = made(op, fd, name, &c);
	}
	p9_op_put(op, dir);
	return ret;
}

int p9_dir_mknod(struct p9_op *op)
{
	char name[NAME_MAX + 1];
	struct p9_fid *dir = NULL;
	uint32_t mode = op->m->mknod.mode;
	struct p9_cred c = {.gid = op->m->mknod.gid,
			    .mode = (mode & S_IFMT ? mode & S_IFMT : S_IFREG) | (mode & 07777),
			    .rdev = makedev(op->m->mknod.major, op->m->mknod.minor)};
	int ret = new_name(op, &op->m->mknod.name, name), fd;

	if (ret)
		return ret;
	fd = dir_fd(op, op->m->mknod.dfid, &dir, &c.uid);
	ret = fd;
	if (fd >= 0) {
		ret = p9_sec_mknod(op->srv, fd, name, c.mode, c.rdev);
		if (!ret)
			ret = made(op, fd, name, &c);
	}
	p9_op_put(op, dir);
	return ret;
}

int p9_dir_symlink(struct p9_op *op)
{
	const struct p9_str *t = &op->m->symlink.target;
	char name[NAME_MAX + 1], target[PATH_MAX];
	struct p9_fid *dir = NULL;
	struct p9_cred c = {.gid = op->m->symlink.gid, .mode = S_IFLNK | 0777};
	int ret = new_name(op, &op->m->symlink.name, name), fd;

	if (ret)
		return ret;
	/* Guest-controlled: the target is data, never resolved by Cove. */
	if (t->len == 0 || memchr(t->s, '\0', t->len))
		return -EINVAL;
	if (t->len >= PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(target, t->s, t->len);
	target[t->len] = '\0';
	fd = dir_fd(op, op->m->symlink.fid, &dir, &c.uid);
	ret = fd;
	if (fd >= 0) {
		ret = p9_sec_symlink(op->srv, fd, name, target);
		if (!ret)
			ret = made(op, fd, name, &c);
	}
	p9_op_put(op, dir);
	return ret;
}

/* ---- Treadlink ---- */

int p9_dir_readlink(struct p9_op *op)
{
	char target[PATH_MAX + 1];
	struct p9_node n;
	int ret, len;
	struct p9_fid *fid = p9_op_fid(op, op->m->fid.fid, &ret);

	if (!fid)
		return ret;
	pthread_mutex_lock(&fid->lock);
	p9_sec_node(fid, &n);
	len = fid->kind == P9_FID_NODE ? p9_sec_readlink(op->srv, &n, target, sizeof(target))
				       : -EINVAL;
	pthread_mutex_unlock(&fid->lock);
	p9_op_put(op, fid);
	if (len < 0)
		return len;
	p9_wire_put_str(op->r, target, (size_t)len);
	return 0;
}

/* ---- Tlink ---- */

/* The file of fid `num` as a /proc/self/fd path (valid while *out is held). */
static int node_proc(struct p9_op *op, uint32_t num, struct p9_fid **out, char path[32])
{
	int ret = 0;
	struct p9_fid *fid = p9_op_fid(op, num, &ret);

	*out = fid;
	if (!fid)
		return ret;
	pthread_mutex_lock(&fid->lock);
	if (fid->kind != P9_FID_NODE && fid->kind != P9_FID_OPEN)
		ret = -EINVAL;
	else if (S_ISDIR(fid->type))
		ret = -EPERM;
	else
		p9_path_proc(p9_fid_node_fd(fid), path);
	pthread_mutex_unlock(&fid->lock);
	return ret;
}

int p9_dir_link(struct p9_op *op)
{
	char name[NAME_MAX + 1], path[32];
	struct p9_fid *dir = NULL, *fid = NULL;
	struct p9_node n;
	int ret = new_name(op, &op->m->link.name, name), fd = -1;

	if (!ret)
		ret = node_proc(op, op->m->link.fid, &fid, path);
	if (!ret)
		ret = fd = dir_fd(op, op->m->link.dfid, &dir, NULL);
	/* The inode the fid holds, by its descriptor: no guest path involved. */
	if (fd >= 0)
		ret = linkat(AT_FDCWD, path, fd, name, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
	if (fd >= 0 && !ret) {
		pthread_mutex_lock(&fid->lock);
		p9_sec_node(fid, &n);
		p9_sec_linked(op->srv, &n, fd, name);
		pthread_mutex_unlock(&fid->lock);
	}
	p9_op_put(op, dir);
	p9_op_put(op, fid);
	return ret < 0 ? ret : 0;
}

/* ---- renames and removals ---- */

struct fixup {
	dev_t odev, ndev;
	ino_t oino, nino;
	const char *oname, *nname;
	int ndirfd; /* -1: the entry is gone */
};

/* A fid whose entry was oldname (now newname), or was replaced or removed. */
static void fix_fid(struct p9_fid *fid, void *arg)
{
	const struct fixup *f = arg;
	int nfd;

	pthread_mutex_lock(&fid->lock);
	if (fid->name && f->ndirfd >= 0 && fid->dir_dev == f->ndev && fid->dir_ino == f->nino &&
	    !strcmp(fid->name, f->nname))
		p9_fid_forget_entry(fid); /* the rename replaced it */
	else if (fid->name && fid->dir_dev == f->odev && fid->dir_ino == f->oino &&
		 !strcmp(fid->name, f->oname)) {
		nfd = f->ndirfd >= 0 ? p9_path_dup(f->ndirfd) : -1;
		if (nfd < 0 || p9_fid_set_entry(fid, nfd, f->nname))
			p9_fid_forget_entry(fid);
	}
	pthread_mutex_unlock(&fid->lock);
}

static void fix_fids(struct p9_server *srv, int odir, const char *oname, int ndir,
		     const char *nname)
{
	struct stat os, ns = {0};
	struct fixup f = {.oname = oname, .nname = nname, .ndirfd = ndir};

	if (fstat(odir, &os) < 0 || (ndir >= 0 && fstat(ndir, &ns) < 0))
		return;
	f.odev = os.st_dev;
	f.oino = os.st_ino;
	f.ndev = ns.st_dev;
	f.nino = ns.st_ino;
	p9_fid_for_each(&srv->fids, fix_fid, &f);
}

/* Renames and records it; rename_lock held. */
static int do_rename(struct p9_server *srv, int odir, const char *oname, int ndir,
		     const char *nname)
{
	if (renameat(odir, oname, ndir, nname) < 0)
		return -errno;
	p9_sec_renamed(srv, odir, oname, ndir, nname);
	fix_fids(srv, odir, oname, ndir, nname);
	return 0;
}

/* Removes and records it; rename_lock held. */
static int do_unlink(struct p9_server *srv, int dir, const char *name, int flags)
{
	if (flags & AT_REMOVEDIR)
		p9_sec_removing_dir(srv, dir, name);
	if (unlinkat(dir, name, flags) < 0)
		return -errno;
	p9_sec_removed(srv, dir, name);
	fix_fids(srv, dir, name, -1, NULL);
	return 0;
}

int p9_dir_renameat(struct p9_op *op)
{
	char oname[NAME_MAX + 1], nname[NAME_MAX + 1];
	struct p9_fid *odir = NULL, *ndir = NULL;
	int ret = old_name(op, &op->m->renameat.oldname, oname), ofd, nfd;

	if (!ret)
		ret = new_name(op, &op->m->renameat.newname, nname);
	if (ret)
		return ret;
	ofd = dir_fd(op, op->m->renameat.olddirfid, &odir, NULL);
	nfd = ofd < 0 ? ofd : dir_fd(op, op->m->renameat.newdirfid, &ndir, NULL);
	ret = nfd < 0 ? nfd : 0;
	if (!ret) {
		pthread_mutex_lock(&op->srv->rename_lock);
		ret = do_rename(op->srv, ofd, oname, nfd, nname);
		pthread_mutex_unlock(&op->srv->rename_lock);
	}
	p9_op_put(op, odir);
	p9_op_put(op, ndir);
	return ret;
}

int p9_dir_unlinkat(struct p9_op *op)
{
	char name[NAME_MAX + 1];
	struct p9_fid *dir = NULL;
	uint32_t flags = op->m->unlinkat.flags;
	int ret = old_name(op, &op->m->unlinkat.name, name), fd;

	if (ret)
		return ret;
	if (flags & ~P9_AT_REMOVEDIR)
		return -EINVAL;
	fd = dir_fd(op, op->m->unlinkat.dirfid, &dir, NULL);
	ret = fd;
	if (fd >= 0) {
		pthread_mutex_lock(&op->srv->rename_lock);
		ret = do_unlink(op->srv, fd, name, flags & P9_AT_REMOVEDIR ? AT_REMOVEDIR : 0);
		pthread_mutex_unlock(&op->srv->rename_lock);
	}
	p9_op_put(op, dir);
	return ret;
}

/*
 * The fid's entry (a duplicate of its directory, and its name), checked to
 * still name the fid's own inode. Fid lock held. Returns the directory or -errno.
 */
static int own_entry(const struct p9_fid *fid, char name[NAME_MAX + 1])
{
	struct stat st;

	if (fid->root)
		return -EBUSY;
	if (fid->dirfd < 0 || !fid->name || strlen(fid->name) > NAME_MAX)
		return -ENOENT;
	if (fstatat(fid->dirfd, fid->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (st.st_dev != fid->dev || st.st_ino != fid->ino)
		return -ENOENT; /* the name now belongs to another file */
	strcpy(name, fid->name);
	return p9_path_dup(fid->dirfd);
}

static int rename_fid(struct p9_op *op, struct p9_fid *fid, int ndir, const char *nname)
{
	char oname[NAME_MAX + 1];
	int odir, ret;

	pthread_mutex_lock(&fid->lock);
	odir =
	    fid->kind == P9_FID_NODE || fid->kind == P9_FID_OPEN ? own_entry(fid, oname) : -EINVAL;
	pthread_mutex_unlock(&fid->lock);
	if (odir < 0)
		return odir;
	pthread_mutex_lock(&op->srv->rename_lock);
	ret = do_rename(op->srv, odir, oname, ndir, nname);
	pthread_mutex_unlock(&op->srv->rename_lock);
	close(odir);
	return ret;
}

int p9_dir_rename(struct p9_op *op)
{
	char nname[NAME_MAX + 1];
	struct p9_fid *fid = NULL, *ndir = NULL;
	int ret = new_name(op, &op->m->rename.name, nname), nfd;

	if (ret)
		return ret;
	nfd = dir_fd(op, op->m->rename.dfid, &ndir, NULL);
	fid = nfd < 0 ? NULL : p9_op_fid(op, op->m->rename.fid, &ret);
	ret = nfd < 0 ? nfd : fid ? rename_fid(op, fid, nfd, nname) : ret;
	p9_op_put(op, fid);
	p9_op_put(op, ndir);
	return ret;
}

int p9_dir_remove(struct p9_op *op)
{
	/* Tremove clunks the fid whatever the outcome. */
	struct p9_fid *fid = p9_fid_remove(&op->srv->fids, op->m->fid.fid);
	char name[NAME_MAX + 1];
	int ret = fid ? p9_op_writable(op) : -EBADF, dir = -1;
	bool is_dir = false;

	if (!ret) {
		pthread_mutex_lock(&fid->lock);
		is_dir = S_ISDIR(fid->type);
		dir = fid->kind == P9_FID_NODE || fid->kind == P9_FID_OPEN ? own_entry(fid, name)
									   : -EINVAL;
		pthread_mutex_unlock(&fid->lock);
		ret = dir < 0 ? dir : 0;
	}
	if (!ret) {
		pthread_mutex_lock(&op->srv->rename_lock);
		ret = do_unlink(op->srv, dir, name, is_dir ? AT_REMOVEDIR : 0);
		pthread_mutex_unlock(&op->srv->rename_lock);
	}
	if (dir >= 0)
		close(dir);
	p9_fid_put(&op->srv->fids, fid);
	return ret;
}
