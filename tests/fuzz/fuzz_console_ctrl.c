/*
 * Fuzz target: a hostile virtio-console driver (virtio 1.x section 5.3).
 *
 * Every input is first given whole to the control message parser, whose
 * verdict must agree with the message's fields. Then it is replayed as a
 * driver session against a real device (three sink ports, fake transport,
 * rings played by virtq_driver), one record after another:
 *
 *   op % 5 == 0  control message: len = next % 17 bytes follow, kick control tx
 *   op % 5 == 1  post a control receive buffer of next % 64 bytes, kick
 *   op % 5 == 2  transmit one byte on port next % 4 (one past the last port)
 *   op % 5 == 3  post a receive buffer on port next % 3, then offer input
 *   op % 5 == 4  device reset and restart (MULTIPORT if next is even)
 *
 * What the device returns is checked: control messages to the driver are
 * well formed and name existing ports, used ids and lengths are legal
 * (virtq_driver_get_used says -EPROTO otherwise), and nothing crashes.
 */
#include <endian.h>
#include <linux/virtio_config.h>
#include <linux/virtio_console.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio_console/virtio_console.h"
#include "devices/virtio_console/virtio_console_ctrl.h"
#include "fuzz.h"
#include "harness.h"
#include "virtio/virtio_test_transport.h"
#include "virtio/virtq_driver.h"

#define NR_PORTS 3
#define NQ (2 * (NR_PORTS + 1))
#define QSIZE 32
#define RING_SPAN 0x8000ULL

struct session {
	struct virtio_test_transport irqs; /* interrupts are only counted */
	struct guest_mem gm;
	struct virtio_console *con;
	struct virtq_driver drv[NQ];
	uint64_t buf[NQ][QSIZE];
};

static void check_parser(const uint8_t *data, size_t size)
{
	struct virtio_console_ctrl_msg msg;

	if (virtio_console_ctrl_parse(data, size, NR_PORTS, &msg) != VIRTIO_CONSOLE_CTRL_OK)
		return;
	if (size < 8 || msg.value > 1)
		abort();
	if (msg.event != VIRTIO_CONSOLE_DEVICE_READY && msg.event != VIRTIO_CONSOLE_PORT_READY &&
	    msg.event != VIRTIO_CONSOLE_PORT_OPEN)
		abort();
	if (msg.event != VIRTIO_CONSOLE_DEVICE_READY && msg.id >= NR_PORTS)
		abort();
}

static struct session *session_get(void)
{
	static struct session *s;
	struct virtio_console_port_spec specs[NR_PORTS];

	if (s)
		return s;
	s = fuzz_session_new(sizeof(*s));
	fuzz_guest_ram(&s->gm, 1024 * 1024);
	for (unsigned int i = 0; i < NR_PORTS; i++) {
		specs[i] = (struct virtio_console_port_spec){ .is_console = i != 2,
							      .host_connected = true,
							      .name = i == 2 ? "org.fuzz" : NULL };
		chardev_init_sink(&specs[i].out);
	}
	if (virtio_console_new(specs, NR_PORTS, &s->gm, NULL, &s->con))
		abort();
	virtio_test_transport_attach(&s->con->vdev, &s->irqs);
	return s;
}

/* Reset, then the driver's init sequence up to DRIVER_OK. Lock held. */
static void restart(struct session *s, bool multiport)
{
	struct virtio_device *vdev = &s->con->vdev;
	uint64_t features = 1ULL << VIRTIO_F_VERSION_1;
	const struct virtio_test_rings rings = {
	    .mem = &s->gm, .gpa = 0x1000, .span = RING_SPAN, .size = QSIZE};

	if (multiport)
		features |= 1ULL << VIRTIO_CONSOLE_F_MULTIPORT;
	virtio_dev_reset(vdev);
	if (virtio_test_start(vdev, features, s->drv, NQ, &rings))
		abort();
}

/* Adds a one-segment chain; false when the driver ran out of room. */
static bool add(struct session *s, unsigned int q, const void *src, uint32_t len, bool writable)
{
	uint64_t gpa = virtq_driver_alloc(&s->drv[q], len ? len : 1);
	struct virtq_driver_seg seg = { gpa, len ? len : 1, writable };
	int head;

	if (!gpa)
		return false;
	if (src && len && guest_mem_write(&s->gm, gpa, src, len))
		abort();
	head = virtq_driver_add(&s->drv[q], &seg, 1, false);
	if (head < 0)
		return false;
	s->buf[q][head] = gpa;
	return true;
}

static void kick(struct session *s, unsigned int q)
{
	s->con->vdev.ops->queue_notify(&s->con->vdev, q);
}

/* Collects every used entry; control messages to the driver must be sane. */
static void drain_used(void *opaque)
{
	struct session *s = opaque;
	struct vring_used_elem e;
	uint8_t m[8];
	uint32_t id;
	int r;

	for (unsigned int q = 0; q < NQ; q++) {
		while ((r = virtq_driver_get_used(&s->drv[q], &e)) == 1) {
			if (q != VIRTIO_CONSOLE_CTRL_RXQ || e.len == 0)
				continue;
			if (e.len < 8 || guest_mem_read(&s->gm, s->buf[q][e.id], m, 8))
				abort();
			memcpy(&id, m, sizeof(id));
			if (le32toh(id) >= NR_PORTS)
				abort();
		}
		if (r < 0)
			abort();
	}
}

/* Replays one record; returns the bytes it used, 0 to stop. */
static size_t step(void *opaque, const uint8_t *p, size_t left)
{
	struct session *s = opaque;
	uint8_t op, arg;
	size_t len;

	if (left < 2)
		return 0;
	op = p[0] % 5;
	arg = p[1];
	switch (op) {
	case 0:
		len = MIN((size_t)(arg % 17), left - 2);
		if (!add(s, VIRTIO_CONSOLE_CTRL_TXQ, p + 2, (uint32_t)len, false))
			return 0;
		kick(s, VIRTIO_CONSOLE_CTRL_TXQ);
		return 2 + len;
	case 1:
		if (!add(s, VIRTIO_CONSOLE_CTRL_RXQ, NULL, arg % 64, true))
			return 0;
		kick(s, VIRTIO_CONSOLE_CTRL_RXQ);
		return 2;
	case 2:
		if (arg % 4 < NR_PORTS) {
			if (!add(s, virtio_console_txq(arg % 4), "x", 1, false))
				return 0;
			kick(s, virtio_console_txq(arg % 4));
		} else {
			kick(s, NQ); /* past the last queue: must be ignored */
		}
		return 2;
	case 3:
		if (!add(s, virtio_console_rxq(arg % NR_PORTS), NULL, 4, true))
			return 0;
		kick(s, virtio_console_rxq(arg % NR_PORTS));
		pthread_mutex_unlock(&s->con->vdev.lock);
		virtio_console_receive(&s->con->ports[arg % NR_PORTS], p, left);
		pthread_mutex_lock(&s->con->vdev.lock);
		return 2;
	default:
		restart(s, arg % 2 == 0);
		return 2;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session *s = session_get();

	check_parser(data, size);
	pthread_mutex_lock(&s->con->vdev.lock);
	restart(s, true);
	fuzz_replay_records(s, data, size, step, drain_used);
	pthread_mutex_unlock(&s->con->vdev.lock);
	return 0;
}
