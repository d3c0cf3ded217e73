/*
 * virtio-console's registry entry: one multiport device for every
 * `--serial ...,hardware=virtio-console` of the config, with the host side
 * of each port (see virtio_console.h for the device).
 *
 * Port layout, in this order:
 *  1. numbered serials: num=k is port k-1; numbers left out are filled with
 *     sink consoles, because Linux hands out hvc numbers in the order
 *     console ports appear and a gap would shift every later one;
 *  2. named channels given without num, in command-line order;
 *  3. unless some port is named SERIAL_AGENT_PORT, the guest agent's
 *     channel with no host side of its own (Cove's agent endpoint borrows
 *     it per request: control/agent.c), so that the agent verbs always
 *     have a channel.
 * A port is a console (CONSOLE_PORT, an hvc in the guest) unless it has a
 * name and no `console` key; named ports get PORT_NAME, which Linux shows
 * as /sys/class/virtio-ports/vportNpM/name (udev: /dev/virtio-ports/NAME).
 *
 * Host sides by type: stdout, file, sink (output only; stdin may feed one
 * port); unix-stream (Cove listens on path and attaches one client at a
 * time as the port's stream: the guest sees the host side open only while
 * a client is connected); pty (a new pseudo-terminal, its path printed on
 * stderr); dev (a host character device in raw mode). pty and dev are read
 * and written.
 */
#include "devices/virtio_console/virtio_console.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "devices/registry.h"
#include "vm/vm.h"

/* One port to create: its serial (NULL for a gap or Cove's agent channel). */
struct port_plan {
	const struct serial_config *s;
	bool agent_internal;
	struct host_tty tty; /* pty/dev, until the device owns it */
	char label[48];	     /* for log lines: "hvc0", "port 2 (NAME)" */
};

static bool is_agent(const struct serial_config *s)
{
	return s->name && strcmp(s->name, SERIAL_AGENT_PORT) == 0;
}

/* Fills plan[] in the order of the header; returns the port count (0: none). */
static unsigned int plan_ports(const struct vm_config *cfg, struct port_plan *plan)
{
	unsigned int nr = 0;
	bool agent = false;

	for (unsigned int i = 0; i < cfg->num_serials; i++)
		if (cfg->serials[i].hw == SERIAL_HW_VIRTIO_CONSOLE)
			nr = MAX(nr, cfg->serials[i].num);
	for (unsigned int k = 0; k < nr; k++)
		plan[k] = (struct port_plan){.tty = {.fd = -1, .hold_fd = -1}};
	for (unsigned int i = 0; i < cfg->num_serials; i++) {
		const struct serial_config *s = &cfg->serials[i];

		if (s->hw != SERIAL_HW_VIRTIO_CONSOLE)
			continue;
		agent |= is_agent(s);
		plan[s->num ? s->num - 1 : nr++] =
		    (struct port_plan){.s = s, .tty = {.fd = -1, .hold_fd = -1}};
	}
	if (!agent)
		plan[nr++] =
		    (struct port_plan){.agent_internal = true, .tty = {.fd = -1, .hold_fd = -1}};
	assert(nr <= VIRTIO_CONSOLE_MAX_PORTS); /* the parser bounds num and the count */
	for (unsigned int k = 0; k < nr; k++) {
		const struct serial_config *s = plan[k].s;
		const char *name = s ? s->name : plan[k].agent_internal ? SERIAL_AGENT_PORT : NULL;

		if (name)
			snprintf(plan[k].label, sizeof(plan[k].label), "port %u (%.24s)", k, name);
		else
			snprintf(plan[k].label, sizeof(plan[k].label), "hvc%u", k);
	}
	return nr;
}

