/*
 * I/O buses: port I/O (PIO) and MMIO. Devices register address ranges before
 * the vCPUs start; at run time the tables are read-only, so dispatch from
 * vCPU threads takes no lock (each device serialises itself).
 *
 * Guest-controlled: the address, length and data of every access. A range
 * nobody claimed reads as all ones and ignores writes.
 */
#ifndef COVE_VM_BUS_H
#define COVE_VM_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"

/*
 * A device's handlers. `offset` is relative to the registered base; `len` is
 * 1, 2, 4 or 8 and the access lies inside the registered range. `data` is
 * little-endian guest data of `len` bytes. Handlers run on vCPU threads.
 */
struct bus_ops {
	void (*read)(void *opaque, uint64_t offset, void *data, uint32_t len);
	void (*write)(void *opaque, uint64_t offset, const void *data, uint32_t len);
};

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_ops *ops;
	void *opaque;
	const char *name;
};

#define BUS_MAX_RANGES 128

struct bus {
	struct bus_range ranges[BUS_MAX_RANGES]; /* sorted by base */
	unsigned int count;
};

void bus_init(struct bus *bus);

/*
 * Claims [base, base+len) for a device. Returns 0, -EINVAL for an empty or
 * wrapping range, -EEXIST if it overlaps a claimed range, -ENOSPC when full.
 */
must_check int bus_register(struct bus *bus, uint64_t base, uint64_t len,
			    const struct bus_ops *ops, void *opaque, const char *name);

/*
 * Dispatches one access. Returns true if a device claimed the address; for
 * unclaimed reads `data` is filled with 0xff.
 */
bool bus_read(const struct bus *bus, uint64_t addr, void *data, uint32_t len);
bool bus_write(const struct bus *bus, uint64_t addr, const void *data, uint32_t len);

#endif
