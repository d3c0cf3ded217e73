/*
 * Fuzz target: a hostile virtio-net driver (virtio 1.x section 5.1) and a
 * hostile wire.
 *
 * Every input is first given whole to the parsers: the transmit header
 * check (its first 12 bytes as the header, the rest as the frame, the
 * features from bytes 12-19) and the control command handler (whose state
 * must stay within its bounds). Then it is replayed as a session against a
 * real device over a datagram socketpair standing in for the tap, one
 * record after another:
 *
 *   op % 6 == 0  transmit: len = next * 2 bytes follow (header + frame),
 *                in one to three segments; kick
 *   op % 6 == 1  post a receive buffer of next * 24 bytes (0..6120), kick
 *   op % 6 == 2  the wire delivers len = next * 4 bytes (header + frame)
 *   op % 6 == 3  control command of next % 64 bytes; no ack byte if next & 64
 *   op % 6 == 4  reset and restart; feature bits from next
 *   op % 6 == 5  kick queue next % 5 (one past the last included)
 *
 * Checked: used lengths within what was posted (virtq_driver_get_used),
 * every frame that reaches the tap carries a header the check accepts,
 * the filter/pair state stays in range, nothing crashes or leaks.
 */
#include <endian.h>
#include <linux/virtio_config.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/virtio_net/virtio_net.h"
#include "fuzz.h"
#include "harness.h"
#include "virtio/virtio_test_transport.h"
#include "virtio/virtq_driver.h"

#define NQ 3
#define QSIZE 32
#define RING_SPAN 0x40000ULL

struct session {
	struct virtio_test_transport irqs; /* interrupts are only counted */
	struct guest_mem gm;
	struct virtio_net *net;
	struct virtq_driver drv[NQ];
	int peer;
	uint64_t features;
};

static void check_parsers(const uint8_t *data, size_t size)
{
	struct virtio_net_hdr_v1 in, out;
	struct virtio_net_ctrl_state st;
	unsigned int changed = 0;
	uint64_t f = 0;
	uint8_t mac[6] = {0x52, 0x54, 0, 0, 0, 1};

	if (size >= sizeof(in)) {
		memcpy(&in, data, sizeof(in));
		if (size >= 20)
			memcpy(&f, data + 12, 8);
		if (virtio_net_hdr_check_tx(&in, (uint32_t)(size - 12), f, &out) ==
			VIRTIO_NET_TX_OK &&
		    (out.flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM))
			abort();
	}
	virtio_net_ctrl_reset(&st, mac, 4, ~0ULL);
	if (virtio_net_ctrl_handle(&st, data, size, f, &changed) > VIRTIO_NET_ERR)
		abort();
	if (st.curr_pairs < 1 || st.curr_pairs > 4 || st.filter.n_uni > VIRTIO_NET_MAC_TABLE_MAX ||
	    st.filter.n_multi > VIRTIO_NET_MAC_TABLE_MAX)
		abort();
	if (size >= 6)
		(void)virtio_net_filter_accept(&st.filter, data);
}

static struct session *session_get(void)
{
	static struct session *s;
	struct net_config nc = {.tap_fd = -1, .vq_pairs = 1, .mrg_rxbuf = true};
	struct tap tap;
	int sv[2];

	if (s)
		return s;
	s = fuzz_session_new(sizeof(*s));
	fuzz_guest_ram(&s->gm, 4 * 1024 * 1024);
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		abort();
	memset(&tap, 0, sizeof(tap));
	for (int i = 0; i < TAP_MAX_QUEUES; i++)
		tap.fds[i] = -1;
	strcpy(tap.name, "fuzz0");
	tap.fds[0] = sv[0];
	tap.num_queues = 1;
	tap.vnet_hdr = true;
	tap.owned = true;
	s->peer = sv[1];
	if (virtio_net_create_on(&nc, &tap, &s->gm, NULL, &s->net))
		abort();
	virtio_test_transport_attach(&s->net->vdev, &s->irqs);
	return s;
}

/* Reset, then the driver's init sequence up to DRIVER_OK. Lock held. */
static void restart(struct session *s, uint8_t bits)
{
	static const unsigned int choice[8] = {VIRTIO_NET_F_MRG_RXBUF, VIRTIO_NET_F_CSUM,
					       VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_CTRL_VQ,
					       VIRTIO_NET_F_CTRL_RX,   VIRTIO_NET_F_CTRL_MAC_ADDR,
					       VIRTIO_NET_F_HOST_UFO,  VIRTIO_NET_F_HOST_ECN};
	struct virtio_device *vdev = &s->net->vdev;
	uint64_t features = 1ULL << VIRTIO_F_VERSION_1;
	const struct virtio_test_rings rings = {.mem = &s->gm,
						.gpa = 0x1000,
						.span = RING_SPAN,
						.size = QSIZE,
						.event_idx = bits & 1,
						.indirect = !(bits & 2)};

	for (int i = 0; i < 8; i++) {
		if (bits & (1u << i))
			features |= 1ULL << choice[i];
	}
	features &= vdev->host_features;
	virtio_dev_reset(vdev);
	s->features = features;
	if (virtio_test_start(vdev, features, s->drv, NQ, &rings))
		abort();
}

