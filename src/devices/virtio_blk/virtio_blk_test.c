/*
 * Unit tests for the virtio-blk device: a driver built with virtq_driver
 * over real guest memory, a fake transport that records notifications, a
 * temporary disk image, and the real event loop delivering completions.
 * Every I/O test runs twice: io_uring, then the synchronous engine
 * (COVE_DISK_SYNC=1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/virtio_blk/virtio_blk.h"
#include "virtio/virtio_test_transport.h"
#include "virtio/virtq_driver.h"

#define IMG_SIZE (1024 * 1024)
#define CAPACITY (IMG_SIZE / 512)
#define RAM_SIZE (8 * 1024 * 1024)
/* Guest RAM: queue 0's rings and buffer heap, queue 1's rings, rings after a reset. */
#define RING_GPA 0x1000
#define RING0_SPAN 0x400000
#define RING1_GPA 0x500000
#define RING1_SPAN 0x10000
#define RING_AGAIN_GPA 0x600000
#define RING_AGAIN_SPAN 0x100000
#define NO_STATUS 0xee /* what a status byte holds until the device writes it */

struct fixture {
	bool sync;
	char dir[64];
	char img[96];
	struct guest_mem gm;
	struct event_loop loop;
	struct block_config bc;
	struct virtio_blk *blk;
	struct virtio_device *vdev;
	struct virtq_driver drv[2];
	struct virtio_test_transport tt;
};


/* ---- fixture ---- */

static void make_image(struct fixture *f)
{
	uint8_t *buf = malloc(IMG_SIZE);
	int fd;

	assert_non_null(buf);
	for (size_t i = 0; i < IMG_SIZE; i++)
		buf[i] = (uint8_t)(i * 13 + (i >> 9));
	strcpy(f->dir, "/tmp/cove-blk-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->img, sizeof(f->img), "%s/disk.img", f->dir);
	fd = open(f->img, O_RDWR | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, IMG_SIZE), IMG_SIZE);
	close(fd);
	free(buf);
}

static int setup(void **state, bool sync)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->sync = sync;
	if (sync)
		setenv("COVE_DISK_SYNC", "1", 1);
	else
		unsetenv("COVE_DISK_SYNC");
	make_image(f);
	guest_mem_init(&f->gm);
	assert_int_equal(guest_mem_add(&f->gm, 0, RAM_SIZE), 0);
	assert_int_equal(event_loop_init(&f->loop), 0);
	vm_config_block_defaults(&f->bc);
	f->bc.path = f->img;
	/* The driver's rings and heap exist before the device: tests allocate early. */
	assert_int_equal(
	    virtq_driver_init(&f->drv[0], &f->gm, RING_GPA, VIRTIO_BLK_QUEUE_SIZE, RING0_SPAN), 0);
	assert_int_equal(
	    virtq_driver_init(&f->drv[1], &f->gm, RING1_GPA, VIRTIO_BLK_QUEUE_SIZE, RING1_SPAN), 0);
	*state = f;
	return 0;
}

static int setup_uring(void **state)
{
	return setup(state, false);
}

static int setup_sync(void **state)
{
	return setup(state, true);
}

/* Resets the device as the driver does (status 0). */
static void reset(struct fixture *f)
{
	virtio_test_reset(f->vdev);
}

static void destroy_device(struct fixture *f)
{
	if (!f->vdev)
		return;
	reset(f);
	f->vdev->ops->destroy(f->vdev);
	f->vdev = NULL;
	f->blk = NULL;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	destroy_device(f);
	event_loop_destroy(&f->loop);
	guest_mem_destroy(&f->gm);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	unsetenv("COVE_DISK_SYNC");
	free(f);
	return 0;
}

/*
 * The driver's side of initialisation: features (all offered), queues
 * 0..nq-1 enabled, DRIVER_OK. Assertions come after unlocking: a failed one
 * must not leave the device lock held for the teardown.
 */
static void negotiate(struct fixture *f, unsigned int nq, bool ring_features)
{
	struct virtio_device *vdev = f->vdev;
	bool accepted;
	int enabled = 0;

	pthread_mutex_lock(&vdev->lock);
	vdev->status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	accepted = virtio_dev_accept_features(vdev, vdev->host_features);
	vdev->status |= VIRTIO_CONFIG_S_FEATURES_OK;
	for (unsigned int q = 0; q < nq && q < 2; q++)
		enabled |=
		    virtq_enable(&vdev->queues[q], &f->drv[q].layout, ring_features, ring_features);
	vdev->status |= VIRTIO_CONFIG_S_DRIVER_OK;
	virtio_dev_driver_ok(vdev);
	pthread_mutex_unlock(&vdev->lock);
	assert_true(accepted);
	assert_int_equal(enabled, 0);
	assert_true(virtio_dev_running(vdev));
}

