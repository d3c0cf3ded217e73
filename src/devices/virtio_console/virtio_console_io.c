/*
 * virtio-console data path (virtio 1.x section 5.3.6.1, "Device
 * Operation"): a port's transmit queue written to its output chardev, and
 * host input copied into its receive queue with back-pressure. See
 * virtio_console.h for the device as a whole.
 *
 * Output never loses bytes silently: a chain is written whole before the
 * next one is popped; when the output fd is full the chain stays popped
 * (tx_busy) and writing resumes when the fd becomes writable (an EPOLLOUT
 * watch armed only while stalled) or on the next transmit kick. Only a
 * failing host output (EPIPE, EIO...) drops bytes, and that is logged.
 *
 * The watch is added and removed on the event-loop thread only (transmit
 * runs from queue kicks, which the transport delivers there, and from the
 * watch itself), as the event loop requires.
 *
 * The active output is the attached stream's, else the base output; when
 * it changes, a chain in progress continues on the new one. A stream's
 * write errors are silent (its peer went away: its hang-up detaches it).
 */
#include "devices/virtio_console/virtio_console.h"

#include <assert.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include "base/log.h"

/* Writes what is left of the transmit chain. Returns 0 when all of it is out, or -errno. */
static int write_chain(struct virtio_console_port *p)
{
	struct chardev *out = virtio_console_out(p);
	const struct virtq_chain *c = p->tx_chain;
	size_t skip = p->tx_off;

	for (unsigned int i = 0; i < c->n_out; i++) {
		const struct iovec *v = &c->iov[i];

		if (skip >= v->iov_len) {
			skip -= v->iov_len;
			continue;
		}
		while (skip < v->iov_len) {
			/* Guest-controlled: bytes only, passed through untouched. */
			ssize_t n = chardev_write(out, (const char *)v->iov_base + skip,
						  v->iov_len - skip);

			if (n < 0)
				return (int)n;
			skip += (size_t)n;
			p->tx_off += (size_t)n;
		}
		skip = 0;
	}
	return 0;
}

struct chardev *virtio_console_out(struct virtio_console_port *p)
{
	return p->stream.attached ? &p->stream.out : &p->out;
}

static void report_output_error(struct virtio_console_port *p, int err)
{
	if (p->out_error_logged || p->stream.attached)
		return;
	p->out_error_logged = true;
	log_warn("%s port %u: writing to %s failed: %s; dropping its output",
		 p->con->vdev.name, p->id, p->out.label, strerror(-err));
}

static void on_writable(void *opaque, uint32_t events);

/*
 * Asks the loop to call on_writable once the output takes bytes again.
 * Without a loop (unit tests), or if the fd cannot be watched, the chain
 * waits for the guest's next transmit kick instead.
 */
static void watch_output(struct virtio_console_port *p)
{
	struct event_loop *loop = p->con->vdev.loop;
	struct chardev *out = virtio_console_out(p);
	int err;

	if (p->out_watched || !loop)
		return;
	err = event_loop_add(loop, chardev_fd(out), EPOLLOUT, on_writable, p);
	p->out_watched = !err;
	p->out_watch_fd = chardev_fd(out);
	if (err && !p->out_watch_error_logged) {
		p->out_watch_error_logged = true;
		log_warn("%s port %u: cannot watch %s: %s; a full output waits for the next "
			 "guest write",
			 p->con->vdev.name, p->id, out->label, strerror(-err));
	}
}

void virtio_console_io_unwatch(struct virtio_console_port *p)
{
	if (p->out_watched)
		event_loop_remove(p->con->vdev.loop, p->out_watch_fd);
	p->out_watched = false;
}

/* Returns false if the chain must stay popped until the output drains. */
static bool transmit(struct virtio_console_port *p)
{
	int err;

	if (!p->ready) {
		log_guest_once("virtio-console: transmit on a port the driver has not made "
			       "ready; dropped");
		return true;
	}
	err = write_chain(p);
	if (err == -EAGAIN) {
		watch_output(p);
		return false;
	}
	if (err)
		report_output_error(p, err);
	return true;
}

