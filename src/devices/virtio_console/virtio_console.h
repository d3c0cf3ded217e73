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
 * Threading: everything runs under vdev.lock. Queue kicks come from the
 * transport with the lock held; the input backend (virtio_console_receive)
 * and the output-writable callback run on the event loop and take it.
 */
#ifndef COVE_DEVICES_VIRTIO_CONSOLE_VIRTIO_CONSOLE_H
#define COVE_DEVICES_VIRTIO_CONSOLE_VIRTIO_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/chardev.h"
#include "backends/input_pump.h"
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

struct virtio_console_port {
	struct virtio_console *con;
	unsigned int id;
	char *name;
	bool is_console;
	bool host_connected;

	/* Driver-side state: back to false/0 on every device reset. */
	bool added;	     /* DEVICE_ADD delivered */
	bool ready;	     /* PORT_READY(1) received */
	bool guest_open;     /* the guest's last PORT_OPEN said 1 */
	unsigned int pending; /* enum virtio_console_pending bits */

	/* Output: one transmit chain at a time, written whole, in order. */
	struct chardev out;
	bool out_watched;	      /* out fd is in the event loop (EPOLLOUT), stalled */
	bool out_error_logged;
	bool out_watch_error_logged;
	struct virtq_chain *tx_chain; /* the chain being written (tx_busy) */
	bool tx_busy;
	size_t tx_off;		      /* bytes of tx_chain already written */

	/* Input: the backend to wake when the port can take bytes again. */
	void (*input_wake)(void *arg);
	void *input_wake_arg;
	struct input_pump pump; /* when the input is an fd (stdin) */
	bool pumping;
};

struct virtio_console {
	struct virtio_device vdev;
	unsigned int nr_ports;
	bool multiport;	    /* VIRTIO_CONSOLE_F_MULTIPORT negotiated */
	bool driver_ready;  /* DEVICE_READY(1) received */
	unsigned int ctrl_logged; /* refused message kinds already logged (1 << verdict) */
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

/*
 * The host side of `port` connected or went away (sockets, later): the
 * driver is told with PORT_OPEN once the port is ready. Takes the lock.
 */
void virtio_console_set_host_connected(struct virtio_console *con, unsigned int port,
				       bool connected);

/*
 * Registry entry: creates the device when vm->cfg has any
 * hardware=virtio-console serial, opens the outputs, pumps stdin into the
 * port that asked for it and attaches the device with vm_attach_virtio().
 * Returns 0 (also when there is nothing to create) or -errno (logged).
 */
struct vm;
must_check int virtio_console_create_all(struct vm *vm);

/* Queue numbers of port `port`. */
unsigned int virtio_console_rxq(unsigned int port);
unsigned int virtio_console_txq(unsigned int port);

/* Internal to the device's files (virtio_console_io.c). */
void virtio_console_io_tx(struct virtio_console_port *p);
void virtio_console_io_wake_input(struct virtio_console_port *p);

#endif
