/* Guest physical memory and its one checked accessor; see guest_mem.h. */
#include "vm/guest_mem.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void guest_mem_init(struct guest_mem *gm)
{
	memset(gm, 0, sizeof(*gm));
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int guest_mem_add(struct guest_mem *gm, uint64_t gpa, uint64_t size)
{
	struct guest_mem_region *r;
	void *hva;

	if (size == 0 || gpa + size < gpa || (gpa | size) & 0xfff)
		return -EINVAL;
	if (gm->count == GUEST_MEM_MAX_REGIONS)
		return -ENOSPC;
	for (unsigned int i = 0; i < gm->count; i++)
		if (ranges_overlap(gpa, size, gm->regions[i].gpa, gm->regions[i].size))
			return -EINVAL;
	hva = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (hva == MAP_FAILED)
		return -errno;
	/* Guest RAM is never useful in a core dump and may hold secrets. */
	madvise(hva, size, MADV_DONTDUMP);
	r = &gm->regions[gm->count++];
	r->gpa = gpa;
	r->size = size;
	r->hva = hva;
	return 0;
}

void guest_mem_destroy(struct guest_mem *gm)
{
	for (unsigned int i = 0; i < gm->count; i++)
		munmap(gm->regions[i].hva, gm->regions[i].size);
	gm->count = 0;
}

void *guest_mem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	if (len == 0 || gpa + len < gpa)
		return NULL;
	for (unsigned int i = 0; i < gm->count; i++) {
		const struct guest_mem_region *r = &gm->regions[i];

		/* Written so that no sum can overflow: gpa >= r->gpa first. */
		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

int guest_mem_read(const struct guest_mem *gm, uint64_t gpa, void *dst, size_t len)
{
	const void *src = guest_mem_ptr(gm, gpa, len);

	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int guest_mem_write(const struct guest_mem *gm, uint64_t gpa, const void *src, size_t len)
{
	void *dst = guest_mem_ptr(gm, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int guest_mem_discard(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint8_t *hva = guest_mem_ptr(gm, gpa, len);
	uintptr_t start, end;

	if (!hva)
		return -EFAULT;
	/* Regions are page-aligned mappings: the rounding stays inside. */
	start = ALIGN_UP((uintptr_t)hva, (uintptr_t)page);
	end = ALIGN_DOWN((uintptr_t)hva + (uintptr_t)len, (uintptr_t)page);
	if (end <= start)
		return 0;
	if (madvise((void *)start, end - start, MADV_DONTNEED) < 0)
		return -errno;
	return 0;
}

int guest_mem_gpa_of(const struct guest_mem *gm, const void *hva, uint64_t len, uint64_t *gpa)
{
	const uintptr_t p = (uintptr_t)hva;

	if (len == 0)
		return -EFAULT;
	for (unsigned int i = 0; i < gm->count; i++) {
		const struct guest_mem_region *r = &gm->regions[i];
		const uintptr_t base = (uintptr_t)r->hva;

		/* As in guest_mem_ptr: no sum that can overflow. */
		if (p >= base && p - base < r->size && len <= r->size - (p - base)) {
			*gpa = r->gpa + (p - base);
			return 0;
		}
	}
	return -EFAULT;
}

uint64_t guest_mem_size(const struct guest_mem *gm)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < gm->count; i++)
		total += gm->regions[i].size;
	return total;
}
