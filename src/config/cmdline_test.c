/* Unit tests for the kernel command line built from a vm_config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/cmdline.h"

static struct vm_config cfg;

static int setup(void **state)
{
	(void)state;
	vm_config_init(&cfg);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vm_config_free(&cfg);
	return 0;
}

static void add_serial(enum serial_hw hw, unsigned int num, bool console, bool earlycon)
{
	struct serial_config sc = {
	    .type = SERIAL_TYPE_STDOUT,
	    .hw = hw,
	    .num = num,
	    .console = console,
	    .earlycon = earlycon,
	};

	assert_int_equal(vm_config_add_serial(&cfg, &sc, NULL, 0), 0);
}

static void add_param(const char *p)
{
	cfg.params[cfg.num_params] = strdup(p);
	assert_non_null(cfg.params[cfg.num_params]);
	cfg.num_params++;
}

/* Builds into a generous buffer and compares with the expected line. */
static void expect_line(const char *want)
{
	char buf[4097];

	assert_int_equal(cmdline_build(&cfg, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static void test_empty(void **state)
{
	(void)state;
	expect_line("");
}

static void test_default_console(void **state)
{
	(void)state;
	cfg.kernel_path = strdup("k");
	assert_int_equal(vm_config_finish(&cfg, NULL, 0), 0);
	expect_line("console=ttyS0");
}

static void test_seed_pair(void **state)
{
	(void)state;
	add_serial(SERIAL_HW_VIRTIO_CONSOLE, 1, true, false);
	add_serial(SERIAL_HW_UART, 1, false, true);
	add_param("rw root=/dev/ram earlyprintk=serial panic=0");
	expect_line("console=hvc0 earlycon=uart8250,io,0x3f8 rw root=/dev/ram earlyprintk=serial "
		    "panic=0");
}

/* Consoles sorted by hardware (UARTs first) and num, as crosvm's BTreeMap. */
static void test_console_order(void **state)
{
	(void)state;
	add_serial(SERIAL_HW_VIRTIO_CONSOLE, 2, true, false);
	add_serial(SERIAL_HW_UART, 4, true, false);
	add_serial(SERIAL_HW_VIRTIO_CONSOLE, 1, true, false);
	add_serial(SERIAL_HW_UART, 3, false, false);
	add_serial(SERIAL_HW_UART, 2, true, true);
	expect_line("console=ttyS1 console=ttyS3 console=hvc0 console=hvc1 "
		    "earlycon=uart8250,io,0x2f8");
}

static void test_earlycon_ports(void **state)
{
	static const char *const want[] = {
	    "earlycon=uart8250,io,0x3f8", "earlycon=uart8250,io,0x2f8",
	    "earlycon=uart8250,io,0x3e8", "earlycon=uart8250,io,0x2e8"};

	(void)state;
	for (unsigned int num = 1; num <= 4; num++) {
		vm_config_free(&cfg);
		add_serial(SERIAL_HW_UART, num, false, true);
		expect_line(want[num - 1]);
	}
}

static void test_params_order_and_spaces(void **state)
{
	(void)state;
	add_serial(SERIAL_HW_UART, 1, true, false);
	add_param("rw");
	add_param("  root=/dev/vda  ");
	add_param("");
	add_param("   ");
	add_param("quiet  loglevel=3");
	expect_line("console=ttyS0 rw root=/dev/vda quiet  loglevel=3");
}

static void test_params_only(void **state)
{
	(void)state;
	add_param("a");
	add_param("b");
	expect_line("a b");
}

static void add_disk(const char *path, bool ro, bool root)
{
	struct block_config bc;

	vm_config_block_defaults(&bc);
	bc.path = strdup(path);
	bc.ro = ro;
	bc.root = root;
	assert_int_equal(vm_config_add_block(&cfg, &bc, NULL, 0), 0);
}

/* root=/dev/vdX ro|rw sits between the console items and --params. */
static void test_root_disk(void **state)
{
	(void)state;
	add_disk("a.img", false, false);
	expect_line("");
	add_disk("b.img", true, true);
	expect_line("root=/dev/vdb ro");
	add_serial(SERIAL_HW_UART, 1, true, true);
	add_param("init=/bin/sh");
	expect_line("console=ttyS0 earlycon=uart8250,io,0x3f8 root=/dev/vdb ro init=/bin/sh");
	vm_config_free(&cfg);
	add_param("quiet");
	add_disk("a.img", false, true);
	expect_line("root=/dev/vda rw quiet");
}

static void test_too_big(void **state)
{
	char buf[32];
	size_t n = strlen("console=ttyS0 rw");

	(void)state;
	add_serial(SERIAL_HW_UART, 1, true, false);
	add_param("rw");
	/* Exactly fits: the string plus its NUL. */
	assert_int_equal(cmdline_build(&cfg, buf, n + 1), 0);
	assert_string_equal(buf, "console=ttyS0 rw");
	/* One byte short, in the params and in the serial items. */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(cmdline_build(&cfg, buf, n), -E2BIG);
	assert_string_equal(buf, "");
	assert_int_equal(cmdline_build(&cfg, buf, 5), -E2BIG);
	assert_string_equal(buf, "");
	assert_int_equal(cmdline_build(&cfg, buf, 1), -E2BIG);
	assert_int_equal(cmdline_build(&cfg, buf, 0), -E2BIG);
	/* An empty line fits in one byte. */
	vm_config_free(&cfg);
	assert_int_equal(cmdline_build(&cfg, buf, 1), 0);
	assert_string_equal(buf, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_empty),	   T(test_default_console), T(test_seed_pair),
	    T(test_console_order), T(test_earlycon_ports),  T(test_params_order_and_spaces),
	    T(test_params_only),   T(test_root_disk),	    T(test_too_big),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
