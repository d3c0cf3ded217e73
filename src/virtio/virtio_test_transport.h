/*
 * A transport for device unit tests: it records the interrupts a device
 * raises instead of delivering them. Attach it to a virtio_device made with
 * virtio_dev_init(), then drive the queues with virtq_driver: the helpers
 * below are the driver's side that device tests (and fuzz targets) share.
 */
#ifndef COVE_VIRTIO_VIRTIO_TEST_TRANSPORT_H
#define COVE_VIRTIO_VIRTIO_TEST_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/event_loop.h"
#include "virtio/virtio_dev.h"
#include "virtio/virtq_driver.h"

struct virtio_test_transport {
	unsigned int queue_irqs[VIRTIO_DEV_MAX_QUEUES]; /* per queue */
	unsigned int config_irqs;
};

/* Zeroes the counters and makes `t` the transport of `vdev`. */
void virtio_test_transport_attach(struct virtio_device *vdev, struct virtio_test_transport *t);

/* Where a test driver puts its queues: queue q's rings and heap at gpa + q * span. */
struct virtio_test_rings {
	const struct guest_mem *mem;
	uint64_t gpa;
	uint64_t span;
	uint16_t size;
	bool event_idx; /* the ring features, as virtq_enable() takes them */
	bool indirect;
};

/*
 * The driver's init sequence from feature negotiation to DRIVER_OK: accepts
 * `features`, sets up queues 0..n-1 with drv[0..n-1] as `r` says, enables
 * them and starts the device. Device lock held. Returns 0, -ENOTSUP when
 * the device refused the features, or the error of virtq_driver_init() or
 * virtq_enable().
 */
must_check int virtio_test_start(struct virtio_device *vdev, uint64_t features,
				 struct virtq_driver *drv, unsigned int n,
				 const struct virtio_test_rings *r);

/* A driver's kick: queue_notify(q) with the device lock taken. */
void virtio_test_kick(struct virtio_device *vdev, unsigned int q);

/* A device reset with the device lock taken. */
void virtio_test_reset(struct virtio_device *vdev);

/*
 * Collects up to `n` used entries of `drv` into out[], serving `loop`'s
 * callbacks (worker completions) for up to `rounds` waits of 10 ms while
 * they are missing. Returns the number collected.
 */
unsigned int virtio_test_collect(struct virtq_driver *drv, struct event_loop *loop,
				 struct vring_used_elem *out, unsigned int n, int rounds);

#endif
