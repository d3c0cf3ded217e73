/*
 * Building, running and tearing down one VM.
 *
 * vm_build() performs these steps in order; vm_destroy() undoes them in
 * reverse, and a failed build unwinds through the same ladder:
 *   1. STEP_HV       open the hypervisor (--hypervisor, default kvm)
 *   2. STEP_VM       create the VM
 *   3. STEP_MEM      guest RAM, split around the architecture's holes
 *   4. STEP_ARCH     VM-wide setup (x86: in-kernel irqchip and PIT)
 *   5. STEP_LOOP     the event loop
 *   6. STEP_DEVICES  buses and platform devices
 *   7. STEP_PCI      the PCI host bridge and its windows
 *   8. STEP_VIRTIO   the devices of devices/registry.c (virtio on PCI)
 *   9. STEP_LOAD     kernel, initrd, command line and boot tables
 *  10. STEP_VCPUS    vCPUs, ready for their first run
 *  11. STEP_CONTROL  the control socket (--socket), served by the event loop
 */
#include "vm/vm.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "base/log.h"
#include "control/control_vm.h"
#include "devices/registry.h"
#include "vm/vcpu.h"

enum build_step {
	STEP_NONE,
	STEP_HV,
	STEP_VM,
	STEP_MEM,
	STEP_ARCH,
	STEP_LOOP,
	STEP_DEVICES,
	STEP_PCI,
	STEP_VIRTIO,
	STEP_LOAD,
	STEP_VCPUS,
	STEP_CONTROL,
};

static void request_exit_cb(void *opaque, enum vm_exit_status status)
{
	vm_request_exit(opaque, status);
}

void vm_request_exit(struct vm *vm, enum vm_exit_status status)
{
	int expected = 0;

	if (!__atomic_compare_exchange_n(&vm->exit_requested, &expected, 1, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	vm->exit_status = status;
	for (unsigned int i = 0; i < vm->num_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	/* Parked vCPUs wake up and see the request. */
	pthread_mutex_lock(&vm->run_lock);
	pthread_cond_broadcast(&vm->run_cond);
	pthread_mutex_unlock(&vm->run_lock);
	event_loop_stop(&vm->loop);
}

static bool exiting(struct vm *vm)
{
	return __atomic_load_n(&vm->exit_requested, __ATOMIC_ACQUIRE);
}

static unsigned int started_vcpus(struct vm *vm)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < vm->num_vcpus; i++)
		n += __atomic_load_n(&vm->vcpus[i].thread_started, __ATOMIC_ACQUIRE);
	return n;
}

int vm_pause(struct vm *vm, int timeout_ms)
{
	struct timespec deadline;
	int err = 0;

	pthread_mutex_lock(&vm->run_lock);
	if (exiting(vm))
		err = -ESHUTDOWN;
	else
		__atomic_store_n(&vm->paused, true, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&vm->run_lock);
	if (err)
		return err;
	/* The flag is set before the kicks: see vcpu_park() for why none is lost. */
	for (unsigned int i = 0; i < vm->num_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&vm->run_lock);
	while (!err && vm->parked < started_vcpus(vm) && !exiting(vm))
		err = -pthread_cond_timedwait(&vm->run_cond, &vm->run_lock, &deadline);
	if (!err && exiting(vm))
		err = -ESHUTDOWN;
	pthread_mutex_unlock(&vm->run_lock);
	return err;
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->run_lock);
	__atomic_store_n(&vm->paused, false, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&vm->run_cond);
	pthread_mutex_unlock(&vm->run_lock);
}

bool vm_is_paused(struct vm *vm)
{
	return __atomic_load_n(&vm->paused, __ATOMIC_ACQUIRE);
}

static int open_hypervisor(struct vm *vm)
{
	const char *dev = vm->cfg->kvm_device ? vm->cfg->kvm_device : "/dev/kvm";
	int err;

	vm->hv_ops = &hv_kvm_ops;
	err = vm->hv_ops->open(dev, &vm->hv);
	switch (err) {
	case 0:
		break;
	case -ENOENT:
		log_error("cannot open %s: no such device: KVM is not available on this host "
			  "(load kvm_intel or kvm_amd, or use the nested lab: tests/lab/lab)", dev);
		break;
	case -EACCES:
	case -EPERM:
		log_error("cannot open %s: permission denied: run as root or join the 'kvm' group",
			  dev);
		break;
	case -ENOTTY:
		log_error("%s is not a KVM device: expected /dev/kvm or another KVM node", dev);
		break;
	case -EPROTO:
		log_error("%s speaks a KVM API version other than 12", dev);
		break;
	case -ENOTSUP:
		log_error("%s lacks a KVM capability Cove needs (--log-level=debug names it)", dev);
		break;
	default:
		log_error("cannot use %s as a KVM device: %s", dev, strerror(-err));
		break;
	}
	return err;
}

