/*
 * Unit tests for the virtio-net device and its data path. A datagram
 * socketpair stands in for the tap (it keeps frame boundaries, as a tap
 * fd does); the guest's side is virtq_driver, the transport a fake that
 * counts interrupts. Covered: transmit with the header checked, dropped
 * and broken chains, receive with and without mergeable buffers, frames
 * waiting for buffers instead of being lost, frames spilling over more
 * buffers than were posted, the receive filter, the control queue.
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/virtio_net/virtio_net.h"
#include "virtio/virtio_test_transport.h"
#include "virtio/virtq_driver.h"

#define QSIZE 64
#define F(bit) (1ULL << (bit))
#define NQ 3

struct fx {
	struct guest_mem gm;
	struct virtio_net *net;
	struct virtq_driver drv[NQ];
	int peer; /* the host side of the "tap" */
	struct virtio_test_transport tt; /* counts the interrupts */
};

static const uint8_t guest_mac[6] = {0x52, 0x54, 0, 0xaa, 0xbb, 0xcc};

static struct fx *fx_new(uint64_t features, bool mrg)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct net_config nc = {.tap_fd = -1, .vq_pairs = 1, .has_mac = true, .mrg_rxbuf = mrg};
	struct tap tap;
	struct virtio_device *vdev;
	struct virtio_test_rings rings = {.gpa = 0x10000, .span = 0x200000, .size = QSIZE};
	bool running;
	int sv[2], err;

	assert_non_null(f);
	memcpy(nc.mac, guest_mac, 6);
	guest_mem_init(&f->gm);
	assert_int_equal(guest_mem_add(&f->gm, 0, 8 << 20), 0);
	rings.mem = &f->gm;
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv), 0);
	memset(&tap, 0, sizeof(tap));
	for (int i = 0; i < TAP_MAX_QUEUES; i++)
		tap.fds[i] = -1;
	strcpy(tap.name, "fake0");
	tap.fds[0] = sv[0];
	tap.num_queues = 1;
	tap.vnet_hdr = true;
	tap.owned = true;
	f->peer = sv[1];
	assert_int_equal(virtio_net_create_on(&nc, &tap, &f->gm, NULL, &f->net), 0);
	vdev = &f->net->vdev;
	virtio_test_transport_attach(vdev, &f->tt);
	pthread_mutex_lock(&vdev->lock);
	features |= F(VIRTIO_F_VERSION_1) | (mrg ? F(VIRTIO_NET_F_MRG_RXBUF) : 0);
	err = virtio_test_start(vdev, features, f->drv, NQ, &rings);
	running = virtio_dev_running(vdev);
	pthread_mutex_unlock(&vdev->lock);
	assert_int_equal(err, 0);
	assert_true(running);
	return f;
}

static void fx_free(struct fx *f)
{
	struct virtio_device *vdev = &f->net->vdev;

	virtio_test_reset(vdev);
	vdev->ops->destroy(vdev);
	close(f->peer);
	guest_mem_destroy(&f->gm);
	free(f);
}

static void kick(struct fx *f, unsigned int q)
{
	virtio_test_kick(&f->net->vdev, q);
}

/* What the tap's readiness callback does. */
static void tap_ready(struct fx *f)
{
	pthread_mutex_lock(&f->net->vdev.lock);
	virtio_net_io_rx(&f->net->rxq[0]);
	pthread_mutex_unlock(&f->net->vdev.lock);
}

static void *gptr(struct fx *f, uint64_t gpa, size_t len)
{
	void *p = guest_mem_ptr(&f->gm, gpa, len);

	assert_non_null(p);
	return p;
}

/* Posts `n` receive buffers of `len` bytes; their addresses go to gpas. */
static void post_rx(struct fx *f, unsigned int n, uint32_t len, uint64_t *gpas)
{
	for (unsigned int i = 0; i < n; i++) {
		uint64_t gpa = virtq_driver_alloc(&f->drv[0], len);
		struct virtq_driver_seg seg = {gpa, len, true};

		assert_true(gpa != 0);
		assert_true(virtq_driver_add(&f->drv[0], &seg, 1, false) >= 0);
		if (gpas)
			gpas[i] = gpa;
	}
}

