/*
 * The transport-independent part of a virtio device (virtio 1.x section 2:
 * device status field, feature bits, notifications, device reset); see
 * virtio_dev.h for the threading contract.
 */
#include "virtio/virtio_dev.h"

#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <string.h>

#include "base/log.h"

/* Feature bits every Cove device offers, whatever its type. */
#define TRANSPORT_FEATURES                                                       \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX))

static bool valid_queue_size(uint16_t size)
{
	return size != 0 && size <= VIRTQ_MAX_SIZE && (size & (size - 1)) == 0;
}

int virtio_dev_init(struct virtio_device *vdev, const struct virtio_dev_ops *ops,
		    const char *name, uint16_t device_id, uint64_t device_features,
		    uint32_t config_size, unsigned int num_queues, uint16_t queue_size,
		    const struct guest_mem *mem, struct event_loop *loop)
{
	int ret;

	if (!ops || !ops->queue_notify || num_queues == 0 || num_queues > VIRTIO_DEV_MAX_QUEUES ||
	    !valid_queue_size(queue_size))
		return -EINVAL;
	memset(vdev, 0, sizeof(*vdev));
	ret = pthread_mutex_init(&vdev->lock, NULL);
	if (ret)
		return -ret;
	vdev->ops = ops;
	vdev->name = name;
	vdev->device_id = device_id;
	vdev->host_features = device_features | TRANSPORT_FEATURES;
	vdev->config_size = config_size;
	vdev->num_queues = num_queues;
	vdev->mem = mem;
	vdev->loop = loop;
	for (unsigned int q = 0; q < num_queues; q++) {
		vdev->queue_max_size[q] = queue_size;
		virtq_init(&vdev->queues[q], mem);
	}
	return 0;
}

void virtio_dev_destroy(struct virtio_device *vdev)
{
	pthread_mutex_destroy(&vdev->lock);
}

bool virtio_dev_running(const struct virtio_device *vdev)
{
	return (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) && !vdev->needs_reset;
}

bool virtio_dev_has_feature(const struct virtio_device *vdev, unsigned int bit)
{
	return bit < 64 && (vdev->features & (1ULL << bit));
}

void virtio_dev_notify(struct virtio_device *vdev, unsigned int q)
{
	if (q >= vdev->num_queues || !vdev->transport)
		return;
	if (virtq_should_notify(&vdev->queues[q]))
		vdev->transport->notify_queue(vdev, q);
}

void virtio_dev_config_changed(struct virtio_device *vdev)
{
	vdev->config_generation++;
	if (vdev->transport && (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK))
		vdev->transport->notify_config(vdev);
}

void virtio_dev_set_needs_reset(struct virtio_device *vdev, const char *why)
{
	if (vdev->needs_reset)
		return;
	vdev->needs_reset = true;
	/* Rate-limited per call site: a hostile guest may reset and repeat. */
	log_guest_once("%s: %s; the device needs a reset", vdev->name, why);
	if (vdev->transport && (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK))
		vdev->transport->notify_config(vdev);
}

bool virtio_dev_accept_features(struct virtio_device *vdev, uint64_t features)
{
	if (features & ~vdev->host_features)
		return false;
	if (!(features & (1ULL << VIRTIO_F_VERSION_1)))
		return false;
	vdev->features = features;
	return true;
}

void virtio_dev_driver_ok(struct virtio_device *vdev)
{
	int err;

	if (!vdev->ops->activate || vdev->needs_reset)
		return;
	err = vdev->ops->activate(vdev);
	if (err) {
		log_error("%s: cannot start: %s", vdev->name, strerror(-err));
		virtio_dev_set_needs_reset(vdev, "activation failed");
	}
}

void virtio_dev_reset(struct virtio_device *vdev)
{
	if (vdev->ops->reset)
		vdev->ops->reset(vdev);
	for (unsigned int q = 0; q < vdev->num_queues; q++)
		virtq_reset(&vdev->queues[q]);
	vdev->features = 0;
	vdev->status = 0;
	vdev->needs_reset = false;
}
