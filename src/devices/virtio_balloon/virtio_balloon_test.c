/*
 * Unit tests for virtio-balloon: pages given back on inflate (and only
 * guest RAM), deflate, the configuration space and the target, the
 * statistics round trip, free page reporting, queue numbering by feature,
 * hostile rings, reset; and the statistics parser. The guest's side is
 * played by virtq_driver over real anonymous memory, so a discarded page
 * really reads back as zeroes.
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/virtio_balloon/virtio_balloon.h"
#include "virtio/virtio_test_transport.h"
#include "virtio/virtq_driver.h"
#include "vm/vm.h"

#define QSIZE 64
#define MEM (8 * 1024 * 1024)
#define RING(q) (0x10000ULL + (q) * 0x40000ULL) /* each queue: rings and a heap */
#define RING_SPAN 0x40000ULL
#define DATA 0x400000ULL /* pages the tests inflate */

static const uint64_t stats_bit = 1ULL << VIRTIO_BALLOON_F_STATS_VQ;
static const uint64_t report_bit = 1ULL << VIRTIO_BALLOON_F_REPORTING;

struct fx {
	struct guest_mem gm;
	struct virtio_balloon *b;
	struct virtq_driver drv[VIRTIO_BALLOON_NUM_QUEUES];
	unsigned int nq; /* queues the "driver" set up */
	struct virtio_test_transport tt; /* counts the interrupts */
	unsigned int stats_calls;
	struct virtio_balloon_info last;
};

static void on_stats(void *opaque, const struct virtio_balloon_info *info)
{
	struct fx *f = opaque;

	f->stats_calls++;
	f->last = *info;
}

/* ---- the guest's side ---- */

/* A device offering `opts`; not started (see start()). */
static struct fx *fx_new(const struct virtio_balloon_options *opts)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	guest_mem_init(&f->gm);
	assert_int_equal(guest_mem_add(&f->gm, 0, MEM), 0);
	assert_int_equal(virtio_balloon_new(&f->gm, NULL, opts, &f->b), 0);
	virtio_test_transport_attach(&f->b->vdev, &f->tt);
	virtio_balloon_set_stats_listener(f->b, on_stats, f);
	return f;
}

/*
 * What Linux does: negotiate `features`, set up inflate, deflate and one
 * queue per negotiated optional feature, consecutively.
 */
static void negotiate(struct fx *f, uint64_t features)
{
	struct virtio_device *vdev = &f->b->vdev;

	f->nq = 2 + !!(features & stats_bit) + !!(features & report_bit);
	pthread_mutex_lock(&vdev->lock);
	assert_true(virtio_dev_accept_features(vdev, features | 1ULL << VIRTIO_F_VERSION_1));
	for (unsigned int q = 0; q < f->nq; q++) {
		assert_int_equal(virtq_driver_init(&f->drv[q], &f->gm, RING(q), QSIZE, RING_SPAN), 0);
		assert_int_equal(virtq_enable(&vdev->queues[q], &f->drv[q].layout, false, true), 0);
	}
	pthread_mutex_unlock(&vdev->lock);
}

static void driver_ok(struct fx *f)
{
	struct virtio_device *vdev = &f->b->vdev;

	pthread_mutex_lock(&vdev->lock);
	vdev->status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		       VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;
	virtio_dev_driver_ok(vdev);
	pthread_mutex_unlock(&vdev->lock);
}

static struct fx *started(uint64_t features)
{
	const struct virtio_balloon_options all = { .deflate_on_oom = true, .page_reporting = true };
	struct fx *f = fx_new(&all);

	negotiate(f, features);
	driver_ok(f);
	return f;
}

static void fx_free(struct fx *f)
{
	virtio_balloon_destroy(f->b);
	guest_mem_destroy(&f->gm);
	free(f);
}

static void kick(struct fx *f, unsigned int q)
{
	struct virtio_device *vdev = &f->b->vdev;

	pthread_mutex_lock(&vdev->lock);
	if (virtio_dev_running(vdev) && vdev->queues[q].enabled)
		vdev->ops->queue_notify(vdev, q);
	pthread_mutex_unlock(&vdev->lock);
}

