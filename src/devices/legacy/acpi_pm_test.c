/* Unit tests for the ACPI sleep control/status and reset registers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/log.h"
#include "devices/legacy/acpi_pm.h"
#include "devices/legacy/legacy_test_events.h"

struct fixture {
	struct acpi_pm pm;
	struct bus pio;
	struct test_events events;
};

static int setup(void **state)
{
	struct fixture *f = test_calloc(1, sizeof(*f));

	test_events_init(&f->events);
	bus_init(&f->pio);
	if (acpi_pm_init(&f->pm, &f->events.ev) < 0 || acpi_pm_register(&f->pm, &f->pio) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	acpi_pm_destroy(&f->pm);
	test_free(f);
	return 0;
}

static void outb(struct fixture *f, uint16_t port, uint8_t v)
{
	assert_true(bus_write(&f->pio, port, &v, 1));
}

static uint8_t inb(struct fixture *f, uint16_t port)
{
	uint8_t v = 0xaa;

	assert_true(bus_read(&f->pio, port, &v, 1));
	return v;
}

static uint8_t slp(unsigned int type, bool enable)
{
	return (uint8_t)((type << ACPI_PM_SLP_TYP_SHIFT) | (enable ? ACPI_PM_SLP_EN : 0));
}

static void test_s5_powers_off(void **state)
{
	struct fixture *f = *state;

	/* Linux's acpi_hw_extended_sleep: clear WAK_STS, then SLP_TYP|SLP_EN. */
	outb(f, ACPI_PM_SLEEP_STATUS_PORT, 0x80);
	outb(f, ACPI_PM_SLEEP_CONTROL_PORT, slp(ACPI_PM_S5_SLP_TYP, true));
	assert_int_equal(slp(ACPI_PM_S5_SLP_TYP, true), 0x34);
	assert_int_equal(f->events.poweroff, 1);
	assert_int_equal(f->events.total, 1);
	outb(f, ACPI_PM_SLEEP_CONTROL_PORT, slp(ACPI_PM_S5_SLP_TYP, true));
	assert_int_equal(f->events.total, 1);
}

static void test_other_sleep_values_ignored(void **state)
{
	struct fixture *f = *state;

	outb(f, ACPI_PM_SLEEP_CONTROL_PORT, slp(ACPI_PM_S5_SLP_TYP, false));
	for (unsigned int t = 0; t < 8; t++)
		if (t != ACPI_PM_S5_SLP_TYP)
			outb(f, ACPI_PM_SLEEP_CONTROL_PORT, slp(t, true));
	outb(f, ACPI_PM_SLEEP_CONTROL_PORT, 0xff & ~ACPI_PM_SLP_EN);
	assert_int_equal(f->events.total, 0);
	/* SLP_EN reads 0. */
	assert_int_equal(inb(f, ACPI_PM_SLEEP_CONTROL_PORT) & ACPI_PM_SLP_EN, 0);
}

static void test_status_reads_zero(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(inb(f, ACPI_PM_SLEEP_STATUS_PORT), 0);
	outb(f, ACPI_PM_SLEEP_STATUS_PORT, 0xff);
	assert_int_equal(inb(f, ACPI_PM_SLEEP_STATUS_PORT), 0);
	assert_int_equal(inb(f, ACPI_PM_RESET_PORT), 0);
	assert_int_equal(inb(f, ACPI_PM_PIO_BASE + 3), 0);
	assert_int_equal(f->events.total, 0);
}

static void test_reset_register(void **state)
{
	struct fixture *f = *state;

	outb(f, ACPI_PM_RESET_PORT, 0x01);
	outb(f, ACPI_PM_RESET_PORT, 0x06);
	assert_int_equal(f->events.total, 0);
	outb(f, ACPI_PM_RESET_PORT, ACPI_PM_RESET_VALUE);
	assert_int_equal(f->events.reset, 1);
	assert_int_equal(f->events.total, 1);
}

static void test_wide_write_reaches_each_register(void **state)
{
	struct fixture *f = *state;
	uint32_t v = (uint32_t)ACPI_PM_RESET_VALUE << 16;

	assert_true(bus_write(&f->pio, ACPI_PM_PIO_BASE, &v, 4));
	assert_int_equal(f->events.reset, 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_s5_powers_off),
		T(test_other_sleep_values_ignored),
		T(test_status_reads_zero),
		T(test_reset_register),
		T(test_wide_write_reaches_each_register),
	};

	log_set_level(LOG_LEVEL_OFF);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
