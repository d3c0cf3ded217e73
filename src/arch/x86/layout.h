/*
 * The x86_64 guest-physical map. Every guest-physical constant of the x86
 * machine lives here; generic code asks arch_* functions instead.
 *
 *   0x0000_0500  GDT (4 entries)           0x0000_0520  IDT (empty)
 *   0x0000_7000  boot_params (zero page)   0x0000_8000  boot stack top
 *   0x0000_9000  PML4   0xa000 PDPT   0xb000-0xefff  4 page directories
 *   0x0000_f000  PVH start_info + memory map
 *   0x0002_0000  kernel command line (up to 64 KiB)
 *   0x0009_fc00  reserved (EBDA)  0x000e_0000  ACPI tables, RSDP first
 *   0x000f_fff0  reset vector: a stub that resets the VM (no BIOS behind it)
 *   0x0010_0000  RAM (kernel at 16 MiB unless it asks otherwise)
 *   0xc000_0000  32-bit hole: MMIO up to 4 GiB
 *     0xc000_0000  PCI 32-bit memory window (BARs), 512 MiB
 *     0xe000_0000  PCI ECAM (MMCONFIG) for bus 0, 1 MiB
 *     0xfec0_0000  IOAPIC   0xfee0_0000 LAPIC
 *   0x1_0000_0000 RAM above the hole
 *   after RAM, 1 GiB aligned: the PCI 64-bit memory window, 64 GiB
 */
#ifndef COVE_ARCH_X86_LAYOUT_H
#define COVE_ARCH_X86_LAYOUT_H

#define X86_GDT_ADDR 0x500ULL
#define X86_IDT_ADDR 0x520ULL
#define X86_ZERO_PAGE_ADDR 0x7000ULL
#define X86_BOOT_STACK_TOP 0x8000ULL
#define X86_PML4_ADDR 0x9000ULL
#define X86_PDPT_ADDR 0xa000ULL
#define X86_PD_ADDR 0xb000ULL /* 4 pages: identity map of 0-4 GiB, 2 MiB pages */
#define X86_PVH_INFO_ADDR 0xf000ULL
#define X86_CMDLINE_ADDR 0x20000ULL
#define X86_CMDLINE_MAX 0x10000ULL
#define X86_EBDA_START 0x9fc00ULL
#define X86_ACPI_ADDR 0xe0000ULL
#define X86_ACPI_MAX 0x10000ULL /* up to 0xf0000 */
#define X86_RESET_VECTOR 0xffff0ULL /* F000:FFF0, where a real-mode reboot jumps */
#define X86_HIGH_RAM_START 0x100000ULL
#define X86_KERNEL_ADDR 0x1000000ULL /* default load address: 16 MiB */

#define X86_MMIO_HOLE_START 0xc0000000ULL
#define X86_MMIO_HOLE_END 0x100000000ULL
#define X86_PCI_MMIO32_BASE 0xc0000000ULL
#define X86_PCI_MMIO32_SIZE 0x20000000ULL
#define X86_PCI_ECAM_BASE 0xe0000000ULL
#define X86_PCI_ECAM_SIZE 0x100000ULL /* bus 0 only: 32 devices x 8 functions x 4 KiB */
#define X86_PCI_MMIO64_ALIGN 0x40000000ULL
#define X86_PCI_MMIO64_SIZE 0x1000000000ULL
/* PCI INTx: device slot s, pin A, is wired to IOAPIC input 16 + s % 8
 * (level-triggered, active-low, as the DSDT's _PRT says). */
#define X86_PCI_INTX_GSI_BASE 16
#define X86_PCI_INTX_GSI_COUNT 8
/* The ACPI power button's Generic Event Device: ISA IRQ 5, which no device
 * uses (edge-triggered, active high, like every ISA input). */
#define X86_POWER_BUTTON_GSI 5
/* GSIs from here up are MSI routes (the IOAPIC has 24 inputs). */
#define X86_MSI_GSI_BASE 24
#define X86_IOAPIC_ADDR 0xfec00000ULL
#define X86_LAPIC_ADDR 0xfee00000ULL
#define X86_IDENTITY_MAP_ADDR 0xfeffc000ULL /* KVM's EPT identity page */
#define X86_TSS_ADDR 0xfeffd000ULL	    /* 3 pages for KVM's real-mode TSS */

/* Legacy I/O ports (the devices themselves live in devices/legacy/). */
#define X86_BOOT_MARKER_PORT 0x3f0
#define X86_PVPANIC_PORT 0x505
#define X86_PCI_CONFIG_ADDRESS_PORT 0xcf8 /* 0xcf8-0xcff: CONFIG_ADDRESS, CONFIG_DATA */

#endif
