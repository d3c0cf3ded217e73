/*
 * virtio-blk (virtio 1.x section 5.2): one device per --block disk, over
 * the disk backend (backends/disk.h). Requests are parsed by
 * virtio_blk_req.c and run asynchronously, several in flight per queue;
 * each completion writes the status byte, pushes the used entry with the
 * bytes written and notifies the driver.
 *
 * Features: SIZE_MAX, SEG_MAX (queue size - 2), BLK_SIZE, FLUSH, MQ (one
 * queue per vCPU), RO for read-only disks, DISCARD and WRITE_ZEROES for
 * sparse writable ones. Request types: IN, OUT, FLUSH (fdatasync), GET_ID,
 * DISCARD (punch hole), WRITE_ZEROES (zero range, or punch hole with
 * unmap); anything else completes with UNSUPP.
 *
 * Reset (and teardown) waits for every request in flight before returning:
 * once the driver sees status 0 it may reuse the buffers.
 */
#ifndef COVE_DEVICES_VIRTIO_BLK_H
#define COVE_DEVICES_VIRTIO_BLK_H

#include <linux/virtio_blk.h>
#include <stdbool.h>
#include <stdint.h>

#include "backends/disk.h"
#include "base/compiler.h"
#include "base/event_loop.h"
#include "config/vm_config.h"
#include "devices/virtio_blk/virtio_blk_req.h"
#include "virtio/virtio_dev.h"
#include "vm/guest_mem.h"

#define VIRTIO_BLK_QUEUE_SIZE 256
#define VIRTIO_BLK_SIZE_MAX (1u << 20)	      /* bytes per segment */
#define VIRTIO_BLK_MAX_DWZ_SECTORS (1u << 23) /* 4 GiB per discard / write-zeroes */

struct virtio_blk;

/* One request slot: at most queue-size requests are outstanding per queue. */
struct virtio_blk_slot {
	struct disk_io io;
	struct virtio_blk *blk;
	unsigned int queue;
	uint16_t head;	     /* the chain to push back */
	uint8_t *status_ptr; /* in guest memory */
	uint32_t used_len;   /* bytes written on success (data + status) */
	struct iovec *iov;   /* VIRTIO_BLK_QUEUE_SIZE entries: the data segments */
	struct virtio_blk_slot *next_free;
};

struct virtio_blk_queue {
	struct virtio_blk_slot *slots; /* VIRTIO_BLK_QUEUE_SIZE of them */
	struct virtio_blk_slot *free;
	unsigned int in_flight;
	bool notify; /* pushed since the last virtio_dev_notify */
};

struct virtio_blk {
	struct virtio_device vdev;
	char name[32];		      /* "virtio-blk (vda)" */
	char id[VIRTIO_BLK_ID_BYTES]; /* GET_ID: NUL-padded, no NUL at 20 */
	struct disk disk;
	struct virtio_blk_config config; /* little-endian, as the driver reads it */
	struct virtio_blk_limits limits; /* set by activate from the negotiated features */
	unsigned int num_queues;
	struct virtio_blk_queue *queues;
	struct virtq_chain chain; /* scratch for virtq_pop (device lock held) */
};

/*
 * Creates the device for disk `index` (vda = 0) of configuration `bc`,
 * with `num_queues` request queues, opening and starting its disk on
 * `loop`. Usable without a VM (unit tests): attach vdev to a transport
 * afterwards. Returns 0, or -errno after logging one line naming the disk.
 * Released with vdev.ops->destroy (after a reset).
 */
must_check int virtio_blk_create(const struct block_config *bc, unsigned int index,
				 unsigned int num_queues, const struct guest_mem *mem,
				 struct event_loop *loop, struct virtio_blk **out);

struct vm;
/*
 * The registry's module entry: one device per disk in vm->cfg, in order,
 * each with one queue per vCPU, attached with vm_attach_virtio().
 */
must_check int virtio_blk_create_all(struct vm *vm);

#endif
