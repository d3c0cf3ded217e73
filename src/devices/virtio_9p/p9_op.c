/*
 * Helpers shared by the 9P operations: byte moves between a request and
 * the transport's iovecs, fid lookup, qids. See p9_op.h.
 */
#include "devices/virtio_9p/p9_op.h"

#include <errno.h>
#include <string.h>

/* Walks iov[0..n) from byte `offset`, copying up to len bytes either way. */
static size_t copy_iov(const struct iovec *iov, unsigned int n, size_t offset, void *buf,
		       size_t len, bool to_iov)
{
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t seg = iov[i].iov_len, step;

		if (offset >= seg) {
			offset -= seg;
			continue;
		}
		step = MIN(seg - offset, len - done);
		if (to_iov)
			memcpy((char *)iov[i].iov_base + offset, (char *)buf + done, step);
		else
			memcpy((char *)buf + done, (char *)iov[i].iov_base + offset, step);
		done += step;
		offset = 0;
	}
	return done;
}

size_t p9_op_read_in(const struct p9_io *io, size_t offset, void *dst, size_t len)
{
	return copy_iov(io->out, io->n_out, offset, dst, len, false);
}

size_t p9_op_write_out(const struct p9_io *io, size_t offset, const void *src, size_t len)
{
	return copy_iov(io->in, io->n_in, offset, (void *)(uintptr_t)src, len, true);
}

unsigned int p9_op_slice(const struct iovec *iov, unsigned int n, size_t offset, size_t len,
			 struct iovec *out, unsigned int max)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n && len > 0 && k < max; i++) {
		size_t seg = iov[i].iov_len, step;

		if (offset >= seg) {
			offset -= seg;
			continue;
		}
		step = MIN(seg - offset, len);
		out[k].iov_base = (char *)iov[i].iov_base + offset;
		out[k].iov_len = step;
		k++;
		len -= step;
		offset = 0;
	}
	return k;
}

struct p9_fid *p9_op_fid(struct p9_op *op, uint32_t num, int *err)
{
	struct p9_fid *fid = p9_fid_get(&op->srv->fids, num);

	if (!fid)
		*err = -EBADF;
	return fid;
}

void p9_op_put(struct p9_op *op, struct p9_fid *fid)
{
	p9_fid_put(&op->srv->fids, fid);
}

void p9_op_qid(const struct p9_server *srv, const struct stat *st, struct p9_qid *q)
{
	q->type = S_ISDIR(st->st_mode) ? P9_QTDIR : S_ISLNK(st->st_mode) ? P9_QTSYMLINK : P9_QTFILE;
	/* QEMU's choice: changes when the file does, stable otherwise. */
	q->version = (uint32_t)(st->st_mtime ^ (st->st_size << 8));
	q->path = st->st_ino;
	/* Another file system mounted inside the share: keep its inode numbers apart. */
	if (st->st_dev != srv->root.dev)
		q->path ^= (uint64_t)(st->st_dev * 0x9e3779b97f4a7c15ull) & 0xffff000000000000ull;
}

int p9_op_writable(const struct p9_op *op)
{
	return op->srv->cfg.ro ? -EROFS : 0;
}
