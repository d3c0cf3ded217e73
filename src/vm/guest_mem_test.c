/* Unit tests for the checked guest-memory accessor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "vm/guest_mem.h"

static struct guest_mem two_regions(void)
{
	struct guest_mem gm;

	guest_mem_init(&gm);
	assert_int_equal(guest_mem_add(&gm, 0, 64 * 1024), 0);
	assert_int_equal(guest_mem_add(&gm, 0x100000, 8192), 0);
	return gm;
}

static void test_inside_and_edges(void **state)
{
	(void)state;
	struct guest_mem gm = two_regions();

	assert_non_null(guest_mem_ptr(&gm, 0, 1));
	assert_non_null(guest_mem_ptr(&gm, 0, 64 * 1024));
	assert_non_null(guest_mem_ptr(&gm, 64 * 1024 - 1, 1));
	assert_null(guest_mem_ptr(&gm, 64 * 1024 - 1, 2)); /* crosses the end */
	assert_null(guest_mem_ptr(&gm, 64 * 1024, 1));	    /* in the gap */
	assert_non_null(guest_mem_ptr(&gm, 0x100000 + 8191, 1));
	assert_null(guest_mem_ptr(&gm, 0x100000 + 8192, 1));
	/* A range spanning both regions is refused even if both ends are RAM. */
	assert_null(guest_mem_ptr(&gm, 0, 0x100000 + 10));
	guest_mem_destroy(&gm);
}

static void test_zero_length_and_wrap(void **state)
{
	(void)state;
	struct guest_mem gm = two_regions();

	assert_null(guest_mem_ptr(&gm, 0, 0));
	assert_null(guest_mem_ptr(&gm, 0x100000, UINT64_MAX));
	assert_null(guest_mem_ptr(&gm, UINT64_MAX, 2));
	assert_null(guest_mem_ptr(&gm, UINT64_MAX - 10, 100));
	assert_null(guest_mem_ptr(&gm, 16, UINT64_MAX - 8)); /* gpa+len wraps */
	guest_mem_destroy(&gm);
}

static void test_read_write_roundtrip(void **state)
{
	(void)state;
	struct guest_mem gm = two_regions();
	uint32_t v = 0xdeadbeef, back = 0;

	assert_int_equal(guest_mem_write(&gm, 0x100010, &v, sizeof(v)), 0);
	assert_int_equal(guest_mem_read(&gm, 0x100010, &back, sizeof(back)), 0);
	assert_int_equal(back, 0xdeadbeef);
	assert_int_equal(guest_mem_write(&gm, 0x100000 + 8190, &v, sizeof(v)), -EFAULT);
	assert_int_equal(guest_mem_read(&gm, 0x200000, &back, sizeof(back)), -EFAULT);
	assert_int_equal(guest_mem_size(&gm), 64 * 1024 + 8192);
	guest_mem_destroy(&gm);
}

static void test_add_rejects_bad_regions(void **state)
{
	(void)state;
	struct guest_mem gm = two_regions();

	assert_int_equal(guest_mem_add(&gm, 0x1000, 4096), -EINVAL);	   /* overlap */
	assert_int_equal(guest_mem_add(&gm, 0x200000, 0), -EINVAL);	   /* empty */
	assert_int_equal(guest_mem_add(&gm, 0x200001, 4096), -EINVAL);	   /* unaligned */
	assert_int_equal(guest_mem_add(&gm, UINT64_MAX - 4095, 8192), -EINVAL); /* wraps */
	assert_int_equal(guest_mem_add(&gm, 0x300000, 4096), 0);
	assert_int_equal(guest_mem_add(&gm, 0x400000, 4096), 0);
	assert_int_equal(guest_mem_add(&gm, 0x500000, 4096), -ENOSPC);
	guest_mem_destroy(&gm);
}

/* True if the host page holding guest address `gpa` is resident. */
static bool resident(struct guest_mem *gm, uint64_t gpa)
{
	uint8_t *p = guest_mem_ptr(gm, gpa, 1);
	unsigned char vec = 0;

	assert_non_null(p);
	p = (uint8_t *)((uintptr_t)p & ~(uintptr_t)4095);
	assert_int_equal(mincore(p, 4096, &vec), 0);
	return vec & 1;
}

static void test_discard_whole_pages_only(void **state)
{
	(void)state;
	struct guest_mem gm = two_regions();
	uint8_t *p = guest_mem_ptr(&gm, 0, 64 * 1024);

	memset(p, 0xaa, 64 * 1024);
	assert_true(resident(&gm, 0x3000));
	/* Pages 1 and 2 whole; the partial pages 0 and 3 are kept. */
	assert_int_equal(guest_mem_discard(&gm, 0x800, 0x3000), 0);
	/* Gone from the host first (reading would map the zero page). */
	assert_false(resident(&gm, 0x1000) || resident(&gm, 0x2000));
	assert_true(resident(&gm, 0x0000) && resident(&gm, 0x3000));
	assert_int_equal(p[0x7ff], 0xaa);
	assert_int_equal(p[0x1000], 0);
	assert_int_equal(p[0x2fff], 0);
	assert_int_equal(p[0x3000], 0xaa);
	assert_int_equal(p[0x37ff], 0xaa);
	/* Less than a page: nothing at all. */
	assert_int_equal(guest_mem_discard(&gm, 0x4001, 4095), 0);
	assert_int_equal(p[0x4001], 0xaa);
	assert_int_equal(guest_mem_discard(&gm, 0x5000, 4096), 0);
	assert_int_equal(p[0x5000], 0);
	guest_mem_destroy(&gm);
}

static void test_discard_checks_range(void **state)
{
	(void)state;
	struct guest_mem gm = two_regions();

	assert_int_equal(guest_mem_discard(&gm, 0, 0), -EFAULT);
	assert_int_equal(guest_mem_discard(&gm, 64 * 1024, 4096), -EFAULT); /* the gap */
	assert_int_equal(guest_mem_discard(&gm, 60 * 1024, 8192), -EFAULT); /* crosses the end */
	assert_int_equal(guest_mem_discard(&gm, 0, 0x100000 + 4096), -EFAULT); /* two regions */
	assert_int_equal(guest_mem_discard(&gm, UINT64_MAX - 4095, 8192), -EFAULT);
	assert_int_equal(guest_mem_discard(&gm, 0x100000, 8192), 0);
	guest_mem_destroy(&gm);
}

static void test_gpa_of(void **state)
{
	(void)state;
	struct guest_mem gm = two_regions();
	uint8_t *p = guest_mem_ptr(&gm, 0x100010, 16);
	uint64_t gpa = 0;
	int local;

	assert_int_equal(guest_mem_gpa_of(&gm, p, 16, &gpa), 0);
	assert_int_equal(gpa, 0x100010);
	assert_int_equal(guest_mem_gpa_of(&gm, p, 8192, &gpa), -EFAULT); /* past the end */
	assert_int_equal(guest_mem_gpa_of(&gm, p, 0, &gpa), -EFAULT);
	assert_int_equal(guest_mem_gpa_of(&gm, &local, 4, &gpa), -EFAULT); /* not guest RAM */
	guest_mem_destroy(&gm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inside_and_edges),
		cmocka_unit_test(test_zero_length_and_wrap),
		cmocka_unit_test(test_read_write_roundtrip),
		cmocka_unit_test(test_add_rejects_bad_regions),
		cmocka_unit_test(test_discard_whole_pages_only),
		cmocka_unit_test(test_discard_checks_range),
		cmocka_unit_test(test_gpa_of),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
