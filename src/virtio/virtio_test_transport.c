/*
 * The recording transport for device unit tests, and the driver's side they
 * share; see virtio_test_transport.h.
 */
#include "virtio/virtio_test_transport.h"

#include <assert.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>

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

int virtio_test_start(struct virtio_device *vdev, uint64_t features, struct virtq_driver *drv,
		      unsigned int n, const struct virtio_test_rings *r)
{
	int err;

	if (!virtio_dev_accept_features(vdev, features))
		return -ENOTSUP;
	for (unsigned int q = 0; q < n; q++) {
		err = virtq_driver_init(&drv[q], r->mem, r->gpa + q * r->span, r->size, r->span);
		if (!err)
			err = virtq_enable(&vdev->queues[q], &drv[q].layout, r->event_idx,
					   r->indirect);
		if (err)
			return err;
	}
	vdev->status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		       VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;
	virtio_dev_driver_ok(vdev);
	return 0;
}

void virtio_test_kick(struct virtio_device *vdev, unsigned int q)
{
	pthread_mutex_lock(&vdev->lock);
	vdev->ops->queue_notify(vdev, q);
	pthread_mutex_unlock(&vdev->lock);
}

void virtio_test_reset(struct virtio_device *vdev)
{
	pthread_mutex_lock(&vdev->lock);
	virtio_dev_reset(vdev);
	pthread_mutex_unlock(&vdev->lock);
}

/* One wait of up to `ms` on the loop's epoll set, dispatching what fired. */
static void serve_once(struct event_loop *loop, int ms)
{
	struct epoll_event ev[8];
	int k = epoll_wait(loop->epfd, ev, 8, ms);

	for (int i = 0; i < k; i++) {
		struct event_handler *h = ev[i].data.ptr;

		if (h && h->in_use)
			h->fn(h->opaque, ev[i].events);
	}
}

unsigned int virtio_test_collect(struct virtq_driver *drv, struct event_loop *loop,
				 struct vring_used_elem *out, unsigned int n, int rounds)
{
	unsigned int got = 0;

	for (int i = 0; i < rounds; i++) {
		while (got < n && virtq_driver_get_used(drv, &out[got]) == 1)
			got++;
		if (got == n)
			break;
		serve_once(loop, 10);
	}
	return got;
}
