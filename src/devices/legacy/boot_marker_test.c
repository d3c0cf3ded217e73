/* Unit tests for the boot-time marker at port 0x3f0. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "base/log.h"
#include "devices/legacy/boot_marker.h"

static struct timespec fake_now;

static void fake_clock(void *opaque, struct timespec *now)
{
	(void)opaque;
	*now = fake_now;
}

static void outb(struct bus *pio, uint16_t port, uint8_t v)
{
	assert_true(bus_write(pio, port, &v, 1));
}

static void test_first_magic_write_is_recorded(void **state)
{
	struct boot_marker bm;
	struct bus pio;
	struct timespec start = { .tv_sec = 100, .tv_nsec = 900000000 };
	uint64_t ns = 0;

	(void)state;
	bus_init(&pio);
	assert_int_equal(boot_marker_init(&bm, &start, fake_clock, NULL), 0);
	assert_int_equal(boot_marker_register(&bm, &pio), 0);
	assert_int_equal(boot_marker_elapsed_ns(&bm, &ns), -ENOENT);

	fake_now = (struct timespec){ .tv_sec = 101, .tv_nsec = 23456789 };
	outb(&pio, BOOT_MARKER_PORT, 0x7a); /* other values are ignored */
	outb(&pio, BOOT_MARKER_PORT, 0);
	assert_int_equal(boot_marker_elapsed_ns(&bm, &ns), -ENOENT);

	outb(&pio, BOOT_MARKER_PORT, BOOT_MARKER_MAGIC);
	assert_int_equal(boot_marker_elapsed_ns(&bm, &ns), 0);
	assert_int_equal(ns, 123456789ULL);

	/* Only the first marker counts. */
	fake_now.tv_sec = 200;
	outb(&pio, BOOT_MARKER_PORT, BOOT_MARKER_MAGIC);
	assert_int_equal(boot_marker_elapsed_ns(&bm, &ns), 0);
	assert_int_equal(ns, 123456789ULL);
	boot_marker_destroy(&bm);
}

static void test_reads_and_default_clock(void **state)
{
	struct boot_marker bm;
	struct timespec start;
	uint8_t v = 0;
	uint64_t ns = 0;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(boot_marker_init(&bm, &start, NULL, NULL), 0);
	boot_marker_bus_ops.read(&bm, 0, &v, 1);
	assert_int_equal(v, 0xff);
	v = BOOT_MARKER_MAGIC;
	boot_marker_bus_ops.write(&bm, 0, &v, 1);
	assert_int_equal(boot_marker_elapsed_ns(&bm, &ns), 0);
	assert_true(ns < 10ULL * 1000000000ULL);
	boot_marker_destroy(&bm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_magic_write_is_recorded),
		cmocka_unit_test(test_reads_and_default_clock),
	};

	log_set_level(LOG_LEVEL_OFF);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
