/*
 * virtio-console as one multiport device (virtio 1.x section 5.3, Linux
 * drivers/char/virtio_console.c as the driver it must satisfy). Every
 * `--serial ...,hardware=virtio-console` of the config is one port of this
 * device: port k is `num=k+1`, so the guest's hvc<num-1> matches crosvm's
 * `console=hvc<num-1>`. Numbers the config leaves out are filled with sink
 * console ports, because Linux hands out hvc numbers in the order console
 * ports appear and a gap would shift every later one.
 *
 * Queues: port 0 rx 0 / tx 1, control rx 2 (device to driver) / tx 3
 * (driver to device), port n >= 1 rx 2(n+1) / tx 2(n+1)+1.
 *
 * Control handshake (section 5.3.6.2): the driver sends DEVICE_READY(1);
 * the device sends DEVICE_ADD for each port; the driver answers
 * PORT_READY(1) per port; the device then sends PORT_NAME (named ports),
 * CONSOLE_PORT(1) (console ports) and PORT_OPEN(1) (host side connected);
 * the driver reports its own side with PORT_OPEN(0/1). Messages owed to the
 * driver are kept as per-port pending bits and sent in port order as soon as
 * the driver posts control receive buffers, so a driver that posts few
 * buffers (or a hostile one that repeats requests) can never make the device
 * queue without bound.
 *
 * Host side of a port (virtio_console_host.c builds it from the config):
 * a base endpoint -- an output chardev (stdout, file, sink, pty, host
 * device) and maybe an input pump (stdin, pty, host device) -- and at most
 * one attached stream (virtio_console_stream.c): a connected socket, i.e. a
 * client of a type=unix-stream port or Cove's own guest agent endpoint.
 * While a stream is attached it replaces the base endpoint both ways: the
 * guest's output goes to it, and the base input is held back (not lost).
 * The driver is told PORT_OPEN(1) while the host side is connected: always
 * for a base endpoint other than unix-stream, and while a stream is
 * attached.
 *
 * Threading: everything runs under vdev.lock. Queue kicks come from the
 * transport with the lock held; the input backends (virtio_console_receive)
 * and the output-writable callback run on the event loop and take it.
 * Streams are attached and detached on the event-loop thread.
 */
#ifndef COVE_DEVICES_VIRTIO_CONSOLE_VIRTIO_CONSOLE_H
#define COVE_DEVICES_VIRTIO_CONSOLE_VIRTIO_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/chardev.h"
#include "backends/host_tty.h"
#include "backends/input_pump.h"
#include "backends/unix_listener.h"
#include "base/compiler.h"
#include "base/event_loop.h"
#include "virtio/virtio_dev.h"
#include "vm/guest_mem.h"

/* Two queues per port plus the control pair. */
#define VIRTIO_CONSOLE_MAX_PORTS (VIRTIO_DEV_MAX_QUEUES / 2 - 1)
#define VIRTIO_CONSOLE_QUEUE_SIZE 256
#define VIRTIO_CONSOLE_CTRL_QUEUE_SIZE 64
#define VIRTIO_CONSOLE_CTRL_RXQ 2
#define VIRTIO_CONSOLE_CTRL_TXQ 3

/* What the host side of one port is, as given to virtio_console_new(). */
struct virtio_console_port_spec {
	const char *name;    /* NULL: unnamed; else sent as PORT_NAME (copied) */
	bool is_console;     /* gets CONSOLE_PORT: the guest makes it an hvc */
	bool host_connected; /* host side open (stdout, file, sink: always) */
	struct chardev out;  /* where the guest's output goes (moved in) */
};

/* Control messages a port still owes the driver, sent lowest bit first. */
enum virtio_console_pending {
	VIRTIO_CONSOLE_PEND_ADD = 1 << 0,
	VIRTIO_CONSOLE_PEND_NAME = 1 << 1,
	VIRTIO_CONSOLE_PEND_CONSOLE = 1 << 2,
	VIRTIO_CONSOLE_PEND_OPEN = 1 << 3,
};

struct virtio_console;

/* The stream attached to a port (see virtio_console_attach_stream). */
struct virtio_console_stream {
	bool attached;
	int fd;		     /* read side (the pump's), owned */
	struct chardev out;  /* a duplicate of fd: polled apart from the pump */
	struct input_pump pump;
	bool hup_watched;    /* the peer stopped writing: fd watched for its hang-up */
	bool peer_gone;	     /* the peer hung up with bytes left for the guest */
	void (*closed)(void *opaque);
	void *opaque;
};

struct virtio_console_port {
	struct virtio_console *con;
	unsigned int id;
	char *name;
	bool is_console;
	bool host_connected; /* what the driver is told: base_connected or a stream */
	bool base_connected; /* the base endpoint counts as connected */

	/* Driver-side state: back to false/0 on every device reset. */
	bool added;	     /* DEVICE_ADD delivered */
	bool ready;	     /* PORT_READY(1) received */
	bool guest_open;     /* the guest's last PORT_OPEN said 1 */
	unsigned int pending; /* enum virtio_console_pending bits */

	/* Output: one transmit chain at a time, written whole, in order. */
	struct chardev out;	      /* the base output (virtio_console_out() is the active one) */
	bool out_watched;	      /* active out fd is in the event loop (EPOLLOUT), stalled */
	int out_watch_fd;	      /* ... that fd */
	bool out_error_logged;
	bool out_watch_error_logged;
	struct virtq_chain *tx_chain; /* the chain being written (tx_busy) */
	bool tx_busy;
	size_t tx_off;		      /* bytes of tx_chain already written */

