/* Unit tests for kernel image validation: bzImage and PVH ELF headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <string.h>

#include "arch/x86/kernel.h"

#define IMG_SIZE 0x4000

static uint8_t img[IMG_SIZE];
static char err[160];

static void put16(size_t off, uint16_t v) { memcpy(img + off, &v, 2); }
static void put32(size_t off, uint32_t v) { memcpy(img + off, &v, 4); }

/* A minimal, valid bzImage: 4 setup sectors, protocol 2.15, 64-bit entry. */
static void make_bzimage(void)
{
	memset(img, 0, sizeof(img));
	img[0x1f1] = 4;
	put16(0x1fe, 0xaa55);
	img[0x201] = 0x6a; /* header ends at 0x26c */
	put32(0x202, 0x53726448);
	put16(0x206, 0x020f);
	put32(0x22c, 0x7fffffff);
	put32(0x230, 0x200000);
	img[0x234] = 1;
	put16(0x236, 0x1);
	put32(0x238, 2047);
	put32(0x260, 0x8000);
}

static void test_bzimage_ok(void **state)
{
	struct x86_kernel_plan plan;

	(void)state;
	make_bzimage();
	assert_int_equal(x86_kernel_plan(img, IMG_SIZE, 0x1000000, &plan, err, sizeof(err)), 0);
	assert_int_equal(plan.kind, X86_ENTRY_LINUX64);
	assert_int_equal(plan.num_segments, 1);
	assert_int_equal(plan.segments[0].file_offset, 5 * 512);
	assert_int_equal(plan.segments[0].file_size, IMG_SIZE - 5 * 512);
	assert_int_equal(plan.segments[0].gpa, 0x1000000);
	assert_int_equal(plan.segments[0].mem_size, 0x8000); /* init_size wins */
	assert_int_equal(plan.entry, 0x1000200);
	assert_int_equal(plan.setup_header_len, 0x26c - 0x1f1);
	assert_int_equal(plan.cmdline_size, 2047);
	assert_int_equal(plan.initrd_addr_max, 0x7fffffff);
}

static void test_bzimage_alignment(void **state)
{
	struct x86_kernel_plan plan;

	(void)state;
	make_bzimage();
	assert_int_equal(x86_kernel_plan(img, IMG_SIZE, 0x1000001, &plan, err, sizeof(err)), 0);
	assert_int_equal(plan.segments[0].gpa, 0x1200000);
	put32(0x230, 0x300000); /* not a power of two */
	assert_int_equal(x86_kernel_plan(img, IMG_SIZE, 0x1000000, &plan, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "kernel_alignment"));
}

static void test_bzimage_old_protocol(void **state)
{
	struct x86_kernel_plan plan;

	(void)state;
	make_bzimage();
	put16(0x206, 0x0206);
	assert_int_equal(x86_kernel_plan(img, IMG_SIZE, 0x1000000, &plan, err, sizeof(err)),
			 -ENOEXEC);
	assert_non_null(strstr(err, "2.06 is too old"));
}

static void test_bzimage_not_64bit(void **state)
{
	struct x86_kernel_plan plan;

	(void)state;
	make_bzimage();
	put16(0x236, 0);
	assert_int_equal(x86_kernel_plan(img, IMG_SIZE, 0x1000000, &plan, err, sizeof(err)),
			 -ENOEXEC);
	assert_non_null(strstr(err, "64-bit"));
}

static void test_bzimage_truncated(void **state)
{
	struct x86_kernel_plan plan;

	(void)state;
	make_bzimage();
	/* Header intact, but nothing after the setup sectors. */
	assert_int_equal(x86_kernel_plan(img, 5 * 512, 0x1000000, &plan, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "truncated"));
	/* Cut inside the setup header. */
	assert_int_equal(x86_kernel_plan(img, 0x210, 0x1000000, &plan, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "truncated"));
}

