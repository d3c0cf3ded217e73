/* Unit tests for the I/O bus: registration rules and dispatch. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vm/bus.h"

/* A device that records its last access. */
struct probe {
	uint64_t offset;
	uint32_t len;
	uint8_t written[8];
	unsigned int reads, writes;
};

static void probe_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct probe *p = opaque;

	p->offset = offset;
	p->len = len;
	p->reads++;
	memset(data, 0x5a, len);
}

static void probe_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct probe *p = opaque;

	p->offset = offset;
	p->len = len;
	p->writes++;
	memcpy(p->written, data, len);
}

static const struct bus_ops probe_ops = { .read = probe_read, .write = probe_write };

static void test_register_rejects_empty_and_wrapping(void **state)
{
	struct bus bus;
	struct probe p = { 0 };

	(void)state;
	bus_init(&bus);
	assert_int_equal(bus_register(&bus, 0x100, 0, &probe_ops, &p, "empty"), -EINVAL);
	assert_int_equal(bus_register(&bus, UINT64_MAX - 1, 3, &probe_ops, &p, "wrap"), -EINVAL);
	/* A range that ends exactly at the top of the address space is fine. */
	assert_int_equal(bus_register(&bus, UINT64_MAX - 1, 2, &probe_ops, &p, "top"), 0);
	assert_int_equal(bus.count, 1);
}

static void test_register_rejects_overlap(void **state)
{
	struct bus bus;
	struct probe p = { 0 };

	(void)state;
	bus_init(&bus);
	assert_int_equal(bus_register(&bus, 0x3f8, 8, &probe_ops, &p, "com1"), 0);
	assert_int_equal(bus_register(&bus, 0x3f8, 8, &probe_ops, &p, "same"), -EEXIST);
	assert_int_equal(bus_register(&bus, 0x3f0, 9, &probe_ops, &p, "tail"), -EEXIST);
	assert_int_equal(bus_register(&bus, 0x3ff, 1, &probe_ops, &p, "head"), -EEXIST);
	assert_int_equal(bus_register(&bus, 0x3fa, 1, &probe_ops, &p, "inside"), -EEXIST);
	assert_int_equal(bus_register(&bus, 0x300, 0x200, &probe_ops, &p, "around"), -EEXIST);
	assert_int_equal(bus.count, 1);
}

static void test_register_allows_adjacent_and_keeps_order(void **state)
{
	struct bus bus;
	struct probe p = { 0 };

	(void)state;
	bus_init(&bus);
	assert_int_equal(bus_register(&bus, 0x3f8, 8, &probe_ops, &p, "com1"), 0);
	assert_int_equal(bus_register(&bus, 0x400, 4, &probe_ops, &p, "after"), 0);
	assert_int_equal(bus_register(&bus, 0x3f0, 8, &probe_ops, &p, "before"), 0);
	assert_int_equal(bus_register(&bus, 0x70, 2, &probe_ops, &p, "low"), 0);
	assert_int_equal(bus.count, 4);
	for (unsigned int i = 1; i < bus.count; i++)
		assert_true(bus.ranges[i - 1].base < bus.ranges[i].base);
}

static void test_register_full(void **state)
{
	struct bus bus;
	struct probe p = { 0 };

	(void)state;
	bus_init(&bus);
	for (unsigned int i = 0; i < BUS_MAX_RANGES; i++)
		assert_int_equal(bus_register(&bus, 0x1000 + i * 4, 4, &probe_ops, &p, "r"), 0);
	assert_int_equal(bus_register(&bus, 0, 4, &probe_ops, &p, "one more"), -ENOSPC);
}

static void test_dispatch_offsets(void **state)
{
	struct bus bus;
	struct probe a = { 0 }, b = { 0 };
	uint8_t buf[4];
	uint32_t val = 0x11223344;

	(void)state;
	bus_init(&bus);
	assert_int_equal(bus_register(&bus, 0x3f8, 8, &probe_ops, &a, "a"), 0);
	assert_int_equal(bus_register(&bus, 0x400, 0x100, &probe_ops, &b, "b"), 0);

	assert_true(bus_read(&bus, 0x3fd, buf, 1));
	assert_int_equal(a.reads, 1);
	assert_int_equal(a.offset, 5);
	assert_int_equal(buf[0], 0x5a);

	assert_true(bus_write(&bus, 0x4fc, &val, 4));
	assert_int_equal(b.writes, 1);
	assert_int_equal(b.offset, 0xfc);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.written, &val, 4);
	assert_int_equal(a.writes, 0);

	/* First and last byte of each range. */
	assert_true(bus_read(&bus, 0x3f8, buf, 1));
	assert_int_equal(a.offset, 0);
	assert_true(bus_read(&bus, 0x3ff, buf, 1));
	assert_int_equal(a.offset, 7);
	assert_true(bus_read(&bus, 0x400, buf, 1));
	assert_int_equal(b.offset, 0);
}

static void test_unclaimed(void **state)
{
	struct bus bus;
	struct probe a = { 0 };
	uint8_t buf[8];
	uint8_t ones[8];

	(void)state;
	memset(ones, 0xff, sizeof(ones));
	bus_init(&bus);
	assert_int_equal(bus_register(&bus, 0x3f8, 8, &probe_ops, &a, "a"), 0);

	memset(buf, 0, sizeof(buf));
	assert_false(bus_read(&bus, 0x3f7, buf, 1));
	assert_int_equal(buf[0], 0xff);
	assert_false(bus_read(&bus, 0x400, buf, 8));
	assert_memory_equal(buf, ones, 8);
	assert_false(bus_write(&bus, 0x0, buf, 1));
	/* Straddling the end of a range, or wrapping, belongs to nobody. */
	memset(buf, 0, sizeof(buf));
	assert_false(bus_read(&bus, 0x3fe, buf, 4));
	assert_memory_equal(buf, ones, 4);
	assert_false(bus_write(&bus, 0x3fe, buf, 4));
	assert_false(bus_read(&bus, UINT64_MAX, buf, 2));
	/* Odd lengths are refused. */
	assert_false(bus_read(&bus, 0x3f8, buf, 3));
	assert_int_equal(a.reads + a.writes, 0);
}

static void test_empty_bus(void **state)
{
	struct bus bus;
	uint8_t b = 0;

	(void)state;
	bus_init(&bus);
	assert_false(bus_read(&bus, 0, &b, 1));
	assert_int_equal(b, 0xff);
	assert_false(bus_write(&bus, UINT64_MAX, &b, 1));
}

static void test_write_only_device_reads_ones(void **state)
{
	static const struct bus_ops wo = { .write = probe_write };
	struct bus bus;
	struct probe p = { 0 };
	uint16_t v = 0;

	(void)state;
	bus_init(&bus);
	assert_int_equal(bus_register(&bus, 0x80, 2, &wo, &p, "wo"), 0);
	assert_true(bus_read(&bus, 0x80, &v, 2));
	assert_int_equal(v, 0xffff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_rejects_empty_and_wrapping),
		cmocka_unit_test(test_register_rejects_overlap),
		cmocka_unit_test(test_register_allows_adjacent_and_keeps_order),
		cmocka_unit_test(test_register_full),
		cmocka_unit_test(test_dispatch_offsets),
		cmocka_unit_test(test_unclaimed),
		cmocka_unit_test(test_empty_bus),
		cmocka_unit_test(test_write_only_device_reads_ones),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
