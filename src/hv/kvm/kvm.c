/*
 * KVM backend: the hv.h ops over /dev/kvm (Documentation/virt/kvm/api.rst).
 *
 * Usability is decided by probing the device (API version, capabilities),
 * never by CPUID: KVM may be served without VMX/SVM (PVM, nested setups).
 * struct kvm_run stays in this file; callers see struct hv_exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/log.h"
#include "hv/hv.h"
#include "hv/kvm/kvm.h"

struct kvm_hv {
	struct hv base;
	int fd;
	int run_size; /* mmap size of struct kvm_run and its data pages */
};

/* Room for the irqchip defaults (40 on x86) and the MSI routes of every device. */
#define KVM_ROUTES_MAX 1024

struct kvm_vm {
	struct hv_vm base;
	int fd;
	/* The GSI routing table as last given to KVM (KVM_SET_GSI_ROUTING replaces
	 * it whole); routes_lock serialises updates from vCPU threads. */
	pthread_mutex_t routes_lock;
	struct kvm_irq_routing *routes;
};

struct kvm_vcpu {
	struct hv_vcpu base;
	int fd;
	struct kvm_run *run;
	int run_size;
};

static const struct hv_vm_ops kvm_vm_ops;
static const struct hv_vcpu_ops kvm_vcpu_ops;

/* Capabilities Cove relies on; a KVM without one of them is refused. */
static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
	{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
};

/*
 * Returns 0, -ENOTTY if the device does not answer KVM ioctls, -EPROTO for
 * another API version, or -ENOTSUP when a required capability is missing
 * (named in a debug log line; the caller prints the one error line).
 */
static int probe(struct kvm_hv *kvm)
{
	int version = ioctl(kvm->fd, KVM_GET_API_VERSION, 0);

	if (version < 0)
		return -ENOTTY;
	if (version != KVM_API_VERSION)
		return -EPROTO;
	for (size_t i = 0; i < ARRAY_SIZE(required_caps); i++) {
		if (ioctl(kvm->fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			log_debug("KVM lacks %s", required_caps[i].name);
			return -ENOTSUP;
		}
	}
	kvm->run_size = ioctl(kvm->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->run_size < (int)sizeof(struct kvm_run))
		return -ENOTSUP;
	return 0;
}

static int kvm_open(const char *path, struct hv **out)
{
	struct kvm_hv *kvm = calloc(1, sizeof(*kvm));
	int err;

	if (!kvm)
		return -ENOMEM;
	kvm->base.ops = &hv_kvm_ops;
	kvm->fd = open(path, O_RDWR | O_CLOEXEC);
	if (kvm->fd < 0) {
		err = -errno;
		goto free_kvm;
	}
	err = probe(kvm);
	if (err)
		goto close_fd;
	*out = &kvm->base;
	return 0;

close_fd:
	close(kvm->fd);
free_kvm:
	free(kvm);
	return err;
}

static void kvm_close(struct hv *hv)
{
	struct kvm_hv *kvm = container_of(hv, struct kvm_hv, base);

	close(kvm->fd);
	free(kvm);
}

static int kvm_hv_arch_caps(struct hv *hv, struct hv_arch_caps *caps)
{
	struct kvm_hv *kvm = container_of(hv, struct kvm_hv, base);

	return kvm_arch_caps(kvm->fd, caps);
}

static int kvm_create_vm(struct hv *hv, struct hv_vm **out)
{
	struct kvm_hv *kvm = container_of(hv, struct kvm_hv, base);
	struct kvm_vm *vm = calloc(1, sizeof(*vm));
	int fd;

	if (!vm)
		return -ENOMEM;
	do
		fd = ioctl(kvm->fd, KVM_CREATE_VM, 0);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		int err = -errno;

		free(vm);
		return err;
	}
	vm->routes = calloc(1, sizeof(*vm->routes) +
				KVM_ROUTES_MAX * sizeof(struct kvm_irq_routing_entry));
	if (!vm->routes) {
		close(fd);
		free(vm);
		return -ENOMEM;
	}
	vm->routes->nr = kvm_arch_default_routes(vm->routes->entries, KVM_ROUTES_MAX);
	pthread_mutex_init(&vm->routes_lock, NULL);
	vm->base.ops = &kvm_vm_ops;
	vm->base.hv = hv;
	vm->fd = fd;
	*out = &vm->base;
	return 0;
}

const struct hv_ops hv_kvm_ops = {
	.name = "kvm",
	.open = kvm_open,
	.close = kvm_close,
	.arch_caps = kvm_hv_arch_caps,
	.create_vm = kvm_create_vm,
};

static struct kvm_vm *to_vm(struct hv_vm *vm)
{
	return container_of(vm, struct kvm_vm, base);
}