/* A frame of `len` bytes to `dst`, byte i of the payload = i * 7. */
static void frame(uint8_t *p, size_t len, const uint8_t dst[6])
{
	memcpy(p, dst, 6);
	memcpy(p + 6, "\x02\x00\x00\x00\x00\x01\x08\x00", 8);
	for (size_t i = 14; i < len; i++)
		p[i] = (uint8_t)(i * 7);
}

/* The host sends one frame with a zero header (as the tap would). */
static void host_send(struct fx *f, size_t len, const uint8_t dst[6])
{
	uint8_t *buf = calloc(1, VIRTIO_NET_HDR_LEN + len);

	frame(buf + VIRTIO_NET_HDR_LEN, len, dst);
	assert_int_equal(send(f->peer, buf, VIRTIO_NET_HDR_LEN + len, 0),
			 (ssize_t)(VIRTIO_NET_HDR_LEN + len));
	free(buf);
}

static int used(struct fx *f, unsigned int q, struct vring_used_elem *e)
{
	int r = virtq_driver_get_used(&f->drv[q], e);

	assert_true(r >= 0);
	return r;
}

/* ---- shape ---- */

static void test_shape_and_config(void **state)
{
	struct fx *f = fx_new(0, false);
	struct virtio_device *vdev = &f->net->vdev;
	uint8_t cfg[10];

	(void)state;
	assert_int_equal(vdev->device_id, 1);
	assert_int_equal(vdev->num_queues, 3);
	assert_int_equal(vdev->config_size, 10);
	assert_true(vdev->host_features & F(VIRTIO_NET_F_MAC));
	assert_true(vdev->host_features & F(VIRTIO_NET_F_CSUM));
	assert_true(vdev->host_features & F(VIRTIO_NET_F_HOST_TSO4));
	assert_false(vdev->host_features & F(VIRTIO_NET_F_GUEST_CSUM)); /* tap offered none */
	assert_false(vdev->host_features & F(VIRTIO_NET_F_MQ));
	assert_false(vdev->host_features & F(VIRTIO_NET_F_MRG_RXBUF));
	for (unsigned int i = 0; i < sizeof(cfg); i++)
		vdev->ops->config_read(vdev, i, &cfg[i], 1);
	assert_memory_equal(cfg, guest_mac, 6);
	assert_int_equal(cfg[6], VIRTIO_NET_S_LINK_UP);
	assert_int_equal(cfg[8], 1); /* max_virtqueue_pairs */
	fx_free(f);
}

/* ---- transmit ---- */

static uint64_t add_tx(struct fx *f, const struct virtio_net_hdr_v1 *h, size_t flen, bool split)
{
	uint64_t hg = virtq_driver_alloc(&f->drv[1], VIRTIO_NET_HDR_LEN + (uint32_t)flen);
	uint8_t *p = gptr(f, hg, VIRTIO_NET_HDR_LEN + flen);
	struct virtq_driver_seg segs[3] = {
	    {hg, 5, false},
	    {hg + 5, VIRTIO_NET_HDR_LEN - 5 + 20, false},
	    {hg + VIRTIO_NET_HDR_LEN + 20, (uint32_t)flen - 20, false}};

	memcpy(p, h, VIRTIO_NET_HDR_LEN);
	frame(p + VIRTIO_NET_HDR_LEN, flen, guest_mac);
	if (split) {
		assert_true(virtq_driver_add(&f->drv[1], segs, 3, false) >= 0);
	} else {
		segs[0].len = VIRTIO_NET_HDR_LEN + (uint32_t)flen;
		assert_true(virtq_driver_add(&f->drv[1], segs, 1, false) >= 0);
	}
	return hg;
}