/* The output (and for pty/dev the terminal) of one planned port. */
static int open_host(struct port_plan *pp, struct virtio_console_port_spec *spec)
{
	const struct serial_config *s = pp->s;
	enum serial_type type = s ? s->type : SERIAL_TYPE_SINK;
	int err = 0, fd;

	chardev_init_sink(&spec->out);
	if (type == SERIAL_TYPE_STDOUT)
		err = chardev_open_stdout(&spec->out);
	else if (type == SERIAL_TYPE_FILE)
		err = chardev_open_file(&spec->out, s->path);
	else if (type == SERIAL_TYPE_PTY)
		err = host_tty_open_pty(&pp->tty);
	else if (type == SERIAL_TYPE_DEV)
		err = host_tty_open_dev(&pp->tty, s->path);
	if (!err && pp->tty.fd >= 0) {
		fd = fcntl(pp->tty.fd, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			err = -errno;
		else
			chardev_init_fd(&spec->out, fd, true, pp->tty.path);
	}
	if (err)
		log_error("--serial: cannot open %s for virtio-console %s: %s",
			  type == SERIAL_TYPE_PTY      ? "a pty"
			  : type == SERIAL_TYPE_STDOUT ? "stdout"
						       : s->path,
			  pp->label, strerror(-err));
	return err;
}

static void fill_spec(const struct port_plan *pp, struct virtio_console_port_spec *spec)
{
	const struct serial_config *s = pp->s;

	spec->name = s ? s->name : pp->agent_internal ? SERIAL_AGENT_PORT : NULL;
	spec->is_console = s ? !s->name || s->console : !pp->agent_internal;
	spec->host_connected = !s || s->type != SERIAL_TYPE_UNIX_STREAM;
}

static void close_plan(struct port_plan *plan, struct virtio_console_port_spec *specs,
		       unsigned int nr)
{
	for (unsigned int k = 0; k < nr; k++) {
		host_tty_close(&plan[k].tty);
		chardev_close(&specs[k].out);
	}
}

static void on_client_gone(void *opaque)
{
	struct virtio_console_port *p = opaque;

	log_info("virtio-console port %u: the client of %s went away", p->id, p->listener->path);
}

/* A client connected to a type=unix-stream port: it becomes the port's stream. */
static void on_client(void *opaque, int fd)
{
	struct virtio_console_port *p = opaque;
	int err =
	    virtio_console_attach_stream(p->con, p->id, fd, p->listener->path, on_client_gone, p);

	if (err) {
		log_warn("virtio-console port %u: cannot serve the client of %s: %s", p->id,
			 p->listener->path, strerror(-err));
		unix_listener_resume(p->listener);
		return;
	}
	log_info("virtio-console port %u: a client connected to %s", p->id, p->listener->path);
}

static int start_listener(struct virtio_console *con, unsigned int port, const char *path)
{
	struct virtio_console_port *p = &con->ports[port];
	struct unix_listener *l = calloc(1, sizeof(*l));
	int err;

	if (!l)
		return -ENOMEM;
	err = unix_listener_open(l, path, con->vdev.loop, on_client, p);
	if (err) {
		free(l);
		return err;
	}
	p->listener = l;
	return 0;
}

/* Inputs and listeners, once the device exists. */
static int start_inputs(struct virtio_console *con, struct port_plan *plan, unsigned int nr)
{
	int err = 0;

	for (unsigned int k = 0; k < nr && !err; k++) {
		const struct serial_config *s = plan[k].s;

		if (plan[k].tty.fd >= 0) {
			err = virtio_console_set_tty(con, k, &plan[k].tty);
			if (!err && s->type == SERIAL_TYPE_PTY)
				fprintf(stderr, "cove: virtio-console %s is %s\n", plan[k].label,
					con->ports[k].tty.path);
		} else if (s && s->type == SERIAL_TYPE_UNIX_STREAM) {
			err = start_listener(con, k, s->path);
		} else if (s && s->stdin) {
			err = virtio_console_pump_fd(con, k, STDIN_FILENO);
		}
		if (err)
			log_error("virtio-console %s: cannot serve its input: %s", plan[k].label,
				  strerror(-err));
	}
	return err;
}

int virtio_console_from_config(const struct vm_config *cfg, const struct guest_mem *mem,
			       struct event_loop *loop, struct virtio_console **out)
{
	struct port_plan plan[VIRTIO_CONSOLE_MAX_PORTS];
	struct virtio_console_port_spec specs[VIRTIO_CONSOLE_MAX_PORTS];
	struct virtio_console *con;
	unsigned int nr = plan_ports(cfg, plan);
	int err = 0;

	for (unsigned int k = 0; k < nr; k++)
		chardev_init_sink(&specs[k].out);
	for (unsigned int k = 0; k < nr && !err; k++) {
		fill_spec(&plan[k], &specs[k]);
		err = open_host(&plan[k], &specs[k]);
	}
	if (err) {
		close_plan(plan, specs, nr);
		return err;
	}
	err = virtio_console_new(specs, nr, mem, loop, &con); /* takes the outputs */
	if (err) {
		close_plan(plan, specs, nr);
		log_error("cannot create virtio-console: %s", strerror(-err));
		return err;
	}
	for (unsigned int k = 0; k < nr; k++) {
		if (plan[k].agent_internal || (plan[k].s && is_agent(plan[k].s))) {
			con->agent_port = (int)k;
			con->agent_internal = plan[k].agent_internal;
		}
	}
	err = start_inputs(con, plan, nr);
	if (err) {
		close_plan(plan, specs, nr); /* terminals not handed over yet */
		virtio_console_destroy(con);
		return err;
	}
	*out = con;
	return 0;
}

int virtio_console_create_all(struct vm *vm)
{
	struct virtio_console *con;
	int err = virtio_console_from_config(vm->cfg, &vm->mem, &vm->loop, &con);

	if (err)
		return err;
	err = vm_attach_virtio(vm, &con->vdev);
	if (err) {
		virtio_console_destroy(con);
		return err;
	}
	vm->console = con;
	return 0;
}
