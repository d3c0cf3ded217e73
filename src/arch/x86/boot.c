/*
 * Boot structures for the x86 entry paths: Linux boot protocol
 * (Documentation/arch/x86/boot.rst, zero-page.rst) and PVH (Xen's
 * hvm/start_info.h), plus the CPU state each entry expects.
 */
#include "arch/x86/boot.h"

#include <errno.h>
#include <string.h>

#include "arch/x86/layout.h"

/* GDT selectors: Linux's boot protocol wants __BOOT_CS 0x10 / __BOOT_DS 0x18. */
#define SEL_CODE32 0x08
#define SEL_CODE64 0x10
#define SEL_DATA 0x18
#define SEL_TSS 0x20

static const uint64_t boot_gdt[] = {
	0,			/* null */
	0x00cf9b000000ffffULL,	/* 0x08: 32-bit code, flat 4 GiB */
	0x00af9b000000ffffULL,	/* 0x10: 64-bit code */
	0x00cf93000000ffffULL,	/* 0x18: data, flat 4 GiB */
	0x00008b0000000067ULL,	/* 0x20: 64-bit TSS (busy), base 0 */
	0,			/* upper half of the TSS descriptor */
};

#define CR0_PE 0x1ULL
#define CR0_ET 0x10ULL
#define CR0_NE 0x20ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL
#define PDE_PRESENT_RW_HUGE 0x83ULL
#define PTE_PRESENT_RW 0x3ULL

#define PVH_MAGIC 0x336ec578u
#define LOADER_TYPE_UNDEFINED 0xff

_Static_assert(X86_PCI_ECAM_BASE >= X86_MMIO_HOLE_START &&
		       X86_PCI_ECAM_BASE + X86_PCI_ECAM_SIZE <= X86_MMIO_HOLE_END,
	       "the e820 map lists the ECAM range between low and high RAM");

unsigned int x86_e820_build(uint64_t mem_bytes, struct x86_e820_entry out[X86_E820_MAX])
{
	uint64_t low_end = MIN(mem_bytes, X86_MMIO_HOLE_START);
	unsigned int n = 0;

	out[n++] = (struct x86_e820_entry){ 0, X86_EBDA_START, X86_E820_RAM };
	out[n++] = (struct x86_e820_entry){ X86_EBDA_START, 0xa0000 - X86_EBDA_START,
					     X86_E820_RESERVED };
	out[n++] = (struct x86_e820_entry){ X86_ACPI_ADDR, X86_HIGH_RAM_START - X86_ACPI_ADDR,
					     X86_E820_RESERVED };
	if (low_end > X86_HIGH_RAM_START)
		out[n++] = (struct x86_e820_entry){ X86_HIGH_RAM_START,
						     low_end - X86_HIGH_RAM_START, X86_E820_RAM };
	/*
	 * Linux uses ECAM (MMCONFIG) only if the range is reserved, here or by
	 * a PNP0C02 device in the DSDT (arch/x86/pci/mmconfig-shared.c); the
	 * DSDT does both, as firmware usually does.
	 */
	out[n++] = (struct x86_e820_entry){ X86_PCI_ECAM_BASE, X86_PCI_ECAM_SIZE,
					     X86_E820_RESERVED };
	if (mem_bytes > X86_MMIO_HOLE_START)
		out[n++] = (struct x86_e820_entry){ X86_MMIO_HOLE_END,
						     mem_bytes - X86_MMIO_HOLE_START, X86_E820_RAM };
	return n;
}

void x86_boot_params_fill(struct boot_params *bp, const uint8_t *hdr, uint64_t hdr_len,
			  const struct x86_boot_info *info, const struct x86_e820_entry *e820,
			  unsigned int e820_count)
{
	memset(bp, 0, sizeof(*bp));
	memcpy(&bp->hdr, hdr, MIN(hdr_len, (uint64_t)sizeof(bp->hdr)));
	bp->hdr.type_of_loader = LOADER_TYPE_UNDEFINED;
	bp->hdr.cmd_line_ptr = (uint32_t)info->cmdline_addr;
	bp->ext_cmd_line_ptr = (uint32_t)(info->cmdline_addr >> 32);
	bp->hdr.ramdisk_image = (uint32_t)info->initrd_addr;
	bp->hdr.ramdisk_size = (uint32_t)info->initrd_size;
	bp->ext_ramdisk_image = (uint32_t)(info->initrd_addr >> 32);
	bp->ext_ramdisk_size = (uint32_t)(info->initrd_size >> 32);
	bp->acpi_rsdp_addr = info->rsdp_addr;
	bp->e820_entries = (uint8_t)MIN(e820_count, (unsigned int)E820_MAX_ENTRIES_ZEROPAGE);
	for (unsigned int i = 0; i < bp->e820_entries; i++) {
		bp->e820_table[i].addr = e820[i].addr;
		bp->e820_table[i].size = e820[i].size;
		bp->e820_table[i].type = e820[i].type;
	}
}

