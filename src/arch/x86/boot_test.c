/* Unit tests for the e820 map, boot_params, PVH start_info and entry state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "arch/x86/boot.h"
#include "arch/x86/layout.h"

static void test_e820_small_vm(void **state)
{
	struct x86_e820_entry e[X86_E820_MAX];
	unsigned int n = x86_e820_build(512 * MiB, e);

	(void)state;
	assert_int_equal(n, 5);
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[0].size, X86_EBDA_START);
	assert_int_equal(e[0].type, X86_E820_RAM);
	assert_int_equal(e[1].type, X86_E820_RESERVED);
	assert_int_equal(e[2].addr, X86_ACPI_ADDR); /* ACPI tables stay reserved */
	assert_int_equal(e[2].type, X86_E820_RESERVED);
	assert_int_equal(e[3].addr, X86_HIGH_RAM_START);
	assert_int_equal(e[3].addr + e[3].size, 512 * MiB);
	assert_int_equal(e[3].type, X86_E820_RAM);
	/* The PCI ECAM range is reserved, so Linux accepts it for MMCONFIG. */
	assert_int_equal(e[4].addr, X86_PCI_ECAM_BASE);
	assert_int_equal(e[4].size, X86_PCI_ECAM_SIZE);
	assert_int_equal(e[4].type, X86_E820_RESERVED);
}

static void test_e820_splits_around_hole(void **state)
{
	struct x86_e820_entry e[X86_E820_MAX];
	unsigned int n = x86_e820_build(4 * GiB, e);
	uint64_t ram = 0;

	(void)state;
	assert_int_equal(n, 6);
	assert_int_equal(e[3].addr + e[3].size, X86_MMIO_HOLE_START);
	assert_int_equal(e[4].addr, X86_PCI_ECAM_BASE);
	assert_int_equal(e[4].type, X86_E820_RESERVED);
	assert_int_equal(e[5].addr, X86_MMIO_HOLE_END);
	assert_int_equal(e[5].size, 4 * GiB - X86_MMIO_HOLE_START);
	for (unsigned int i = 0; i < n; i++) {
		if (i > 0) /* sorted, no overlap */
			assert_true(e[i].addr >= e[i - 1].addr + e[i - 1].size);
		if (e[i].type == X86_E820_RAM)
			ram += e[i].size;
	}
	/* Only the legacy holes below 1 MiB are lost. */
	assert_int_equal(ram, 4 * GiB - (X86_HIGH_RAM_START - X86_EBDA_START));
}

static void test_boot_params(void **state)
{
	static struct boot_params bp;
	uint8_t hdr[0x7b] = { 0 };
	struct x86_e820_entry e[X86_E820_MAX];
	struct x86_boot_info info = { .cmdline_addr = X86_CMDLINE_ADDR, .cmdline_len = 5,
				      .initrd_addr = 0x7000000, .initrd_size = 0x123456,
				      .rsdp_addr = X86_ACPI_ADDR };
	unsigned int n = x86_e820_build(256 * MiB, e);

	(void)state;
	hdr[0] = 4;				/* setup_sects */
	memcpy(hdr + 0x202 - 0x1f1, "HdrS", 4);
	x86_boot_params_fill(&bp, hdr, sizeof(hdr), &info, e, n);
	assert_int_equal(bp.hdr.setup_sects, 4);
	assert_int_equal(bp.hdr.header, 0x53726448);
	assert_int_equal(bp.hdr.type_of_loader, 0xff);
	assert_int_equal(bp.hdr.cmd_line_ptr, X86_CMDLINE_ADDR);
	assert_int_equal(bp.hdr.ramdisk_image, 0x7000000);
	assert_int_equal(bp.hdr.ramdisk_size, 0x123456);
	assert_int_equal(bp.acpi_rsdp_addr, X86_ACPI_ADDR);
	assert_int_equal(bp.e820_entries, n);
	assert_int_equal(bp.e820_table[3].addr + bp.e820_table[3].size, 256 * MiB);
	assert_int_equal(bp.e820_table[n - 1].addr, X86_PCI_ECAM_BASE);
	assert_int_equal(bp.e820_table[n - 1].size, X86_PCI_ECAM_SIZE);
	assert_int_equal(bp.e820_table[n - 1].type, X86_E820_RESERVED);
	/* The zero page layout the kernel reads (zero-page.rst offsets). */
	assert_int_equal(offsetof(struct boot_params, e820_table), 0x2d0);
	assert_int_equal(offsetof(struct boot_params, hdr), 0x1f1);
}

