/*
 * The hooks generic code calls into the architecture (arch/<arch>/).
 * Exactly one architecture is compiled in (ARCH= in the Makefile); generic
 * code never tests which.
 */
#ifndef COVE_ARCH_ARCH_H
#define COVE_ARCH_ARCH_H

#include <stdint.h>

#include "arch_vm.h" /* struct arch_vm, from arch/<arch>/ */
#include "base/compiler.h"

struct vm;
struct hv_vcpu;

#define ARCH_MAX_RAM_REGIONS 2

struct arch_ram_region {
	uint64_t gpa;
	uint64_t size;
};

/*
 * Splits `mem_bytes` of RAM into guest-physical regions around the
 * architecture's holes. Returns the number of regions written to `out`.
 */
unsigned int arch_ram_layout(uint64_t mem_bytes, struct arch_ram_region out[ARCH_MAX_RAM_REGIONS]);

/* VM-wide hypervisor setup (x86: in-kernel irqchip, PIT, TSS). */
must_check int arch_vm_setup(struct vm *vm);

/*
 * Creates the platform devices (x86: UARTs, i8042, RTC, ACPI PM, ...) and
 * connects host stdin to the console port that asked for it.
 */
must_check int arch_devices_create(struct vm *vm);
void arch_devices_destroy(struct vm *vm);

/* The PCI host bridge's resources: config ports, ECAM, windows, GSIs. */
struct pci_bus_layout;
void arch_pci_layout(const struct vm *vm, struct pci_bus_layout *out);

/*
 * Loads kernel, initrd and command line into guest memory and writes the
 * boot tables (x86: boot_params or PVH start_info, ACPI, page tables).
 * Prints one line naming the problem on failure.
 */
must_check int arch_load_guest(struct vm *vm);

/* Prepares vCPU `id` for its first run (CPUID, MSRs, entry registers). */
must_check int arch_vcpu_setup(struct vm *vm, struct hv_vcpu *vcpu, uint32_t id);

/*
 * Presses the machine's power button (x86: the edge on the ACPI Generic
 * Event Device's interrupt that notifies the PNP0C0C button). What follows
 * is the guest's choice. Returns 0, or -errno from the hypervisor. Any
 * thread.
 */
must_check int arch_power_button(struct vm *vm);

#endif
