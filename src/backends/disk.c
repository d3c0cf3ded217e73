/*
 * The request engine of disk.h for virtio-blk's images (opening them is
 * disk_open.c): io_uring first and a synchronous fallback with the same
 * completion path.
 *
 * Both engines share the per-request rules (do_result()): short reads and
 * writes continue where they stopped, an O_DIRECT transfer the kernel
 * refuses for alignment is retried through a page-aligned bounce buffer,
 * write-zeroes falls back between zero-range and punch-hole, and discard on
 * a file system that cannot punch holes succeeds (discard is a hint).
 */
#include "backends/disk.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"

#define DIRECT_ALIGN 512  /* guest buffers at this alignment go straight to O_DIRECT */
#define BOUNCE_ALIGN 4096 /* the bounce buffer's alignment: enough for any device */
#define URING_MAX_SQ 128

/* ---- per-request rules, shared by both engines ---- */

/* Drops `n` transferred bytes from the front of the transfer iovecs. */
static void advance(struct disk_io *io, uint64_t n)
{
	io->offset += n;
	io->remaining -= n;
	while (n > 0 && io->xfer_cnt > 0) {
		size_t step = MIN((uint64_t)io->xfer_iov->iov_len, n);

		io->xfer_iov->iov_base = (char *)io->xfer_iov->iov_base + step;
		io->xfer_iov->iov_len -= step;
		n -= step;
		if (io->xfer_iov->iov_len == 0) {
			io->xfer_iov++;
			io->xfer_cnt--;
		}
	}
}

static uint64_t iov_total(const struct iovec *iov, unsigned int n)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < n; i++)
		sum += iov[i].iov_len;
	return sum;
}

static bool iov_aligned(const struct iovec *iov, unsigned int n, size_t align)
{
	for (unsigned int i = 0; i < n; i++) {
		if (((uintptr_t)iov[i].iov_base | iov[i].iov_len) & (align - 1))
			return false;
	}
	return true;
}

static int bounce_start(struct disk_io *io)
{
	if (posix_memalign(&io->bounce, BOUNCE_ALIGN, ALIGN_UP(io->remaining, BOUNCE_ALIGN)))
		return -ENOMEM;
	if (io->op == DISK_WRITE) {
		size_t off = 0;

		for (unsigned int i = 0; i < io->iovcnt; i++) {
			memcpy((char *)io->bounce + off, io->iov[i].iov_base, io->iov[i].iov_len);
			off += io->iov[i].iov_len;
		}
	}
	io->bounce_iov.iov_base = io->bounce;
	io->bounce_iov.iov_len = io->remaining;
	io->xfer_iov = &io->bounce_iov;
	io->xfer_cnt = 1;
	return 0;
}

/* Copies a bounced read out to the caller's buffers and frees the bounce. */
static void bounce_finish(struct disk_io *io)
{
	if (!io->bounce)
		return;
	if (io->op == DISK_READ && io->result == 0) {
		size_t off = 0;

		for (unsigned int i = 0; i < io->iovcnt; i++) {
			memcpy(io->iov[i].iov_base, (char *)io->bounce + off, io->iov[i].iov_len);
			off += io->iov[i].iov_len;
		}
	}
	free(io->bounce);
	io->bounce = NULL;
}

/* Prepares a request for its first attempt. Returns 0 or -errno (fail it). */
static int io_prepare(struct disk *d, struct disk_io *io)
{
	io->result = 0;
	io->attempt = 0;
	io->bounce = NULL;
	io->next = NULL;
	if (io->op != DISK_READ && io->op != DISK_WRITE)
		return 0;
	io->remaining = iov_total(io->iov, io->iovcnt);
	io->xfer_iov = io->iov;
	io->xfer_cnt = io->iovcnt;
	if (d->direct && io->remaining > 0 && !iov_aligned(io->iov, io->iovcnt, DIRECT_ALIGN))
		return bounce_start(io);
	return 0;
}