static void test_not_a_kernel(void **state)
{
	struct x86_kernel_plan plan;

	(void)state;
	memset(img, 'x', sizeof(img));
	assert_int_equal(x86_kernel_plan(img, IMG_SIZE, 0x1000000, &plan, err, sizeof(err)),
			 -ENOEXEC);
	assert_non_null(strstr(err, "not a kernel"));
	assert_int_equal(x86_kernel_plan(img, 3, 0x1000000, &plan, err, sizeof(err)), -ENOEXEC);
	make_bzimage();
	put32(0x202, 0x12345678); /* wrong magic */
	assert_int_equal(x86_kernel_plan(img, IMG_SIZE, 0x1000000, &plan, err, sizeof(err)),
			 -ENOEXEC);
}

/* An ELF64 with one PT_LOAD and a PVH note at the end of the file. */
static void make_elf(uint32_t note_type)
{
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr ph[2] = { 0 };
	Elf64_Nhdr nh = { .n_namesz = 4, .n_descsz = 8, .n_type = note_type };
	uint64_t entry = 0x1000040;
	size_t note_off = 0x1000;

	memset(img, 0, sizeof(img));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_machine = EM_X86_64;
	eh.e_phoff = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 2;
	memcpy(img, &eh, sizeof(eh));
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x2000, .p_paddr = 0x1000000,
			      .p_filesz = 0x1000, .p_memsz = 0x3000 };
	ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = note_off,
			      .p_filesz = sizeof(nh) + 4 + 8 };
	memcpy(img + sizeof(eh), ph, sizeof(ph));
	memcpy(img + note_off, &nh, sizeof(nh));
	memcpy(img + note_off + sizeof(nh), "Xen", 4);
	memcpy(img + note_off + sizeof(nh) + 4, &entry, 8);
}

static void test_elf_pvh_ok(void **state)
{
	struct x86_kernel_plan plan;

	(void)state;
	make_elf(18);
	assert_int_equal(x86_kernel_plan(img, IMG_SIZE, 0, &plan, err, sizeof(err)), 0);
	assert_int_equal(plan.kind, X86_ENTRY_PVH);
	assert_int_equal(plan.entry, 0x1000040);
	assert_int_equal(plan.num_segments, 1);
	assert_int_equal(plan.segments[0].mem_size, 0x3000);
	assert_int_equal(plan.end, 0x1003000);
}

static void test_elf_without_pvh_note(void **state)
{
	struct x86_kernel_plan plan;

	(void)state;
	make_elf(17);
	assert_int_equal(x86_kernel_plan(img, IMG_SIZE, 0, &plan, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "PVH"));
}

static void test_elf_not_64bit(void **state)
{
	struct x86_kernel_plan plan;

	(void)state;
	make_elf(18);
	img[EI_CLASS] = ELFCLASS32;
	assert_int_equal(x86_kernel_plan(img, IMG_SIZE, 0, &plan, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "not 64-bit"));
}

static void test_elf_segment_outside_file(void **state)
{
	struct x86_kernel_plan plan;
	Elf64_Phdr ph;

	(void)state;
	make_elf(18);
	memcpy(&ph, img + sizeof(Elf64_Ehdr), sizeof(ph));
	ph.p_filesz = IMG_SIZE; /* runs past the end */
	memcpy(img + sizeof(Elf64_Ehdr), &ph, sizeof(ph));
	assert_int_equal(x86_kernel_plan(img, IMG_SIZE, 0, &plan, err, sizeof(err)), -EINVAL);
	/* Truncated program header table. */
	make_elf(18);
	assert_int_equal(x86_kernel_plan(img, sizeof(Elf64_Ehdr) + 8, 0, &plan, err, sizeof(err)),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bzimage_ok),
		cmocka_unit_test(test_bzimage_alignment),
		cmocka_unit_test(test_bzimage_old_protocol),
		cmocka_unit_test(test_bzimage_not_64bit),
		cmocka_unit_test(test_bzimage_truncated),
		cmocka_unit_test(test_not_a_kernel),
		cmocka_unit_test(test_elf_pvh_ok),
		cmocka_unit_test(test_elf_without_pvh_note),
		cmocka_unit_test(test_elf_not_64bit),
		cmocka_unit_test(test_elf_segment_outside_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
