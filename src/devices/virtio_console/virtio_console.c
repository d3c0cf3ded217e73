/*
 * virtio-console, the device model (virtio 1.x section 5.3): configuration,
 * the control queues and their handshake (section 5.3.6.2) and lifecycle.
 * The data path is virtio_console_io.c, attached streams
 * virtio_console_stream.c, control message bytes virtio_console_ctrl.c, the
 * registry entry (ports and host sides from the config)
 * virtio_console_host.c. See virtio_console.h.
 */
#include "devices/virtio_console/virtio_console.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <linux/virtio_console.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "devices/virtio_console/virtio_console_ctrl.h"

static struct virtio_console *to_console(struct virtio_device *vdev)
{
	return container_of(vdev, struct virtio_console, vdev);
}

unsigned int virtio_console_rxq(unsigned int port)
{
	return port == 0 ? 0 : 2 * (port + 1);
}

unsigned int virtio_console_txq(unsigned int port)
{
	return virtio_console_rxq(port) + 1;
}

/* ---- configuration ---- */

static void config_read(struct virtio_device *vdev, uint32_t offset, void *data, uint32_t len)
{
	const struct virtio_console_config cfg = {
		.cols = 0, /* no VIRTIO_CONSOLE_F_SIZE: the size is unknown */
		.rows = 0,
		.max_nr_ports = htole32(to_console(vdev)->nr_ports),
		.emerg_wr = 0,
	};

	memset(data, 0, len);
	if (offset < sizeof(cfg))
		memcpy(data, (const uint8_t *)&cfg + offset, MIN(len, sizeof(cfg) - offset));
}

/* ---- device to driver: pending control messages ---- */

/*
 * Puts one message into the next control receive buffer. Returns 1 when
 * sent, 0 when the driver posted no buffer (try again on its kick), -EINVAL
 * when the queue is broken.
 */
static int send_ctrl(struct virtio_console *con, const void *msg, size_t len)
{
	struct virtq *vq = &con->vdev.queues[VIRTIO_CONSOLE_CTRL_RXQ];

	for (;;) {
		int r = virtq_pop(vq, &con->chain);

		if (r <= 0)
			return r;
		if (con->chain.in_len >= len) {
			virtq_push(vq, con->chain.head,
				   (uint32_t)virtq_chain_write(&con->chain, 0, msg, len));
			return 1;
		}
		/* Linux posts page-sized buffers; a smaller one is skipped. */
		log_guest_once("virtio-console: control receive buffer too small");
		virtq_push(vq, con->chain.head, 0);
	}
}

/* Builds the message for pending bit `bit` of `p`. Returns its size. */
static size_t build_pending(const struct virtio_console_port *p, unsigned int bit, uint8_t *buf,
			    size_t cap)
{
	uint16_t event = VIRTIO_CONSOLE_PORT_OPEN, value = p->host_connected;
	const char *name = NULL;

	if (bit == VIRTIO_CONSOLE_PEND_ADD) {
		event = VIRTIO_CONSOLE_PORT_ADD;
		value = 0;
	} else if (bit == VIRTIO_CONSOLE_PEND_NAME) {
		event = VIRTIO_CONSOLE_PORT_NAME;
		value = 0;
		name = p->name;
	} else if (bit == VIRTIO_CONSOLE_PEND_CONSOLE) {
		event = VIRTIO_CONSOLE_CONSOLE_PORT;
		value = 1;
	} else {
		assert(bit == VIRTIO_CONSOLE_PEND_OPEN);
	}
	return virtio_console_ctrl_build(buf, cap, p->id, event, value, name,
					 name ? strlen(name) : 0);
}

/* Sends every pending message, in port order, while the driver has buffers. */
static void flush_ctrl(struct virtio_console *con)
{
	uint8_t msg[VIRTIO_CONSOLE_CTRL_HDR_SIZE + VIRTIO_CONSOLE_CTRL_NAME_MAX];
	bool sent = false;
	int r = 1;

	if (!con->multiport || !virtio_dev_running(&con->vdev))
		return;
	for (unsigned int i = 0; i < con->nr_ports && r > 0; i++) {
		struct virtio_console_port *p = &con->ports[i];

		while (p->pending && r > 0) {
			unsigned int bit = p->pending & -p->pending;
			size_t len = build_pending(p, bit, msg, sizeof(msg));

			assert(len > 0);
			r = send_ctrl(con, msg, len);
			if (r <= 0)
				break;
			sent = true;
			p->pending &= ~bit;
			if (bit == VIRTIO_CONSOLE_PEND_ADD)
				p->added = true;
		}
	}
	if (r < 0)
		virtio_dev_set_needs_reset(&con->vdev, "broken control receive queue");
	if (sent)
		virtio_dev_notify(&con->vdev, VIRTIO_CONSOLE_CTRL_RXQ);
}

/* ---- driver to device: control messages ---- */

