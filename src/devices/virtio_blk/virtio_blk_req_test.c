/*
 * Unit tests for the virtio-blk request parser: well-formed requests in
 * several descriptor layouts (ANY_LAYOUT), and every kind of malformed
 * request a hostile driver can send. Chains are built by hand over host
 * buffers: the parser only sees struct virtq_chain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <linux/virtio_blk.h>
#include <string.h>

#include "devices/virtio_blk/virtio_blk_req.h"

#define CAPACITY 2048 /* sectors: a 1 MiB disk */

static struct virtq_chain chain;
static uint8_t mem[65536];
static size_t mem_used;
static struct iovec iov[VIRTQ_MAX_SIZE];
static struct virtio_blk_req req;
static struct virtio_blk_limits lim;

static int setup(void **state)
{
	(void)state;
	memset(&chain, 0, sizeof(chain));
	memset(mem, 0xee, sizeof(mem));
	mem_used = 0;
	lim = (struct virtio_blk_limits){.capacity = CAPACITY,
					 .discard = true,
					 .write_zeroes = true,
					 .max_discard_sectors = 1024,
					 .max_write_zeroes_sectors = 1024};
	return 0;
}

/* Appends a segment of `len` bytes (readable ones first, as virtq_pop gives them). */
static uint8_t *seg(size_t len, bool writable)
{
	uint8_t *p = mem + mem_used;

	assert_true(mem_used + len <= sizeof(mem));
	assert_true(writable || chain.n_in == 0);
	mem_used += len;
	chain.iov[chain.n_out + chain.n_in] = (struct iovec){p, len};
	if (writable) {
		chain.n_in++;
		chain.in_len += (uint32_t)len;
	} else {
		chain.n_out++;
		chain.out_len += (uint32_t)len;
	}
	return p;
}

static void put_hdr(uint8_t *p, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = {
	    .type = htole32(type), .ioprio = 0, .sector = htole64(sector)};

	memcpy(p, &h, sizeof(h));
}

static void put_dwz(uint8_t *p, uint64_t sector, uint32_t n, uint32_t flags)
{
	struct virtio_blk_discard_write_zeroes d = {
	    .sector = htole64(sector), .num_sectors = htole32(n), .flags = htole32(flags)};

	memcpy(p, &d, sizeof(d));
}

/* The usual layout: header | data (readable or writable) | status. */
static uint8_t *simple(uint32_t type, uint64_t sector, size_t data, bool data_writable)
{
	uint8_t *d = NULL;

	put_hdr(seg(16, false), type, sector);
	if (data)
		d = seg(data, data_writable);
	seg(1, true);
	return d;
}

static int parse(void)
{
	return virtio_blk_req_parse(&chain, &lim, iov, VIRTQ_MAX_SIZE, &req);
}

static void expect_status(uint8_t status)
{
	assert_int_equal(parse(), 0);
	assert_int_equal(req.status, status);
	if (status != VIRTIO_BLK_S_OK) {
		assert_int_equal(req.n_iov, 0);
		assert_int_equal(req.data_len, 0);
	}
}

/* The status pointer is the chain's last writable byte. */
static void expect_status_at_end(void)
{
	const struct iovec *last = &chain.iov[chain.n_out + chain.n_in - 1];

	assert_ptr_equal(req.status_ptr, (uint8_t *)last->iov_base + last->iov_len - 1);
}

/* ---- well-formed ---- */

static void test_read(void **state)
{
	uint8_t *data;

	(void)state;
	data = simple(VIRTIO_BLK_T_IN, 8, 4096, true);
	expect_status(VIRTIO_BLK_S_OK);
	assert_int_equal(req.type, VIRTIO_BLK_T_IN);
	assert_int_equal(req.sector, 8);
	assert_int_equal(req.data_len, 4096);
	assert_int_equal(req.n_iov, 1);
	assert_ptr_equal(iov[0].iov_base, data);
	assert_int_equal(iov[0].iov_len, 4096);
	expect_status_at_end();
}

