/*
 * The driver side of a split virtqueue (virtio 1.x section 2.7, the driver's
 * requirements), for unit tests and fuzzers; see virtq_driver.h.
 *
 * Layout: descriptor table at ring_gpa, avail ring right after it, used ring
 * at the next 4-byte boundary, both with their EVENT_IDX trailer; the buffer
 * heap starts at the next 16-byte boundary. Free descriptors are linked
 * through their `next` fields, as real drivers do; indirect tables come from
 * the heap and are never freed (the heap is a bump allocator).
 *
 * Guest-controlled, seen from this side: the used ring the device writes.
 * Every used id and length is checked against what was made available.
 */
#include "virtio/virtq_driver.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

static uint64_t avail_area(uint16_t size)
{
	return sizeof(struct vring_avail) + 2ULL * size + 2;
}

static uint64_t used_area(uint16_t size)
{
	return sizeof(struct vring_used) + sizeof(struct vring_used_elem) * (uint64_t)size + 2;
}

struct vring_desc *virtq_driver_desc(struct virtq_driver *drv)
{
	return guest_mem_ptr(drv->mem, drv->layout.desc, sizeof(struct vring_desc) * drv->size);
}

struct vring_avail *virtq_driver_avail(struct virtq_driver *drv)
{
	return guest_mem_ptr(drv->mem, drv->layout.avail, avail_area(drv->size));
}

struct vring_used *virtq_driver_used(struct virtq_driver *drv)
{
	return guest_mem_ptr(drv->mem, drv->layout.used, used_area(drv->size));
}

int virtq_driver_init(struct virtq_driver *drv, const struct guest_mem *mem, uint64_t ring_gpa,
		      uint16_t size, uint64_t span)
{
	uint64_t rings_end;
	struct vring_desc *desc;
	void *area;

	memset(drv, 0, sizeof(*drv));
	if (size == 0 || size > VIRTQ_MAX_SIZE || (size & (size - 1)) || ring_gpa % 16)
		return -EINVAL;
	drv->mem = mem;
	drv->size = size;
	drv->layout.size = size;
	drv->layout.desc = ring_gpa;
	drv->layout.avail = ring_gpa + sizeof(struct vring_desc) * size;
	drv->layout.used = ALIGN_UP(drv->layout.avail + avail_area(size), 4);
	rings_end = drv->layout.used + used_area(size);
	area = guest_mem_ptr(mem, ring_gpa, span);
	if (!area || rings_end - ring_gpa > span)
		return -EINVAL;
	memset(area, 0, rings_end - ring_gpa);
	desc = virtq_driver_desc(drv);
	for (uint16_t i = 0; i < size; i++)
		desc[i].next = htole16((uint16_t)(i + 1));
	drv->num_free = size;
	drv->heap_next = ALIGN_UP(rings_end, 16);
	drv->heap_end = ring_gpa + span;
	return 0;
}

uint64_t virtq_driver_alloc(struct virtq_driver *drv, uint32_t len)
{
	uint64_t gpa = drv->heap_next;
	uint64_t need = ALIGN_UP((uint64_t)len, 16);

	if (len == 0 || need > drv->heap_end - gpa)
		return 0;
	drv->heap_next += need;
	return gpa;
}

static void fill_desc(struct vring_desc *d, const struct virtq_driver_seg *seg, uint16_t flags,
		      uint16_t next)
{
	d->addr = htole64(seg->gpa);
	d->len = htole32(seg->len);
	d->flags = htole16((uint16_t)(flags | (seg->writable ? VRING_DESC_F_WRITE : 0)));
	d->next = htole16(next);
}

/* Writes the segments as a chain into free descriptors; returns the head. */
static uint16_t add_direct(struct virtq_driver *drv, const struct virtq_driver_seg *segs,
			   unsigned int n)
{
	struct vring_desc *desc = virtq_driver_desc(drv);
	uint16_t head = drv->free_head, i = head;

	/* Each descriptor keeps its free-list link as `next`: the chain follows the
	 * free list, and the last one's (unused without NEXT) points at what stays free. */
	for (unsigned int k = 0; k < n; k++) {
		uint16_t next = le16toh(desc[i].next);

		fill_desc(&desc[i], &segs[k], k + 1 < n ? VRING_DESC_F_NEXT : 0, next);
		i = next;
	}
	drv->free_head = i;
	drv->num_free -= n;
	return head;
}