/* New rings for queue 0 (after a reset), then initialisation again. */
static void renegotiate(struct fixture *f, bool ring_features)
{
	assert_int_equal(virtq_driver_init(&f->drv[0], &f->gm, RING_AGAIN_GPA,
					   VIRTIO_BLK_QUEUE_SIZE, RING_AGAIN_SPAN),
			 0);
	negotiate(f, 1, ring_features);
}

/* Creates the device and drives it to DRIVER_OK with every offered feature. */
static void create(struct fixture *f, unsigned int num_queues)
{
	assert_int_equal(virtio_blk_create(&f->bc, 0, num_queues, &f->gm, &f->loop, &f->blk), 0);
	f->vdev = &f->blk->vdev;
	virtio_test_transport_attach(f->vdev, &f->tt);
	assert_int_equal(disk_uses_uring(&f->blk->disk), !f->sync);
	negotiate(f, num_queues, true);
}

/* ---- driving requests ---- */

static void kick(struct fixture *f, unsigned int q)
{
	virtio_test_kick(f->vdev, q);
}

/* Serves the event loop until `n` used entries are there (or a timeout). */
static unsigned int collect(struct fixture *f, unsigned int q, struct vring_used_elem *out,
			    unsigned int n)
{
	return virtio_test_collect(&f->drv[q], &f->loop, out, n, 300);
}

/* Nothing more comes back, even after serving the loop a little. */
static void expect_no_used(struct fixture *f, unsigned int q)
{
	struct vring_used_elem e;

	assert_int_equal(collect(f, q, &e, 1), 0);
}

static uint64_t alloc(struct fixture *f, uint32_t len)
{
	uint64_t gpa = virtq_driver_alloc(&f->drv[0], len);

	assert_true(gpa != 0);
	return gpa;
}

static void *ptr(struct fixture *f, uint64_t gpa, uint64_t len)
{
	void *p = guest_mem_ptr(&f->gm, gpa, len);

	assert_non_null(p);
	return p;
}

static uint64_t header(struct fixture *f, uint32_t type, uint64_t sector)
{
	uint64_t gpa = alloc(f, 16);
	struct virtio_blk_outhdr h = {.type = htole32(type), .sector = htole64(sector)};

	memcpy(ptr(f, gpa, 16), &h, sizeof(h));
	return gpa;
}

static uint64_t status_byte(struct fixture *f)
{
	uint64_t gpa = alloc(f, 1);

	*(uint8_t *)ptr(f, gpa, 1) = NO_STATUS;
	return gpa;
}

/*
 * One request on queue q: header, optional data, status. Returns the used
 * length and stores the status byte.
 */
static uint32_t request(struct fixture *f, unsigned int q, uint32_t type, uint64_t sector,
			uint64_t data, uint32_t len, bool writable, uint8_t *status)
{
	uint64_t st = status_byte(f);
	struct virtq_driver_seg segs[3] = {{header(f, type, sector), 16, false}};
	struct vring_used_elem e;
	unsigned int n = 1;
	int head;

	if (len)
		segs[n++] = (struct virtq_driver_seg){data, len, writable};
	segs[n++] = (struct virtq_driver_seg){st, 1, true};
	head = virtq_driver_add(&f->drv[q], segs, n, false);
	assert_true(head >= 0);
	kick(f, q);
	assert_int_equal(collect(f, q, &e, 1), 1);
	assert_int_equal(e.id, (uint32_t)head);
	*status = *(uint8_t *)ptr(f, st, 1);
	return e.len;
}