	/* Base input: the backend to wake when the port can take bytes again. */
	void (*input_wake)(void *arg);
	void *input_wake_arg;
	struct input_pump pump; /* when the input is an fd (stdin, tty.fd) */
	bool pumping;
	struct host_tty tty;	/* type=pty / type=dev: owned, fd -1 when unused */
	struct unix_listener *listener; /* type=unix-stream: owned, or NULL */

	struct virtio_console_stream stream;
};

struct virtio_console {
	struct virtio_device vdev;
	unsigned int nr_ports;
	bool multiport;	    /* VIRTIO_CONSOLE_F_MULTIPORT negotiated */
	bool driver_ready;  /* DEVICE_READY(1) received */
	unsigned int ctrl_logged; /* refused message kinds already logged (1 << verdict) */
	int agent_port;		  /* the port named SERIAL_AGENT_PORT, or -1 */
	bool agent_internal;	  /* ... added by Cove, with no host side of its own */
	struct virtq_chain chain; /* scratch for control and receive queues */
	struct virtio_console_port ports[VIRTIO_CONSOLE_MAX_PORTS];
};

/*
 * Creates a device with `nr_ports` (1..VIRTIO_CONSOLE_MAX_PORTS) ports
 * described by `specs`, whose `out` chardevs it takes over (closed on
 * failure too). `loop` may be NULL (unit tests): output that would block is
 * then retried on the next transmit kick only. The device still needs a
 * transport (vdev.transport) and, for input, virtio_console_set_input() or
 * virtio_console_pump_fd(). Returns 0 or -errno.
 */
must_check int virtio_console_new(struct virtio_console_port_spec *specs, unsigned int nr_ports,
				  const struct guest_mem *mem, struct event_loop *loop,
				  struct virtio_console **out);
/* Releases the device (reset first if it ran); the same as vdev.ops->destroy. */
void virtio_console_destroy(struct virtio_console *con);

/*
 * Input side of port `port`: the backend offers bytes with
 * virtio_console_receive(&con->ports[port], ...), which returns how many
 * the guest's receive buffers took (0 when there is no buffer, the driver is
 * not running or the guest has not opened the port). The device calls
 * wake(arg) when that may have changed (buffers posted, port opened); wake
 * runs with the device lock held and must not call back into the device.
 */
void virtio_console_set_input(struct virtio_console *con, unsigned int port,
			      void (*wake)(void *arg), void *arg);
size_t virtio_console_receive(void *port, const uint8_t *buf, size_t len);
/* Pumps host fd `fd` (stdin) into `port` through an input_pump on the loop. */
must_check int virtio_console_pump_fd(struct virtio_console *con, unsigned int port, int fd);

/* Pumps an owned terminal (pty master, host device) into `port` and keeps it. */
must_check int virtio_console_set_tty(struct virtio_console *con, unsigned int port,
				      struct host_tty *tty);

/*
 * The base endpoint of `port` counts as connected or not (a unix-stream
 * port without a client is not): the driver is told with PORT_OPEN once the
 * port is ready, unless a stream decides. Takes the lock.
 */
void virtio_console_set_host_connected(struct virtio_console *con, unsigned int port,
				       bool connected);

/*
 * Attaches the connected stream socket `fd` (taken: closed on failure and
 * on detach) to `port`: from now on the guest's output goes to it, its
 * bytes go to the guest, and the driver sees the host side open. When the
 * peer hangs up (or the stream fails), the stream is detached and
 * closed(opaque) is called (may be NULL), on the loop thread without the
 * lock. A peer that only shuts down its writing side stays attached until
 * it hangs up. While attached, a unix-stream listener of the port accepts
 * nobody. Loop thread (or before the loop runs). Returns 0, -EBUSY (a
 * stream is attached already) or -errno.
 */
must_check int virtio_console_attach_stream(struct virtio_console *con, unsigned int port,
					    int fd, const char *label,
					    void (*closed)(void *opaque), void *opaque);
/*
 * Detaches the stream of `port`, if any, without calling its closed():
 * bytes it had sent that the guest did not take yet are dropped, output
 * goes back to the base endpoint. Loop thread.
 */
void virtio_console_detach_stream(struct virtio_console *con, unsigned int port);
bool virtio_console_stream_attached(struct virtio_console *con, unsigned int port);

/* The active output of a port: the stream's while one is attached. Lock held. */
struct chardev *virtio_console_out(struct virtio_console_port *p);

/*
 * Registry entry: creates the device (always: the guest agent's channel is
 * on it; see virtio_console_host.c for the port layout), opens the host
 * sides, attaches the device with vm_attach_virtio() and sets vm->console.
 * Returns 0 or -errno (logged).
 */
struct vm;
struct vm_config;
must_check int virtio_console_create_all(struct vm *vm);
/* The same without a VM (unit tests): the device, not on any bus. */
must_check int virtio_console_from_config(const struct vm_config *cfg,
					  const struct guest_mem *mem, struct event_loop *loop,
					  struct virtio_console **out);

/* Queue numbers of port `port`. */
unsigned int virtio_console_rxq(unsigned int port);
unsigned int virtio_console_txq(unsigned int port);

/* Internal to the device's files. Lock held. */
void virtio_console_io_tx(struct virtio_console_port *p);
void virtio_console_io_wake_input(struct virtio_console_port *p);
/* Stops the EPOLLOUT watch of the active output (before it changes). */
void virtio_console_io_unwatch(struct virtio_console_port *p);
/* Bytes from the stream (from_stream) or the base input; 0 when held back. */
size_t virtio_console_io_receive(struct virtio_console_port *p, const uint8_t *buf, size_t len,
				 bool from_stream);
/* host_connected follows base_connected and the stream; tells the driver. */
void virtio_console_update_connected(struct virtio_console_port *p);
void virtio_console_stream_destroy(struct virtio_console_port *p);

#endif