/* struct hvm_start_info (version 1) and its tables, all little-endian. */
struct pvh_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};
struct pvh_module {
	uint64_t paddr, size, cmdline_paddr, reserved;
};
struct pvh_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

int x86_pvh_info_write(const struct guest_mem *gm, const struct x86_boot_info *info,
		       const struct x86_e820_entry *e820, unsigned int e820_count)
{
	uint64_t mod_addr = X86_PVH_INFO_ADDR + sizeof(struct pvh_start_info);
	uint64_t map_addr = mod_addr + sizeof(struct pvh_module);
	struct pvh_start_info si = {
		.magic = PVH_MAGIC, .version = 1,
		.nr_modules = info->initrd_addr ? 1 : 0,
		.modlist_paddr = info->initrd_addr ? mod_addr : 0,
		.cmdline_paddr = info->cmdline_addr,
		.rsdp_paddr = info->rsdp_addr,
		.memmap_paddr = map_addr,
		.memmap_entries = e820_count,
	};
	struct pvh_module mod = { .paddr = info->initrd_addr, .size = info->initrd_size };
	int err = guest_mem_write(gm, X86_PVH_INFO_ADDR, &si, sizeof(si));

	if (!err)
		err = guest_mem_write(gm, mod_addr, &mod, sizeof(mod));
	for (unsigned int i = 0; i < e820_count && !err; i++) {
		struct pvh_memmap_entry m = { e820[i].addr, e820[i].size, e820[i].type, 0 };

		err = guest_mem_write(gm, map_addr + i * sizeof(m), &m, sizeof(m));
	}
	return err;
}

int x86_page_tables_write(const struct guest_mem *gm)
{
	uint64_t *pml4 = guest_mem_ptr(gm, X86_PML4_ADDR, 4096);
	uint64_t *pdpt = guest_mem_ptr(gm, X86_PDPT_ADDR, 4096);
	uint64_t *pd = guest_mem_ptr(gm, X86_PD_ADDR, 4 * 4096);

	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = X86_PDPT_ADDR | PTE_PRESENT_RW;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (X86_PD_ADDR + i * 4096) | PTE_PRESENT_RW;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PDE_PRESENT_RW_HUGE;
	return 0;
}

int x86_gdt_write(const struct guest_mem *gm)
{
	uint64_t idt_null = 0;
	int err = guest_mem_write(gm, X86_GDT_ADDR, boot_gdt, sizeof(boot_gdt));

	return err ? err : guest_mem_write(gm, X86_IDT_ADDR, &idt_null, sizeof(idt_null));
}

int x86_reset_vector_write(const struct guest_mem *gm, uint16_t reset_port, uint8_t reset_value)
{
	const uint8_t stub[] = {
		0xba, reset_port & 0xff, reset_port >> 8, /* mov dx, reset_port */
		0xb0, reset_value,			  /* mov al, reset_value */
		0xee,					  /* out dx, al */
		0xfa,					  /* cli */
		0xf4,					  /* hlt */
		0xeb, 0xfd,				  /* jmp hlt */
	};

	return guest_mem_write(gm, X86_RESET_VECTOR, stub, sizeof(stub));
}

/* The cached form of a flat segment described by boot_gdt. */
static struct hv_x86_segment flat_segment(uint16_t selector, uint8_t type, bool code64)
{
	return (struct hv_x86_segment){
		.base = 0, .limit = 0xffffffff, .selector = selector, .type = type,
		.present = 1, .dpl = 0, .db = code64 ? 0 : 1, .s = 1, .l = code64, .g = 1,
	};
}

void x86_boot_regs(enum x86_entry_kind kind, uint64_t entry, struct hv_x86_boot_regs *r)
{
	bool long_mode = kind == X86_ENTRY_LINUX64;
	struct hv_x86_segment data = flat_segment(SEL_DATA, 0x3, false);

	memset(r, 0, sizeof(*r));
	r->rip = entry;
	r->rflags = 0x2; /* reserved bit 1; interrupts off */
	r->rsp = X86_BOOT_STACK_TOP;
	r->cs = long_mode ? flat_segment(SEL_CODE64, 0xb, true) : flat_segment(SEL_CODE32, 0xb, false);
	r->ds = r->es = r->fs = r->gs = r->ss = data;
	r->tr = (struct hv_x86_segment){ .selector = SEL_TSS, .limit = 0x67, .type = 0xb,
					 .present = 1 };
	r->ldt = (struct hv_x86_segment){ .type = 0x2, .present = 1 };
	r->gdt_base = X86_GDT_ADDR;
	r->gdt_limit = sizeof(boot_gdt) - 1;
	r->idt_base = X86_IDT_ADDR;
	r->idt_limit = 0;
	if (long_mode) {
		r->rsi = X86_ZERO_PAGE_ADDR;
		r->cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
		r->cr3 = X86_PML4_ADDR;
		r->cr4 = CR4_PAE;
		r->efer = EFER_LME | EFER_LMA;
	} else {
		r->rbx = X86_PVH_INFO_ADDR;
		r->cr0 = CR0_PE | CR0_ET | CR0_NE;
	}
}