static void file_read(struct fixture *f, uint64_t off, void *buf, size_t len)
{
	int fd = open(f->img, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static uint8_t *file_all(struct fixture *f)
{
	uint8_t *buf = malloc(IMG_SIZE);

	assert_non_null(buf);
	file_read(f, 0, buf, IMG_SIZE);
	return buf;
}

/* ---- tests ---- */

static void test_config_and_features(void **state)
{
	struct fixture *f = *state;
	struct virtio_blk_config c;
	uint64_t feat;

	f->bc.block_size = 4096;
	create(f, 2);
	feat = f->vdev->host_features;
	assert_true(feat & (1ULL << VIRTIO_BLK_F_SIZE_MAX));
	assert_true(feat & (1ULL << VIRTIO_BLK_F_SEG_MAX));
	assert_true(feat & (1ULL << VIRTIO_BLK_F_BLK_SIZE));
	assert_true(feat & (1ULL << VIRTIO_BLK_F_FLUSH));
	assert_true(feat & (1ULL << VIRTIO_BLK_F_MQ));
	assert_true(feat & (1ULL << VIRTIO_BLK_F_DISCARD));
	assert_true(feat & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	assert_false(feat & (1ULL << VIRTIO_BLK_F_RO));
	assert_false(feat & (1ULL << VIRTIO_BLK_F_CONFIG_WCE));
	assert_true(feat & (1ULL << VIRTIO_F_VERSION_1));
	assert_int_equal(f->vdev->device_id, 2);
	assert_int_equal(f->vdev->num_queues, 2);
	assert_int_equal(f->vdev->queue_max_size[1], 256);
	assert_string_equal(f->vdev->name, "virtio-blk (vda)");
	assert_int_equal(f->vdev->config_size, sizeof(c));
	for (uint32_t off = 0; off < sizeof(c); off += 4)
		f->vdev->ops->config_read(f->vdev, off, (uint8_t *)&c + off,
					  MIN(4u, (uint32_t)sizeof(c) - off));
	assert_int_equal(le64toh(c.capacity), CAPACITY);
	assert_int_equal(le32toh(c.seg_max), 254);
	assert_int_equal(le32toh(c.size_max), VIRTIO_BLK_SIZE_MAX);
	assert_int_equal(le32toh(c.blk_size), 4096);
	assert_int_equal(le16toh(c.num_queues), 2);
	assert_int_equal(le32toh(c.max_discard_seg), 1);
	assert_int_equal(le32toh(c.discard_sector_alignment), 8);
	assert_int_equal(le32toh(c.max_write_zeroes_seg), 1);
	assert_true(le32toh(c.max_discard_sectors) > 0);
	assert_true(le32toh(c.max_write_zeroes_sectors) > 0);
	assert_int_equal(c.write_zeroes_may_unmap, 1);
	assert_int_equal(c.wce, 1);
	assert_int_equal(c.unused, 0);
	/* An 8-byte read of the capacity at once. */
	f->vdev->ops->config_read(f->vdev, 0, &feat, 8);
	assert_int_equal(le64toh(feat), CAPACITY);
}

static void test_read_only_features(void **state)
{
	struct fixture *f = *state;

	f->bc.ro = true;
	create(f, 1);
	assert_true(f->vdev->host_features & (1ULL << VIRTIO_BLK_F_RO));
	assert_false(f->vdev->host_features & (1ULL << VIRTIO_BLK_F_DISCARD));
	assert_false(f->vdev->host_features & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	destroy_device(f);
	f->bc.ro = false;
	f->bc.sparse = false;
	create(f, 1);
	assert_false(f->vdev->host_features & (1ULL << VIRTIO_BLK_F_RO));
	assert_false(f->vdev->host_features & (1ULL << VIRTIO_BLK_F_DISCARD));
	assert_false(f->vdev->host_features & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
}

static void test_read_write(void **state)
{
	struct fixture *f = *state;
	uint64_t wr = alloc(f, 3 * 512), rd = alloc(f, 3 * 512);
	uint8_t *w = ptr(f, wr, 3 * 512), *r = ptr(f, rd, 3 * 512);
	uint8_t back[3 * 512], status;

	create(f, 1);
	for (int i = 0; i < 3 * 512; i++)
		w[i] = (uint8_t)(i ^ 0x5a);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_OUT, 10, wr, 3 * 512, false, &status), 1);
	assert_int_equal(status, VIRTIO_BLK_S_OK);
	file_read(f, 10 * 512, back, sizeof(back));
	assert_memory_equal(back, w, sizeof(back));

	memset(r, 0, 3 * 512);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_IN, 10, rd, 3 * 512, true, &status),
			 3 * 512 + 1);
	assert_int_equal(status, VIRTIO_BLK_S_OK);
	assert_memory_equal(r, w, 3 * 512);

	/* The image's own content, from the last sector. */
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_IN, CAPACITY - 1, rd, 512, true, &status), 513);
	assert_int_equal(status, VIRTIO_BLK_S_OK);
	file_read(f, IMG_SIZE - 512, back, 512);
	assert_memory_equal(r, back, 512);
	assert_true(f->tt.queue_irqs[0] >= 1);
}