static void test_tx_frames_reach_the_tap(void **state)
{
	struct fx *f = fx_new(F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4), false);
	struct virtio_net_hdr_v1 h = {.flags = 1 | 2,
				      .csum_start = htole16(34),
				      .csum_offset = htole16(16),
				      .num_buffers = htole16(9)};
	struct vring_used_elem e;
	uint8_t buf[2000], want[100];

	(void)state;
	add_tx(f, &h, 100, true);
	add_tx(f, &(struct virtio_net_hdr_v1){0}, 60, false);
	kick(f, 1);
	assert_int_equal(recv(f->peer, buf, sizeof(buf), 0), VIRTIO_NET_HDR_LEN + 100);
	assert_int_equal(buf[0], 1);		/* DATA_VALID cleared */
	assert_int_equal(buf[10] | buf[11], 0); /* num_buffers zeroed */
	frame(want, 100, guest_mac);
	assert_memory_equal(buf + VIRTIO_NET_HDR_LEN, want, 100);
	assert_int_equal(recv(f->peer, buf, sizeof(buf), 0), VIRTIO_NET_HDR_LEN + 60);
	assert_int_equal(used(f, 1, &e), 1);
	assert_int_equal(e.len, 0);
	assert_int_equal(used(f, 1, &e), 1);
	assert_int_equal(f->tt.queue_irqs[1], 1);
	assert_int_equal(f->net->stats.tx_frames, 2);
	fx_free(f);
}

