/*
 * virtio-rng, the entropy device (virtio 1.x section 5.4): one request
 * queue, no configuration, no feature bits. The driver posts
 * device-writable buffers; the device fills them from the host's
 * getrandom() and returns the number of bytes written as the used length.
 *
 * The event loop never blocks: getrandom() runs with GRND_NONBLOCK. If the
 * host pool cannot give anything yet (only before the host's own entropy
 * is initialised), the chain stays popped and is retried on the next kick
 * and by a short timer; a partial fill is returned as it is (the driver
 * takes any length).
 *
 * Threading: everything runs under vdev.lock (the retry timer takes it).
 */
#ifndef COVE_DEVICES_VIRTIO_RNG_VIRTIO_RNG_H
#define COVE_DEVICES_VIRTIO_RNG_VIRTIO_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/compiler.h"
#include "base/event_loop.h"
#include "virtio/virtio_dev.h"
#include "vm/guest_mem.h"

#define VIRTIO_RNG_QUEUE_SIZE 256
#define VIRTIO_RNG_RETRY_MS 100
/* Most bytes given for one request: the driver accepts shorter answers. */
#define VIRTIO_RNG_MAX_FILL (64 * 1024)

/* getrandom(2)'s signature: the source of bytes, replaceable by tests. */
typedef ssize_t (*virtio_rng_source_fn)(void *buf, size_t len, unsigned int flags);

struct virtio_rng {
	struct virtio_device vdev;
	virtio_rng_source_fn source;
	struct virtq_chain chain; /* the chain being filled, while busy */
	bool busy;		  /* chain popped but not yet filled */
	int timer_fd;		  /* retry timer; -1 without an event loop */
	bool timer_watched;
};

/*
 * Creates the device. `loop` may be NULL (unit tests: retries then happen
 * on kicks only). The device still needs a transport. Returns 0 or -errno.
 */
must_check int virtio_rng_new(const struct guest_mem *mem, struct event_loop *loop,
			      struct virtio_rng **out);
/* Releases the device; the same as vdev.ops->destroy. */
void virtio_rng_destroy(struct virtio_rng *rng);

/*
 * Registry entry: creates the device unless vm->cfg->no_rng and attaches
 * it with vm_attach_virtio(). Returns 0 or -errno (logged).
 */
struct vm;
must_check int virtio_rng_create_all(struct vm *vm);

#endif