/* A header split over segments, data over several, status after data (ANY_LAYOUT). */
static void test_split_segments_indirect(void **state)
{
	struct fixture *f = *state;
	uint64_t hdr = header(f, VIRTIO_BLK_T_IN, 4), st = status_byte(f);
	uint64_t data = alloc(f, 1024);
	struct virtq_driver_seg segs[] = {{hdr, 3, false},	   {hdr + 3, 13, false},
					  {data, 100, true},	   {data + 100, 412, true},
					  {data + 512, 512, true}, {st, 1, true}};
	struct vring_used_elem e;
	uint8_t back[1024];

	create(f, 1);
	assert_true(virtq_driver_add(&f->drv[0], segs, 6, true) >= 0);
	kick(f, 0);
	assert_int_equal(collect(f, 0, &e, 1), 1);
	assert_int_equal(e.len, 1025);
	assert_int_equal(*(uint8_t *)ptr(f, st, 1), VIRTIO_BLK_S_OK);
	file_read(f, 4 * 512, back, sizeof(back));
	assert_memory_equal(ptr(f, data, 1024), back, sizeof(back));
}

static void test_flush_get_id(void **state)
{
	struct fixture *f = *state;
	uint64_t id = alloc(f, 20);
	uint8_t status;

	strcpy(f->bc.id, "serial-1");
	create(f, 1);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, &status), 1);
	assert_int_equal(status, VIRTIO_BLK_S_OK);
	memset(ptr(f, id, 20), 'x', 20);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_GET_ID, 0, id, 20, true, &status), 21);
	assert_int_equal(status, VIRTIO_BLK_S_OK);
	assert_memory_equal(ptr(f, id, 20), "serial-1\0\0\0\0\0\0\0\0\0\0\0\0", 20);

	/* The default serial: "cove-" and 15 hex digits, no NUL, the same every time. */
	destroy_device(f);
	f->bc.id[0] = '\0';
	create(f, 1);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_GET_ID, 0, id, 20, true, &status), 21);
	assert_memory_equal(ptr(f, id, 20), "cove-", 5);
	for (int i = 5; i < 20; i++)
		assert_non_null(strchr("0123456789abcdef", ((char *)ptr(f, id, 20))[i]));
}

static void test_discard_write_zeroes(void **state)
{
	struct fixture *f = *state;
	uint64_t seg = alloc(f, 16);
	struct virtio_blk_discard_write_zeroes *d = ptr(f, seg, 16);
	uint8_t *before = file_all(f), *after;
	uint8_t status;

	create(f, 1);
	*d = (struct virtio_blk_discard_write_zeroes){.sector = htole64(16),
						      .num_sectors = htole32(8)};
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_DISCARD, 0, seg, 16, false, &status), 1);
	assert_int_equal(status, VIRTIO_BLK_S_OK);
	*d = (struct virtio_blk_discard_write_zeroes){.sector = htole64(100),
						      .num_sectors = htole32(3)};
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, false, &status), 1);
	assert_int_equal(status, VIRTIO_BLK_S_OK);
	*d = (struct virtio_blk_discard_write_zeroes){
	    .sector = htole64(200),
	    .num_sectors = htole32(1),
	    .flags = htole32(VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)};
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, false, &status), 1);
	assert_int_equal(status, VIRTIO_BLK_S_OK);
	/* Unmap on a discard is refused (spec: UNSUPP). */
	*d = (struct virtio_blk_discard_write_zeroes){
	    .sector = htole64(300), .num_sectors = htole32(1), .flags = htole32(1)};
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_DISCARD, 0, seg, 16, false, &status), 1);
	assert_int_equal(status, VIRTIO_BLK_S_UNSUPP);

	after = file_all(f);
	for (size_t i = 0; i < IMG_SIZE; i++) {
		size_t s = i / 512;
		bool zero = (s >= 16 && s < 24) || (s >= 100 && s < 103) || s == 200;

		if (zero ? after[i] != 0 : after[i] != before[i])
			fail_msg("byte %zu (sector %zu) is %#x", i, s, after[i]);
	}
	free(before);
	free(after);
}

