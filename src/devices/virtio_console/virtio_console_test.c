/*
 * Unit tests for virtio-console: the control handshake as Linux performs
 * it, output to pipes and files (including a full pipe), input with
 * back-pressure, and a hostile driver. The guest's side is played by
 * virtq_driver over real guest memory; the transport is a fake that counts
 * interrupts.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_console.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/virtio_console/virtio_console.h"
#include "devices/virtio_console/virtio_console_ctrl.h"
#include "virtio/virtio_test_transport.h"
#include "virtio/virtq_driver.h"
#include "vm/vm.h"

#define NR_PORTS 2
#define NQ (2 * (NR_PORTS + 1))
#define QSIZE 64
#define RING_SPAN 0x20000ULL
#define CTRL_RXQ VIRTIO_CONSOLE_CTRL_RXQ
#define CTRL_TXQ VIRTIO_CONSOLE_CTRL_TXQ

struct fx {
	struct guest_mem gm;
	struct event_loop loop;
	bool has_loop;
	struct virtio_console *con;
	struct virtq_driver drv[NQ];
	uint64_t buf[NQ][QSIZE]; /* guest address of each head's first buffer */
	int out[NR_PORTS][2];	 /* output pipes: [0] read end (test), [1] device */
	struct virtio_test_transport tt;
	unsigned int wakes;
};

/* ---- fake transport ---- */


static void count_wake(void *arg)
{
	struct fx *f = arg;

	f->wakes++;
}

/* ---- the guest's side ---- */

static void enable_queues(struct fx *f)
{
	for (unsigned int q = 0; q < f->con->vdev.num_queues; q++) {
		struct virtq *vq = &f->con->vdev.queues[q];
		uint64_t ring = 0x10000 + q * RING_SPAN;

		assert_int_equal(virtq_driver_init(&f->drv[q], &f->gm, ring, QSIZE, RING_SPAN), 0);
		assert_int_equal(virtq_enable(vq, &f->drv[q].layout, true, true), 0);
	}
}

/* The driver's init sequence (virtio 1.x 3.1.1) up to DRIVER_OK. */
static void start(struct fx *f, bool multiport)
{
	struct virtio_device *vdev = &f->con->vdev;
	uint64_t features = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX) |
			    (multiport ? 1ULL << VIRTIO_CONSOLE_F_MULTIPORT : 0);

	pthread_mutex_lock(&vdev->lock);
	assert_true(virtio_dev_accept_features(vdev, features));
	enable_queues(f);
	vdev->status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		       VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;
	virtio_dev_driver_ok(vdev);
	pthread_mutex_unlock(&vdev->lock);
}

static void kick(struct fx *f, unsigned int q)
{
	struct virtio_device *vdev = &f->con->vdev;

	pthread_mutex_lock(&vdev->lock);
	vdev->ops->queue_notify(vdev, q);
	pthread_mutex_unlock(&vdev->lock);
}

/* Adds a one-segment chain; returns its head. */
static int add_buf(struct fx *f, unsigned int q, const void *data, uint32_t len, bool writable)
{
	uint64_t gpa = virtq_driver_alloc(&f->drv[q], len ? len : 1);
	struct virtq_driver_seg seg = { gpa, len, writable };
	int head;

	assert_true(gpa != 0);
	if (data)
		assert_int_equal(guest_mem_write(&f->gm, gpa, data, len), 0);
	head = virtq_driver_add(&f->drv[q], &seg, 1, false);
	assert_true(head >= 0);
	f->buf[q][head] = gpa;
	return head;
}

static bool get_used(struct fx *f, unsigned int q, struct vring_used_elem *e)
{
	int r = virtq_driver_get_used(&f->drv[q], e);

	assert_true(r >= 0);
	return r == 1;
}

static void post_ctrl_rx(struct fx *f, unsigned int n, uint32_t len)
{
	for (unsigned int i = 0; i < n; i++)
		add_buf(f, CTRL_RXQ, NULL, len, true);
	kick(f, CTRL_RXQ);
}

static void put_ctrl(uint8_t *m, uint32_t id, uint16_t event, uint16_t value)
{
	uint8_t raw[8] = { id & 0xff, (id >> 8) & 0xff, (id >> 16) & 0xff, id >> 24,
			   event & 0xff, event >> 8, value & 0xff, value >> 8 };

	memcpy(m, raw, sizeof(raw));
}

