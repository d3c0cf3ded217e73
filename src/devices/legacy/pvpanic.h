/*
 * QEMU's pvpanic ISA device (docs/specs/pvpanic.rst in QEMU): one 8-bit
 * register at PVPANIC_PORT (0x505). Reads return the events the device
 * supports; the guest writes an event when its kernel panics. Linux's
 * pvpanic driver finds it through an ACPI device with _HID "QEMU0001" and
 * an IO resource at this port.
 *
 *   PVPANIC_PANICKED (bit 0): the guest panicked -> VM_EXIT_PANIC.
 *   PVPANIC_CRASH_LOADED (bit 1): the guest panicked but a crash kernel
 *     (kdump) takes over -> logged only; the VM keeps running.
 * Other bits are ignored.
 */
#ifndef COVE_DEVICES_LEGACY_PVPANIC_H
#define COVE_DEVICES_LEGACY_PVPANIC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "vm/bus.h"
#include "vm/vm_events.h"

#define PVPANIC_PORT 0x505
#define PVPANIC_PANICKED 0x01
#define PVPANIC_CRASH_LOADED 0x02
#define PVPANIC_SUPPORTED (PVPANIC_PANICKED | PVPANIC_CRASH_LOADED)

struct pvpanic {
	pthread_mutex_t lock;
	struct vm_events events;
	uint8_t events_seen;	/* supported event bits the guest has written */
};

/* `events` is copied. Returns 0 or -errno. */
must_check int pvpanic_init(struct pvpanic *pp, const struct vm_events *events);
void pvpanic_destroy(struct pvpanic *pp);

/* The supported event bits written so far (for tests and status). */
uint8_t pvpanic_events_seen(struct pvpanic *pp);

/* Bus handlers for the 1-byte range at 0x505; opaque is the pvpanic. */
extern const struct bus_ops pvpanic_bus_ops;

/* Claims port 0x505 on `pio`. Returns 0 or bus_register's -errno. */
must_check int pvpanic_register(struct pvpanic *pp, struct bus *pio);

#endif