static void device_ready(struct virtio_console *con, uint16_t value)
{
	if (!value) {
		log_guest_once("virtio-console: the driver failed to initialise the device");
		return;
	}
	if (con->driver_ready) {
		log_guest_once("virtio-console: DEVICE_READY repeated; ignored");
		return;
	}
	con->driver_ready = true;
	for (unsigned int i = 0; i < con->nr_ports; i++)
		con->ports[i].pending |= VIRTIO_CONSOLE_PEND_ADD;
}

static void port_ready(struct virtio_console_port *p, uint16_t value)
{
	if (!p->added || p->ready) {
		log_guest_once("virtio-console: PORT_READY for a port not being added; ignored");
		return;
	}
	if (!value) {
		log_guest_once("virtio-console: the driver could not add a port");
		return;
	}
	p->ready = true;
	if (p->name)
		p->pending |= VIRTIO_CONSOLE_PEND_NAME;
	if (p->is_console)
		p->pending |= VIRTIO_CONSOLE_PEND_CONSOLE;
	if (p->host_connected)
		p->pending |= VIRTIO_CONSOLE_PEND_OPEN;
}

static void port_open(struct virtio_console_port *p, uint16_t value)
{
	if (!p->ready) {
		log_guest_once("virtio-console: PORT_OPEN for a port that is not ready; ignored");
		return;
	}
	p->guest_open = value;
	/* Input held back may go in now (or, from a gone stream, be dropped). */
	if (p->guest_open || p->stream.peer_gone)
		virtio_console_io_wake_input(p);
}

/* Guest-controlled: `buf` holds the first `len` bytes of one message. */
static void handle_ctrl(struct virtio_console *con, const uint8_t *buf, size_t len)
{
	struct virtio_console_ctrl_msg msg;
	enum virtio_console_ctrl_verdict v =
		virtio_console_ctrl_parse(buf, len, con->nr_ports, &msg);

	if (v != VIRTIO_CONSOLE_CTRL_OK) {
		/* Once per kind and device: bounded, yet every kind is seen. */
		if (!(con->ctrl_logged & (1u << v)))
			log_warn("guest: %s: %s; ignored", con->vdev.name,
				 virtio_console_ctrl_verdict_str(v));
		con->ctrl_logged |= 1u << v;
		return;
	}
	if (msg.event == VIRTIO_CONSOLE_DEVICE_READY)
		device_ready(con, msg.value);
	else if (msg.event == VIRTIO_CONSOLE_PORT_READY)
		port_ready(&con->ports[msg.id], msg.value);
	else
		port_open(&con->ports[msg.id], msg.value);
}

static void ctrl_tx(struct virtio_console *con)
{
	struct virtq *vq = &con->vdev.queues[VIRTIO_CONSOLE_CTRL_TXQ];
	uint8_t buf[2 * VIRTIO_CONSOLE_CTRL_HDR_SIZE];
	bool pushed = false;
	int r;

	while ((r = virtq_pop(vq, &con->chain)) > 0) {
		size_t n = virtq_chain_read(&con->chain, 0, buf, sizeof(buf));

		handle_ctrl(con, buf, n);
		virtq_push(vq, con->chain.head, 0);
		pushed = true;
	}
	if (r < 0)
		virtio_dev_set_needs_reset(&con->vdev, "broken control transmit queue");
	if (pushed)
		virtio_dev_notify(&con->vdev, VIRTIO_CONSOLE_CTRL_TXQ);
	flush_ctrl(con);
}

void virtio_console_update_connected(struct virtio_console_port *p)
{
	bool connected = p->base_connected || p->stream.attached;

	if (p->host_connected == connected)
		return;
	p->host_connected = connected;
	if (p->ready)
		p->pending |= VIRTIO_CONSOLE_PEND_OPEN;
	flush_ctrl(p->con);
}

void virtio_console_set_host_connected(struct virtio_console *con, unsigned int port,
				       bool connected)
{
	struct virtio_console_port *p = &con->ports[port];

	assert(port < con->nr_ports);
	pthread_mutex_lock(&con->vdev.lock);
	p->base_connected = connected;
	virtio_console_update_connected(p);
	pthread_mutex_unlock(&con->vdev.lock);
}

/* ---- virtio_dev_ops ---- */

static int activate(struct virtio_device *vdev)
{
	struct virtio_console *con = to_console(vdev);

	con->multiport = virtio_dev_has_feature(vdev, VIRTIO_CONSOLE_F_MULTIPORT);
	if (!con->multiport) {
		/* Section 5.3.6: without MULTIPORT, port 0 is a console, open at once. */
		con->ports[0].ready = true;
		con->ports[0].guest_open = true;
		virtio_console_io_wake_input(&con->ports[0]);
	}
	return 0;
}

static void reset(struct virtio_device *vdev)
{
	struct virtio_console *con = to_console(vdev);

	con->multiport = false;
	con->driver_ready = false;
	for (unsigned int i = 0; i < con->nr_ports; i++) {
		struct virtio_console_port *p = &con->ports[i];

		/* An unfinished chain is abandoned: guest memory is not touched again. */
		p->tx_busy = false;
		p->added = p->ready = p->guest_open = false;
		p->pending = 0;
	}
}

