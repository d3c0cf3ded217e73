/* The recording transport for device unit tests; see virtio_test_transport.h. */
#include "virtio/virtio_test_transport.h"

#include <assert.h>
#include <string.h>

static void count_queue_irq(struct virtio_device *vdev, unsigned int q)
{
	struct virtio_test_transport *t = vdev->transport_priv;

	assert(q < vdev->num_queues);
	t->queue_irqs[q]++;
}

static void count_config_irq(struct virtio_device *vdev)
{
	struct virtio_test_transport *t = vdev->transport_priv;

	t->config_irqs++;
}

static const struct virtio_transport_ops test_transport_ops = {
	.notify_queue = count_queue_irq,
	.notify_config = count_config_irq,
};

void virtio_test_transport_attach(struct virtio_device *vdev, struct virtio_test_transport *t)
{
	memset(t, 0, sizeof(*t));
	vdev->transport = &test_transport_ops;
	vdev->transport_priv = t;
}
