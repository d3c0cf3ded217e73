/*
 * virtio-console: the stream attached to a port (a client of a
 * type=unix-stream port, or Cove's guest agent endpoint). See
 * virtio_console_attach_stream() in virtio_console.h.
 *
 * The stream's fd is read by an input pump (back-pressured into the
 * port's receive queue) and written through a duplicate fd, so that the
 * pump's EPOLLIN and the output's EPOLLOUT watches are separate epoll
 * entries. Attaching or detaching switches the port's active output (the
 * EPOLLOUT watch of the old one is dropped, a chain in progress continues
 * on the new one), the driver's view of the host side (PORT_OPEN), and
 * which input the port takes (the base input is held back meanwhile).
 *
 * End of a stream: a read error or a hang-up (EPOLLHUP/EPOLLERR) detaches
 * it; a plain end of file (the peer shut down its writing side only) keeps
 * it attached, still written to, with the fd watched for the hang-up. A
 * peer that hangs up while bytes it sent still wait for the guest
 * (peer_gone) stays attached until they are read -- or dropped, as soon as
 * no guest process has the port open (Linux would drop them too), so that
 * a gone client never holds the port.
 */
#include "devices/virtio_console/virtio_console.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"

static size_t receive_stream(void *port, const uint8_t *buf, size_t len)
{
	struct virtio_console_port *p = port;
	struct virtio_device *vdev = &p->con->vdev;
	size_t taken;

	pthread_mutex_lock(&vdev->lock);
	taken = virtio_console_io_receive(p, buf, len, true);
	pthread_mutex_unlock(&vdev->lock);
	return taken;
}

/* Stops and closes the stream's fds; the port is left to its base endpoint. */
static void release_stream(struct virtio_console_port *p)
{
	struct virtio_console_stream *s = &p->stream;

	virtio_console_io_unwatch(p);
	input_pump_stop(&s->pump);
	if (s->hup_watched)
		event_loop_remove(p->con->vdev.loop, s->fd);
	close(s->fd);
	chardev_close(&s->out);
	*s = (struct virtio_console_stream){.fd = -1};
}

/* Switches the port back to its base endpoint. Lock held. */
static void drop_stream(struct virtio_console_port *p)
{
	if (!p->stream.attached)
		return;
	release_stream(p);
	virtio_console_update_connected(p);
	if (p->tx_busy && virtio_dev_running(&p->con->vdev))
		virtio_console_io_tx(p); /* the rest of the chain goes to the base output */
	virtio_console_io_wake_input(p); /* base input held back meanwhile */
}

/* The stream ended on its own: detach it, then tell its owner (no lock held). */
static void stream_ended(struct virtio_console_port *p)
{
	struct virtio_device *vdev = &p->con->vdev;
	void (*closed)(void *opaque);
	void *opaque;

	pthread_mutex_lock(&vdev->lock);
	closed = p->stream.closed;
	opaque = p->stream.opaque;
	drop_stream(p);
	pthread_mutex_unlock(&vdev->lock);
	if (p->listener)
		unix_listener_resume(p->listener);
	if (closed)
		closed(opaque);
}

static void on_hangup(void *opaque, uint32_t events)
{
	struct virtio_console_port *p = opaque;

	(void)events; /* only EPOLLHUP and EPOLLERR are reported: no events asked */
	stream_ended(p);
}

static void on_stream_eof(void *arg, enum input_pump_end end)
{
	struct virtio_console_port *p = arg;
	struct virtio_console_stream *s = &p->stream;
	struct virtio_device *vdev = &p->con->vdev;
	bool half = false;

	if (end == INPUT_PUMP_HANGUP_WAITING) {
		/* Gone with bytes unread: they go on to a reader, or are dropped (io.c). */
		pthread_mutex_lock(&vdev->lock);
		s->peer_gone = true;
		input_pump_wake(&s->pump);
		pthread_mutex_unlock(&vdev->lock);
		return;
	}
	if (end == INPUT_PUMP_EOF) {
		/* Half-closed: keep writing to it until it hangs up. */
		pthread_mutex_lock(&vdev->lock);
		half = event_loop_add(vdev->loop, s->fd, 0, on_hangup, p) == 0;
		s->hup_watched = half;
		pthread_mutex_unlock(&vdev->lock);
	}
	if (!half)
		stream_ended(p);
}

/* Sets the stream up: fd non-blocking, its output duplicate, its pump. Lock held. */
static int start_stream(struct virtio_console_port *p, int fd, const char *label)
{
	struct virtio_console_stream *s = &p->stream;
	int out_fd, flags = fcntl(fd, F_GETFL);
	int err;

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	out_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (out_fd < 0)
		return -errno;
	err = input_pump_start(&s->pump, p->con->vdev.loop, fd, receive_stream, p);
	if (err) {
		close(out_fd);
		return err;
	}
	input_pump_on_eof(&s->pump, on_stream_eof, p);
	s->fd = fd;
	chardev_init_fd(&s->out, out_fd, true, label);
	return 0;
}

int virtio_console_attach_stream(struct virtio_console *con, unsigned int port, int fd,
				 const char *label, void (*closed)(void *opaque), void *opaque)
{
	struct virtio_console_port *p = &con->ports[port];
	int err = -EBUSY;

	assert(port < con->nr_ports && con->vdev.loop);
	pthread_mutex_lock(&con->vdev.lock);
	if (!p->stream.attached) {
		virtio_console_io_unwatch(p); /* the base output's */
		err = start_stream(p, fd, label);
	}
	if (err) {
		pthread_mutex_unlock(&con->vdev.lock);
		close(fd);
		return err;
	}
	p->stream.attached = true;
	p->stream.closed = closed;
	p->stream.opaque = opaque;
	virtio_console_update_connected(p);
	if (p->tx_busy && virtio_dev_running(&con->vdev))
		virtio_console_io_tx(p); /* a chain stalled on the base output moves on */
	pthread_mutex_unlock(&con->vdev.lock);
	if (p->listener)
		unix_listener_pause(p->listener);
	return 0;
}

void virtio_console_detach_stream(struct virtio_console *con, unsigned int port)
{
	struct virtio_console_port *p = &con->ports[port];

	assert(port < con->nr_ports);
	pthread_mutex_lock(&con->vdev.lock);
	drop_stream(p);
	pthread_mutex_unlock(&con->vdev.lock);
	if (p->listener)
		unix_listener_resume(p->listener);
}

bool virtio_console_stream_attached(struct virtio_console *con, unsigned int port)
{
	bool attached;

	assert(port < con->nr_ports);
	pthread_mutex_lock(&con->vdev.lock);
	attached = con->ports[port].stream.attached;
	pthread_mutex_unlock(&con->vdev.lock);
	return attached;
}

void virtio_console_stream_destroy(struct virtio_console_port *p)
{
	if (p->stream.attached)
		release_stream(p);
}