/* fallocate mode of a DISCARD/WRITE_ZEROES attempt: 0 when there is none left. */
static int falloc_mode(const struct disk_io *io)
{
	static const int punch = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	static const int zero = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;

	if (io->op == DISK_DISCARD)
		return io->attempt == 0 ? punch : 0;
	/* Write-zeroes: the preferred mode, then the other one (both read back zeroes). */
	if (io->attempt == 0)
		return io->unmap ? punch : zero;
	if (io->attempt == 1)
		return io->unmap ? zero : punch;
	return 0;
}

/*
 * Applies one attempt's result `res` (bytes, or -errno). Returns true when
 * the request is finished (io->result set), false when another attempt is
 * needed (the caller issues it again).
 */
static bool do_result(struct disk *d, struct disk_io *io, long long res)
{
	if (io->op == DISK_READ || io->op == DISK_WRITE) {
		if (res == -EINVAL && d->direct && !io->bounce && io->remaining > 0) {
			/* O_DIRECT refused the guest's alignment: go through a bounce. */
			if (bounce_start(io) == 0)
				return false;
			res = -ENOMEM;
		}
		if (res > 0 && (uint64_t)res <= io->remaining) {
			advance(io, (uint64_t)res);
			if (io->remaining > 0)
				return false; /* short transfer: continue */
			res = 0;
		} else if (res == 0 && io->remaining > 0) {
			res = -EIO; /* end of file inside the disk: it shrank */
		}
	} else if ((io->op == DISK_DISCARD || io->op == DISK_WRITE_ZEROES) &&
		   (res == -EOPNOTSUPP || res == -EINVAL)) {
		io->attempt++;
		if (falloc_mode(io))
			return false;
		if (io->op == DISK_DISCARD)
			res = 0; /* a hint the file system cannot take */
	}
	io->result = res < 0 ? (int)res : 0;
	bounce_finish(io);
	return true;
}

/* ---- the completed list (synchronous engine, failures) ---- */

static void signal_done(struct disk *d)
{
	uint64_t one = 1;

	if (write(d->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error("disk %s: eventfd write: %s", d->path, strerror(errno));
}

/* Puts a finished request on the list disk_reap() empties first, and says so. */
static void finish_later(struct disk *d, struct disk_io *io)
{
	io->next = NULL;
	if (d->done_tail)
		d->done_tail->next = io;
	else
		d->done_head = io;
	d->done_tail = io;
	signal_done(d);
}

/* A request that cannot be issued at all (no memory, no ring entry) fails. */
static void fail_later(struct disk *d, struct disk_io *io, int e)
{
	io->result = e;
	bounce_finish(io);
	finish_later(d, io);
}

/* ---- the synchronous engine ---- */

static long long sync_attempt(struct disk *d, struct disk_io *io)
{
	ssize_t n;

	switch (io->op) {
	case DISK_READ:
		n = preadv(d->fd, io->xfer_iov, (int)MIN(io->xfer_cnt, IOV_MAX), (off_t)io->offset);
		break;
	case DISK_WRITE:
		n = pwritev(d->fd, io->xfer_iov, (int)MIN(io->xfer_cnt, IOV_MAX),
			    (off_t)io->offset);
		break;
	case DISK_FLUSH:
		n = fdatasync(d->fd);
		break;
	default:
		n = fallocate(d->fd, falloc_mode(io), (off_t)io->offset, (off_t)io->len);
		break;
	}
	return n < 0 ? -errno : n;
}

static void sync_run(struct disk *d, struct disk_io *io)
{
	long long res;

	do {
		do
			res = sync_attempt(d, io);
		while (res == -EINTR);
	} while (!do_result(d, io, res));
	finish_later(d, io);
}

/* ---- the io_uring engine ---- */

static struct io_uring_sqe *get_sqe(struct disk *d)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring);

	if (!sqe) {
		/* The submission ring is full: hand it to the kernel and retry. */
		io_uring_submit(&d->ring);
		d->queued = 0;
		sqe = io_uring_get_sqe(&d->ring);
	}
	return sqe;
}

