/*
 * Unit tests for the i8042: the command sequences Linux's i8042 driver and
 * reboot code send, through the bus at the real ports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/log.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/legacy_test_events.h"

#define STR_OBF 0x01
#define STR_IBF 0x02
#define STR_SYS 0x04
#define STR_KEYLOCK 0x10
#define STR_AUXDATA 0x20
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20

struct fixture {
	struct i8042 k;
	struct bus pio;
	struct test_events events;
};

static int setup(void **state)
{
	struct fixture *f = test_calloc(1, sizeof(*f));

	test_events_init(&f->events);
	bus_init(&f->pio);
	if (i8042_init(&f->k, &f->events.ev) < 0 || i8042_register(&f->k, &f->pio) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	i8042_destroy(&f->k);
	test_free(f);
	return 0;
}

static uint8_t inb(struct fixture *f, uint16_t port)
{
	uint8_t v = 0;

	assert_true(bus_read(&f->pio, port, &v, 1));
	return v;
}

static void outb(struct fixture *f, uint16_t port, uint8_t v)
{
	assert_true(bus_write(&f->pio, port, &v, 1));
}

/* Linux's i8042_command(): wait for IBF clear, write, poll OBF, read. */
static int command(struct fixture *f, uint8_t cmd, const uint8_t *param, int nparam,
		   uint8_t *resp, int nresp)
{
	assert_int_equal(inb(f, 0x64) & STR_IBF, 0);
	outb(f, 0x64, cmd);
	for (int i = 0; i < nparam; i++) {
		assert_int_equal(inb(f, 0x64) & STR_IBF, 0);
		outb(f, 0x60, param[i]);
	}
	for (int i = 0; i < nresp; i++) {
		if (!(inb(f, 0x64) & STR_OBF))
			return -1; /* Linux would time out here */
		resp[i] = inb(f, 0x60);
	}
	return 0;
}

static void test_status_at_reset(void **state)
{
	struct fixture *f = *state;
	uint8_t st = inb(f, 0x64);

	assert_int_equal(st & (STR_OBF | STR_IBF), 0);
	assert_true(st & STR_SYS);
	assert_true(st & STR_KEYLOCK); /* not locked: no "Keylock active" */
}

static void test_linux_probe_sequence(void **state)
{
	struct fixture *f = *state;
	uint8_t r, ctr, ctr2, p;

	/* i8042_flush: nothing pending. */
	assert_int_equal(inb(f, 0x64) & STR_OBF, 0);
	/* i8042_controller_selftest */
	assert_int_equal(command(f, 0xaa, NULL, 0, &r, 1), 0);
	assert_int_equal(r, 0x55);
	/* i8042_controller_init: two equal CTR reads, then a write. */
	assert_int_equal(command(f, 0x20, NULL, 0, &ctr, 1), 0);
	assert_int_equal(command(f, 0x20, NULL, 0, &ctr2, 1), 0);
	assert_int_equal(ctr, ctr2);
	assert_true(ctr & 0x40); /* XLATE: Linux keeps translation */
	ctr = (uint8_t)((ctr | CTR_KBDDIS) & ~0x01);
	assert_int_equal(command(f, 0x60, &ctr, 1, NULL, 0), 0);
	assert_int_equal(command(f, 0x20, NULL, 0, &r, 1), 0);
	assert_int_equal(r, ctr);

	/* i8042_check_aux: loop, then the bit assignment test. */
	p = 0x5a;
	assert_int_equal(command(f, 0xd3, &p, 1, NULL, 0), 0);
	assert_int_equal(inb(f, 0x64) & (STR_OBF | STR_AUXDATA), STR_OBF | STR_AUXDATA);
	assert_int_equal(inb(f, 0x60), 0x5a);
	assert_int_equal(command(f, 0xa9, NULL, 0, &r, 1), 0);
	assert_int_equal(r, 0x00);
	assert_int_equal(command(f, 0xa7, NULL, 0, NULL, 0), 0);
	assert_int_equal(command(f, 0x20, NULL, 0, &r, 1), 0);
	assert_true(r & CTR_AUXDIS); /* disabling "works": no SiS warning */
	assert_int_equal(command(f, 0xa8, NULL, 0, NULL, 0), 0);
	assert_int_equal(command(f, 0x20, NULL, 0, &r, 1), 0);
	assert_true(r & CTR_AUXDIS); /* enabling does not: no AUX port */

	/* Keyboard port tests and enable. */
	assert_int_equal(command(f, 0xab, NULL, 0, &r, 1), 0);
	assert_int_equal(r, 0x00);
	assert_int_equal(command(f, 0xad, NULL, 0, NULL, 0), 0);
	assert_int_equal(command(f, 0x20, NULL, 0, &r, 1), 0);
	assert_true(r & CTR_KBDDIS);
	assert_int_equal(command(f, 0xae, NULL, 0, NULL, 0), 0);
	assert_int_equal(command(f, 0x20, NULL, 0, &r, 1), 0);
	assert_false(r & CTR_KBDDIS);
	/* KBD loop echoes as keyboard data. */
	p = 0xa5;
	assert_int_equal(command(f, 0xd2, &p, 1, &r, 1), 0);
	assert_int_equal(r, 0xa5);

	/* A byte for the (absent) keyboard gets no answer and no data. */
	outb(f, 0x60, 0xf2);
	assert_int_equal(inb(f, 0x64) & STR_OBF, 0);
	assert_int_equal(f->events.total, 0);
}

