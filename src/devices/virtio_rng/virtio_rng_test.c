/*
 * Unit tests for virtio-rng: buffers filled and sized right, chains
 * without writable space, a source that runs dry or returns short reads,
 * the retry timer, a broken ring and reset. The guest's side is played by
 * virtq_driver; the transport is a fake that counts interrupts.
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
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/timerfd.h>

#include <cmocka.h>

#include "devices/virtio_rng/virtio_rng.h"
#include "virtio/virtio_test_transport.h"
#include "virtio/virtq_driver.h"
#include "vm/vm.h"

#define QSIZE 64

struct fx {
	struct guest_mem gm;
	struct event_loop loop;
	bool has_loop;
	struct virtio_rng *rng;
	struct virtq_driver drv;
	struct virtio_test_transport tt;
};

/* ---- fake transport and sources ---- */


static unsigned int source_calls;

/* Never blocks, never gives anything: the host pool is not initialised. */
static ssize_t dry_source(void *buf, size_t len, unsigned int flags)
{
	(void)buf;
	(void)len;
	assert_true(flags & GRND_NONBLOCK);
	source_calls++;
	errno = EAGAIN;
	return -1;
}

/* Five bytes of 0xa5 per call, with an EINTR now and then. */
static ssize_t trickle_source(void *buf, size_t len, unsigned int flags)
{
	assert_true(flags & GRND_NONBLOCK);
	if (source_calls++ % 3 == 1) {
		errno = EINTR;
		return -1;
	}
	len = len < 5 ? len : 5;
	memset(buf, 0xa5, len);
	return (ssize_t)len;
}

/* 10 bytes, then dry. */
static ssize_t short_source(void *buf, size_t len, unsigned int flags)
{
	if (source_calls++ > 0)
		return dry_source(buf, len, flags);
	len = len < 10 ? len : 10;
	memset(buf, 0x5a, len);
	return (ssize_t)len;
}

/* ---- the guest's side ---- */

static struct fx *fx_new(bool with_loop)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct virtio_device *vdev;

	assert_non_null(f);
	source_calls = 0;
	guest_mem_init(&f->gm);
	assert_int_equal(guest_mem_add(&f->gm, 0, 4 * 1024 * 1024), 0);
	if (with_loop)
		assert_int_equal(event_loop_init(&f->loop), 0);
	f->has_loop = with_loop;
	assert_int_equal(virtio_rng_new(&f->gm, with_loop ? &f->loop : NULL, &f->rng), 0);
	vdev = &f->rng->vdev;
	virtio_test_transport_attach(vdev, &f->tt);
	assert_int_equal(virtq_driver_init(&f->drv, &f->gm, 0x10000, QSIZE, 0x300000), 0);
	pthread_mutex_lock(&vdev->lock);
	assert_true(virtio_dev_accept_features(vdev, 1ULL << VIRTIO_F_VERSION_1));
	assert_int_equal(virtq_enable(&vdev->queues[0], &f->drv.layout, false, true), 0);
	vdev->status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		       VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;
	virtio_dev_driver_ok(vdev);
	pthread_mutex_unlock(&vdev->lock);
	return f;
}

static void fx_free(struct fx *f)
{
	virtio_rng_destroy(f->rng);
	if (f->has_loop)
		event_loop_destroy(&f->loop);
	guest_mem_destroy(&f->gm);
	free(f);
}

static void kick(struct fx *f)
{
	struct virtio_device *vdev = &f->rng->vdev;

	pthread_mutex_lock(&vdev->lock);
	vdev->ops->queue_notify(vdev, 0);
	pthread_mutex_unlock(&vdev->lock);
}

static int add(struct fx *f, const uint32_t *lens, const bool *writable, unsigned int n,
	       uint64_t *gpas)
{
	struct virtq_driver_seg segs[8];
	int head;

	assert_true(n <= 8);
	for (unsigned int i = 0; i < n; i++) {
		gpas[i] = virtq_driver_alloc(&f->drv, lens[i]);
		assert_true(gpas[i] != 0);
		segs[i] = (struct virtq_driver_seg){ gpas[i], lens[i], writable[i] };
	}
	head = virtq_driver_add(&f->drv, segs, n, false);
	assert_true(head >= 0);
	return head;
}

