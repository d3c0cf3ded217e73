/*
 * Parsing x86 kernel images, bytes in and a load plan out, with no I/O:
 * a bzImage entered at its 64-bit entry (Linux boot protocol 2.12+,
 * Documentation/arch/x86/boot.rst), or an ELF vmlinux entered through its
 * PVH note (XEN_ELFNOTE_PHYS32_ENTRY). Unit tests and the fuzzer drive these.
 *
 * Guest-controlled: nothing here (the image is the user's file), but the
 * image is untrusted input all the same: every offset and size is checked
 * against the file before use.
 */
#ifndef COVE_ARCH_X86_KERNEL_H
#define COVE_ARCH_X86_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"

#define X86_SETUP_HEADER_OFFSET 0x1f1
#define X86_BOOT_PROTOCOL_MIN 0x020c /* 2.12: xloadflags, 64-bit entry */
#define X86_ELF_MAX_SEGMENTS 16

enum x86_entry_kind {
	X86_ENTRY_LINUX64, /* bzImage: startup_64 with boot_params in RSI */
	X86_ENTRY_PVH,	   /* 32-bit protected mode, hvm_start_info in EBX */
};

struct x86_segment_plan {
	uint64_t file_offset;
	uint64_t file_size;
	uint64_t gpa;
	uint64_t mem_size; /* >= file_size; the rest is zero-filled */
};

struct x86_kernel_plan {
	enum x86_entry_kind kind;
	uint64_t entry;		/* guest-physical entry point */
	uint64_t end;		/* first byte above everything the kernel needs */
	struct x86_segment_plan segments[X86_ELF_MAX_SEGMENTS];
	unsigned int num_segments;

	/* bzImage only: the setup header to copy into boot_params. */
	uint64_t setup_header_len; /* bytes from offset 0x1f1 */
	uint16_t protocol;
	uint16_t xloadflags;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;	   /* longest command line, excluding NUL */
};

/*
 * Recognises and plans `img` (the whole file). bzImages load at
 * `bz_load_addr` (aligned to the kernel's alignment). Returns 0, or -EINVAL
 * / -ENOEXEC with a one-line reason in `err` ("not a bzImage or ELF
 * kernel", "boot protocol 2.06 is too old: 2.12 or later needed", ...).
 */
must_check int x86_kernel_plan(const uint8_t *img, size_t len, uint64_t bz_load_addr,
			       struct x86_kernel_plan *plan, char *err, size_t errlen);

#endif
