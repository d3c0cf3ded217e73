/*
 * virtio-9p (reference/protocols.md 7.4): one device per --shared-dir,
 * device ID 9, feature VIRTIO_9P_MOUNT_TAG, configuration `le16 tag_len;
 * u8 tag[tag_len]`, one request queue whose chains hold a T-message
 * (device-readable) then room for the R-message (device-writable).
 *
 * The 9P server (p9_server.h) runs on a pool of worker threads: the event
 * loop pops chains and hands them over, workers do the blocking file system
 * calls and move data straight between files and guest buffers, and the
 * loop pushes the replies back (woken by an eventfd). Neither the loop nor
 * a vCPU ever waits on the file system, except a reset, which waits for
 * the requests in progress (the driver may reuse the buffers once it sees
 * status 0).
 *
 * Tflush is answered here: Rflush goes out right after the flushed
 * request's own reply, or at once if that request is not in flight.
 */
#ifndef COVE_DEVICES_VIRTIO_9P_VIRTIO_9P_H
#define COVE_DEVICES_VIRTIO_9P_VIRTIO_9P_H

#include <linux/virtio_9p.h>
#include <pthread.h>
#include <stdint.h>

#include "backends/work_pool.h"
#include "base/compiler.h"
#include "base/event_loop.h"
#include "config/vm_config.h"
#include "devices/virtio_9p/p9_server.h"
#include "virtio/virtio_dev.h"
#include "vm/guest_mem.h"

#define VIRTIO_9P_QUEUE_SIZE 128 /* requests in flight: the Linux client's ring */
#define VIRTIO_9P_WORKERS 8

struct virtio_9p;

/* One request slot (the device lock guards everything but `reply_len`). */
struct virtio_9p_req {
	struct work_item work;
	struct virtio_9p *dev;
	struct p9_io io;
	struct iovec *iov;	       /* VIRTIO_9P_QUEUE_SIZE entries: the chain */
	uint16_t head;		       /* the chain to push back */
	uint16_t tag;		       /* Tflush: its own tag */
	unsigned int gen;	       /* the device generation it was started in */
	bool in_flight;		       /* handed to a worker, reply not pushed yet */
	size_t reply_len;	       /* written by the worker */
	struct virtio_9p_req *next;    /* free list, done list */
	struct virtio_9p_req *flushes; /* Tflush requests waiting for this one */
};

struct virtio_9p {
	struct virtio_device vdev;
	char name[48]; /* "virtio-9p (TAG)" */
	uint8_t config[sizeof(struct virtio_9p_config) + SHARED_DIR_TAG_MAX];
	struct p9_server *srv;
	struct work_pool pool;
	struct p9_ctx ctx[VIRTIO_9P_WORKERS];
	struct event_loop *loop;
	int done_fd; /* eventfd: workers finished requests */

	/* `mu` guards busy, gen and done (lock order: vdev.lock, then mu). */
	pthread_mutex_t mu;
	pthread_cond_t idle;
	unsigned int busy;
	unsigned int gen;
	struct virtio_9p_req *done;

	struct virtio_9p_req *reqs; /* VIRTIO_9P_QUEUE_SIZE slots */
	struct virtio_9p_req *free;
	struct virtq_chain chain; /* scratch for virtq_pop (device lock held) */
};

/*
 * Creates the device for shared directory `sd`: opens the directory (one
 * log line naming it on failure), starts the workers, watches the
 * completion eventfd on `loop`. Usable without a VM (unit tests).
 * Returns 0 or -errno. Released with vdev.ops->destroy (after a reset).
 */
must_check int virtio_9p_create(const struct shared_dir_config *sd, const struct guest_mem *mem,
				struct event_loop *loop, struct virtio_9p **out);

struct vm;
/* The registry's module entry: one device per --shared-dir, in order. */
must_check int virtio_9p_create_all(struct vm *vm);

#endif
