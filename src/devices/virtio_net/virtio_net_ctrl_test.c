/*
 * Unit tests for the virtio-net control commands: each served command with
 * its feature, the same refused without it, malformed data refused with
 * the state untouched.
 */
#include <endian.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devices/virtio_net/virtio_net_ctrl.h"

#define F(bit) (1ULL << (bit))
#define ALL                                                                                        \
	(F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX) | F(VIRTIO_NET_F_CTRL_MAC_ADDR) |       \
	 F(VIRTIO_NET_F_MQ) | F(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) | F(VIRTIO_NET_F_GUEST_CSUM) |   \
	 F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6))

static const uint8_t mac[6] = {0x52, 0x54, 0, 1, 2, 3};
static struct virtio_net_ctrl_state st;
static unsigned int changed;

static int setup(void **state)
{
	(void)state;
	virtio_net_ctrl_reset(&st, mac, 4, ALL);
	changed = 0;
	return 0;
}

static uint8_t cmd(uint64_t features, const uint8_t *buf, size_t len)
{
	return virtio_net_ctrl_handle(&st, buf, len, features, &changed);
}

#define CMD(f, ...) cmd(f, (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

static void test_reset_state(void **state)
{
	(void)state;
	assert_int_equal(st.curr_pairs, 1);
	assert_int_equal(st.max_pairs, 4);
	assert_true(st.filter.promisc);
	assert_memory_equal(st.filter.mac, mac, 6);
	assert_int_equal(st.guest_offloads, F(VIRTIO_NET_F_GUEST_CSUM) |
						F(VIRTIO_NET_F_GUEST_TSO4) |
						F(VIRTIO_NET_F_GUEST_TSO6));
}

static void test_rx_mode(void **state)
{
	(void)state;
	assert_int_equal(CMD(ALL, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 0),
			 VIRTIO_NET_OK);
	assert_false(st.filter.promisc);
	assert_int_equal(CMD(ALL, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, 1),
			 VIRTIO_NET_OK);
	assert_true(st.filter.allmulti);
	/* Bad value, extra byte, missing byte, RX_EXTRA commands, not negotiated. */
	assert_int_equal(CMD(ALL, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 2),
			 VIRTIO_NET_ERR);
	assert_int_equal(CMD(ALL, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 1, 0),
			 VIRTIO_NET_ERR);
	assert_int_equal(CMD(ALL, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC), VIRTIO_NET_ERR);
	assert_int_equal(CMD(ALL, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOBCAST, 1),
			 VIRTIO_NET_ERR);
	assert_int_equal(CMD(0, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 1), VIRTIO_NET_ERR);
	assert_false(st.filter.promisc);
	assert_int_equal(changed, 0);
}

static void test_mac_table(void **state)
{
	const uint8_t ok[] = {VIRTIO_NET_CTRL_MAC,
			      VIRTIO_NET_CTRL_MAC_TABLE_SET,
			      1,
			      0,
			      0,
			      0,
			      0x52,
			      0x54,
			      0,
			      9,
			      9,
			      9,
			      2,
			      0,
			      0,
			      0,
			      0x01,
			      0,
			      0x5e,
			      0,
			      0,
			      1,
			      0x33,
			      0x33,
			      0,
			      0,
			      0,
			      1};
	uint8_t big[2 + 4 + 65 * 6 + 4];

	(void)state;
	assert_int_equal(cmd(ALL, ok, sizeof(ok)), VIRTIO_NET_OK);
	assert_int_equal(st.filter.n_uni, 1);
	assert_int_equal(st.filter.n_multi, 2);
	assert_false(st.filter.uni_overflow || st.filter.multi_overflow);
	assert_memory_equal(st.filter.multi[1], ((uint8_t[]){0x33, 0x33, 0, 0, 0, 1}), 6);
	/* Truncated, trailing garbage, count past the data: refused, table kept. */
	assert_int_equal(cmd(ALL, ok, sizeof(ok) - 1), VIRTIO_NET_ERR);
	assert_int_equal(cmd(ALL, ok, 2 + 4 + 6), VIRTIO_NET_ERR);
	assert_int_equal(CMD(ALL, VIRTIO_NET_CTRL_MAC, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0),
			 VIRTIO_NET_ERR);
	assert_int_equal(CMD(ALL, VIRTIO_NET_CTRL_MAC, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1),
			 VIRTIO_NET_ERR);
	assert_int_equal(st.filter.n_multi, 2);
	assert_int_equal(cmd(F(VIRTIO_NET_F_CTRL_VQ), ok, sizeof(ok)), VIRTIO_NET_ERR);
	/* 65 unicast entries: overflow, accepted. */
	memset(big, 0, sizeof(big));
	big[0] = VIRTIO_NET_CTRL_MAC;
	big[2] = 65;
	assert_int_equal(cmd(ALL, big, sizeof(big)), VIRTIO_NET_OK);
	assert_true(st.filter.uni_overflow);
	assert_int_equal(st.filter.n_uni, 0);
	assert_int_equal(st.filter.n_multi, 0);
}

