/*
 * Unit tests for the split virtqueue (device side), driven by virtq_driver
 * over real guest memory: normal chains, index wrap-around, notification
 * decisions, draining a kick (virtq_drain), and every ring rule a hostile
 * guest can break (each must give -EINVAL, never a crash: these tests also
 * run under ASan and UBSan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "virtio/virtq.h"
#include "virtio/virtq_driver.h"

/* RAM: [0, 1 MiB) and [2 MiB, 2 MiB + 64 KiB), a gap between them. */
#define RAM_A_SIZE (1 * MiB)
#define RAM_B_GPA (2 * MiB)
#define RAM_B_SIZE (64 * KiB)
#define RING_GPA 0x1000
#define SPAN (512 * KiB)
#define NOWHERE 0x40000000ULL /* not RAM */

struct env {
	struct guest_mem gm;
	struct virtq_driver drv;
	struct virtq vq;
	struct virtq_chain chain;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	guest_mem_init(&e->gm);
	assert_int_equal(guest_mem_add(&e->gm, 0, RAM_A_SIZE), 0);
	assert_int_equal(guest_mem_add(&e->gm, RAM_B_GPA, RAM_B_SIZE), 0);
	virtq_init(&e->vq, &e->gm);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	guest_mem_destroy(&e->gm);
	free(e);
	return 0;
}

static void open_queue(struct env *e, uint16_t size, bool event_idx, bool indirect)
{
	assert_int_equal(virtq_driver_init(&e->drv, &e->gm, RING_GPA, size, SPAN), 0);
	virtq_init(&e->vq, &e->gm);
	assert_int_equal(virtq_enable(&e->vq, &e->drv.layout, event_idx, indirect), 0);
}

static int pop(struct env *e)
{
	return virtq_pop(&e->vq, &e->chain);
}

static uint64_t buf(struct env *e, uint32_t len)
{
	uint64_t gpa = virtq_driver_alloc(&e->drv, len);

	assert_int_not_equal(gpa, 0);
	return gpa;
}

static void *hva(struct env *e, uint64_t gpa, uint64_t len)
{
	void *p = guest_mem_ptr(&e->gm, gpa, len);

	assert_non_null(p);
	return p;
}

static void set_desc(struct vring_desc *table, uint16_t i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	table[i].addr = htole64(addr);
	table[i].len = htole32(len);
	table[i].flags = htole16(flags);
	table[i].next = htole16(next);
}

/* Raw descriptor i of the queue's own table. */
static void qdesc(struct env *e, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		  uint16_t next)
{
	set_desc(virtq_driver_desc(&e->drv), i, addr, len, flags, next);
}

/* An indirect table of n entries in the driver's heap; returns its gpa. */
static struct vring_desc *itable(struct env *e, unsigned int n, uint64_t *gpa)
{
	*gpa = buf(e, 16 * n);
	return hva(e, *gpa, 16 * n);
}

/* Makes `head` available by hand, bypassing the driver's free list. */
static void make_avail(struct env *e, uint16_t head)
{
	struct vring_avail *avail = virtq_driver_avail(&e->drv);

	avail->ring[e->drv.avail_idx & (e->drv.size - 1)] = htole16(head);
	e->drv.avail_idx++;
	__atomic_store_n(&avail->idx, htole16(e->drv.avail_idx), __ATOMIC_RELEASE);
}

static uint16_t used_flags(struct env *e)
{
	return le16toh(virtq_driver_used(&e->drv)->flags);
}

static void set_avail_flags(struct env *e, uint16_t flags)
{
	virtq_driver_avail(&e->drv)->flags = htole16(flags);
}

