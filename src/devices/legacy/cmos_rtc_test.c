/*
 * Unit tests for the CMOS RTC with a fixed clock: BCD and binary, 12 and
 * 24 hours, UIP, setting the time the way Linux's mc146818_set_time does,
 * and plain CMOS RAM.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/log.h"
#include "devices/legacy/cmos_rtc.h"

enum { SEC = 0, MIN = 2, HOUR = 4, WDAY = 6, MDAY = 7, MON = 8, YEAR = 9, RA = 0xa, RB = 0xb,
       RC = 0xc, RD = 0xd, CENTURY = 0x32 };

struct fixture {
	struct cmos_rtc rtc;
	struct bus pio;
	struct timespec now;
};

static void fixed_clock(void *opaque, struct timespec *now)
{
	struct fixture *f = opaque;

	*now = f->now;
}

/* 2024-02-29 13:45:56 UTC, a Thursday. */
static time_t known_time(void)
{
	struct tm tm = { .tm_year = 124, .tm_mon = 1, .tm_mday = 29, .tm_hour = 13,
			 .tm_min = 45, .tm_sec = 56 };

	return timegm(&tm);
}

static int setup(void **state)
{
	struct fixture *f = test_calloc(1, sizeof(*f));

	f->now.tv_sec = known_time();
	f->now.tv_nsec = 500000000;
	bus_init(&f->pio);
	if (cmos_rtc_init(&f->rtc, fixed_clock, f) < 0 || cmos_rtc_register(&f->rtc, &f->pio) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	cmos_rtc_destroy(&f->rtc);
	test_free(f);
	return 0;
}

/* CMOS_READ: index to 0x70 (NMI enabled), data from 0x71. */
static uint8_t cmos_read(struct fixture *f, uint8_t reg)
{
	uint8_t v = 0;

	assert_true(bus_write(&f->pio, 0x70, &reg, 1));
	assert_true(bus_read(&f->pio, 0x71, &v, 1));
	return v;
}

static void cmos_write(struct fixture *f, uint8_t reg, uint8_t val)
{
	assert_true(bus_write(&f->pio, 0x70, &reg, 1));
	assert_true(bus_write(&f->pio, 0x71, &val, 1));
}

static void test_bcd_24h_default(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cmos_read(f, RB), 0x02);
	assert_int_equal(cmos_read(f, SEC), 0x56);
	assert_int_equal(cmos_read(f, MIN), 0x45);
	assert_int_equal(cmos_read(f, HOUR), 0x13);
	assert_int_equal(cmos_read(f, WDAY), 5); /* Sunday = 1 */
	assert_int_equal(cmos_read(f, MDAY), 0x29);
	assert_int_equal(cmos_read(f, MON), 0x02);
	assert_int_equal(cmos_read(f, YEAR), 0x24);
	assert_int_equal(cmos_read(f, CENTURY), 0x20);
}

static void test_binary_mode(void **state)
{
	struct fixture *f = *state;

	cmos_write(f, RB, 0x02 | 0x04);
	assert_int_equal(cmos_read(f, SEC), 56);
	assert_int_equal(cmos_read(f, MIN), 45);
	assert_int_equal(cmos_read(f, HOUR), 13);
	assert_int_equal(cmos_read(f, MDAY), 29);
	assert_int_equal(cmos_read(f, MON), 2);
	assert_int_equal(cmos_read(f, YEAR), 24);
	assert_int_equal(cmos_read(f, CENTURY), 20);
}

static void test_12_hour_mode(void **state)
{
	struct fixture *f = *state;

	cmos_write(f, RB, 0x00); /* BCD, 12-hour */
	assert_int_equal(cmos_read(f, HOUR), 0x80 | 0x01); /* 1 PM */
	f->now.tv_sec -= 13 * 3600; /* 00:45: 12 AM */
	assert_int_equal(cmos_read(f, HOUR), 0x12);
	f->now.tv_sec += 12 * 3600; /* 12:45: 12 PM */
	assert_int_equal(cmos_read(f, HOUR), 0x80 | 0x12);
	cmos_write(f, RB, 0x04); /* binary, 12-hour */
	assert_int_equal(cmos_read(f, HOUR), 0x80 | 12);
}

static void test_time_follows_host_clock(void **state)
{
	struct fixture *f = *state;

	f->now.tv_sec += 5;
	assert_int_equal(cmos_read(f, SEC), 0x01);
	assert_int_equal(cmos_read(f, MIN), 0x46);
}

static void test_status_registers(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cmos_read(f, RA), 0x26);
	assert_int_equal(cmos_read(f, RC), 0x00);
	assert_int_equal(cmos_read(f, RD), 0x80);
	cmos_write(f, RC, 0xff);
	cmos_write(f, RD, 0x00);
	assert_int_equal(cmos_read(f, RC), 0x00);
	assert_int_equal(cmos_read(f, RD), 0x80);
	/* UIP only just before a second boundary, never while SET holds. */
	f->now.tv_nsec = 999900000;
	assert_int_equal(cmos_read(f, RA), 0x80 | 0x26);
	f->now.tv_nsec = 999700000;
	assert_int_equal(cmos_read(f, RA), 0x26);
	f->now.tv_nsec = 999900000;
	cmos_write(f, RB, 0x80 | 0x02);
	assert_int_equal(cmos_read(f, RA), 0x26);
	/* The guest cannot set UIP. */
	cmos_write(f, RB, 0x02);
	f->now.tv_nsec = 0;
	cmos_write(f, RA, 0xa6);
	assert_int_equal(cmos_read(f, RA), 0x26);
}

