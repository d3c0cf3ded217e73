/*
 * What the 9P operations share (internal to the server): one request in
 * progress, the helpers to move bytes between it and the transport's
 * buffers, and the operation entry points, grouped by file:
 *   p9_session.c  version, attach, walk, clunk
 *   p9_file.c     lopen, lcreate, read, write, fsync, lock, getlock
 *   p9_dir.c      readdir, mkdir, mknod, symlink, readlink, link,
 *                 rename, renameat, unlinkat, remove
 *   p9_attr.c     getattr, setattr, statfs
 *   p9_xattr.c    xattrwalk, xattrcreate, and reads/writes/clunks of xattr fids
 * Each returns 0 with its R-body appended to op->r, or -errno (the server
 * then answers Rlerror).
 */
#ifndef COVE_DEVICES_VIRTIO_9P_P9_OP_H
#define COVE_DEVICES_VIRTIO_9P_P9_OP_H

#include <stdint.h>
#include <sys/stat.h>

#include "devices/virtio_9p/p9_server.h"
#include "devices/virtio_9p/p9_wire.h"

struct p9_op {
	struct p9_server *srv;
	struct p9_ctx *ctx;
	const struct p9_msg *m;
	const struct p9_io *io;
	struct p9_wire_buf *r; /* after the header; the body goes here */
	size_t cap;	       /* the whole R-message may be at most this long */
	uint32_t data_len;     /* body bytes written straight into io->in after r */
};

typedef int (*p9_op_fn)(struct p9_op *op);

/* ---- helpers (p9_op.c) ---- */

/* Copies out of the T-message from byte `offset`; returns the bytes copied. */
size_t p9_op_read_in(const struct p9_io *io, size_t offset, void *dst, size_t len);
/* Copies into the R-message room from byte `offset`; returns the bytes copied. */
size_t p9_op_write_out(const struct p9_io *io, size_t offset, const void *src, size_t len);
/*
 * The sub-range [offset, offset+len) of iov[0..n) as at most `max` iovecs
 * in out; returns how many (the range is cut at `max` entries).
 */
unsigned int p9_op_slice(const struct iovec *iov, unsigned int n, size_t offset, size_t len,
			 struct iovec *out, unsigned int max);

/* Looks up fid `num` (a reference: p9_fid_put it). NULL with *err = -EBADF if absent. */
struct p9_fid *p9_op_fid(struct p9_op *op, uint32_t num, int *err);
void p9_op_put(struct p9_op *op, struct p9_fid *fid);

/* The qid of an object from its guest-visible attributes. */
void p9_op_qid(const struct p9_server *srv, const struct stat *st, struct p9_qid *q);

/* -EROFS when the share is read-only. */
int p9_op_writable(const struct p9_op *op);

/* ---- operations ---- */

int p9_session_version(struct p9_op *op);
int p9_session_attach(struct p9_op *op);
int p9_session_walk(struct p9_op *op);
int p9_session_clunk(struct p9_op *op);

int p9_file_lopen(struct p9_op *op);
int p9_file_lcreate(struct p9_op *op);
int p9_file_read(struct p9_op *op);
int p9_file_write(struct p9_op *op);
int p9_file_fsync(struct p9_op *op);
int p9_file_lock(struct p9_op *op);
int p9_file_getlock(struct p9_op *op);

int p9_dir_readdir(struct p9_op *op);
int p9_dir_mkdir(struct p9_op *op);
int p9_dir_mknod(struct p9_op *op);
int p9_dir_symlink(struct p9_op *op);
int p9_dir_readlink(struct p9_op *op);
int p9_dir_link(struct p9_op *op);
int p9_dir_rename(struct p9_op *op);
int p9_dir_renameat(struct p9_op *op);
int p9_dir_unlinkat(struct p9_op *op);
int p9_dir_remove(struct p9_op *op);

int p9_attr_getattr(struct p9_op *op);
int p9_attr_setattr(struct p9_op *op);
int p9_attr_statfs(struct p9_op *op);

int p9_xattr_walk(struct p9_op *op);
int p9_xattr_create(struct p9_op *op);
/* Tread / Twrite on an xattr fid (fid lock held by the caller). */
int p9_xattr_read(struct p9_op *op, struct p9_fid *fid);
int p9_xattr_write(struct p9_op *op, struct p9_fid *fid);
/* Tclunk of a fid being written: sets the value. Fid lock held. */
int p9_xattr_commit(struct p9_server *srv, struct p9_fid *fid);

#endif
