/*
 * The security models of the 9P server; see p9_sec.h for what each one
 * lets reach the host. mapped-xattr follows QEMU's on-disk layout
 * (hw/9pfs/9p-local.c as summarised in reference/protocols.md 7.5), so a
 * share can move between QEMU and Cove.
 */
#include "devices/virtio_9p/p9_sec.h"

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "devices/virtio_9p/p9_mfile.h"
#include "devices/virtio_9p/p9_proto.h"

#define XA_UID "user.virtfs.uid"
#define XA_GID "user.virtfs.gid"
#define XA_MODE "user.virtfs.mode"
#define XA_RDEV "user.virtfs.rdev"
#define XA_HIDDEN "user.virtfs."
#define OVERFLOW_ID 65534

static bool mapped(const struct p9_server *srv)
{
	return srv->cfg.model == SHARED_DIR_MAPPED_XATTR ||
	       srv->cfg.model == SHARED_DIR_MAPPED_FILE;
}

void p9_sec_node(const struct p9_fid *fid, struct p9_node *n)
{
	n->fd = p9_fid_node_fd(fid);
	n->dirfd = fid->dirfd;
	n->name = fid->name;
	n->root = fid->root;
}

/* ---- id maps ---- */

int64_t p9_sec_to_host(const struct shared_dir_idmap *map, uint32_t id)
{
	if (map->n == 0)
		return id;
	for (unsigned int i = 0; i < map->n; i++) {
		if (id >= map->r[i].inner && id - map->r[i].inner < map->r[i].count)
			return (int64_t)map->r[i].outer + (id - map->r[i].inner);
	}
	return -1;
}

uint32_t p9_sec_to_guest(const struct shared_dir_idmap *map, uint32_t id)
{
	if (map->n == 0)
		return id;
	for (unsigned int i = 0; i < map->n; i++) {
		if (id >= map->r[i].outer && id - map->r[i].outer < map->r[i].count)
			return map->r[i].inner + (id - map->r[i].outer);
	}
	return OVERFLOW_ID;
}

/* ---- the stored guest credentials ---- */

struct creds {
	bool has_uid, has_gid, has_mode, has_rdev;
	uint32_t uid, gid, mode;
	uint64_t rdev;
};

static bool get_u32(const char *path, const char *name, uint32_t *v)
{
	uint32_t le;

	if (getxattr(path, name, &le, sizeof(le)) != sizeof(le))
		return false;
	*v = le32toh(le);
	return true;
}

static void xattr_creds(int fd, const struct stat *st, struct creds *c)
{
	char path[32];
	uint64_t le;

	/* Only Cove's stand-ins carry them; user xattrs exist on files and dirs only. */
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
		return;
	p9_path_proc(fd, path);
	c->has_uid = get_u32(path, XA_UID, &c->uid);
	c->has_gid = get_u32(path, XA_GID, &c->gid);
	c->has_mode = get_u32(path, XA_MODE, &c->mode);
	if (c->has_mode && (S_ISCHR(c->mode) || S_ISBLK(c->mode)) &&
	    getxattr(path, XA_RDEV, &le, sizeof(le)) == sizeof(le)) {
		c->has_rdev = true;
		c->rdev = le64toh(le);
	}
}

static int file_creds(struct p9_server *srv, const struct p9_node *n, struct creds *c)
{
	struct p9_mfile_meta m;
	int ret;

	if (!n->root && (n->dirfd < 0 || !n->name))
		return 0; /* entry unknown: host values */
	ret = p9_mfile_get(&srv->root, n->dirfd, n->name, n->root, &m);
	if (ret)
		return ret;
	*c = (struct creds){m.has_uid, m.has_gid, m.has_mode, m.has_rdev,
			    m.uid,     m.gid,	  m.mode,     m.rdev};
	return 0;
}

/*
 * The stored mode's file type, if it may describe this host object:
 * directories stay directories, a regular file may stand for any
 * non-directory; anything else keeps its host type.
 */
