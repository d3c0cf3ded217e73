/* pvpanic ISA device (see pvpanic.h). */
#include "devices/legacy/pvpanic.h"

#include <string.h>

#include "base/log.h"

static void pvpanic_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	(void)opaque;
	(void)offset;
	memset(data, 0, len);
	*(uint8_t *)data = PVPANIC_SUPPORTED;
}

/* Guest-controlled: the event byte (the low byte of wider writes). */
static void pvpanic_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct pvpanic *pp = opaque;
	uint8_t ev = *(const uint8_t *)data & PVPANIC_SUPPORTED;
	uint8_t fresh;

	(void)offset;
	(void)len;
	pthread_mutex_lock(&pp->lock);
	fresh = ev & (uint8_t)~pp->events_seen;
	pp->events_seen |= ev;
	pthread_mutex_unlock(&pp->lock);

	if (ev & PVPANIC_PANICKED) {
		if (fresh & PVPANIC_PANICKED)
			log_error("pvpanic: guest kernel panicked");
		vm_events_request(&pp->events, VM_EXIT_PANIC);
	} else if (fresh & PVPANIC_CRASH_LOADED) {
		log_warn("pvpanic: guest kernel panicked; its crash kernel takes over");
	}
}

const struct bus_ops pvpanic_bus_ops = { .read = pvpanic_read, .write = pvpanic_write };

int pvpanic_init(struct pvpanic *pp, const struct vm_events *events)
{
	int ret;

	memset(pp, 0, sizeof(*pp));
	ret = pthread_mutex_init(&pp->lock, NULL);
	if (ret != 0)
		return -ret;
	if (events)
		pp->events = *events;
	return 0;
}

void pvpanic_destroy(struct pvpanic *pp)
{
	pthread_mutex_destroy(&pp->lock);
}

uint8_t pvpanic_events_seen(struct pvpanic *pp)
{
	uint8_t seen;

	pthread_mutex_lock(&pp->lock);
	seen = pp->events_seen;
	pthread_mutex_unlock(&pp->lock);
	return seen;
}

int pvpanic_register(struct pvpanic *pp, struct bus *pio)
{
	return bus_register(pio, PVPANIC_PORT, 1, &pvpanic_bus_ops, pp, "pvpanic");
}
