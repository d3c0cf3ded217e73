/*
 * The power-management registers of Cove's hardware-reduced ACPI platform
 * (ACPI 6.x sections 4.8.3.7 "Sleep Control and Status Registers" and
 * 4.8.3.6 "Reset Register"), all 8-bit registers in port I/O space:
 *
 *   ACPI_PM_SLEEP_CONTROL_PORT (FADT SLEEP_CONTROL_REG): writing SLP_EN
 *     (bit 5) with SLP_TYP (bits 4:2) == ACPI_PM_S5_SLP_TYP powers the VM
 *     off (VM_EXIT_POWEROFF). Other sleep types are not supported: logged
 *     once and ignored. The DSDT's \_S5 package must hold
 *     ACPI_PM_S5_SLP_TYP.
 *   ACPI_PM_SLEEP_STATUS_PORT (FADT SLEEP_STATUS_REG): reads 0 (WAK_STS
 *     clear); writes (write-1-to-clear) are ignored.
 *   ACPI_PM_RESET_PORT (FADT RESET_REG, with RESET_VALUE =
 *     ACPI_PM_RESET_VALUE and the FADT's RESET_REG_SUP flag): writing the
 *     value requests VM_EXIT_RESET; other values are ignored.
 *
 * The block occupies ACPI_PM_PIO_BASE .. +ACPI_PM_PIO_SIZE; the last byte is
 * reserved and reads 0.
 */
#ifndef COVE_DEVICES_LEGACY_ACPI_PM_H
#define COVE_DEVICES_LEGACY_ACPI_PM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "vm/bus.h"
#include "vm/vm_events.h"

#define ACPI_PM_PIO_BASE 0x600
#define ACPI_PM_PIO_SIZE 4
#define ACPI_PM_SLEEP_CONTROL_PORT (ACPI_PM_PIO_BASE + 0)
#define ACPI_PM_SLEEP_STATUS_PORT (ACPI_PM_PIO_BASE + 1)
#define ACPI_PM_RESET_PORT (ACPI_PM_PIO_BASE + 2)

#define ACPI_PM_RESET_VALUE 0x0e
#define ACPI_PM_S5_SLP_TYP 5
#define ACPI_PM_SLP_EN 0x20
#define ACPI_PM_SLP_TYP_SHIFT 2
#define ACPI_PM_SLP_TYP_MASK 0x1c

struct acpi_pm {
	pthread_mutex_t lock;
	struct vm_events events;
	uint8_t sleep_type;	/* SLP_TYP bits of the last sleep-control write */
	bool exit_requested;	/* a power-off or reset was requested */
};

/* `events` is copied. Returns 0 or -errno. */
must_check int acpi_pm_init(struct acpi_pm *pm, const struct vm_events *events);
void acpi_pm_destroy(struct acpi_pm *pm);

/* Bus handlers for the block at ACPI_PM_PIO_BASE; opaque is the acpi_pm. */
extern const struct bus_ops acpi_pm_bus_ops;

/* Claims the block on `pio`. Returns 0 or bus_register's -errno. */
must_check int acpi_pm_register(struct acpi_pm *pm, struct bus *pio);

#endif
