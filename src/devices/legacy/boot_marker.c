/* Firecracker-style boot-time marker (see boot_marker.h). */
#include "devices/legacy/boot_marker.h"

#include <errno.h>
#include <string.h>

#include "base/log.h"

static void monotonic_clock(void *opaque, struct timespec *now)
{
	(void)opaque;
	clock_gettime(CLOCK_MONOTONIC, now);
}

/* Nanoseconds from `a` to `b`; 0 if `b` is earlier. */
static uint64_t ns_between(const struct timespec *a, const struct timespec *b)
{
	int64_t ns = ((int64_t)b->tv_sec - (int64_t)a->tv_sec) * 1000000000LL +
		     ((int64_t)b->tv_nsec - (int64_t)a->tv_nsec);

	return ns > 0 ? (uint64_t)ns : 0;
}

/* Guest-controlled: the byte written. */
static void mark(struct boot_marker *bm, uint8_t val)
{
	struct timespec now;
	uint64_t ns;

	if (val != BOOT_MARKER_MAGIC)
		return;
	pthread_mutex_lock(&bm->lock);
	if (bm->marked) {
		pthread_mutex_unlock(&bm->lock);
		return;
	}
	bm->clock(bm->clock_opaque, &now);
	ns = ns_between(&bm->start, &now);
	bm->elapsed_ns = ns;
	bm->marked = true;
	pthread_mutex_unlock(&bm->lock);
	log_info("guest boot marker at %llu.%03llu ms", (unsigned long long)(ns / 1000000),
		 (unsigned long long)(ns / 1000 % 1000));
}

static void marker_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	(void)opaque;
	(void)offset;
	memset(data, 0xff, len);
}

static void marker_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	(void)offset;
	(void)len;
	mark(opaque, *(const uint8_t *)data); /* the low byte, as an 8-bit port */
}

const struct bus_ops boot_marker_bus_ops = { .read = marker_read, .write = marker_write };

int boot_marker_init(struct boot_marker *bm, const struct timespec *start,
		     boot_marker_clock_fn clock, void *clock_opaque)
{
	int ret;

	memset(bm, 0, sizeof(*bm));
	ret = pthread_mutex_init(&bm->lock, NULL);
	if (ret != 0)
		return -ret;
	bm->start = *start;
	bm->clock = clock ? clock : monotonic_clock;
	bm->clock_opaque = clock_opaque;
	return 0;
}

void boot_marker_destroy(struct boot_marker *bm)
{
	pthread_mutex_destroy(&bm->lock);
}

int boot_marker_elapsed_ns(struct boot_marker *bm, uint64_t *ns)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&bm->lock);
	if (bm->marked) {
		*ns = bm->elapsed_ns;
		ret = 0;
	}
	pthread_mutex_unlock(&bm->lock);
	return ret;
}

int boot_marker_register(struct boot_marker *bm, struct bus *pio)
{
	return bus_register(pio, BOOT_MARKER_PORT, 1, &boot_marker_bus_ops, bm, "boot-marker");
}
