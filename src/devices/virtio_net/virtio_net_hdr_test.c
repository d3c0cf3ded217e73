/*
 * Unit tests for the virtio-net transmit header check and receive filter:
 * legal headers pass through cleaned, every kind of bad one is refused.
 */
#include <endian.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devices/virtio_net/virtio_net_hdr.h"

#define F(bit) (1ULL << (bit))
#define ALL_HOST                                                                                   \
	(F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) |            \
	 F(VIRTIO_NET_F_HOST_ECN) | F(VIRTIO_NET_F_HOST_UFO))

static struct virtio_net_hdr_v1 hdr(uint8_t flags, uint8_t gso, uint16_t hdr_len, uint16_t gso_size,
				    uint16_t start, uint16_t off)
{
	struct virtio_net_hdr_v1 h;

	memset(&h, 0, sizeof(h));
	h.flags = flags;
	h.gso_type = gso;
	h.hdr_len = htole16(hdr_len);
	h.gso_size = htole16(gso_size);
	h.csum_start = htole16(start);
	h.csum_offset = htole16(off);
	h.num_buffers = htole16(7);
	return h;
}

static enum virtio_net_tx_verdict check(struct virtio_net_hdr_v1 h, uint32_t len, uint64_t f,
					struct virtio_net_hdr_v1 *out)
{
	return virtio_net_hdr_check_tx(&h, len, f, out);
}

static void test_plain_frame(void **state)
{
	struct virtio_net_hdr_v1 out;

	(void)state;
	assert_int_equal(check(hdr(0, 0, 0, 0, 0, 0), 60, 0, &out), VIRTIO_NET_TX_OK);
	assert_int_equal(out.flags, 0);
	assert_int_equal(out.gso_type, 0);
	assert_int_equal(out.num_buffers, 0);
	/* DATA_VALID and RSC_INFO are not for transmit: cleared. */
	assert_int_equal(check(hdr(6, 0, 0, 0, 0, 0), 60, 0, &out), VIRTIO_NET_TX_OK);
	assert_int_equal(out.flags, 0);
	/* gso_size is meaningless without GSO: zeroed; hdr_len clamped to the frame. */
	assert_int_equal(check(hdr(0, 0, 9000, 1400, 0, 0), 60, 0, &out), VIRTIO_NET_TX_OK);
	assert_int_equal(le16toh(out.gso_size), 0);
	assert_int_equal(le16toh(out.hdr_len), 60);
}

static void test_lengths(void **state)
{
	struct virtio_net_hdr_v1 out;

	(void)state;
	assert_int_equal(check(hdr(0, 0, 0, 0, 0, 0), 13, 0, &out), VIRTIO_NET_TX_SHORT);
	assert_int_equal(check(hdr(0, 0, 0, 0, 0, 0), 0, 0, &out), VIRTIO_NET_TX_SHORT);
	assert_int_equal(check(hdr(0, 0, 0, 0, 0, 0), 14, 0, &out), VIRTIO_NET_TX_OK);
	assert_int_equal(check(hdr(0, 0, 0, 0, 0, 0), VIRTIO_NET_MAX_FRAME, 0, &out),
			 VIRTIO_NET_TX_OK);
	assert_int_equal(check(hdr(0, 0, 0, 0, 0, 0), VIRTIO_NET_MAX_FRAME + 1, 0, &out),
			 VIRTIO_NET_TX_TOO_BIG);
	assert_int_equal(check(hdr(0, 0, 0, 0, 0, 0), UINT32_MAX, 0, &out), VIRTIO_NET_TX_TOO_BIG);
}

static void test_checksum(void **state)
{
	struct virtio_net_hdr_v1 out;
	uint64_t f = F(VIRTIO_NET_F_CSUM);

	(void)state;
	assert_int_equal(check(hdr(1, 0, 0, 0, 34, 16), 100, f, &out), VIRTIO_NET_TX_OK);
	assert_int_equal(out.flags, 1);
	assert_int_equal(le16toh(out.csum_start), 34);
	assert_int_equal(le16toh(out.csum_offset), 16);
	/* Not negotiated. */
	assert_int_equal(check(hdr(1, 0, 0, 0, 34, 16), 100, 0, &out), VIRTIO_NET_TX_BAD_CSUM);
	/* The checksum field must lie inside the frame. */
	assert_int_equal(check(hdr(1, 0, 0, 0, 98, 0), 100, f, &out), VIRTIO_NET_TX_OK);
	assert_int_equal(check(hdr(1, 0, 0, 0, 98, 1), 100, f, &out), VIRTIO_NET_TX_BAD_CSUM);
	assert_int_equal(check(hdr(1, 0, 0, 0, 0xffff, 0xffff), 100, f, &out),
			 VIRTIO_NET_TX_BAD_CSUM);
}