static int host_ram_check(uint64_t bytes)
{
	uint64_t host = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);

	if (host && bytes > host) {
		log_error("--mem: %llu MiB is more than this host's %llu MiB of RAM",
			  (unsigned long long)(bytes / MiB), (unsigned long long)(host / MiB));
		return -ENOMEM;
	}
	return 0;
}

static int setup_memory(struct vm *vm)
{
	struct arch_ram_region regions[ARCH_MAX_RAM_REGIONS];
	uint64_t bytes = vm->cfg->mem_mib * MiB;
	unsigned int n = arch_ram_layout(bytes, regions);
	int err = host_ram_check(bytes);

	guest_mem_init(&vm->mem);
	for (unsigned int i = 0; i < n && !err; i++) {
		err = guest_mem_add(&vm->mem, regions[i].gpa, regions[i].size);
		if (err) {
			log_error("cannot allocate %llu MiB of guest memory: %s",
				  (unsigned long long)(regions[i].size / MiB), strerror(-err));
			break;
		}
	}
	for (unsigned int i = 0; i < vm->mem.count && !err; i++) {
		const struct guest_mem_region *r = &vm->mem.regions[i];

		err = vm->hv_vm->ops->set_memory(vm->hv_vm, i, r->gpa, r->size, r->hva);
		if (err)
			log_error("cannot map guest memory into the VM: %s", strerror(-err));
	}
	if (err)
		guest_mem_destroy(&vm->mem);
	return err;
}

static int create_vcpus(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->cfg->num_cpus; i++) {
		struct vcpu *vcpu = &vm->vcpus[i];
		int err = vm->hv_vm->ops->create_vcpu(vm->hv_vm, i, &vcpu->hv);

		if (!err) {
			vcpu->vm = vm;
			vm->num_vcpus++;
			err = arch_vcpu_setup(vm, vcpu->hv, i);
		}
		if (err) {
			log_error("cannot create vCPU %u: %s", i, strerror(-err));
			return err;
		}
	}
	return 0;
}

static void destroy_vcpus(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->num_vcpus; i++)
		vm->vcpus[i].hv->ops->destroy(vm->vcpus[i].hv);
	vm->num_vcpus = 0;
}

static int setup_pci(struct vm *vm)
{
	struct pci_bus_layout layout;
	int err;

	arch_pci_layout(vm, &layout);
	err = pci_bus_init(&vm->pci, &layout, vm->hv_vm, &vm->pio, &vm->mmio);
	if (err)
		log_error("cannot set up the PCI bus: %s", strerror(-err));
	return err;
}

/*
 * The failed step cleans up after itself, except STEP_VIRTIO: devices
 * attached before the failing one are detached by its teardown.
 */
static int build_step(struct vm *vm, enum build_step step)
{
	int err = 0;

	switch (step) {
	case STEP_HV:
		return open_hypervisor(vm);
	case STEP_VM:
		err = vm->hv->ops->create_vm(vm->hv, &vm->hv_vm);
		if (err)
			log_error("cannot create a VM: %s", strerror(-err));
		return err;
	case STEP_MEM:
		return setup_memory(vm);
	case STEP_ARCH:
		return arch_vm_setup(vm);
	case STEP_LOOP:
		err = event_loop_init(&vm->loop);
		if (err)
			log_error("cannot create the event loop: %s", strerror(-err));
		return err;
	case STEP_DEVICES:
		bus_init(&vm->pio);
		bus_init(&vm->mmio);
		return arch_devices_create(vm);
	case STEP_PCI:
		return setup_pci(vm);
	case STEP_VIRTIO:
		return devices_create(vm);
	case STEP_LOAD:
		return arch_load_guest(vm);
	case STEP_VCPUS:
		return create_vcpus(vm);
	case STEP_CONTROL:
		return control_vm_start(vm);
	case STEP_NONE:
		break;
	}
	return err;
}

