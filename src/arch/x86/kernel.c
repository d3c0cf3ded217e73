/* Kernel image parsing: bzImage (boot protocol) and ELF with a PVH note. */
#include "arch/x86/kernel.h"

#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* setup_header offsets in the file and in boot_params (boot.rst). */
#define HDR_SETUP_SECTS 0x1f1
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP_END 0x201 /* setup header ends at 0x202 + this byte */
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define HDR_MAX_END 0x280 /* boot_params keeps the header below 0x290 */

#define BZ_MAGIC 0x53726448u /* "HdrS" */
#define XLF_KERNEL_64 0x1
#define XEN_ELFNOTE_PHYS32_ENTRY 18

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int fail(char *err, size_t errlen, int code, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return code;
}

static bool is_bzimage(const uint8_t *img, size_t len)
{
	return len >= HDR_MAX_END && le32(img + HDR_MAGIC) == BZ_MAGIC &&
	       le16(img + HDR_BOOT_FLAG) == 0xaa55;
}

static int plan_bzimage(const uint8_t *img, size_t len, uint64_t load_addr,
			struct x86_kernel_plan *plan, char *err, size_t errlen)
{
	unsigned int setup_sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
	uint64_t setup_size = (uint64_t)(setup_sects + 1) * 512;
	uint32_t align = le32(img + HDR_KERNEL_ALIGNMENT);
	uint64_t payload;

	plan->protocol = le16(img + HDR_VERSION);
	if (plan->protocol < X86_BOOT_PROTOCOL_MIN) {
		snprintf(err, errlen,
			 "bzImage boot protocol %u.%02u is too old: 2.12 or later needed",
			 plan->protocol >> 8, plan->protocol & 0xff);
		return -ENOEXEC;
	}
	plan->xloadflags = le16(img + HDR_XLOADFLAGS);
	if (!(plan->xloadflags & XLF_KERNEL_64))
		return fail(err, errlen, -ENOEXEC, "bzImage has no 64-bit entry point: "
				     "a 64-bit x86 kernel is needed");
	if (setup_size >= len)
		return fail(err, errlen, -EINVAL, "bzImage is truncated: no protected-mode kernel "
				     "after the setup sectors");
	plan->setup_header_len = MIN((uint64_t)0x202 + img[HDR_JUMP_END], (uint64_t)HDR_MAX_END) -
				 X86_SETUP_HEADER_OFFSET;
	plan->initrd_addr_max = le32(img + HDR_INITRD_ADDR_MAX);
	plan->cmdline_size = le32(img + HDR_CMDLINE_SIZE);

	if (img[HDR_RELOCATABLE]) {
		if (align == 0 || (align & (align - 1)) || align > (1u << 30))
			return fail(err, errlen, -EINVAL, "bzImage has an invalid kernel_alignment");
		load_addr = ALIGN_UP(load_addr, (uint64_t)align);
	} else {
		load_addr = le64(img + HDR_PREF_ADDRESS);
	}
	payload = len - setup_size;
	plan->kind = X86_ENTRY_LINUX64;
	plan->num_segments = 1;
	plan->segments[0] = (struct x86_segment_plan){
		.file_offset = setup_size,
		.file_size = payload,
		.gpa = load_addr,
		.mem_size = MAX(payload, (uint64_t)le32(img + HDR_INIT_SIZE)),
	};
	plan->entry = load_addr + 0x200; /* startup_64 */
	plan->end = load_addr + plan->segments[0].mem_size;
	return 0;
}

/* Looks for the Xen PVH entry note in one PT_NOTE segment. */
static bool find_pvh_note(const uint8_t *note, uint64_t size, uint64_t *entry)
{
	while (size >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		uint64_t name_len, desc_len, total;

		memcpy(&nh, note, sizeof(nh));
		name_len = ALIGN_UP((uint64_t)nh.n_namesz, 4);
		desc_len = ALIGN_UP((uint64_t)nh.n_descsz, 4);
		total = sizeof(nh) + name_len + desc_len;
		if (total > size)
			return false;
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    memcmp(note + sizeof(nh), "Xen", 4) == 0 &&
		    (nh.n_descsz == 4 || nh.n_descsz == 8)) {
			const uint8_t *desc = note + sizeof(nh) + name_len;

			*entry = nh.n_descsz == 8 ? le64(desc) : le32(desc);
			return true;
		}
		note += total;
		size -= total;
	}
	return false;
}

