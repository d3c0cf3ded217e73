/* Unit tests for the per-vCPU CPUID topology. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "arch/x86/cpuid.h"

static struct hv_x86_cpuid supported = {
	.count = 5,
	.entries = {
		{ .function = 1, .ebx = 0xff00abcd, .ecx = 0, .edx = 1u << 28 },
		{ .function = 4, .index = 0, .eax = (1 << 5) | 1 },	/* L1 data */
		{ .function = 4, .index = 3, .eax = (3 << 5) | 3 },	/* L3 unified */
		{ .function = 0xb, .index = 1, .flags = HV_X86_CPUID_SIGNIFICANT_INDEX },
		{ .function = 0x80000008, .ecx = 0xffff },
	},
};

static const struct hv_x86_cpuid_entry *find(const struct hv_x86_cpuid *c, uint32_t fn,
					     uint32_t index)
{
	for (unsigned int i = 0; i < c->count; i++)
		if (c->entries[i].function == fn && c->entries[i].index == index)
			return &c->entries[i];
	return NULL;
}

static void test_topology_two_cpus(void **state)
{
	struct hv_x86_cpuid out;

	(void)state;
	x86_cpuid_for_vcpu(&supported, 1, 2, &out);
	assert_int_equal(find(&out, 1, 0)->ebx >> 24, 1);		/* APIC ID */
	assert_int_equal((find(&out, 1, 0)->ebx >> 16) & 0xff, 2);	/* logical count */
	assert_int_equal(find(&out, 1, 0)->ebx & 0xffff, 0xabcd);	/* rest kept */
	assert_true(find(&out, 1, 0)->ecx & (1u << 31));		/* hypervisor */
	assert_int_equal(find(&out, 4, 0)->eax >> 26, 1);		/* cores - 1 */
	assert_int_equal((find(&out, 4, 0)->eax >> 14) & 0xfff, 0);	/* L1 private */
	assert_int_equal((find(&out, 4, 3)->eax >> 14) & 0xfff, 1);	/* L3 shared */
	assert_int_equal(find(&out, 0xb, 1)->ebx, 2);
	assert_int_equal(find(&out, 0xb, 1)->eax, 1);
	assert_int_equal(find(&out, 0xb, 1)->edx, 1);
	assert_int_equal(find(&out, 0x80000008, 0)->ecx & 0xff, 1);
}

static void test_single_cpu_has_no_htt(void **state)
{
	struct hv_x86_cpuid out;

	(void)state;
	x86_cpuid_for_vcpu(&supported, 0, 1, &out);
	assert_int_equal(find(&out, 1, 0)->edx & (1u << 28), 0);
	assert_int_equal(find(&out, 4, 0)->eax >> 26, 0);
	assert_int_equal(find(&out, 0xb, 1)->eax, 0);
}

static void test_many_cpus(void **state)
{
	struct hv_x86_cpuid out;

	(void)state;
	x86_cpuid_for_vcpu(&supported, 63, 64, &out);
	assert_int_equal(find(&out, 1, 0)->ebx >> 24, 63);
	assert_int_equal(find(&out, 0xb, 1)->eax, 6);
	assert_int_equal(find(&out, 0x80000008, 0)->ecx & 0xff, 63);
	assert_int_equal((find(&out, 0x80000008, 0)->ecx >> 12) & 0xf, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topology_two_cpus),
		cmocka_unit_test(test_single_cpu_has_no_htt),
		cmocka_unit_test(test_many_cpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