static void test_entry_state(void **state)
{
	struct hv_x86_boot_regs r;

	(void)state;
	x86_boot_regs(X86_ENTRY_LINUX64, 0x1000200, &r);
	assert_int_equal(r.rip, 0x1000200);
	assert_int_equal(r.rsi, X86_ZERO_PAGE_ADDR);
	assert_int_equal(r.cs.selector, 0x10); /* __BOOT_CS */
	assert_int_equal(r.ds.selector, 0x18); /* __BOOT_DS */
	assert_int_equal(r.cs.l, 1);
	assert_true(r.cr0 & 0x80000001ULL);    /* PG | PE */
	assert_true(r.efer & 0x500);	       /* LME | LMA */
	assert_int_equal(r.cr3, X86_PML4_ADDR);
	assert_int_equal(r.rflags, 2);

	x86_boot_regs(X86_ENTRY_PVH, 0x1000040, &r);
	assert_int_equal(r.rbx, X86_PVH_INFO_ADDR);
	assert_int_equal(r.cs.l, 0);
	assert_int_equal(r.cs.db, 1);
	assert_int_equal(r.cr0 & 0x80000000ULL, 0); /* paging off */
	assert_int_equal(r.efer, 0);
}

static void test_page_tables_and_pvh(void **state)
{
	struct guest_mem gm;
	struct x86_e820_entry e[X86_E820_MAX];
	struct x86_boot_info info = { .cmdline_addr = X86_CMDLINE_ADDR,
				      .initrd_addr = 0x800000, .initrd_size = 4096 };
	unsigned int n = x86_e820_build(16 * MiB, e);
	uint64_t *pd, *pml4, map_addr, ecam_entry[3] = { 0 };
	uint32_t magic, map_entries;

	(void)state;
	guest_mem_init(&gm);
	assert_int_equal(guest_mem_add(&gm, 0, 16 * MiB), 0);
	assert_int_equal(x86_page_tables_write(&gm), 0);
	pml4 = guest_mem_ptr(&gm, X86_PML4_ADDR, 8);
	assert_int_equal(*pml4 & ~0xfffULL, X86_PDPT_ADDR);
	pd = guest_mem_ptr(&gm, X86_PD_ADDR, 4 * 4096);
	assert_int_equal(pd[1], (2 * MiB) | 0x83);
	assert_int_equal(pd[2047], (4 * GiB - 2 * MiB) | 0x83);
	assert_int_equal(x86_pvh_info_write(&gm, &info, e, n), 0);
	assert_int_equal(guest_mem_read(&gm, X86_PVH_INFO_ADDR, &magic, 4), 0);
	assert_int_equal(magic, 0x336ec578);
	/* hvm_start_info: memmap_paddr at 40, memmap_entries at 48; 24-byte entries. */
	assert_int_equal(guest_mem_read(&gm, X86_PVH_INFO_ADDR + 40, &map_addr, 8), 0);
	assert_int_equal(guest_mem_read(&gm, X86_PVH_INFO_ADDR + 48, &map_entries, 4), 0);
	assert_int_equal(map_entries, n);
	for (unsigned int i = 0; i < map_entries; i++) {
		uint64_t m[3];

		assert_int_equal(guest_mem_read(&gm, map_addr + 24 * i, m, sizeof(m)), 0);
		if (m[0] == X86_PCI_ECAM_BASE)
			memcpy(ecam_entry, m, sizeof(m));
	}
	assert_int_equal(ecam_entry[1], X86_PCI_ECAM_SIZE);
	assert_int_equal((uint32_t)ecam_entry[2], X86_E820_RESERVED);
	guest_mem_destroy(&gm);

	/* Too little memory for the tables: refused, not written out of bounds. */
	guest_mem_init(&gm);
	assert_int_equal(guest_mem_add(&gm, 0, 0x9000), 0);
	assert_int_not_equal(x86_page_tables_write(&gm), 0);
	guest_mem_destroy(&gm);
}

static void test_reset_vector_stub(void **state)
{
	struct guest_mem gm;
	const uint8_t *p;

	(void)state;
	guest_mem_init(&gm);
	assert_int_equal(guest_mem_add(&gm, 0, 2 * MiB), 0);
	assert_int_equal(x86_reset_vector_write(&gm, 0x602, 0x0e), 0);
	p = guest_mem_ptr(&gm, X86_RESET_VECTOR, 16);
	/* mov dx, 0x602; mov al, 0x0e; out dx, al */
	assert_memory_equal(p, ((const uint8_t[]){ 0xba, 0x02, 0x06, 0xb0, 0x0e, 0xee }), 6);
	guest_mem_destroy(&gm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e820_small_vm),
		cmocka_unit_test(test_e820_splits_around_hole),
		cmocka_unit_test(test_boot_params),
		cmocka_unit_test(test_entry_state),
		cmocka_unit_test(test_page_tables_and_pvh),
		cmocka_unit_test(test_reset_vector_stub),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