static bool range_in_file(uint64_t off, uint64_t size, size_t len)
{
	return off <= len && size <= len - off;
}

static int add_load_segment(const Elf64_Phdr *ph, size_t len, struct x86_kernel_plan *plan,
			    char *err, size_t errlen)
{
	if (!range_in_file(ph->p_offset, ph->p_filesz, len) || ph->p_filesz > ph->p_memsz ||
	    ph->p_paddr + ph->p_memsz < ph->p_paddr)
		return fail(err, errlen, -EINVAL, "ELF kernel has a segment outside the file");
	if (plan->num_segments == X86_ELF_MAX_SEGMENTS)
		return fail(err, errlen, -EINVAL, "ELF kernel has too many segments");
	plan->segments[plan->num_segments++] = (struct x86_segment_plan){
		.file_offset = ph->p_offset, .file_size = ph->p_filesz,
		.gpa = ph->p_paddr, .mem_size = ph->p_memsz,
	};
	plan->end = MAX(plan->end, ph->p_paddr + ph->p_memsz);
	return 0;
}

static int plan_elf(const uint8_t *img, size_t len, struct x86_kernel_plan *plan, char *err,
		    size_t errlen)
{
	Elf64_Ehdr eh;
	bool have_entry = false;
	int rc;

	if (len < EI_NIDENT || img[EI_CLASS] != ELFCLASS64)
		return fail(err, errlen, -ENOEXEC, "ELF kernel is not 64-bit: an x86_64 vmlinux is needed");
	if (len < sizeof(eh))
		return fail(err, errlen, -EINVAL, "ELF kernel is truncated");
	memcpy(&eh, img, sizeof(eh));
	if (img[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64)
		return fail(err, errlen, -ENOEXEC, "ELF kernel is not for x86_64");
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
	    !range_in_file(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), len))
		return fail(err, errlen, -EINVAL, "ELF kernel has a broken program header table");

	plan->kind = X86_ENTRY_PVH;
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, img + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_LOAD) {
			rc = add_load_segment(&ph, len, plan, err, errlen);
			if (rc)
				return rc;
		} else if (ph.p_type == PT_NOTE && !have_entry &&
			   range_in_file(ph.p_offset, ph.p_filesz, len)) {
			have_entry = find_pvh_note(img + ph.p_offset, ph.p_filesz, &plan->entry);
		}
	}
	if (!have_entry)
		return fail(err, errlen, -ENOEXEC, "ELF kernel has no PVH entry note "
				     "(XEN_ELFNOTE_PHYS32_ENTRY): build it with CONFIG_PVH=y");
	if (plan->num_segments == 0)
		return fail(err, errlen, -EINVAL, "ELF kernel has nothing to load");
	return 0;
}

int x86_kernel_plan(const uint8_t *img, size_t len, uint64_t bz_load_addr,
		    struct x86_kernel_plan *plan, char *err, size_t errlen)
{
	memset(plan, 0, sizeof(*plan));
	if (len >= 4 && memcmp(img, ELFMAG, SELFMAG) == 0)
		return plan_elf(img, len, plan, err, errlen);
	if (is_bzimage(img, len))
		return plan_bzimage(img, len, bz_load_addr, plan, err, errlen);
	if (len > HDR_MAGIC + 4 && le32(img + HDR_MAGIC) == BZ_MAGIC)
		return fail(err, errlen, -EINVAL, "bzImage is truncated");
	return fail(err, errlen, -ENOEXEC,
		    "not a kernel: expected an x86_64 bzImage or an ELF vmlinux with a PVH note");
}
