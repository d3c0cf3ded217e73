/*
 * x86 architecture state exchanged with a hypervisor backend, as plain data
 * (hv.h includes this through the ARCH include path). Backends translate it
 * to their own ABI; the fake backend records it for unit tests.
 */
#ifndef COVE_ARCH_X86_HV_ARCH_H
#define COVE_ARCH_X86_HV_ARCH_H

#include <stdbool.h>
#include <stdint.h>

#define HV_X86_MAX_CPUID 256
#define HV_X86_MAX_MSRS 16

struct hv_x86_cpuid_entry {
	uint32_t function;
	uint32_t index;
	uint32_t flags;	/* HV_X86_CPUID_SIGNIFICANT_INDEX when index matters */
	uint32_t eax, ebx, ecx, edx;
};
#define HV_X86_CPUID_SIGNIFICANT_INDEX 1u

struct hv_x86_cpuid {
	unsigned int count;
	struct hv_x86_cpuid_entry entries[HV_X86_MAX_CPUID];
};

/* A segment register as the CPU caches it (not the GDT encoding). */
struct hv_x86_segment {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint8_t type, present, dpl, db, s, l, g;
};

struct hv_x86_msr {
	uint32_t index;
	uint64_t value;
};

/* Register state for the boot vCPU at the kernel's entry point. */
struct hv_x86_boot_regs {
	uint64_t rip, rsp, rsi, rbx, rflags;
	uint64_t cr0, cr3, cr4, efer;
	struct hv_x86_segment cs, ds, es, fs, gs, ss, tr, ldt;
	uint64_t gdt_base, idt_base;
	uint16_t gdt_limit, idt_limit;
};

/* Everything one vCPU needs before its first run. */
struct hv_arch_vcpu_init {
	const struct hv_x86_cpuid *cpuid;	/* already specialised for this vCPU */
	const struct hv_x86_msr *msrs;
	unsigned int num_msrs;
	const struct hv_x86_boot_regs *regs; /* NULL: wait for INIT/SIPI (APs) */
};

/* VM-wide setup: in-kernel interrupt controllers and the addresses KVM needs. */
struct hv_arch_vm_init {
	uint64_t tss_addr;		/* 3 pages, inside the 32-bit hole */
	uint64_t identity_map_addr;	/* 1 page, just below tss_addr */
};

/* What the hypervisor can offer this architecture's vCPUs. */
struct hv_arch_caps {
	struct hv_x86_cpuid cpuid;
};

#endif
