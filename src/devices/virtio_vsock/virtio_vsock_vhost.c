/*
 * virtio-vsock over the kernel's vhost-vsock (/dev/vhost-vsock, Linux
 * drivers/vhost/vsock.c): the kernel serves the rx and tx queues and the
 * host's AF_VSOCK sockets (so `socat VSOCK-LISTEN:1234` on the host
 * works); Cove keeps the configuration and the event queue. See
 * virtio_vsock.h.
 */
#include <errno.h>
#include <linux/vhost.h>
#include <string.h>
#include <sys/ioctl.h>

#include "base/log.h"
#include "devices/virtio_vsock/virtio_vsock.h"

#define DEFAULT_DEVICE "/dev/vhost-vsock"

/* vhost signalled queue i: interrupt the driver (vhost applied EVENT_IDX). */
static void on_call(void *opaque, unsigned int i)
{
	struct virtio_vsock *vs = opaque;

	pthread_mutex_lock(&vs->vdev.lock);
	if (virtio_dev_running(&vs->vdev) && vs->vdev.transport)
		vs->vdev.transport->notify_queue(&vs->vdev, i);
	pthread_mutex_unlock(&vs->vdev.lock);
}

int vsock_vhost_open(struct virtio_vsock *vs, const char *path, struct event_loop *loop)
{
	char msg[200];
	uint64_t cid = vs->cid;
	int err;

	path = path ? path : DEFAULT_DEVICE;
	err = vhost_open(&vs->vhost, path, 2, loop, on_call, vs, msg, sizeof(msg));
	if (err) {
		log_error("--vsock: %s", msg);
		return err;
	}
	if (ioctl(vs->vhost.fd, VHOST_VSOCK_SET_GUEST_CID, &cid) < 0) {
		err = -errno;
		log_error("--vsock: cid=%llu: %s%s", (unsigned long long)cid, strerror(errno),
			  errno == EADDRINUSE ? " (another VM has this CID)" : "");
		vhost_close(&vs->vhost);
		return err;
	}
	vs->use_vhost = true;
	return 0;
}

int vsock_vhost_activate(struct virtio_vsock *vs)
{
	struct vhost *v = &vs->vhost;
	int running = 1, err;

	err = vhost_set_features(v, vs->vdev.features);
	err = err ? err : vhost_set_mem(v, vs->vdev.mem);
	for (unsigned int q = 0; q < 2 && !err; q++)
		err = vhost_start_queue(v, q, &vs->vdev.queues[q]);
	if (!err && ioctl(v->fd, VHOST_VSOCK_SET_RUNNING, &running) < 0)
		err = -errno;
	if (err) {
		log_error("%s: cannot start vhost-vsock: %s", vs->name, strerror(-err));
		vsock_vhost_reset(vs);
	}
	return err;
}

void vsock_vhost_reset(struct virtio_vsock *vs)
{
	int running = 0;

	if (ioctl(vs->vhost.fd, VHOST_VSOCK_SET_RUNNING, &running) < 0)
		log_debug("%s: vhost-vsock stop: %s", vs->name, strerror(errno));
	for (unsigned int q = 0; q < 2; q++)
		vhost_stop_queue(&vs->vhost, q);
}
