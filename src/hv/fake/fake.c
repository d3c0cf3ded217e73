/* The fake hypervisor backend; see fake.h. */
#include "hv/fake/fake.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct hv_vm_ops fake_vm_ops;
static const struct hv_vcpu_ops fake_vcpu_ops;

static int fake_open(const char *path, struct hv **out)
{
	struct hv *hv = calloc(1, sizeof(*hv));

	(void)path;
	if (!hv)
		return -ENOMEM;
	hv->ops = &hv_fake_ops;
	*out = hv;
	return 0;
}

static void fake_close(struct hv *hv)
{
	free(hv);
}

/* A minimal CPUID: vendor leaf, and leaf 1 with APIC and x2APIC bits. */
static int fake_arch_caps(struct hv *hv, struct hv_arch_caps *caps)
{
	(void)hv;
	memset(caps, 0, sizeof(*caps));
	caps->cpuid.count = 2;
	caps->cpuid.entries[0] = (struct hv_x86_cpuid_entry){ .function = 0, .eax = 1 };
	caps->cpuid.entries[1] = (struct hv_x86_cpuid_entry){
		.function = 1, .ecx = 1u << 21, .edx = 1u << 9 };
	return 0;
}

static int fake_create_vm(struct hv *hv, struct hv_vm **out)
{
	struct fake_vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return -ENOMEM;
	for (unsigned int i = 0; i < FAKE_MAX_GSI; i++)
		vm->gsis[i].irqfd = -1;
	vm->base.ops = &fake_vm_ops;
	vm->base.hv = hv;
	*out = &vm->base;
	return 0;
}

const struct hv_ops hv_fake_ops = {
	.name = "fake",
	.open = fake_open,
	.close = fake_close,
	.arch_caps = fake_arch_caps,
	.create_vm = fake_create_vm,
};

static void vm_destroy(struct hv_vm *vm)
{
	free(hv_fake_vm(vm));
}

static int vm_set_memory(struct hv_vm *hv_vm, uint32_t slot, uint64_t gpa, uint64_t size, void *hva)
{
	struct fake_vm *vm = hv_fake_vm(hv_vm);

	if (slot >= FAKE_MAX_SLOTS)
		return -EINVAL;
	vm->slots[slot].gpa = gpa;
	vm->slots[slot].size = size;
	vm->slots[slot].hva = hva;
	if (slot >= vm->num_slots)
		vm->num_slots = slot + 1;
	return 0;
}

static int vm_arch_setup(struct hv_vm *vm, const struct hv_arch_vm_init *init)
{
	(void)init;
	hv_fake_vm(vm)->arch_ready = true;
	return 0;
}

static int vm_set_irq_line(struct hv_vm *hv_vm, uint32_t gsi, bool level)
{
	struct fake_vm *vm = hv_fake_vm(hv_vm);

	if (gsi >= 32)
		return -EINVAL;
	if (level)
		vm->irq_level_mask |= 1u << gsi;
	else
		vm->irq_level_mask &= ~(1u << gsi);
	return 0;
}

static int vm_add_ioeventfd(struct hv_vm *hv_vm, uint64_t addr, uint32_t len, bool pio, int fd)
{
	struct fake_vm *vm = hv_fake_vm(hv_vm);

	(void)len, (void)pio;
	if (!vm->ioeventfds_on)
		return -EOPNOTSUPP;
	if (vm->num_ioeventfds == FAKE_MAX_IOEVENTFDS)
		return -ENOSPC;
	vm->ioeventfds[vm->num_ioeventfds].addr = addr;
	vm->ioeventfds[vm->num_ioeventfds++].fd = fd;
	return 0;
}

static int vm_remove_ioeventfd(struct hv_vm *hv_vm, uint64_t addr, uint32_t len, bool pio,
			       int fd)
{
	struct fake_vm *vm = hv_fake_vm(hv_vm);

	(void)len, (void)pio;
	if (!vm->ioeventfds_on)
		return -EOPNOTSUPP;
	for (unsigned int i = 0; i < vm->num_ioeventfds; i++) {
		if (vm->ioeventfds[i].addr == addr && vm->ioeventfds[i].fd == fd) {
			vm->ioeventfds[i] = vm->ioeventfds[--vm->num_ioeventfds];
			return 0;
		}
	}
	return -ENOENT;
}

