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
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
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

/* ---- streams (virtio_console_stream.c) ---- */

/* One pass of the event loop, as event_loop_run would dispatch it. */
static void run_loop_once(struct fx *f, int timeout_ms)
{
	struct epoll_event evs[16];
	int n = epoll_wait(f->loop.epfd, evs, 16, timeout_ms);

	for (int i = 0; i < n; i++) {
		struct event_handler *h = evs[i].data.ptr;

		if (h && h->in_use)
			h->fn(h->opaque, evs[i].events);
	}
}

static void on_closed(void *opaque)
{
	(*(unsigned int *)opaque)++;
}

/* What virtio_console_host.c does with a listener's client. */
static void attach_client(void *opaque, int fd)
{
	struct virtio_console_port *p = opaque;

	assert_int_equal(virtio_console_attach_stream(p->con, p->id, fd, "client", NULL, NULL), 0);
}

/* A fixture whose port 1 is a named channel with no host side until a stream comes. */
static struct fx *fx_stream(int sp[2])
{
	struct fx *f = fx_new(true, "org.test.chan");

	virtio_console_set_host_connected(f->con, 1, false);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	start(f, true);
	post_ctrl_rx(f, 32, 256);
	send_ctrl(f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	expect_ctrl(f, 0, VIRTIO_CONSOLE_PORT_ADD, 0, NULL);
	expect_ctrl(f, 1, VIRTIO_CONSOLE_PORT_ADD, 0, NULL);
	send_ctrl(f, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	expect_ctrl(f, 0, VIRTIO_CONSOLE_CONSOLE_PORT, 1, NULL);
	expect_ctrl(f, 0, VIRTIO_CONSOLE_PORT_OPEN, 1, NULL);
	send_ctrl(f, 1, VIRTIO_CONSOLE_PORT_READY, 1);
	expect_ctrl(f, 1, VIRTIO_CONSOLE_PORT_NAME, 0, "org.test.chan");
	expect_no_ctrl(f); /* no host side: no PORT_OPEN */
	send_ctrl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 1); /* a guest process opens the port */
	return f;
}

static void guest_tx(struct fx *f, unsigned int port, const char *s)
{
	add_buf(f, virtio_console_txq(port), s, (uint32_t)strlen(s), false);
	kick(f, virtio_console_txq(port));
}

/* The guest's next receive buffer on `port` must hold `want`. */
static void expect_guest_rx(struct fx *f, unsigned int port, const char *want)
{
	struct vring_used_elem e;
	char got[64] = { 0 };

	assert_true(get_used(f, virtio_console_rxq(port), &e));
	assert_int_equal(e.len, strlen(want));
	assert_int_equal(guest_mem_read(&f->gm, f->buf[virtio_console_rxq(port)][e.id], got, e.len),
			 0);
	assert_string_equal(got, want);
}

static void expect_sock(int fd, const char *want)
{
	char got[64] = { 0 };
	ssize_t n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);

	if (!*want) {
		assert_int_equal(n, -1);
		assert_int_equal(errno, EAGAIN);
		return;
	}
	assert_int_equal(n, strlen(want));
	assert_string_equal(got, want);
}

static void test_stream_both_ways_and_port_open(void **state)
{
	int sp[2];
	struct fx *f = fx_stream(sp);
	struct vring_used_elem e;
	unsigned int closed = 0;

	(void)state;
	/* Without a stream the guest's output goes to the base output. */
	guest_tx(f, 1, "base");
	read_output(f, 1, "base");
	assert_int_equal(virtio_console_attach_stream(f->con, 1, sp[0], "test", on_closed, &closed),
			 0);
	assert_true(virtio_console_stream_attached(f->con, 1));
	expect_ctrl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 1, NULL);
	guest_tx(f, 1, "to the client");
	assert_true(get_used(f, virtio_console_txq(1), &e));
	expect_sock(sp[1], "to the client");
	read_output(f, 1, "");
	/* The client's bytes reach the guest's receive buffers. */
	add_buf(f, virtio_console_rxq(1), NULL, 64, true);
	kick(f, virtio_console_rxq(1));
	assert_int_equal(send(sp[1], "from the client", 15, 0), 15);
	run_loop_once(f, 1000);
	expect_guest_rx(f, 1, "from the client");
	/* Detached by its owner: PORT_OPEN(0), no closed() call, output back to base. */
	virtio_console_detach_stream(f->con, 1);
	expect_ctrl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 0, NULL);
	assert_false(virtio_console_stream_attached(f->con, 1));
	assert_int_equal(closed, 0);
	assert_int_equal(recv(sp[1], (char[4]){ 0 }, 4, 0), 0); /* closed on our side */
	guest_tx(f, 1, "again");
	read_output(f, 1, "again");
	close(sp[1]);
	assert_false(f->con->vdev.needs_reset);
	fx_free(f);
}

