/*
 * Fuzz target for the virtio-blk request parser
 * (src/devices/virtio_blk/virtio_blk_req.c): the input describes one
 * descriptor chain (segment sizes and directions, then their bytes) and the
 * device's limits, so the fuzzer controls everything a hostile driver could
 * put in a request. The parser must never crash or read outside the chain,
 * and what it accepts must keep its contract (checked here; abort() on a
 * violation).
 *
 * Input layout (little-endian):
 *   0  u8  limits: bit 0 read-only, bit 1 DISCARD negotiated,
 *          bit 2 WRITE_ZEROES negotiated
 *   1  u8  capacity: 1 << (value % 64) sectors, minus (value >> 6)
 *          (wrapping: 1 - 3 is a capacity near 2^64, for the overflow checks)
 *   2  u8  max_iov given to the parser: 1 + value % MAX_SEGS
 *   3  u8  segments: n_out = value & 0x0f, n_in = value >> 4
 *   4  u16 length of each segment, n_out + n_in of them (readable first);
 *          lengths are cut so that all segments fit in SPAN bytes
 *   .. the segments' bytes, in order (missing bytes are zero)
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_blk.h>

#include "devices/virtio_blk/virtio_blk_req.h"
#include "fuzz.h"

#define MAX_SEGS 30
#define SPAN 65536
#define MAX_SECTORS 8192 /* max_discard_sectors, max_write_zeroes_sectors */

static uint8_t buf[SPAN];
static struct virtq_chain chain;
static struct iovec iov[MAX_SEGS];

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* True if [p, p+len) lies inside one segment of the given direction. */
static bool inside(const void *p, size_t len, bool writable)
{
	unsigned int first = writable ? chain.n_out : 0;
	unsigned int n = writable ? chain.n_in : chain.n_out;

	for (unsigned int i = first; i < first + n; i++) {
		const uint8_t *b = chain.iov[i].iov_base;

		if ((const uint8_t *)p >= b && len <= chain.iov[i].iov_len &&
		    (size_t)((const uint8_t *)p - b) <= chain.iov[i].iov_len - len)
			return true;
	}
	return false;
}

static void check_data(const struct virtio_blk_req *req, unsigned int max_iov, bool writable)
{
	uint64_t sum = 0;

	check(req->n_iov <= max_iov);
	for (unsigned int i = 0; i < req->n_iov; i++) {
		check(iov[i].iov_len > 0 && inside(iov[i].iov_base, iov[i].iov_len, writable));
		/* Data never covers the status byte. */
		check(!writable || req->status_ptr < (uint8_t *)iov[i].iov_base ||
		      req->status_ptr >= (uint8_t *)iov[i].iov_base + iov[i].iov_len);
		sum += iov[i].iov_len;
	}
	check(sum == req->data_len);
}

static void check_accepted(const struct virtio_blk_req *req, const struct virtio_blk_limits *lim,
			   unsigned int max_iov)
{
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		check(req->type == VIRTIO_BLK_T_IN || !lim->read_only);
		check(req->data_len % VIRTIO_BLK_SECTOR_SIZE == 0);
		check(req->sector <= lim->capacity &&
		      req->data_len / VIRTIO_BLK_SECTOR_SIZE <= lim->capacity - req->sector);
		check_data(req, max_iov, req->type == VIRTIO_BLK_T_IN);
		break;
	case VIRTIO_BLK_T_GET_ID:
		check(req->data_len >= 1 && req->data_len <= VIRTIO_BLK_ID_BYTES);
		check_data(req, max_iov, true);
		break;
	case VIRTIO_BLK_T_FLUSH:
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		check(!lim->read_only);
		check(req->type == VIRTIO_BLK_T_DISCARD ? lim->discard : lim->write_zeroes);
		check(req->type == VIRTIO_BLK_T_WRITE_ZEROES || !req->unmap);
		check(req->range_sectors <= MAX_SECTORS);
		check(req->range_sector <= lim->capacity &&
		      req->range_sectors <= lim->capacity - req->range_sector);
		break;
	default:
		abort(); /* an unknown type was accepted */
	}
}

/* Lays out the chain described by the input; returns false if it is too short. */
static bool build_chain(const uint8_t *data, size_t size, size_t *pos)
{
	unsigned int n_out = data[3] & 0x0f, n_in = data[3] >> 4;
	size_t used = 0;

	memset(&chain, 0, sizeof(chain));
	*pos = 4;
	for (unsigned int i = 0; i < n_out + n_in; i++) {
		size_t len;

		if (*pos + 2 > size)
			return false;
		len = data[*pos] | (size_t)data[*pos + 1] << 8;
		*pos += 2;
		len = len < SPAN - used ? len : SPAN - used;
		chain.iov[i] = (struct iovec){buf + used, len};
		used += len;
		if (i < n_out)
			chain.out_len += (uint32_t)len;
		else
			chain.in_len += (uint32_t)len;
	}
	chain.n_out = (uint16_t)n_out;
	chain.n_in = (uint16_t)n_in;
	/* Segment bytes; the rest of the span is zero. */
	memset(buf, 0, used);
	memcpy(buf, data + *pos, size - *pos < used ? size - *pos : used);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_blk_limits lim;
	struct virtio_blk_req req;
	unsigned int max_iov;
	size_t pos;
	int ret;

	if (size < 4 || !build_chain(data, size, &pos))
		return 0;
	lim = (struct virtio_blk_limits){
	    .capacity = (1ULL << (data[1] % 64)) - (data[1] >> 6),
	    .read_only = data[0] & 1,
	    .discard = data[0] & 2,
	    .write_zeroes = data[0] & 4,
	    .max_discard_sectors = MAX_SECTORS,
	    .max_write_zeroes_sectors = MAX_SECTORS,
	};
	max_iov = 1 + data[2] % MAX_SEGS;
	ret = virtio_blk_req_parse(&chain, &lim, iov, max_iov, &req);
	if (ret) {
		check(ret == -EINVAL && chain.in_len == 0); /* no status byte */
		return 0;
	}
	/* The status is the chain's last writable byte. */
	check(req.status_ptr && inside(req.status_ptr, 1, true));
	for (unsigned int i = chain.n_out + chain.n_in; i-- > chain.n_out;) {
		if (chain.iov[i].iov_len) {
			check(req.status_ptr ==
			      (uint8_t *)chain.iov[i].iov_base + chain.iov[i].iov_len - 1);
			break;
		}
	}
	check(req.status <= VIRTIO_BLK_S_UNSUPP);
	if (req.status == VIRTIO_BLK_S_OK)
		check_accepted(&req, &lim, max_iov);
	else
		check(req.n_iov == 0 && req.data_len == 0);
	return 0;
}
