/*
 * The virtio-vsock device model (virtio 1.x section 5.10): configuration,
 * the packets the guest sends (transmit queue), the packets Cove owes it
 * (receive queue) and the event queue; see virtio_vsock.h. Host sockets
 * are virtio_vsock_mux.c's.
 */
#include "devices/virtio_vsock/virtio_vsock.h"

#include <endian.h>
#include <errno.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/log.h"
#include "devices/registry.h"
#include "vm/vm.h"

enum { RXQ, TXQ, EVQ };

#define TX_BUDGET 256
#define RX_BUDGET 256

static struct virtio_vsock *vs_of(struct virtio_device *vdev)
{
	return container_of(vdev, struct virtio_vsock, vdev);
}

/* Up to `max` bytes of the chain's `writable` (or readable) part from byte `off`. */
static unsigned int chain_slice(const struct virtq_chain *c, bool writable, size_t off, size_t max,
				struct iovec *out)
{
	unsigned int first = writable ? c->n_out : 0, n = writable ? c->n_in : c->n_out, k = 0;

	for (unsigned int i = first; i < first + n && max; i++) {
		size_t len = c->iov[i].iov_len;

		if (off >= len) {
			off -= len;
			continue;
		}
		out[k].iov_base = (char *)c->iov[i].iov_base + off;
		out[k].iov_len = MIN(len - off, max);
		max -= out[k].iov_len;
		off = 0;
		k++;
	}
	return k;
}

/* ---- receive queue: packets to the guest ---- */

static uint32_t put_header(struct virtio_vsock *vs, const struct vsock_pkt *pkt)
{
	uint8_t hdr[VSOCK_HDR_LEN];

	virtio_vsock_pkt_write(pkt, hdr);
	(void)virtq_chain_write(&vs->rx_chain, 0, hdr, sizeof(hdr));
	return VSOCK_HDR_LEN;
}

static uint32_t send_ctrl(struct virtio_vsock *vs, struct vsock_conn *c, uint16_t op,
			  uint32_t flags)
{
	struct vsock_pkt pkt;

	vsock_conn_header(c, vs->cid, op, 0, flags, &pkt);
	return put_header(vs, &pkt);
}

/*
 * Reads host bytes straight into the held chain after the header, within
 * the guest's credit. Returns the packet length, 0 if the socket had
 * nothing (EAGAIN) or reached its end (then a SHUTDOWN is owed).
 */
static uint32_t send_data(struct virtio_vsock *vs, struct vsock_conn *c)
{
	struct iovec iov[VIRTQ_MAX_SIZE];
	size_t room = vs->rx_chain.in_len - VSOCK_HDR_LEN;
	uint32_t credit = vsock_conn_peer_credit(c);
	unsigned int n;
	struct vsock_pkt pkt;
	ssize_t got;

	if (credit == 0) {
		c->want_read = false; /* wait for the guest's CREDIT_UPDATE */
		return 0;
	}
	if (room == 0)
		return 0; /* a header-only buffer: control packets only */
	n = chain_slice(&vs->rx_chain, true, VSOCK_HDR_LEN,
			MIN(MIN(room, (size_t)credit), (size_t)VSOCK_MAX_PAYLOAD), iov);
	do {
		got = n ? readv(c->fd, iov, (int)n) : 0;
	} while (got < 0 && errno == EINTR);
	if (got < 0 && errno == EAGAIN) {
		c->want_read = false;
		return 0;
	}
	if (got <= 0) {
		/* End of the host's stream (or an error): tell the guest. */
		c->want_read = false;
		c->host_eof = true;
		c->shutdown_flags =
		    VIRTIO_VSOCK_SHUTDOWN_SEND |
		    ((c->host_hup && !c->host_wr_shut) || got < 0 ? VIRTIO_VSOCK_SHUTDOWN_RCV : 0);
		c->owe |= VSOCK_OWE_SHUTDOWN;
		return 0;
	}
	vsock_conn_header(c, vs->cid, VIRTIO_VSOCK_OP_RW, (uint32_t)got, 0, &pkt);
	c->tx_cnt += (uint32_t)got;
	return put_header(vs, &pkt) + (uint32_t)got;
}

