/*
 * x86 parts of the KVM backend: CPUID, in-kernel irqchip and PIT, and the
 * register state of a vCPU at its first run.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "base/log.h"
#include "hv/kvm/kvm.h"

/* Local APIC register offsets and LVT delivery modes (Intel SDM vol. 3, 10.5.1). */
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

static int xioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

int kvm_arch_caps(int kvm_fd, struct hv_arch_caps *caps)
{
	struct hv_x86_cpuid *out = &caps->cpuid;
	size_t size = sizeof(struct kvm_cpuid2) + HV_X86_MAX_CPUID * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *cpuid = calloc(1, size);
	int err;

	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = HV_X86_MAX_CPUID;
	err = xioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid);
	if (err < 0)
		goto out;
	err = 0;
	out->count = cpuid->nent;
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		out->entries[i] = (struct hv_x86_cpuid_entry){
			.function = e->function, .index = e->index,
			.flags = (e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ?
					 HV_X86_CPUID_SIGNIFICANT_INDEX : 0,
			.eax = e->eax, .ebx = e->ebx, .ecx = e->ecx, .edx = e->edx,
		};
	}
out:
	free(cpuid);
	return err;
}

int kvm_arch_vm_setup(int vm_fd, const struct hv_arch_vm_init *init)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t identity = init->identity_map_addr;
	int err;

	err = xioctl(vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity);
	if (err < 0)
		return err;
	if (ioctl(vm_fd, KVM_SET_TSS_ADDR, (unsigned long)init->tss_addr) < 0)
		return -errno;
	err = xioctl(vm_fd, KVM_CREATE_IRQCHIP, NULL);
	if (err < 0)
		return err;
	err = xioctl(vm_fd, KVM_CREATE_PIT2, &pit);
	return err < 0 ? err : 0;
}

static int set_cpuid(int fd, const struct hv_x86_cpuid *in)
{
	size_t size = sizeof(struct kvm_cpuid2) + in->count * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *cpuid = calloc(1, size);
	int err;

	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = in->count;
	for (unsigned int i = 0; i < in->count; i++) {
		const struct hv_x86_cpuid_entry *e = &in->entries[i];

		cpuid->entries[i] = (struct kvm_cpuid_entry2){
			.function = e->function, .index = e->index,
			.flags = (e->flags & HV_X86_CPUID_SIGNIFICANT_INDEX) ?
					 KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0,
			.eax = e->eax, .ebx = e->ebx, .ecx = e->ecx, .edx = e->edx,
		};
	}
	err = xioctl(fd, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	return err < 0 ? err : 0;
}

static int set_msrs(int fd, const struct hv_x86_msr *msrs, unsigned int n)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entries[HV_X86_MAX_MSRS];
	} buf = { .hdr.nmsrs = n };
	int r;

	if (n > HV_X86_MAX_MSRS)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++)
		buf.entries[i] = (struct kvm_msr_entry){ .index = msrs[i].index,
							 .data = msrs[i].value };
	r = xioctl(fd, KVM_SET_MSRS, &buf);
	if (r < 0)
		return r;
	return (unsigned int)r == n ? 0 : -EINVAL; /* r counts the MSRs set */
}

/* x87 and SSE control words as after a hardware reset (FNINIT). */
static int set_fpu(int fd)
{
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	int r = xioctl(fd, KVM_SET_FPU, &fpu);

	return r < 0 ? r : 0;
}

/* LINT0 takes external (PIC) interrupts and LINT1 NMIs, as firmware sets them. */
static int set_lapic_lvts(int fd)
{
	struct kvm_lapic_state lapic;
	uint32_t *lint0 = (uint32_t *)(void *)&lapic.regs[APIC_LVT_LINT0];
	uint32_t *lint1 = (uint32_t *)(void *)&lapic.regs[APIC_LVT_LINT1];
	int r = xioctl(fd, KVM_GET_LAPIC, &lapic);

	if (r < 0)
		return r;
	*lint0 = (*lint0 & ~0x700u) | (APIC_MODE_EXTINT << 8);
	*lint1 = (*lint1 & ~0x700u) | (APIC_MODE_NMI << 8);
	r = xioctl(fd, KVM_SET_LAPIC, &lapic);
	return r < 0 ? r : 0;
}

