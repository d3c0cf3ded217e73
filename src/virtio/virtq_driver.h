/*
 * The driver side of a split virtqueue, for unit tests and fuzzers: it plays
 * the guest's part over real `struct guest_mem` (anonymous memory), lays the
 * rings out in guest memory, adds descriptor chains (direct or through an
 * indirect table), kicks nothing (the test calls the device), and collects
 * used entries. It trusts nothing the device wrote either: used ids and
 * lengths are checked against what was added.
 *
 * Typical test:
 *   struct guest_mem gm; guest_mem_init(&gm); guest_mem_add(&gm, 0, 1 << 20);
 *   struct virtq_driver drv; virtq_driver_init(&drv, &gm, 0x1000, 256, 0x10000);
 *   virtq_enable(&vq, &drv.layout, event_idx, indirect);
 *   uint64_t buf = virtq_driver_alloc(&drv, 512);
 *   struct virtq_driver_seg segs[] = {{hdr_gpa, 16, false}, {buf, 512, true}};
 *   int head = virtq_driver_add(&drv, segs, 2, false);
 *   ... device pops and pushes ...
 *   struct vring_used_elem e; virtq_driver_get_used(&drv, &e) == 1
 */
#ifndef COVE_VIRTIO_VIRTQ_DRIVER_H
#define COVE_VIRTIO_VIRTQ_DRIVER_H

#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "virtio/virtq.h"
#include "vm/guest_mem.h"

struct virtq_driver_seg {
	uint64_t gpa;
	uint32_t len;
	bool writable; /* device-writable (VRING_DESC_F_WRITE) */
};

struct virtq_driver {
	const struct guest_mem *mem;
	struct virtq_layout layout;	/* hand this to virtq_enable() */
	uint16_t size;
	uint16_t free_head;		/* descriptor free list */
	uint16_t num_free;
	uint16_t avail_idx;		/* driver's copy of avail->idx */
	uint16_t last_used;		/* next used entry to collect */
	uint16_t chain_len[VIRTQ_MAX_SIZE]; /* descriptors taken by each head */
	uint32_t chain_in_len[VIRTQ_MAX_SIZE]; /* writable bytes of each head: used len bound */
	uint64_t heap_next, heap_end;	/* bump allocator for buffers */
};

/*
 * Lays out a queue of `size` entries at `ring_gpa` (descriptor table, avail
 * ring, used ring, each aligned) and a buffer heap from the end of the rings
 * to `ring_gpa + span`. All of it must be guest RAM. Returns 0 or -EINVAL.
 */
must_check int virtq_driver_init(struct virtq_driver *drv, const struct guest_mem *mem,
				 uint64_t ring_gpa, uint16_t size, uint64_t span);

/* Allocates `len` bytes (16-aligned) of guest memory from the heap; 0 when full. */
uint64_t virtq_driver_alloc(struct virtq_driver *drv, uint32_t len);

/*
 * Adds a chain of `n` segments and makes it available (avail->idx bumped).
 * With `indirect`, the segments go into an indirect table allocated from the
 * heap and one descriptor points at it. Returns the head index, or -ENOSPC.
 */
int virtq_driver_add(struct virtq_driver *drv, const struct virtq_driver_seg *segs,
		     unsigned int n, bool indirect);

/*
 * Collects the next used entry: returns 1 and fills *elem, 0 if none is
 * pending, -EPROTO if the device returned a head that was not outstanding or
 * a length above the chain's writable bytes.
 */
int virtq_driver_get_used(struct virtq_driver *drv, struct vring_used_elem *elem);

/* Raw access for tests that break the rules on purpose. */
struct vring_desc *virtq_driver_desc(struct virtq_driver *drv);
struct vring_avail *virtq_driver_avail(struct virtq_driver *drv);
struct vring_used *virtq_driver_used(struct virtq_driver *drv);

/* EVENT_IDX fields: used_event (driver writes), avail_event (device writes). */
void virtq_driver_set_used_event(struct virtq_driver *drv, uint16_t idx);
uint16_t virtq_driver_avail_event(struct virtq_driver *drv);

#endif
