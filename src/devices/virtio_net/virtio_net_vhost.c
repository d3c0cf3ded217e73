/*
 * virtio-net over the kernel's vhost-net (/dev/vhost-net, Linux
 * drivers/vhost/net.c): one vhost device per queue pair moves the packets
 * between the rings and the pair's tap fd; Cove keeps the configuration,
 * the control queue and the tap's offloads. See virtio_net.h.
 *
 * The tap carries the 12-byte header (TUNSETVNETHDRSZ), so vhost passes
 * the driver's header through untouched (VHOST_NET_F_VIRTIO_NET_HDR is not
 * negotiated). The receive filter is not applied on this path: the kernel
 * hands the guest every frame the tap receives.
 */
#include <errno.h>
#include <linux/vhost.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "base/log.h"
#include "devices/virtio_net/virtio_net.h"

#define DEFAULT_DEVICE "/dev/vhost-net"

/* vhost signalled queue i (0 rx, 1 tx) of the pair whose rxq is opaque. */
static void on_call(void *opaque, unsigned int i)
{
	struct virtio_net_rxq *rq = opaque;
	struct virtio_net *net = rq->net;

	pthread_mutex_lock(&net->vdev.lock);
	if (virtio_dev_running(&net->vdev) && net->vdev.transport)
		net->vdev.transport->notify_queue(&net->vdev, 2 * rq->pair + i);
	pthread_mutex_unlock(&net->vdev.lock);
}

int virtio_net_vhost_open(struct virtio_net *net, const char *path)
{
	char msg[200];

	path = path ? path : DEFAULT_DEVICE;
	for (unsigned int p = 0; p < net->max_pairs; p++) {
		int err = vhost_open(&net->vhost[p], path, 2, net->vdev.loop, on_call, &net->rxq[p],
				     msg, sizeof(msg));

		if (err) {
			log_error("--net: %s", msg);
			while (p > 0)
				vhost_close(&net->vhost[--p]);
			return err;
		}
	}
	net->use_vhost = true;
	return 0;
}

void virtio_net_vhost_close(struct virtio_net *net)
{
	for (unsigned int p = 0; net->use_vhost && p < net->max_pairs; p++)
		vhost_close(&net->vhost[p]);
	net->use_vhost = false;
}

static int set_backend(struct vhost *v, unsigned int i, int fd)
{
	struct vhost_vring_file f = {.index = i, .fd = fd};

	return ioctl(v->fd, VHOST_NET_SET_BACKEND, &f) < 0 ? -errno : 0;
}

static int start_pair(struct virtio_net *net, unsigned int p)
{
	struct vhost *v = &net->vhost[p];
	int err = vhost_set_features(v, net->vdev.features);

	err = err ? err : vhost_set_mem(v, net->vdev.mem);
	for (unsigned int i = 0; i < 2 && !err; i++) {
		const struct virtq *vq = &net->vdev.queues[2 * p + i];

		if (!vq->enabled)
			continue;
		err = vhost_start_queue(v, i, vq);
		err = err ? err : set_backend(v, i, net->tap.fds[p]);
	}
	return err;
}

int virtio_net_vhost_activate(struct virtio_net *net)
{
	for (unsigned int p = 0; p < net->max_pairs; p++) {
		int err = start_pair(net, p);

		if (err) {
			log_error("%s: cannot start vhost-net for pair %u: %s", net->name, p,
				  strerror(-err));
			virtio_net_vhost_reset(net);
			return err;
		}
	}
	return 0;
}

void virtio_net_vhost_reset(struct virtio_net *net)
{
	for (unsigned int p = 0; p < net->max_pairs; p++) {
		for (unsigned int i = 0; i < 2; i++) {
			if (!net->vhost[p].vqs[i].started)
				continue;
			if (set_backend(&net->vhost[p], i, -1))
				log_debug("%s: vhost-net backend off: %s", net->name,
					  strerror(errno));
			vhost_stop_queue(&net->vhost[p], i);
		}
	}
}