/* Requests that must fail, none of them changing the disk. */
static void test_rejected_requests(void **state)
{
	struct fixture *f = *state;
	uint64_t buf = alloc(f, 1024);
	uint8_t *before = file_all(f), *after;
	uint8_t status;

	create(f, 1);
	memset(ptr(f, buf, 1024), 0x77, 1024);
	/* Past the end, straddling it, overflowing. */
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_OUT, CAPACITY, buf, 512, false, &status), 1);
	assert_int_equal(status, VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_OUT, CAPACITY - 1, buf, 1024, false, &status),
			 1);
	assert_int_equal(status, VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_OUT, UINT64_MAX, buf, 512, false, &status), 1);
	assert_int_equal(status, VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_IN, 1ULL << 60, buf, 512, true, &status), 1);
	assert_int_equal(status, VIRTIO_BLK_S_IOERR);
	/* Not whole sectors; data in the wrong direction. */
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_OUT, 0, buf, 100, false, &status), 1);
	assert_int_equal(status, VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_OUT, 0, buf, 512, true, &status), 1);
	assert_int_equal(status, VIRTIO_BLK_S_IOERR);
	/* Unknown types. */
	assert_int_equal(request(f, 0, 10, 0, buf, 512, true, &status), 1);
	assert_int_equal(status, VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(request(f, 0, 0x1234, 0, buf, 512, false, &status), 1);
	assert_int_equal(status, VIRTIO_BLK_S_UNSUPP);
	assert_true(virtio_dev_running(f->vdev));
	after = file_all(f);
	assert_memory_equal(before, after, IMG_SIZE);
	free(before);
	free(after);
}

static void test_read_only_disk(void **state)
{
	struct fixture *f = *state;
	uint64_t buf = alloc(f, 512), seg = alloc(f, 16);
	uint8_t *before = file_all(f), *after;
	uint8_t status;

	f->bc.ro = true;
	create(f, 1);
	memset(ptr(f, buf, 512), 0x11, 512);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_OUT, 0, buf, 512, false, &status), 1);
	assert_int_equal(status, VIRTIO_BLK_S_IOERR);
	*(struct virtio_blk_discard_write_zeroes *)ptr(f, seg, 16) =
	    (struct virtio_blk_discard_write_zeroes){.sector = 0, .num_sectors = htole32(1)};
	/* Not offered, so not negotiated: UNSUPP. */
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_DISCARD, 0, seg, 16, false, &status), 1);
	assert_int_equal(status, VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, false, &status), 1);
	assert_int_equal(status, VIRTIO_BLK_S_UNSUPP);
	/* Reads and flushes work. */
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_IN, 0, buf, 512, true, &status), 513);
	assert_int_equal(status, VIRTIO_BLK_S_OK);
	assert_memory_equal(ptr(f, buf, 512), before, 512);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, &status), 1);
	assert_int_equal(status, VIRTIO_BLK_S_OK);
	after = file_all(f);
	assert_memory_equal(before, after, IMG_SIZE);
	free(before);
	free(after);
}

/* A writable header: IOERR in the status byte, which is the chain's last byte. */
static void test_writable_header(void **state)
{
	struct fixture *f = *state;
	uint64_t hdr = header(f, VIRTIO_BLK_T_OUT, 0), st = status_byte(f);
	uint64_t data = alloc(f, 512);
	struct virtq_driver_seg segs[] = {{hdr, 16, true}, {data, 512, true}, {st, 1, true}};
	struct vring_used_elem e;
	uint8_t *before = file_all(f), *after;

	create(f, 1);
	assert_true(virtq_driver_add(&f->drv[0], segs, 3, false) >= 0);
	kick(f, 0);
	assert_int_equal(collect(f, 0, &e, 1), 1);
	assert_int_equal(e.len, 1);
	assert_int_equal(*(uint8_t *)ptr(f, st, 1), VIRTIO_BLK_S_IOERR);
	assert_true(virtio_dev_running(f->vdev));
	after = file_all(f);
	assert_memory_equal(before, after, IMG_SIZE);
	free(before);
	free(after);
}

