/*
 * Boot-time marker, as in Firecracker: the guest writes the byte
 * BOOT_MARKER_MAGIC (123) to port BOOT_MARKER_PORT (0x3f0) when it reaches
 * a point worth timing (typically from its init, with
 * `printf '\173' | dd of=/dev/port bs=1 seek=1008`). The first such write
 * records the time since Cove started and logs it at info level; later
 * writes and other values are ignored. Reads return 0xff.
 */
#ifndef COVE_DEVICES_LEGACY_BOOT_MARKER_H
#define COVE_DEVICES_LEGACY_BOOT_MARKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "base/compiler.h"
#include "vm/bus.h"

#define BOOT_MARKER_PORT 0x3f0
#define BOOT_MARKER_MAGIC 123

/* Reads CLOCK_MONOTONIC; tests pass a fixed clock. */
typedef void (*boot_marker_clock_fn)(void *opaque, struct timespec *now);

struct boot_marker {
	pthread_mutex_t lock;
	struct timespec start;
	boot_marker_clock_fn clock;
	void *clock_opaque;
	bool marked;
	uint64_t elapsed_ns;
};

/*
 * `start` is Cove's start time on CLOCK_MONOTONIC (taken early in main).
 * `clock` may be NULL for CLOCK_MONOTONIC. Returns 0 or -errno.
 */
must_check int boot_marker_init(struct boot_marker *bm, const struct timespec *start,
				boot_marker_clock_fn clock, void *clock_opaque);
void boot_marker_destroy(struct boot_marker *bm);

/* The first marker's time since start: 0 and *ns, or -ENOENT if none yet. */
must_check int boot_marker_elapsed_ns(struct boot_marker *bm, uint64_t *ns);

/* Bus handlers for the 1-byte range at 0x3f0; opaque is the boot_marker. */
extern const struct bus_ops boot_marker_bus_ops;

/* Claims port 0x3f0 on `pio`. Returns 0 or bus_register's -errno. */
must_check int boot_marker_register(struct boot_marker *bm, struct bus *pio);

#endif
