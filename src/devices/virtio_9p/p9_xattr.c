/*
 * Extended attributes (reference/protocols.md 7.3): Txattrwalk fetches a
 * value (or the name list) into a new fid that Tread then serves;
 * Txattrcreate turns a fid into a buffer that Twrite fills and Tclunk
 * stores (a size of 0 with XATTR_REPLACE, the Linux client's removexattr,
 * removes it). Names go through the security model's policy (p9_sec), and
 * every value is bounded (XATTR_SIZE_MAX each, P9_XATTR_BYTES_MAX in all).
 * Calls act on the fid's inode through /proc/self/fd/N; symlinks are
 * refused, as there is no race-free way to reach a symlink's own xattrs.
 */
#include <errno.h>
#include <linux/limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "devices/virtio_9p/p9_op.h"
#include "devices/virtio_9p/p9_sec.h"

/* Guest-controlled: s. A checked xattr name into out; 0 or -errno. */
static int xattr_name(const struct p9_str *s, char out[XATTR_NAME_MAX + 1])
{
	if (s->len > XATTR_NAME_MAX)
		return -ERANGE;
	if (memchr(s->s, '\0', s->len))
		return -EINVAL;
	memcpy(out, s->s, s->len);
	out[s->len] = '\0';
	return 0;
}

/* The /proc path of a fid's inode, if xattrs may be used on it. Fid lock held. */
static int target(const struct p9_fid *fid, char path[32])
{
	if (fid->kind != P9_FID_NODE && fid->kind != P9_FID_OPEN)
		return -EINVAL;
	if (S_ISLNK(fid->type))
		return -EOPNOTSUPP;
	p9_path_proc(p9_fid_node_fd(fid), path);
	return 0;
}

/* ---- Txattrwalk ---- */

/* Fetches the value (or list, name "") into a reserved buffer. */
static int fetch(struct p9_server *srv, const char *path, const char *name, struct p9_xattr *x)
{
	bool list = !name[0];
	ssize_t n = list ? listxattr(path, NULL, 0) : getxattr(path, name, NULL, 0);
	int ret;

	if (n < 0)
		return -errno;
	if (n > XATTR_SIZE_MAX)
		return -E2BIG;
	ret = p9_fid_xattr_reserve(&srv->fids, (size_t)n);
	if (ret)
		return ret;
	x->reserved = (size_t)n;
	x->buf = n ? malloc((size_t)n) : NULL;
	x->size = (size_t)n;
	if (n && !x->buf)
		return -ENOMEM;
	n = list ? listxattr(path, (char *)x->buf, x->size) : getxattr(path, name, x->buf, x->size);
	if (n < 0)
		return errno == ERANGE ? -EAGAIN : -errno; /* it grew meanwhile */
	x->size = list ? p9_sec_xattr_list(srv, (char *)x->buf, (size_t)n) : (size_t)n;
	return 0;
}

/* A new XATTR_READ fid holding the value; its size in *size. */
static int xattr_fid(struct p9_op *op, const char *path, const char *name, uint64_t *size)
{
	struct p9_fid *nf = p9_fid_new(op->m->xattrwalk.newfid);
	int ret;

	if (!nf)
		return -ENOMEM;
	nf->kind = P9_FID_XATTR_READ;
	nf->xattr = calloc(1, sizeof(*nf->xattr));
	ret = nf->xattr ? fetch(op->srv, path, name, nf->xattr) : -ENOMEM;
	if (!ret)
		ret = p9_fid_insert(&op->srv->fids, nf);
	if (ret) {
		p9_fid_put(&op->srv->fids, nf);
		return ret;
	}
	*size = nf->xattr->size;
	return 0;
}

int p9_xattr_walk(struct p9_op *op)
{
	char name[XATTR_NAME_MAX + 1], path[32];
	uint64_t size = 0;
	int ret = xattr_name(&op->m->xattrwalk.name, name);
	struct p9_fid *fid;

	if (!ret && name[0])
		ret = p9_sec_xattr_name(op->srv, name, false);
	if (!ret && op->m->xattrwalk.newfid == op->m->xattrwalk.fid)
		ret = -EINVAL;
	if (ret)
		return ret;
	fid = p9_op_fid(op, op->m->xattrwalk.fid, &ret);
	if (!fid)
		return ret;
	pthread_mutex_lock(&fid->lock);
	ret = target(fid, path);
	pthread_mutex_unlock(&fid->lock);
	/* The descriptor behind path lives as long as our reference. */
	if (!ret)
		ret = xattr_fid(op, path, name, &size);
	p9_op_put(op, fid);
	if (ret)
		return ret;
	p9_wire_put_u64(op->r, size);
	return 0;
}

