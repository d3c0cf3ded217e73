/* The code the device fuzz targets share; see harness.h. */
#include "harness.h"

#include <stdlib.h>

#include "base/log.h"

void *fuzz_session_new(size_t size)
{
	void *s;

	log_set_level(LOG_LEVEL_OFF);
	s = calloc(1, size);
	if (!s)
		abort();
	return s;
}

void fuzz_guest_ram(struct guest_mem *gm, uint64_t size)
{
	guest_mem_init(gm);
	if (guest_mem_add(gm, 0, size))
		abort();
}

void fuzz_replay_records(void *session, const uint8_t *data, size_t size, fuzz_step_fn step,
			 void (*check)(void *session))
{
	size_t used;

	while ((used = step(session, data, size)) != 0) {
		check(session);
		data += used;
		size -= used;
	}
	check(session);
}

int fuzz_collect_used(struct virtq_driver *drv)
{
	struct vring_used_elem e;
	int r;

	while ((r = virtq_driver_get_used(drv, &e)) == 1)
		;
	return r;
}
