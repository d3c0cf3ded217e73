/*
 * The virtio-net data path between the guest's queues and the tap
 * (virtio 1.x sections 5.1.6.2 "Packet Transmission" and 5.1.6.3-4
 * "Receiving Packets"); the design is in virtio_net.h. Everything here runs
 * on the event-loop thread with the device lock held.
 *
 * The receive "stream" of a frame is the header then the frame, laid over
 * the held chains' writable bytes in order and then the bounce buffer:
 * stream byte s is held byte s when s < held_bytes, else bounce[s -
 * held_bytes]. A tap without the virtio-net header reads the frame at
 * stream byte 12; Cove then writes the header itself.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/log.h"
#include "devices/virtio_net/virtio_net.h"

#define RX_MIN_NEED (VIRTIO_NET_HDR_LEN + 1518) /* header + a full-size VLAN frame */

enum rx_state { RX_AGAIN, RX_EMPTY, RX_NOBUF, RX_BROKEN };

static bool has(const struct virtio_net *net, unsigned int bit)
{
	return virtio_dev_has_feature(&net->vdev, bit);
}

static size_t hdr_skip(const struct virtio_net *net)
{
	return net->tap.vnet_hdr ? 0 : VIRTIO_NET_HDR_LEN;
}

/* dst = src without its first `skip` bytes; returns the entries written. */
static unsigned int iov_slice(const struct iovec *src, unsigned int n, size_t skip,
			      struct iovec *dst)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (skip >= src[i].iov_len) {
			skip -= src[i].iov_len;
			continue;
		}
		dst[k].iov_base = (char *)src[i].iov_base + skip;
		dst[k].iov_len = src[i].iov_len - skip;
		skip = 0;
		k++;
	}
	return k;
}

/* Copies `len` bytes from `src` into the iovecs at byte `off`; stops at their end. */
static void iov_copy_in(const struct iovec *iov, unsigned int n, size_t off, const void *src,
			size_t len)
{
	const char *p = src;

	for (unsigned int i = 0; i < n && len; i++) {
		size_t chunk;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		chunk = MIN(len, iov[i].iov_len - off);
		memcpy((char *)iov[i].iov_base + off, p, chunk);
		p += chunk;
		len -= chunk;
		off = 0;
	}
}

/* Reads stream bytes [off, off + len) of the frame just received. */
static void stream_read(const struct virtio_net_rxq *rq, size_t off, void *dst, size_t len)
{
	uint8_t *d = dst;

	for (size_t i = 0; i < len; i++, off++) {
		if (off >= rq->held_bytes) {
			d[i] = rq->bounce[off - rq->held_bytes];
			continue;
		}
		for (unsigned int k = 0, o = (unsigned int)off; k < rq->n_iov; k++) {
			if (o < rq->iov[k].iov_len) {
				d[i] = ((const uint8_t *)rq->iov[k].iov_base)[o];
				break;
			}
			o -= (unsigned int)rq->iov[k].iov_len;
		}
	}
}

/* ---- receive ---- */

static uint64_t rx_need(const struct virtio_net *net)
{
	const uint64_t gso = (1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6) |
			     (1ULL << VIRTIO_NET_F_GUEST_UFO);

	if (!has(net, VIRTIO_NET_F_MRG_RXBUF))
		return 1; /* one chain per frame, whatever its size */
	return net->ctrl.guest_offloads & gso ? VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME
					      : RX_MIN_NEED;
}

/*
 * Pops chains until the held ones cover `need` bytes, or the hold limits
 * are reached. Returns 1 when it stopped for either reason, 0 when the
 * ring ran dry first, -EINVAL on a broken ring.
 */
static int gather(struct virtio_net_rxq *rq, uint64_t need)
{
	struct virtio_net *net = rq->net;
	struct virtq *vq = &net->vdev.queues[2 * rq->pair];
	unsigned int max_held = has(net, VIRTIO_NET_F_MRG_RXBUF) ? VIRTIO_NET_RX_HOLD : 1;
	struct virtq_chain *c = &net->chain;

	while (rq->held_bytes < need && rq->n_held < max_held &&
	       rq->n_iov + vq->size <= VIRTIO_NET_RX_IOV) {
		int r = virtq_pop(vq, c);

		if (r <= 0)
			return r;
		/* Guest-controlled: a buffer must at least hold the header. */
		if (c->in_len < VIRTIO_NET_HDR_LEN) {
			log_guest_once("%s: receive buffer of %u bytes, smaller than the header",
				       net->name, c->in_len);
			virtq_push(vq, c->head, 0);
			continue;
		}
		memcpy(&rq->iov[rq->n_iov], &c->iov[c->n_out], c->n_in * sizeof(struct iovec));
		rq->held[rq->n_held++] = (struct virtio_net_held){c->head, c->n_in, c->in_len};
		rq->n_iov += c->n_in;
		rq->held_bytes += c->in_len;
	}
	return 1;
}

/*
 * Returns the first k held chains (the frame of `total` stream bytes) as
 * used. The header is complete before any chain is returned, and the k
 * chains appear to the driver together: once it sees a buffer, Cove never
 * writes into it again (the driver may already have reused its memory).
 */