static mode_t stored_type(const struct stat *st, uint32_t mode)
{
	mode_t t = mode & S_IFMT;

	if (S_ISDIR(st->st_mode))
		return S_IFDIR;
	if (S_ISREG(st->st_mode) && (t == S_IFREG || t == S_IFLNK || t == S_IFCHR || t == S_IFBLK ||
				     t == S_IFIFO || t == S_IFSOCK))
		return t;
	return st->st_mode & S_IFMT;
}

static void apply_creds(const struct p9_server *srv, const struct creds *c, struct stat *st)
{
	st->st_uid = c->has_uid ? c->uid : p9_sec_to_guest(&srv->cfg.uidmap, st->st_uid);
	st->st_gid = c->has_gid ? c->gid : p9_sec_to_guest(&srv->cfg.gidmap, st->st_gid);
	if (c->has_mode)
		st->st_mode = stored_type(st, c->mode) | (c->mode & 07777);
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		st->st_rdev = c->has_rdev ? c->rdev : 0;
}

int p9_sec_view(struct p9_server *srv, const struct p9_node *n, const struct stat *host,
		struct stat *st)
{
	struct creds c = {0};
	int ret = 0;

	*st = *host;
	if (srv->cfg.model == SHARED_DIR_MAPPED_XATTR)
		xattr_creds(n->fd, st, &c);
	else if (srv->cfg.model == SHARED_DIR_MAPPED_FILE)
		ret = file_creds(srv, n, &c);
	if (ret)
		return ret;
	apply_creds(srv, &c, st);
	return 0;
}

int p9_sec_stat(struct p9_server *srv, const struct p9_node *n, struct stat *st)
{
	struct stat host;

	if (fstat(n->fd, &host) < 0)
		return -errno;
	return p9_sec_view(srv, n, &host, st);
}

/* Stores c into the model's metadata (mapped models only). */
static int store_creds(struct p9_server *srv, const struct p9_node *n, const struct creds *c)
{
	char path[32];
	uint32_t le;
	uint64_t le64;

	if (srv->cfg.model == SHARED_DIR_MAPPED_FILE) {
		struct p9_mfile_meta m = {c->has_uid, c->has_gid, c->has_mode, c->has_rdev,
					  c->uid,     c->gid,	  c->mode,     c->rdev};

		if (!n->root && (n->dirfd < 0 || !n->name))
			return -ESTALE;
		return p9_mfile_set(&srv->root, n->dirfd, n->name, n->root, &m);
	}
	p9_path_proc(n->fd, path);
	if (c->has_uid && (le = htole32(c->uid), setxattr(path, XA_UID, &le, 4, 0) < 0))
		return -errno;
	if (c->has_gid && (le = htole32(c->gid), setxattr(path, XA_GID, &le, 4, 0) < 0))
		return -errno;
	if (c->has_mode && (le = htole32(c->mode), setxattr(path, XA_MODE, &le, 4, 0) < 0))
		return -errno;
	if (c->has_rdev && (le64 = htole64(c->rdev), setxattr(path, XA_RDEV, &le64, 8, 0) < 0))
		return -errno;
	return 0;
}

/* ---- creation ---- */

mode_t p9_sec_host_mode(const struct p9_server *srv, uint32_t mode)
{
	if (mapped(srv))
		return S_ISDIR(mode) ? srv->cfg.dmode : srv->cfg.fmode;
	return mode & 07777;
}

/* chmod through /proc/self/fd: the inode itself, never a path the guest named. */
static int chmod_node(struct p9_server *srv, int fd, mode_t mode)
{
	char num[16];

	snprintf(num, sizeof(num), "%d", fd);
	return fchmodat(srv->root.proc_fd, num, mode, 0) < 0 ? -errno : 0;
}

