/*
 * Guest physical memory: a small set of RAM regions, each one anonymous host
 * mapping. guest_mem_ptr() is the one checked accessor: every access to
 * guest memory, by loaders and devices alike, goes through it or the helpers
 * built on it.
 */
#ifndef COVE_VM_GUEST_MEM_H
#define COVE_VM_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"

#define GUEST_MEM_MAX_REGIONS 4

struct guest_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

struct guest_mem {
	struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned int count;
};

void guest_mem_init(struct guest_mem *gm);

/*
 * Maps `size` bytes of anonymous memory (MAP_NORESERVE: pages are only
 * committed when the guest touches them) at guest address `gpa`. Regions must
 * not overlap. Returns 0, -EINVAL, -ENOSPC or the mmap error.
 */
must_check int guest_mem_add(struct guest_mem *gm, uint64_t gpa, uint64_t size);

/* Unmaps every region. */
void guest_mem_destroy(struct guest_mem *gm);

/*
 * Returns a host pointer to [gpa, gpa+len) if the whole range lies inside one
 * RAM region, else NULL. len == 0 returns NULL (there is nothing to access),
 * and ranges that wrap around the address space return NULL.
 */
void *guest_mem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Copies to/from guest memory through guest_mem_ptr. Return 0 or -EFAULT. */
must_check int guest_mem_read(const struct guest_mem *gm, uint64_t gpa, void *dst,
			      size_t len);
must_check int guest_mem_write(const struct guest_mem *gm, uint64_t gpa, const void *src,
			       size_t len);

/*
 * Gives the host pages backing [gpa, gpa+len) back to the host
 * (MADV_DONTNEED: the host RSS drops at once, and the guest reads zeroes
 * there the next time it touches them). The range must lie inside one RAM
 * region, as for guest_mem_ptr(); only the host pages wholly inside it are
 * discarded, so a range smaller than a host page, or the partial pages at
 * its ends, are left alone. Returns 0, -EFAULT (not RAM) or madvise's
 * -errno.
 */
must_check int guest_mem_discard(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/*
 * The guest-physical address of host address `hva`, if [hva, hva+len) lies
 * inside one RAM region (devices get host iovecs from virtq.c). Returns 0
 * with *gpa set, or -EFAULT.
 */
must_check int guest_mem_gpa_of(const struct guest_mem *gm, const void *hva, uint64_t len,
				uint64_t *gpa);

/* Total RAM in bytes. */
uint64_t guest_mem_size(const struct guest_mem *gm);

#endif
