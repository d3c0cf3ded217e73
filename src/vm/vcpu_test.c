/*
 * vCPU stop logic on the fake hypervisor: a kick is never lost, a vCPU that
 * resets the machine stops every other vCPU, and fatal exits end the VM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "hv/fake/fake.h"
#include "vm/vcpu.h"
#include "vm/vm.h"

static struct vm vm;
static struct vm_config cfg;

/* A VM with `n` fake vCPUs, assembled by hand (vm_build would open KVM). */
static void fake_vm(unsigned int n)
{
	memset(&vm, 0, sizeof(vm));
	memset(&cfg, 0, sizeof(cfg));
	cfg.num_cpus = n;
	vm.cfg = &cfg;
	assert_int_equal(hv_fake_ops.open("", &vm.hv), 0);
	assert_int_equal(vm.hv->ops->create_vm(vm.hv, &vm.hv_vm), 0);
	assert_int_equal(event_loop_init(&vm.loop), 0);
	bus_init(&vm.pio);
	bus_init(&vm.mmio);
	for (unsigned int i = 0; i < n; i++) {
		assert_int_equal(vm.hv_vm->ops->create_vcpu(vm.hv_vm, i, &vm.vcpus[i].hv), 0);
		vm.vcpus[i].vm = &vm;
	}
	vm.num_vcpus = n;
}

static void fake_vm_free(void)
{
	for (unsigned int i = 0; i < vm.num_vcpus; i++)
		vm.vcpus[i].hv->ops->destroy(vm.vcpus[i].hv);
	event_loop_destroy(&vm.loop);
	vm.hv_vm->ops->destroy(vm.hv_vm);
	vm.hv->ops->close(vm.hv);
}

static int setup(void **state)
{
	(void)state;
	alarm(20); /* a hang is a failure, not a stuck test run */
	return vcpu_signals_init();
}

static void test_kick_before_run_is_not_lost(void **state)
{
	struct hv_exit exit;
	struct hv_vcpu *v;

	(void)state;
	fake_vm(1);
	v = vm.vcpus[0].hv;
	v->ops->set_kick(v, true);
	assert_int_equal(v->ops->run(v, &exit), 0);
	assert_int_equal(exit.reason, HV_EXIT_INTR);
	fake_vm_free();
}

static void test_reset_stops_other_vcpus(void **state)
{
	const struct hv_exit reset = { .reason = HV_EXIT_SHUTDOWN };

	(void)state;
	/* The seeds' worst case: a guest resetting in its first instant, 20 times. */
	for (int round = 0; round < 20; round++) {
		fake_vm(2);
		/* vCPU 1 "runs forever"; vCPU 0 triple-faults at once. */
		hv_fake_vcpu_script(vm.vcpus[0].hv, &reset, 1);
		assert_int_equal(vm_run(&vm), VM_EXIT_RESET);
		assert_true(hv_fake_vcpu(vm.vcpus[1].hv)->kick);
		fake_vm_free();
	}
}

static void test_poweroff_request_from_outside(void **state)
{
	(void)state;
	fake_vm(2);
	/* Both vCPUs run forever; an exit request made before vm_run must still stop them. */
	vm_request_exit(&vm, VM_EXIT_POWEROFF);
	assert_int_equal(vm_run(&vm), VM_EXIT_POWEROFF);
	fake_vm_free();
}

static void test_first_request_wins(void **state)
{
	(void)state;
	fake_vm(1);
	vm_request_exit(&vm, VM_EXIT_PANIC);
	vm_request_exit(&vm, VM_EXIT_RESET);
	assert_int_equal(vm_run(&vm), VM_EXIT_PANIC);
	fake_vm_free();
}

static void test_internal_error_is_a_crash(void **state)
{
	const struct hv_exit err = { .reason = HV_EXIT_INTERNAL_ERROR, .internal.code = 1 };

	(void)state;
	fake_vm(1);
	assert_false(vcpu_handle_exit(&vm, &err, 0));
	assert_int_equal(vm.exit_status, VM_EXIT_CRASH);
	fake_vm_free();
}

