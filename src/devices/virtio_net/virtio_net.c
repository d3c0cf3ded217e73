/*
 * The virtio-net device model (virtio 1.x section 5.1): features, device
 * configuration, the control queue, activation and reset; see
 * virtio_net.h. The data path is in virtio_net_io.c.
 */
#include "devices/virtio_net/virtio_net.h"

#include <endian.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/log.h"
#include "devices/registry.h"
#include "vm/vm.h"

static struct virtio_net *net_of(struct virtio_device *vdev)
{
	return container_of(vdev, struct virtio_net, vdev);
}

static unsigned int ctrl_queue(const struct virtio_net *net)
{
	return 2u * net->max_pairs;
}

/* ---- features and configuration ---- */

static uint64_t offered_features(const struct virtio_net *net, const struct net_config *nc)
{
	uint64_t f = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) |
		     (1ULL << VIRTIO_NET_F_CTRL_VQ) | (1ULL << VIRTIO_NET_F_CTRL_RX) |
		     (1ULL << VIRTIO_NET_F_CTRL_MAC_ADDR);
	unsigned int t = net->tap.offloads;

	if (net->max_pairs > 1)
		f |= 1ULL << VIRTIO_NET_F_MQ;
	if (nc->mrg_rxbuf)
		f |= 1ULL << VIRTIO_NET_F_MRG_RXBUF;
	if (net->tap.vnet_hdr)
		f |= (1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_HOST_TSO4) |
		     (1ULL << VIRTIO_NET_F_HOST_TSO6) | (1ULL << VIRTIO_NET_F_HOST_ECN) |
		     (1ULL << VIRTIO_NET_F_HOST_UFO);
	if (t & TUN_F_CSUM)
		f |= (1ULL << VIRTIO_NET_F_GUEST_CSUM) | (1ULL << VIRTIO_NET_F_CTRL_GUEST_OFFLOADS);
	if ((t & TUN_F_CSUM) && (t & TUN_F_TSO4))
		f |= 1ULL << VIRTIO_NET_F_GUEST_TSO4;
	if ((t & TUN_F_CSUM) && (t & TUN_F_TSO6))
		f |= 1ULL << VIRTIO_NET_F_GUEST_TSO6;
	if ((t & TUN_F_CSUM) && (t & TUN_F_TSO_ECN))
		f |= 1ULL << VIRTIO_NET_F_GUEST_ECN;
	if ((t & TUN_F_CSUM) && (t & TUN_F_UFO))
		f |= 1ULL << VIRTIO_NET_F_GUEST_UFO;
	return f;
}

static void config_read(struct virtio_device *vdev, uint32_t offset, void *data, uint32_t len)
{
	memcpy(data, (const uint8_t *)&net_of(vdev)->config + offset, len);
}

/* Legacy drivers set the MAC through the configuration; allow it there only. */
static void config_write(struct virtio_device *vdev, uint32_t offset, const void *data,
			 uint32_t len)
{
	struct virtio_net *net = net_of(vdev);

	if (offset + len > sizeof(net->config.mac) ||
	    virtio_dev_has_feature(vdev, VIRTIO_NET_F_CTRL_MAC_ADDR))
		return;
	memcpy(net->config.mac + offset, data, len);
	memcpy(net->ctrl.filter.mac, net->config.mac, 6);
}

/* ---- activation and reset ---- */

static int apply_offloads(struct virtio_net *net)
{
	int err = tap_set_offload(&net->tap, tap_offloads_from_features(net->ctrl.guest_offloads));

	if (err)
		log_warn("%s: tap %s refuses offloads: %s", net->name, net->tap.name,
			 strerror(-err));
	return err;
}

/* Attaches the tap queues of the pairs in use, detaches the others, watches their fds. */
static void apply_pairs(struct virtio_net *net)
{
	for (unsigned int p = 0; p < net->max_pairs; p++) {
		bool on = p < net->ctrl.curr_pairs;
		int err = tap_set_queue(&net->tap, p, on);

		if (err && err != -EOPNOTSUPP)
			log_warn("%s: tap %s queue %u: %s", net->name, net->tap.name, p,
				 strerror(-err));
		if (net->use_vhost)
			continue; /* the kernel reads the tap */
		if (on && net->vdev.queues[2 * p].enabled)
			virtio_net_io_rx(&net->rxq[p]);
		else
			virtio_net_io_watch(&net->rxq[p], false);
	}
}

static int activate(struct virtio_device *vdev)
{
	struct virtio_net *net = net_of(vdev);

	virtio_net_ctrl_reset(&net->ctrl, net->config.mac, net->max_pairs, vdev->features);
	if (apply_offloads(net))
		return -EIO;
	if (net->use_vhost) {
		int err = virtio_net_vhost_activate(net);

		if (err)
			return err;
	}
	apply_pairs(net);
	return 0;
}