static void test_write_multi_segment(void **state)
{
	(void)state;
	put_hdr(seg(16, false), VIRTIO_BLK_T_OUT, CAPACITY - 3);
	seg(512, false);
	seg(1000, false);
	seg(24, false);
	seg(1, true);
	expect_status(VIRTIO_BLK_S_OK);
	assert_int_equal(req.data_len, 1536);
	assert_int_equal(req.n_iov, 3);
	assert_int_equal(iov[1].iov_len, 1000);
	assert_int_equal(req.sector, CAPACITY - 3); /* the last three sectors */
	expect_status_at_end();
}

/* ANY_LAYOUT: the header split across segments, and shared with the data. */
static void test_any_layout(void **state)
{
	uint8_t hdr[16];
	uint8_t *p;

	(void)state;
	put_hdr(hdr, VIRTIO_BLK_T_OUT, 0x0102030405ULL & (CAPACITY - 1));
	memcpy(seg(5, false), hdr, 5);
	memcpy(seg(7, false), hdr + 5, 7);
	p = seg(4 + 512, false); /* the header's last 4 bytes and all the data */
	memcpy(p, hdr + 12, 4);
	seg(1, true);
	expect_status(VIRTIO_BLK_S_OK);
	assert_int_equal(req.type, VIRTIO_BLK_T_OUT);
	assert_int_equal(req.sector, 0x0102030405ULL & (CAPACITY - 1));
	assert_int_equal(req.n_iov, 1);
	assert_ptr_equal(iov[0].iov_base, p + 4);
	assert_int_equal(iov[0].iov_len, 512);

	/* A read whose data and status share one writable segment. */
	setup(NULL);
	put_hdr(seg(16, false), VIRTIO_BLK_T_IN, 1);
	p = seg(1025, true);
	expect_status(VIRTIO_BLK_S_OK);
	assert_int_equal(req.data_len, 1024);
	assert_ptr_equal(iov[0].iov_base, p);
	assert_int_equal(iov[0].iov_len, 1024);
	assert_ptr_equal(req.status_ptr, p + 1024);

	/* Zero-length segments anywhere are harmless; the status skips them. */
	setup(NULL);
	seg(0, false);
	put_hdr(seg(16, false), VIRTIO_BLK_T_IN, 1);
	seg(512, true);
	seg(0, true);
	p = seg(1, true);
	seg(0, true);
	expect_status(VIRTIO_BLK_S_OK);
	assert_ptr_equal(req.status_ptr, p);
	assert_int_equal(req.n_iov, 1);
}

static void test_flush_and_get_id(void **state)
{
	(void)state;
	simple(VIRTIO_BLK_T_FLUSH, 0, 0, false);
	expect_status(VIRTIO_BLK_S_OK);
	assert_int_equal(req.type, VIRTIO_BLK_T_FLUSH);

	setup(NULL);
	simple(VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true);
	expect_status(VIRTIO_BLK_S_OK);
	assert_int_equal(req.data_len, 20);

	/* A larger buffer gets 20 bytes; a smaller one what fits. */
	setup(NULL);
	simple(VIRTIO_BLK_T_GET_ID, 0, 64, true);
	expect_status(VIRTIO_BLK_S_OK);
	assert_int_equal(req.data_len, 20);
	setup(NULL);
	simple(VIRTIO_BLK_T_GET_ID, 0, 7, true);
	expect_status(VIRTIO_BLK_S_OK);
	assert_int_equal(req.data_len, 7);
	/* No room at all. */
	setup(NULL);
	simple(VIRTIO_BLK_T_GET_ID, 0, 0, true);
	expect_status(VIRTIO_BLK_S_IOERR);
}

