/* vCPU threads and exit dispatch; see vcpu.h for the stop protocol. */
#include "vm/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "vm/vm.h"

#define KICK_SIGNAL SIGUSR1

static void on_kick(int sig)
{
	(void)sig; /* Its only job is to interrupt KVM_RUN. */
}

int vcpu_signals_init(void)
{
	struct sigaction sa = { .sa_handler = on_kick }; /* no SA_RESTART */

	sigemptyset(&sa.sa_mask);
	return sigaction(KICK_SIGNAL, &sa, NULL) < 0 ? -errno : 0;
}

static void handle_io(struct vm *vm, const struct hv_exit *exit)
{
	for (uint32_t i = 0; i < exit->io.count; i++) {
		uint8_t *data = exit->io.data + (size_t)i * exit->io.size;

		bool claimed = exit->io.write
				       ? bus_write(&vm->pio, exit->io.port, data, exit->io.size)
				       : bus_read(&vm->pio, exit->io.port, data, exit->io.size);

		if (!claimed)
			log_msg(LOG_LEVEL_TRACE, "unclaimed port %s at 0x%x",
				exit->io.write ? "write" : "read", exit->io.port);
	}
}

static void handle_mmio(struct vm *vm, const struct hv_exit *exit)
{
	bool claimed = exit->mmio.write
			       ? bus_write(&vm->mmio, exit->mmio.addr, exit->mmio.data, exit->mmio.len)
			       : bus_read(&vm->mmio, exit->mmio.addr, exit->mmio.data, exit->mmio.len);

	if (!claimed)
		log_debug("unclaimed MMIO %s at 0x%llx", exit->mmio.write ? "write" : "read",
			  (unsigned long long)exit->mmio.addr);
}

static bool fatal_exit(struct vm *vm, const char *what, uint64_t code, unsigned int vcpu_id)
{
	log_error("vCPU %u: %s (code 0x%llx): the guest cannot continue", vcpu_id, what,
		  (unsigned long long)code);
	vm_request_exit(vm, VM_EXIT_CRASH);
	return false;
}

bool vcpu_handle_exit(struct vm *vm, const struct hv_exit *exit, unsigned int vcpu_id)
{
	switch (exit->reason) {
	case HV_EXIT_IO:
		handle_io(vm, exit);
		break;
	case HV_EXIT_MMIO:
		handle_mmio(vm, exit);
		break;
	case HV_EXIT_HLT:
	case HV_EXIT_INTR:
		break;
	case HV_EXIT_SHUTDOWN:
		log_info("vCPU %u: triple fault: the guest reset", vcpu_id);
		vm_request_exit(vm, VM_EXIT_RESET);
		break;
	case HV_EXIT_SYSTEM_RESET:
		vm_request_exit(vm, VM_EXIT_RESET);
		break;
	case HV_EXIT_SYSTEM_OFF:
		vm_request_exit(vm, VM_EXIT_POWEROFF);
		break;
	case HV_EXIT_CRASH:
		vm_request_exit(vm, VM_EXIT_CRASH);
		break;
	case HV_EXIT_INTERNAL_ERROR:
		return fatal_exit(vm, "emulation failure (KVM internal error)", exit->internal.code,
				  vcpu_id);
	case HV_EXIT_FAIL_ENTRY:
		return fatal_exit(vm, "hardware refused to enter the guest", exit->internal.code,
				  vcpu_id);
	case HV_EXIT_UNKNOWN:
		return fatal_exit(vm, "unexpected exit", exit->internal.code, vcpu_id);
	}
	return !__atomic_load_n(&vm->exit_requested, __ATOMIC_ACQUIRE);
}

/* Start-up cost as benchmarks measure it: process start to the first entry. */
static void log_first_run(const struct vm *vm)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	log_info("vCPU 0: first run %.3f ms after start",
		 (double)(now.tv_sec - vm->start_time.tv_sec) * 1e3 +
			 (double)(now.tv_nsec - vm->start_time.tv_nsec) / 1e6);
}

void vcpu_park(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	pthread_mutex_lock(&vm->run_lock);
	vm->parked++;
	pthread_cond_broadcast(&vm->run_cond);
	while (__atomic_load_n(&vm->paused, __ATOMIC_SEQ_CST) &&
	       !__atomic_load_n(&vm->exit_requested, __ATOMIC_ACQUIRE))
		pthread_cond_wait(&vm->run_cond, &vm->run_lock);
	vm->parked--;
	pthread_mutex_unlock(&vm->run_lock);
	/*
	 * The pause's kick is still pending: clear it, or the next run would
	 * return at once. A pause or exit request that raced with this set its
	 * flag before its kick, so either the kick lands after the clear, or
	 * the caller's loop sees the flag (checked after the fence).
	 */
	vcpu->hv->ops->set_kick(vcpu->hv, false);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	sigset_t kick;

	sigemptyset(&kick);
	sigaddset(&kick, KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	if (vcpu->hv->id == 0)
		log_first_run(vm);

	while (!__atomic_load_n(&vm->exit_requested, __ATOMIC_ACQUIRE)) {
		struct hv_exit exit;
		int err;

		if (__atomic_load_n(&vm->paused, __ATOMIC_SEQ_CST)) {
			vcpu_park(vcpu);
			continue;
		}
		err = vcpu->hv->ops->run(vcpu->hv, &exit);

		if (err) {
			log_error("vCPU %u: run failed: %s", vcpu->hv->id, strerror(-err));
			vm_request_exit(vm, VM_EXIT_CRASH);
			break;
		}
		if (!vcpu_handle_exit(vm, &exit, vcpu->hv->id))
			break;
	}
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	int err = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);

	if (err)
		return -err;
	/* Release: a kicker that sees the flag also sees vcpu->thread. */
	__atomic_store_n(&vcpu->thread_started, true, __ATOMIC_RELEASE);
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	vcpu->hv->ops->set_kick(vcpu->hv, true);
	if (__atomic_load_n(&vcpu->thread_started, __ATOMIC_ACQUIRE))
		pthread_kill(vcpu->thread, KICK_SIGNAL);
}

void vcpu_join(struct vcpu *vcpu)
{
	if (vcpu->thread_started) {
		pthread_join(vcpu->thread, NULL);
		vcpu->thread_started = false;
	}
}