void virtio_console_io_tx(struct virtio_console_port *p)
{
	struct virtio_device *vdev = &p->con->vdev;
	unsigned int q = virtio_console_txq(p->id);
	struct virtq *vq = &vdev->queues[q];
	bool pushed = false;

	for (;;) {
		if (!p->tx_busy) {
			int r = virtq_pop(vq, p->tx_chain);

			if (r < 0) {
				virtio_dev_set_needs_reset(vdev, "broken transmit queue");
				break;
			}
			if (r == 0)
				break;
			p->tx_busy = true;
			p->tx_off = 0;
		}
		if (!transmit(p))
			break; /* output full: resumed by on_writable or the next kick */
		virtq_push(vq, p->tx_chain->head, 0);
		p->tx_busy = false;
		pushed = true;
	}
	if (pushed)
		virtio_dev_notify(vdev, q);
}

/* The stalled output takes bytes again (event loop): resume the chain. */
static void on_writable(void *opaque, uint32_t events)
{
	struct virtio_console_port *p = opaque;
	struct virtio_device *vdev = &p->con->vdev;

	(void)events;
	pthread_mutex_lock(&vdev->lock);
	virtio_console_io_unwatch(p);
	if (p->tx_busy && virtio_dev_running(vdev))
		virtio_console_io_tx(p); /* may watch again */
	pthread_mutex_unlock(&vdev->lock);
}

void virtio_console_io_wake_input(struct virtio_console_port *p)
{
	if (p->stream.attached)
		input_pump_wake(&p->stream.pump);
	else if (p->input_wake)
		p->input_wake(p->input_wake_arg);
}

/* Copies host input into the port's receive chains; returns the bytes taken. Lock held. */
static size_t fill_rx(struct virtio_console_port *p, const uint8_t *buf, size_t len)
{
	struct virtio_console *con = p->con;
	unsigned int q = virtio_console_rxq(p->id);
	struct virtq *vq = &con->vdev.queues[q];
	size_t taken = 0;
	bool pushed = false;

	while (taken < len) {
		int r = virtq_pop(vq, &con->chain);
		size_t n;

		if (r < 0)
			virtio_dev_set_needs_reset(&con->vdev, "broken receive queue");
		if (r <= 0)
			break;
		if (con->chain.in_len == 0)
			log_guest_once("virtio-console: receive buffer with no writable space");
		n = virtq_chain_write(&con->chain, 0, buf + taken, len - taken);
		virtq_push(vq, con->chain.head, (uint32_t)n);
		taken += n;
		pushed = true;
	}
	if (pushed)
		virtio_dev_notify(&con->vdev, q);
	return taken;
}

size_t virtio_console_io_receive(struct virtio_console_port *p, const uint8_t *buf, size_t len,
				 bool from_stream)
{
	bool reader = virtio_dev_running(&p->con->vdev) && p->guest_open;

	/* A gone writer's bytes that no guest process is there to read: dropped. */
	if (from_stream && p->stream.peer_gone && !reader)
		return len;
	/* Held back until the guest opened the port: Linux drops input before. */
	if (!reader)
		return 0;
	/* The base input waits while a stream has the port. */
	if (from_stream != p->stream.attached)
		return 0;
	return fill_rx(p, buf, len);
}

size_t virtio_console_receive(void *port, const uint8_t *buf, size_t len)
{
	struct virtio_console_port *p = port;
	struct virtio_device *vdev = &p->con->vdev;
	size_t taken;

	pthread_mutex_lock(&vdev->lock);
	taken = virtio_console_io_receive(p, buf, len, false);
	pthread_mutex_unlock(&vdev->lock);
	return taken;
}

void virtio_console_set_input(struct virtio_console *con, unsigned int port,
			      void (*wake)(void *arg), void *arg)
{
	assert(port < con->nr_ports);
	pthread_mutex_lock(&con->vdev.lock);
	con->ports[port].input_wake = wake;
	con->ports[port].input_wake_arg = arg;
	pthread_mutex_unlock(&con->vdev.lock);
}

int virtio_console_set_tty(struct virtio_console *con, unsigned int port, struct host_tty *tty)
{
	int err = virtio_console_pump_fd(con, port, tty->fd);

	if (err) {
		host_tty_close(tty);
		return err;
	}
	con->ports[port].tty = *tty;
	tty->fd = tty->hold_fd = -1;
	return 0;
}

int virtio_console_pump_fd(struct virtio_console *con, unsigned int port, int fd)
{
	struct virtio_console_port *p = &con->ports[port];
	int err;

	assert(port < con->nr_ports && !p->pumping && con->vdev.loop);
	err = input_pump_start(&p->pump, con->vdev.loop, fd, virtio_console_receive, p);
	if (err)
		return err;
	p->pumping = true;
	virtio_console_set_input(con, port, input_pump_wake, &p->pump);
	return 0;
}