static int add_one(struct fx *f, uint32_t len, bool writable, uint64_t *gpa)
{
	return add(f, &len, &writable, 1, gpa);
}

static bool get_used(struct fx *f, struct vring_used_elem *e)
{
	int r = virtq_driver_get_used(&f->drv, e);

	assert_true(r >= 0);
	return r == 1;
}

static bool all_bytes(struct fx *f, uint64_t gpa, size_t len, uint8_t value)
{
	const uint8_t *p = guest_mem_ptr(&f->gm, gpa, len);

	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		if (p[i] != value)
			return false;
	return true;
}

/* ---- tests ---- */

static void test_device_shape(void **state)
{
	struct fx *f = fx_new(false);
	struct virtio_device *vdev = &f->rng->vdev;

	(void)state;
	assert_int_equal(vdev->device_id, 4);
	assert_int_equal(vdev->num_queues, 1);
	assert_int_equal(vdev->config_size, 0);
	assert_int_equal(vdev->host_features & 0xffffffULL, 0); /* no device feature bits */
	fx_free(f);
}

static void test_fills_writable_buffers(void **state)
{
	struct fx *f = fx_new(false);
	const uint32_t lens[] = { 16, 48 };
	const bool wr[] = { true, true };
	uint64_t gpas[2];
	struct vring_used_elem e;
	int head = add(f, lens, wr, 2, gpas);

	(void)state;
	kick(f);
	assert_true(get_used(f, &e));
	assert_int_equal(e.id, head);
	assert_int_equal(e.len, 64);
	/* 48 zero bytes out of getrandom: odds 2^-384. */
	assert_false(all_bytes(f, gpas[1], 48, 0));
	assert_int_equal(f->tt.queue_irqs[0], 1);
	fx_free(f);
}

static void test_readable_only_chain_gets_zero(void **state)
{
	struct fx *f = fx_new(false);
	const uint32_t lens[] = { 8, 32 };
	const bool wr[] = { false, true };
	uint64_t gpa, gpas[2];
	struct vring_used_elem e;

	(void)state;
	add_one(f, 32, false, &gpa);
	add(f, lens, wr, 2, gpas);
	kick(f);
	assert_true(get_used(f, &e));
	assert_int_equal(e.len, 0);
	assert_true(get_used(f, &e));
	assert_int_equal(e.len, 32); /* only the writable part counts */
	fx_free(f);
}

static void test_short_reads_and_eintr(void **state)
{
	struct fx *f = fx_new(false);
	struct vring_used_elem e;
	uint64_t gpa;

	(void)state;
	f->rng->source = trickle_source;
	add_one(f, 23, true, &gpa);
	kick(f);
	assert_true(get_used(f, &e));
	assert_int_equal(e.len, 23);
	assert_true(all_bytes(f, gpa, 23, 0xa5));
	fx_free(f);
}

static void test_partial_fill_is_returned(void **state)
{
	struct fx *f = fx_new(false);
	struct vring_used_elem e;
	uint64_t gpa;

	(void)state;
	f->rng->source = short_source;
	add_one(f, 64, true, &gpa);
	kick(f);
	assert_true(get_used(f, &e));
	assert_int_equal(e.len, 10);
	assert_true(all_bytes(f, gpa, 10, 0x5a));
	fx_free(f);
}

static void test_dry_source_retries_on_kick(void **state)
{
	struct fx *f = fx_new(false);
	struct vring_used_elem e;
	uint64_t gpa;
	int head;

	(void)state;
	f->rng->source = dry_source;
	head = add_one(f, 32, true, &gpa);
	add_one(f, 32, true, &gpa);
	kick(f);
	assert_false(get_used(f, &e)); /* not answered with 0: held */
	assert_int_equal(f->tt.queue_irqs[0], 0);
	kick(f);
	assert_false(get_used(f, &e));
	f->rng->source = trickle_source;
	kick(f);
	assert_true(get_used(f, &e));
	assert_int_equal(e.id, head); /* in order */
	assert_int_equal(e.len, 32);
	assert_true(get_used(f, &e));
	fx_free(f);
}