/* Queues one attempt; false if the ring has no room (the request then fails). */
static bool uring_queue(struct disk *d, struct disk_io *io)
{
	struct io_uring_sqe *sqe = get_sqe(d);
	unsigned int cnt = MIN(io->xfer_cnt, IOV_MAX);

	if (!sqe)
		return false;
	switch (io->op) {
	case DISK_READ:
		io_uring_prep_readv(sqe, d->fd, io->xfer_iov, cnt, io->offset);
		break;
	case DISK_WRITE:
		io_uring_prep_writev(sqe, d->fd, io->xfer_iov, cnt, io->offset);
		break;
	case DISK_FLUSH:
		io_uring_prep_fsync(sqe, d->fd, IORING_FSYNC_DATASYNC);
		break;
	default:
		io_uring_prep_fallocate(sqe, d->fd, falloc_mode(io), io->offset, io->len);
		break;
	}
	io_uring_sqe_set_data(sqe, io);
	d->queued++;
	return true;
}

/* ---- the interface ---- */

void disk_submit(struct disk *d, struct disk_io *io)
{
	int ret;

	d->inflight++;
	ret = io_prepare(d, io);
	if (ret)
		fail_later(d, io, ret);
	else if (!d->use_uring)
		sync_run(d, io);
	else if (!uring_queue(d, io))
		fail_later(d, io, -EAGAIN);
}

void disk_kick(struct disk *d)
{
	int ret;

	if (!d->use_uring || d->queued == 0)
		return;
	ret = io_uring_submit(&d->ring);
	if (ret < 0 && ret != -EBUSY && ret != -EAGAIN && ret != -EINTR)
		log_error("disk %s: io_uring_submit: %s", d->path, strerror(-ret));
	/* On failure the entries stay in the ring: the next submit takes them. */
	if (ret >= 0)
		d->queued = 0;
}

static unsigned int reap_list(struct disk *d, disk_done_fn done, void *opaque)
{
	unsigned int n = 0;

	while (d->done_head) {
		struct disk_io *io = d->done_head;

		d->done_head = io->next;
		if (!d->done_head)
			d->done_tail = NULL;
		d->inflight--;
		done(io, opaque);
		n++;
	}
	return n;
}

static unsigned int reap_uring(struct disk *d, disk_done_fn done, void *opaque)
{
	struct io_uring_cqe *cqe;
	unsigned int n = 0;
	bool requeued = false;

	while (io_uring_peek_cqe(&d->ring, &cqe) == 0) {
		struct disk_io *io = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&d->ring, cqe);
		if (!do_result(d, io, res)) {
			if (uring_queue(d, io)) {
				requeued = true;
				continue;
			}
			fail_later(d, io, -EAGAIN);
			continue;
		}
		d->inflight--;
		done(io, opaque);
		n++;
	}
	if (requeued)
		disk_kick(d);
	return n;
}

unsigned int disk_reap(struct disk *d, disk_done_fn done, void *opaque)
{
	unsigned int n = reap_list(d, done, opaque);

	if (d->use_uring)
		n += reap_uring(d, done, opaque);
	return n;
}

void disk_drain(struct disk *d, disk_done_fn done, void *opaque)
{
	bool logged = false;
	int ret;

	disk_reap(d, done, opaque);
	/*
	 * Only io_uring has requests in the kernel. They must all come back:
	 * the caller is about to let the guest reuse their buffers.
	 */
	while (d->use_uring && d->inflight > 0) {
		ret = io_uring_submit_and_wait(&d->ring, 1);
		if (ret >= 0) {
			d->queued = 0;
		} else if (ret != -EINTR && ret != -EBUSY && ret != -EAGAIN && !logged) {
			log_error("disk %s: waiting for I/O: %s", d->path, strerror(-ret));
			logged = true;
		}
		disk_reap(d, done, opaque);
	}
}

