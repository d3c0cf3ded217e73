/*
 * Unit tests for the virtio-9p device: the mount tag in the configuration,
 * 9P sessions through a real split ring (virtq_driver over guest memory,
 * a fake transport, the event loop delivering worker completions),
 * zero-copy reads and writes across scattered buffers, Tflush ordering,
 * broken chains and a reset with requests in flight.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/virtio_9p/virtio_9p.h"
#include "virtio/virtio_test_transport.h"
#include "virtio/virtq_driver.h"

#define RAM_SIZE (16u << 20)
#define RING_GPA 0x1000
#define RING_SPAN (12u << 20)
#define RING2_GPA (13u << 20)
#define RING2_SPAN (2u << 20)
#define MSIZE 65536
#define BIG (200u * 1024)

struct fx {
	char dir[64];
	struct guest_mem gm;
	struct event_loop loop;
	struct virtio_9p *dev;
	struct virtq_driver drv;
	struct virtio_test_transport tt; /* counts the interrupts */
};

static void negotiate(struct fx *f)
{
	struct virtio_device *vdev = &f->dev->vdev;
	bool accepted;
	int err;

	pthread_mutex_lock(&vdev->lock);
	vdev->status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	accepted = virtio_dev_accept_features(vdev, vdev->host_features);
	vdev->status |= VIRTIO_CONFIG_S_FEATURES_OK;
	err = virtq_enable(&vdev->queues[0], &f->drv.layout, true, true);
	vdev->status |= VIRTIO_CONFIG_S_DRIVER_OK;
	virtio_dev_driver_ok(vdev);
	pthread_mutex_unlock(&vdev->lock);
	assert_true(accepted);
	assert_int_equal(err, 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct shared_dir_config sd;

	strcpy(f->dir, "/tmp/cove-v9p-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	guest_mem_init(&f->gm);
	assert_int_equal(guest_mem_add(&f->gm, 0, RAM_SIZE), 0);
	assert_int_equal(event_loop_init(&f->loop), 0);
	assert_int_equal(
	    virtq_driver_init(&f->drv, &f->gm, RING_GPA, VIRTIO_9P_QUEUE_SIZE, RING_SPAN), 0);
	vm_config_shared_dir_defaults(&sd);
	sd.path = f->dir;
	sd.tag = (char *)"hostshare";
	sd.msize = MSIZE;
	assert_int_equal(virtio_9p_create(&sd, &f->gm, &f->loop, &f->dev), 0);
	virtio_test_transport_attach(&f->dev->vdev, &f->tt);
	negotiate(f);
	*state = f;
	return 0;
}

static void reset(struct fx *f)
{
	virtio_test_reset(&f->dev->vdev);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	reset(f);
	f->dev->vdev.ops->destroy(&f->dev->vdev);
	event_loop_destroy(&f->loop);
	guest_mem_destroy(&f->gm);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* ---- the guest's side ---- */

static void *ptr(struct fx *f, uint64_t gpa, uint64_t len)
{
	void *p = guest_mem_ptr(&f->gm, gpa, len);

	assert_non_null(p);
	return p;
}

static uint64_t put(struct fx *f, const void *data, uint32_t len)
{
	uint64_t gpa = virtq_driver_alloc(&f->drv, len);

	assert_true(gpa != 0);
	memcpy(ptr(f, gpa, len), data, len);
	return gpa;
}

static uint64_t room(struct fx *f, uint32_t len)
{
	uint64_t gpa = virtq_driver_alloc(&f->drv, len);

	assert_true(gpa != 0);
	memset(ptr(f, gpa, len), 0xee, len);
	return gpa;
}

/* Queues msg with `in` bytes of reply room; *reply gets the room's address. */
static int queue_msg(struct fx *f, const struct p9_wire_buf *b, uint32_t in, uint64_t *reply)
{
	struct virtq_driver_seg segs[2] = {
	    {put(f, b->data, (uint32_t)b->len), (uint32_t)b->len, false}, {room(f, in), in, true}};
	int head = virtq_driver_add(&f->drv, segs, 2, true); /* one descriptor each */

	assert_true(head >= 0);
	*reply = segs[1].gpa;
	return head;
}

static void kick(struct fx *f)
{
	virtio_test_kick(&f->dev->vdev, 0);
}

/* Serves the event loop until n used entries arrived (or `max` rounds of 10 ms). */
static unsigned int collect_for(struct fx *f, struct vring_used_elem *out, unsigned int n, int max)
{
	return virtio_test_collect(&f->drv, &f->loop, out, n, max);
}

static unsigned int collect(struct fx *f, struct vring_used_elem *out, unsigned int n)
{
	return collect_for(f, out, n, 500);
}

/* Nothing (more) comes back, even after serving the loop a little. */
static void expect_none(struct fx *f)
{
	struct vring_used_elem e;

	assert_int_equal(collect_for(f, &e, 1, 20), 0);
}

static uint8_t tbuf[MSIZE + 64];

static struct p9_wire_buf *msg(uint8_t type, uint16_t tag)
{
	static struct p9_wire_buf b;

	p9_wire_buf_init(&b, tbuf, sizeof(tbuf));
	p9_wire_begin(&b, type, tag);
	return &b;
}

static void finish(struct p9_wire_buf *b)
{
	assert_true(p9_wire_finish(b) > 0);
}

/* Sends one message and waits for its reply; returns the reply's type. */
static uint8_t rpc(struct fx *f, struct p9_wire_buf *b, uint8_t *reply, uint32_t *len)
{
	struct vring_used_elem e;
	uint64_t gpa;
	int head;

	finish(b);
	head = queue_msg(f, b, MSIZE, &gpa);
	kick(f);
	assert_int_equal(collect(f, &e, 1), 1);
	assert_int_equal(e.id, (uint32_t)head);
	assert_true(e.len >= P9_HDR_SIZE && e.len <= MSIZE);
	memcpy(reply, ptr(f, gpa, e.len), e.len);
	*len = e.len;
	return reply[4];
}

/* Twalk of one name from fid 0 to `newfid`; returns the reply's type. */
static uint8_t walk1(struct fx *f, uint16_t tag, uint32_t newfid, const char *name, uint8_t *r)
{
	struct p9_wire_buf *b = msg(P9_TWALK, tag);
	uint32_t len;

	p9_wire_put_u32(b, 0);
	p9_wire_put_u32(b, newfid);
	p9_wire_put_u16(b, 1);
	p9_wire_put_cstr(b, name);
	return rpc(f, b, r, &len);
}

static void session(struct fx *f)
{
	static uint8_t r[MSIZE];
	struct p9_wire_buf *b = msg(P9_TVERSION, P9_NOTAG);
	uint32_t len;

	p9_wire_put_u32(b, 1u << 20);
	p9_wire_put_cstr(b, P9_VERSION_L);
	assert_int_equal(rpc(f, b, r, &len), P9_TVERSION + 1);
	assert_int_equal(r[7] | r[8] << 8 | r[9] << 16 | (uint32_t)r[10] << 24, MSIZE);
	b = msg(P9_TATTACH, 1);
	p9_wire_put_u32(b, 0);
	p9_wire_put_u32(b, P9_NOFID);
	p9_wire_put_cstr(b, "");
	p9_wire_put_cstr(b, "");
	p9_wire_put_u32(b, 0);
	assert_int_equal(rpc(f, b, r, &len), P9_TATTACH + 1);
}

/* ---- tests ---- */

static void test_config_tag(void **state)
{
	struct fx *f = *state;
	struct virtio_device *vdev = &f->dev->vdev;
	uint8_t cfg[16];

	assert_true(vdev->host_features & (1ull << VIRTIO_9P_MOUNT_TAG));
	assert_int_equal(vdev->device_id, 9);
	assert_int_equal(vdev->config_size, 2 + 9);
	vdev->ops->config_read(vdev, 0, cfg, 2);
	assert_int_equal(cfg[0] | cfg[1] << 8, 9);
	vdev->ops->config_read(vdev, 2, cfg, 8);
	vdev->ops->config_read(vdev, 10, cfg + 8, 1);
	assert_memory_equal(cfg, "hostshare", 9);
}

static void test_session_and_walk(void **state)
{
	struct fx *f = *state;
	static uint8_t r[MSIZE];

	session(f);
	mkdir(strcat(strcpy((char *)r, f->dir), "/sub"), 0755);
	assert_int_equal(walk1(f, 2, 1, "sub", r), P9_TWALK + 1);
	assert_int_equal(r[7] | r[8] << 8, 1);
	assert_int_equal(r[9], P9_QTDIR);
	assert_int_equal(walk1(f, 3, 2, "missing", r), P9_RLERROR);
	assert_int_equal(r[7], ENOENT);
	assert_true(f->tt.queue_irqs[0] > 0);
}

/* A file of BIG bytes written through scattered segments, read back through others. */
static void test_zero_copy_io(void **state)
{
	struct fx *f = *state;
	static uint8_t data[BIG], r[MSIZE];
	const uint32_t chunk = MSIZE - 64;
	struct p9_wire_buf *b;
	uint32_t len;
	char path[128];
	int fd;

	for (uint32_t i = 0; i < BIG; i++)
		data[i] = (uint8_t)(i * 31 + (i >> 9));
	snprintf(path, sizeof(path), "%s/big", f->dir);
	fd = open(path, O_CREAT | O_RDWR, 0644);
	assert_true(fd >= 0);
	close(fd);
	session(f);
	assert_int_equal(walk1(f, 2, 1, "big", r), P9_TWALK + 1);
	b = msg(P9_TLOPEN, 3);
	p9_wire_put_u32(b, 1);
	p9_wire_put_u32(b, 2);
	assert_int_equal(rpc(f, b, r, &len), P9_TLOPEN + 1);
	for (uint32_t off = 0; off < BIG; off += chunk) {
		uint32_t n = MIN(chunk, BIG - off), cut = n / 3;
		uint8_t hdr[P9_WRITE_HDR_SIZE];
		struct p9_wire_buf hb;
		struct vring_used_elem e;
		uint64_t rgpa = room(f, 64);
		struct virtq_driver_seg segs[5];

		p9_wire_buf_init(&hb, hdr, sizeof(hdr));
		p9_wire_begin(&hb, P9_TWRITE, 4);
		p9_wire_put_u32(&hb, 1);
		p9_wire_put_u64(&hb, off);
		p9_wire_put_u32(&hb, n);
		assert_int_equal(p9_wire_finish_data(&hb, n), P9_WRITE_HDR_SIZE + n);
		/* the header split in two, the data in two more pieces */
		segs[0] = (struct virtq_driver_seg){put(f, hdr, 5), 5, false};
		segs[1] = (struct virtq_driver_seg){put(f, hdr + 5, 18), 18, false};
		segs[2] = (struct virtq_driver_seg){put(f, data + off, cut), cut, false};
		segs[3] =
		    (struct virtq_driver_seg){put(f, data + off + cut, n - cut), n - cut, false};
		segs[4] = (struct virtq_driver_seg){rgpa, 64, true};
		assert_true(virtq_driver_add(&f->drv, segs, 5, true) >= 0);
		kick(f);
		assert_int_equal(collect(f, &e, 1), 1);
		memcpy(r, ptr(f, rgpa, e.len), e.len);
		assert_int_equal(r[4], P9_TWRITE + 1);
		assert_int_equal(r[7] | r[8] << 8 | r[9] << 16 | (uint32_t)r[10] << 24, n);
	}
	fd = open(path, O_RDONLY);
	assert_int_equal(pread(fd, r, 4096, BIG - 4096), 4096);
	close(fd);
	assert_memory_equal(r, data + BIG - 4096, 4096);
	/* read back: an 11-byte header segment, then odd-sized pieces (the Linux client's zc
	 * layout) */
	for (uint32_t off = 0; off < BIG; off += chunk) {
		struct vring_used_elem e;
		struct virtq_driver_seg segs[4];
		uint32_t n = MIN(chunk, BIG - off);

		b = msg(P9_TREAD, 5);
		p9_wire_put_u32(b, 1);
		p9_wire_put_u64(b, off);
		p9_wire_put_u32(b, n);
		finish(b);
		segs[0] = (struct virtq_driver_seg){put(f, b->data, (uint32_t)b->len),
						    (uint32_t)b->len, false};
		segs[1] = (struct virtq_driver_seg){room(f, 11), 11, true};
		segs[2] = (struct virtq_driver_seg){room(f, 1000), 1000, true};
		segs[3] = (struct virtq_driver_seg){room(f, n - 1000), n - 1000, true};
		assert_true(virtq_driver_add(&f->drv, segs, 4, false) >= 0);
		kick(f);
		assert_int_equal(collect(f, &e, 1), 1);
		assert_int_equal(e.len, 11 + n);
		assert_int_equal(*(uint8_t *)ptr(f, segs[1].gpa + 4, 1), P9_TREAD + 1);
		assert_memory_equal(ptr(f, segs[2].gpa, 1000), data + off, 1000);
		assert_memory_equal(ptr(f, segs[3].gpa, n - 1000), data + off + 1000, n - 1000);
	}
}

static void test_flush(void **state)
{
	struct fx *f = *state;
	static uint8_t r[MSIZE];
	struct vring_used_elem e[2];
	struct p9_wire_buf *b;
	uint64_t g1, g2;
	uint32_t len;
	int h1, h2;

	session(f);
	/* nothing in flight with tag 77: Rflush at once */
	b = msg(P9_TFLUSH, 9);
	p9_wire_put_u16(b, 77);
	assert_int_equal(rpc(f, b, r, &len), P9_TFLUSH + 1);
	assert_int_equal(len, P9_HDR_SIZE);
	assert_int_equal(r[5] | r[6] << 8, 9);
	/* a request and its flush in one kick: the request's reply comes first */
	b = msg(P9_TGETATTR, 40);
	p9_wire_put_u32(b, 0);
	p9_wire_put_u64(b, P9_GETATTR_BASIC);
	finish(b);
	h1 = queue_msg(f, b, MSIZE, &g1);
	b = msg(P9_TFLUSH, 41);
	p9_wire_put_u16(b, 40);
	finish(b);
	h2 = queue_msg(f, b, 64, &g2);
	kick(f);
	assert_int_equal(collect(f, e, 2), 2);
	assert_int_equal(e[0].id, (uint32_t)h1);
	assert_int_equal(e[1].id, (uint32_t)h2);
	assert_int_equal(*(uint8_t *)ptr(f, g1 + 4, 1), P9_TGETATTR + 1);
	assert_int_equal(*(uint8_t *)ptr(f, g2 + 4, 1), P9_TFLUSH + 1);
	assert_int_equal(e[1].len, P9_HDR_SIZE);
}

static void test_broken_chains(void **state)
{
	struct fx *f = *state;
	struct vring_used_elem e;
	uint8_t junk[12] = {0xff, 0xff, 0xff, 0xff, 0xfe, 0x34, 0x12};
	struct virtq_driver_seg only_out = {put(f, junk, 12), 12, false};
	struct virtq_driver_seg segs[2] = {{put(f, junk, 12), 12, false}, {room(f, 64), 64, true}};

	/* a garbage message with room: Rlerror for its tag, nothing breaks */
	assert_true(virtq_driver_add(&f->drv, segs, 2, false) >= 0);
	kick(f);
	assert_int_equal(collect(f, &e, 1), 1);
	assert_int_equal(e.len, 11);
	assert_int_equal(*(uint8_t *)ptr(f, segs[1].gpa + 4, 1), P9_RLERROR);
	assert_int_equal(((uint8_t *)ptr(f, segs[1].gpa, 7))[5] |
			     ((uint8_t *)ptr(f, segs[1].gpa, 7))[6] << 8,
			 0x1234);
	assert_false(f->dev->vdev.needs_reset);
	/* no room for any reply: the driver broke the protocol */
	assert_true(virtq_driver_add(&f->drv, &only_out, 1, false) >= 0);
	kick(f);
	assert_true(f->dev->vdev.needs_reset);
	assert_true(f->tt.config_irqs > 0);
	expect_none(f);
}

static void test_reset_with_requests_in_flight(void **state)
{
	struct fx *f = *state;
	struct p9_wire_buf *b;
	uint64_t gpa;

	session(f);
	for (int i = 0; i < 100; i++) {
		b = msg(P9_TGETATTR, (uint16_t)(100 + i));
		p9_wire_put_u32(b, 0);
		p9_wire_put_u64(b, P9_GETATTR_BASIC);
		finish(b);
		(void)queue_msg(f, b, 256, &gpa);
	}
	kick(f);
	reset(f); /* waits for the workers; drops what they did not start */
	assert_int_equal(f->dev->busy, 0);
	/* a new driver: new rings, a new session; the old fids are gone */
	assert_int_equal(
	    virtq_driver_init(&f->drv, &f->gm, RING2_GPA, VIRTIO_9P_QUEUE_SIZE, RING2_SPAN), 0);
	negotiate(f);
	session(f); /* attaching fid 0 again works */
	expect_none(f);
}

static void test_many_in_flight(void **state)
{
	struct fx *f = *state;
	static struct vring_used_elem e[VIRTIO_9P_QUEUE_SIZE];
	static uint64_t gpa[VIRTIO_9P_QUEUE_SIZE];
	static int head[VIRTIO_9P_QUEUE_SIZE];
	const unsigned int n = VIRTIO_9P_QUEUE_SIZE - 8;
	struct p9_wire_buf *b;

	session(f);
	for (unsigned int i = 0; i < n; i++) {
		b = msg(P9_TWALK, (uint16_t)i);
		p9_wire_put_u32(b, 0);
		p9_wire_put_u32(b, 1000 + i);
		p9_wire_put_u16(b, 0);
		finish(b);
		head[i] = queue_msg(f, b, 128, &gpa[i]);
	}
	kick(f);
	assert_int_equal(collect(f, e, n), n);
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *r = ptr(f, gpa[i], 16);

		assert_int_equal(r[4], P9_TWALK + 1);
		assert_int_equal(r[5] | r[6] << 8, i);
	}
	(void)head;
	assert_int_equal(f->dev->srv->fids.count, n + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_config_tag, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_session_and_walk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_zero_copy_io, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flush, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_broken_chains, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_with_requests_in_flight, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_in_flight, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