static void test_stream_hangup_and_half_close(void **state)
{
	int sp[2];
	struct fx *f = fx_stream(sp);
	unsigned int closed = 0;

	(void)state;
	assert_int_equal(virtio_console_attach_stream(f->con, 1, sp[0], "test", on_closed, &closed),
			 0);
	expect_ctrl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 1, NULL);
	/* The peer stops writing: still attached, still written to. */
	assert_int_equal(shutdown(sp[1], SHUT_WR), 0);
	run_loop_once(f, 1000);
	assert_true(virtio_console_stream_attached(f->con, 1));
	expect_no_ctrl(f);
	guest_tx(f, 1, "reply");
	expect_sock(sp[1], "reply");
	/* Then it hangs up: detached, closed() called once, the guest told. */
	close(sp[1]);
	run_loop_once(f, 1000);
	assert_false(virtio_console_stream_attached(f->con, 1));
	assert_int_equal(closed, 1);
	expect_ctrl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 0, NULL);
	/* A new stream may come; a hang-up without half-close detaches at once. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(virtio_console_attach_stream(f->con, 1, sp[0], "test", on_closed, &closed),
			 0);
	expect_ctrl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 1, NULL);
	close(sp[1]);
	run_loop_once(f, 1000);
	assert_int_equal(closed, 2);
	expect_ctrl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 0, NULL);
	fx_free(f);
}

static void test_stream_busy_and_base_input_held(void **state)
{
	int sp[2], other[2];
	struct fx *f = fx_stream(sp);
	struct virtio_console_port *p1 = &f->con->ports[1];

	(void)state;
	virtio_console_set_input(f->con, 1, count_wake, f);
	assert_int_equal(virtio_console_attach_stream(f->con, 1, sp[0], "test", NULL, NULL), 0);
	/* One stream at a time: the second fd is refused and closed. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, other), 0);
	assert_int_equal(virtio_console_attach_stream(f->con, 1, other[0], "x", NULL, NULL),
			 -EBUSY);
	assert_int_equal(fcntl(other[0], F_GETFD), -1);
	assert_int_equal(recv(other[1], (char[4]){ 0 }, 4, 0), 0);
	close(other[1]);
	/* The base input waits while the stream has the port, and is woken after. */
	add_buf(f, virtio_console_rxq(1), NULL, 64, true);
	kick(f, virtio_console_rxq(1));
	assert_int_equal(virtio_console_receive(p1, (const uint8_t *)"base", 4), 0);
	f->wakes = 0;
	virtio_console_detach_stream(f->con, 1);
	assert_int_equal(f->wakes, 1);
	assert_int_equal(virtio_console_receive(p1, (const uint8_t *)"base", 4), 4);
	expect_guest_rx(f, 1, "base");
	close(sp[1]);
	fx_free(f);
}

/* A chain stalled on a full base output moves on to a stream attached meanwhile. */
static void test_stream_takes_over_stalled_chain(void **state)
{
	int sp[2];
	struct fx *f = fx_stream(sp);
	struct vring_used_elem e;
	char chunk[4096];

	(void)state;
	memset(chunk, 'x', sizeof(chunk));
	assert_true(fcntl(f->out[1][1], F_SETPIPE_SZ, 4096) >= 4096);
	while (write(f->out[1][1], chunk, sizeof(chunk)) > 0)
		;
	guest_tx(f, 1, "stalled");
	assert_false(get_used(f, virtio_console_txq(1), &e));
	assert_true(f->con->ports[1].out_watched);
	assert_int_equal(virtio_console_attach_stream(f->con, 1, sp[0], "test", NULL, NULL), 0);
	assert_true(get_used(f, virtio_console_txq(1), &e));
	expect_sock(sp[1], "stalled");
	assert_false(f->con->ports[1].out_watched); /* the base output's watch is gone */
	close(sp[1]);
	fx_free(f);
}