/* Chains the device cannot answer: it needs a reset, tells the driver, keeps running. */
static void expect_needs_reset(struct fixture *f, const struct virtq_driver_seg *segs,
			       unsigned int n)
{
	uint8_t *before = file_all(f), *after;
	uint8_t status;

	assert_true(virtq_driver_add(&f->drv[0], segs, n, false) >= 0);
	kick(f, 0);
	expect_no_used(f, 0);
	assert_true(f->vdev->needs_reset);
	assert_false(virtio_dev_running(f->vdev));
	assert_int_equal(f->tt.config_irqs, 1);
	after = file_all(f);
	assert_memory_equal(before, after, IMG_SIZE);
	free(before);
	free(after);

	/* After a reset and a new negotiation the device works again. */
	reset(f);
	assert_false(f->vdev->needs_reset);
	renegotiate(f, true);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, &status), 1);
	assert_int_equal(status, VIRTIO_BLK_S_OK);
}

static void test_no_status_byte(void **state)
{
	struct fixture *f = *state;
	uint64_t data = alloc(f, 512);
	struct virtq_driver_seg segs[] = {{header(f, VIRTIO_BLK_T_OUT, 0), 16, false},
					  {data, 512, false}};

	create(f, 1);
	memset(ptr(f, data, 512), 0x99, 512);
	expect_needs_reset(f, segs, 2);
}

static void test_zero_length_chain(void **state)
{
	struct fixture *f = *state;
	struct virtq_driver_seg segs[] = {{alloc(f, 16), 0, false}};

	create(f, 1);
	expect_needs_reset(f, segs, 1);
}

static void test_status_outside_memory(void **state)
{
	struct fixture *f = *state;
	uint64_t data = alloc(f, 512);
	struct virtq_driver_seg segs[] = {
	    {header(f, VIRTIO_BLK_T_OUT, 0), 16, false}, {data, 512, false}, {RAM_SIZE, 1, true}};

	create(f, 1);
	memset(ptr(f, data, 512), 0x99, 512);
	expect_needs_reset(f, segs, 3);
}

/*
 * A good write in flight when a later chain breaks the device: its
 * completion finds the device stopped and touches neither ring nor status.
 */
static void test_in_flight_when_broken(void **state)
{
	struct fixture *f = *state;
	uint64_t data = alloc(f, 4096), st = status_byte(f);
	struct virtq_driver_seg good[] = {
	    {header(f, VIRTIO_BLK_T_OUT, 0), 16, false}, {data, 4096, false}, {st, 1, true}};
	struct virtq_driver_seg bad[] = {{header(f, VIRTIO_BLK_T_OUT, 8), 16, false}};

	create(f, 1);
	assert_true(virtq_driver_add(&f->drv[0], good, 3, false) >= 0);
	assert_true(virtq_driver_add(&f->drv[0], bad, 1, false) >= 0);
	kick(f, 0);
	assert_true(f->vdev->needs_reset);
	expect_no_used(f, 0);
	assert_int_equal(*(uint8_t *)ptr(f, st, 1), NO_STATUS);
	assert_int_equal(f->blk->queues[0].in_flight, 0);
	assert_int_equal(f->tt.queue_irqs[0], 0);
}

/* Many requests in flight at once on two queues, completions in any order. */
static void test_many_in_flight_multiqueue(void **state)
{
	struct fixture *f = *state;
	enum { N = 48 };
	uint64_t st[2][N], data[2][N];
	int heads[2][N];
	struct vring_used_elem e[N];
	uint8_t back[4096];

	create(f, 2);
	for (unsigned int q = 0; q < 2; q++) {
		for (unsigned int i = 0; i < N; i++) {
			uint64_t sector = (q * N + i) * 8ULL;
			struct virtq_driver_seg segs[3];

			data[q][i] = virtq_driver_alloc(&f->drv[0], 4096);
			st[q][i] = virtq_driver_alloc(&f->drv[0], 1);
			assert_true(data[q][i] && st[q][i]);
			memset(ptr(f, data[q][i], 4096), (int)(q * N + i + 1), 4096);
			segs[0] = (struct virtq_driver_seg){header(f, VIRTIO_BLK_T_OUT, sector), 16,
							    false};
			segs[1] = (struct virtq_driver_seg){data[q][i], 4096, false};
			segs[2] = (struct virtq_driver_seg){st[q][i], 1, true};
			heads[q][i] = virtq_driver_add(&f->drv[q], segs, 3, i % 2);
			assert_true(heads[q][i] >= 0);
		}
	}
	kick(f, 0);
	kick(f, 1);
	for (unsigned int q = 0; q < 2; q++) {
		assert_int_equal(collect(f, q, e, N), N);
		assert_true(f->tt.queue_irqs[q] >= 1);
	}
	for (unsigned int q = 0; q < 2; q++) {
		for (unsigned int i = 0; i < N; i++) {
			assert_int_equal(*(uint8_t *)ptr(f, st[q][i], 1), VIRTIO_BLK_S_OK);
			file_read(f, (q * N + i) * 4096ULL, back, sizeof(back));
			assert_memory_equal(back, ptr(f, data[q][i], 4096), 4096);
		}
	}
	assert_int_equal(f->blk->queues[0].in_flight + f->blk->queues[1].in_flight, 0);
}

