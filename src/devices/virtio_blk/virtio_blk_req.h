/*
 * virtio-blk request parsing (virtio 1.x section 5.2.6 "Device Operation"):
 * one descriptor chain in, one struct virtio_blk_req out, no I/O. The
 * device (virtio_blk.c) performs what the parser accepts; unit tests and
 * the fuzzer (tests/fuzz/fuzz_blk_req.c) drive the parser alone.
 *
 * Layout accepted (VIRTIO_F_VERSION_1 implies ANY_LAYOUT: the device makes
 * no assumption about how the driver split the request into descriptors):
 *
 *   device-readable:  16-byte header {le32 type, le32 reserved, le64 sector}
 *                     [+ data for OUT, or the DISCARD/WRITE_ZEROES segment]
 *   device-writable:  [data for IN and GET_ID] + the status byte (the last
 *                     writable byte of the chain)
 *
 * Verdicts:
 *   - no writable byte at all: there is nowhere to put a status, so the
 *     request cannot be completed: the parser returns -EINVAL and the device
 *     needs a reset;
 *   - anything else the driver got wrong (short or writable header, data in
 *     the wrong direction, a size that is not whole sectors, sectors past the
 *     capacity or overflowing, a write to a read-only disk, a bad segment)
 *     completes at once with VIRTIO_BLK_S_IOERR; unknown request types, and
 *     DISCARD/WRITE_ZEROES that were not negotiated or carry flags the spec
 *     says to refuse, with VIRTIO_BLK_S_UNSUPP.
 */
#ifndef COVE_DEVICES_VIRTIO_BLK_REQ_H
#define COVE_DEVICES_VIRTIO_BLK_REQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "base/compiler.h"
#include "virtio/virtq.h"

#define VIRTIO_BLK_SECTOR_SHIFT 9
#define VIRTIO_BLK_SECTOR_SIZE (1u << VIRTIO_BLK_SECTOR_SHIFT)
#define VIRTIO_BLK_HDR_SIZE 16	   /* struct virtio_blk_outhdr */
#define VIRTIO_BLK_DWZ_SEG_SIZE 16 /* struct virtio_blk_discard_write_zeroes */
#define VIRTIO_BLK_MAX_DWZ_SEG 1   /* max_discard_seg, max_write_zeroes_seg */

/* What the device offers and the driver negotiated: the parser's rules. */
struct virtio_blk_limits {
	uint64_t capacity; /* 512-byte sectors */
	bool read_only;	   /* VIRTIO_BLK_F_RO offered */
	bool discard;	   /* VIRTIO_BLK_F_DISCARD negotiated */
	bool write_zeroes; /* VIRTIO_BLK_F_WRITE_ZEROES negotiated */
	uint32_t max_discard_sectors;
	uint32_t max_write_zeroes_sectors;
};

struct virtio_blk_req {
	uint32_t type;	 /* VIRTIO_BLK_T_*, as the header said (0 without a header) */
	uint64_t sector; /* IN/OUT: the first sector */
	/*
	 * VIRTIO_BLK_S_OK: perform the request. Anything else: complete it at
	 * once with this status (nothing but the status byte is written).
	 */
	uint8_t status;
	uint8_t *status_ptr; /* the status byte, in guest memory */
	uint32_t data_len;   /* bytes in iov[0..n_iov) */
	unsigned int n_iov;  /* IN/OUT: data; GET_ID: where the id goes */
	/* DISCARD / WRITE_ZEROES: the one segment. */
	uint64_t range_sector;
	uint32_t range_sectors;
	bool unmap; /* WRITE_ZEROES: the driver allows deallocation */
};

/*
 * Parses `chain` under `lim`. The data segments are written into
 * iov[0..max_iov) (req->n_iov of them); max_iov at least the chain's
 * segment count (n_out + n_in) always suffices.
 * Returns 0 with *req filled, or -EINVAL when the chain has no writable
 * byte for the status (the device must then enter NEEDS_RESET).
 */
must_check int virtio_blk_req_parse(const struct virtq_chain *chain,
				    const struct virtio_blk_limits *lim, struct iovec *iov,
				    unsigned int max_iov, struct virtio_blk_req *req);

#endif