/* A client that never reads: that port's output waits, nothing is lost, port 0 flows. */
static void test_stream_flood_stalls_only_its_port(void **state)
{
	int sp[2];
	struct fx *f = fx_stream(sp);
	struct vring_used_elem e;
	static char chunk[4000];
	char drain[65536];
	size_t sent = 0, got = 0;
	unsigned int used = 0;
	struct virtq_driver_seg seg = { 0, sizeof(chunk), false };

	(void)state;
	memset(chunk, 'f', sizeof(chunk));
	assert_int_equal(setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &(int){ 8192 }, sizeof(int)), 0);
	assert_int_equal(virtio_console_attach_stream(f->con, 1, sp[0], "test", NULL, NULL), 0);
	expect_ctrl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 1, NULL);
	seg.gpa = virtq_driver_alloc(&f->drv[virtio_console_txq(1)], sizeof(chunk));
	assert_int_equal(guest_mem_write(&f->gm, seg.gpa, chunk, sizeof(chunk)), 0);
	for (int i = 0; i < 48; i++) {
		assert_true(virtq_driver_add(&f->drv[virtio_console_txq(1)], &seg, 1, false) >= 0);
		sent += sizeof(chunk);
	}
	kick(f, virtio_console_txq(1));
	while (get_used(f, virtio_console_txq(1), &e))
		used++;
	assert_true(used < 48); /* the socket filled up: the rest waits */
	assert_true(f->con->ports[1].out_watched);
	guest_tx(f, 0, "port 0 still works");
	read_output(f, 0, "port 0 still works");
	/* The client reads: everything arrives, in order. */
	while (got < sent) {
		ssize_t n = recv(sp[1], drain, sizeof(drain), MSG_DONTWAIT);

		if (n > 0) {
			for (ssize_t i = 0; i < n; i++)
				assert_int_equal(drain[i], 'f');
			got += (size_t)n;
			continue;
		}
		run_loop_once(f, 1000);
	}
	assert_int_equal(got, sent);
	while (get_used(f, virtio_console_txq(1), &e))
		used++;
	assert_int_equal(used, 48);
	close(sp[1]);
	fx_free(f);
}

/* Cove's own session, then a user's client on the port's socket: turns. */
static void test_stream_session_then_listener_client(void **state)
{
	int sp[2], c;
	struct fx *f = fx_stream(sp);
	struct virtio_console_port *p1 = &f->con->ports[1];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/cove-turns-XXXXXX";

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", dir);
	p1->listener = calloc(1, sizeof(*p1->listener));
	assert_int_equal(unix_listener_open(p1->listener, sa.sun_path, &f->loop, attach_client, p1),
			 0);
	/* A session: both ways, then detached. */
	assert_int_equal(virtio_console_attach_stream(f->con, 1, sp[0], "session", NULL, NULL), 0);
	assert_true(p1->listener->paused);
	expect_ctrl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 1, NULL);
	add_buf(f, virtio_console_rxq(1), NULL, 64, true);
	kick(f, virtio_console_rxq(1));
	assert_int_equal(send(sp[1], "sync", 4, 0), 4);
	run_loop_once(f, 1000);
	expect_guest_rx(f, 1, "sync");
	guest_tx(f, 1, "answer");
	expect_sock(sp[1], "answer");
	virtio_console_detach_stream(f->con, 1);
	close(sp[1]);
	expect_ctrl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 0, NULL);
	assert_false(p1->listener->paused);
	/* A client of the socket: accepted, both ways. */
	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	run_loop_once(f, 1000);
	assert_true(virtio_console_stream_attached(f->con, 1));
	expect_ctrl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 1, NULL);
	add_buf(f, virtio_console_rxq(1), NULL, 64, true);
	kick(f, virtio_console_rxq(1));
	assert_int_equal(send(c, "client", 6, 0), 6);
	for (int i = 0; i < 3; i++)
		run_loop_once(f, 200);
	expect_guest_rx(f, 1, "client");
	guest_tx(f, 1, "to-client");
	expect_sock(c, "to-client");
	/* It hangs up while its last bytes wait for a guest buffer: they are delivered first. */
	assert_int_equal(send(c, "unread", 6, 0), 6);
	run_loop_once(f, 200);
	close(c);
	for (int i = 0; i < 3; i++)
		run_loop_once(f, 200);
	assert_true(p1->stream.peer_gone);
	assert_true(virtio_console_stream_attached(f->con, 1));
	add_buf(f, virtio_console_rxq(1), NULL, 64, true);
	kick(f, virtio_console_rxq(1));
	for (int i = 0; i < 3 && virtio_console_stream_attached(f->con, 1); i++)
		run_loop_once(f, 500);
	expect_guest_rx(f, 1, "unread");
	assert_false(virtio_console_stream_attached(f->con, 1));
	expect_ctrl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 0, NULL);
	/* Again, but the guest closes the port instead: dropped, detached. */
	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	run_loop_once(f, 1000);
	expect_ctrl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 1, NULL);
	assert_int_equal(send(c, "never read", 10, 0), 10);
	run_loop_once(f, 200);
	close(c);
	for (int i = 0; i < 3; i++)
		run_loop_once(f, 200);
	assert_true(virtio_console_stream_attached(f->con, 1));
	send_ctrl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 0);
	for (int i = 0; i < 3 && virtio_console_stream_attached(f->con, 1); i++)
		run_loop_once(f, 500);
	assert_false(virtio_console_stream_attached(f->con, 1));
	expect_ctrl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 0, NULL);
	assert_false(p1->listener->paused);
	fx_free(f); /* closes the listener */
	rmdir(dir);
}

