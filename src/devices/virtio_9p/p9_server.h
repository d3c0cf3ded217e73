/*
 * A 9P2000.L file server for one shared directory (reference/protocols.md
 * section 7), apart from any transport: a request is a T-message in some
 * buffers, the answer an R-message written into others. virtio_9p.c feeds
 * it descriptor chains from worker threads; unit tests feed it plain
 * memory.
 *
 * Messages served: version, attach, walk, lopen, lcreate, read, write,
 * clunk, remove, getattr, setattr, readdir, mkdir, mknod, symlink,
 * readlink, link, rename, renameat, unlinkat, statfs, fsync, lock,
 * getlock, xattrwalk, xattrcreate; flush is the transport's (it orders the
 * replies: see virtio_9p.c and p9_server_peek_flush). Tauth and the legacy
 * 9P2000 messages get Rlerror EOPNOTSUPP. Every failure is Rlerror with
 * the host's errno (the Linux values the protocol uses).
 *
 * Threading: p9_server_handle() may run on several threads at once, each
 * with its own struct p9_ctx. p9_server_reset() must not run concurrently
 * with it.
 *
 * Security: the guest is hostile. See p9_path.h (nothing outside the
 * directory can be named or reached through a symlink), p9_sec.h (what
 * each security model lets reach the host), p9_fid.h (bounds).
 */
#ifndef COVE_DEVICES_VIRTIO_9P_P9_SERVER_H
#define COVE_DEVICES_VIRTIO_9P_P9_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "base/compiler.h"
#include "config/vm_config.h"
#include "devices/virtio_9p/p9_fid.h"
#include "devices/virtio_9p/p9_path.h"

/* Largest T-message other than Twrite that the server copies in. */
#define P9_SMALL_MSG_MAX (16u * 1024)
/* Fids per session, and xattr buffer bytes across them. */
#define P9_MAX_FIDS 65536
#define P9_XATTR_BYTES_MAX (16u << 20)

struct p9_server {
	struct shared_dir_config cfg; /* path and tag are copies the server owns */
	struct p9_path_root root;
	struct p9_fid_table fids;
	mode_t umask;		     /* the process umask, read once */
	uint32_t msize;		     /* negotiated; 0 before Tversion */
	pthread_mutex_t rename_lock; /* serialises renames and their fid fix-ups */
};

/* Scratch memory of one thread serving requests. */
struct p9_ctx {
	uint8_t *msg;	  /* P9_SMALL_MSG_MAX: the T-message copied in */
	uint8_t *reply;	  /* cfg.msize: the R-message before it is copied out */
	uint8_t *dirents; /* getdents64 buffer */
	size_t reply_cap;
};

/* One request: the T-message's bytes and the room for the R-message. */
struct p9_io {
	const struct iovec *out; /* device-readable: the T-message */
	unsigned int n_out;
	size_t out_len;
	const struct iovec *in; /* device-writable: the R-message */
	unsigned int n_in;
	size_t in_len;
};

/*
 * Opens the shared directory of `cfg` (copied). Returns 0, or -errno with
 * one line in err ("<path> is not a directory", "cannot open <path>: ...").
 */
must_check int p9_server_create(const struct shared_dir_config *cfg, struct p9_server **out,
				char *err, size_t errlen);
void p9_server_destroy(struct p9_server *srv);

/* Drops every fid and forgets the negotiated msize (a device reset). */
void p9_server_reset(struct p9_server *srv);

must_check int p9_server_ctx_init(struct p9_ctx *ctx, const struct p9_server *srv);
void p9_server_ctx_destroy(struct p9_ctx *ctx);

/*
 * Serves one request and writes the R-message into io->in. Returns the
 * R-message's length (0 if io->in cannot hold even an Rlerror, or if the
 * T-message was too short to carry a tag).
 */
size_t p9_server_handle(struct p9_server *srv, struct p9_ctx *ctx, const struct p9_io *io);

/*
 * If io holds a well-formed Tflush, returns true with its tag and oldtag.
 * The transport answers flushes itself: Rflush goes out after the flushed
 * request's own reply (or at once if it is not in flight).
 */
bool p9_server_peek_flush(const struct p9_io *io, uint16_t *tag, uint16_t *oldtag);

/* Writes Rflush for `tag` into io->in; returns its length (7), or 0 if it does not fit. */
size_t p9_server_rflush(const struct p9_io *io, uint16_t tag);

#endif