/* Writes the segments into a new indirect table and one descriptor pointing at it. */
static int add_indirect(struct virtq_driver *drv, const struct virtq_driver_seg *segs,
			unsigned int n)
{
	struct vring_desc *desc = virtq_driver_desc(drv), *table;
	uint64_t bytes = sizeof(struct vring_desc) * (uint64_t)n;
	uint64_t gpa = bytes <= UINT32_MAX ? virtq_driver_alloc(drv, (uint32_t)bytes) : 0;
	struct virtq_driver_seg ind = {.gpa = gpa, .len = (uint32_t)bytes};
	uint16_t head = drv->free_head;

	table = gpa ? guest_mem_ptr(drv->mem, gpa, bytes) : NULL;
	if (!table)
		return -ENOSPC;
	for (unsigned int k = 0; k < n; k++)
		fill_desc(&table[k], &segs[k], k + 1 < n ? VRING_DESC_F_NEXT : 0,
			  (uint16_t)(k + 1));
	drv->free_head = le16toh(desc[head].next);
	drv->num_free--;
	fill_desc(&desc[head], &ind, VRING_DESC_F_INDIRECT, drv->free_head);
	return head;
}

int virtq_driver_add(struct virtq_driver *drv, const struct virtq_driver_seg *segs, unsigned int n,
		     bool indirect)
{
	struct vring_avail *avail = virtq_driver_avail(drv);
	uint32_t in_len = 0;
	int head;

	if (n == 0 || n > UINT16_MAX + 1U)
		return -EINVAL;
	if (drv->num_free < (indirect ? 1 : n))
		return -ENOSPC;
	head = indirect ? add_indirect(drv, segs, n) : add_direct(drv, segs, n);
	if (head < 0)
		return head;
	for (unsigned int k = 0; k < n; k++)
		if (segs[k].writable)
			in_len += segs[k].len; /* may wrap for hostile tests; only a bound */
	drv->chain_len[head] = indirect ? 1 : (uint16_t)n;
	drv->chain_in_len[head] = in_len;
	avail->ring[drv->avail_idx & (drv->size - 1)] = htole16((uint16_t)head);
	drv->avail_idx++;
	/* The entry is visible before the index that publishes it. */
	__atomic_store_n(&avail->idx, htole16(drv->avail_idx), __ATOMIC_RELEASE);
	return head;
}

/* Puts the chain of `head` back on the free list. */
static void free_chain(struct virtq_driver *drv, uint16_t head)
{
	struct vring_desc *desc = virtq_driver_desc(drv);
	uint16_t last = head;

	for (uint16_t k = 1; k < drv->chain_len[head]; k++)
		last = le16toh(desc[last].next);
	desc[last].next = htole16(drv->free_head);
	drv->free_head = head;
	drv->num_free += drv->chain_len[head];
	drv->chain_len[head] = 0;
}

int virtq_driver_get_used(struct virtq_driver *drv, struct vring_used_elem *elem)
{
	struct vring_used *used = virtq_driver_used(drv);
	uint16_t idx = le16toh(__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE));
	uint32_t id, len;

	if (idx == drv->last_used)
		return 0;
	/* Device-controlled: the used element. */
	id = le32toh(
	    __atomic_load_n(&used->ring[drv->last_used & (drv->size - 1)].id, __ATOMIC_RELAXED));
	len = le32toh(
	    __atomic_load_n(&used->ring[drv->last_used & (drv->size - 1)].len, __ATOMIC_RELAXED));
	if (id >= drv->size || drv->chain_len[id] == 0 || len > drv->chain_in_len[id])
		return -EPROTO;
	free_chain(drv, (uint16_t)id);
	drv->last_used++;
	elem->id = id;
	elem->len = len;
	return 1;
}

void virtq_driver_set_used_event(struct virtq_driver *drv, uint16_t idx)
{
	struct vring_avail *avail = virtq_driver_avail(drv);

	__atomic_store_n(&avail->ring[drv->size], htole16(idx), __ATOMIC_RELAXED);
	/* Like a driver re-enabling interrupts: the store precedes any later used->idx read. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

uint16_t virtq_driver_avail_event(struct virtq_driver *drv)
{
	struct vring_used *used = virtq_driver_used(drv);

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return le16toh(
	    __atomic_load_n((uint16_t *)(void *)&used->ring[drv->size], __ATOMIC_RELAXED));
}