/* The driver sends `len` bytes of a control message; the device must consume it. */
static void send_ctrl_len(struct fx *f, uint32_t id, uint16_t event, uint16_t value, uint32_t len)
{
	uint8_t m[8];
	struct vring_used_elem e;
	int head;

	put_ctrl(m, id, event, value);
	head = add_buf(f, CTRL_TXQ, m, len, false);
	kick(f, CTRL_TXQ);
	assert_true(get_used(f, CTRL_TXQ, &e));
	assert_int_equal(e.id, head);
	assert_int_equal(e.len, 0);
}

static void send_ctrl(struct fx *f, uint32_t id, uint16_t event, uint16_t value)
{
	send_ctrl_len(f, id, event, value, 8);
}

/* The next control message from the device must be exactly this. */
static void expect_ctrl(struct fx *f, uint32_t id, uint16_t event, uint16_t value,
			const char *payload)
{
	size_t plen = payload ? strlen(payload) : 0;
	uint8_t want[8 + 64], got[8 + 64];
	struct vring_used_elem e;

	assert_true(get_used(f, CTRL_RXQ, &e));
	assert_int_equal(e.len, 8 + plen);
	put_ctrl(want, id, event, value);
	memcpy(want + 8, payload ? payload : "", plen);
	assert_int_equal(guest_mem_read(&f->gm, f->buf[CTRL_RXQ][e.id], got, e.len), 0);
	assert_memory_equal(got, want, e.len);
}

static void expect_no_ctrl(struct fx *f)
{
	struct vring_used_elem e;

	assert_false(get_used(f, CTRL_RXQ, &e));
}

/* What Linux's virtcons_probe and add_port do, ending with the guest's PORT_OPENs. */
static void handshake(struct fx *f)
{
	post_ctrl_rx(f, 16, 4096);
	send_ctrl(f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	for (uint32_t id = 0; id < NR_PORTS; id++)
		expect_ctrl(f, id, VIRTIO_CONSOLE_PORT_ADD, 0, NULL);
	expect_no_ctrl(f);
	for (uint32_t id = 0; id < NR_PORTS; id++) {
		add_buf(f, virtio_console_rxq(id), NULL, 4096, true); /* fill_queue */
		kick(f, virtio_console_rxq(id));
		send_ctrl(f, id, VIRTIO_CONSOLE_PORT_READY, 1);
		expect_ctrl(f, id, VIRTIO_CONSOLE_CONSOLE_PORT, 1, NULL);
		expect_ctrl(f, id, VIRTIO_CONSOLE_PORT_OPEN, 1, NULL);
		expect_no_ctrl(f);
		send_ctrl(f, id, VIRTIO_CONSOLE_PORT_OPEN, 1); /* init_port_console */
	}
}

static void read_output(struct fx *f, unsigned int port, const char *want)
{
	char got[256] = { 0 };
	ssize_t n = read(f->out[port][0], got, sizeof(got) - 1);

	if (!*want) {
		assert_int_equal(n, -1);
		assert_int_equal(errno, EAGAIN);
		return;
	}
	assert_int_equal(n, strlen(want));
	assert_string_equal(got, want);
}

/* ---- fixtures ---- */

static struct fx *fx_new(bool with_loop, const char *port1_name)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct virtio_console_port_spec specs[NR_PORTS];

	assert_non_null(f);
	guest_mem_init(&f->gm);
	assert_int_equal(guest_mem_add(&f->gm, 0, 4 * 1024 * 1024), 0);
	if (with_loop)
		assert_int_equal(event_loop_init(&f->loop), 0);
	f->has_loop = with_loop;
	for (unsigned int i = 0; i < NR_PORTS; i++) {
		assert_int_equal(pipe2(f->out[i], O_NONBLOCK | O_CLOEXEC), 0);
		specs[i] = (struct virtio_console_port_spec){ .is_console = true,
							      .host_connected = true };
		chardev_init_fd(&specs[i].out, f->out[i][1], true, "test pipe");
	}
	if (port1_name) {
		specs[1].name = port1_name;
		specs[1].is_console = false;
	}
	assert_int_equal(virtio_console_new(specs, NR_PORTS, &f->gm,
					    with_loop ? &f->loop : NULL, &f->con),
			 0);
	virtio_test_transport_attach(&f->con->vdev, &f->tt);
	return f;
}

