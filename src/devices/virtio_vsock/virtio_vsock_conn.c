/*
 * vsock connection credit and the ring of guest bytes (virtio 1.x section
 * 5.10.6.3); see virtio_vsock_conn.h. No I/O here.
 */
#include "devices/virtio_vsock/virtio_vsock_conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void vsock_conn_init(struct vsock_conn *c, uint32_t local_port, uint32_t peer_port,
		     enum vsock_conn_state state)
{
	memset(c, 0, sizeof(*c));
	c->local_port = local_port;
	c->peer_port = peer_port;
	c->state = state;
	c->fd = -1;
	c->buf_alloc = VSOCK_BUF_ALLOC;
	c->watch.kind = VSOCK_WATCH_CONN;
	c->watch.obj = c;
}

/* Guest-controlled: both values; a lie only hurts the guest's own stream. */
void vsock_conn_peer_credit_from(struct vsock_conn *c, const struct vsock_pkt *pkt)
{
	c->peer_buf_alloc = pkt->buf_alloc;
	c->peer_fwd_cnt = pkt->fwd_cnt;
}

uint32_t vsock_conn_peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

bool vsock_conn_rx_fits(const struct vsock_conn *c, uint32_t len)
{
	uint32_t unconsumed = c->rx_cnt - c->fwd_cnt;

	return unconsumed <= c->buf_alloc && len <= c->buf_alloc - unconsumed;
}

void vsock_conn_consumed(struct vsock_conn *c, uint32_t n)
{
	c->fwd_cnt += n;
}

bool vsock_conn_credit_update_due(const struct vsock_conn *c)
{
	uint32_t seen_free = c->buf_alloc - (c->rx_cnt - c->fwd_cnt_sent);

	return c->fwd_cnt != c->fwd_cnt_sent && seen_free < c->buf_alloc / 2;
}

void vsock_conn_header(struct vsock_conn *c, uint64_t guest_cid, uint16_t op, uint32_t len,
		       uint32_t flags, struct vsock_pkt *pkt)
{
	*pkt = (struct vsock_pkt){
	    .src_cid = VSOCK_HOST_CID,
	    .dst_cid = guest_cid,
	    .src_port = c->local_port,
	    .dst_port = c->peer_port,
	    .len = len,
	    .type = VIRTIO_VSOCK_TYPE_STREAM,
	    .op = op,
	    .flags = flags,
	    .buf_alloc = c->buf_alloc,
	    .fwd_cnt = c->fwd_cnt,
	};
	c->fwd_cnt_sent = c->fwd_cnt;
	c->owe &= ~(unsigned int)VSOCK_OWE_CREDIT_UPDATE; /* every header carries it */
}

int vsock_conn_ring_put(struct vsock_conn *c, const struct iovec *iov, unsigned int n, uint32_t len)
{
	uint32_t tail;

	if (!c->ring) {
		c->ring = malloc(c->buf_alloc);
		if (!c->ring)
			return -ENOMEM;
	}
	tail = (c->ring_head + c->ring_used) % c->buf_alloc;
	for (unsigned int i = 0; i < n && len; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t left = iov[i].iov_len < len ? iov[i].iov_len : len;

		len -= (uint32_t)left;
		while (left) {
			size_t chunk = c->buf_alloc - tail < left ? c->buf_alloc - tail : left;

			memcpy(c->ring + tail, p, chunk);
			p += chunk;
			left -= chunk;
			c->ring_used += (uint32_t)chunk;
			tail = (uint32_t)((tail + chunk) % c->buf_alloc);
		}
	}
	return 0;
}

unsigned int vsock_conn_ring_peek(const struct vsock_conn *c, struct iovec iov[2])
{
	uint32_t first = c->buf_alloc - c->ring_head;

	if (c->ring_used == 0)
		return 0;
	iov[0].iov_base = c->ring + c->ring_head;
	if (c->ring_used <= first) {
		iov[0].iov_len = c->ring_used;
		return 1;
	}
	iov[0].iov_len = first;
	iov[1].iov_base = c->ring;
	iov[1].iov_len = c->ring_used - first;
	return 2;
}

void vsock_conn_ring_drop(struct vsock_conn *c, uint32_t n)
{
	c->ring_head = (c->ring_head + n) % c->buf_alloc;
	c->ring_used -= n;
	if (c->ring_used == 0)
		c->ring_head = 0;
}

void vsock_conn_release(struct vsock_conn *c)
{
	free(c->ring);
	c->ring = NULL;
	c->ring_used = 0;
}
