/*
 * The ACPI tables Cove gives an x86_64 guest, built once at VM build time
 * into a host buffer that the caller copies to guest memory at base_gpa.
 *
 * The machine is "hardware-reduced ACPI" (ACPI 6.5 section 4.1): no PM1/GPE
 * register blocks, no SCI, no FACS. Linux then skips the legacy PIC and
 * PIT/HPET timer set-up (acpi_reduced_hw_init), powers off through the FADT
 * sleep registers and reboots through the FADT reset register.
 *
 * Layout from base_gpa, each table 16-byte aligned:
 *   RSDP (revision 2; at offset 0 so that the legacy 0xE0000-0xFFFFF scan
 *         finds it; Cove also passes it in boot_params.acpi_rsdp_addr)
 *   DSDT  \_S5, and in \_SB the COM ports (PNP0501), the CMOS RTC (PNP0B00),
 *         pvpanic (QEMU0001), the power button (PNP0C0C + ACPI0013), and
 *         with PCI the host bridge PCI0 (PNP0A08) and a motherboard device
 *         (PNP0C02) reserving the ECAM range
 *   FADT  revision 6.5, HW_REDUCED_ACPI, RESET_REG, SLEEP_CONTROL/STATUS_REG
 *   MADT  one enabled local APIC per vCPU, the IOAPIC, IRQ0 -> GSI 2,
 *         NMI on LINT1 of every processor
 *   MCFG  with PCI: the ECAM range of segment 0
 *   XSDT  last, pointing at FADT, MADT and MCFG (the DSDT is reached from
 *         the FADT)
 * All of it fits in ACPI_TABLES_MAX_SIZE for any valid configuration.
 *
 * With power_button, the DSDT also has a power button (PWRB, PNP0C0C) and
 * a Generic Event Device (GED0, ACPI0013) whose edge-triggered interrupt
 * notifies it: pulsing that GSI presses the button (`cove powerbtn`).
 */
#ifndef COVE_ARCH_X86_ACPI_H
#define COVE_ARCH_X86_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"

#define ACPI_MAX_CPUS 255 /* xAPIC ids 0-254; processor UID 0xff means "all" */
#define ACPI_MAX_UARTS 4
#define ACPI_TABLES_MAX_SIZE (8 * KiB)

/*
 * The FADT sleep registers (ACPI 6.5 4.8.3.7), one byte each in I/O space.
 * For S5 (soft off) Linux first writes ACPI_SLEEP_STATUS_WAK to the status
 * register, then writes ACPI_SLEEP_CTRL_S5 = (SLP_TYP 5 << 2) | SLP_EN =
 * 0x34 to the control register: \_S5 in the DSDT gives SLP_TYP 5.
 */
#define ACPI_SLEEP_CTRL_SLP_EN 0x20
#define ACPI_SLEEP_CTRL_TYP(v) (((v) >> 2) & 0x7)
#define ACPI_SLEEP_TYP_S5 5
#define ACPI_SLEEP_CTRL_S5 ((ACPI_SLEEP_TYP_S5 << 2) | ACPI_SLEEP_CTRL_SLP_EN)
#define ACPI_SLEEP_STATUS_WAK 0x80

/* Notify value of a power button press (ACPI 6.5 5.6.6, table 5.170). */
#define ACPI_NOTIFY_BUTTON_PRESSED 0x80

/*
 * The PCI host bridge, PCI segment 0 (PCI Firmware Specification 3.3: MCFG
 * in 4.1.2, _OSC in 4.5). Configuration space is reached through the PC's
 * CONFIG_ADDRESS/CONFIG_DATA ports and through ECAM, one MiB per bus from
 * bus 0; the bridge forwards every I/O port but those eight.
 */
#define ACPI_PCI_CONFIG_PORT 0xcf8
#define ACPI_PCI_CONFIG_PORTS 8
#define ACPI_PCI_ECAM_BUS_SIZE (1 * MiB)
#define ACPI_PCI_MAX_BUSES 256
#define ACPI_PCI_SLOTS 32
#define ACPI_PCI_PINS 4 /* INTA-INTD */

/* A 16550 UART: 8 I/O ports from io_base and an ISA IRQ (edge, active high). */
struct acpi_uart {
	uint16_t io_base;
	uint8_t irq; /* 0-15; the IOAPIC pin with the same number */
};

struct acpi_config {
	unsigned int num_cpus; /* 1..ACPI_MAX_CPUS: LAPIC ids 0..num_cpus-1 */
	uint64_t base_gpa;     /* where the tables go, 16-byte aligned */
	uint32_t ioapic_addr;  /* IOAPIC MMIO base, GSI base 0 */
	uint8_t ioapic_id;
	uint32_t lapic_addr;
	uint16_t sleep_ctrl_port;   /* FADT SLEEP_CONTROL_REG, non-zero */
	uint16_t sleep_status_port; /* FADT SLEEP_STATUS_REG, non-zero (may equal ctrl) */
	uint16_t reset_port;	    /* FADT RESET_REG, non-zero */
	uint8_t reset_value;	    /* what the guest writes there to reset */
	uint16_t pvpanic_port;	    /* 0: no pvpanic device in the DSDT */
	/*
	 * A power button: a rising edge on power_button_gsi (an IOAPIC input
	 * no other device uses; edge-triggered, active high) presses it.
	 */
	bool power_button;
	uint32_t power_button_gsi;
	/*
	 * IA-PC boot flag "8042": when set, Linux probes a PS/2 controller at
	 * ports 0x60/0x64 even though the DSDT lists none (i8042 driver);
	 * clear, it skips the probe. Reset does not need it (RESET_REG).
	 */
	bool i8042;
	/*
	 * Set: the DSDT lists the RTC at ports 0x70-0x71, ISA IRQ 8 (PNP0B00).
	 * Clear: the FADT says "CMOS RTC Not Present" and Linux skips rtc_cmos.
	 */
	bool cmos_rtc;
	unsigned int num_uarts; /* 0..ACPI_MAX_UARTS, described as COM1.. in order */
	struct acpi_uart uarts[ACPI_MAX_UARTS];
	/*
	 * The PCI host bridge; the fields below are ignored when pci is clear.
	 * The three memory ranges must not overlap.
	 */
	bool pci;
	/*
	 * ECAM: base ACPI_PCI_ECAM_BUS_SIZE aligned, size a multiple of it up
	 * to ACPI_PCI_MAX_BUSES buses (buses 0 to size / 1 MiB - 1), below
	 * 4 GiB. Listed in the MCFG and reserved by the PNP0C02 device.
	 */
	uint64_t ecam_base, ecam_size;
	uint64_t mmio32_base, mmio32_size; /* the 32-bit window, non-empty, below 4 GiB */
	uint64_t mmio64_base, mmio64_size; /* the 64-bit window; size 0: none */
	/*
	 * INTx routing in the _PRT: pin p (0-3 for INTA-INTD) of slot s is
	 * GSI intx_gsi_base + (s + p) % intx_gsi_count, level-triggered,
	 * active-low (the default for a _PRT entry naming a GSI directly).
	 */
	uint32_t intx_gsi_base, intx_gsi_count;
};

/*
 * Writes the tables for `cfg` into buf[0..len), zero-filling the gaps
 * between tables, and stores the number of bytes used in *used (the RSDP is
 * at buf[0], i.e. at cfg->base_gpa). Returns 0, -EINVAL for an invalid
 * configuration, or -ENOSPC if len is too small; never writes past len.
 */
must_check int acpi_build(const struct acpi_config *cfg, uint8_t *buf, size_t len, size_t *used);

#endif