static void reset(struct virtio_device *vdev)
{
	struct virtio_net *net = net_of(vdev);

	if (net->use_vhost)
		virtio_net_vhost_reset(net);
	for (unsigned int p = 0; p < net->max_pairs; p++) {
		virtio_net_io_watch(&net->rxq[p], false);
		virtio_net_io_drop_held(&net->rxq[p]);
	}
	net->tx_more = 0;
	memcpy(net->config.mac, net->mac, 6);
	virtio_net_ctrl_reset(&net->ctrl, net->mac, net->max_pairs, 0);
	if (tap_set_offload(&net->tap, 0))
		log_debug("%s: cannot clear the tap's offloads", net->name);
}

/* ---- the control queue ---- */

/* Mirrors what a command changed to the config space and the tap. */
static void ctrl_apply(struct virtio_net *net, unsigned int changed)
{
	if (changed & VIRTIO_NET_CTRL_CHANGED_MAC)
		memcpy(net->config.mac, net->ctrl.filter.mac, 6);
	if (changed & VIRTIO_NET_CTRL_CHANGED_OFFLOADS)
		(void)apply_offloads(net);
	if (changed & VIRTIO_NET_CTRL_CHANGED_PAIRS)
		apply_pairs(net);
}

static int ctrl_one(struct virtio_net *net, const struct virtq_chain *c)
{
	unsigned int changed = 0;
	uint8_t ack = VIRTIO_NET_ERR;

	/* Guest-controlled: the command bytes, copied once into ctrl_buf. */
	if (c->in_len < 1)
		return -EINVAL;
	if (c->out_len <= VIRTIO_NET_CTRL_MAX) {
		size_t n = virtq_chain_read(c, 0, net->ctrl_buf, c->out_len);

		ack = virtio_net_ctrl_handle(&net->ctrl, net->ctrl_buf, n, net->vdev.features,
					     &changed);
	}
	(void)virtq_chain_write(c, 0, &ack, 1);
	ctrl_apply(net, changed);
	return 0;
}

static void serve_ctrl(struct virtio_net *net)
{
	struct virtq *vq = &net->vdev.queues[ctrl_queue(net)];
	bool pushed = false;

	for (;;) {
		int r = virtq_pop(vq, &net->chain);
		uint16_t head = net->chain.head;

		if (r == 0)
			break;
		/* ctrl_one() may start receiving (VQ_PAIRS_SET), which reuses
		 * net->chain: the head was saved above. */
		if (r < 0 || ctrl_one(net, &net->chain) < 0) {
			virtio_dev_set_needs_reset(&net->vdev, "broken control queue");
			return;
		}
		virtq_push(vq, head, 1);
		pushed = true;
		if (!virtio_dev_running(&net->vdev))
			return;
	}
	if (pushed)
		virtio_dev_notify(&net->vdev, ctrl_queue(net));
}

static void queue_notify(struct virtio_device *vdev, unsigned int q)
{
	struct virtio_net *net = net_of(vdev);
	unsigned int pair = q / 2;

	if (q == ctrl_queue(net))
		serve_ctrl(net);
	else if (net->use_vhost)
		vhost_kick(&net->vhost[pair], q % 2);
	else if (pair >= net->ctrl.curr_pairs)
		return; /* a pair not in use: nothing to do until VQ_PAIRS_SET */
	else if (q % 2 == 0)
		virtio_net_io_rx(&net->rxq[pair]);
	else
		virtio_net_io_tx(net, pair);
}

/* Transmit work left over by a run that hit its budget. */
static void on_work(void *opaque, uint32_t events)
{
	struct virtio_net *net = opaque;
	uint64_t count;

	(void)events;
	if (read(net->work_fd, &count, sizeof(count)) < 0)
		return;
	pthread_mutex_lock(&net->vdev.lock);
	for (unsigned int p = 0; p < net->max_pairs && virtio_dev_running(&net->vdev); p++) {
		if (!(net->tx_more & (1u << p)))
			continue;
		net->tx_more &= ~(1u << p);
		if (p < net->ctrl.curr_pairs && net->vdev.queues[2 * p + 1].enabled)
			virtio_net_io_tx(net, p);
	}
	pthread_mutex_unlock(&net->vdev.lock);
}

/* ---- creation ---- */

static void destroy(struct virtio_device *vdev)
{
	struct virtio_net *net = net_of(vdev);

	for (unsigned int p = 0; net->rxq && p < net->max_pairs; p++) {
		virtio_net_io_watch(&net->rxq[p], false);
		free(net->rxq[p].bounce);
	}
	virtio_net_vhost_close(net);
	free(net->rxq);
	if (net->work_watched)
		event_loop_remove(vdev->loop, net->work_fd);
	if (net->work_fd >= 0)
		close(net->work_fd);
	tap_close(&net->tap);
	virtio_dev_destroy(vdev);
	free(net);
}