static void test_tx_bad_header_drops_only_that_frame(void **state)
{
	struct fx *f = fx_new(F(VIRTIO_NET_F_CSUM), false);
	struct virtio_net_hdr_v1 tso = {.flags = 1,
					.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
					.gso_size = htole16(1448),
					.csum_start = htole16(34),
					.csum_offset = htole16(16)};
	struct vring_used_elem e;
	uint8_t buf[2000];

	(void)state;
	add_tx(f, &tso, 100, false);			      /* HOST_TSO4 not negotiated */
	add_tx(f, &(struct virtio_net_hdr_v1){0}, 10, false); /* runt */
	add_tx(f, &(struct virtio_net_hdr_v1){0}, 60, false);
	kick(f, 1);
	assert_int_equal(recv(f->peer, buf, sizeof(buf), 0), VIRTIO_NET_HDR_LEN + 60);
	assert_int_equal(recv(f->peer, buf, sizeof(buf), 0), -1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(used(f, 1, &e), 1);
	assert_int_equal(f->net->stats.tx_dropped, 2);
	assert_true(virtio_dev_running(&f->net->vdev));
	fx_free(f);
}

static void test_tx_chain_without_header_needs_reset(void **state)
{
	struct fx *f = fx_new(0, false);
	uint64_t g = virtq_driver_alloc(&f->drv[1], 8);
	struct virtq_driver_seg seg = {g, 8, false};

	(void)state;
	assert_true(virtq_driver_add(&f->drv[1], &seg, 1, false) >= 0);
	kick(f, 1);
	assert_true(f->net->vdev.needs_reset);
	assert_int_equal(f->tt.config_irqs, 1);
	fx_free(f);
}

/* ---- receive ---- */

static void test_rx_one_buffer_per_frame(void **state)
{
	struct fx *f = fx_new(0, false);
	struct vring_used_elem e;
	uint64_t gpa[2];
	uint8_t want[300];
	const uint8_t *p;

	(void)state;
	post_rx(f, 2, VIRTIO_NET_HDR_LEN + 1518, gpa);
	host_send(f, 300, guest_mac);
	host_send(f, 60, guest_mac);
	tap_ready(f);
	assert_int_equal(used(f, 0, &e), 1);
	assert_int_equal(e.len, VIRTIO_NET_HDR_LEN + 300);
	p = gptr(f, gpa[0], VIRTIO_NET_HDR_LEN + 300);
	assert_int_equal(le16toh(*(const uint16_t *)(p + 10)), 1); /* num_buffers */
	frame(want, 300, guest_mac);
	assert_memory_equal(p + VIRTIO_NET_HDR_LEN, want, 300);
	assert_int_equal(used(f, 0, &e), 1);
	assert_int_equal(e.len, VIRTIO_NET_HDR_LEN + 60);
	assert_int_equal(f->tt.queue_irqs[0], 1);
	fx_free(f);
}

static void test_rx_waits_for_buffers_instead_of_dropping(void **state)
{
	struct fx *f = fx_new(0, false);
	struct vring_used_elem e;

	(void)state;
	host_send(f, 100, guest_mac);
	host_send(f, 200, guest_mac);
	tap_ready(f); /* no buffers: nothing read */
	assert_int_equal(used(f, 0, &e), 0);
	assert_int_equal(f->net->stats.rx_dropped, 0);
	post_rx(f, 1, 2048, NULL);
	kick(f, 0); /* the driver's kick resumes reading */
	assert_int_equal(used(f, 0, &e), 1);
	assert_int_equal(e.len, VIRTIO_NET_HDR_LEN + 100);
	assert_int_equal(used(f, 0, &e), 0);
	post_rx(f, 1, 2048, NULL);
	kick(f, 0);
	assert_int_equal(used(f, 0, &e), 1);
	assert_int_equal(e.len, VIRTIO_NET_HDR_LEN + 200);
	assert_int_equal(f->net->stats.rx_frames, 2);
	fx_free(f);
}

static void test_rx_too_big_for_buffer_is_dropped_and_buffer_reused(void **state)
{
	struct fx *f = fx_new(0, false);
	struct vring_used_elem e;

	(void)state;
	post_rx(f, 1, 512, NULL);
	host_send(f, 1000, guest_mac);
	host_send(f, 100, guest_mac);
	tap_ready(f);
	assert_int_equal(f->net->stats.rx_dropped, 1);
	assert_int_equal(used(f, 0, &e), 1);
	assert_int_equal(e.len, VIRTIO_NET_HDR_LEN + 100);
	fx_free(f);
}

static void test_rx_mergeable_spans_buffers(void **state)
{
	struct fx *f = fx_new(0, true);
	struct vring_used_elem e;
	uint64_t gpa[4];
	uint8_t want[4000], got[4000];
	size_t off = 0;

	(void)state;
	post_rx(f, 4, 1536, gpa);
	host_send(f, 4000, guest_mac);
	tap_ready(f);
	for (int i = 0; i < 3; i++) {
		const uint8_t *p = gptr(f, gpa[i], 1536);
		size_t skip = i == 0 ? VIRTIO_NET_HDR_LEN : 0;

		assert_int_equal(used(f, 0, &e), 1);
		assert_int_equal(e.len, i < 2 ? 1536 : VIRTIO_NET_HDR_LEN + 4000 - 2 * 1536);
		memcpy(got + off, p + skip, e.len - skip);
		off += e.len - skip;
	}
	assert_int_equal(le16toh(*(const uint16_t *)gptr(f, gpa[0] + 10, 2)), 3);
	frame(want, 4000, guest_mac);
	assert_memory_equal(got, want, 4000);
	assert_int_equal(used(f, 0, &e), 0); /* the fourth is still held */
	fx_free(f);
}

static void test_rx_mergeable_frame_waits_for_more_buffers(void **state)
{
	struct fx *f = fx_new(0, true);
	struct vring_used_elem e;
	uint64_t gpa[4];
	uint8_t want[5000];

	(void)state;
	post_rx(f, 2, 1536, gpa);
	host_send(f, 5000, guest_mac);
	host_send(f, 64, guest_mac);
	tap_ready(f);
	assert_int_equal(used(f, 0, &e), 0); /* 3072 bytes posted, 5012 needed */
	post_rx(f, 2, 1536, gpa + 2);
	kick(f, 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(used(f, 0, &e), 1);
		assert_int_equal(e.id, i);
	}
	frame(want, 5000, guest_mac);
	assert_memory_equal(gptr(f, gpa[3], 5012 - 3 * 1536),
			    want + 4 * 1536 - VIRTIO_NET_HDR_LEN - 1536, 5012 - 3 * 1536);
	assert_int_equal(le16toh(*(const uint16_t *)gptr(f, gpa[0] + 10, 2)), 4);
	assert_int_equal(f->net->stats.rx_dropped, 0);
	fx_free(f);
}

/* ---- control queue and filter ---- */

static uint8_t ctrl(struct fx *f, const uint8_t *cmd, uint32_t len)
{
	uint64_t c = virtq_driver_alloc(&f->drv[2], len), a = virtq_driver_alloc(&f->drv[2], 1);
	struct virtq_driver_seg segs[2] = {{c, len, false}, {a, 1, true}};
	struct vring_used_elem e;

	memcpy(gptr(f, c, len), cmd, len);
	*(uint8_t *)gptr(f, a, 1) = 0xee;
	assert_true(virtq_driver_add(&f->drv[2], segs, 2, false) >= 0);
	kick(f, 2);
	assert_int_equal(used(f, 2, &e), 1);
	assert_int_equal(e.len, 1);
	return *(uint8_t *)gptr(f, a, 1);
}

static void test_ctrl_and_filter(void **state)
{
	struct fx *f = fx_new(F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX) |
				  F(VIRTIO_NET_F_CTRL_MAC_ADDR),
			      false);
	static const uint8_t other[6] = {0x52, 0x54, 0, 1, 1, 1};
	const uint8_t promisc_off[] = {VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 0};
	const uint8_t bogus[] = {9, 9, 9};
	struct vring_used_elem e;
	uint8_t mac[6];

	(void)state;
	assert_int_equal(ctrl(f, promisc_off, sizeof(promisc_off)), VIRTIO_NET_OK);
	assert_int_equal(ctrl(f, bogus, sizeof(bogus)), VIRTIO_NET_ERR);
	post_rx(f, 1, 2048, NULL);
	host_send(f, 100, other);
	host_send(f, 80, guest_mac);
	tap_ready(f);
	assert_int_equal(used(f, 0, &e), 1);
	assert_int_equal(e.len, VIRTIO_NET_HDR_LEN + 80);
	assert_int_equal(f->net->stats.rx_filtered, 1);
	/* A new address shows in the configuration space. */
	const uint8_t set[] = {VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, 2, 0, 0, 0, 0, 5};
	assert_int_equal(ctrl(f, set, sizeof(set)), VIRTIO_NET_OK);
	for (unsigned int i = 0; i < 6; i++)
		f->net->vdev.ops->config_read(&f->net->vdev, i, &mac[i], 1);
	assert_memory_equal(mac, set + 2, 6);
	fx_free(f);
}

