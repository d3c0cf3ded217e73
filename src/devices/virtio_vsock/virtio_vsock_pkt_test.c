/*
 * Unit tests for vsock header checks, header writing, the CONNECT line
 * and the credit accounting of a connection.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devices/virtio_vsock/virtio_vsock_conn.h"
#include "devices/virtio_vsock/virtio_vsock_pkt.h"

#define CID 3

static enum vsock_verdict parse(struct vsock_pkt p, uint32_t payload, struct vsock_pkt *out)
{
	uint8_t hdr[VSOCK_HDR_LEN];

	virtio_vsock_pkt_write(&p, hdr);
	return virtio_vsock_pkt_parse(hdr, payload, CID, out);
}

static struct vsock_pkt pkt(uint16_t op, uint32_t len)
{
	return (struct vsock_pkt){.src_cid = CID,
				  .dst_cid = 2,
				  .src_port = 5000,
				  .dst_port = 1234,
				  .len = len,
				  .type = 1,
				  .op = op,
				  .buf_alloc = 262144,
				  .fwd_cnt = 7};
}

static void test_round_trip(void **state)
{
	struct vsock_pkt in = pkt(VIRTIO_VSOCK_OP_RW, 100), out;
	uint8_t hdr[VSOCK_HDR_LEN];

	(void)state;
	in.flags = 0;
	virtio_vsock_pkt_write(&in, hdr);
	assert_int_equal(hdr[0], CID); /* little-endian src_cid first */
	assert_int_equal(hdr[8], 2);
	assert_int_equal(virtio_vsock_pkt_parse(hdr, 100, CID, &out), VSOCK_PKT_OK);
	assert_true(in.src_cid == out.src_cid && in.dst_cid == out.dst_cid);
	assert_true(in.src_port == out.src_port && in.dst_port == out.dst_port);
	assert_true(in.len == out.len && in.type == out.type && in.op == out.op);
	assert_true(in.flags == out.flags && in.buf_alloc == out.buf_alloc);
	assert_true(in.fwd_cnt == out.fwd_cnt);
}

static void test_addresses(void **state)
{
	struct vsock_pkt p = pkt(VIRTIO_VSOCK_OP_REQUEST, 0), out;

	(void)state;
	p.src_cid = 4; /* spoofed source */
	assert_int_equal(parse(p, 0, &out), VSOCK_PKT_DROP);
	p.src_cid = CID | (1ULL << 32);
	assert_int_equal(parse(p, 0, &out), VSOCK_PKT_DROP);
	p = pkt(VIRTIO_VSOCK_OP_REQUEST, 0);
	p.dst_cid = 5; /* another guest: not routed */
	assert_int_equal(parse(p, 0, &out), VSOCK_PKT_DROP);
	p.dst_cid = 1;
	assert_int_equal(parse(p, 0, &out), VSOCK_PKT_DROP);
}

static void test_lengths_ops_types(void **state)
{
	struct vsock_pkt p, out;

	(void)state;
	assert_int_equal(parse(pkt(VIRTIO_VSOCK_OP_RW, 100), 99, &out), VSOCK_PKT_DROP);
	assert_int_equal(parse(pkt(VIRTIO_VSOCK_OP_RW, VSOCK_MAX_PAYLOAD + 1), UINT32_MAX, &out),
			 VSOCK_PKT_DROP);
	assert_int_equal(parse(pkt(VIRTIO_VSOCK_OP_RW, 0), 0, &out), VSOCK_PKT_OK);
	assert_int_equal(parse(pkt(VIRTIO_VSOCK_OP_REQUEST, 4), 4, &out), VSOCK_PKT_DROP);
	assert_int_equal(parse(pkt(0, 0), 0, &out), VSOCK_PKT_RESET);
	assert_int_equal(parse(pkt(8, 0), 0, &out), VSOCK_PKT_RESET);
	assert_int_equal(parse(pkt(0xffff, 0), 0, &out), VSOCK_PKT_RESET);
	p = pkt(VIRTIO_VSOCK_OP_REQUEST, 0);
	p.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	assert_int_equal(parse(p, 0, &out), VSOCK_PKT_RESET);
	p.op = VIRTIO_VSOCK_OP_RST; /* never answer a RST with a RST */
	assert_int_equal(parse(p, 0, &out), VSOCK_PKT_DROP);
	p = pkt(VIRTIO_VSOCK_OP_SHUTDOWN, 0);
	p.flags = 3;
	assert_int_equal(parse(p, 0, &out), VSOCK_PKT_OK);
	p.flags = 4;
	assert_int_equal(parse(p, 0, &out), VSOCK_PKT_DROP);
}