/* The driver's side of EVENT_IDX kicks: vring_need_event(avail_event, new, old). */
static bool driver_needs_kick(struct env *e, uint16_t old)
{
	uint16_t event = virtq_driver_avail_event(&e->drv), new = e->drv.avail_idx;

	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

/* ---- normal chains ---------------------------------------------------- */

static void check_request(struct env *e, bool indirect)
{
	uint64_t hdr = buf(e, 16), data = buf(e, 100), out = buf(e, 200);
	struct virtq_driver_seg segs[] = { { hdr, 16, false }, { data, 100, false },
					   { out, 200, true } };
	uint8_t bytes[116], reply[200];
	struct vring_used_elem elem;
	int head;

	for (unsigned int i = 0; i < sizeof(bytes); i++)
		((uint8_t *)hva(e, hdr, 116))[i] = (uint8_t)i; /* hdr and data are adjacent */
	head = virtq_driver_add(&e->drv, segs, 3, indirect);
	assert_true(head >= 0);
	assert_int_equal(pop(e), 1);
	assert_int_equal(e->chain.head, head);
	assert_int_equal(e->chain.n_out, 2);
	assert_int_equal(e->chain.n_in, 1);
	assert_int_equal(e->chain.out_len, 116);
	assert_int_equal(e->chain.in_len, 200);
	assert_ptr_equal(e->chain.iov[0].iov_base, hva(e, hdr, 16));
	assert_ptr_equal(e->chain.iov[2].iov_base, hva(e, out, 200));
	/* Reads cross the segment boundary; the offset skips whole segments. */
	assert_int_equal(virtq_chain_read(&e->chain, 0, bytes, sizeof(bytes)), 116);
	for (unsigned int i = 0; i < sizeof(bytes); i++)
		assert_int_equal(bytes[i], (uint8_t)i);
	assert_int_equal(virtq_chain_read(&e->chain, 20, bytes, 10), 10);
	assert_int_equal(bytes[0], 20);
	assert_int_equal(virtq_chain_read(&e->chain, 110, bytes, 100), 6);
	assert_int_equal(virtq_chain_read(&e->chain, 116, bytes, 1), 0);
	memset(reply, 0xab, sizeof(reply));
	assert_int_equal(virtq_chain_write(&e->chain, 150, reply, sizeof(reply)), 50);
	assert_int_equal(((uint8_t *)hva(e, out, 200))[150], 0xab);
	assert_int_equal(((uint8_t *)hva(e, out, 200))[149], 0);
	virtq_push(&e->vq, e->chain.head, 200);
	assert_int_equal(virtq_driver_get_used(&e->drv, &elem), 1);
	assert_int_equal(elem.id, head);
	assert_int_equal(elem.len, 200);
	assert_int_equal(pop(e), 0);
	assert_int_equal(virtq_driver_get_used(&e->drv, &elem), 0);
}

static void test_direct_chain(void **state)
{
	struct env *e = *state;

	open_queue(e, 8, false, false);
	check_request(e, false);
	assert_int_equal(e->drv.num_free, 8);
}

static void test_indirect_chain(void **state)
{
	struct env *e = *state;

	open_queue(e, 8, true, true);
	check_request(e, true);
	assert_int_equal(e->drv.num_free, 8);
}

/* Direct descriptors followed by an indirect one (spec 2.7.5.3.2). */
static void test_direct_then_indirect(void **state)
{
	struct env *e = *state;
	uint64_t tgpa, a, b;
	struct vring_desc *t;

	open_queue(e, 8, false, true);
	a = buf(e, 32);
	b = buf(e, 64);
	t = itable(e, 2, &tgpa);
	qdesc(e, 3, a, 32, VRING_DESC_F_NEXT, 5);
	/* WRITE on the indirect descriptor itself is ignored. */
	qdesc(e, 5, tgpa, 32, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	set_desc(t, 0, b, 16, VRING_DESC_F_NEXT, 1);
	set_desc(t, 1, b + 16, 48, VRING_DESC_F_WRITE, 0);
	make_avail(e, 3);
	assert_int_equal(pop(e), 1);
	assert_int_equal(e->chain.head, 3);
	assert_int_equal(e->chain.n_out, 2);
	assert_int_equal(e->chain.n_in, 1);
	assert_int_equal(e->chain.out_len, 48);
	assert_int_equal(e->chain.in_len, 48);
}

/* Indirect table entries need not follow table order. */
static void test_indirect_next_order(void **state)
{
	struct env *e = *state;
	uint64_t tgpa, b;
	struct vring_desc *t;

	open_queue(e, 4, false, true);
	b = buf(e, 64);
	t = itable(e, 3, &tgpa);
	set_desc(t, 0, b, 10, VRING_DESC_F_NEXT, 2);
	set_desc(t, 2, b + 10, 20, VRING_DESC_F_NEXT, 1);
	set_desc(t, 1, b + 30, 30, VRING_DESC_F_WRITE, 0);
	qdesc(e, 0, tgpa, 48, VRING_DESC_F_INDIRECT, 0);
	make_avail(e, 0);
	assert_int_equal(pop(e), 1);
	assert_int_equal(e->chain.out_len, 30);
	assert_int_equal(e->chain.in_len, 30);
	assert_int_equal(e->chain.iov[1].iov_len, 20);
}

static void test_zero_length_skipped(void **state)
{
	struct env *e = *state;
	uint64_t b;

	open_queue(e, 4, false, false);
	b = buf(e, 64);
	/* A zero-length descriptor's address is never used, even if it is not RAM. */
	qdesc(e, 0, NOWHERE, 0, VRING_DESC_F_NEXT, 1);
	qdesc(e, 1, b, 64, VRING_DESC_F_NEXT, 2);
	qdesc(e, 2, NOWHERE, 0, VRING_DESC_F_WRITE, 0);
	make_avail(e, 0);
	assert_int_equal(pop(e), 1);
	assert_int_equal(e->chain.n_out, 1);
	assert_int_equal(e->chain.n_in, 0);
	assert_int_equal(e->chain.out_len, 64);
}

/* A chain of exactly `size` descriptors, and a full ring of one-descriptor chains. */
static void test_limits_accepted(void **state)
{
	struct env *e = *state;
	struct virtq_driver_seg segs[8];
	struct vring_used_elem elem;
	uint64_t b;

	open_queue(e, 8, false, false);
	b = buf(e, 8 * 8);
	for (unsigned int i = 0; i < 8; i++)
		segs[i] = (struct virtq_driver_seg){ b + 8 * i, 8, i >= 4 };
	assert_true(virtq_driver_add(&e->drv, segs, 8, false) >= 0);
	assert_int_equal(pop(e), 1);
	assert_int_equal(e->chain.n_out + e->chain.n_in, 8);
	virtq_push(&e->vq, e->chain.head, 0);
	assert_int_equal(virtq_driver_get_used(&e->drv, &elem), 1);
	for (unsigned int i = 0; i < 8; i++)
		assert_true(virtq_driver_add(&e->drv, &segs[i], 1, false) >= 0);
	for (unsigned int i = 0; i < 8; i++)
		assert_int_equal(pop(e), 1);
	assert_int_equal(pop(e), 0);
}

/* More than 65536 requests through a queue of 4: both 16-bit indices wrap. */
static void run_wraparound(struct env *e, bool event_idx, bool indirect)
{
	uint64_t b;
	struct vring_used_elem elem;

	open_queue(e, 4, event_idx, indirect);
	b = buf(e, 64);
	for (unsigned int i = 0; i < 70000; i++) {
		struct virtq_driver_seg segs[] = { { b, 8, false }, { b + 8 + i % 8, 24, true } };
		int head = virtq_driver_add(&e->drv, segs, 2, indirect);

		assert_true(head >= 0);
		if (i % 3 == 0) /* sometimes two in flight */
			assert_true(virtq_driver_add(&e->drv, segs, 1, indirect) >= 0);
		while (pop(e) == 1) {
			virtq_push(&e->vq, e->chain.head, e->chain.in_len);
			/* The driver wants an interrupt for every buffer. */
			if (event_idx)
				virtq_driver_set_used_event(&e->drv, e->drv.last_used);
			assert_true(virtq_should_notify(&e->vq));
			assert_int_equal(virtq_driver_get_used(&e->drv, &elem), 1);
		}
		assert_int_equal(virtq_driver_get_used(&e->drv, &elem), 0);
	}
	assert_int_equal(e->drv.num_free, 4);
	assert_int_equal(e->vq.last_avail, e->drv.avail_idx);
	assert_int_equal(e->vq.used_idx, e->drv.last_used);
}

static void test_wraparound(void **state)
{
	run_wraparound(*state, false, false);
}

static void test_wraparound_event_idx(void **state)
{
	run_wraparound(*state, true, false);
}

/* ---- notifications ---------------------------------------------------- */

static void push_one(struct env *e)
{
	uint64_t b = buf(e, 16);
	struct virtq_driver_seg seg = { b, 16, true };
	struct vring_used_elem elem;

	assert_true(virtq_driver_add(&e->drv, &seg, 1, false) >= 0);
	assert_int_equal(pop(e), 1);
	virtq_push(&e->vq, e->chain.head, 16);
	assert_int_equal(virtq_driver_get_used(&e->drv, &elem), 1);
}

static void test_event_idx_notify(void **state)
{
	struct env *e = *state;

	open_queue(e, 8, true, false);
	push_one(e); /* used idx 1 */
	assert_true(virtq_should_notify(&e->vq)); /* first decision */
	assert_false(virtq_should_notify(&e->vq)); /* nothing new */
	virtq_driver_set_used_event(&e->drv, 1);
	push_one(e); /* used idx 2: crosses used_event 1 */
	assert_true(virtq_should_notify(&e->vq));
	virtq_driver_set_used_event(&e->drv, 4);
	push_one(e); /* 3 */
	assert_false(virtq_should_notify(&e->vq));
	push_one(e); /* 4 */
	assert_false(virtq_should_notify(&e->vq));
	push_one(e); /* 5: entry 4 used */
	assert_true(virtq_should_notify(&e->vq));
	/* A batch crossing the event in its middle. */
	virtq_driver_set_used_event(&e->drv, 6);
	push_one(e);
	push_one(e);
	push_one(e); /* 8 */
	assert_true(virtq_should_notify(&e->vq));
	/* A batch that stops short of it. */
	virtq_driver_set_used_event(&e->drv, 20);
	push_one(e);
	push_one(e);
	assert_false(virtq_should_notify(&e->vq));
}

/* 65536 pushes without a decision: the old index means nothing, so notify. */
static void test_event_idx_full_wrap(void **state)
{
	struct env *e = *state;

	open_queue(e, 8, true, false);
	push_one(e);
	assert_true(virtq_should_notify(&e->vq));
	virtq_driver_set_used_event(&e->drv, 30000);
	for (unsigned int i = 0; i < 65536; i++)
		virtq_push(&e->vq, 0, 0);
	assert_int_equal(e->vq.used_idx, 1);
	assert_true(virtq_should_notify(&e->vq));
}

static void test_no_interrupt_flag(void **state)
{
	struct env *e = *state;

	open_queue(e, 8, false, false);
	push_one(e);
	assert_true(virtq_should_notify(&e->vq));
	set_avail_flags(e, VRING_AVAIL_F_NO_INTERRUPT);
	push_one(e);
	assert_false(virtq_should_notify(&e->vq));
	set_avail_flags(e, 0);
	assert_false(virtq_should_notify(&e->vq)); /* nothing pushed since */
	push_one(e);
	assert_true(virtq_should_notify(&e->vq));
	/* EVENT_IDX ignores the flag. */
	open_queue(e, 8, true, false);
	set_avail_flags(e, VRING_AVAIL_F_NO_INTERRUPT);
	push_one(e);
	assert_true(virtq_should_notify(&e->vq));
}

static void test_suppression_flags(void **state)
{
	struct env *e = *state;
	struct virtq_driver_seg seg = { RING_GPA, 16, false };

	open_queue(e, 8, false, false);
	virtq_disable_notify(&e->vq);
	assert_int_equal(used_flags(e), VRING_USED_F_NO_NOTIFY);
	assert_false(virtq_enable_notify(&e->vq));
	assert_int_equal(used_flags(e), 0);
	/* The race: a buffer arrives while notifications are off. */
	virtq_disable_notify(&e->vq);
	assert_true(virtq_driver_add(&e->drv, &seg, 1, false) >= 0);
	assert_true(virtq_enable_notify(&e->vq));
	assert_int_equal(pop(e), 1);
	/* A pop that finds the ring empty asks for kicks again. */
	virtq_disable_notify(&e->vq);
	assert_int_equal(pop(e), 0);
	assert_int_equal(used_flags(e), 0);
}

static void test_event_idx_suppression(void **state)
{
	struct env *e = *state;
	struct virtq_driver_seg seg = { RING_GPA, 16, false };
	uint16_t old;

	open_queue(e, 8, true, false);
	for (unsigned int i = 0; i < 3; i++)
		assert_true(virtq_driver_add(&e->drv, &seg, 1, false) >= 0);
	assert_int_equal(pop(e), 1);
	assert_int_equal(pop(e), 1);
	/* Disabling leaves avail_event alone; used->flags is not used. */
	virtq_disable_notify(&e->vq);
	assert_int_equal(virtq_driver_avail_event(&e->drv), 0);
	assert_int_equal(used_flags(e), 0);
	/* One still pending: enabling asks for the next kick and reports it. */
	assert_true(virtq_enable_notify(&e->vq));
	assert_int_equal(virtq_driver_avail_event(&e->drv), 2);
	assert_int_equal(pop(e), 1);
	assert_int_equal(pop(e), 0); /* empty: avail_event = last_avail */
	assert_int_equal(virtq_driver_avail_event(&e->drv), 3);
	assert_false(virtq_enable_notify(&e->vq));
	/* The driver now kicks for its next buffer. */
	old = e->drv.avail_idx;
	assert_true(virtq_driver_add(&e->drv, &seg, 1, false) >= 0);
	assert_true(driver_needs_kick(e, old));
	/* While the device is behind, the driver does not kick again. */
	old = e->drv.avail_idx;
	assert_true(virtq_driver_add(&e->drv, &seg, 1, false) >= 0);
	assert_false(driver_needs_kick(e, old));
	/* Race: disabled, a buffer arrives, enable must report it. */
	assert_int_equal(pop(e), 1);
	virtq_disable_notify(&e->vq);
	assert_true(virtq_enable_notify(&e->vq));
	assert_int_equal(pop(e), 1);
	assert_false(virtq_enable_notify(&e->vq));
}

/* virtq_drain's `take` for the tests: records the head, stops at `stop_after`. */
struct drain_log {
	struct env *e;
	uint16_t heads[8];
	uint16_t flags_seen[8]; /* used->flags while draining */
	unsigned int n, stop_after, add_at;
};

static bool take_one(void *opaque, const struct virtq_chain *chain)
{
	struct drain_log *l = opaque;
	struct virtq_driver_seg seg = { RING_GPA, 16, false };

	assert_ptr_equal(chain, &l->e->chain);
	assert_true(l->n < 8);
	l->flags_seen[l->n] = used_flags(l->e);
	l->heads[l->n++] = chain->head;
	if (l->n == l->add_at) /* a buffer arrives while the device drains */
		assert_true(virtq_driver_add(&l->e->drv, &seg, 1, false) >= 0);
	return l->n != l->stop_after;
}

static void test_drain(void **state)
{
	struct env *e = *state;
	struct virtq_driver_seg seg = { RING_GPA, 16, false };
	struct drain_log l = { .e = e, .add_at = 2 };
	int heads[3];

	open_queue(e, 8, false, false);
	for (unsigned int i = 0; i < 3; i++) {
		heads[i] = virtq_driver_add(&e->drv, &seg, 1, false);
		assert_true(heads[i] >= 0);
	}
	assert_int_equal(virtq_drain(&e->vq, &e->chain, take_one, &l), 1);
	/* All three in order, and the one added meanwhile; kicks off throughout. */
	assert_int_equal(l.n, 4);
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(l.heads[i], heads[i]);
	for (unsigned int i = 0; i < 4; i++)
		assert_int_equal(l.flags_seen[i], VRING_USED_F_NO_NOTIFY);
	assert_int_equal(used_flags(e), 0); /* armed again */
	assert_int_equal(pop(e), 0);
	/* An empty ring: nothing taken, still armed. */
	l.n = 0;
	assert_int_equal(virtq_drain(&e->vq, &e->chain, take_one, &l), 1);
	assert_int_equal(l.n, 0);
	assert_int_equal(used_flags(e), 0);
}

static void test_drain_stopped(void **state)
{
	struct env *e = *state;
	struct virtq_driver_seg seg = { RING_GPA, 16, false };
	struct drain_log l = { .e = e, .stop_after = 1 };

	open_queue(e, 8, false, false);
	for (unsigned int i = 0; i < 2; i++)
		assert_true(virtq_driver_add(&e->drv, &seg, 1, false) >= 0);
	assert_int_equal(virtq_drain(&e->vq, &e->chain, take_one, &l), 0);
	assert_int_equal(l.n, 1);
	/* The second chain stays available, kicks stay off. */
	assert_int_equal(used_flags(e), VRING_USED_F_NO_NOTIFY);
	assert_int_equal(pop(e), 1);
}

static void test_drain_broken_ring(void **state)
{
	struct env *e = *state;
	struct virtq_driver_seg seg = { RING_GPA, 16, false };
	struct drain_log l = { .e = e };

	open_queue(e, 8, false, false);
	assert_true(virtq_driver_add(&e->drv, &seg, 1, false) >= 0);
	make_avail(e, 8); /* a head beyond the queue size */
	assert_int_equal(virtq_drain(&e->vq, &e->chain, take_one, &l), -EINVAL);
	assert_int_equal(l.n, 1); /* the good chain before it was taken */
	/* A disabled queue: nothing to drain. */
	virtq_reset(&e->vq);
	l.n = 0;
	assert_int_equal(virtq_drain(&e->vq, &e->chain, take_one, &l), 1);
	assert_int_equal(l.n, 0);
}

static void test_disabled_queue(void **state)
{
	struct env *e = *state;

	assert_int_equal(pop(e), 0);
	assert_false(virtq_should_notify(&e->vq));
	assert_false(virtq_enable_notify(&e->vq));
	virtq_disable_notify(&e->vq);
	open_queue(e, 8, false, false);
	virtq_reset(&e->vq);
	assert_false(e->vq.enabled);
	assert_int_equal(pop(e), 0);
}

/* ---- ring layout ------------------------------------------------------ */

static int enable_with(struct env *e, uint16_t size, uint64_t desc, uint64_t avail, uint64_t used,
		       bool event_idx)
{
	struct virtq_layout l = { .size = size, .desc = desc, .avail = avail, .used = used };

	virtq_init(&e->vq, &e->gm);
	return virtq_enable(&e->vq, &l, event_idx, false);
}

static void test_layout_size(void **state)
{
	struct env *e = *state;

	assert_int_equal(enable_with(e, 1, 0x1000, 0x2000, 0x3000, true), 0);
	assert_int_equal(enable_with(e, VIRTQ_MAX_SIZE, 0x10000, 0x20000, 0x30000, true), 0);
	assert_int_equal(enable_with(e, 0, 0x1000, 0x2000, 0x3000, false), -EINVAL);
	assert_int_equal(enable_with(e, 3, 0x1000, 0x2000, 0x3000, false), -EINVAL);
	assert_int_equal(enable_with(e, 96, 0x1000, 0x2000, 0x3000, false), -EINVAL);
	assert_int_equal(enable_with(e, VIRTQ_MAX_SIZE * 2, 0x10000, 0x20000, 0x40000, false),
			 -EINVAL);
	assert_int_equal(enable_with(e, 32768, 0x10000, 0x20000, 0x40000, false), -EINVAL);
	assert_false(e->vq.enabled);
	assert_int_equal(pop(e), 0);
}

static void test_layout_alignment(void **state)
{
	struct env *e = *state;

	assert_int_equal(enable_with(e, 8, 0x1010, 0x2002, 0x3004, false), 0);
	assert_int_equal(enable_with(e, 8, 0x1008, 0x2000, 0x3000, false), -EINVAL);
	assert_int_equal(enable_with(e, 8, 0x1000, 0x2001, 0x3000, false), -EINVAL);
	assert_int_equal(enable_with(e, 8, 0x1000, 0x2000, 0x3002, false), -EINVAL);
}

static void test_layout_outside_ram(void **state)
{
	struct env *e = *state;
	uint64_t end = RAM_A_SIZE;

	assert_int_equal(enable_with(e, 8, NOWHERE, 0x2000, 0x3000, false), -EINVAL);
	assert_int_equal(enable_with(e, 8, 0x1000, NOWHERE, 0x3000, false), -EINVAL);
	assert_int_equal(enable_with(e, 8, 0x1000, 0x2000, NOWHERE, false), -EINVAL);
	/* Areas crossing the end of a region into the gap, or wrapping 2^64. */
	assert_int_equal(enable_with(e, 8, end - 64, 0x2000, 0x3000, false), -EINVAL);
	assert_int_equal(enable_with(e, 8, 0x1000, end - 8, 0x3000, false), -EINVAL);
	assert_int_equal(enable_with(e, 8, UINT64_MAX - 15, 0x2000, 0x3000, false), -EINVAL);
	assert_int_equal(enable_with(e, 8, 0x1000, 0x2000, UINT64_MAX - 3, false), -EINVAL);
	/* Exactly at the end: fine without EVENT_IDX, but avail_event needs 2 bytes more. */
	assert_int_equal(enable_with(e, 8, 0x1000, 0x2000, end - 68, false), 0);
	assert_int_equal(enable_with(e, 8, 0x1000, 0x2000, end - 68, true), -EINVAL);
	assert_int_equal(enable_with(e, 8, 0x1000, end - 20, 0x3000, false), 0);
	assert_int_equal(enable_with(e, 8, 0x1000, end - 20, 0x3000, true), -EINVAL);
	/* The second region works as well as the first. */
	assert_int_equal(enable_with(e, 8, RAM_B_GPA, RAM_B_GPA + 0x1000, RAM_B_GPA + 0x2000,
				     true),
			 0);
}

/* ---- hostile chains: each must be refused ----------------------------- */

static void expect_bad_head(struct env *e, uint16_t head)
{
	make_avail(e, head);
	assert_int_equal(pop(e), -EINVAL);
	/* The queue stays broken, and asking again is harmless. */
	assert_int_equal(pop(e), -EINVAL);
}

static void test_loop(void **state)
{
	struct env *e = *state;
	uint64_t b;

	open_queue(e, 8, false, false);
	b = buf(e, 16);
	qdesc(e, 0, b, 16, VRING_DESC_F_NEXT, 1);
	qdesc(e, 1, b, 16, VRING_DESC_F_NEXT, 2);
	qdesc(e, 2, b, 16, VRING_DESC_F_NEXT, 0);
	expect_bad_head(e, 0);
}

static void test_self_loop(void **state)
{
	struct env *e = *state;

	open_queue(e, 8, false, false);
	qdesc(e, 5, buf(e, 16), 16, VRING_DESC_F_NEXT, 5);
	expect_bad_head(e, 5);
}

static void test_zero_length_loop(void **state)
{
	struct env *e = *state;

	open_queue(e, 8, false, false);
	qdesc(e, 0, 0, 0, VRING_DESC_F_NEXT, 1);
	qdesc(e, 1, 0, 0, VRING_DESC_F_NEXT, 0);
	expect_bad_head(e, 0);
}

static void test_next_out_of_range(void **state)
{
	struct env *e = *state;

	open_queue(e, 8, false, false);
	qdesc(e, 0, buf(e, 16), 16, VRING_DESC_F_NEXT, 8);
	expect_bad_head(e, 0);
}

static void test_head_out_of_range(void **state)
{
	struct env *e = *state;

	open_queue(e, 8, false, false);
	expect_bad_head(e, 8);
	open_queue(e, 8, false, false);
	expect_bad_head(e, 0xffff);
}

/* size - 1 direct descriptors plus an indirect table of 2: one too many. */
static void test_chain_longer_than_size(void **state)
{
	struct env *e = *state;
	uint64_t tgpa, b;
	struct vring_desc *t;

	open_queue(e, 4, false, true);
	b = buf(e, 16);
	t = itable(e, 2, &tgpa);
	for (uint16_t i = 0; i < 3; i++)
		qdesc(e, i, b, 16, VRING_DESC_F_NEXT, (uint16_t)(i + 1));
	qdesc(e, 3, tgpa, 32, VRING_DESC_F_INDIRECT, 0);
	set_desc(t, 0, b, 16, VRING_DESC_F_NEXT, 1);
	set_desc(t, 1, b, 16, 0, 0);
	expect_bad_head(e, 0);
	/* With a table of 1 the chain is exactly `size` long, and fine. */
	open_queue(e, 4, false, true);
	for (uint16_t i = 0; i < 3; i++)
		qdesc(e, i, b, 16, VRING_DESC_F_NEXT, (uint16_t)(i + 1));
	qdesc(e, 3, tgpa, 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(t, 0, b, 16, 0, 0);
	make_avail(e, 0);
	assert_int_equal(pop(e), 1);
	assert_int_equal(e->chain.n_out, 4);
}

/* Zero-length descriptors count toward the bound. */
static void test_zero_length_counted(void **state)
{
	struct env *e = *state;
	uint64_t tgpa;
	struct vring_desc *t;

	open_queue(e, 4, false, true);
	t = itable(e, 4, &tgpa);
	for (uint16_t i = 0; i < 4; i++)
		set_desc(t, i, 0, 0, i < 3 ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	qdesc(e, 0, 0, 0, VRING_DESC_F_NEXT, 1);
	qdesc(e, 1, tgpa, 64, VRING_DESC_F_INDIRECT, 0);
	expect_bad_head(e, 0);
}

static void test_indirect_table_sizes(void **state)
{
	struct env *e = *state;
	uint64_t tgpa, b;
	struct vring_desc *t;

	open_queue(e, 4, false, true);
	b = buf(e, 16);
	t = itable(e, 5, &tgpa);
	for (uint16_t i = 0; i < 5; i++)
		set_desc(t, i, b, 16, i < 4 ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	/* A table of exactly `size` entries is fine... */
	qdesc(e, 0, tgpa, 64, VRING_DESC_F_INDIRECT, 0);
	set_desc(t, 3, b, 16, 0, 0);
	make_avail(e, 0);
	assert_int_equal(pop(e), 1);
	assert_int_equal(e->chain.n_out, 4);
	/* ... more entries than the queue size are not, even if the chain is short. */
	qdesc(e, 1, tgpa, 80, VRING_DESC_F_INDIRECT, 0);
	expect_bad_head(e, 1);
	open_queue(e, 4, false, true);
	qdesc(e, 0, tgpa, 0, VRING_DESC_F_INDIRECT, 0);
	expect_bad_head(e, 0);
	open_queue(e, 4, false, true);
	qdesc(e, 0, tgpa, 24, VRING_DESC_F_INDIRECT, 0);
	expect_bad_head(e, 0);
}

static void test_indirect_with_next(void **state)
{
	struct env *e = *state;
	uint64_t tgpa;
	struct vring_desc *t;

	open_queue(e, 4, false, true);
	t = itable(e, 1, &tgpa);
	set_desc(t, 0, buf(e, 16), 16, 0, 0);
	qdesc(e, 0, tgpa, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	qdesc(e, 1, buf(e, 16), 16, 0, 0);
	expect_bad_head(e, 0);
}

static void test_indirect_nested(void **state)
{
	struct env *e = *state;
	uint64_t t1gpa, t2gpa;
	struct vring_desc *t1, *t2;

	open_queue(e, 4, false, true);
	t1 = itable(e, 2, &t1gpa);
	t2 = itable(e, 1, &t2gpa);
	set_desc(t2, 0, buf(e, 16), 16, 0, 0);
	set_desc(t1, 0, buf(e, 16), 16, VRING_DESC_F_NEXT, 1);
	set_desc(t1, 1, t2gpa, 16, VRING_DESC_F_INDIRECT, 0);
	qdesc(e, 0, t1gpa, 32, VRING_DESC_F_INDIRECT, 0);
	expect_bad_head(e, 0);
}

static void test_indirect_without_feature(void **state)
{
	struct env *e = *state;
	uint64_t tgpa;
	struct vring_desc *t;

	open_queue(e, 4, false, false);
	t = itable(e, 1, &tgpa);
	set_desc(t, 0, buf(e, 16), 16, 0, 0);
	qdesc(e, 0, tgpa, 16, VRING_DESC_F_INDIRECT, 0);
	expect_bad_head(e, 0);
}

static void test_indirect_loop_and_next(void **state)
{
	struct env *e = *state;
	uint64_t tgpa, b;
	struct vring_desc *t;

	open_queue(e, 8, false, true);
	b = buf(e, 16);
	t = itable(e, 2, &tgpa);
	set_desc(t, 0, b, 16, VRING_DESC_F_NEXT, 1);
	set_desc(t, 1, b, 16, VRING_DESC_F_NEXT, 0);
	qdesc(e, 0, tgpa, 32, VRING_DESC_F_INDIRECT, 0);
	expect_bad_head(e, 0);
	open_queue(e, 8, false, true);
	qdesc(e, 0, tgpa, 32, VRING_DESC_F_INDIRECT, 0);
	set_desc(t, 0, b, 16, VRING_DESC_F_NEXT, 2); /* beyond the table, within the queue */
	expect_bad_head(e, 0);
}

static void test_indirect_table_outside_ram(void **state)
{
	struct env *e = *state;

	open_queue(e, 8, false, true);
	qdesc(e, 0, NOWHERE, 32, VRING_DESC_F_INDIRECT, 0);
	expect_bad_head(e, 0);
	open_queue(e, 8, false, true);
	qdesc(e, 0, RAM_A_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0); /* into the gap */
	expect_bad_head(e, 0);
	open_queue(e, 8, false, true);
	qdesc(e, 0, UINT64_MAX - 15, 32, VRING_DESC_F_INDIRECT, 0);
	expect_bad_head(e, 0);
}

/* An indirect table need not be aligned: it is read bytewise. */
static void test_indirect_unaligned(void **state)
{
	struct env *e = *state;
	uint64_t tgpa, b;
	struct vring_desc t;

	open_queue(e, 8, false, true);
	b = buf(e, 16);
	tgpa = buf(e, 32) + 3;
	set_desc(&t, 0, b, 16, VRING_DESC_F_WRITE, 0);
	memcpy(hva(e, tgpa, 16), &t, 16);
	qdesc(e, 0, tgpa, 16, VRING_DESC_F_INDIRECT, 0);
	make_avail(e, 0);
	assert_int_equal(pop(e), 1);
	assert_int_equal(e->chain.in_len, 16);
}

static void test_buffer_outside_ram(void **state)
{
	struct env *e = *state;
	const uint64_t bad[][2] = {
		{ NOWHERE, 16 },		     /* not RAM at all */
		{ UINT64_MAX - 0xff, 0x1000 },	     /* addr + len wraps 2^64 */
		{ UINT64_MAX, 1 },		     /* the very last byte */
		{ RAM_A_SIZE - 8, 16 },		     /* from RAM into the gap */
		{ RAM_B_GPA - 8, 16 },		     /* from the gap into RAM */
		{ RAM_B_GPA + RAM_B_SIZE - 1, 2 },   /* past the last region */
		{ 0, UINT32_MAX },		     /* larger than the region */
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		open_queue(e, 8, false, false);
		qdesc(e, 0, buf(e, 16), 16, VRING_DESC_F_NEXT, 1);
		qdesc(e, 1, bad[i][0], (uint32_t)bad[i][1], VRING_DESC_F_WRITE, 0);
		expect_bad_head(e, 0);
	}
	/* The same through an indirect table. */
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t tgpa;
		struct vring_desc *t;

		open_queue(e, 8, false, true);
		t = itable(e, 1, &tgpa);
		set_desc(t, 0, bad[i][0], (uint32_t)bad[i][1], 0, 0);
		qdesc(e, 0, tgpa, 16, VRING_DESC_F_INDIRECT, 0);
		expect_bad_head(e, 0);
	}
}

static void test_readable_after_writable(void **state)
{
	struct env *e = *state;
	uint64_t tgpa, b;
	struct vring_desc *t;

	open_queue(e, 8, false, false);
	b = buf(e, 32);
	qdesc(e, 0, b, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	qdesc(e, 1, b + 16, 16, 0, 0);
	expect_bad_head(e, 0);
	/* Also across the step from direct descriptors into an indirect table. */
	open_queue(e, 8, false, true);
	t = itable(e, 1, &tgpa);
	set_desc(t, 0, b + 16, 16, 0, 0);
	qdesc(e, 0, b, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	qdesc(e, 1, tgpa, 16, VRING_DESC_F_INDIRECT, 0);
	expect_bad_head(e, 0);
	/* And a zero-length readable one is no exception. */
	open_queue(e, 8, false, false);
	qdesc(e, 0, b, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	qdesc(e, 1, 0, 0, 0, 0);
	expect_bad_head(e, 0);
}

static void test_avail_idx_too_far(void **state)
{
	struct env *e = *state;
	struct vring_avail *avail;

	open_queue(e, 8, false, false);
	qdesc(e, 0, buf(e, 16), 16, 0, 0);
	avail = virtq_driver_avail(&e->drv);
	/* Exactly `size` ahead is a full ring: fine. */
	for (unsigned int i = 0; i < 8; i++)
		avail->ring[i] = 0;
	avail->idx = htole16(8);
	assert_int_equal(pop(e), 1);
	avail->idx = htole16(10); /* 9 ahead of last_avail 1 */
	assert_int_equal(pop(e), -EINVAL);
	avail->idx = htole16(0); /* "behind": 65535 ahead */
	assert_int_equal(pop(e), -EINVAL);
	assert_true(virtq_enable_notify(&e->vq)); /* says "look", and pop says why */
}

/* Sums above 4 GiB, in a 2 GiB region at 4 GiB (never touched: MAP_NORESERVE). */
static void test_totals_over_4g(void **state)
{
	struct env *e = *state;
	const uint64_t big = 4 * GiB;

	assert_int_equal(guest_mem_add(&e->gm, big, 2 * GiB), 0);
	for (uint16_t w = 0; w <= VRING_DESC_F_WRITE; w += VRING_DESC_F_WRITE) {
		open_queue(e, 8, false, false);
		qdesc(e, 0, big, 0x80000000u, w | VRING_DESC_F_NEXT, 1);
		qdesc(e, 1, big, 0x7fffffffu, w, 0);
		make_avail(e, 0);
		assert_int_equal(pop(e), 1); /* UINT32_MAX exactly */
		assert_int_equal(w ? e->chain.in_len : e->chain.out_len, UINT32_MAX);
		qdesc(e, 1, big, 0x80000000u, w, 0);
		expect_bad_head(e, 0);
	}
	/* Readable and writable sums are separate. */
	open_queue(e, 8, false, false);
	qdesc(e, 0, big, 0x80000000u, VRING_DESC_F_NEXT, 1);
	qdesc(e, 1, big, 0x80000000u, VRING_DESC_F_WRITE, 0);
	make_avail(e, 0);
	assert_int_equal(pop(e), 1);
}

/* A batch is published by one index update, in order, with its lengths. */
static void test_push_batch(void **state)
{
	struct env *e = *state;
	struct virtq_driver_seg seg;
	uint16_t heads[3];
	uint32_t lens[3] = {100, 200, 7};
	struct vring_used_elem u;

	open_queue(e, 8, true, false);
	for (int i = 0; i < 3; i++) {
		seg = (struct virtq_driver_seg){buf(e, 256), 256, true};
		assert_true(virtq_driver_add(&e->drv, &seg, 1, false) >= 0);
		assert_int_equal(pop(e), 1);
		heads[i] = e->chain.head;
	}
	virtq_push_batch(&e->vq, heads, lens, 3);
	assert_int_equal(le16toh(virtq_driver_used(&e->drv)->idx), 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(virtq_driver_get_used(&e->drv, &u), 1);
		assert_int_equal(u.id, heads[i]);
		assert_int_equal(u.len, lens[i]);
	}
	assert_true(virtq_should_notify(&e->vq));
	virtq_push_batch(&e->vq, heads, lens, 0); /* nothing: no new index, no interrupt */
	assert_int_equal(le16toh(virtq_driver_used(&e->drv)->idx), 3);
	assert_false(virtq_should_notify(&e->vq));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_direct_chain),
		T(test_push_batch),
		T(test_indirect_chain),
		T(test_direct_then_indirect),
		T(test_indirect_next_order),
		T(test_zero_length_skipped),
		T(test_limits_accepted),
		T(test_wraparound),
		T(test_wraparound_event_idx),
		T(test_event_idx_notify),
		T(test_event_idx_full_wrap),
		T(test_no_interrupt_flag),
		T(test_suppression_flags),
		T(test_event_idx_suppression),
		T(test_drain),
		T(test_drain_stopped),
		T(test_drain_broken_ring),
		T(test_disabled_queue),
		T(test_layout_size),
		T(test_layout_alignment),
		T(test_layout_outside_ram),
		T(test_loop),
		T(test_self_loop),
		T(test_zero_length_loop),
		T(test_next_out_of_range),
		T(test_head_out_of_range),
		T(test_chain_longer_than_size),
		T(test_zero_length_counted),
		T(test_indirect_table_sizes),
		T(test_indirect_with_next),
		T(test_indirect_nested),
		T(test_indirect_without_feature),
		T(test_indirect_loop_and_next),
		T(test_indirect_table_outside_ram),
		T(test_indirect_unaligned),
		T(test_buffer_outside_ram),
		T(test_readable_after_writable),
		T(test_avail_idx_too_far),
		T(test_totals_over_4g),
#undef T
	};

	log_set_level(LOG_LEVEL_OFF); /* the hostile cases would log */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