static void complete(struct virtio_net_rxq *rq, uint32_t total)
{
	struct virtio_net *net = rq->net;
	struct virtq *vq = &net->vdev.queues[2 * rq->pair];
	struct virtio_net_hdr_v1 hdr = {0};
	uint16_t heads[VIRTIO_NET_RX_HOLD];
	uint32_t lens[VIRTIO_NET_RX_HOLD];
	unsigned int k = 0, iovs = 0;
	uint64_t done = 0;
	uint16_t nbuf;

	while (done < total) { /* total <= held_bytes: k stays below n_held */
		heads[k] = rq->held[k].head;
		lens[k] = (uint32_t)MIN((uint64_t)rq->held[k].len, total - done);
		done += rq->held[k].len;
		iovs += rq->held[k].n_iov;
		k++;
	}
	nbuf = htole16((uint16_t)k);
	if (!net->tap.vnet_hdr)
		iov_copy_in(rq->iov, rq->n_iov, 0, &hdr, VIRTIO_NET_HDR_LEN);
	iov_copy_in(rq->iov, rq->n_iov, offsetof(struct virtio_net_hdr_v1, num_buffers), &nbuf, 2);
	virtq_push_batch(vq, heads, lens, k);
	memmove(rq->held, rq->held + k, (rq->n_held - k) * sizeof(rq->held[0]));
	memmove(rq->iov, rq->iov + iovs, (rq->n_iov - iovs) * sizeof(rq->iov[0]));
	rq->n_held -= k;
	rq->n_iov -= iovs;
	rq->held_bytes -= done;
	net->stats.rx_frames++;
}

/*
 * The frame in the bounce buffer waits for more chains. Returns true when
 * it is done with (delivered, or dropped because it can never fit), false
 * while it must wait for the guest's buffers.
 */
static bool finish_pending(struct virtio_net_rxq *rq, bool *pushed, bool *broken)
{
	struct virtio_net *net = rq->net;
	int r = gather(rq, rq->pend_len);

	if (r < 0) {
		*broken = true;
		return false;
	}
	if (rq->held_bytes < rq->pend_len) {
		if (r == 0)
			return false;
		rq->pending = false;
		net->stats.rx_dropped++;
		log_guest_once("%s: a %u-byte frame does not fit %u receive buffers: dropped",
			       net->name, rq->pend_len, rq->n_held);
		return true;
	}
	iov_copy_in(rq->iov, rq->n_iov, rq->pend_at, rq->bounce, rq->pend_len - rq->pend_at);
	rq->pending = false;
	complete(rq, rq->pend_len);
	*pushed = true;
	return true;
}

static enum rx_state rx_read(struct virtio_net_rxq *rq, ssize_t *got)
{
	struct iovec rd[VIRTIO_NET_RX_IOV + 1];
	unsigned int n = iov_slice(rq->iov, rq->n_iov, hdr_skip(rq->net), rd);

	rd[n].iov_base = rq->bounce;
	rd[n].iov_len = VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME;
	do {
		*got = readv(rq->fd, rd, (int)n + 1);
	} while (*got < 0 && errno == EINTR);
	if (*got >= 0)
		return RX_AGAIN;
	if (errno != EAGAIN)
		log_warn("%s: reading tap %s: %s", rq->net->name, rq->net->tap.name,
			 strerror(errno));
	return RX_EMPTY;
}

static enum rx_state rx_one(struct virtio_net_rxq *rq, bool *pushed)
{
	struct virtio_net *net = rq->net;
	uint8_t dst[6];
	uint32_t total;
	ssize_t got;
	enum rx_state st;
	int r = gather(rq, rx_need(net));

	if (r < 0)
		return RX_BROKEN;
	if (rq->n_held == 0)
		return RX_NOBUF;
	st = rx_read(rq, &got);
	if (st != RX_AGAIN)
		return st;
	total = (uint32_t)got + (uint32_t)hdr_skip(net);
	if (total < VIRTIO_NET_HDR_LEN + VIRTIO_NET_ETH_HLEN) {
		net->stats.rx_dropped++; /* a runt: nothing a guest could use */
		return RX_AGAIN;
	}
	stream_read(rq, VIRTIO_NET_HDR_LEN, dst, sizeof(dst));
	if (!virtio_net_filter_accept(&net->ctrl.filter, dst)) {
		net->stats.rx_filtered++; /* the held chains wait for the next frame */
		return RX_AGAIN;
	}
	if (total <= rq->held_bytes) {
		complete(rq, total);
		*pushed = true;
		return RX_AGAIN;
	}
	if (!has(net, VIRTIO_NET_F_MRG_RXBUF)) {
		net->stats.rx_dropped++;
		log_guest_once(
		    "%s: a %u-byte frame does not fit a %llu-byte receive buffer: dropped",
		    net->name, total, (unsigned long long)rq->held_bytes);
		return RX_AGAIN;
	}
	rq->pending = true;
	rq->pend_at = (uint32_t)rq->held_bytes;
	rq->pend_len = total;
	return RX_AGAIN;
}