static const struct virtio_dev_ops net_ops = {
    .config_read = config_read,
    .config_write = config_write,
    .activate = activate,
    .reset = reset,
    .queue_notify = queue_notify,
    .destroy = destroy,
};

static void pick_mac(const struct net_config *nc, uint8_t mac[6])
{
	if (nc->has_mac) {
		memcpy(mac, nc->mac, 6);
		return;
	}
	/* 52:54:00 (locally administered, unicast) and three random bytes. */
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = 0x00;
	if (getrandom(mac + 3, 3, GRND_NONBLOCK) != 3)
		memcpy(mac + 3, (uint8_t[]){0x12, 0x34, 0x56}, 3);
}

static int setup_queues(struct virtio_net *net)
{
	net->rxq = calloc(net->max_pairs, sizeof(*net->rxq));
	if (!net->rxq)
		return -ENOMEM;
	for (unsigned int p = 0; p < net->max_pairs; p++) {
		struct virtio_net_rxq *rq = &net->rxq[p];

		rq->net = net;
		rq->pair = p;
		rq->fd = net->tap.fds[p];
		rq->bounce = malloc(VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME);
		if (!rq->bounce)
			return -ENOMEM;
	}
	net->work_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (net->work_fd < 0)
		return -errno;
	if (net->vdev.loop) {
		int err = event_loop_add(net->vdev.loop, net->work_fd, EPOLLIN, on_work, net);

		if (err)
			return err;
		net->work_watched = true;
	}
	return 0;
}

int virtio_net_create_on(const struct net_config *nc, struct tap *tap, const struct guest_mem *mem,
			 struct event_loop *loop, struct virtio_net **out)
{
	struct virtio_net *net = calloc(1, sizeof(*net));
	int err;

	if (!net)
		return -ENOMEM;
	net->tap = *tap;
	net->work_fd = -1;
	net->max_pairs = (uint16_t)tap->num_queues;
	snprintf(net->name, sizeof(net->name), "virtio-net (%s)", tap->name);
	pick_mac(nc, net->mac);
	err = virtio_dev_init(&net->vdev, &net_ops, net->name, VIRTIO_ID_NET,
			      offered_features(net, nc), offsetof(struct virtio_net_config, mtu),
			      2u * net->max_pairs + 1, VIRTIO_NET_QUEUE_SIZE, mem, loop);
	if (err) {
		free(net);
		return err;
	}
	memcpy(net->config.mac, net->mac, 6);
	net->config.status = htole16(VIRTIO_NET_S_LINK_UP);
	net->config.max_virtqueue_pairs = htole16(net->max_pairs);
	virtio_net_ctrl_reset(&net->ctrl, net->mac, net->max_pairs, 0);
	err = setup_queues(net);
	if (!err && nc->vhost)
		err = virtio_net_vhost_open(net, nc->vhost_device);
	if (err) {
		net->tap.owned = false; /* the caller still owns the tap */
		destroy(&net->vdev);
		return err;
	}
	*out = net;
	return 0;
}

int virtio_net_create(const struct net_config *nc, unsigned int index, const struct guest_mem *mem,
		      struct event_loop *loop, struct virtio_net **out)
{
	char msg[256];
	struct tap tap;
	int err;

	(void)index;
	err = nc->tap_name ? tap_open(&tap, nc->tap_name, nc->vq_pairs, msg, sizeof(msg))
			   : tap_adopt_fd(&tap, nc->tap_fd, msg, sizeof(msg));
	if (err) {
		log_error("--net: %s", msg);
		return err;
	}
	err = virtio_net_create_on(nc, &tap, mem, loop, out);
	if (err) {
		log_error("%s: cannot create the NIC: %s", tap.name, strerror(-err));
		tap_close(&tap);
	}
	return err;
}

int virtio_net_create_all(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;

	for (unsigned int i = 0; i < cfg->num_nics; i++) {
		struct virtio_net *net;
		int err = virtio_net_create(&cfg->nics[i], i, &vm->mem, &vm->loop, &net);

		if (err)
			return err;
		log_info("%s: MAC %02x:%02x:%02x:%02x:%02x:%02x, %u queue pair(s)", net->name,
			 net->mac[0], net->mac[1], net->mac[2], net->mac[3], net->mac[4],
			 net->mac[5], net->max_pairs);
		err = vm_attach_virtio(vm, &net->vdev);
		if (err) {
			destroy(&net->vdev);
			return err;
		}
	}
	return 0;
}