static void fx_free(struct fx *f)
{
	virtio_console_destroy(f->con);
	for (unsigned int i = 0; i < NR_PORTS; i++)
		close(f->out[i][0]); /* [1] belonged to the device */
	if (f->has_loop)
		event_loop_destroy(&f->loop);
	guest_mem_destroy(&f->gm);
	free(f);
}

/* ---- tests ---- */

static void test_config_and_queues(void **state)
{
	struct fx *f = fx_new(false, NULL);
	struct virtio_device *vdev = &f->con->vdev;
	struct virtio_console_config cfg;

	(void)state;
	assert_int_equal(vdev->device_id, VIRTIO_ID_CONSOLE);
	assert_true(vdev->host_features & (1ULL << VIRTIO_CONSOLE_F_MULTIPORT));
	assert_false(vdev->host_features & (1ULL << VIRTIO_CONSOLE_F_EMERG_WRITE));
	assert_int_equal(vdev->num_queues, NQ);
	assert_int_equal(vdev->queue_max_size[0], VIRTIO_CONSOLE_QUEUE_SIZE);
	assert_int_equal(vdev->queue_max_size[CTRL_RXQ], VIRTIO_CONSOLE_CTRL_QUEUE_SIZE);
	assert_int_equal(vdev->queue_max_size[NQ - 1], VIRTIO_CONSOLE_QUEUE_SIZE);
	assert_int_equal(vdev->config_size, sizeof(cfg));
	vdev->ops->config_read(vdev, 0, &cfg, sizeof(cfg));
	assert_int_equal(le32toh(cfg.max_nr_ports), NR_PORTS);
	assert_int_equal(cfg.cols, 0);
	assert_int_equal(cfg.rows, 0);
	assert_int_equal(virtio_console_rxq(0), 0);
	assert_int_equal(virtio_console_txq(0), 1);
	assert_int_equal(virtio_console_rxq(1), 4);
	assert_int_equal(virtio_console_txq(1), 5);
	fx_free(f);
}

static void test_handshake_like_linux(void **state)
{
	struct fx *f = fx_new(false, NULL);

	(void)state;
	start(f, true);
	handshake(f);
	for (unsigned int i = 0; i < NR_PORTS; i++) {
		assert_true(f->con->ports[i].ready);
		assert_true(f->con->ports[i].guest_open);
	}
	assert_true(f->tt.queue_irqs[CTRL_RXQ] > 0);
	assert_int_equal(f->tt.config_irqs, 0);
	assert_false(f->con->vdev.needs_reset);
	fx_free(f);
}

static void test_handshake_waits_for_control_buffers(void **state)
{
	struct fx *f = fx_new(false, NULL);

	(void)state;
	start(f, true);
	send_ctrl(f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	expect_no_ctrl(f);
	post_ctrl_rx(f, 1, 64);
	expect_ctrl(f, 0, VIRTIO_CONSOLE_PORT_ADD, 0, NULL);
	expect_no_ctrl(f);
	/* A buffer too small for a message is returned empty and skipped. */
	add_buf(f, CTRL_RXQ, NULL, 4, true);
	post_ctrl_rx(f, 1, 64);
	{
		struct vring_used_elem e;

		assert_true(get_used(f, CTRL_RXQ, &e));
		assert_int_equal(e.len, 0);
	}
	expect_ctrl(f, 1, VIRTIO_CONSOLE_PORT_ADD, 0, NULL);
	expect_no_ctrl(f);
	fx_free(f);
}

static void test_named_port(void **state)
{
	struct fx *f = fx_new(false, "org.test.port");

	(void)state;
	start(f, true);
	post_ctrl_rx(f, 8, 4096);
	send_ctrl(f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	expect_ctrl(f, 0, VIRTIO_CONSOLE_PORT_ADD, 0, NULL);
	expect_ctrl(f, 1, VIRTIO_CONSOLE_PORT_ADD, 0, NULL);
	send_ctrl(f, 1, VIRTIO_CONSOLE_PORT_READY, 1);
	expect_ctrl(f, 1, VIRTIO_CONSOLE_PORT_NAME, 0, "org.test.port");
	expect_ctrl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 1, NULL);
	expect_no_ctrl(f); /* not a console: no CONSOLE_PORT */
	/* The host side goes away and comes back (sockets, later). */
	virtio_console_set_host_connected(f->con, 1, false);
	expect_ctrl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 0, NULL);
	virtio_console_set_host_connected(f->con, 1, true);
	expect_ctrl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 1, NULL);
	/* Port 0 not ready yet: a host change is only remembered. */
	virtio_console_set_host_connected(f->con, 0, false);
	expect_no_ctrl(f);
	send_ctrl(f, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	expect_ctrl(f, 0, VIRTIO_CONSOLE_CONSOLE_PORT, 1, NULL);
	expect_no_ctrl(f); /* host side closed: no PORT_OPEN */
	fx_free(f);
}

