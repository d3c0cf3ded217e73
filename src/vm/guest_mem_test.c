/* Unit tests for the checked guest-memory accessor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inside_and_edges),
		cmocka_unit_test(test_zero_length_and_wrap),
		cmocka_unit_test(test_read_write_roundtrip),
		cmocka_unit_test(test_add_rejects_bad_regions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