/* drivers/rtc/rtc-mc146818-lib.c: mc146818_set_time. */
static void test_set_time_like_linux(void **state)
{
	struct fixture *f = *state;
	uint8_t save_control = cmos_read(f, RB), save_freq = cmos_read(f, RA);

	cmos_write(f, RB, save_control | 0x80);
	cmos_write(f, RA, save_freq | 0x70); /* divider reset */
	/* Day 31 is written after month 2 would have made a bad date. */
	cmos_write(f, YEAR, 0x25);
	cmos_write(f, MON, 0x12);
	cmos_write(f, MDAY, 0x31);
	cmos_write(f, HOUR, 0x23);
	cmos_write(f, MIN, 0x59);
	cmos_write(f, SEC, 0x58);
	f->now.tv_sec += 100; /* the clock is held while SET is 1 */
	assert_int_equal(cmos_read(f, SEC), 0x58);
	cmos_write(f, RB, save_control);
	cmos_write(f, RA, save_freq);

	assert_int_equal(cmos_read(f, YEAR), 0x25);
	assert_int_equal(cmos_read(f, MON), 0x12);
	assert_int_equal(cmos_read(f, MDAY), 0x31);
	assert_int_equal(cmos_read(f, HOUR), 0x23);
	assert_int_equal(cmos_read(f, SEC), 0x58);
	f->now.tv_sec += 3;
	assert_int_equal(cmos_read(f, SEC), 0x01);
	assert_int_equal(cmos_read(f, MIN), 0x00);
	assert_int_equal(cmos_read(f, HOUR), 0x00);
	assert_int_equal(cmos_read(f, MDAY), 0x01);
	assert_int_equal(cmos_read(f, MON), 0x01);
	assert_int_equal(cmos_read(f, YEAR), 0x26);
	assert_int_equal(cmos_read(f, CENTURY), 0x20);
	assert_int_equal(cmos_read(f, WDAY), 5); /* 2026-01-01 is a Thursday */
}

static void test_write_without_set_and_century(void **state)
{
	struct fixture *f = *state;

	cmos_write(f, MIN, 0x10);
	assert_int_equal(cmos_read(f, MIN), 0x10);
	assert_int_equal(cmos_read(f, HOUR), 0x13);
	cmos_write(f, CENTURY, 0x21);
	assert_int_equal(cmos_read(f, CENTURY), 0x21);
	assert_int_equal(cmos_read(f, YEAR), 0x24);
	assert_int_equal(f->rtc.offset > 0, 1);
}

static void test_garbage_writes_are_survived(void **state)
{
	struct fixture *f = *state;

	cmos_write(f, RB, 0x80 | 0x02);
	cmos_write(f, SEC, 0xff);
	cmos_write(f, MON, 0x00);
	cmos_write(f, HOUR, 0xff);
	cmos_write(f, WDAY, 0x00);
	cmos_write(f, CENTURY, 0x00);
	cmos_write(f, YEAR, 0x00);
	(void)cmos_read(f, SEC);
	(void)cmos_read(f, WDAY);
	(void)cmos_read(f, MON);
	cmos_write(f, RB, 0x02);
	for (uint8_t r = 0; r <= YEAR; r++)
		(void)cmos_read(f, r);
	assert_int_equal(cmos_read(f, CENTURY), 0x00);
	cmos_write(f, RB, 0x06);
	cmos_write(f, CENTURY, 0xff);
	assert_int_equal(cmos_read(f, CENTURY), 99);
}

static void test_nvram_and_index(void **state)
{
	struct fixture *f = *state;
	uint8_t v = 0, idx = 0x80 | 0x40;

	cmos_write(f, 0x40, 0xab);
	assert_int_equal(cmos_read(f, 0x40), 0xab);
	/* Bit 7 of the index is the NMI mask, not part of the index. */
	assert_true(bus_write(&f->pio, 0x70, &idx, 1));
	assert_true(bus_read(&f->pio, 0x71, &v, 1));
	assert_int_equal(v, 0xab);
	assert_true(f->rtc.nmi_masked);
	/* The index port is write-only. */
	assert_true(bus_read(&f->pio, 0x70, &v, 1));
	assert_int_equal(v, 0xff);
	/* Alarm registers are plain storage. */
	cmos_write(f, 0x01, 0x33);
	assert_int_equal(cmos_read(f, 0x01), 0x33);

	assert_int_equal(cmos_rtc_set_nvram(&f->rtc, 0x34, 0x12), 0);
	assert_int_equal(cmos_read(f, 0x34), 0x12);
	assert_int_equal(cmos_rtc_set_nvram(&f->rtc, 0x00, 1), -EINVAL);
	assert_int_equal(cmos_rtc_set_nvram(&f->rtc, RD, 1), -EINVAL);
	assert_int_equal(cmos_rtc_set_nvram(&f->rtc, CENTURY, 1), -EINVAL);
	assert_int_equal(cmos_rtc_set_nvram(&f->rtc, 128, 1), -EINVAL);
}

static void test_real_clock_is_sane(void **state)
{
	struct cmos_rtc rtc;
	uint8_t reg = CENTURY, v = 0;

	(void)state;
	assert_int_equal(cmos_rtc_init(&rtc, NULL, NULL), 0);
	cmos_rtc_bus_ops.write(&rtc, 0, &reg, 1);
	cmos_rtc_bus_ops.read(&rtc, 1, &v, 1);
	assert_int_equal(v, 0x20);
	cmos_rtc_destroy(&rtc);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_bcd_24h_default),
		T(test_binary_mode),
		T(test_12_hour_mode),
		T(test_time_follows_host_clock),
		T(test_status_registers),
		T(test_set_time_like_linux),
		T(test_write_without_set_and_century),
		T(test_garbage_writes_are_survived),
		T(test_nvram_and_index),
		cmocka_unit_test(test_real_clock_is_sane),
	};

	log_set_level(LOG_LEVEL_OFF);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