static void test_tx_to_pipes_in_order(void **state)
{
	struct fx *f = fx_new(false, NULL);
	struct vring_used_elem e;
	struct virtq_driver_seg segs[2];
	int head;

	(void)state;
	start(f, true);
	handshake(f);
	/* One chain of two segments: written whole, in order. */
	segs[0] = (struct virtq_driver_seg){ virtq_driver_alloc(&f->drv[1], 16), 6, false };
	segs[1] = (struct virtq_driver_seg){ virtq_driver_alloc(&f->drv[1], 16), 5, false };
	assert_int_equal(guest_mem_write(&f->gm, segs[0].gpa, "hello ", 6), 0);
	assert_int_equal(guest_mem_write(&f->gm, segs[1].gpa, "world", 5), 0);
	head = virtq_driver_add(&f->drv[1], segs, 2, false);
	add_buf(f, 1, "!", 1, false);
	add_buf(f, virtio_console_txq(1), "port1", 5, false);
	kick(f, 1);
	kick(f, virtio_console_txq(1));
	assert_true(get_used(f, 1, &e));
	assert_int_equal(e.id, head);
	assert_int_equal(e.len, 0);
	assert_true(get_used(f, 1, &e));
	assert_false(get_used(f, 1, &e));
	assert_true(get_used(f, virtio_console_txq(1), &e));
	read_output(f, 0, "hello world!");
	read_output(f, 1, "port1");
	assert_true(f->tt.queue_irqs[1] > 0);
	fx_free(f);
}