static void test_pulse_reset_requests_reset_once(void **state)
{
	struct fixture *f = *state;

	/* Linux's BOOT_KBD: up to 10 times kb_wait() then 0xFE to 0x64. */
	for (int i = 0; i < 10; i++) {
		assert_int_equal(inb(f, 0x64) & STR_IBF, 0);
		outb(f, 0x64, 0xfe);
	}
	assert_int_equal(f->events.reset, 1);
	assert_int_equal(f->events.total, 1);
}

static void test_output_port_reset(void **state)
{
	struct fixture *f = *state;
	uint8_t r;

	/* A20 enable (0xDF keeps bit 0 set): no reset. */
	outb(f, 0x64, 0xd1);
	outb(f, 0x60, 0xdf);
	outb(f, 0x64, 0xff); /* null command */
	assert_int_equal(f->events.total, 0);
	assert_int_equal(command(f, 0xd0, NULL, 0, &r, 1), 0);
	assert_int_equal(r, 0xdf);
	/* Bit 0 clear: reset. */
	outb(f, 0x64, 0xd1);
	outb(f, 0x60, 0xfe);
	assert_int_equal(f->events.reset, 1);
	outb(f, 0x64, 0xfe);
	assert_int_equal(f->events.reset, 1);
}

static void test_other_pulse_commands(void **state)
{
	struct fixture *f = *state;

	outb(f, 0x64, 0xff); /* pulses nothing */
	outb(f, 0x64, 0xf1); /* pulses bits 1-3 only */
	assert_int_equal(f->events.total, 0);
	outb(f, 0x64, 0xf0); /* pulses bit 0 too */
	assert_int_equal(f->events.reset, 1);
}

static void test_unknown_command_does_not_wedge(void **state)
{
	struct fixture *f = *state;
	uint8_t r;

	outb(f, 0x64, 0x55);
	assert_int_equal(inb(f, 0x64) & (STR_OBF | STR_IBF), 0);
	assert_int_equal(command(f, 0xaa, NULL, 0, &r, 1), 0);
	assert_int_equal(r, 0x55);
	/* A command cancels a pending parameter wait. */
	outb(f, 0x64, 0xd1);
	outb(f, 0x64, 0x20);
	assert_int_equal(inb(f, 0x60) & CTR_AUXDIS, CTR_AUXDIS);
	outb(f, 0x60, 0x00); /* a keyboard byte now, not an output-port write */
	assert_int_equal(f->events.total, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_status_at_reset),
		T(test_linux_probe_sequence),
		T(test_pulse_reset_requests_reset_once),
		T(test_output_port_reset),
		T(test_other_pulse_commands),
		T(test_unknown_command_does_not_wedge),
	};

	log_set_level(LOG_LEVEL_OFF);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