static void teardown_step(struct vm *vm, enum build_step step)
{
	switch (step) {
	case STEP_CONTROL:
		control_vm_stop(vm);
		break;
	case STEP_VCPUS:
		destroy_vcpus(vm);
		break;
	case STEP_LOAD:
		break;
	case STEP_VIRTIO:
		devices_destroy(vm);
		break;
	case STEP_PCI:
		pci_bus_destroy(&vm->pci);
		break;
	case STEP_DEVICES:
		arch_devices_destroy(vm);
		break;
	case STEP_LOOP:
		event_loop_destroy(&vm->loop);
		break;
	case STEP_ARCH:
		break; /* the irqchip goes with the VM */
	case STEP_MEM:
		guest_mem_destroy(&vm->mem);
		break;
	case STEP_VM:
		vm->hv_vm->ops->destroy(vm->hv_vm);
		break;
	case STEP_HV:
		vm->hv->ops->close(vm->hv);
		break;
	case STEP_NONE:
		break;
	}
}

int vm_build(struct vm *vm, const struct vm_config *cfg, const struct timespec *start)
{
	memset(vm, 0, sizeof(*vm));
	pthread_mutex_init(&vm->run_lock, NULL);
	pthread_cond_init(&vm->run_cond, NULL);
	vm->cfg = cfg;
	vm->start_time = *start;
	vm->events = (struct vm_events){ .request_exit = request_exit_cb, .opaque = vm };

	for (int step = STEP_HV; step <= STEP_CONTROL; step++) {
		int err = build_step(vm, (enum build_step)step);

		if (err) {
			vm->build_step = step == STEP_VIRTIO ? step : step - 1;
			vm_destroy(vm);
			return err;
		}
		vm->build_step = step;
	}
	return 0;
}

void vm_destroy(struct vm *vm)
{
	for (int step = vm->build_step; step > STEP_NONE; step--)
		teardown_step(vm, (enum build_step)step);
	vm->build_step = STEP_NONE;
	pthread_cond_destroy(&vm->run_cond);
	pthread_mutex_destroy(&vm->run_lock);
}

static void on_signal(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(vm->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info("received signal %u: stopping the VM", si.ssi_signo);
	vm_request_exit(vm, VM_EXIT_POWEROFF);
}

/* SIGTERM, SIGINT and SIGHUP stop the VM cleanly through the event loop. */
static int watch_signals(struct vm *vm, sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	/* Blocked here, so every thread created later inherits the mask. */
	pthread_sigmask(SIG_BLOCK, set, NULL);
	vm->signal_fd = signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (vm->signal_fd < 0)
		return -errno;
	return event_loop_add(&vm->loop, vm->signal_fd, EPOLLIN, on_signal, vm);
}

/* Where each vCPU stopped: the first clue when a guest hangs. */
static void log_vcpu_ips(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->num_vcpus; i++) {
		struct hv_vcpu *v = vm->vcpus[i].hv;
		uint64_t ip;

		if (v->ops->get_ip(v, &ip) == 0)
			log_debug("vCPU %u stopped at ip 0x%llx", i, (unsigned long long)ip);
	}
}

int vm_run(struct vm *vm)
{
	sigset_t set;
	int err = watch_signals(vm, &set);

	for (unsigned int i = 0; i < vm->num_vcpus && !err; i++)
		err = vcpu_start(&vm->vcpus[i]);
	if (err) {
		log_error("cannot start the VM: %s", strerror(-err));
		vm_request_exit(vm, VM_EXIT_START_FAILED);
	} else {
		err = event_loop_run(&vm->loop);
		if (err) {
			log_error("event loop failed: %s", strerror(-err));
			vm_request_exit(vm, VM_EXIT_CRASH);
		}
	}
	/* Normally a no-op: the loop only ends after an exit request. */
	vm_request_exit(vm, VM_EXIT_POWEROFF);
	for (unsigned int i = 0; i < vm->num_vcpus; i++)
		vcpu_join(&vm->vcpus[i]);
	if (log_get_level() >= LOG_LEVEL_DEBUG)
		log_vcpu_ips(vm);
	if (vm->signal_fd > 0) {
		event_loop_remove(&vm->loop, vm->signal_fd);
		close(vm->signal_fd);
	}
	return vm->exit_status;
}