static void test_mac_addr_set(void **state)
{
	(void)state;
	assert_int_equal(
	    CMD(ALL, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, 2, 0, 0, 0, 0, 7),
	    VIRTIO_NET_OK);
	assert_true(changed & VIRTIO_NET_CTRL_CHANGED_MAC);
	assert_memory_equal(st.filter.mac, ((uint8_t[]){2, 0, 0, 0, 0, 7}), 6);
	assert_int_equal(CMD(ALL, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, 2, 0, 0),
			 VIRTIO_NET_ERR);
	assert_int_equal(CMD(ALL & ~F(VIRTIO_NET_F_CTRL_MAC_ADDR), VIRTIO_NET_CTRL_MAC,
			     VIRTIO_NET_CTRL_MAC_ADDR_SET, 2, 0, 0, 0, 0, 8),
			 VIRTIO_NET_ERR);
	assert_int_equal(CMD(ALL, VIRTIO_NET_CTRL_MAC, 7), VIRTIO_NET_ERR);
}

static void test_mq(void **state)
{
	(void)state;
	assert_int_equal(CMD(ALL, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 4, 0),
			 VIRTIO_NET_OK);
	assert_int_equal(st.curr_pairs, 4);
	assert_true(changed & VIRTIO_NET_CTRL_CHANGED_PAIRS);
	changed = 0;
	assert_int_equal(CMD(ALL, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 4, 0),
			 VIRTIO_NET_OK);
	assert_int_equal(changed, 0); /* no change, nothing to mirror */
	assert_int_equal(CMD(ALL, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 5, 0),
			 VIRTIO_NET_ERR);
	assert_int_equal(CMD(ALL, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 0, 0),
			 VIRTIO_NET_ERR);
	assert_int_equal(CMD(ALL, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 1),
			 VIRTIO_NET_ERR);
	assert_int_equal(CMD(ALL, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_RSS_CONFIG, 1, 0),
			 VIRTIO_NET_ERR);
	assert_int_equal(CMD(ALL & ~F(VIRTIO_NET_F_MQ), VIRTIO_NET_CTRL_MQ,
			     VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 1, 0),
			 VIRTIO_NET_ERR);
	assert_int_equal(st.curr_pairs, 4);
}

static void test_guest_offloads(void **state)
{
	(void)state;
	assert_int_equal(CMD(ALL, VIRTIO_NET_CTRL_GUEST_OFFLOADS,
			     VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, 2, 0, 0, 0, 0, 0, 0, 0),
			 VIRTIO_NET_OK);
	assert_int_equal(st.guest_offloads, F(VIRTIO_NET_F_GUEST_CSUM));
	assert_true(changed & VIRTIO_NET_CTRL_CHANGED_OFFLOADS);
	/* GUEST_UFO (bit 10) was not negotiated; bit 0 is no offload at all. */
	assert_int_equal(CMD(ALL, VIRTIO_NET_CTRL_GUEST_OFFLOADS,
			     VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, 0, 4, 0, 0, 0, 0, 0, 0),
			 VIRTIO_NET_ERR);
	assert_int_equal(CMD(ALL, VIRTIO_NET_CTRL_GUEST_OFFLOADS,
			     VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, 1, 0, 0, 0, 0, 0, 0, 0),
			 VIRTIO_NET_ERR);
	assert_int_equal(CMD(ALL, VIRTIO_NET_CTRL_GUEST_OFFLOADS,
			     VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, 0, 0, 0, 0),
			 VIRTIO_NET_ERR);
	assert_int_equal(st.guest_offloads, F(VIRTIO_NET_F_GUEST_CSUM));
}

static void test_unknown_and_short(void **state)
{
	uint8_t huge[VIRTIO_NET_CTRL_MAX + 1];

	(void)state;
	memset(huge, 0, sizeof(huge));
	assert_int_equal(cmd(ALL, NULL, 0), VIRTIO_NET_ERR);
	assert_int_equal(CMD(ALL, VIRTIO_NET_CTRL_RX), VIRTIO_NET_ERR);
	assert_int_equal(CMD(ALL, VIRTIO_NET_CTRL_VLAN, 0, 1, 0), VIRTIO_NET_ERR);
	assert_int_equal(CMD(ALL, VIRTIO_NET_CTRL_ANNOUNCE, 0), VIRTIO_NET_ERR);
	assert_int_equal(CMD(ALL, 0xff, 0xff), VIRTIO_NET_ERR);
	assert_int_equal(cmd(ALL, huge, sizeof(huge)), VIRTIO_NET_ERR);
	assert_int_equal(changed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_reset_state, setup),
	    cmocka_unit_test_setup(test_rx_mode, setup),
	    cmocka_unit_test_setup(test_mac_table, setup),
	    cmocka_unit_test_setup(test_mac_addr_set, setup),
	    cmocka_unit_test_setup(test_mq, setup),
	    cmocka_unit_test_setup(test_guest_offloads, setup),
	    cmocka_unit_test_setup(test_unknown_and_short, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