/* Reset with requests in flight: it returns only when the disk has nothing pending. */
static void test_reset_waits_for_io(void **state)
{
	struct fixture *f = *state;
	enum { N = 64 };
	struct vring_used_elem e;
	unsigned int before, after, slots;
	uint8_t status;

	create(f, 1);
	for (unsigned int i = 0; i < N; i++) {
		uint64_t data = alloc(f, 16384);
		struct virtq_driver_seg segs[] = {
		    {header(f, i % 3 ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, i * 32ULL), 16, false},
		    {data, 16384, i % 3 == 0},
		    {status_byte(f), 1, true}};

		assert_true(virtq_driver_add(&f->drv[0], segs, 3, false) >= 0);
	}
	/* (Checked after unlocking: a failed assertion must not leave the lock held.) */
	pthread_mutex_lock(&f->vdev->lock);
	f->vdev->ops->queue_notify(f->vdev, 0);
	before = f->blk->disk.inflight;
	virtio_dev_reset(f->vdev);
	after = f->blk->disk.inflight;
	slots = f->blk->queues[0].in_flight;
	pthread_mutex_unlock(&f->vdev->lock);
	assert_int_equal(before, N);
	assert_int_equal(after, 0);
	assert_int_equal(slots, 0);
	/* Nothing more is pushed after the reset, even when the loop runs. */
	assert_int_equal(collect(f, 0, &e, 1), 0);

	/* And the device starts again from scratch (this time without ring features). */
	renegotiate(f, false);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, &status), 1);
	assert_int_equal(status, VIRTIO_BLK_S_OK);
}

/* Creation errors are reported, not fatal. */
static void test_create_errors(void **state)
{
	struct fixture *f = *state;
	struct virtio_blk *blk = NULL;
	char missing[128];

	snprintf(missing, sizeof(missing), "%s/none.img", f->dir);
	f->bc.path = missing;
	assert_int_equal(virtio_blk_create(&f->bc, 0, 1, &f->gm, &f->loop, &blk), -ENOENT);
	assert_null(blk);
	f->bc.path = f->img;
	assert_int_equal(virtio_blk_create(&f->bc, 3, 1, &f->gm, &f->loop, &blk), 0);
	assert_string_equal(blk->vdev.name, "virtio-blk (vdd)");
	/* The image is locked by the first device. */
	assert_int_equal(virtio_blk_create(&f->bc, 4, 1, &f->gm, &f->loop, &f->blk), -EBUSY);
	blk->vdev.ops->destroy(&blk->vdev);
	f->blk = NULL;
}

int main(void)
{
#define BOTH(t)                                                                                    \
	cmocka_unit_test_setup_teardown(t, setup_uring, teardown),                                 \
	    cmocka_unit_test_setup_teardown(t, setup_sync, teardown)
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_config_and_features, setup_uring, teardown),
	    cmocka_unit_test_setup_teardown(test_read_only_features, setup_uring, teardown),
	    cmocka_unit_test_setup_teardown(test_create_errors, setup_uring, teardown),
	    BOTH(test_read_write),
	    BOTH(test_split_segments_indirect),
	    BOTH(test_flush_get_id),
	    BOTH(test_discard_write_zeroes),
	    BOTH(test_rejected_requests),
	    BOTH(test_read_only_disk),
	    BOTH(test_writable_header),
	    BOTH(test_no_status_byte),
	    BOTH(test_zero_length_chain),
	    BOTH(test_status_outside_memory),
	    BOTH(test_in_flight_when_broken),
	    BOTH(test_many_in_flight_multiqueue),
	    BOTH(test_reset_waits_for_io),
	};
#undef BOTH

	return cmocka_run_group_tests(tests, NULL, NULL);
}
