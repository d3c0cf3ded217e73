/*
 * The body of Cove's DSDT for x86_64 guests (acpi.c wraps it in the table):
 * \_S5, and in \_SB the UARTs (PNP0501), the CMOS RTC (PNP0B00), pvpanic
 * (QEMU0001), the power button behind a Generic Event Device (ACPI0013) and
 * the PCI host bridge (PNP0A08 with _CRS, _PRT and _OSC) with its ECAM
 * reservation (PNP0C02). AML encoding is aml.c's; ACPI 6.5 chapters 6 and 19,
 * the PCI Firmware Specification 3.3 for _OSC.
 */
#ifndef COVE_ARCH_X86_ACPI_DSDT_H
#define COVE_ARCH_X86_ACPI_DSDT_H

#include "arch/x86/acpi.h"
#include "arch/x86/aml.h"

/* How many buses the ECAM window covers (MCFG and the bridge's _CRS agree). */
static inline unsigned int acpi_pci_buses(const struct acpi_config *cfg)
{
	return (unsigned int)(cfg->ecam_size / ACPI_PCI_ECAM_BUS_SIZE);
}

/* Emits the DSDT's definition blocks for `cfg` (already checked by acpi_build). */
void acpi_dsdt_body(struct aml *a, const struct acpi_config *cfg);

#endif