static void test_ctrl_chain_without_ack_needs_reset(void **state)
{
	struct fx *f = fx_new(F(VIRTIO_NET_F_CTRL_VQ), false);
	uint64_t c = virtq_driver_alloc(&f->drv[2], 4);
	struct virtq_driver_seg seg = {c, 4, false};

	(void)state;
	assert_true(virtq_driver_add(&f->drv[2], &seg, 1, false) >= 0);
	kick(f, 2);
	assert_true(f->net->vdev.needs_reset);
	fx_free(f);
}

static void test_reset_forgets_held_chains(void **state)
{
	struct fx *f = fx_new(0, true);
	struct virtio_device *vdev = &f->net->vdev;

	(void)state;
	post_rx(f, 3, 1536, NULL);
	host_send(f, 5000, guest_mac); /* spills: pending */
	tap_ready(f);
	assert_true(f->net->rxq[0].pending);
	pthread_mutex_lock(&vdev->lock);
	virtio_dev_reset(vdev);
	pthread_mutex_unlock(&vdev->lock);
	assert_false(f->net->rxq[0].pending);
	assert_int_equal(f->net->rxq[0].n_held, 0);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shape_and_config),
	    cmocka_unit_test(test_tx_frames_reach_the_tap),
	    cmocka_unit_test(test_tx_bad_header_drops_only_that_frame),
	    cmocka_unit_test(test_tx_chain_without_header_needs_reset),
	    cmocka_unit_test(test_rx_one_buffer_per_frame),
	    cmocka_unit_test(test_rx_waits_for_buffers_instead_of_dropping),
	    cmocka_unit_test(test_rx_too_big_for_buffer_is_dropped_and_buffer_reused),
	    cmocka_unit_test(test_rx_mergeable_spans_buffers),
	    cmocka_unit_test(test_rx_mergeable_frame_waits_for_more_buffers),
	    cmocka_unit_test(test_ctrl_and_filter),
	    cmocka_unit_test(test_ctrl_chain_without_ack_needs_reset),
	    cmocka_unit_test(test_reset_forgets_held_chains),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
