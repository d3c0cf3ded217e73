/*
 * The host side of a virtio-blk disk: a raw image file or a block device,
 * opened with the options of crosvm's --block (read-only, O_DIRECT, an
 * advisory lock), and an asynchronous I/O engine for it.
 *
 * I/O engine. Requests (struct disk_io) are queued with disk_submit() and
 * handed to the kernel with disk_kick(). The engine is io_uring (liburing:
 * readv, writev, fdatasync, fallocate), whose completions are signalled on
 * an eventfd that the disk watches on the caller's event loop: the loop
 * thread then calls the owner's `ready` callback, which takes its own lock
 * and calls disk_reap() to collect the finished requests. When io_uring is
 * not available (io_uring_queue_init fails, or an opcode is missing), or
 * when COVE_DISK_SYNC=1 is set in the environment (for tests), a
 * synchronous engine does the same I/O with preadv/pwritev/fdatasync/
 * fallocate inside disk_submit() and delivers its completions the same way,
 * through the same eventfd.
 *
 * Threading: except for the internal eventfd read, every function must be
 * called under one lock of the owner's choosing (the virtio device lock);
 * `ready` is called on the loop thread without it.
 *
 * Errors: disk_open() and disk_start() return -errno with one line in
 * `err` naming the image and the cause. A failed request completes with
 * io->result = -errno; the disk never logs per request.
 */
#ifndef COVE_BACKENDS_DISK_H
#define COVE_BACKENDS_DISK_H

#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "base/compiler.h"
#include "base/event_loop.h"

enum disk_op {
	DISK_READ,
	DISK_WRITE,
	DISK_FLUSH,	   /* fdatasync */
	DISK_DISCARD,	   /* punch a hole; unsupported by the file system = success */
	DISK_WRITE_ZEROES, /* zero range, or punch a hole when `unmap` */
};

/*
 * One request. The caller owns the memory and must keep it (and the buffers
 * iov points at) unchanged until the request comes back through disk_reap()
 * or disk_drain().
 */
struct disk_io {
	/* Set by the caller before disk_submit(). */
	enum disk_op op;
	bool unmap;	     /* DISK_WRITE_ZEROES: the range may be deallocated */
	uint64_t offset;     /* bytes; not used by DISK_FLUSH */
	uint64_t len;	     /* DISK_DISCARD, DISK_WRITE_ZEROES: bytes */
	struct iovec *iov;   /* DISK_READ, DISK_WRITE: the buffers; the array's */
	unsigned int iovcnt; /* entries are consumed by short transfers */

	/* Set when the request completes: 0 (all done) or -errno. */
	int result;

	/* Private to disk.c. */
	struct iovec *xfer_iov; /* what the kernel is given: iov, or the bounce */
	unsigned int xfer_cnt;
	uint64_t remaining; /* read/write bytes still to transfer */
	void *bounce;	    /* O_DIRECT with unaligned guest buffers */
	struct iovec bounce_iov;
	unsigned int attempt; /* fallbacks taken (fallocate modes, bounce) */
	struct disk_io *next; /* synchronous engine: completed list */
};

/* Called on the loop thread when completions may be waiting; take the lock, disk_reap(). */
typedef void (*disk_ready_fn)(void *opaque);
/* Called by disk_reap()/disk_drain() for each finished request. */
typedef void (*disk_done_fn)(struct disk_io *io, void *opaque);

struct disk {
	char *path;
	int fd;
	uint64_t size; /* bytes */
	bool read_only;
	bool direct; /* O_DIRECT */
	bool block_device;

	/* The I/O engine (valid after disk_start). */
	bool started;
	bool use_uring;
	struct io_uring ring;
	int efd; /* completions pending: the loop watches it */
	struct event_loop *loop;
	disk_ready_fn ready;
	void *ready_opaque;
	unsigned int inflight; /* submitted and not yet reaped */
	unsigned int queued;   /* prepared for io_uring, not yet given to the kernel */
	struct disk_io *done_head, *done_tail; /* synchronous engine */
};

struct disk_options {
	bool read_only; /* O_RDONLY and a shared lock, else O_RDWR and an exclusive one */
	bool direct;	/* O_DIRECT */
	bool lock;	/* flock(LOCK_NB); false: no lock at all */
};

/*
 * Opens `path` (O_CLOEXEC) as described by `opt` and reads its size (fstat,
 * or BLKGETSIZE64 for a block device). Refuses directories and other file
 * types, a read-only file opened writable (saying to add ,ro), and an image
 * locked by another process. Returns 0, or -errno with one line in err.
 */
must_check int disk_open(struct disk *d, const char *path, const struct disk_options *opt,
			 char *err, size_t errlen);

/*
 * Starts the I/O engine: io_uring unless unavailable or COVE_DISK_SYNC=1,
 * sized for `depth` requests in flight, and watches its eventfd on `loop`
 * (`ready` is called there). Returns 0, or -errno with one line in err.
 */
must_check int disk_start(struct disk *d, struct event_loop *loop, unsigned int depth,
			  disk_ready_fn ready, void *opaque, char *err, size_t errlen);

/* True if the engine is io_uring (false: the synchronous fallback). */
bool disk_uses_uring(const struct disk *d);

/*
 * Queues one request. The synchronous engine performs it at once; io_uring
 * sends it with the next disk_kick(). Either way it completes through
 * disk_reap(), never from this call. Preconditions: started; READ/WRITE
 * offsets inside the disk (the caller checks guest ranges).
 */
void disk_submit(struct disk *d, struct disk_io *io);

/* Hands the queued requests to the kernel (io_uring_submit). */
void disk_kick(struct disk *d);

/* Collects finished requests without blocking; calls done() for each. Returns how many. */
unsigned int disk_reap(struct disk *d, disk_done_fn done, void *opaque);

/* Waits until nothing is in flight, calling done() for each request. */
void disk_drain(struct disk *d, disk_done_fn done, void *opaque);

/* Stops the engine and closes the image. Nothing may be in flight (disk_drain first). */
void disk_close(struct disk *d);

#endif