/* passthrough/none: owner through the maps; -EINVAL for an unmapped id. */
static int chown_node(struct p9_server *srv, int fd, uint32_t uid, uint32_t gid)
{
	int64_t hu = uid == P9_NONUNAME ? -1 : p9_sec_to_host(&srv->cfg.uidmap, uid);
	int64_t hg = gid == P9_NONUNAME ? -1 : p9_sec_to_host(&srv->cfg.gidmap, gid);

	if ((uid != P9_NONUNAME && hu < 0) || (gid != P9_NONUNAME && hg < 0))
		return -EINVAL;
	if (fchownat(fd, "", (uid_t)hu, (gid_t)hg, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

static int created_passthrough(struct p9_server *srv, const struct p9_node *n,
			       const struct p9_cred *c)
{
	mode_t perm = c->mode & 07777;
	int ret = chown_node(srv, n->fd, c->uid, c->gid);

	if (ret && srv->cfg.model == SHARED_DIR_PASSTHROUGH)
		return ret;
	/* The create call applied the umask, and chown dropped set-id bits. */
	if (!S_ISLNK(c->mode) && (perm & (srv->umask | 07000)))
		return chmod_node(srv, n->fd, perm);
	return 0;
}

int p9_sec_created(struct p9_server *srv, const struct p9_node *n, const struct p9_cred *c)
{
	mode_t host = p9_sec_host_mode(srv, c->mode);
	struct creds cr = {.has_uid = c->uid != P9_NONUNAME,
			   .has_gid = c->gid != P9_NONUNAME,
			   .has_mode = true,
			   .has_rdev = S_ISCHR(c->mode) || S_ISBLK(c->mode),
			   .uid = c->uid,
			   .gid = c->gid,
			   .mode = c->mode,
			   .rdev = c->rdev};
	int ret;

	if (!mapped(srv))
		return created_passthrough(srv, n, c);
	if (host & srv->umask) {
		ret = chmod_node(srv, n->fd, host);
		if (ret)
			return ret;
	}
	return store_creds(srv, n, &cr);
}

/* ---- changes ---- */

int p9_sec_chmod(struct p9_server *srv, const struct p9_node *n, uint32_t mode)
{
	struct stat st;
	struct creds c = {.has_mode = true};
	int ret = p9_sec_stat(srv, n, &st);

	if (ret)
		return ret;
	if (!mapped(srv))
		return S_ISLNK(st.st_mode) ? -EOPNOTSUPP : chmod_node(srv, n->fd, mode & 07777);
	c.mode = (st.st_mode & S_IFMT) | (mode & 07777);
	return store_creds(srv, n, &c);
}

int p9_sec_chown(struct p9_server *srv, const struct p9_node *n, uint32_t uid, uint32_t gid)
{
	struct creds c = {
	    .has_uid = uid != P9_NONUNAME, .has_gid = gid != P9_NONUNAME, .uid = uid, .gid = gid};

	if (!mapped(srv))
		return chown_node(srv, n->fd, uid, gid);
	return store_creds(srv, n, &c);
}

/* A new empty regular file (a mapped model's stand-in); 0 or -errno. */
static int create_empty(struct p9_server *srv, int dirfd, const char *name, int *out)
{
	int fd = p9_path_openat(&srv->root, dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NONBLOCK,
				srv->cfg.fmode);

	if (fd < 0)
		return fd;
	if (out)
		*out = fd;
	else
		close(fd);
	return 0;
}

int p9_sec_symlink(struct p9_server *srv, int dirfd, const char *name, const char *target)
{
	size_t len = strlen(target);
	int fd, ret;

	if (!mapped(srv))
		return symlinkat(target, dirfd, name) < 0 ? -errno : 0;
	ret = create_empty(srv, dirfd, name, &fd);
	if (ret)
		return ret;
	ret = pwrite(fd, target, len, 0) == (ssize_t)len ? 0 : -EIO;
	close(fd);
	if (ret)
		(void)unlinkat(dirfd, name, 0);
	return ret;
}

int p9_sec_mknod(struct p9_server *srv, int dirfd, const char *name, uint32_t mode, uint64_t rdev)
{
	mode_t type = mode & S_IFMT;

	(void)rdev; /* stored by p9_sec_created in the mapped models */
	if (type != S_IFREG && type != S_IFIFO && type != S_IFSOCK && type != S_IFCHR &&
	    type != S_IFBLK)
		return -EINVAL;
	if (mapped(srv) || type == S_IFREG)
		return create_empty(srv, dirfd, name, NULL);
	if (type == S_IFCHR || type == S_IFBLK)
		return -EPERM; /* never a host device node */
	return mknodat(dirfd, name, type | (mode & 07777), 0) < 0 ? -errno : 0;
}

int p9_sec_readlink(struct p9_server *srv, const struct p9_node *n, char *buf, size_t cap)
{
	struct stat st;
	ssize_t len;
	int fd, ret;

	if (!mapped(srv)) {
		len = readlinkat(n->fd, "", buf, cap - 1);
		if (len < 0)
			return errno == ENOENT ? -EINVAL : -errno;
	} else {
		ret = p9_sec_stat(srv, n, &st);
		if (ret)
			return ret;
		if (!S_ISLNK(st.st_mode))
			return -EINVAL;
		fd = p9_path_reopen(&srv->root, n->fd, O_RDONLY | O_NONBLOCK);
		if (fd < 0)
			return fd;
		len = pread(fd, buf, cap - 1, 0);
		ret = -errno;
		close(fd);
		if (len < 0)
			return ret;
	}
	buf[len] = '\0';
	return (int)len;
}

/* ---- names ---- */

bool p9_sec_reserved(const struct p9_server *srv, const char *name)
{
	return srv->cfg.model == SHARED_DIR_MAPPED_FILE &&
	       (!strcmp(name, P9_MFILE_DIR) || !strcmp(name, P9_MFILE_ROOT));
}

uint8_t p9_sec_dtype(const struct p9_server *srv, uint8_t host_dtype)
{
	/* A mapped regular file may be a guest symlink or device. */
	return mapped(srv) && host_dtype == DT_REG ? DT_UNKNOWN : host_dtype;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int p9_sec_xattr_name(const struct p9_server *srv, const char *name, bool write)
{
	if (srv->cfg.model == SHARED_DIR_MAPPED_XATTR && has_prefix(name, XA_HIDDEN))
		return write ? -EACCES : -ENODATA;
	if (has_prefix(name, "user."))
		return 0;
	if (mapped(srv))
		return -EOPNOTSUPP;
	if (has_prefix(name, "trusted.") || has_prefix(name, "security.") ||
	    !strcmp(name, "system.posix_acl_access") || !strcmp(name, "system.posix_acl_default"))
		return 0;
	return -EOPNOTSUPP;
}

size_t p9_sec_xattr_list(const struct p9_server *srv, char *list, size_t len)
{
	size_t in = 0, out = 0;

	while (in < len) {
		size_t n = strnlen(list + in, len - in);

		if (in + n < len && p9_sec_xattr_name(srv, list + in, false) == 0) {
			memmove(list + out, list + in, n + 1);
			out += n + 1;
		}
		in += n + 1;
	}
	return out;
}

/* ---- mapped-file bookkeeping ---- */

void p9_sec_removing_dir(struct p9_server *srv, int dirfd, const char *name)
{
	if (srv->cfg.model == SHARED_DIR_MAPPED_FILE)
		p9_mfile_clear_dir(&srv->root, dirfd, name);
}

void p9_sec_removed(struct p9_server *srv, int dirfd, const char *name)
{
	if (srv->cfg.model == SHARED_DIR_MAPPED_FILE)
		p9_mfile_remove(&srv->root, dirfd, name);
}

void p9_sec_renamed(struct p9_server *srv, int olddirfd, const char *oldname, int newdirfd,
		    const char *newname)
{
	if (srv->cfg.model == SHARED_DIR_MAPPED_FILE)
		p9_mfile_rename(&srv->root, olddirfd, oldname, newdirfd, newname);
}

void p9_sec_linked(struct p9_server *srv, const struct p9_node *old, int newdirfd,
		   const char *newname)
{
	if (srv->cfg.model == SHARED_DIR_MAPPED_FILE && old->dirfd >= 0 && old->name)
		p9_mfile_copy(&srv->root, old->dirfd, old->name, newdirfd, newname);
}