/* Adds one readable buffer holding `len` bytes of `data` to queue q. */
static int add_buf(struct fx *f, unsigned int q, const void *data, uint32_t len)
{
	uint64_t gpa = virtq_driver_alloc(&f->drv[q], len);
	struct virtq_driver_seg seg = { gpa, len, false };
	int head;

	assert_true(gpa != 0);
	assert_int_equal(guest_mem_write(&f->gm, gpa, data, len), 0);
	head = virtq_driver_add(&f->drv[q], &seg, 1, false);
	assert_true(head >= 0);
	return head;
}

static int add_pfns(struct fx *f, unsigned int q, const uint32_t *pfns, unsigned int n)
{
	uint32_t le[64];

	assert_true(n <= 64);
	for (unsigned int i = 0; i < n; i++)
		le[i] = htole32(pfns[i]);
	return add_buf(f, q, le, n * sizeof(uint32_t));
}

static bool get_used(struct fx *f, unsigned int q, struct vring_used_elem *e)
{
	int r = virtq_driver_get_used(&f->drv[q], e);

	assert_true(r >= 0);
	return r == 1;
}

static uint8_t *page(struct fx *f, uint64_t gpa)
{
	uint8_t *p = guest_mem_ptr(&f->gm, gpa, 4096);

	assert_non_null(p);
	return p;
}

