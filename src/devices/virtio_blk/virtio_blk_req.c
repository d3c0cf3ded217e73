/*
 * virtio-blk request parser (virtio 1.x 5.2.6); the rules are in
 * virtio_blk_req.h. Pure: reads the chain's readable segments through
 * virtq_chain_read() (one copy into host locals) and fills iovecs, nothing
 * else. Guest-controlled: every byte of the chain and its layout.
 */
#include "devices/virtio_blk/virtio_blk_req.h"

#include <endian.h>
#include <errno.h>
#include <linux/virtio_blk.h>
#include <string.h>

/*
 * Copies the byte range [skip, skip+len) of segments src[0..n) into dst.
 * Returns the number of dst entries, or -1 if more than max are needed.
 */
static int slice(const struct iovec *src, unsigned int n, uint64_t skip, uint64_t len,
		 struct iovec *dst, unsigned int max)
{
	unsigned int out = 0;

	for (unsigned int i = 0; i < n && len > 0; i++) {
		uint64_t seg = src[i].iov_len;

		if (skip >= seg) {
			skip -= seg;
			continue;
		}
		if (out == max)
			return -1;
		seg = MIN(seg - skip, len);
		dst[out].iov_base = (uint8_t *)src[i].iov_base + skip;
		dst[out].iov_len = seg;
		out++;
		len -= seg;
		skip = 0;
	}
	return (int)out;
}

/* The last writable byte of the chain, or NULL if it has none. */
static uint8_t *find_status(const struct virtq_chain *chain)
{
	for (unsigned int i = chain->n_in; i > 0; i--) {
		const struct iovec *v = &chain->iov[chain->n_out + i - 1];

		if (v->iov_len > 0)
			return (uint8_t *)v->iov_base + v->iov_len - 1;
	}
	return NULL;
}

/* True if `count` sectors from `first` lie inside the disk (overflow-safe). */
static bool in_range(const struct virtio_blk_limits *lim, uint64_t first, uint64_t count)
{
	return first <= lim->capacity && count <= lim->capacity - first;
}

struct parse {
	const struct virtq_chain *chain;
	const struct virtio_blk_limits *lim;
	struct iovec *iov;
	unsigned int max_iov;
	struct virtio_blk_req *req;
	uint32_t out_data; /* readable bytes after the header */
	uint32_t in_data;  /* writable bytes before the status */
};

/* Points the request's iovecs at `len` bytes from `skip` of one direction. */
static uint8_t take(struct parse *p, bool writable, uint32_t skip, uint32_t len)
{
	const struct virtq_chain *c = p->chain;
	const struct iovec *src = writable ? &c->iov[c->n_out] : c->iov;
	int n = slice(src, writable ? c->n_in : c->n_out, skip, len, p->iov, p->max_iov);

	if (n < 0)
		return VIRTIO_BLK_S_IOERR;
	p->req->n_iov = (unsigned int)n;
	p->req->data_len = len;
	return VIRTIO_BLK_S_OK;
}

static uint8_t parse_rw(struct parse *p, bool write)
{
	uint32_t len = write ? p->out_data : p->in_data;

	if (write && p->lim->read_only)
		return VIRTIO_BLK_S_IOERR; /* spec: IOERR, and write nothing */
	/* Data only in the direction of the transfer. */
	if ((write ? p->in_data : p->out_data) != 0)
		return VIRTIO_BLK_S_IOERR;
	if (len % VIRTIO_BLK_SECTOR_SIZE)
		return VIRTIO_BLK_S_IOERR;
	if (!in_range(p->lim, p->req->sector, len >> VIRTIO_BLK_SECTOR_SHIFT))
		return VIRTIO_BLK_S_IOERR;
	return take(p, !write, write ? VIRTIO_BLK_HDR_SIZE : 0, len);
}

static uint8_t parse_get_id(struct parse *p)
{
	if (p->in_data == 0)
		return VIRTIO_BLK_S_IOERR;
	return take(p, true, 0, MIN(p->in_data, (uint32_t)VIRTIO_BLK_ID_BYTES));
}

/* DISCARD and WRITE_ZEROES: one {le64 sector, le32 num_sectors, le32 flags}. */
static uint8_t parse_dwz(struct parse *p, bool discard)
{
	const struct virtio_blk_limits *lim = p->lim;
	struct virtio_blk_discard_write_zeroes seg;
	uint32_t flags, max;

	if (!(discard ? lim->discard : lim->write_zeroes))
		return VIRTIO_BLK_S_UNSUPP;
	if (lim->read_only)
		return VIRTIO_BLK_S_IOERR;
	if (p->in_data != 0 || p->out_data == 0 || p->out_data % VIRTIO_BLK_DWZ_SEG_SIZE)
		return VIRTIO_BLK_S_IOERR;
	if (p->out_data / VIRTIO_BLK_DWZ_SEG_SIZE > VIRTIO_BLK_MAX_DWZ_SEG)
		return VIRTIO_BLK_S_IOERR;
	/* Guest-controlled: the segment, copied once. */
	if (virtq_chain_read(p->chain, VIRTIO_BLK_HDR_SIZE, &seg, sizeof(seg)) != sizeof(seg))
		return VIRTIO_BLK_S_IOERR;
	flags = le32toh(seg.flags);
	/* Spec: UNSUPP for unknown flags, and for unmap on a discard. */
	if (flags & ~(uint32_t)VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)
		return VIRTIO_BLK_S_UNSUPP;
	if (discard && flags)
		return VIRTIO_BLK_S_UNSUPP;
	p->req->range_sector = le64toh(seg.sector);
	p->req->range_sectors = le32toh(seg.num_sectors);
	p->req->unmap = flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	max = discard ? lim->max_discard_sectors : lim->max_write_zeroes_sectors;
	if (p->req->range_sectors > max ||
	    !in_range(lim, p->req->range_sector, p->req->range_sectors))
		return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}

static uint8_t parse_type(struct parse *p)
{
	switch (p->req->type) {
	case VIRTIO_BLK_T_IN:
		return parse_rw(p, false);
	case VIRTIO_BLK_T_OUT:
		return parse_rw(p, true);
	case VIRTIO_BLK_T_FLUSH:
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		return parse_get_id(p);
	case VIRTIO_BLK_T_DISCARD:
		return parse_dwz(p, true);
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return parse_dwz(p, false);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

int virtio_blk_req_parse(const struct virtq_chain *chain, const struct virtio_blk_limits *lim,
			 struct iovec *iov, unsigned int max_iov, struct virtio_blk_req *req)
{
	struct parse p = {chain, lim, iov, max_iov, req, 0, 0};
	struct virtio_blk_outhdr hdr;

	memset(req, 0, sizeof(*req));
	req->status_ptr = find_status(chain);
	if (!req->status_ptr)
		return -EINVAL;
	p.in_data = chain->in_len - 1;
	/* Guest-controlled: the header, copied once (it may span segments). */
	if (chain->out_len < VIRTIO_BLK_HDR_SIZE ||
	    virtq_chain_read(chain, 0, &hdr, sizeof(hdr)) != sizeof(hdr)) {
		req->status = VIRTIO_BLK_S_IOERR; /* short, or writable, header */
		return 0;
	}
	p.out_data = chain->out_len - VIRTIO_BLK_HDR_SIZE;
	req->type = le32toh(hdr.type);
	req->sector = le64toh(hdr.sector);
	req->status = parse_type(&p);
	if (req->status != VIRTIO_BLK_S_OK)
		req->n_iov = req->data_len = 0;
	return 0;
}
