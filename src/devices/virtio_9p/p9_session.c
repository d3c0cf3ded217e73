/*
 * Session messages: Tversion (msize, fid reset), Tattach (the root fid),
 * Twalk (name elements through p9_path, never following a symlink, ".."
 * confined at the root) and Tclunk. reference/protocols.md 7.3.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "devices/virtio_9p/p9_op.h"
#include "devices/virtio_9p/p9_sec.h"

/* ---- Tversion ---- */

int p9_session_version(struct p9_op *op)
{
	const struct p9_str *v = &op->m->version.version;
	uint32_t msize = MIN(op->m->version.msize, op->srv->cfg.msize);
	size_t vlen = strlen(P9_VERSION_L);
	bool ours = v->len >= vlen && memcmp(v->s, P9_VERSION_L, vlen) == 0 &&
		    (v->len == vlen || v->s[vlen] == '.');

	/* A new session: every fid of the old one is gone. */
	p9_fid_table_clear(&op->srv->fids);
	if (ours && msize < P9_MIN_MSIZE)
		return -EINVAL;
	if (ours)
		__atomic_store_n(&op->srv->msize, msize, __ATOMIC_RELEASE);
	p9_wire_put_u32(op->r, msize);
	p9_wire_put_cstr(op->r, ours ? P9_VERSION_L : P9_VERSION_UNKNOWN);
	return 0;
}

/* Before Tversion, nothing but Tversion is served. */
static int negotiated(const struct p9_op *op)
{
	return __atomic_load_n(&op->srv->msize, __ATOMIC_ACQUIRE) ? 0 : -EPROTO;
}

/* ---- Tattach ---- */

/* The qid of node n (the guest's view of the host attributes *host, read already). */
static int node_qid(struct p9_server *srv, const struct p9_node *n, const struct stat *host,
		    struct p9_qid *q)
{
	struct stat guest;
	int ret = p9_sec_view(srv, n, host, &guest);

	if (!ret)
		p9_op_qid(srv, &guest, q);
	return ret;
}

int p9_session_attach(struct p9_op *op)
{
	struct p9_server *srv = op->srv;
	struct p9_node n = {.dirfd = -1, .root = true};
	struct p9_fid *fid;
	struct p9_qid qid;
	struct stat st;
	int ret = negotiated(op);

	if (ret)
		return ret;
	if (op->m->attach.afid != P9_NOFID)
		return -EINVAL; /* no authentication */
	fid = p9_fid_new(op->m->attach.fid);
	if (!fid)
		return -ENOMEM;
	fid->fd = p9_path_dup(srv->root.fd);
	fid->root = true;
	fid->uid = op->m->attach.n_uname;
	n.fd = fid->fd;
	ret = fid->fd < 0 ? fid->fd : fstat(fid->fd, &st) < 0 ? -errno : 0;
	if (!ret)
		ret = node_qid(srv, &n, &st, &qid);
	if (!ret) {
		fid->type = st.st_mode & S_IFMT;
		fid->dev = st.st_dev;
		fid->ino = st.st_ino;
		ret = p9_fid_insert(&srv->fids, fid);
	}
	if (ret) {
		p9_fid_put(&srv->fids, fid);
		return ret;
	}
	p9_wire_put_qid(op->r, &qid);
	return 0;
}

/* ---- Twalk ---- */

/* Where a walk is: the current object, its directory and name. */
struct walk_pos {
	int fd, dirfd; /* owned */
	char name[NAME_MAX + 1];
	bool named;
	struct stat st;
};

static void pos_close(struct walk_pos *p)
{
	if (p->fd >= 0)
		close(p->fd);
	if (p->dirfd >= 0)
		close(p->dirfd);
	p->fd = p->dirfd = -1;
}

/* Guest-controlled: s. One step from p; on success p moves on. */
static int step(struct p9_server *srv, struct walk_pos *p, const struct p9_str *s, struct p9_qid *q)
{
	struct p9_node n = {.dirfd = -1};
	char name[NAME_MAX + 1];
	int fd, ret;

	if (s->len == 2 && !memcmp(s->s, "..", 2)) {
		fd = p9_path_parent(&srv->root, p->fd);
	} else if (s->len == 1 && s->s[0] == '.') {
		fd = S_ISDIR(p->st.st_mode) ? p9_path_dup(p->fd) : -ENOTDIR;
	} else {
		ret = p9_path_name(s, name);
		if (ret)
			return ret;
		if (p9_sec_reserved(srv, name))
			return -ENOENT;
		fd = p9_path_openat(&srv->root, p->fd, name, O_PATH, 0);
		n.dirfd = p->fd;
		n.name = name;
	}
	if (fd < 0)
		return fd;
	n.fd = fd;
	ret = fstat(fd, &p->st) < 0 ? -errno : 0;
	n.root = !ret && p9_path_is_root(&srv->root, &p->st);
	if (!ret)
		ret = node_qid(srv, &n, &p->st, q); /* p->st: the host's attributes */
	if (ret) {
		close(fd);
		return ret;
	}
	if (p->dirfd >= 0)
		close(p->dirfd);
	p->dirfd = n.name ? p->fd : -1;
	if (!n.name)
		close(p->fd);
	p->fd = fd;
	p->named = n.name != NULL;
	if (n.name)
		strcpy(p->name, name);
	return 0;
}