static void vm_destroy(struct hv_vm *hv_vm)
{
	struct kvm_vm *vm = to_vm(hv_vm);

	close(vm->fd);
	pthread_mutex_destroy(&vm->routes_lock);
	free(vm->routes);
	free(vm);
}

static int vm_set_memory(struct hv_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};

	if (ioctl(to_vm(vm)->fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return -errno;
	return 0;
}

static int vm_arch_setup(struct hv_vm *vm, const struct hv_arch_vm_init *init)
{
	return kvm_arch_vm_setup(to_vm(vm)->fd, init);
}

static int vm_set_irq_line(struct hv_vm *vm, uint32_t gsi, bool level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	if (ioctl(to_vm(vm)->fd, KVM_IRQ_LINE, &irq) < 0)
		return -errno;
	return 0;
}

static int set_ioeventfd(struct hv_vm *vm, uint64_t addr, uint32_t len, int fd, uint32_t flags)
{
	struct kvm_ioeventfd ioev = { .addr = addr, .len = len, .fd = fd, .flags = flags };

	if (ioctl(to_vm(vm)->fd, KVM_IOEVENTFD, &ioev) < 0)
		return -errno;
	return 0;
}

static int vm_add_ioeventfd(struct hv_vm *vm, uint64_t addr, uint32_t len, bool pio, int fd)
{
	return set_ioeventfd(vm, addr, len, fd, pio ? KVM_IOEVENTFD_FLAG_PIO : 0);
}

static int vm_remove_ioeventfd(struct hv_vm *vm, uint64_t addr, uint32_t len, bool pio, int fd)
{
	return set_ioeventfd(vm, addr, len, fd,
			     KVM_IOEVENTFD_FLAG_DEASSIGN | (pio ? KVM_IOEVENTFD_FLAG_PIO : 0));
}

static int vm_add_irqfd(struct hv_vm *vm, uint32_t gsi, int fd)
{
	struct kvm_irqfd irqfd = { .fd = (uint32_t)fd, .gsi = gsi };

	if (ioctl(to_vm(vm)->fd, KVM_IRQFD, &irqfd) < 0)
		return -errno;
	return 0;
}

/* The slot of `gsi`'s MSI route in the table, appended if it has none. */
static struct kvm_irq_routing_entry *msi_route_slot(struct kvm_irq_routing *t, uint32_t gsi)
{
	for (uint32_t i = 0; i < t->nr; i++)
		if (t->entries[i].gsi == gsi && t->entries[i].type == KVM_IRQ_ROUTING_MSI)
			return &t->entries[i];
	if (t->nr >= KVM_ROUTES_MAX)
		return NULL;
	return &t->entries[t->nr++];
}

static int vm_set_msi_route(struct hv_vm *hv_vm, uint32_t gsi, uint64_t addr, uint32_t data)
{
	struct kvm_vm *vm = to_vm(hv_vm);
	struct kvm_irq_routing_entry *e;
	int err = 0;

	pthread_mutex_lock(&vm->routes_lock);
	e = msi_route_slot(vm->routes, gsi);
	if (!e) {
		err = -ENOSPC;
	} else {
		*e = (struct kvm_irq_routing_entry){
			.gsi = gsi,
			.type = KVM_IRQ_ROUTING_MSI,
			.u.msi = { .address_lo = (uint32_t)addr,
				   .address_hi = (uint32_t)(addr >> 32),
				   .data = data },
		};
		if (ioctl(vm->fd, KVM_SET_GSI_ROUTING, vm->routes) < 0)
			err = -errno;
	}
	pthread_mutex_unlock(&vm->routes_lock);
	return err;
}

static int vm_create_vcpu(struct hv_vm *hv_vm, uint32_t id, struct hv_vcpu **out)
{
	struct kvm_hv *kvm = container_of(hv_vm->hv, struct kvm_hv, base);
	struct kvm_vcpu *vcpu = calloc(1, sizeof(*vcpu));
	int err;

	if (!vcpu)
		return -ENOMEM;
	vcpu->fd = ioctl(to_vm(hv_vm)->fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0) {
		err = -errno;
		goto free_vcpu;
	}
	vcpu->run_size = kvm->run_size;
	vcpu->run = mmap(NULL, (size_t)vcpu->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		err = -errno;
		goto close_fd;
	}
	vcpu->base.ops = &kvm_vcpu_ops;
	vcpu->base.vm = hv_vm;
	vcpu->base.id = id;
	*out = &vcpu->base;
	return 0;

close_fd:
	close(vcpu->fd);
free_vcpu:
	free(vcpu);
	return err;
}

static const struct hv_vm_ops kvm_vm_ops = {
	.destroy = vm_destroy,
	.set_memory = vm_set_memory,
	.arch_setup = vm_arch_setup,
	.set_irq_line = vm_set_irq_line,
	.add_ioeventfd = vm_add_ioeventfd,
	.remove_ioeventfd = vm_remove_ioeventfd,
	.add_irqfd = vm_add_irqfd,
	.set_msi_route = vm_set_msi_route,
	.create_vcpu = vm_create_vcpu,
};

static struct kvm_vcpu *to_vcpu(struct hv_vcpu *vcpu)
{
	return container_of(vcpu, struct kvm_vcpu, base);
}

static void vcpu_destroy(struct hv_vcpu *hv_vcpu)
{
	struct kvm_vcpu *vcpu = to_vcpu(hv_vcpu);

	munmap(vcpu->run, (size_t)vcpu->run_size);
	close(vcpu->fd);
	free(vcpu);
}

static int vcpu_arch_setup(struct hv_vcpu *vcpu, const struct hv_arch_vcpu_init *init)
{
	return kvm_arch_vcpu_setup(to_vcpu(vcpu)->fd, init);
}

/*
 * Fills *exit from kvm_run. I/O data lives inside the kvm_run mapping; its
 * offset and size come from the kernel, but are checked against the mapping
 * anyway before a pointer is handed out.
 */
static void decode_io(struct kvm_vcpu *vcpu, struct hv_exit *exit)
{
	struct kvm_run *run = vcpu->run;
	uint64_t bytes = (uint64_t)run->io.size * run->io.count;

	if (run->io.data_offset > (uint64_t)vcpu->run_size ||
	    bytes > (uint64_t)vcpu->run_size - run->io.data_offset) {
		exit->reason = HV_EXIT_UNKNOWN;
		exit->internal.code = KVM_EXIT_IO;
		return;
	}
	exit->reason = HV_EXIT_IO;
	exit->io.port = run->io.port;
	exit->io.size = run->io.size;
	exit->io.write = run->io.direction == KVM_EXIT_IO_OUT;
	exit->io.count = run->io.count;
	exit->io.data = (uint8_t *)run + run->io.data_offset;
}

static void decode_system_event(const struct kvm_run *run, struct hv_exit *exit)
{
	switch (run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		exit->reason = HV_EXIT_SYSTEM_OFF;
		break;
	case KVM_SYSTEM_EVENT_RESET:
		exit->reason = HV_EXIT_SYSTEM_RESET;
		break;
	default:
		exit->reason = HV_EXIT_CRASH;
		break;
	}
}

static void decode_exit(struct kvm_vcpu *vcpu, struct hv_exit *exit)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		decode_io(vcpu, exit);
		break;
	case KVM_EXIT_MMIO:
		exit->reason = HV_EXIT_MMIO;
		exit->mmio.addr = run->mmio.phys_addr;
		exit->mmio.len = MIN(run->mmio.len, (uint32_t)sizeof(run->mmio.data));
		exit->mmio.write = run->mmio.is_write;
		exit->mmio.data = run->mmio.data;
		break;
	case KVM_EXIT_HLT:
		exit->reason = HV_EXIT_HLT;
		break;
	case KVM_EXIT_SHUTDOWN:
		exit->reason = HV_EXIT_SHUTDOWN;
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		decode_system_event(run, exit);
		break;
	case KVM_EXIT_INTR:
		exit->reason = HV_EXIT_INTR;
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		exit->reason = HV_EXIT_INTERNAL_ERROR;
		exit->internal.code = run->internal.suberror;
		break;
	case KVM_EXIT_FAIL_ENTRY:
		exit->reason = HV_EXIT_FAIL_ENTRY;
		exit->internal.code = run->fail_entry.hardware_entry_failure_reason;
		break;
	default:
		exit->reason = HV_EXIT_UNKNOWN;
		exit->internal.code = run->exit_reason;
		break;
	}
}

static int vcpu_run(struct hv_vcpu *hv_vcpu, struct hv_exit *exit)
{
	struct kvm_vcpu *vcpu = to_vcpu(hv_vcpu);

	memset(exit, 0, sizeof(*exit));
	if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
		/* A kick (immediate_exit or a signal) surfaces as EINTR. */
		if (errno == EINTR || errno == EAGAIN) {
			exit->reason = HV_EXIT_INTR;
			return 0;
		}
		return -errno;
	}
	decode_exit(vcpu, exit);
	return 0;
}

static void vcpu_set_kick(struct hv_vcpu *hv_vcpu, bool pending)
{
	__atomic_store_n(&to_vcpu(hv_vcpu)->run->immediate_exit, pending, __ATOMIC_SEQ_CST);
}

static int vcpu_get_ip(struct hv_vcpu *hv_vcpu, uint64_t *ip)
{
	return kvm_arch_get_ip(to_vcpu(hv_vcpu)->fd, ip);
}

static const struct hv_vcpu_ops kvm_vcpu_ops = {
	.destroy = vcpu_destroy,
	.arch_setup = vcpu_arch_setup,
	.run = vcpu_run,
	.set_kick = vcpu_set_kick,
	.get_ip = vcpu_get_ip,
};