static void test_tx_to_file(void **state)
{
	char path[] = "/tmp/cove-console-XXXXXX";
	int fd = mkstemp(path);
	struct virtio_console_port_spec spec = { .is_console = true, .host_connected = true };
	struct fx *f = calloc(1, sizeof(*f));
	struct vring_used_elem e;
	char got[32] = { 0 };

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	guest_mem_init(&f->gm);
	assert_int_equal(guest_mem_add(&f->gm, 0, 4 * 1024 * 1024), 0);
	assert_int_equal(chardev_open_file(&spec.out, path), 0);
	assert_int_equal(virtio_console_new(&spec, 1, &f->gm, NULL, &f->con), 0);
	virtio_test_transport_attach(&f->con->vdev, &f->tt);
	start(f, true);
	post_ctrl_rx(f, 4, 64);
	send_ctrl(f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	send_ctrl(f, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	add_buf(f, 1, "to a file\n", 10, false);
	kick(f, 1);
	assert_true(get_used(f, 1, &e));
	fd = open(path, O_RDONLY);
	assert_int_equal(read(fd, got, sizeof(got)), 10);
	assert_string_equal(got, "to a file\n");
	close(fd);
	unlink(path);
	virtio_console_destroy(f->con);
	guest_mem_destroy(&f->gm);
	free(f);
}

static struct event_handler *out_handler(struct fx *f, unsigned int port)
{
	int fd = chardev_fd(&f->con->ports[port].out);

	for (unsigned int i = 0; i < EVENT_LOOP_MAX_HANDLERS; i++)
		if (f->loop.handlers[i].in_use && f->loop.handlers[i].fd == fd)
			return &f->loop.handlers[i];
	return NULL;
}

static void test_tx_waits_for_full_output(void **state)
{
	struct fx *f = fx_new(true, NULL);
	struct event_handler *h;
	struct vring_used_elem e;
	char chunk[4096], drain[65536];

	(void)state;
	memset(chunk, 'x', sizeof(chunk));
	assert_true(fcntl(f->out[0][1], F_SETPIPE_SZ, 4096) >= 4096);
	while (write(f->out[0][1], chunk, sizeof(chunk)) > 0)
		;
	start(f, true);
	handshake(f);
	assert_null(out_handler(f, 0)); /* not watched while output flows */
	add_buf(f, 1, "abc", 3, false);
	add_buf(f, 1, "def", 3, false);
	kick(f, 1);
	assert_false(get_used(f, 1, &e)); /* held, not dropped */
	kick(f, 1);			  /* a kick while full changes nothing */
	assert_false(get_used(f, 1, &e));
	while (read(f->out[0][0], drain, sizeof(drain)) > 0)
		;
	h = out_handler(f, 0);
	assert_non_null(h);
	h->fn(h->opaque, EPOLLOUT); /* what the event loop does once it is writable */
	assert_null(out_handler(f, 0)); /* watched only while stalled */
	assert_true(get_used(f, 1, &e));
	assert_true(get_used(f, 1, &e));
	read_output(f, 0, "abcdef");
	fx_free(f);
}

static void test_rx_back_pressure(void **state)
{
	struct fx *f = fx_new(false, NULL);
	struct virtio_console_port *p0;
	struct vring_used_elem e;
	char got[8] = { 0 };
	int head;

	(void)state;
	start(f, true);
	p0 = &f->con->ports[0];
	virtio_console_set_input(f->con, 0, count_wake, f);
	handshake(f);
	/* handshake posted one 4 KiB buffer; use it up. */
	assert_int_equal(virtio_console_receive(p0, (const uint8_t *)"first", 5), 5);
	assert_true(get_used(f, 0, &e));
	assert_int_equal(e.len, 5);
	/* No buffer: nothing taken. */
	assert_int_equal(virtio_console_receive(p0, (const uint8_t *)"xyzw", 4), 0);
	f->wakes = 0;
	head = add_buf(f, 0, NULL, 3, true);
	add_buf(f, 0, NULL, 3, true);
	kick(f, 0);
	assert_int_equal(f->wakes, 1);
	/* 4 bytes offered, 3 + 1 go into two buffers. */
	assert_int_equal(virtio_console_receive(p0, (const uint8_t *)"xyzw", 4), 4);
	assert_true(get_used(f, 0, &e));
	assert_int_equal(e.id, head);
	assert_int_equal(e.len, 3);
	assert_int_equal(guest_mem_read(&f->gm, f->buf[0][head], got, 3), 0);
	assert_string_equal(got, "xyz");
	assert_true(get_used(f, 0, &e));
	assert_int_equal(e.len, 1);
	assert_true(f->tt.queue_irqs[0] > 0);
	fx_free(f);
}

static void test_rx_held_until_guest_opens(void **state)
{
	struct fx *f = fx_new(false, "org.test.port");
	struct virtio_console_port *p1;

	(void)state;
	start(f, true);
	p1 = &f->con->ports[1];
	virtio_console_set_input(f->con, 1, count_wake, f);
	post_ctrl_rx(f, 8, 4096);
	add_buf(f, virtio_console_rxq(1), NULL, 64, true);
	kick(f, virtio_console_rxq(1));
	/* Buffers posted, port not added/opened: input waits (Linux would drop it). */
	assert_int_equal(virtio_console_receive(p1, (const uint8_t *)"hi", 2), 0);
	send_ctrl(f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	send_ctrl(f, 1, VIRTIO_CONSOLE_PORT_READY, 1);
	assert_int_equal(virtio_console_receive(p1, (const uint8_t *)"hi", 2), 0);
	f->wakes = 0;
	send_ctrl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	assert_int_equal(f->wakes, 1);
	assert_int_equal(virtio_console_receive(p1, (const uint8_t *)"hi", 2), 2);
	send_ctrl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 0);
	assert_int_equal(virtio_console_receive(p1, (const uint8_t *)"hi", 2), 0);
	fx_free(f);
}

static void test_hostile_control_messages(void **state)
{
	struct fx *f = fx_new(false, NULL);

	(void)state;
	start(f, true);
	post_ctrl_rx(f, 16, 4096);
	/* Before DEVICE_READY: port messages for ports never added. */
	send_ctrl(f, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	send_ctrl(f, 0, VIRTIO_CONSOLE_PORT_OPEN, 1);
	expect_no_ctrl(f);
	assert_false(f->con->ports[0].ready);
	assert_false(f->con->ports[0].guest_open);
	/* Short, bad id, device-only and unknown events, bad values, failure. */
	send_ctrl_len(f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1, 7);
	send_ctrl_len(f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1, 1);
	send_ctrl(f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 2);
	send_ctrl(f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 0);
	send_ctrl(f, 0, VIRTIO_CONSOLE_PORT_ADD, 1);
	send_ctrl(f, 0, VIRTIO_CONSOLE_CONSOLE_PORT, 1);
	send_ctrl(f, 0, 0x1234, 1);
	expect_no_ctrl(f);
	assert_false(f->con->driver_ready);
	/* The real handshake still works; then repeats change nothing. */
	send_ctrl(f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	expect_ctrl(f, 0, VIRTIO_CONSOLE_PORT_ADD, 0, NULL);
	expect_ctrl(f, 1, VIRTIO_CONSOLE_PORT_ADD, 0, NULL);
	send_ctrl(f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	expect_no_ctrl(f);
	send_ctrl(f, NR_PORTS, VIRTIO_CONSOLE_PORT_READY, 1);
	send_ctrl(f, 0xffffffff, VIRTIO_CONSOLE_PORT_OPEN, 1);
	send_ctrl(f, 0, VIRTIO_CONSOLE_PORT_READY, 0); /* the driver failed the port */
	expect_no_ctrl(f);
	assert_false(f->con->ports[0].ready);
	send_ctrl(f, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	expect_ctrl(f, 0, VIRTIO_CONSOLE_CONSOLE_PORT, 1, NULL);
	expect_ctrl(f, 0, VIRTIO_CONSOLE_PORT_OPEN, 1, NULL);
	send_ctrl(f, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	expect_no_ctrl(f);
	assert_false(f->con->vdev.needs_reset);
	fx_free(f);
}

static void test_port_queues_before_ready(void **state)
{
	struct fx *f = fx_new(false, NULL);
	struct vring_used_elem e;

	(void)state;
	start(f, true);
	virtio_console_set_input(f->con, 1, count_wake, f);
	/* Port 1 transmits before any handshake: consumed, dropped, nothing written. */
	add_buf(f, virtio_console_txq(1), "early", 5, false);
	kick(f, virtio_console_txq(1));
	assert_true(get_used(f, virtio_console_txq(1), &e));
	assert_int_equal(e.len, 0);
	read_output(f, 1, "");
	/* Receive buffers posted early are kept for later. */
	add_buf(f, virtio_console_rxq(1), NULL, 16, true);
	kick(f, virtio_console_rxq(1));
	assert_int_equal(virtio_console_receive(&f->con->ports[1], (const uint8_t *)"in", 2), 0);
	assert_false(get_used(f, virtio_console_rxq(1), &e));
	handshake(f);
	assert_int_equal(virtio_console_receive(&f->con->ports[1], (const uint8_t *)"in", 2), 2);
	assert_true(get_used(f, virtio_console_rxq(1), &e));
	assert_int_equal(e.len, 2);
	assert_false(f->con->vdev.needs_reset);
	fx_free(f);
}

static void test_broken_control_chain_needs_reset(void **state)
{
	struct fx *f = fx_new(false, NULL);
	uint8_t m[8];
	int head;

	(void)state;
	start(f, true);
	put_ctrl(m, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	head = add_buf(f, CTRL_TXQ, m, 8, false);
	virtq_driver_desc(&f->drv[CTRL_TXQ])[head].addr = htole64(0xfff0000000000000ULL);
	kick(f, CTRL_TXQ);
	assert_true(f->con->vdev.needs_reset);
	assert_int_equal(f->tt.config_irqs, 1);
	assert_false(f->con->driver_ready);
	fx_free(f);
}

static void test_reset_restarts_handshake(void **state)
{
	struct fx *f = fx_new(false, NULL);
	struct vring_used_elem e;

	(void)state;
	start(f, true);
	handshake(f);
	pthread_mutex_lock(&f->con->vdev.lock);
	virtio_dev_reset(&f->con->vdev);
	pthread_mutex_unlock(&f->con->vdev.lock);
	for (unsigned int i = 0; i < NR_PORTS; i++) {
		assert_false(f->con->ports[i].ready);
		assert_false(f->con->ports[i].guest_open);
	}
	assert_false(f->con->driver_ready);
	start(f, true);
	handshake(f);
	add_buf(f, 1, "again", 5, false);
	kick(f, 1);
	assert_true(get_used(f, 1, &e));
	read_output(f, 0, "again");
	fx_free(f);
}

static void test_without_multiport(void **state)
{
	struct fx *f = fx_new(false, NULL);
	struct vring_used_elem e;

	(void)state;
	virtio_console_set_input(f->con, 0, count_wake, f);
	start(f, false);
	assert_true(f->wakes > 0); /* port 0 is open at once */
	add_buf(f, 1, "plain", 5, false);
	kick(f, 1);
	assert_true(get_used(f, 1, &e));
	read_output(f, 0, "plain");
	add_buf(f, 0, NULL, 8, true);
	kick(f, 0);
	assert_int_equal(virtio_console_receive(&f->con->ports[0], (const uint8_t *)"k", 1), 1);
	/* No control queues, no port 1. */
	add_buf(f, CTRL_TXQ, "\xff\xff\xff\xff\0\0\1\0", 8, false);
	kick(f, CTRL_TXQ);
	assert_false(get_used(f, CTRL_TXQ, &e));
	add_buf(f, virtio_console_txq(1), "p1", 2, false);
	kick(f, virtio_console_txq(1));
	assert_false(get_used(f, virtio_console_txq(1), &e));
	read_output(f, 1, "");
	fx_free(f);
}

static void test_bad_construction(void **state)
{
	struct virtio_console_port_spec spec = { .is_console = true };
	struct virtio_console *con = NULL;
	struct guest_mem gm;
	char long_name[VIRTIO_CONSOLE_CTRL_NAME_MAX + 2];
	int p[2];

	(void)state;
	guest_mem_init(&gm);
	chardev_init_sink(&spec.out);
	assert_int_equal(virtio_console_new(&spec, 0, &gm, NULL, &con), -EINVAL);
	/* A name too long for PORT_NAME; the output fd is closed on failure. */
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(pipe(p), 0);
	chardev_init_fd(&spec.out, p[1], true, "pipe");
	spec.name = long_name;
	assert_int_equal(virtio_console_new(&spec, 1, &gm, NULL, &con), -ENAMETOOLONG);
	assert_null(con);
	assert_int_equal(fcntl(p[1], F_GETFD), -1);
	close(p[0]);
}

/* The registry entry, up to the point where it would need a PCI bus. */
static void test_create_all_from_config(void **state)
{
	static struct vm vm; /* large: off the stack */
	struct vm_config cfg;
	struct serial_config uart = { .type = SERIAL_TYPE_STDOUT, .hw = SERIAL_HW_UART, .num = 1 };
	struct serial_config hvc = { .type = SERIAL_TYPE_FILE,
				     .hw = SERIAL_HW_VIRTIO_CONSOLE,
				     .num = 2,
				     .path = "/nonexistent-dir/hvc1" };

	(void)state;
	vm_config_init(&cfg);
	vm.cfg = &cfg;
	cfg.serials[cfg.num_serials++] = uart;
	assert_int_equal(virtio_console_create_all(&vm), 0); /* nothing to create */
	cfg.serials[cfg.num_serials++] = hvc;
	assert_int_equal(virtio_console_create_all(&vm), -ENOENT);
	cfg.num_serials = 0; /* the config does not own these strings */
	vm_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_and_queues),
		cmocka_unit_test(test_handshake_like_linux),
		cmocka_unit_test(test_handshake_waits_for_control_buffers),
		cmocka_unit_test(test_named_port),
		cmocka_unit_test(test_tx_to_pipes_in_order),
		cmocka_unit_test(test_tx_to_file),
		cmocka_unit_test(test_tx_waits_for_full_output),
		cmocka_unit_test(test_rx_back_pressure),
		cmocka_unit_test(test_rx_held_until_guest_opens),
		cmocka_unit_test(test_hostile_control_messages),
		cmocka_unit_test(test_port_queues_before_ready),
		cmocka_unit_test(test_broken_control_chain_needs_reset),
		cmocka_unit_test(test_reset_restarts_handshake),
		cmocka_unit_test(test_without_multiport),
		cmocka_unit_test(test_bad_construction),
		cmocka_unit_test(test_create_all_from_config),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
