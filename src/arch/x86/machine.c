/*
 * The x86 machine: RAM layout around the 32-bit hole, in-kernel interrupt
 * controllers, and per-vCPU CPUID, MSRs and entry registers.
 */
#include <errno.h>
#include <string.h>

#include "arch/x86/cpuid.h"
#include "arch/x86/layout.h"
#include "base/log.h"
#include "pci/pci_bus.h"
#include "vm/vm.h"

#define MSR_IA32_MISC_ENABLE 0x1a0
#define MISC_ENABLE_FAST_STRING 0x1ULL

unsigned int arch_ram_layout(uint64_t mem_bytes, struct arch_ram_region out[ARCH_MAX_RAM_REGIONS])
{
	unsigned int n = 0;

	out[n++] = (struct arch_ram_region){ 0, MIN(mem_bytes, X86_MMIO_HOLE_START) };
	if (mem_bytes > X86_MMIO_HOLE_START)
		out[n++] = (struct arch_ram_region){ X86_MMIO_HOLE_END,
						      mem_bytes - X86_MMIO_HOLE_START };
	return n;
}

/* The 64-bit window starts at the first 1 GiB boundary past RAM. */
static uint64_t mmio64_base(uint64_t mem_bytes)
{
	uint64_t ram_end = X86_MMIO_HOLE_END;

	if (mem_bytes > X86_MMIO_HOLE_START)
		ram_end += mem_bytes - X86_MMIO_HOLE_START;
	return ALIGN_UP(ram_end, X86_PCI_MMIO64_ALIGN);
}

void arch_pci_layout(const struct vm *vm, struct pci_bus_layout *out)
{
	*out = (struct pci_bus_layout){
		.config_port = X86_PCI_CONFIG_ADDRESS_PORT,
		.ecam_base = X86_PCI_ECAM_BASE,
		.ecam_size = X86_PCI_ECAM_SIZE,
		.mmio32_base = X86_PCI_MMIO32_BASE,
		.mmio32_size = X86_PCI_MMIO32_SIZE,
		.mmio64_base = mmio64_base(vm->cfg->mem_mib * MiB),
		.mmio64_size = X86_PCI_MMIO64_SIZE,
		.intx_gsi_base = X86_PCI_INTX_GSI_BASE,
		.intx_gsi_count = X86_PCI_INTX_GSI_COUNT,
		.msi_gsi_base = X86_MSI_GSI_BASE,
	};
}

int arch_vm_setup(struct vm *vm)
{
	const struct hv_arch_vm_init init = {
		.tss_addr = X86_TSS_ADDR,
		.identity_map_addr = X86_IDENTITY_MAP_ADDR,
	};
	int err = vm->hv_vm->ops->arch_setup(vm->hv_vm, &init);

	if (err) {
		log_error("cannot create the interrupt controllers: %s", strerror(-err));
		return err;
	}
	err = vm->hv->ops->arch_caps(vm->hv, &vm->arch.caps);
	if (err)
		log_error("cannot read the CPUID the hypervisor supports: %s", strerror(-err));
	return err;
}

int arch_vcpu_setup(struct vm *vm, struct hv_vcpu *vcpu, uint32_t id)
{
	static const struct hv_x86_msr msrs[] = {
		{ MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
	};
	struct hv_x86_cpuid cpuid;
	struct hv_arch_vcpu_init init = {
		.cpuid = &cpuid,
		.msrs = msrs,
		.num_msrs = ARRAY_SIZE(msrs),
		/* Only the boot vCPU starts running; the others wait for INIT/SIPI. */
		.regs = id == 0 ? &vm->arch.boot_regs : NULL,
	};

	x86_cpuid_for_vcpu(&vm->arch.caps.cpuid, id, vm->cfg->num_cpus, &cpuid);
	return vcpu->ops->arch_setup(vcpu, &init);
}
