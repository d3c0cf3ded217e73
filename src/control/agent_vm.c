/* The guest agent of one VM, for its control socket; see agent_vm.h. */
#include "control/agent_vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "control/agent.h"
#include "devices/virtio_console/virtio_console.h"
#include "vm/vm.h"

struct agent_vm {
	struct agent agent;
	struct virtio_console *con;
	unsigned int port;
};

static int attach(void *opaque, int fd, char *err, size_t errlen)
{
	struct agent_vm *av = opaque;
	struct virtio_console_port *p = &av->con->ports[av->port];
	int ret = virtio_console_attach_stream(av->con, av->port, fd, "the guest agent endpoint",
					       NULL, NULL);

	if (ret == -EBUSY)
		snprintf(err, errlen,
			 "the guest agent channel is in use by a client of %s; try again when it "
			 "has disconnected",
			 p->listener ? p->listener->path : "its socket");
	else if (ret)
		snprintf(err, errlen, "cannot open the guest agent channel: %s", strerror(-ret));
	return ret;
}

static void detach(void *opaque)
{
	struct agent_vm *av = opaque;

	virtio_console_detach_stream(av->con, av->port);
}

static const struct agent_channel_ops channel_ops = {.attach = attach, .detach = detach};

int agent_vm_new(struct vm *vm, struct agent_vm **out)
{
	struct agent_vm *av;
	int err;

	*out = NULL;
	if (!vm->console || vm->console->agent_port < 0)
		return 0;
	av = calloc(1, sizeof(*av));
	if (!av)
		return -ENOMEM;
	av->con = vm->console;
	av->port = (unsigned int)vm->console->agent_port;
	err = agent_init(&av->agent, &vm->loop, &channel_ops, av);
	if (err) {
		free(av);
		return err;
	}
	*out = av;
	return 0;
}

static void answered(void *opaque, json_object *reply, const char *error)
{
	struct control_call *call = opaque;

	if (reply) {
		control_call_return(call, reply);
		return;
	}
	log_info("control: agent command failed: %s", error);
	control_call_error(call, CONTROL_ERR_GENERIC, "%s", error);
}

void agent_vm_request(struct agent_vm *av, struct control_call *call,
		      const struct control_request *req)
{
	if (!av) {
		control_call_error(call, CONTROL_ERR_DEVICE_NOT_FOUND,
				   "this VM has no guest agent channel");
		return;
	}
	agent_submit(&av->agent, json_object_get(req->agent_message), req->agent_timeout_ms,
		     answered, call);
}

void agent_vm_free(struct agent_vm *av)
{
	if (!av)
		return;
	agent_destroy(&av->agent);
	free(av);
}