static uint8_t last_written;
static void probe_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	(void)opaque, (void)off, (void)len;
	last_written = *(const uint8_t *)data;
}
static void probe_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	(void)opaque;
	memset(data, (int)(0x40 + off), len);
}
static const struct bus_ops probe_ops = { .read = probe_read, .write = probe_write };

static void test_string_io_reaches_the_bus(void **state)
{
	uint8_t buf[3] = { 7, 8, 9 };
	struct hv_exit out = { .reason = HV_EXIT_IO,
			       .io = { .port = 0x80, .size = 1, .write = true, .count = 3, .data = buf } };
	struct hv_exit in = { .reason = HV_EXIT_IO,
			      .io = { .port = 0x81, .size = 1, .write = false, .count = 2, .data = buf } };

	(void)state;
	fake_vm(1);
	assert_int_equal(bus_register(&vm.pio, 0x80, 2, &probe_ops, NULL, "probe"), 0);
	assert_true(vcpu_handle_exit(&vm, &out, 0));
	assert_int_equal(last_written, 9);
	assert_true(vcpu_handle_exit(&vm, &in, 0));
	assert_int_equal(buf[0], 0x41);
	assert_int_equal(buf[1], 0x41);
	fake_vm_free();
}

static unsigned int runs_of(unsigned int i)
{
	struct fake_vcpu *v = hv_fake_vcpu(vm.vcpus[i].hv);
	unsigned int n;

	pthread_mutex_lock(&v->lock);
	n = v->runs;
	pthread_mutex_unlock(&v->lock);
	return n;
}

/* Waits (up to the test's alarm) until vCPU i has entered run() more than `than` times. */
static void wait_runs(unsigned int i, unsigned int than)
{
	while (runs_of(i) <= than)
		usleep(1000);
}

static int run_status;
static void *run_vm(void *arg)
{
	(void)arg;
	run_status = vm_run(&vm);
	return NULL;
}

static void test_pause_parks_and_resume_runs(void **state)
{
	unsigned int before[2];
	pthread_t t;

	(void)state;
	fake_vm(2);
	assert_int_equal(pthread_create(&t, NULL, run_vm, NULL), 0);
	wait_runs(0, 0);
	wait_runs(1, 0);
	for (int round = 0; round < 5; round++) {
		assert_int_equal(vm_pause(&vm, 5000), 0);
		assert_true(vm_is_paused(&vm));
		assert_int_equal(vm.parked, 2);
		assert_int_equal(vm_pause(&vm, 5000), 0); /* already paused */
		before[0] = runs_of(0);
		before[1] = runs_of(1);
		usleep(20000);
		/* Parked: nobody enters the guest. */
		assert_int_equal(runs_of(0), before[0]);
		assert_int_equal(runs_of(1), before[1]);
		vm_resume(&vm);
		assert_false(vm_is_paused(&vm));
		/* Back in the guest, and staying there (the kick was cleared). */
		wait_runs(0, before[0]);
		wait_runs(1, before[1]);
		usleep(20000);
		assert_true(runs_of(0) <= before[0] + 2);
	}
	/* An exit request releases paused vCPUs. */
	assert_int_equal(vm_pause(&vm, 5000), 0);
	vm_request_exit(&vm, VM_EXIT_RESET);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(run_status, VM_EXIT_RESET);
	assert_int_equal(vm_pause(&vm, 100), -ESHUTDOWN);
	vm_resume(&vm);
	fake_vm_free();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kick_before_run_is_not_lost),
		cmocka_unit_test(test_reset_stops_other_vcpus),
		cmocka_unit_test(test_poweroff_request_from_outside),
		cmocka_unit_test(test_first_request_wins),
		cmocka_unit_test(test_internal_error_is_a_crash),
		cmocka_unit_test(test_string_io_reaches_the_bus),
		cmocka_unit_test(test_pause_parks_and_resume_runs),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