static struct kvm_segment to_kvm_segment(const struct hv_x86_segment *s)
{
	return (struct kvm_segment){
		.base = s->base, .limit = s->limit, .selector = s->selector,
		.type = s->type, .present = s->present, .dpl = s->dpl,
		.db = s->db, .s = s->s, .l = s->l, .g = s->g,
		.unusable = !s->present,
	};
}

static int set_boot_regs(int fd, const struct hv_x86_boot_regs *b)
{
	struct kvm_regs regs = {
		.rip = b->rip, .rsp = b->rsp, .rbp = b->rsp,
		.rsi = b->rsi, .rbx = b->rbx, .rflags = b->rflags,
	};
	struct kvm_sregs sregs;
	int r = xioctl(fd, KVM_GET_SREGS, &sregs);

	if (r < 0)
		return r;
	sregs.cs = to_kvm_segment(&b->cs);
	sregs.ds = to_kvm_segment(&b->ds);
	sregs.es = to_kvm_segment(&b->es);
	sregs.fs = to_kvm_segment(&b->fs);
	sregs.gs = to_kvm_segment(&b->gs);
	sregs.ss = to_kvm_segment(&b->ss);
	sregs.tr = to_kvm_segment(&b->tr);
	sregs.ldt = to_kvm_segment(&b->ldt);
	sregs.gdt.base = b->gdt_base;
	sregs.gdt.limit = b->gdt_limit;
	sregs.idt.base = b->idt_base;
	sregs.idt.limit = b->idt_limit;
	sregs.cr0 = b->cr0;
	sregs.cr3 = b->cr3;
	sregs.cr4 = b->cr4;
	sregs.efer = b->efer;
	r = xioctl(fd, KVM_SET_SREGS, &sregs);
	if (r < 0)
		return r;
	r = xioctl(fd, KVM_SET_REGS, &regs);
	return r < 0 ? r : 0;
}

int kvm_arch_vcpu_setup(int fd, const struct hv_arch_vcpu_init *init)
{
	int err = set_cpuid(fd, init->cpuid);

	if (err)
		return err;
	err = set_msrs(fd, init->msrs, init->num_msrs);
	if (err)
		return err;
	err = set_fpu(fd);
	if (err)
		return err;
	err = set_lapic_lvts(fd);
	if (err)
		return err;
	return init->regs ? set_boot_regs(fd, init->regs) : 0;
}

int kvm_arch_get_ip(int fd, uint64_t *ip)
{
	struct kvm_regs regs;
	int r = xioctl(fd, KVM_GET_REGS, &regs);

	if (r < 0)
		return r;
	*ip = regs.rip;
	return 0;
}

/* KVM's own default table for an x86 in-kernel irqchip (see kvm.h). */
unsigned int kvm_arch_default_routes(struct kvm_irq_routing_entry *out, unsigned int max)
{
	unsigned int n = 0;

	for (uint32_t gsi = 0; gsi < 24; gsi++) {
		if (gsi < 16 && n < max)
			out[n++] = (struct kvm_irq_routing_entry){
				.gsi = gsi,
				.type = KVM_IRQ_ROUTING_IRQCHIP,
				.u.irqchip = { .irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
								  : KVM_IRQCHIP_PIC_SLAVE,
					       .pin = gsi % 8 },
			};
		if (n < max)
			out[n++] = (struct kvm_irq_routing_entry){
				.gsi = gsi,
				.type = KVM_IRQ_ROUTING_IRQCHIP,
				.u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi },
			};
	}
	return n;
}
