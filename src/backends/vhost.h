/*
 * The kernel's vhost data planes (Linux drivers/vhost, include/uapi/linux/
 * vhost.h): /dev/vhost-net and /dev/vhost-vsock move a device's virtqueue
 * data inside the host kernel. Cove hands vhost the guest memory map, each
 * ring's host addresses and two eventfds per queue:
 *  - kick: Cove writes it when the driver kicks the queue (the transport's
 *    ioeventfd wakes Cove, which relays the kick);
 *  - call: vhost writes it when the driver is to be interrupted; Cove
 *    watches it on the event loop and raises the queue's interrupt.
 * Everything else of the device (configuration, features, a control or
 * event queue) stays in Cove.
 */
#ifndef COVE_BACKENDS_VHOST_H
#define COVE_BACKENDS_VHOST_H

#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/event_loop.h"
#include "virtio/virtq.h"
#include "vm/guest_mem.h"

#define VHOST_MAX_VQS 2

struct vhost;

/* Called on the loop thread when vhost signals queue `vq` (its index in this vhost). */
typedef void (*vhost_call_fn)(void *opaque, unsigned int vq);

struct vhost_queue {
	struct vhost *vhost;
	unsigned int index;
	int kick_fd, call_fd;
	bool started, watched;
};

struct vhost {
	int fd;
	char path[64];
	uint64_t features; /* what the vhost device supports */
	unsigned int nvqs;
	struct vhost_queue vqs[VHOST_MAX_VQS];
	struct event_loop *loop;
	vhost_call_fn call;
	void *opaque;
};

/*
 * Opens `path` (a vhost character device), becomes its owner, reads its
 * features and creates the queues' eventfds; call fds are watched on
 * `loop` (may be NULL in tests). Returns 0 or -errno with one line in err.
 */
must_check int vhost_open(struct vhost *v, const char *path, unsigned int nvqs,
			  struct event_loop *loop, vhost_call_fn call, void *opaque, char *err,
			  size_t errlen);
void vhost_close(struct vhost *v);

/* Negotiated features (a subset of v->features) and the guest memory map. 0 or -errno. */
must_check int vhost_set_features(struct vhost *v, uint64_t features);
must_check int vhost_set_mem(struct vhost *v, const struct guest_mem *gm);

/* Starts queue `i` on the enabled ring `vq` (size, addresses, base 0, fds). 0 or -errno. */
must_check int vhost_start_queue(struct vhost *v, unsigned int i, const struct virtq *vq);
/* Stops queue `i` (vhost forgets the ring). */
void vhost_stop_queue(struct vhost *v, unsigned int i);

/* Relays a driver kick of queue `i` to vhost. */
void vhost_kick(struct vhost *v, unsigned int i);

#endif
