/*
 * Unit tests for the test driver itself: its layout and allocator, its free
 * list, and that it refuses what a broken device puts in the used ring.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "virtio/virtq_driver.h"

static struct guest_mem gm;
static struct virtq_driver drv;

static int setup(void **state)
{
	(void)state;
	guest_mem_init(&gm);
	return guest_mem_add(&gm, 0, 256 * KiB);
}

static int teardown(void **state)
{
	(void)state;
	guest_mem_destroy(&gm);
	return 0;
}

static void test_init_rejects(void **state)
{
	(void)state;
	assert_int_equal(virtq_driver_init(&drv, &gm, 0x1000, 0, 0x10000), -EINVAL);
	assert_int_equal(virtq_driver_init(&drv, &gm, 0x1000, 6, 0x10000), -EINVAL);
	assert_int_equal(virtq_driver_init(&drv, &gm, 0x1000, 2 * VIRTQ_MAX_SIZE, 0x10000),
			 -EINVAL);
	assert_int_equal(virtq_driver_init(&drv, &gm, 0x1008, 8, 0x10000), -EINVAL);
	assert_int_equal(virtq_driver_init(&drv, &gm, 0x1000, 256, 0x100), -EINVAL); /* rings don't fit */
	assert_int_equal(virtq_driver_init(&drv, &gm, 0x30000, 8, 0x20000), -EINVAL); /* past RAM */
}

static void test_layout_and_alloc(void **state)
{
	uint64_t a, b;

	(void)state;
	assert_int_equal(virtq_driver_init(&drv, &gm, 0x1000, 8, 0x1000), 0);
	assert_int_equal(drv.layout.size, 8);
	assert_int_equal(drv.layout.desc, 0x1000);
	assert_int_equal(drv.layout.avail, 0x1000 + 128);
	assert_int_equal(drv.layout.used % 4, 0);
	assert_true(drv.layout.used >= drv.layout.avail + 6 + 16);
	a = virtq_driver_alloc(&drv, 1);
	b = virtq_driver_alloc(&drv, 17);
	assert_int_equal(a % 16, 0);
	assert_int_equal(b, a + 16);
	assert_true(b + 32 <= 0x2000);
	assert_int_equal(virtq_driver_alloc(&drv, 0), 0);
	assert_int_equal(virtq_driver_alloc(&drv, 0x1000), 0); /* heap exhausted */
}

static void test_free_list(void **state)
{
	struct virtq_driver_seg segs[5] = { { 0x8000, 8, false }, { 0x8000, 8, false },
					    { 0x8000, 8, false }, { 0x8000, 8, true },
					    { 0x8000, 8, true } };
	struct vring_used *used;
	struct vring_used_elem elem;
	int h1, h2;

	(void)state;
	assert_int_equal(virtq_driver_init(&drv, &gm, 0x1000, 8, 0x4000), 0);
	h1 = virtq_driver_add(&drv, segs, 5, false);
	h2 = virtq_driver_add(&drv, segs, 3, false);
	assert_int_equal(h1, 0);
	assert_int_equal(h2, 5);
	assert_int_equal(virtq_driver_add(&drv, segs, 1, false), -ENOSPC);
	assert_int_equal(virtq_driver_add(&drv, segs, 0, false), -EINVAL);
	assert_int_equal(le16toh(virtq_driver_avail(&drv)->idx), 2);
	/* Play the device: return h1 with 16 bytes written. */
	used = virtq_driver_used(&drv);
	used->ring[0].id = htole32((uint32_t)h1);
	used->ring[0].len = htole32(16);
	used->idx = htole16(1);
	assert_int_equal(virtq_driver_get_used(&drv, &elem), 1);
	assert_int_equal(elem.id, h1);
	assert_int_equal(drv.num_free, 5);
	/* The freed descriptors serve new chains, direct or indirect. */
	assert_true(virtq_driver_add(&drv, segs, 5, false) >= 0);
	assert_int_equal(virtq_driver_add(&drv, segs, 1, true), -ENOSPC);
}

static void test_used_rejects(void **state)
{
	struct virtq_driver_seg segs[2] = { { 0x8000, 8, false }, { 0x8000, 8, true } };
	struct vring_used *used;
	struct vring_used_elem elem;
	int head;

	(void)state;
	assert_int_equal(virtq_driver_init(&drv, &gm, 0x1000, 8, 0x4000), 0);
	head = virtq_driver_add(&drv, segs, 2, false);
	used = virtq_driver_used(&drv);
	used->idx = htole16(1);
	used->ring[0].id = htole32(8); /* out of range */
	assert_int_equal(virtq_driver_get_used(&drv, &elem), -EPROTO);
	used->ring[0].id = htole32((uint32_t)head + 1); /* inside the chain, not its head */
	assert_int_equal(virtq_driver_get_used(&drv, &elem), -EPROTO);
	used->ring[0].id = htole32((uint32_t)head);
	used->ring[0].len = htole32(9); /* more than the writable 8 bytes */
	assert_int_equal(virtq_driver_get_used(&drv, &elem), -EPROTO);
	used->ring[0].len = htole32(8);
	assert_int_equal(virtq_driver_get_used(&drv, &elem), 1);
	/* The same head twice. */
	used->ring[1] = used->ring[0];
	used->idx = htole16(2);
	assert_int_equal(virtq_driver_get_used(&drv, &elem), -EPROTO);
}

static void test_indirect_layout(void **state)
{
	struct virtq_driver_seg segs[3] = { { 0x8000, 8, false }, { 0x8100, 16, true },
					    { 0x8200, 32, true } };
	struct vring_desc *d, *t;
	uint16_t ev = htole16(0x4321);
	int head;

	(void)state;
	assert_int_equal(virtq_driver_init(&drv, &gm, 0x1000, 8, 0x4000), 0);
	head = virtq_driver_add(&drv, segs, 3, true);
	assert_true(head >= 0);
	assert_int_equal(drv.num_free, 7);
	d = &virtq_driver_desc(&drv)[head];
	assert_int_equal(le16toh(d->flags), VRING_DESC_F_INDIRECT);
	assert_int_equal(le32toh(d->len), 48);
	t = guest_mem_ptr(&gm, le64toh(d->addr), 48);
	assert_non_null(t);
	assert_int_equal(le16toh(t[0].flags), VRING_DESC_F_NEXT);
	assert_int_equal(le16toh(t[0].next), 1);
	assert_int_equal(le16toh(t[1].flags), VRING_DESC_F_NEXT | VRING_DESC_F_WRITE);
	assert_int_equal(le16toh(t[2].flags), VRING_DESC_F_WRITE);
	assert_int_equal(le64toh(t[2].addr), 0x8200);
	/* EVENT_IDX fields sit right after each ring. */
	virtq_driver_set_used_event(&drv, 0x1234);
	assert_int_equal(le16toh(virtq_driver_avail(&drv)->ring[8]), 0x1234);
	memcpy(&virtq_driver_used(&drv)->ring[8], &ev, sizeof(ev));
	assert_int_equal(virtq_driver_avail_event(&drv), 0x4321);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rejects),
		cmocka_unit_test(test_layout_and_alloc),
		cmocka_unit_test(test_free_list),
		cmocka_unit_test(test_used_rejects),
		cmocka_unit_test(test_indirect_layout),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