/* ---- Txattrcreate ---- */

static int make_writer(struct p9_op *op, struct p9_fid *fid, const char *name)
{
	uint64_t size = op->m->xattrcreate.size;
	struct p9_xattr *x;
	char path[32];
	int ret = target(fid, path);

	if (ret)
		return ret;
	if (fid->kind != P9_FID_NODE)
		return -EINVAL;
	if (size > XATTR_SIZE_MAX)
		return -E2BIG;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	ret = p9_fid_xattr_reserve(&op->srv->fids, size);
	x->buf = !ret && size ? malloc(size) : NULL;
	if (ret || (size && !x->buf)) {
		if (!ret)
			p9_fid_xattr_release(&op->srv->fids, size);
		free(x);
		return ret ? ret : -ENOMEM;
	}
	x->reserved = size;
	strcpy(x->name, name);
	x->size = size;
	x->flags = (int)op->m->xattrcreate.flags;
	fid->xattr = x;
	fid->kind = P9_FID_XATTR_WRITE;
	return 0;
}

int p9_xattr_create(struct p9_op *op)
{
	char name[XATTR_NAME_MAX + 1];
	struct p9_fid *fid;
	int ret = xattr_name(&op->m->xattrcreate.name, name);

	if (!ret && !name[0])
		ret = -EINVAL;
	if (!ret)
		ret = p9_sec_xattr_name(op->srv, name, true);
	if (!ret && (op->m->xattrcreate.flags & ~(uint32_t)(XATTR_CREATE | XATTR_REPLACE)))
		ret = -EINVAL;
	if (!ret)
		ret = p9_op_writable(op);
	if (ret)
		return ret;
	fid = p9_op_fid(op, op->m->xattrcreate.fid, &ret);
	if (!fid)
		return ret;
	pthread_mutex_lock(&fid->lock);
	ret = make_writer(op, fid, name);
	pthread_mutex_unlock(&fid->lock);
	p9_op_put(op, fid);
	return ret;
}

/* ---- Tread, Twrite, Tclunk on xattr fids ---- */

int p9_xattr_read(struct p9_op *op, struct p9_fid *fid)
{
	const struct p9_xattr *x = fid->xattr;
	uint64_t off = op->m->read.offset;
	size_t count = 0;

	if (off < x->size)
		count = MIN(MIN((size_t)op->m->read.count, x->size - (size_t)off),
			    op->cap - P9_READ_HDR_SIZE);
	if (count)
		count = p9_op_write_out(op->io, P9_READ_HDR_SIZE, x->buf + off, count);
	p9_wire_put_u32(op->r, (uint32_t)count);
	op->data_len = (uint32_t)count;
	return 0;
}

int p9_xattr_write(struct p9_op *op, struct p9_fid *fid)
{
	struct p9_xattr *x = fid->xattr;
	uint64_t off = op->m->write.offset;
	uint32_t count = op->m->write.count;

	if (off > x->size || count > x->size - off)
		return -ENOSPC; /* more than Txattrcreate announced */
	if (op->m->write.data)
		memcpy(x->buf + off, op->m->write.data, count);
	else if (p9_op_read_in(op->io, P9_WRITE_HDR_SIZE, x->buf + off, count) != count)
		return -EIO;
	x->written = MAX(x->written, (size_t)(off + count));
	p9_wire_put_u32(op->r, count);
	return 0;
}

int p9_xattr_commit(struct p9_server *srv, struct p9_fid *fid)
{
	const struct p9_xattr *x = fid->xattr;
	char path[32];

	if (p9_op_writable(&(struct p9_op){.srv = srv}))
		return -EROFS;
	if (x->written != x->size)
		return -EINVAL; /* fewer bytes than announced */
	p9_path_proc(fid->fd, path);
	if (x->size == 0 && (x->flags & XATTR_REPLACE))
		return removexattr(path, x->name) < 0 ? -errno : 0;
	return setxattr(path, x->name, x->buf ? (const void *)x->buf : "", x->size, x->flags) < 0
		   ? -errno
		   : 0;
}