static void queue_notify(struct virtio_device *vdev, unsigned int q)
{
	struct virtio_console *con = to_console(vdev);
	unsigned int port = q < 2 ? 0 : q / 2 - 1;

	if (q == VIRTIO_CONSOLE_CTRL_RXQ || q == VIRTIO_CONSOLE_CTRL_TXQ) {
		if (!con->multiport)
			return; /* no control queues without MULTIPORT */
		if (q == VIRTIO_CONSOLE_CTRL_TXQ)
			ctrl_tx(con);
		else
			flush_ctrl(con);
		return;
	}
	if (port >= con->nr_ports || (port > 0 && !con->multiport))
		return;
	if (q == virtio_console_txq(port))
		virtio_console_io_tx(&con->ports[port]);
	else
		virtio_console_io_wake_input(&con->ports[port]); /* new receive buffers */
}

static void destroy_port(struct virtio_console_port *p)
{
	virtio_console_stream_destroy(p);
	if (p->listener) {
		unix_listener_close(p->listener);
		free(p->listener);
		p->listener = NULL;
	}
	if (p->pumping)
		input_pump_stop(&p->pump);
	p->pumping = false;
	virtio_console_io_unwatch(p);
	chardev_close(&p->out);
	host_tty_close(&p->tty);
	free(p->tx_chain);
	free(p->name);
}

static void destroy(struct virtio_device *vdev)
{
	struct virtio_console *con = to_console(vdev);

	for (unsigned int i = 0; i < con->nr_ports; i++)
		destroy_port(&con->ports[i]);
	virtio_dev_destroy(vdev);
	free(con);
}

static const struct virtio_dev_ops console_ops = {
	.config_read = config_read,
	.config_write = NULL, /* emerg_wr is not offered (no EMERG_WRITE) */
	.activate = activate,
	.reset = reset,
	.queue_notify = queue_notify,
	.destroy = destroy,
};

/* ---- construction ---- */

static int init_port(struct virtio_console *con, unsigned int id,
		     struct virtio_console_port_spec *spec)
{
	struct virtio_console_port *p = &con->ports[id];

	p->con = con;
	p->id = id;
	p->is_console = spec->is_console;
	p->host_connected = p->base_connected = spec->host_connected;
	p->tty.fd = p->tty.hold_fd = -1;
	p->stream.fd = -1;
	p->out = spec->out;
	chardev_init_sink(&spec->out); /* moved: the spec no longer owns it */
	p->tx_chain = malloc(sizeof(*p->tx_chain));
	if (!p->tx_chain)
		return -ENOMEM;
	if (spec->name) {
		if (strlen(spec->name) > VIRTIO_CONSOLE_CTRL_NAME_MAX)
			return -ENAMETOOLONG;
		p->name = strdup(spec->name);
		if (!p->name)
			return -ENOMEM;
	}
	return 0;
}

int virtio_console_new(struct virtio_console_port_spec *specs, unsigned int nr_ports,
		       const struct guest_mem *mem, struct event_loop *loop,
		       struct virtio_console **out)
{
	struct virtio_console *con = NULL;
	unsigned int ready = 0;
	int err = -EINVAL;

	if (nr_ports == 0 || nr_ports > VIRTIO_CONSOLE_MAX_PORTS)
		goto close_specs;
	con = calloc(1, sizeof(*con));
	err = con ? 0 : -ENOMEM;
	err = err ? err
		  : virtio_dev_init(&con->vdev, &console_ops, "virtio-console", VIRTIO_ID_CONSOLE,
				    1ULL << VIRTIO_CONSOLE_F_MULTIPORT,
				    sizeof(struct virtio_console_config), 2 * (nr_ports + 1),
				    VIRTIO_CONSOLE_QUEUE_SIZE, mem, loop);
	if (err)
		goto free_con;
	con->nr_ports = nr_ports;
	con->agent_port = -1;
	con->vdev.queue_max_size[VIRTIO_CONSOLE_CTRL_RXQ] = VIRTIO_CONSOLE_CTRL_QUEUE_SIZE;
	con->vdev.queue_max_size[VIRTIO_CONSOLE_CTRL_TXQ] = VIRTIO_CONSOLE_CTRL_QUEUE_SIZE;
	for (; ready < nr_ports && !err; ready++)
		err = init_port(con, ready, &specs[ready]);
	if (err) {
		con->nr_ports = ready; /* destroy the ports initialised, even partly */
		destroy(&con->vdev);
		goto close_specs;
	}
	*out = con;
	return 0;

free_con:
	free(con);
close_specs:
	for (unsigned int i = 0; i < nr_ports; i++)
		chardev_close(&specs[i].out);
	return err;
}

void virtio_console_destroy(struct virtio_console *con)
{
	destroy(&con->vdev);
}
