/* Unit tests for the pvpanic ISA device at port 0x505. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/log.h"
#include "devices/legacy/legacy_test_events.h"
#include "devices/legacy/pvpanic.h"

struct fixture {
	struct pvpanic pp;
	struct bus pio;
	struct test_events events;
};

static int setup(void **state)
{
	struct fixture *f = test_calloc(1, sizeof(*f));

	test_events_init(&f->events);
	bus_init(&f->pio);
	if (pvpanic_init(&f->pp, &f->events.ev) < 0 || pvpanic_register(&f->pp, &f->pio) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pvpanic_destroy(&f->pp);
	test_free(f);
	return 0;
}

static void outb(struct fixture *f, uint8_t v)
{
	assert_true(bus_write(&f->pio, PVPANIC_PORT, &v, 1));
}

static void test_reads_supported_events(void **state)
{
	struct fixture *f = *state;
	uint8_t v = 0;

	assert_true(bus_read(&f->pio, PVPANIC_PORT, &v, 1));
	assert_int_equal(v, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
}

static void test_panicked_requests_panic_exit(void **state)
{
	struct fixture *f = *state;

	outb(f, PVPANIC_PANICKED);
	assert_int_equal(f->events.panic, 1);
	assert_int_equal(f->events.total, 1);
	assert_int_equal(pvpanic_events_seen(&f->pp), PVPANIC_PANICKED);
}

static void test_crash_loaded_only_logs(void **state)
{
	struct fixture *f = *state;

	outb(f, PVPANIC_CRASH_LOADED);
	outb(f, 0xfc); /* unsupported bits */
	outb(f, 0);
	assert_int_equal(f->events.total, 0);
	assert_int_equal(pvpanic_events_seen(&f->pp), PVPANIC_CRASH_LOADED);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_reads_supported_events),
		T(test_panicked_requests_panic_exit),
		T(test_crash_loaded_only_logs),
	};

	log_set_level(LOG_LEVEL_OFF);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