/* Adds a chain of `len` bytes copied from src (NULL: none) in `nseg` pieces. */
static bool add(struct session *s, unsigned int q, const void *src, uint32_t len, bool writable,
		unsigned int nseg, bool ack)
{
	uint64_t gpa = virtq_driver_alloc(&s->drv[q], len + 1);
	struct virtq_driver_seg segs[4];
	uint32_t cut1 = len / 3, cut2 = 2 * len / 3;
	unsigned int n = 0;

	if (!gpa)
		return false;
	if (src && len && guest_mem_write(&s->gm, gpa, src, len))
		abort();
	if (nseg <= 1 || len < 3) {
		segs[n++] = (struct virtq_driver_seg){gpa, len, writable};
	} else {
		segs[n++] = (struct virtq_driver_seg){gpa, cut1, writable};
		segs[n++] = (struct virtq_driver_seg){gpa + cut1, cut2 - cut1, writable};
		segs[n++] = (struct virtq_driver_seg){gpa + cut2, len - cut2, writable};
	}
	if (ack)
		segs[n++] = (struct virtq_driver_seg){gpa + len, 1, true};
	return virtq_driver_add(&s->drv[q], segs, n, false) >= 0;
}

static void kick(struct session *s, unsigned int q)
{
	if (q < s->net->vdev.num_queues && virtio_dev_running(&s->net->vdev) &&
	    s->net->vdev.queues[q].enabled)
		s->net->vdev.ops->queue_notify(&s->net->vdev, q);
}

/* Collects used entries and the frames that reached the tap. */
static void drain(void *opaque)
{
	struct session *s = opaque;
	static uint8_t frame[VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME + 16];
	struct virtio_net_hdr_v1 h, out;
	ssize_t n;

	for (unsigned int q = 0; q < NQ; q++) {
		if (fuzz_collect_used(&s->drv[q]) < 0)
			abort();
	}
	while ((n = recv(s->peer, frame, sizeof(frame), 0)) >= 0) {
		if (n < VIRTIO_NET_HDR_LEN)
			abort();
		memcpy(&h, frame, sizeof(h));
		if (virtio_net_hdr_check_tx(&h, (uint32_t)(n - VIRTIO_NET_HDR_LEN), s->features,
					    &out) != VIRTIO_NET_TX_OK)
			abort();
	}
}

static size_t step(void *opaque, const uint8_t *p, size_t left)
{
	struct session *s = opaque;
	uint8_t op, arg;
	size_t len;

	if (left < 2)
		return 0;
	op = p[0] % 6;
	arg = p[1];
	switch (op) {
	case 0:
		len = MIN((size_t)arg * 2, left - 2);
		if (!add(s, 1, p + 2, (uint32_t)len, false, arg % 3 + 1, false))
			return 0;
		kick(s, 1);
		return 2 + len;
	case 1:
		if (!add(s, 0, NULL, (uint32_t)arg * 24, true, arg % 2 + 1, false))
			return 0;
		kick(s, 0);
		return 2;
	case 2:
		len = MIN((size_t)arg * 4, left - 2);
		if (send(s->peer, p + 2, len, MSG_DONTWAIT) >= 0 &&
		    virtio_dev_running(&s->net->vdev))
			virtio_net_io_rx(&s->net->rxq[0]);
		return 2 + len;
	case 3:
		len = MIN((size_t)(arg % 64), left - 2);
		if (!add(s, 2, p + 2, (uint32_t)len, false, 1, !(arg & 64)))
			return 0;
		kick(s, 2);
		return 2 + len;
	case 4:
		restart(s, arg);
		return 2;
	default:
		kick(s, arg % 5);
		return 2;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session *s = session_get();

	check_parsers(data, size);
	pthread_mutex_lock(&s->net->vdev.lock);
	restart(s, size ? data[0] : 0);
	fuzz_replay_records(s, data, size, step, drain);
	virtio_dev_reset(&s->net->vdev);
	pthread_mutex_unlock(&s->net->vdev.lock);
	return 0;
}
