/*
 * arch_load_guest for x86: kernel (bzImage or PVH ELF), initrd, command line,
 * ACPI tables, boot_params or start_info, page tables and GDT.
 *
 * Files are mapped read-only and copied into guest RAM through the checked
 * accessor; every failure prints one line naming the file and the problem.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86/boot.h"
#include "arch/x86/layout.h"
#include "base/log.h"
#include "config/cmdline.h"
#include "vm/vm.h"

struct mapped_file {
	const uint8_t *data;
	size_t len;
};

static int map_file(const char *path, const char *what, struct mapped_file *out)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int err = 0;

	if (fd < 0) {
		err = -errno;
		log_error("%s: cannot open '%s': %s", what, path, strerror(errno));
		return err;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		err = -EINVAL;
		log_error("%s: '%s' is not a regular, non-empty file", what, path);
		goto out;
	}
	out->len = (size_t)st.st_size;
	out->data = mmap(NULL, out->len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (out->data == MAP_FAILED) {
		err = -errno;
		log_error("%s: cannot read '%s': %s", what, path, strerror(errno));
	}
out:
	close(fd);
	return err;
}

static void unmap_file(struct mapped_file *f)
{
	munmap((void *)(uintptr_t)f->data, f->len);
}

static int load_segments(struct vm *vm, const struct mapped_file *img,
			 const struct x86_kernel_plan *plan)
{
	for (unsigned int i = 0; i < plan->num_segments; i++) {
		const struct x86_segment_plan *s = &plan->segments[i];
		uint8_t *dst = guest_mem_ptr(&vm->mem, s->gpa, s->mem_size);

		if (!dst) {
			log_error("kernel: '%s' needs guest memory at 0x%llx-0x%llx, which the VM "
				  "does not have: give it more memory (--mem)",
				  vm->cfg->kernel_path, (unsigned long long)s->gpa,
				  (unsigned long long)(s->gpa + s->mem_size));
			return -ENOMEM;
		}
		memcpy(dst, img->data + s->file_offset, s->file_size);
		memset(dst + s->file_size, 0, s->mem_size - s->file_size);
	}
	return 0;
}

static int load_kernel(struct vm *vm, struct x86_kernel_plan *plan, uint8_t *setup_hdr)
{
	struct mapped_file img;
	char err[160];
	int rc = map_file(vm->cfg->kernel_path, "kernel", &img);

	if (rc)
		return rc;
	rc = x86_kernel_plan(img.data, img.len, X86_KERNEL_ADDR, plan, err, sizeof(err));
	if (rc)
		log_error("kernel: '%s': %s", vm->cfg->kernel_path, err);
	else
		rc = load_segments(vm, &img, plan);
	if (!rc && plan->kind == X86_ENTRY_LINUX64)
		memcpy(setup_hdr, img.data + X86_SETUP_HEADER_OFFSET, plan->setup_header_len);
	unmap_file(&img);
	return rc;
}

/* Highest address + 1 of RAM below the 32-bit hole. */
static uint64_t low_ram_end(const struct vm *vm)
{
	return MIN(vm->cfg->mem_mib * MiB, X86_MMIO_HOLE_START);
}

/*
 * Places the initrd page-aligned as high as allowed: below the kernel's
 * initrd_addr_max and the end of low RAM, above the kernel.
 */
static int load_initrd(struct vm *vm, const struct x86_kernel_plan *plan,
		       struct x86_boot_info *info)
{
	const char *path = vm->cfg->initrd_path;
	uint64_t limit = low_ram_end(vm);
	struct mapped_file f;
	uint64_t addr;
	int rc;

	if (!path)
		return 0;
	rc = map_file(path, "--initrd", &f);
	if (rc)
		return rc;
	if (plan->kind == X86_ENTRY_LINUX64 && plan->initrd_addr_max)
		limit = MIN(limit, (uint64_t)plan->initrd_addr_max + 1);
	addr = f.len <= limit ? ALIGN_DOWN(limit - f.len, 4096) : 0;
	if (addr < ALIGN_UP(plan->end, 4096)) {
		log_error("--initrd: '%s' (%zu KiB) does not fit in guest memory next to the "
			  "kernel: give the VM more memory (--mem)", path, f.len / 1024);
		rc = -ENOMEM;
	} else {
		rc = guest_mem_write(&vm->mem, addr, f.data, f.len);
		info->initrd_addr = addr;
		info->initrd_size = f.len;
	}
	unmap_file(&f);
	return rc;
}

static int load_cmdline(struct vm *vm, const struct x86_kernel_plan *plan,
			struct x86_boot_info *info)
{
	size_t max = X86_CMDLINE_MAX - 1;
	char *dst;

	if (plan->kind == X86_ENTRY_LINUX64 && plan->cmdline_size)
		max = MIN(max, (size_t)plan->cmdline_size);
	dst = guest_mem_ptr(&vm->mem, X86_CMDLINE_ADDR, max + 1);
	if (!dst)
		return -EFAULT;
	if (cmdline_build(vm->cfg, dst, max + 1)) {
		log_error("--params: the kernel command line is longer than the kernel's "
			  "limit of %zu bytes", max);
		return -E2BIG;
	}
	info->cmdline_addr = X86_CMDLINE_ADDR;
	info->cmdline_len = (uint32_t)strlen(dst);
	log_info("kernel command line: %s", dst);
	return 0;
}

static int write_boot_tables(struct vm *vm, const struct x86_kernel_plan *plan,
			     const uint8_t *setup_hdr, const struct x86_boot_info *info)
{
	struct x86_e820_entry e820[X86_E820_MAX];
	unsigned int n = x86_e820_build(vm->cfg->mem_mib * MiB, e820);
	int rc = x86_page_tables_write(&vm->mem);

	if (!rc)
		rc = x86_gdt_write(&vm->mem);
	if (!rc)
		rc = x86_reset_vector_write(&vm->mem, ACPI_PM_RESET_PORT, ACPI_PM_RESET_VALUE);
	if (rc)
		return rc;
	if (plan->kind == X86_ENTRY_PVH)
		return x86_pvh_info_write(&vm->mem, info, e820, n);

	struct boot_params *bp = guest_mem_ptr(&vm->mem, X86_ZERO_PAGE_ADDR, sizeof(*bp));

	if (!bp)
		return -EFAULT;
	x86_boot_params_fill(bp, setup_hdr, plan->setup_header_len, info, e820, n);
	return 0;
}

int arch_load_guest(struct vm *vm)
{
	struct x86_kernel_plan plan;
	struct x86_boot_info info = { 0 };
	uint8_t setup_hdr[0x100];
	int rc = load_kernel(vm, &plan, setup_hdr);

	if (!rc)
		rc = load_initrd(vm, &plan, &info);
	if (!rc)
		rc = load_cmdline(vm, &plan, &info);
	if (!rc)
		rc = x86_acpi_setup(vm, &info.rsdp_addr);
	if (!rc)
		rc = write_boot_tables(vm, &plan, setup_hdr, &info);
	if (rc)
		return rc;
	x86_boot_regs(plan.kind, plan.entry, &vm->arch.boot_regs);
	log_info("kernel entry 0x%llx (%s)", (unsigned long long)plan.entry,
		 plan.kind == X86_ENTRY_PVH ? "PVH" : "64-bit boot protocol");
	return 0;
}