static int vm_add_irqfd(struct hv_vm *hv_vm, uint32_t gsi, int fd)
{
	struct fake_vm *vm = hv_fake_vm(hv_vm);

	if (gsi >= FAKE_MAX_GSI)
		return -EINVAL;
	vm->gsis[gsi].irqfd = fd;
	return 0;
}

static int vm_set_msi_route(struct hv_vm *hv_vm, uint32_t gsi, uint64_t addr, uint32_t data)
{
	struct fake_vm *vm = hv_fake_vm(hv_vm);

	if (gsi >= FAKE_MAX_GSI)
		return -EINVAL;
	vm->gsis[gsi].msi_routed = true;
	vm->gsis[gsi].msi_addr = addr;
	vm->gsis[gsi].msi_data = data;
	return 0;
}

static int vm_create_vcpu(struct hv_vm *vm, uint32_t id, struct hv_vcpu **out)
{
	struct fake_vcpu *vcpu = calloc(1, sizeof(*vcpu));

	if (!vcpu)
		return -ENOMEM;
	pthread_mutex_init(&vcpu->lock, NULL);
	pthread_cond_init(&vcpu->kicked, NULL);
	vcpu->base.ops = &fake_vcpu_ops;
	vcpu->base.vm = vm;
	vcpu->base.id = id;
	*out = &vcpu->base;
	return 0;
}

static const struct hv_vm_ops fake_vm_ops = {
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

void hv_fake_vcpu_script(struct hv_vcpu *hv_vcpu, const struct hv_exit *exits, unsigned int n)
{
	struct fake_vcpu *vcpu = hv_fake_vcpu(hv_vcpu);

	pthread_mutex_lock(&vcpu->lock);
	for (unsigned int i = 0; i < n && vcpu->script_len < FAKE_MAX_SCRIPT; i++)
		vcpu->script[vcpu->script_len++] = exits[i];
	pthread_mutex_unlock(&vcpu->lock);
}

static void vcpu_destroy(struct hv_vcpu *hv_vcpu)
{
	struct fake_vcpu *vcpu = hv_fake_vcpu(hv_vcpu);

	pthread_cond_destroy(&vcpu->kicked);
	pthread_mutex_destroy(&vcpu->lock);
	free(vcpu);
}

static int vcpu_arch_setup(struct hv_vcpu *hv_vcpu, const struct hv_arch_vcpu_init *init)
{
	struct fake_vcpu *vcpu = hv_fake_vcpu(hv_vcpu);

	if (init->regs) {
		vcpu->regs = *init->regs;
		vcpu->has_regs = true;
	}
	return 0;
}

/* Like KVM_RUN with immediate_exit: a pending kick wins over everything. */
static int vcpu_run(struct hv_vcpu *hv_vcpu, struct hv_exit *exit)
{
	struct fake_vcpu *vcpu = hv_fake_vcpu(hv_vcpu);

	pthread_mutex_lock(&vcpu->lock);
	vcpu->runs++;
	while (!vcpu->kick && vcpu->script_pos == vcpu->script_len)
		pthread_cond_wait(&vcpu->kicked, &vcpu->lock);
	if (vcpu->kick)
		*exit = (struct hv_exit){ .reason = HV_EXIT_INTR };
	else
		*exit = vcpu->script[vcpu->script_pos++];
	pthread_mutex_unlock(&vcpu->lock);
	return 0;
}

static void vcpu_set_kick(struct hv_vcpu *hv_vcpu, bool pending)
{
	struct fake_vcpu *vcpu = hv_fake_vcpu(hv_vcpu);

	pthread_mutex_lock(&vcpu->lock);
	vcpu->kick = pending;
	pthread_cond_broadcast(&vcpu->kicked);
	pthread_mutex_unlock(&vcpu->lock);
}

static int vcpu_get_ip(struct hv_vcpu *hv_vcpu, uint64_t *ip)
{
	*ip = hv_fake_vcpu(hv_vcpu)->regs.rip;
	return 0;
}

static const struct hv_vcpu_ops fake_vcpu_ops = {
	.destroy = vcpu_destroy,
	.arch_setup = vcpu_arch_setup,
	.run = vcpu_run,
	.set_kick = vcpu_set_kick,
	.get_ip = vcpu_get_ip,
};