static void on_event(void *opaque, uint32_t events)
{
	struct disk *d = opaque;
	uint64_t count;

	(void)events;
	/* Read first: a completion posted after this read signals the eventfd again. */
	if (read(d->efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_error("disk %s: eventfd read: %s", d->path, strerror(errno));
	d->ready(d->ready_opaque);
}

/* True if this kernel's io_uring has every opcode the engine uses. */
static bool uring_has_ops(struct io_uring *ring)
{
	static const int ops[] = {IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC,
				  IORING_OP_FALLOCATE};
	struct io_uring_probe *probe = io_uring_get_probe_ring(ring);
	bool ok = probe != NULL;

	for (size_t i = 0; ok && i < ARRAY_SIZE(ops); i++)
		ok = io_uring_opcode_supported(probe, ops[i]);
	io_uring_free_probe(probe);
	return ok;
}

/* Sets up io_uring; false (logged at info) means: use the synchronous engine. */
static bool uring_init(struct disk *d, unsigned int depth)
{
	struct io_uring_params p = {.flags = IORING_SETUP_CQSIZE, .cq_entries = MAX(depth, 2)};
	const char *env = getenv("COVE_DISK_SYNC");
	int ret;

	if (env && strcmp(env, "1") == 0)
		return false;
	ret = io_uring_queue_init_params(MIN(depth, URING_MAX_SQ), &d->ring, &p);
	if (ret < 0) {
		log_info("disk %s: io_uring unavailable (%s): synchronous I/O", d->path,
			 strerror(-ret));
		return false;
	}
	if (!uring_has_ops(&d->ring)) {
		log_info("disk %s: io_uring lacks readv/writev/fsync/fallocate: synchronous I/O",
			 d->path);
		goto exit_ring;
	}
	ret = io_uring_register_eventfd(&d->ring, d->efd);
	if (ret < 0) {
		log_info("disk %s: io_uring eventfd: %s: synchronous I/O", d->path, strerror(-ret));
		goto exit_ring;
	}
	return true;

exit_ring:
	io_uring_queue_exit(&d->ring);
	return false;
}

int disk_start(struct disk *d, struct event_loop *loop, unsigned int depth, disk_ready_fn ready,
	       void *opaque, char *err, size_t errlen)
{
	int ret;

	assert(!d->started && depth > 0);
	d->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->efd < 0) {
		snprintf(err, errlen, "disk %s: eventfd: %s", d->path, strerror(errno));
		return -errno;
	}
	d->loop = loop;
	d->ready = ready;
	d->ready_opaque = opaque;
	d->use_uring = uring_init(d, depth);
	ret = event_loop_add(loop, d->efd, EPOLLIN, on_event, d);
	if (ret) {
		snprintf(err, errlen, "disk %s: cannot watch completions: %s", d->path,
			 strerror(-ret));
		goto stop_uring;
	}
	d->started = true;
	return 0;

stop_uring:
	if (d->use_uring)
		io_uring_queue_exit(&d->ring);
	d->use_uring = false;
	close(d->efd);
	d->efd = -1;
	return ret;
}

bool disk_uses_uring(const struct disk *d)
{
	return d->use_uring;
}

void disk_close(struct disk *d)
{
	assert(d->inflight == 0);
	if (d->started) {
		event_loop_remove(d->loop, d->efd);
		if (d->use_uring)
			io_uring_queue_exit(&d->ring);
		d->started = false;
		d->use_uring = false;
	}
	if (d->efd >= 0)
		close(d->efd);
	if (d->fd >= 0)
		close(d->fd); /* releases the flock */
	free(d->path);
	d->efd = -1;
	d->fd = -1;
	d->path = NULL;
}