/* ---- the registry entry (virtio_console_host.c), without a bus ---- */

static struct virtio_console *from_config(struct fx *f, struct vm_config *cfg)
{
	struct virtio_console *con = NULL;

	assert_int_equal(virtio_console_from_config(cfg, &f->gm, &f->loop, &con), 0);
	return con;
}

/* A bare fixture: guest memory and a loop, the device made from a config. */
static struct fx *fx_bare(void)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	guest_mem_init(&f->gm);
	assert_int_equal(guest_mem_add(&f->gm, 0, 4 * 1024 * 1024), 0);
	assert_int_equal(event_loop_init(&f->loop), 0);
	f->has_loop = true;
	return f;
}

static void fx_bare_free(struct fx *f)
{
	if (f->con)
		virtio_console_destroy(f->con);
	event_loop_destroy(&f->loop);
	guest_mem_destroy(&f->gm);
	free(f);
}

static void add_serial(struct vm_config *cfg, struct serial_config sc)
{
	char err[128];

	sc.hw = SERIAL_HW_VIRTIO_CONSOLE;
	assert_int_equal(vm_config_add_serial(cfg, &sc, err, sizeof(err)), 0);
}

static void expect_port(struct virtio_console *con, unsigned int k, const char *name,
			bool console, bool connected)
{
	struct virtio_console_port *p = &con->ports[k];

	assert_true(k < con->nr_ports);
	if (name)
		assert_string_equal(p->name, name);
	else
		assert_null(p->name);
	assert_int_equal(p->is_console, console);
	assert_int_equal(p->host_connected, connected);
}

static void test_from_config_layout(void **state)
{
	struct fx *f = fx_bare();
	struct vm_config cfg;

	(void)state;
	/* No virtio-console serial at all: the agent's channel alone. */
	vm_config_init(&cfg);
	f->con = from_config(f, &cfg);
	assert_int_equal(f->con->nr_ports, 1);
	expect_port(f->con, 0, SERIAL_AGENT_PORT, false, true);
	assert_int_equal(f->con->agent_port, 0);
	assert_true(f->con->agent_internal);
	virtio_console_destroy(f->con);
	/* hvc1 numbered (hvc0 a sink gap), a named num=3, two unnumbered, then the agent. */
	add_serial(&cfg, (struct serial_config){ .type = SERIAL_TYPE_SINK, .num = 2 });
	add_serial(&cfg, (struct serial_config){ .num = 0, .name = strdup("late.a") });
	add_serial(&cfg, (struct serial_config){ .num = 3, .name = strdup("n3") });
	add_serial(&cfg, (struct serial_config){ .num = 0, .name = strdup("late.b"),
						  .type = SERIAL_TYPE_STDOUT });
	f->con = from_config(f, &cfg);
	assert_int_equal(f->con->nr_ports, 6);
	expect_port(f->con, 0, NULL, true, true);
	expect_port(f->con, 1, NULL, true, true);
	expect_port(f->con, 2, "n3", false, true);
	expect_port(f->con, 3, "late.a", false, true);
	expect_port(f->con, 4, "late.b", false, true);
	expect_port(f->con, 5, SERIAL_AGENT_PORT, false, true);
	assert_int_equal(f->con->agent_port, 5);
	fx_bare_free(f);
	vm_config_free(&cfg);
}