static void test_discard_write_zeroes(void **state)
{
	(void)state;
	put_dwz(simple(VIRTIO_BLK_T_DISCARD, 0, 16, false), 100, 28, 0);
	expect_status(VIRTIO_BLK_S_OK);
	assert_int_equal(req.range_sector, 100);
	assert_int_equal(req.range_sectors, 28);
	assert_false(req.unmap);

	setup(NULL);
	put_dwz(simple(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false), CAPACITY - 1024, 1024,
		VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	expect_status(VIRTIO_BLK_S_OK);
	assert_true(req.unmap);
	assert_int_equal(req.range_sectors, 1024);
}

/* ---- malformed ---- */

/* Nowhere to put a status: the only case that needs a device reset. */
static void test_no_status_byte(void **state)
{
	(void)state;
	assert_int_equal(parse(), -EINVAL); /* a chain of nothing */
	put_hdr(seg(16, false), VIRTIO_BLK_T_IN, 0);
	assert_int_equal(parse(), -EINVAL);
	seg(512, false);
	assert_int_equal(parse(), -EINVAL);
	seg(0, true); /* a writable segment of no bytes */
	assert_int_equal(parse(), -EINVAL);
}

static void test_bad_header(void **state)
{
	uint8_t *p;

	(void)state;
	/* A writable header: nothing readable. */
	p = seg(17, true);
	put_hdr(p, VIRTIO_BLK_T_IN, 0);
	expect_status(VIRTIO_BLK_S_IOERR);
	assert_ptr_equal(req.status_ptr, p + 16);
	/* Half the header readable, the rest writable. */
	setup(NULL);
	seg(8, false);
	seg(9, true);
	expect_status(VIRTIO_BLK_S_IOERR);
	/* A short header alone. */
	setup(NULL);
	seg(15, false);
	seg(1, true);
	expect_status(VIRTIO_BLK_S_IOERR);
	/* Just a status byte. */
	setup(NULL);
	seg(1, true);
	expect_status(VIRTIO_BLK_S_IOERR);
	expect_status_at_end();
}

static void test_bad_data(void **state)
{
	(void)state;
	/* Not whole sectors. */
	simple(VIRTIO_BLK_T_IN, 0, 511, true);
	expect_status(VIRTIO_BLK_S_IOERR);
	setup(NULL);
	simple(VIRTIO_BLK_T_OUT, 0, 513, false);
	expect_status(VIRTIO_BLK_S_IOERR);
	/* Data in the wrong direction. */
	setup(NULL);
	simple(VIRTIO_BLK_T_IN, 0, 512, false);
	expect_status(VIRTIO_BLK_S_IOERR);
	setup(NULL);
	simple(VIRTIO_BLK_T_OUT, 0, 512, true);
	expect_status(VIRTIO_BLK_S_IOERR);
	/* A read with readable bytes as well as writable ones. */
	setup(NULL);
	put_hdr(seg(16, false), VIRTIO_BLK_T_IN, 0);
	seg(512, false);
	seg(513, true);
	expect_status(VIRTIO_BLK_S_IOERR);
}

static void test_out_of_range(void **state)
{
	static const struct {
		uint64_t sector;
		size_t len;
	} bad[] = {
	    {CAPACITY, 512},
	    {CAPACITY - 1, 1024},
	    {CAPACITY + 1, 0},
	    {UINT64_MAX, 512},
	    {UINT64_MAX - 1, 1024},
	    {1ULL << 55, 512},
	    {(UINT64_MAX >> 9) + 1, 512},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (int dir = 0; dir < 2; dir++) {
			setup(NULL);
			simple(dir ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, bad[i].sector, bad[i].len,
			       !dir);
			expect_status(VIRTIO_BLK_S_IOERR);
		}
	}
	/* Right at the end is fine, and so is an empty read there. */
	setup(NULL);
	simple(VIRTIO_BLK_T_IN, CAPACITY - 1, 512, true);
	expect_status(VIRTIO_BLK_S_OK);
	setup(NULL);
	simple(VIRTIO_BLK_T_IN, CAPACITY, 0, true);
	expect_status(VIRTIO_BLK_S_OK);
}

static void test_read_only(void **state)
{
	(void)state;
	lim.read_only = true;
	simple(VIRTIO_BLK_T_OUT, 0, 512, false);
	expect_status(VIRTIO_BLK_S_IOERR);
	setup(NULL);
	lim.read_only = true;
	simple(VIRTIO_BLK_T_IN, 0, 512, true);
	expect_status(VIRTIO_BLK_S_OK);
	setup(NULL);
	lim.read_only = true;
	put_dwz(simple(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false), 0, 1, 0);
	expect_status(VIRTIO_BLK_S_IOERR);
	setup(NULL);
	lim.read_only = true;
	put_dwz(simple(VIRTIO_BLK_T_DISCARD, 0, 16, false), 0, 1, 0);
	expect_status(VIRTIO_BLK_S_IOERR);
}

static void test_bad_discard_write_zeroes(void **state)
{
	(void)state;
	/* Not negotiated. */
	lim.discard = false;
	put_dwz(simple(VIRTIO_BLK_T_DISCARD, 0, 16, false), 0, 1, 0);
	expect_status(VIRTIO_BLK_S_UNSUPP);
	setup(NULL);
	lim.write_zeroes = false;
	put_dwz(simple(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false), 0, 1, 0);
	expect_status(VIRTIO_BLK_S_UNSUPP);
	/* Flags: unmap on a discard, unknown bits anywhere. */
	setup(NULL);
	put_dwz(simple(VIRTIO_BLK_T_DISCARD, 0, 16, false), 0, 1, 1);
	expect_status(VIRTIO_BLK_S_UNSUPP);
	setup(NULL);
	put_dwz(simple(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false), 0, 1, 2);
	expect_status(VIRTIO_BLK_S_UNSUPP);
	/* Segment count and size. */
	setup(NULL);
	simple(VIRTIO_BLK_T_DISCARD, 0, 32, false); /* two segments: max_discard_seg is 1 */
	expect_status(VIRTIO_BLK_S_IOERR);
	setup(NULL);
	simple(VIRTIO_BLK_T_DISCARD, 0, 15, false);
	expect_status(VIRTIO_BLK_S_IOERR);
	setup(NULL);
	simple(VIRTIO_BLK_T_DISCARD, 0, 0, false);
	expect_status(VIRTIO_BLK_S_IOERR);
	setup(NULL);
	simple(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, true);
	expect_status(VIRTIO_BLK_S_IOERR);
	/* Range and limits. */
	setup(NULL);
	put_dwz(simple(VIRTIO_BLK_T_DISCARD, 0, 16, false), CAPACITY - 1, 2, 0);
	expect_status(VIRTIO_BLK_S_IOERR);
	setup(NULL);
	put_dwz(simple(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false), UINT64_MAX, 1, 0);
	expect_status(VIRTIO_BLK_S_IOERR);
	setup(NULL);
	put_dwz(simple(VIRTIO_BLK_T_DISCARD, 0, 16, false), 0, 1025, 0);
	expect_status(VIRTIO_BLK_S_IOERR);
}

static void test_unsupported_types(void **state)
{
	static const uint32_t types[] = {2, 3, 5, 10, 14, 15, 16, 99, 0x80000000u, UINT32_MAX};

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		setup(NULL);
		simple(types[i], 0, 512, true);
		expect_status(VIRTIO_BLK_S_UNSUPP);
		assert_int_equal(req.type, types[i]);
	}
}

/* More data segments than the caller's array holds: IOERR, no overflow. */
static void test_too_many_segments(void **state)
{
	(void)state;
	put_hdr(seg(16, false), VIRTIO_BLK_T_IN, 0);
	for (int i = 0; i < 8; i++)
		seg(512, true);
	seg(1, true);
	assert_int_equal(virtio_blk_req_parse(&chain, &lim, iov, 7, &req), 0);
	assert_int_equal(req.status, VIRTIO_BLK_S_IOERR);
	assert_int_equal(virtio_blk_req_parse(&chain, &lim, iov, 8, &req), 0);
	assert_int_equal(req.status, VIRTIO_BLK_S_OK);
	assert_int_equal(req.n_iov, 8);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, setup)
	const struct CMUnitTest tests[] = {
	    T(test_read),
	    T(test_write_multi_segment),
	    T(test_any_layout),
	    T(test_flush_and_get_id),
	    T(test_discard_write_zeroes),
	    T(test_no_status_byte),
	    T(test_bad_header),
	    T(test_bad_data),
	    T(test_out_of_range),
	    T(test_read_only),
	    T(test_bad_discard_write_zeroes),
	    T(test_unsupported_types),
	    T(test_too_many_segments),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
