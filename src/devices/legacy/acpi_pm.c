/* ACPI sleep control/status and reset registers (see acpi_pm.h). */
#include "devices/legacy/acpi_pm.h"

#include <string.h>

#include "base/log.h"

enum {
	OFF_SLEEP_CONTROL = ACPI_PM_SLEEP_CONTROL_PORT - ACPI_PM_PIO_BASE,
	OFF_SLEEP_STATUS = ACPI_PM_SLEEP_STATUS_PORT - ACPI_PM_PIO_BASE,
	OFF_RESET = ACPI_PM_RESET_PORT - ACPI_PM_PIO_BASE,
};

/* The first power-off or reset wins; later writes are no-ops. */
static bool claim_exit(struct acpi_pm *pm)
{
	if (pm->exit_requested)
		return false;
	pm->exit_requested = true;
	return true;
}

/* Guest-controlled: val. Returns true to power off. */
static bool write_sleep_control(struct acpi_pm *pm, uint8_t val)
{
	unsigned int type = (val & ACPI_PM_SLP_TYP_MASK) >> ACPI_PM_SLP_TYP_SHIFT;

	pm->sleep_type = val & ACPI_PM_SLP_TYP_MASK;
	if (!(val & ACPI_PM_SLP_EN))
		return false;
	if (type != ACPI_PM_S5_SLP_TYP) {
		log_guest_once("acpi_pm: sleep type %u is not supported; ignored", type);
		return false;
	}
	return claim_exit(pm);
}

/* Guest-controlled: val. Returns true to reset. */
static bool write_reset(struct acpi_pm *pm, uint8_t val)
{
	if (val != ACPI_PM_RESET_VALUE) {
		log_guest_once("acpi_pm: reset register write 0x%02x ignored", val);
		return false;
	}
	return claim_exit(pm);
}

static void pm_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct acpi_pm *pm = opaque;
	uint8_t *out = data;

	pthread_mutex_lock(&pm->lock);
	for (uint32_t i = 0; i < len; i++)
		/* SLP_EN reads 0; status, reset and the reserved byte read 0. */
		out[i] = offset + i == OFF_SLEEP_CONTROL ? pm->sleep_type : 0;
	pthread_mutex_unlock(&pm->lock);
}

static void pm_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct acpi_pm *pm = opaque;
	const uint8_t *in = data;
	bool poweroff = false, reset = false;

	pthread_mutex_lock(&pm->lock);
	for (uint32_t i = 0; i < len; i++) {
		if (offset + i == OFF_SLEEP_CONTROL)
			poweroff |= write_sleep_control(pm, in[i]);
		else if (offset + i == OFF_RESET)
			reset |= write_reset(pm, in[i]);
		/* OFF_SLEEP_STATUS: WAK_STS is never set; nothing to clear. */
	}
	pthread_mutex_unlock(&pm->lock);

	if (poweroff) {
		log_info("acpi_pm: guest requested power-off (S5)");
		vm_events_request(&pm->events, VM_EXIT_POWEROFF);
	} else if (reset) {
		log_info("acpi_pm: guest requested a reset");
		vm_events_request(&pm->events, VM_EXIT_RESET);
	}
}

const struct bus_ops acpi_pm_bus_ops = { .read = pm_read, .write = pm_write };

int acpi_pm_init(struct acpi_pm *pm, const struct vm_events *events)
{
	int ret;

	memset(pm, 0, sizeof(*pm));
	ret = pthread_mutex_init(&pm->lock, NULL);
	if (ret != 0)
		return -ret;
	if (events)
		pm->events = *events;
	return 0;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
	pthread_mutex_destroy(&pm->lock);
}

int acpi_pm_register(struct acpi_pm *pm, struct bus *pio)
{
	return bus_register(pio, ACPI_PM_PIO_BASE, ACPI_PM_PIO_SIZE, &acpi_pm_bus_ops, pm,
			    "acpi-pm");
}