static void test_dry_source_arms_the_timer(void **state)
{
	struct fx *f = fx_new(true);
	struct itimerspec t;
	struct vring_used_elem e;
	uint64_t gpa;
	struct event_handler *h = NULL;

	(void)state;
	f->rng->source = dry_source;
	add_one(f, 32, true, &gpa);
	kick(f);
	assert_int_equal(timerfd_gettime(f->rng->timer_fd, &t), 0);
	assert_true(t.it_value.tv_sec != 0 || t.it_value.tv_nsec != 0);
	/* The timer fires; the source works again. */
	for (unsigned int i = 0; i < EVENT_LOOP_MAX_HANDLERS; i++)
		if (f->loop.handlers[i].in_use && f->loop.handlers[i].fd == f->rng->timer_fd)
			h = &f->loop.handlers[i];
	assert_non_null(h);
	f->rng->source = trickle_source;
	h->fn(h->opaque, EPOLLIN);
	assert_true(get_used(f, &e));
	assert_int_equal(e.len, 32);
	fx_free(f);
}

static void test_huge_buffer_is_capped(void **state)
{
	struct fx *f = fx_new(false);
	struct vring_used_elem e;
	uint64_t gpa;

	(void)state;
	add_one(f, 1024 * 1024, true, &gpa);
	kick(f);
	assert_true(get_used(f, &e));
	assert_int_equal(e.len, VIRTIO_RNG_MAX_FILL);
	fx_free(f);
}

static void test_broken_ring_needs_reset(void **state)
{
	struct fx *f = fx_new(false);
	struct vring_used_elem e;
	uint64_t gpa;
	int head = add_one(f, 32, true, &gpa);

	(void)state;
	virtq_driver_desc(&f->drv)[head].addr = htole64(0xfff0000000000000ULL);
	kick(f);
	assert_true(f->rng->vdev.needs_reset);
	assert_int_equal(f->tt.config_irqs, 1);
	assert_false(get_used(f, &e));
	fx_free(f);
}

static void test_reset_abandons_held_chain(void **state)
{
	struct fx *f = fx_new(false);
	uint64_t gpa;

	(void)state;
	f->rng->source = dry_source;
	add_one(f, 32, true, &gpa);
	kick(f);
	assert_true(f->rng->busy);
	pthread_mutex_lock(&f->rng->vdev.lock);
	virtio_dev_reset(&f->rng->vdev);
	pthread_mutex_unlock(&f->rng->vdev.lock);
	assert_false(f->rng->busy);
	fx_free(f);
}

static void test_no_rng_creates_nothing(void **state)
{
	static struct vm vm; /* large: off the stack; no PCI bus, so nothing may attach */
	struct vm_config cfg;

	(void)state;
	vm_config_init(&cfg);
	cfg.no_rng = true;
	vm.cfg = &cfg;
	assert_int_equal(virtio_rng_create_all(&vm), 0);
	assert_int_equal(vm.num_virtio, 0);
	vm_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device_shape),
		cmocka_unit_test(test_fills_writable_buffers),
		cmocka_unit_test(test_readable_only_chain_gets_zero),
		cmocka_unit_test(test_short_reads_and_eintr),
		cmocka_unit_test(test_partial_fill_is_returned),
		cmocka_unit_test(test_dry_source_retries_on_kick),
		cmocka_unit_test(test_dry_source_arms_the_timer),
		cmocka_unit_test(test_huge_buffer_is_capped),
		cmocka_unit_test(test_broken_ring_needs_reset),
		cmocka_unit_test(test_reset_abandons_held_chain),
		cmocka_unit_test(test_no_rng_creates_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