static bool page_is(struct fx *f, uint64_t gpa, uint8_t v)
{
	const uint8_t *p = page(f, gpa);

	for (size_t i = 0; i < 4096; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* Encodes stats entries {tag, val} into buf; returns the byte count. */
static size_t stats_buf(uint8_t *buf, const uint16_t *tags, const uint64_t *vals, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint16_t t = htole16(tags[i]);
		uint64_t v = htole64(vals[i]);

		memcpy(buf + i * 10, &t, 2);
		memcpy(buf + i * 10 + 2, &v, 8);
	}
	return n * 10;
}

static uint32_t cfg32(struct fx *f, uint32_t off)
{
	uint32_t v;

	pthread_mutex_lock(&f->b->vdev.lock);
	f->b->vdev.ops->config_read(&f->b->vdev, off, &v, 4);
	pthread_mutex_unlock(&f->b->vdev.lock);
	return le32toh(v);
}

static void cfg_write32(struct fx *f, uint32_t off, uint32_t v)
{
	v = htole32(v);
	pthread_mutex_lock(&f->b->vdev.lock);
	f->b->vdev.ops->config_write(&f->b->vdev, off, &v, 4);
	pthread_mutex_unlock(&f->b->vdev.lock);
}

/* ---- device ---- */

static void test_device_shape(void **state)
{
	const struct virtio_balloon_options oom = { .deflate_on_oom = true };
	const struct virtio_balloon_options rep = { .page_reporting = true };
	struct fx *f = fx_new(NULL);
	const struct virtio_device *vdev = &f->b->vdev;

	(void)state;
	assert_int_equal(vdev->device_id, 5);
	assert_int_equal(vdev->num_queues, 4);
	assert_int_equal(vdev->config_size, 16);
	assert_int_equal(vdev->host_features & 0xffffffULL, stats_bit); /* defaults: stats only */
	fx_free(f);
	f = fx_new(&oom);
	assert_int_equal(f->b->vdev.host_features & 0xffffffULL,
			 stats_bit | 1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
	fx_free(f);
	f = fx_new(&rep);
	assert_int_equal(f->b->vdev.host_features & 0xffffffULL, stats_bit | report_bit);
	fx_free(f);
}

static void test_inflate_gives_pages_back(void **state)
{
	/* A run of two, two pages apart, and two frames beyond guest RAM. */
	const uint32_t pfns[] = { 0x403, 0x400, 0x401, 0x405, 0xfffff, 0x40000 };
	struct fx *f = started(stats_bit);
	struct virtio_balloon_info info;
	struct vring_used_elem e;
	int head;

	(void)state;
	memset(page(f, DATA), 0xaa, 8 * 4096);
	head = add_pfns(f, 0, pfns, 6);
	kick(f, 0);
	assert_true(get_used(f, 0, &e));
	assert_int_equal(e.id, head);
	assert_int_equal(e.len, 0);
	assert_int_equal(f->tt.queue_irqs[0], 1);
	assert_true(page_is(f, DATA, 0) && page_is(f, DATA + 0x1000, 0));
	assert_true(page_is(f, DATA + 0x2000, 0xaa)); /* not inflated */
	assert_true(page_is(f, DATA + 0x3000, 0) && page_is(f, DATA + 0x5000, 0));
	assert_true(page_is(f, DATA + 0x4000, 0xaa) && page_is(f, DATA + 0x6000, 0xaa));
	virtio_balloon_get_info(f->b, &info);
	assert_int_equal(info.inflated_pages, 6);
	assert_false(f->b->vdev.needs_reset); /* bad frames are ignored, not fatal */
	fx_free(f);
}

static void test_inflate_odd_sizes(void **state)
{
	const uint8_t junk[6] = { 0x00, 0x04, 0x00, 0x00, 0xff, 0xff }; /* one PFN + 2 bytes */
	uint32_t many[64];
	struct fx *f = started(0);
	struct vring_used_elem e;

	(void)state;
	memset(page(f, DATA), 0x55, 2 * 4096);
	add_buf(f, 0, junk, sizeof(junk));
	add_buf(f, 0, junk, 0 + 1); /* less than one PFN */
	for (unsigned int i = 0; i < 64; i++)
		many[i] = 0x401; /* the same page 64 times */
	add_pfns(f, 0, many, 64);
	kick(f, 0);
	for (int i = 0; i < 3; i++)
		assert_true(get_used(f, 0, &e));
	assert_true(page_is(f, DATA, 0) && page_is(f, DATA + 0x1000, 0));
	assert_false(f->b->vdev.needs_reset);
	fx_free(f);
}

static void test_deflate_touches_nothing(void **state)
{
	const uint32_t pfns[] = { 0x400, 0x401 };
	struct fx *f = started(stats_bit);
	struct virtio_balloon_info info;
	struct vring_used_elem e;

	(void)state;
	memset(page(f, DATA), 0x77, 4096);
	add_pfns(f, 1, pfns, 2);
	kick(f, 1);
	assert_true(get_used(f, 1, &e));
	assert_int_equal(e.len, 0);
	assert_true(page_is(f, DATA, 0x77));
	virtio_balloon_get_info(f->b, &info);
	assert_int_equal(info.deflated_pages, 2);
	assert_int_equal(info.inflated_pages, 0);
	fx_free(f);
}

static void test_config_and_target(void **state)
{
	struct fx *f = fx_new(NULL);
	struct virtio_balloon_info info;
	uint8_t byte = 0x12;

	(void)state;
	virtio_balloon_set_target(f->b, 1000); /* before the driver: no interrupt */
	assert_int_equal(f->tt.config_irqs, 0);
	assert_int_equal(cfg32(f, 0), 1000);
	negotiate(f, stats_bit);
	driver_ok(f);
	virtio_balloon_set_target(f->b, 2000);
	assert_int_equal(f->tt.config_irqs, 1);
	virtio_balloon_set_target(f->b, 2000); /* unchanged: no interrupt */
	assert_int_equal(f->tt.config_irqs, 1);
	assert_int_equal(cfg32(f, 0), 2000);
	/* The driver reports progress in `actual`; num_pages is read-only. */
	cfg_write32(f, 4, 1500);
	cfg_write32(f, 0, 7);
	assert_int_equal(cfg32(f, 0), 2000);
	assert_int_equal(cfg32(f, 4), 1500);
	pthread_mutex_lock(&f->b->vdev.lock);
	f->b->vdev.ops->config_write(&f->b->vdev, 5, &byte, 1); /* a byte of actual */
	f->b->vdev.ops->config_write(&f->b->vdev, 3, &f->b->actual, 2); /* straddles: ignored */
	pthread_mutex_unlock(&f->b->vdev.lock);
	assert_int_equal(cfg32(f, 4), 1500 - (1500 & 0xff00) + 0x1200);
	assert_int_equal(cfg32(f, 8), 0);
	assert_int_equal(cfg32(f, 12), 0);
	virtio_balloon_get_info(f->b, &info);
	assert_true(info.driver_ok);
	assert_int_equal(info.target_pages, 2000);
	assert_int_equal(info.actual_pages, 0x12dc);
	fx_free(f);
}

static void test_stats_round_trip(void **state)
{
	const uint16_t tags1[] = { VIRTIO_BALLOON_S_MEMFREE, VIRTIO_BALLOON_S_MEMTOT, 99 };
	const uint64_t vals1[] = { 100 << 20, 2000ULL << 20, 5 };
	const uint16_t tags2[] = { VIRTIO_BALLOON_S_MEMFREE, VIRTIO_BALLOON_S_AVAIL };
	const uint64_t vals2[] = { 50 << 20, 70 << 20 };
	const struct virtio_balloon_options none = { 0 };
	struct fx *f = fx_new(&none);
	struct virtio_balloon_info info;
	struct vring_used_elem e;
	uint8_t buf[64];
	int head;

	(void)state;
	negotiate(f, stats_bit);
	/* Linux primes the stats queue and kicks before DRIVER_OK. */
	head = add_buf(f, 2, buf, (uint32_t)stats_buf(buf, tags1, vals1, 3));
	kick(f, 2); /* not running yet: the transport would drop it */
	assert_int_equal(virtio_balloon_request_stats(f->b), -ENODATA);
	driver_ok(f);
	virtio_balloon_get_info(f->b, &info);
	assert_true(info.stats_queue && info.have_stats);
	assert_true(info.stats.valid[VIRTIO_BALLOON_S_MEMFREE]);
	assert_int_equal(info.stats.val[VIRTIO_BALLOON_S_MEMTOT], 2000ULL << 20);
	assert_false(info.stats.valid[VIRTIO_BALLOON_S_AVAIL]);
	assert_false(get_used(f, 2, &e)); /* held */
	assert_int_equal(f->stats_calls, 0);

	/* The host asks: the buffer comes back; the driver refills it. */
	assert_int_equal(virtio_balloon_request_stats(f->b), 0);
	assert_int_equal(virtio_balloon_request_stats(f->b), 0); /* already pending */
	assert_true(get_used(f, 2, &e));
	assert_int_equal(e.id, head);
	assert_int_equal(e.len, 0);
	assert_int_equal(f->tt.queue_irqs[2], 1);
	add_buf(f, 2, buf, (uint32_t)stats_buf(buf, tags2, vals2, 2));
	kick(f, 2);
	assert_int_equal(f->stats_calls, 1);
	assert_int_equal(f->last.stats.val[VIRTIO_BALLOON_S_AVAIL], 70 << 20);
	assert_false(f->last.stats.valid[VIRTIO_BALLOON_S_MEMTOT]); /* a fresh report */
	assert_int_equal(f->last.stats_count, 2);
	/* A refill nobody asked for updates the numbers but calls nobody. */
	assert_int_equal(virtio_balloon_request_stats(f->b), 0);
	f->stats_calls = 0;
	assert_true(get_used(f, 2, &e));
	add_buf(f, 2, buf, (uint32_t)stats_buf(buf, tags1, vals1, 3));
	kick(f, 2);
	assert_int_equal(f->stats_calls, 1);
	add_buf(f, 2, buf, (uint32_t)stats_buf(buf, tags2, vals2, 2)); /* a second buffer */
	kick(f, 2);
	assert_int_equal(f->stats_calls, 1);
	assert_true(get_used(f, 2, &e)); /* the first one went back */
	fx_free(f);
}

static void test_no_stats_queue(void **state)
{
	struct fx *f = started(0);
	struct virtio_balloon_info info;

	(void)state;
	assert_int_equal(virtio_balloon_request_stats(f->b), -ENODATA);
	virtio_balloon_get_info(f->b, &info);
	assert_false(info.stats_queue || info.have_stats);
	fx_free(f);
}

/* Reporting is queue 3 after stats, queue 2 without it. */
static void check_reporting(uint64_t features, unsigned int q)
{
	struct fx *f = started(features);
	struct virtio_balloon_info info;
	struct virtq_driver_seg segs[2] = {
		{ DATA, 2 * 4096, true },
		{ DATA + 0x4000, 4096, true },
	};
	struct vring_used_elem e;

	memset(page(f, DATA), 0xcc, 6 * 4096);
	assert_true(virtq_driver_add(&f->drv[q], segs, 2, false) >= 0);
	kick(f, q);
	assert_true(get_used(f, q, &e));
	assert_int_equal(e.len, 0);
	assert_true(page_is(f, DATA, 0) && page_is(f, DATA + 0x1000, 0));
	assert_true(page_is(f, DATA + 0x2000, 0xcc) && page_is(f, DATA + 0x3000, 0xcc));
	assert_true(page_is(f, DATA + 0x4000, 0));
	virtio_balloon_get_info(f->b, &info);
	assert_int_equal(info.reported_bytes, 3 * 4096);
	assert_int_equal(info.inflated_pages, 0);
	fx_free(f);
}

static void test_free_page_reporting(void **state)
{
	(void)state;
	check_reporting(stats_bit | report_bit, 3);
	check_reporting(report_bit, 2);
}

static void test_broken_ring_needs_reset(void **state)
{
	const uint32_t pfns[] = { 0x400 };
	struct fx *f = started(stats_bit);
	struct vring_used_elem e;
	int head = add_pfns(f, 0, pfns, 1);

	(void)state;
	virtq_driver_desc(&f->drv[0])[head].addr = htole64(0xfff0000000000000ULL);
	kick(f, 0);
	assert_true(f->b->vdev.needs_reset);
	assert_int_equal(f->tt.config_irqs, 1);
	assert_false(get_used(f, 0, &e));
	fx_free(f);
}

static void test_reset_keeps_target(void **state)
{
	const uint16_t tag = VIRTIO_BALLOON_S_MEMFREE;
	const uint64_t val = 1;
	struct fx *f = started(stats_bit);
	struct virtio_balloon_info info;
	uint8_t buf[16];

	(void)state;
	add_buf(f, 2, buf, (uint32_t)stats_buf(buf, &tag, &val, 1));
	kick(f, 2);
	virtio_balloon_set_target(f->b, 300);
	cfg_write32(f, 4, 300);
	pthread_mutex_lock(&f->b->vdev.lock);
	virtio_dev_reset(&f->b->vdev);
	pthread_mutex_unlock(&f->b->vdev.lock);
	assert_int_equal(virtio_balloon_request_stats(f->b), -ENODATA);
	virtio_balloon_get_info(f->b, &info);
	assert_false(info.driver_ok);
	assert_int_equal(info.target_pages, 300);
	assert_int_equal(info.actual_pages, 0);
	assert_true(info.have_stats); /* the last report is still worth showing */
	fx_free(f);
}

/*
 * Linux's inflation, batch after batch with EVENT_IDX: each batch of 256
 * frames is acknowledged (used, with an interrupt) before the next, over
 * more batches than the ring indices have values.
 */
static void test_many_batches_each_acked(void **state)
{
	const struct virtio_balloon_options none = { 0 };
	struct fx *f = fx_new(&none);
	struct virtio_device *vdev = &f->b->vdev;
	struct vring_used_elem e;
	uint32_t pfns[64];

	(void)state;
	negotiate(f, stats_bit);
	pthread_mutex_lock(&vdev->lock);
	for (unsigned int q = 0; q < f->nq; q++) /* again, with EVENT_IDX */
		assert_int_equal(virtq_enable(&vdev->queues[q], &f->drv[q].layout, true, true), 0);
	pthread_mutex_unlock(&vdev->lock);
	driver_ok(f);
	for (unsigned int batch = 0; batch < 70000; batch++) {
		for (unsigned int i = 0; i < 64; i++)
			pfns[i] = 0x400 + (batch * 64 + i) % 1024;
		f->drv[0].heap_next = f->drv[0].heap_end - 0x1000; /* reuse one buffer */
		add_pfns(f, 0, pfns, 64);
		virtq_driver_set_used_event(&f->drv[0], f->drv[0].last_used);
		kick(f, 0);
		if (f->tt.queue_irqs[0] != batch + 1)
			fail_msg("batch %u: %u interrupts", batch, f->tt.queue_irqs[0]);
		assert_true(get_used(f, 0, &e));
	}
	assert_false(f->b->vdev.needs_reset);
	fx_free(f);
}

static void test_no_balloon_creates_nothing(void **state)
{
	static struct vm vm; /* large: off the stack; no PCI bus, so nothing may attach */
	struct vm_config cfg;

	(void)state;
	vm_config_init(&cfg);
	cfg.no_balloon = true;
	vm.cfg = &cfg;
	assert_int_equal(virtio_balloon_create_all(&vm), 0);
	assert_int_equal(vm.num_virtio, 0);
	assert_null(vm.balloon);
	vm_config_free(&cfg);
}

/* ---- statistics parser ---- */

static void test_stats_parse(void **state)
{
	const uint16_t tags[] = { 0, 5, 15, 16, 0xffff, 5 };
	const uint64_t vals[] = { 1, 2, 3, 4, 5, 6 };
	struct virtio_balloon_stats st;
	uint8_t buf[VIRTIO_BALLOON_STATS_MAX_ENTRIES * 10 + 20];
	size_t n = stats_buf(buf, tags, vals, 6);

	(void)state;
	assert_int_equal(virtio_balloon_stats_parse(buf, n, &st), 6);
	assert_true(st.valid[0] && st.valid[5] && st.valid[15]);
	assert_int_equal(st.val[5], 6); /* the last of a repeated tag */
	assert_int_equal(st.val[15], 3);
	assert_false(st.valid[1]);
	/* Trailing bytes: the whole entries count, the verdict is -EINVAL. */
	assert_int_equal(virtio_balloon_stats_parse(buf, n - 3, &st), -EINVAL);
	assert_true(st.valid[15]);
	assert_int_equal(st.val[5], 2); /* the repeat was in the cut-off part */
	assert_int_equal(virtio_balloon_stats_parse(buf, 0, &st), 0);
	assert_false(st.valid[0]);
	/* More entries than kept: the rest is ignored. */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(virtio_balloon_stats_parse(buf, sizeof(buf) - 10, &st),
			 VIRTIO_BALLOON_STATS_MAX_ENTRIES);
	assert_string_equal(virtio_balloon_stats_name(VIRTIO_BALLOON_S_MEMFREE), "free_memory");
	assert_string_equal(virtio_balloon_stats_name(VIRTIO_BALLOON_S_SWAP_IN), "swap_in");
	assert_string_equal(virtio_balloon_stats_name(15), "direct_reclaims");
	assert_null(virtio_balloon_stats_name(16));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device_shape),
		cmocka_unit_test(test_inflate_gives_pages_back),
		cmocka_unit_test(test_inflate_odd_sizes),
		cmocka_unit_test(test_deflate_touches_nothing),
		cmocka_unit_test(test_config_and_target),
		cmocka_unit_test(test_stats_round_trip),
		cmocka_unit_test(test_no_stats_queue),
		cmocka_unit_test(test_free_page_reporting),
		cmocka_unit_test(test_broken_ring_needs_reset),
		cmocka_unit_test(test_reset_keeps_target),
		cmocka_unit_test(test_many_batches_each_acked),
		cmocka_unit_test(test_no_balloon_creates_nothing),
		cmocka_unit_test(test_stats_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
