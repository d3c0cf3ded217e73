/* Unit tests for vm_config defaults, serial rules and vm_config_finish(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/vm_config.h"

static void test_defaults_and_free(void **state)
{
	struct vm_config cfg;

	(void)state;
	vm_config_init(&cfg);
	assert_int_equal(cfg.num_cpus, 1);
	assert_int_equal(cfg.mem_mib, VM_CONFIG_DEFAULT_MEM_MIB);
	assert_int_equal(cfg.log_level, LOG_LEVEL_WARN);
	assert_true(cfg.syslog);
	assert_int_equal(cfg.num_serials, 0);
	assert_null(cfg.kvm_device);
	cfg.kernel_path = strdup("k");
	cfg.name = strdup("n");
	cfg.params[cfg.num_params++] = strdup("p");
	vm_config_free(&cfg); /* leaks would show under ASan */
	assert_null(cfg.kernel_path);
	assert_int_equal(cfg.num_params, 0);
	vm_config_free(&cfg); /* twice is harmless */
}

static void test_add_serial_rules(void **state)
{
	struct vm_config cfg;
	struct serial_config com1 = {.hw = SERIAL_HW_UART, .num = 1, .stdin = true};
	struct serial_config hvc1 = {.hw = SERIAL_HW_VIRTIO_CONSOLE, .num = 1, .earlycon = false};
	struct serial_config com2 = {.hw = SERIAL_HW_UART, .num = 2, .earlycon = true};
	struct serial_config dup;
	char err[128];

	(void)state;
	vm_config_init(&cfg);
	assert_int_equal(vm_config_add_serial(&cfg, &com1, err, sizeof(err)), 0);
	assert_int_equal(vm_config_add_serial(&cfg, &hvc1, err, sizeof(err)), 0);
	assert_int_equal(vm_config_add_serial(&cfg, &com2, err, sizeof(err)), 0);
	dup = com1;
	dup.stdin = false;
	assert_int_equal(vm_config_add_serial(&cfg, &dup, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "hardware=serial,num=1 is configured twice");
	dup = (struct serial_config){.hw = SERIAL_HW_UART, .num = 3, .stdin = true};
	assert_int_equal(vm_config_add_serial(&cfg, &dup, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "stdin"));
	dup = (struct serial_config){.hw = SERIAL_HW_UART, .num = 3, .earlycon = true};
	assert_int_equal(vm_config_add_serial(&cfg, &dup, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "earlycon"));
	assert_int_equal(cfg.num_serials, 3);
	vm_config_free(&cfg);
}

static void test_finish(void **state)
{
	struct vm_config cfg;
	char err[128];

	(void)state;
	vm_config_init(&cfg);
	assert_int_equal(vm_config_finish(&cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "no kernel given");
	cfg.kernel_path = strdup("k");
	assert_int_equal(vm_config_finish(&cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.num_serials, 1);
	assert_true(cfg.serials[0].console && cfg.serials[0].stdin);
	assert_int_equal(cfg.serials[0].type, SERIAL_TYPE_STDOUT);
	assert_string_equal(cfg.kvm_device, "/dev/kvm");
	/* Idempotent. */
	assert_int_equal(vm_config_finish(&cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.num_serials, 1);
	assert_string_equal(cfg.kvm_device, "/dev/kvm");
	vm_config_free(&cfg);
}

/* Eight virtio consoles without console: no room for the default COM1. */
static void test_finish_no_room(void **state)
{
	struct vm_config cfg;
	char err[128];

	(void)state;
	vm_config_init(&cfg);
	cfg.kernel_path = strdup("k");
	for (unsigned int num = 1; num <= VM_CONFIG_MAX_SERIALS; num++) {
		struct serial_config sc = {.hw = SERIAL_HW_VIRTIO_CONSOLE, .num = num};

		assert_int_equal(vm_config_add_serial(&cfg, &sc, err, sizeof(err)), 0);
	}
	assert_int_equal(vm_config_finish(&cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "too many serial ports"));
	vm_config_free(&cfg);
}

static void test_shared_dir_rules(void **state)
{
	struct vm_config cfg;
	struct shared_dir_config sd;
	char err[128], tag[8];

	(void)state;
	vm_config_init(&cfg);
	vm_config_shared_dir_defaults(&sd);
	assert_int_equal(sd.model, geteuid() == 0 ? SHARED_DIR_PASSTHROUGH : SHARED_DIR_NONE);
	assert_int_equal(sd.fmode, 0600);
	assert_int_equal(sd.dmode, 0700);
	assert_int_equal(sd.msize, SHARED_DIR_MSIZE_DEFAULT);
	for (int i = 0; i < VM_CONFIG_MAX_SHARED_DIRS; i++) {
		snprintf(tag, sizeof(tag), "t%d", i);
		sd.path = strdup("/tmp");
		sd.tag = strdup(tag);
		assert_int_equal(vm_config_add_shared_dir(&cfg, &sd, err, sizeof(err)), 0);
	}
	sd.path = strdup("/tmp");
	sd.tag = strdup("t0");
	assert_int_equal(vm_config_add_shared_dir(&cfg, &sd, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "too many shared directories"));
	cfg.num_shared_dirs--;
	free(cfg.shared_dirs[cfg.num_shared_dirs].path);
	free(cfg.shared_dirs[cfg.num_shared_dirs].tag);
	assert_int_equal(vm_config_add_shared_dir(&cfg, &sd, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "tag 't0' is given to two shared directories");
	free(sd.path);
	free(sd.tag);
	vm_config_free(&cfg); /* frees the paths and tags it owns (ASan checks) */
	assert_int_equal(cfg.num_shared_dirs, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults_and_free),
	    cmocka_unit_test(test_add_serial_rules),
	    cmocka_unit_test(test_finish),
	    cmocka_unit_test(test_finish_no_room),
	    cmocka_unit_test(test_shared_dir_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
