/*
 * Fuzz target: a hostile virtio-balloon driver (virtio 1.x section 5.5).
 *
 * The first byte picks the negotiated features (stats queue, free page
 * reporting, deflate on OOM); the queues the driver sets up follow them,
 * numbered consecutively as Linux does. Then the input is replayed record
 * by record:
 *
 *   op % 6 == 0  inflate: next % 48 frame numbers follow (4 bytes each)
 *   op % 6 == 1  deflate: the same
 *   op % 6 == 2  a statistics buffer of next % 96 bytes from the input
 *   op % 6 == 3  a free page report of 1-4 segments (gpa, length, direction)
 *   op % 6 == 4  the host: set a target, ask for statistics, read the info
 *   op % 6 == 5  a configuration write, or a reset and renegotiation
 *
 * Frame numbers and reported ranges mostly point into a data area, so that
 * the device really discards guest memory, and sometimes anywhere (outside
 * RAM, over the rings). The device must never crash, and what it returns
 * must be legal (virtq_driver_get_used checks ids and lengths) unless the
 * guest discarded its own rings.
 */
#include <endian.h>
#include <linux/virtio_config.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio_balloon/virtio_balloon.h"
#include "fuzz.h"
#include "harness.h"
#include "virtio/virtio_test_transport.h"
#include "virtio/virtq_driver.h"

#define MEM (2 * 1024 * 1024)
#define QSIZE 32
#define RING_SPAN 0x10000ULL
#define RING(q) (0x1000ULL + (q) * RING_SPAN)
#define DATA 0x100000ULL /* the second MiB: the data area */
#define DATA_PAGES 256

struct session {
	struct virtio_test_transport irqs; /* interrupts are only counted */
	struct guest_mem gm;
	struct virtio_balloon *b;
	struct virtq_driver drv[VIRTIO_BALLOON_NUM_QUEUES];
	unsigned int nq;
	int stats_q, report_q;
	bool rings_hit; /* the guest discarded part of its own rings */
};

static void on_stats(void *opaque, const struct virtio_balloon_info *info)
{
	(void)opaque;
	if (!info->have_stats)
		abort(); /* told of statistics that are not there */
}

static struct session *session_get(void)
{
	static struct session *s;
	const struct virtio_balloon_options opts = { .deflate_on_oom = true,
						     .page_reporting = true };

	if (s)
		return s;
	s = fuzz_session_new(sizeof(*s));
	fuzz_guest_ram(&s->gm, MEM);
	if (virtio_balloon_new(&s->gm, NULL, &opts, &s->b))
		abort();
	virtio_test_transport_attach(&s->b->vdev, &s->irqs);
	s->b->stats_fn = on_stats; /* the lock is held throughout: set it directly */
	return s;
}

/* Reset, then the driver's init sequence with `bits` (bit 0 stats, 1 reporting, 2 OOM). */
static void restart(struct session *s, uint8_t bits)
{
	struct virtio_device *vdev = &s->b->vdev;
	uint64_t features = 1ULL << VIRTIO_F_VERSION_1;
	const struct virtio_test_rings rings = {.mem = &s->gm,
						.gpa = RING(0),
						.span = RING_SPAN,
						.size = QSIZE,
						.event_idx = bits & 8,
						.indirect = bits & 16};
	int q = 2;

	if (bits & 1)
		features |= 1ULL << VIRTIO_BALLOON_F_STATS_VQ;
	if (bits & 2)
		features |= 1ULL << VIRTIO_BALLOON_F_REPORTING;
	if (bits & 4)
		features |= 1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM;
	s->stats_q = bits & 1 ? q++ : -1;
	s->report_q = bits & 2 ? q++ : -1;
	s->nq = (unsigned int)q;
	s->rings_hit = false;
	virtio_dev_reset(vdev);
	memset(guest_mem_ptr(&s->gm, 0, DATA), 0, DATA); /* fresh rings */
	if (virtio_test_start(vdev, features, s->drv, s->nq, &rings))
		abort();
}

static void kick(struct session *s, int q)
{
	struct virtio_device *vdev = &s->b->vdev;

	/* As the transport does: only enabled queues of a running device. */
	if (q >= 0 && virtio_dev_running(vdev) && vdev->queues[q].enabled)
		vdev->ops->queue_notify(vdev, (unsigned int)q);
}

