/*
 * Boot structures Cove writes into guest memory before the first
 * instruction: the e820 map, boot_params (zero page) or PVH start_info,
 * identity page tables, a GDT, and the entry register state.
 */
#ifndef COVE_ARCH_X86_BOOT_H
#define COVE_ARCH_X86_BOOT_H

#include <asm/bootparam.h>
#include <stdint.h>

#include "arch/x86/kernel.h"
#include "hv/hv.h"
#include "vm/guest_mem.h"

#define X86_E820_RAM 1
#define X86_E820_RESERVED 2
#define X86_E820_MAX 8

struct x86_e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/* What the loader placed where, for boot_params / start_info. */
struct x86_boot_info {
	uint64_t cmdline_addr;
	uint32_t cmdline_len;	/* excluding NUL */
	uint64_t initrd_addr;	/* 0: no initrd */
	uint64_t initrd_size;
	uint64_t rsdp_addr;
};

/*
 * The guest's memory map for `mem_bytes` of RAM, sorted: low RAM below the
 * EBDA, the BIOS/ACPI area reserved, RAM from 1 MiB to the 32-bit hole,
 * the PCI ECAM range reserved, the rest of RAM above 4 GiB. Returns the
 * number of entries (at most X86_E820_MAX). The same map goes to
 * boot_params and to the PVH memory map.
 */
unsigned int x86_e820_build(uint64_t mem_bytes, struct x86_e820_entry out[X86_E820_MAX]);

/*
 * Fills boot_params for a bzImage: the setup header copied from the image
 * (`hdr`, `hdr_len` bytes from offset 0x1f1), loader type, command line,
 * initrd, ACPI RSDP and the e820 map.
 */
void x86_boot_params_fill(struct boot_params *bp, const uint8_t *hdr, uint64_t hdr_len,
			  const struct x86_boot_info *info, const struct x86_e820_entry *e820,
			  unsigned int e820_count);

/* Writes hvm_start_info, its memory map and the initrd module at X86_PVH_INFO_ADDR. */
must_check int x86_pvh_info_write(const struct guest_mem *gm, const struct x86_boot_info *info,
				  const struct x86_e820_entry *e820, unsigned int e820_count);

/* Identity page tables for 0-4 GiB (2 MiB pages) and the boot GDT. */
must_check int x86_page_tables_write(const struct guest_mem *gm);
must_check int x86_gdt_write(const struct guest_mem *gm);

/*
 * The reset vector (F000:FFF0) as the only firmware Cove has: a real-mode
 * stub that writes `reset_value` to I/O port `reset_port` and halts. Linux
 * jumps there when its other reboot methods are exhausted or skipped (with
 * hardware-reduced ACPI and no EFI it picks EFI, then the BIOS).
 */
must_check int x86_reset_vector_write(const struct guest_mem *gm, uint16_t reset_port,
				      uint8_t reset_value);

/* Entry registers: 64-bit long mode for Linux, 32-bit protected mode for PVH. */
void x86_boot_regs(enum x86_entry_kind kind, uint64_t entry, struct hv_x86_boot_regs *regs);

#endif