/* The new fid for a finished walk (takes p's descriptors). */
static struct p9_fid *fid_at(const struct p9_fid *from, struct walk_pos *p, bool moved,
			     uint32_t num, struct p9_server *srv)
{
	struct p9_fid *fid = p9_fid_new(num);
	int dirfd;

	if (!fid)
		return NULL;
	fid->uid = from->uid;
	fid->fd = p->fd;
	fid->type = moved ? p->st.st_mode & S_IFMT : from->type;
	fid->dev = moved ? p->st.st_dev : from->dev;
	fid->ino = moved ? p->st.st_ino : from->ino;
	fid->root = moved ? p9_path_is_root(&srv->root, &p->st) : from->root;
	p->fd = -1;
	dirfd = p->dirfd;
	p->dirfd = -1;
	if (p9_fid_set_entry(fid, dirfd, p->named ? p->name : NULL)) {
		p9_fid_put(&srv->fids, fid);
		return NULL;
	}
	return fid;
}

/* The walk's start: the fid's own object and entry, duplicated. */
static int start_at(struct p9_op *op, struct p9_fid *fid, struct walk_pos *p)
{
	int ret = 0;

	pthread_mutex_lock(&fid->lock);
	if (fid->kind == P9_FID_XATTR_READ || fid->kind == P9_FID_XATTR_WRITE) {
		ret = -EINVAL;
	} else {
		/* An open fid's clone is a plain O_PATH node. */
		p->fd = fid->kind == P9_FID_OPEN ? p9_path_reopen(&op->srv->root, fid->ofd, O_PATH)
						 : p9_path_dup(fid->fd);
		p->dirfd = fid->dirfd >= 0 ? p9_path_dup(fid->dirfd) : -1;
		p->named = fid->name != NULL;
		if (fid->name)
			strcpy(p->name, fid->name);
		if (p->fd < 0)
			ret = p->fd;
		else if (fstat(p->fd, &p->st) < 0)
			ret = -errno;
	}
	pthread_mutex_unlock(&fid->lock);
	return ret;
}

/* Publishes the walked-to fid: a new number, or the old one replaced. */
static int publish(struct p9_server *srv, struct p9_fid *nf, bool in_place)
{
	int ret;

	if (in_place)
		p9_fid_put(&srv->fids, p9_fid_remove(&srv->fids, nf->num));
	ret = p9_fid_insert(&srv->fids, nf);
	if (ret)
		p9_fid_put(&srv->fids, nf);
	return ret;
}

static int walk_from(struct p9_op *op, struct p9_fid *fid, struct p9_qid *qids, unsigned int *nq)
{
	struct p9_server *srv = op->srv;
	uint32_t newfid = op->m->walk.newfid;
	struct walk_pos p = {.fd = -1, .dirfd = -1};
	struct p9_fid *nf;
	int ret = start_at(op, fid, &p);

	for (*nq = 0; !ret && *nq < op->m->walk.nwname; (*nq)++) {
		ret = step(srv, &p, &op->m->walk.wname[*nq], &qids[*nq]);
		if (ret && *nq > 0) {
			ret = 0; /* a partial walk: the qids so far, no new fid */
			goto out;
		}
	}
	if (ret)
		goto out;
	nf = fid_at(fid, &p, *nq > 0, newfid, srv);
	ret = nf ? publish(srv, nf, newfid == fid->num) : -ENOMEM;
out:
	pos_close(&p);
	return ret;
}

int p9_session_walk(struct p9_op *op)
{
	struct p9_qid qids[P9_MAXWELEM];
	struct p9_fid *fid, *other;
	unsigned int nq = 0;
	int ret = negotiated(op);

	if (ret)
		return ret;
	fid = p9_op_fid(op, op->m->walk.fid, &ret);
	if (!fid)
		return ret;
	other = op->m->walk.newfid == op->m->walk.fid
		    ? NULL
		    : p9_fid_get(&op->srv->fids, op->m->walk.newfid);
	if (other)
		ret = -EEXIST;
	else if (op->m->walk.newfid == op->m->walk.fid && op->m->walk.nwname == 0)
		ret = 0; /* a clone onto itself changes nothing */
	else
		ret = walk_from(op, fid, qids, &nq);
	p9_op_put(op, other);
	p9_op_put(op, fid);
	if (ret)
		return ret;
	p9_wire_put_u16(op->r, (uint16_t)nq);
	for (unsigned int i = 0; i < nq; i++)
		p9_wire_put_qid(op->r, &qids[i]);
	return 0;
}

/* ---- Tclunk ---- */

int p9_session_clunk(struct p9_op *op)
{
	struct p9_fid *fid = p9_fid_remove(&op->srv->fids, op->m->fid.fid);
	int ret = 0;

	if (!fid)
		return -EBADF;
	pthread_mutex_lock(&fid->lock);
	if (fid->kind == P9_FID_XATTR_WRITE)
		ret = p9_xattr_commit(op->srv, fid);
	pthread_mutex_unlock(&fid->lock);
	p9_fid_put(&op->srv->fids, fid);
	return ret;
}