static void test_gso(void **state)
{
	struct virtio_net_hdr_v1 out;

	(void)state;
	assert_int_equal(
	    check(hdr(1, VIRTIO_NET_HDR_GSO_TCPV4, 54, 1448, 34, 16), 60000, ALL_HOST, &out),
	    VIRTIO_NET_TX_OK);
	assert_int_equal(le16toh(out.gso_size), 1448);
	assert_int_equal(out.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(
	    check(hdr(1, VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN, 74, 1428, 54, 16),
		  60000, ALL_HOST, &out),
	    VIRTIO_NET_TX_OK);
	assert_int_equal(
	    check(hdr(1, VIRTIO_NET_HDR_GSO_UDP, 42, 1472, 34, 6), 60000, ALL_HOST, &out),
	    VIRTIO_NET_TX_OK);
	/* Each type needs its feature. */
	assert_int_equal(check(hdr(1, VIRTIO_NET_HDR_GSO_TCPV4, 54, 1448, 34, 16), 60000,
			       F(VIRTIO_NET_F_CSUM), &out),
			 VIRTIO_NET_TX_BAD_GSO);
	assert_int_equal(
	    check(hdr(1, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN, 54, 1448, 34, 16),
		  60000, ALL_HOST & ~F(VIRTIO_NET_F_HOST_ECN), &out),
	    VIRTIO_NET_TX_BAD_GSO);
	/* Unknown types, UDP_L4 (USO not offered), size 0, no checksum, ECN alone. */
	assert_int_equal(check(hdr(1, 2, 54, 1448, 34, 16), 60000, ALL_HOST, &out),
			 VIRTIO_NET_TX_BAD_GSO);
	assert_int_equal(check(hdr(1, 5, 54, 1448, 34, 16), 60000, ALL_HOST, &out),
			 VIRTIO_NET_TX_BAD_GSO);
	assert_int_equal(check(hdr(1, 0x7f, 54, 1448, 34, 16), 60000, ALL_HOST, &out),
			 VIRTIO_NET_TX_BAD_GSO);
	assert_int_equal(
	    check(hdr(1, VIRTIO_NET_HDR_GSO_TCPV4, 54, 0, 34, 16), 60000, ALL_HOST, &out),
	    VIRTIO_NET_TX_BAD_GSO);
	assert_int_equal(
	    check(hdr(0, VIRTIO_NET_HDR_GSO_TCPV4, 54, 1448, 0, 0), 60000, ALL_HOST, &out),
	    VIRTIO_NET_TX_BAD_GSO);
	assert_int_equal(check(hdr(0, VIRTIO_NET_HDR_GSO_ECN, 0, 0, 0, 0), 60, ALL_HOST, &out),
			 VIRTIO_NET_TX_BAD_GSO);
	assert_string_equal(virtio_net_tx_verdict_name(VIRTIO_NET_TX_BAD_GSO),
			    "bad segmentation request");
}

static const uint8_t own[6] = {0x52, 0x54, 0, 1, 2, 3};
static const uint8_t other[6] = {0x52, 0x54, 0, 9, 9, 9};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t mcast[6] = {0x01, 0x00, 0x5e, 0, 0, 1};
static const uint8_t mcast2[6] = {0x33, 0x33, 0, 0, 0, 1};

static void test_filter(void **state)
{
	struct virtio_net_filter f;

	(void)state;
	virtio_net_filter_reset(&f, own);
	assert_true(f.promisc);
	assert_true(virtio_net_filter_accept(&f, other));
	f.promisc = false;
	assert_true(virtio_net_filter_accept(&f, own));
	assert_false(virtio_net_filter_accept(&f, other));
	assert_true(virtio_net_filter_accept(&f, bcast));
	assert_false(virtio_net_filter_accept(&f, mcast));
	f.allmulti = true;
	assert_true(virtio_net_filter_accept(&f, mcast));
	f.allmulti = false;
	memcpy(f.multi[0], mcast, 6);
	f.n_multi = 1;
	assert_true(virtio_net_filter_accept(&f, mcast));
	assert_false(virtio_net_filter_accept(&f, mcast2));
	f.multi_overflow = true;
	assert_true(virtio_net_filter_accept(&f, mcast2));
	memcpy(f.uni[0], other, 6);
	f.n_uni = 1;
	assert_true(virtio_net_filter_accept(&f, other));
	f.n_uni = 0;
	f.uni_overflow = true;
	assert_true(virtio_net_filter_accept(&f, other));
	f.nobcast = true;
	assert_false(virtio_net_filter_accept(&f, bcast));
	f.nouni = true;
	assert_false(virtio_net_filter_accept(&f, own));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_frame), cmocka_unit_test(test_lengths),
	    cmocka_unit_test(test_checksum),	cmocka_unit_test(test_gso),
	    cmocka_unit_test(test_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
