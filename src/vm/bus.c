/*
 * I/O buses (see bus.h): a table of claimed ranges kept sorted by base, so a
 * dispatch is one binary search. Ranges are stored as inclusive [base, last]
 * so a range may end at the very top of the address space without
 * overflowing.
 *
 * Registration happens before the vCPUs start; afterwards the table is only
 * read, so dispatch takes no lock.
 */
#include "vm/bus.h"

#include <errno.h>
#include <string.h>

#include "base/log.h"

static uint64_t range_last(const struct bus_range *r)
{
	return r->base + r->len - 1;
}

void bus_init(struct bus *bus)
{
	memset(bus, 0, sizeof(*bus));
}

/* Index of the first range whose base is greater than `addr` (0..count). */
static unsigned int upper_bound(const struct bus *bus, uint64_t addr)
{
	unsigned int lo = 0, hi = bus->count;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (bus->ranges[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *opaque, const char *name)
{
	uint64_t last;
	unsigned int pos;

	if (len == 0 || ops == NULL)
		return -EINVAL;
	last = base + (len - 1);
	if (last < base)
		return -EINVAL; /* wraps past the top of the address space */

	pos = upper_bound(bus, base);
	/* The range before `pos` starts at or below base: it must end below it. */
	if (pos > 0 && range_last(&bus->ranges[pos - 1]) >= base)
		return -EEXIST;
	/* The range at `pos` starts above base: it must start above our end. */
	if (pos < bus->count && bus->ranges[pos].base <= last)
		return -EEXIST;
	if (bus->count == BUS_MAX_RANGES)
		return -ENOSPC;

	memmove(&bus->ranges[pos + 1], &bus->ranges[pos],
		(bus->count - pos) * sizeof(bus->ranges[0]));
	bus->ranges[pos] = (struct bus_range){
		.base = base, .len = len, .ops = ops, .opaque = opaque, .name = name,
	};
	bus->count++;
	return 0;
}

static bool valid_len(uint32_t len)
{
	return len == 1 || len == 2 || len == 4 || len == 8;
}

/*
 * The range holding all of [addr, addr+len), or NULL. An access that
 * straddles the end of a range, or wraps, belongs to no device.
 */
static const struct bus_range *find(const struct bus *bus, uint64_t addr, uint32_t len)
{
	const struct bus_range *r;
	unsigned int pos;
	uint64_t last = addr + (len - 1);

	if (!valid_len(len) || last < addr)
		return NULL;
	pos = upper_bound(bus, addr);
	if (pos == 0)
		return NULL;
	r = &bus->ranges[pos - 1];
	if (last > range_last(r))
		return NULL;
	return r;
}

/* Guest-controlled: addr, len and the data of every access. */
bool bus_read(const struct bus *bus, uint64_t addr, void *data, uint32_t len)
{
	const struct bus_range *r = find(bus, addr, len);

	if (r == NULL || r->ops->read == NULL) {
		memset(data, 0xff, len);
		return r != NULL;
	}
	r->ops->read(r->opaque, addr - r->base, data, len);
	return true;
}

bool bus_write(const struct bus *bus, uint64_t addr, const void *data, uint32_t len)
{
	const struct bus_range *r = find(bus, addr, len);

	if (r == NULL)
		return false;
	if (r->ops->write != NULL)
		r->ops->write(r->opaque, addr - r->base, data, len);
	return true;
}