static int connect_line(const char *s, uint32_t *port)
{
	return virtio_vsock_parse_connect(s, strlen(s), port);
}

static void test_connect_line(void **state)
{
	uint32_t port = 0;

	(void)state;
	assert_int_equal(connect_line("CONNECT 1234\n", &port), 13);
	assert_int_equal(port, 1234);
	assert_int_equal(connect_line("connect  52\nDATA", &port), 12);
	assert_int_equal(port, 52);
	assert_int_equal(connect_line("  Connect\t4294967295\r\n", &port), 22);
	assert_int_equal(port, 4294967295u);
	assert_int_equal(connect_line("CONN", &port), 0);
	assert_int_equal(connect_line("CONNECT 12", &port), 0);
	assert_int_equal(connect_line("", &port), 0);
	assert_int_equal(connect_line("CONNECT 4294967296\n", &port), -EINVAL);
	assert_int_equal(connect_line("CONNECT\n", &port), -EINVAL);
	assert_int_equal(connect_line("CONNECT x\n", &port), -EINVAL);
	assert_int_equal(connect_line("CONNECT12\n", &port), -EINVAL);
	assert_int_equal(connect_line("LISTEN 12\n", &port), -EINVAL);
	assert_int_equal(connect_line("CONNECT 12 13\n", &port), -EINVAL);
	assert_int_equal(connect_line("CONNECT                          1", &port), -EINVAL);
}

static void test_credit(void **state)
{
	struct vsock_conn c;
	struct vsock_pkt p = pkt(VIRTIO_VSOCK_OP_RW, 0), h;
	uint8_t data[100];
	struct iovec iov[2] = {{data, 60}, {data + 60, 40}};

	(void)state;
	memset(data, 0x42, sizeof(data));
	vsock_conn_init(&c, 1234, 5000, VSOCK_CONN_ESTABLISHED);
	p.buf_alloc = 1000;
	p.fwd_cnt = 0;
	vsock_conn_peer_credit_from(&c, &p);
	assert_int_equal(vsock_conn_peer_credit(&c), 1000);
	c.tx_cnt = 900;
	assert_int_equal(vsock_conn_peer_credit(&c), 100);
	c.tx_cnt = 1100; /* the guest shrank its buffer: no credit, no wrap */
	assert_int_equal(vsock_conn_peer_credit(&c), 0);
	p.fwd_cnt = 1100;
	vsock_conn_peer_credit_from(&c, &p);
	assert_int_equal(vsock_conn_peer_credit(&c), 1000);

	/* Guest -> host: the advertised window. */
	assert_true(vsock_conn_rx_fits(&c, VSOCK_BUF_ALLOC));
	assert_false(vsock_conn_rx_fits(&c, VSOCK_BUF_ALLOC + 1));
	c.rx_cnt = VSOCK_BUF_ALLOC - 10;
	assert_true(vsock_conn_rx_fits(&c, 10));
	assert_false(vsock_conn_rx_fits(&c, 11));
	assert_false(vsock_conn_credit_update_due(&c));
	vsock_conn_consumed(&c, VSOCK_BUF_ALLOC - 10);
	assert_true(vsock_conn_credit_update_due(&c));
	vsock_conn_header(&c, CID, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 0, &h);
	assert_int_equal(h.fwd_cnt, VSOCK_BUF_ALLOC - 10);
	assert_int_equal(h.buf_alloc, VSOCK_BUF_ALLOC);
	assert_int_equal(h.src_port, 1234);
	assert_int_equal(h.dst_port, 5000);
	assert_int_equal(h.dst_cid, CID);
	assert_false(vsock_conn_credit_update_due(&c));

	/* The ring keeps order across its end. */
	c.ring_head = VSOCK_BUF_ALLOC - 30;
	assert_int_equal(vsock_conn_ring_put(&c, iov, 2, 100), 0);
	assert_int_equal(c.ring_used, 100);
	assert_int_equal(vsock_conn_ring_peek(&c, iov), 2);
	assert_int_equal(iov[0].iov_len, 30);
	assert_int_equal(iov[1].iov_len, 70);
	vsock_conn_ring_drop(&c, 100);
	assert_int_equal(vsock_conn_ring_peek(&c, iov), 0);
	vsock_conn_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_addresses),
	    cmocka_unit_test(test_lengths_ops_types),
	    cmocka_unit_test(test_connect_line),
	    cmocka_unit_test(test_credit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