/* One packet for connection c into the held chain; 0 if it owes nothing now. */
static uint32_t conn_fill(struct virtio_vsock *vs, struct vsock_conn *c)
{
	uint32_t n;

	if (c->owe & VSOCK_OWE_RST) {
		n = send_ctrl(vs, c, VIRTIO_VSOCK_OP_RST, 0);
		vsock_mux_close(&vs->mux, c);
		return n;
	}
	if (c->owe & VSOCK_OWE_REQUEST) {
		c->owe &= ~(unsigned int)VSOCK_OWE_REQUEST;
		return send_ctrl(vs, c, VIRTIO_VSOCK_OP_REQUEST, 0);
	}
	if (c->owe & VSOCK_OWE_RESPONSE) {
		c->owe &= ~(unsigned int)VSOCK_OWE_RESPONSE;
		return send_ctrl(vs, c, VIRTIO_VSOCK_OP_RESPONSE, 0);
	}
	if (c->want_read && c->state == VSOCK_CONN_ESTABLISHED && c->fd >= 0) {
		n = send_data(vs, c);
		if (n)
			return n;
		vsock_mux_update_events(&vs->mux, c);
	}
	if (c->owe & VSOCK_OWE_SHUTDOWN) {
		c->owe &= ~(unsigned int)VSOCK_OWE_SHUTDOWN;
		n = send_ctrl(vs, c, VIRTIO_VSOCK_OP_SHUTDOWN, c->shutdown_flags);
		vsock_mux_settle(vs, c);
		return n;
	}
	if (c->owe & VSOCK_OWE_CREDIT_UPDATE)
		return send_ctrl(vs, c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
	return 0;
}

/* The next packet owed to the guest into the held chain; 0 if none. */
static uint32_t fill_one(struct virtio_vsock *vs)
{
	struct vsock_mux *mux = &vs->mux;
	struct vsock_conn *c;
	uint32_t n;

	if (mux->n_stray) {
		struct vsock_stray s = mux->stray[--mux->n_stray];
		struct vsock_pkt pkt = {.src_cid = VSOCK_HOST_CID,
					.dst_cid = vs->cid,
					.src_port = s.host_port,
					.dst_port = s.guest_port,
					.type = VIRTIO_VSOCK_TYPE_STREAM,
					.op = VIRTIO_VSOCK_OP_RST};

		return put_header(vs, &pkt);
	}
	c = mux->rx_head;
	mux->rx_head = c->rx_next;
	if (!mux->rx_head)
		mux->rx_tail = NULL;
	c->in_rx_queue = false;
	n = conn_fill(vs, c);
	if (!c->dead && (c->owe || (c->want_read && c->fd >= 0)))
		vsock_mux_want_rx(mux, c); /* round robin: to the back */
	return n;
}

void virtio_vsock_rx_pump(struct virtio_vsock *vs)
{
	struct virtq *vq = &vs->vdev.queues[RXQ];
	bool pushed = false;

	if (!virtio_dev_running(&vs->vdev) || !vq->enabled)
		return;
	for (unsigned int i = 0; i < RX_BUDGET && (vs->mux.n_stray || vs->mux.rx_head); i++) {
		uint32_t n;

		if (!vs->rx_held) {
			int r = virtq_pop(vq, &vs->rx_chain);

			if (r < 0)
				virtio_dev_set_needs_reset(&vs->vdev, "broken receive queue");
			if (r <= 0)
				break;
			/* Guest-controlled: a buffer must hold at least a header. */
			if (vs->rx_chain.in_len < VSOCK_HDR_LEN) {
				log_guest_once("%s: receive buffer smaller than a header",
					       vs->name);
				virtq_push(vq, vs->rx_chain.head, 0);
				pushed = true;
				continue;
			}
			vs->rx_held = true;
		}
		n = fill_one(vs);
		if (n) {
			virtq_push(vq, vs->rx_chain.head, n);
			vs->rx_held = false;
			vs->stats.rx_pkts++;
			pushed = true;
		}
	}
	if (pushed)
		virtio_dev_notify(&vs->vdev, RXQ);
}

/* ---- transmit queue: packets from the guest ---- */

static void on_response(struct virtio_vsock *vs, struct vsock_conn *c)
{
	char line[24];
	int n;

	if (c->state != VSOCK_CONN_CONNECTING)
		return; /* a RESPONSE to nothing we asked: ignored */
	c->state = VSOCK_CONN_ESTABLISHED;
	c->deadline_ms = 0;
	n = snprintf(line, sizeof(line), "OK %u\n", c->local_port);
	if (send(c->fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n) {
		vsock_mux_reset_conn(&vs->mux, c);
		return;
	}
	vsock_mux_update_events(&vs->mux, c);
}

static void on_shutdown(struct virtio_vsock *vs, struct vsock_conn *c, uint32_t flags)
{
	if (flags & VIRTIO_VSOCK_SHUTDOWN_RCV) {
		c->guest_shut_rcv = true;
		c->want_read = false;
	}
	if (flags & VIRTIO_VSOCK_SHUTDOWN_SEND)
		c->guest_shut_send = true;
	vsock_mux_settle(vs, c);
}

static void on_rw(struct virtio_vsock *vs, struct vsock_conn *c, const struct vsock_pkt *pkt,
		  const struct virtq_chain *chain)
{
	struct iovec iov[VIRTQ_MAX_SIZE];
	unsigned int n;

	if (c->state != VSOCK_CONN_ESTABLISHED || c->guest_shut_send || !pkt->len)
		return;
	/* Guest-controlled: pkt->len, within what Cove advertised or a reset. */
	if (!vsock_conn_rx_fits(c, pkt->len) || c->host_hup) {
		if (!c->host_hup)
			log_guest_once("%s: guest port %u sent beyond its credit", vs->name,
				       c->peer_port);
		vsock_mux_reset_conn(&vs->mux, c);
		return;
	}
	n = chain_slice(chain, false, VSOCK_HDR_LEN, pkt->len, iov);
	vsock_mux_host_write(vs, c, iov, n, pkt->len);
}

static void on_packet(struct virtio_vsock *vs, const struct vsock_pkt *pkt,
		      const struct virtq_chain *chain)
{
	struct vsock_conn *c = vsock_mux_lookup(&vs->mux, pkt->dst_port, pkt->src_port);

	if (!c) {
		if (pkt->op == VIRTIO_VSOCK_OP_REQUEST)
			vsock_mux_guest_connect(vs, pkt);
		else if (pkt->op != VIRTIO_VSOCK_OP_RST)
			vsock_mux_stray_rst(&vs->mux, pkt->dst_port, pkt->src_port);
		return;
	}
	if (c->state == VSOCK_CONN_CLOSING) {
		if (pkt->op == VIRTIO_VSOCK_OP_RST)
			vsock_mux_close(&vs->mux, c); /* the RST we owed is moot */
		return;
	}
	vsock_conn_peer_credit_from(c, pkt);
	switch (pkt->op) {
	case VIRTIO_VSOCK_OP_REQUEST: /* a second REQUEST on a live connection */
		vsock_mux_reset_conn(&vs->mux, c);
		return;
	case VIRTIO_VSOCK_OP_RESPONSE:
		on_response(vs, c);
		break;
	case VIRTIO_VSOCK_OP_RST:
		vsock_mux_close(&vs->mux, c);
		return;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		on_shutdown(vs, c, pkt->flags);
		break;
	case VIRTIO_VSOCK_OP_RW:
		on_rw(vs, c, pkt, chain);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		c->owe |= VSOCK_OWE_CREDIT_UPDATE;
		vsock_mux_want_rx(&vs->mux, c);
		break;
	default: /* CREDIT_UPDATE: the credit was taken above */
		break;
	}
	if (!c->dead)
		vsock_mux_update_events(&vs->mux, c);
}

static void tx_one(struct virtio_vsock *vs, const struct virtq_chain *chain)
{
	uint8_t hdr[VSOCK_HDR_LEN];
	struct vsock_pkt pkt;
	enum vsock_verdict v;

	/* Guest-controlled: the header, copied once, then checked. */
	if (chain->out_len < VSOCK_HDR_LEN) {
		vs->stats.dropped++;
		log_guest_once("%s: transmit packet shorter than a header", vs->name);
		return;
	}
	(void)virtq_chain_read(chain, 0, hdr, sizeof(hdr));
	v = virtio_vsock_pkt_parse(hdr, chain->out_len - VSOCK_HDR_LEN, vs->cid, &pkt);
	vs->stats.tx_pkts++;
	if (v == VSOCK_PKT_DROP) {
		vs->stats.dropped++;
		log_guest_once("%s: dropped a malformed or misaddressed packet (op %u)", vs->name,
			       pkt.op);
		return;
	}
	if (v == VSOCK_PKT_RESET) {
		vsock_mux_stray_rst(&vs->mux, pkt.dst_port, pkt.src_port);
		return;
	}
	on_packet(vs, &pkt, chain);
}

static void serve_tx(struct virtio_vsock *vs)
{
	struct virtq *vq = &vs->vdev.queues[TXQ];
	bool pushed = false;

	for (unsigned int i = 0; i < TX_BUDGET; i++) {
		int r = virtq_pop(vq, &vs->chain);

		if (r < 0) {
			virtio_dev_set_needs_reset(&vs->vdev, "broken transmit queue");
			return;
		}
		if (r == 0)
			break;
		tx_one(vs, &vs->chain);
		virtq_push(vq, vs->chain.head, 0);
		pushed = true;
	}
	/* A full budget leaves the rest for the next kick or pump: the queue's
	 * notifications stay armed, and the receive pump below runs anyway. */
	if (pushed)
		virtio_dev_notify(&vs->vdev, TXQ);
}

/* ---- event queue ---- */

static void post_event(struct virtio_vsock *vs)
{
	struct virtio_vsock_event ev = {.id = htole32(VIRTIO_VSOCK_EVENT_TRANSPORT_RESET)};
	struct virtq *vq = &vs->vdev.queues[EVQ];
	int r;

	if (!vs->event_owed || !virtio_dev_running(&vs->vdev) || !vq->enabled)
		return;
	r = virtq_pop(vq, &vs->chain);
	if (r < 0)
		virtio_dev_set_needs_reset(&vs->vdev, "broken event queue");
	if (r <= 0)
		return;
	virtq_push(vq, vs->chain.head, (uint32_t)virtq_chain_write(&vs->chain, 0, &ev, sizeof(ev)));
	vs->event_owed = false;
	virtio_dev_notify(&vs->vdev, EVQ);
}

void virtio_vsock_transport_reset(struct virtio_vsock *vs)
{
	if (!vs->use_vhost)
		vsock_mux_reset(&vs->mux);
	vs->event_owed = true;
	post_event(vs);
}

/* ---- virtio_dev_ops ---- */

static void config_read(struct virtio_device *vdev, uint32_t offset, void *data, uint32_t len)
{
	memcpy(data, (const uint8_t *)&vs_of(vdev)->config + offset, len);
}

static void queue_notify(struct virtio_device *vdev, unsigned int q)
{
	struct virtio_vsock *vs = vs_of(vdev);

	if (vs->use_vhost) {
		if (q == EVQ)
			post_event(vs);
		else
			vhost_kick(&vs->vhost, q);
		return;
	}
	if (q == TXQ)
		serve_tx(vs);
	else if (q == EVQ)
		post_event(vs);
	if (virtio_dev_running(vdev))
		virtio_vsock_rx_pump(vs);
	vsock_mux_reap(&vs->mux);
}

static int activate(struct virtio_device *vdev)
{
	struct virtio_vsock *vs = vs_of(vdev);

	return vs->use_vhost ? vsock_vhost_activate(vs) : 0;
}

static void reset(struct virtio_device *vdev)
{
	struct virtio_vsock *vs = vs_of(vdev);

	if (vs->use_vhost)
		vsock_vhost_reset(vs);
	else
		vsock_mux_reset(&vs->mux);
	vs->rx_held = false;
	vs->event_owed = false;
}

static void destroy(struct virtio_device *vdev)
{
	struct virtio_vsock *vs = vs_of(vdev);

	if (vs->use_vhost)
		vhost_close(&vs->vhost);
	else if (vs->mux.path)
		vsock_mux_destroy(&vs->mux, vdev->loop);
	virtio_dev_destroy(vdev);
	free(vs);
}

static const struct virtio_dev_ops vsock_ops = {
    .config_read = config_read,
    .activate = activate,
    .reset = reset,
    .queue_notify = queue_notify,
    .destroy = destroy,
};

int virtio_vsock_create(const struct vsock_config *vc, const struct guest_mem *mem,
			struct event_loop *loop, struct virtio_vsock **out)
{
	struct virtio_vsock *vs = calloc(1, sizeof(*vs));
	int err;

	if (!vs)
		return -ENOMEM;
	vs->cid = vc->cid;
	snprintf(vs->name, sizeof(vs->name), "virtio-vsock (cid %llu)",
		 (unsigned long long)vc->cid);
	err = virtio_dev_init(&vs->vdev, &vsock_ops, vs->name, VIRTIO_ID_VSOCK, 0,
			      sizeof(vs->config), 3, VIRTIO_VSOCK_QUEUE_SIZE, mem, loop);
	if (err) {
		free(vs);
		return err;
	}
	vs->config.guest_cid = htole64(vc->cid);
	if (vc->uds_path)
		err = vsock_mux_init(&vs->mux, vc->uds_path, loop, vs);
	else
		err = vsock_vhost_open(vs, vc->vhost_device, loop);
	if (err) {
		destroy(&vs->vdev);
		return err;
	}
	*out = vs;
	return 0;
}

int virtio_vsock_create_all(struct vm *vm)
{
	const struct vsock_config *vc = &vm->cfg->vsock;
	struct virtio_vsock *vs;
	int err;

	if (!vc->enabled)
		return 0;
	err = virtio_vsock_create(vc, &vm->mem, &vm->loop, &vs);
	if (err)
		return err;
	err = vm_attach_virtio(vm, &vs->vdev);
	if (err)
		destroy(&vs->vdev);
	return err;
}