static void test_from_config_unix_stream(void **state)
{
	struct fx *f = fx_bare();
	struct vm_config cfg;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/cove-chan-XXXXXX";
	int c1, c2;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/agent.sock", dir);
	vm_config_init(&cfg);
	add_serial(&cfg, (struct serial_config){ .type = SERIAL_TYPE_UNIX_STREAM,
						  .path = strdup(sa.sun_path),
						  .name = strdup(SERIAL_AGENT_PORT) });
	f->con = from_config(f, &cfg);
	assert_int_equal(f->con->nr_ports, 1); /* the user's agent port: none added */
	assert_int_equal(f->con->agent_port, 0);
	assert_false(f->con->agent_internal);
	expect_port(f->con, 0, SERIAL_AGENT_PORT, false, false);
	/* Two clients: the first is attached, the second waits for it to go. */
	c1 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	c2 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(c1, (struct sockaddr *)&sa, sizeof(sa)), 0);
	run_loop_once(f, 1000);
	assert_true(virtio_console_stream_attached(f->con, 0));
	assert_true(f->con->ports[0].host_connected);
	assert_int_equal(connect(c2, (struct sockaddr *)&sa, sizeof(sa)), 0);
	run_loop_once(f, 100);
	assert_true(f->con->ports[0].listener->paused);
	close(c1);
	run_loop_once(f, 1000); /* hang-up: detached, listener resumed */
	assert_false(f->con->ports[0].host_connected);
	assert_false(f->con->ports[0].listener->paused);
	run_loop_once(f, 1000); /* the waiting client is accepted */
	assert_true(virtio_console_stream_attached(f->con, 0));
	close(c2);
	fx_bare_free(f);
	assert_int_equal(access(sa.sun_path, F_OK), -1); /* the socket is removed */
	rmdir(dir);
	vm_config_free(&cfg);
}

static void test_from_config_pty_and_dev(void **state)
{
	struct fx *f = fx_bare();
	struct vm_config cfg;
	struct host_tty peer;
	struct termios t;

	(void)state;
	/* A host "UART": the slave of a pty the test holds. */
	assert_int_equal(host_tty_open_pty(&peer), 0);
	vm_config_init(&cfg);
	add_serial(&cfg, (struct serial_config){ .type = SERIAL_TYPE_PTY, .name = strdup("p") });
	add_serial(&cfg, (struct serial_config){ .type = SERIAL_TYPE_DEV, .name = strdup("d"),
						  .path = strdup(peer.path) });
	f->con = from_config(f, &cfg);
	assert_true(f->con->ports[0].tty.fd >= 0);
	assert_int_equal(strncmp(f->con->ports[0].tty.path, "/dev/pts/", 9), 0);
	assert_true(f->con->ports[0].pumping);
	assert_true(f->con->ports[1].tty.fd >= 0);
	assert_int_equal(tcgetattr(f->con->ports[1].tty.fd, &t), 0);
	assert_false(t.c_lflag & (ICANON | ECHO)); /* raw */
	expect_port(f->con, 0, "p", false, true);
	expect_port(f->con, 1, "d", false, true);
	fx_bare_free(f);
	host_tty_close(&peer);
	vm_config_free(&cfg);
}

static void test_from_config_errors(void **state)
{
	struct fx *f = fx_bare();
	struct vm_config cfg;
	struct virtio_console *con = NULL;

	(void)state;
	vm_config_init(&cfg);
	add_serial(&cfg, (struct serial_config){ .type = SERIAL_TYPE_FILE, .num = 2,
						  .path = strdup("/nonexistent-dir/hvc1") });
	assert_int_equal(virtio_console_from_config(&cfg, &f->gm, &f->loop, &con), -ENOENT);
	vm_config_free(&cfg);
	add_serial(&cfg, (struct serial_config){ .type = SERIAL_TYPE_DEV,
						  .path = strdup("/dev/nonexistent-tty") });
	assert_int_equal(virtio_console_from_config(&cfg, &f->gm, &f->loop, &con), -ENOENT);
	vm_config_free(&cfg);
	add_serial(&cfg, (struct serial_config){ .type = SERIAL_TYPE_DEV,
						  .path = strdup("/etc/hostname") });
	assert_int_equal(virtio_console_from_config(&cfg, &f->gm, &f->loop, &con), -EINVAL);
	vm_config_free(&cfg);
	add_serial(&cfg, (struct serial_config){ .type = SERIAL_TYPE_UNIX_STREAM,
						  .path = strdup("/nonexistent-dir/s") });
	assert_int_equal(virtio_console_from_config(&cfg, &f->gm, &f->loop, &con), -ENOENT);
	assert_null(con);
	vm_config_free(&cfg);
	fx_bare_free(f);
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
		cmocka_unit_test(test_stream_both_ways_and_port_open),
		cmocka_unit_test(test_stream_hangup_and_half_close),
		cmocka_unit_test(test_stream_busy_and_base_input_held),
		cmocka_unit_test(test_stream_takes_over_stalled_chain),
		cmocka_unit_test(test_stream_flood_stalls_only_its_port),
		cmocka_unit_test(test_stream_session_then_listener_client),
		cmocka_unit_test(test_from_config_layout),
		cmocka_unit_test(test_from_config_unix_stream),
		cmocka_unit_test(test_from_config_pty_and_dev),
		cmocka_unit_test(test_from_config_errors),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
