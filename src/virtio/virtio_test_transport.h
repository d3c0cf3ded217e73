/*
 * A transport for device unit tests: it records the interrupts a device
 * raises instead of delivering them. Attach it to a virtio_device made with
 * virtio_dev_init(), then drive the queues with virtq_driver.
 */
#ifndef COVE_VIRTIO_VIRTIO_TEST_TRANSPORT_H
#define COVE_VIRTIO_VIRTIO_TEST_TRANSPORT_H

#include "virtio/virtio_dev.h"

struct virtio_test_transport {
	unsigned int queue_irqs[VIRTIO_DEV_MAX_QUEUES]; /* per queue */
	unsigned int config_irqs;
};

/* Zeroes the counters and makes `t` the transport of `vdev`. */
void virtio_test_transport_attach(struct virtio_device *vdev, struct virtio_test_transport *t);

#endif