static bool add(struct session *s, unsigned int q, const void *src, uint32_t len)
{
	uint64_t gpa = virtq_driver_alloc(&s->drv[q], len ? len : 1);
	struct virtq_driver_seg seg = { gpa, len ? len : 1, false };

	if (!gpa)
		return false;
	if (src && len && guest_mem_write(&s->gm, gpa, src, len))
		abort();
	return virtq_driver_add(&s->drv[q], &seg, 1, false) >= 0;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

/* A frame in the data area, or (top bit) the raw value, anywhere. */
static uint32_t frame(struct session *s, uint32_t raw)
{
	if (raw & 0x80000000u) {
		raw &= 0x7fffffffu;
		if ((uint64_t)raw << 12 < DATA)
			s->rings_hit = true;
		return raw;
	}
	return (uint32_t)(DATA >> 12) + raw % DATA_PAGES;
}

static size_t pfns(struct session *s, unsigned int q, const uint8_t *p, size_t left)
{
	uint32_t list[48];
	size_t n = MIN((size_t)p[1] % 48, (left - 2) / 4);

	for (size_t i = 0; i < n; i++)
		list[i] = htole32(frame(s, rd32(p + 2 + 4 * i)));
	if (!add(s, q, list, (uint32_t)(n * 4)))
		return 0;
	kick(s, (int)q);
	return 2 + 4 * n;
}

static size_t report(struct session *s, const uint8_t *p, size_t left)
{
	struct virtq_driver_seg segs[4];
	unsigned int n = 1 + p[1] % 4;

	if (s->report_q < 0 || left < 2 + 4 * (size_t)n)
		return left < 2 ? 0 : 2;
	for (unsigned int i = 0; i < n; i++) {
		uint32_t v = rd32(p + 2 + 4 * i);
		uint64_t off = (uint64_t)(v & 0xffff) << 4, len = 1 + ((v >> 16) & 0x7fff) * 16;

		segs[i] = (struct virtq_driver_seg){ DATA + off % (MEM - DATA),
						     (uint32_t)MIN(len, MEM - DATA - off % (MEM - DATA)),
						     v & 0x80000000u };
	}
	if (virtq_driver_add(&s->drv[s->report_q], segs, n, false) < 0)
		return 0;
	kick(s, s->report_q);
	return 2 + 4 * (size_t)n;
}

static size_t host(struct session *s, const uint8_t *p, size_t left)
{
	struct virtio_balloon_info info;
	uint32_t v = left >= 6 ? rd32(p + 2) : p[1];

	/* The control plane's calls take the lock: let go of it around them. */
	pthread_mutex_unlock(&s->b->vdev.lock);
	switch (p[1] % 3) {
	case 0:
		virtio_balloon_set_target(s->b, v);
		break;
	case 1:
		if (virtio_balloon_request_stats(s->b) && virtio_dev_running(&s->b->vdev) &&
		    s->b->stats_q >= 0 && s->b->stats_held)
			abort(); /* refused although there was a buffer to give back */
		break;
	default:
		virtio_balloon_get_info(s->b, &info);
		if (info.target_pages != s->b->num_pages)
			abort();
	}
	pthread_mutex_lock(&s->b->vdev.lock);
	return left >= 6 ? 6 : 2;
}

static size_t config(struct session *s, const uint8_t *p, size_t left)
{
	struct virtio_device *vdev = &s->b->vdev;
	uint32_t len = 1u << (p[1] % 3), off = (p[1] >> 2) % (vdev->config_size - len + 1);
	uint8_t val[4] = { p[1], p[1] ^ 0x5a, 0x12, 0x34 };

	if (p[1] & 0x80) {
		restart(s, p[1]);
		return 2;
	}
	vdev->ops->config_write(vdev, off, val, len);
	vdev->ops->config_read(vdev, off, val, len);
	(void)left;
	return 2;
}

/* Replays one record; returns the bytes it used, 0 to stop. */
static size_t step(void *opaque, const uint8_t *p, size_t left)
{
	struct session *s = opaque;
	size_t len;

	if (left < 2)
		return 0;
	switch (p[0] % 6) {
	case 0:
	case 1:
		return pfns(s, p[0] % 6, p, left);
	case 2:
		if (s->stats_q < 0)
			return 2;
		len = MIN((size_t)p[1] % 96, left - 2);
		if (!add(s, (unsigned int)s->stats_q, p + 2, (uint32_t)len))
			return 0;
		kick(s, s->stats_q);
		return 2 + len;
	case 3:
		return report(s, p, left);
	case 4:
		return host(s, p, left);
	default:
		return config(s, p, left);
	}
}

static void drain_used(void *opaque)
{
	struct session *s = opaque;

	for (unsigned int q = 0; q < s->nq; q++) {
		if (fuzz_collect_used(&s->drv[q]) < 0 && !s->rings_hit)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session *s = session_get();

	if (size < 1)
		return 0;
	pthread_mutex_lock(&s->b->vdev.lock);
	restart(s, data[0]);
	data++;
	size--;
	fuzz_replay_records(s, data, size, step, drain_used);
	pthread_mutex_unlock(&s->b->vdev.lock);
	return 0;
}