void virtio_net_io_rx(struct virtio_net_rxq *rq)
{
	struct virtio_net *net = rq->net;
	enum rx_state st = RX_AGAIN;
	bool pushed = false, broken = false;

	for (unsigned int i = 0; i < VIRTIO_NET_RX_BUDGET && st == RX_AGAIN; i++) {
		if (rq->pending)
			st = finish_pending(rq, &pushed, &broken) ? RX_AGAIN : RX_NOBUF;
		else
			st = rx_one(rq, &pushed);
		if (broken)
			st = RX_BROKEN;
	}
	if (pushed)
		virtio_dev_notify(&net->vdev, 2 * rq->pair);
	if (st == RX_BROKEN) {
		virtio_dev_set_needs_reset(&net->vdev, "broken receive queue");
		virtio_net_io_watch(rq, false);
		return;
	}
	/* No buffers: leave the frames in the tap until the guest gives some. */
	virtio_net_io_watch(rq, st != RX_NOBUF);
}

void virtio_net_io_drop_held(struct virtio_net_rxq *rq)
{
	rq->n_held = 0;
	rq->n_iov = 0;
	rq->held_bytes = 0;
	rq->pending = false;
}

static void on_tap(void *opaque, uint32_t events)
{
	struct virtio_net_rxq *rq = opaque;
	struct virtio_net *net = rq->net;

	(void)events;
	pthread_mutex_lock(&net->vdev.lock);
	if (virtio_dev_running(&net->vdev) && rq->pair < net->ctrl.curr_pairs &&
	    net->vdev.queues[2 * rq->pair].enabled)
		virtio_net_io_rx(rq);
	else
		virtio_net_io_watch(rq, false);
	pthread_mutex_unlock(&net->vdev.lock);
}

void virtio_net_io_watch(struct virtio_net_rxq *rq, bool on)
{
	struct virtio_net *net = rq->net;
	int err;

	if (on == rq->watching || !net->vdev.loop)
		return;
	if (!on) {
		event_loop_remove(net->vdev.loop, rq->fd);
		rq->watching = false;
		return;
	}
	err = event_loop_add(net->vdev.loop, rq->fd, EPOLLIN, on_tap, rq);
	if (err) {
		log_error("%s: cannot watch tap %s: %s", net->name, net->tap.name, strerror(-err));
		return;
	}
	rq->watching = true;
}

/* ---- transmit ---- */

/* Sends one chain's frame. Returns 0, or -EINVAL if it has no whole header. */
static int tx_one(struct virtio_net *net, unsigned int pair, const struct virtq_chain *c)
{
	struct iovec wv[VIRTQ_MAX_SIZE + 1];
	struct virtio_net_hdr_v1 in, out;
	enum virtio_net_tx_verdict v;
	unsigned int n = 0;
	ssize_t r;

	/* Guest-controlled: the whole chain. The header is copied once, then checked. */
	if (c->out_len < VIRTIO_NET_HDR_LEN)
		return -EINVAL;
	(void)virtq_chain_read(c, 0, &in, sizeof(in));
	v = virtio_net_hdr_check_tx(&in, c->out_len - VIRTIO_NET_HDR_LEN, net->vdev.features, &out);
	if (v != VIRTIO_NET_TX_OK) {
		net->stats.tx_dropped++;
		log_guest_once("%s: transmit frame dropped: %s", net->name,
			       virtio_net_tx_verdict_name(v));
		return 0;
	}
	if (net->tap.vnet_hdr)
		wv[n++] = (struct iovec){&out, sizeof(out)};
	n += iov_slice(c->iov, c->n_out, VIRTIO_NET_HDR_LEN, wv + n);
	do {
		r = writev(net->tap.fds[pair], wv, (int)n);
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		net->stats.tx_dropped++; /* tap down (EIO) or out of memory: as a wire would */
		log_debug("%s: writing tap %s: %s", net->name, net->tap.name, strerror(errno));
	} else {
		net->stats.tx_frames++;
	}
	return 0;
}

void virtio_net_io_tx(struct virtio_net *net, unsigned int pair)
{
	struct virtq *vq = &net->vdev.queues[2 * pair + 1];
	bool pushed = false;
	unsigned int i;

	for (i = 0; i < VIRTIO_NET_TX_BUDGET; i++) {
		int r = virtq_pop(vq, &net->chain);

		if (r == 0)
			break;
		if (r < 0 || tx_one(net, pair, &net->chain) < 0) {
			virtio_dev_set_needs_reset(&net->vdev,
						   r < 0 ? "broken transmit queue"
							 : "transmit chain without a header");
			return;
		}
		virtq_push(vq, net->chain.head, 0);
		pushed = true;
	}
	if (pushed)
		virtio_dev_notify(&net->vdev, 2 * pair + 1);
	if (i == VIRTIO_NET_TX_BUDGET) {
		/* More may wait: come back after the other handlers had a turn. */
		uint64_t one = 1;

		net->tx_more |= 1u << pair;
		if (write(net->work_fd, &one, sizeof(one)) < 0)
			log_warn("%s: cannot schedule transmit work: %s", net->name,
				 strerror(errno));
	}
}
