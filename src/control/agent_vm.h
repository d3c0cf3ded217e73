/*
 * The guest agent of one VM, for its control socket: the agent endpoint
 * (agent.h) on the VM's guest agent channel, the virtio-console port named
 * org.qemu.guest_agent.0 (vm->console), answering `agent` requests.
 *
 * The channel's host side and Cove's endpoint take turns: each command
 * attaches its session as the port's stream. When the user gave the port a
 * type=unix-stream socket, its client and Cove's endpoint exclude each
 * other: while a client is connected, `agent` requests fail at once (the
 * port is in use), and while a command runs, a new client waits in the
 * socket's backlog until the command is answered. With other host types
 * (file, stdout, pty, dev, sink) a command borrows the port for its
 * session: the guest's output meanwhile goes to the command, the host
 * device's input waits.
 */
#ifndef COVE_CONTROL_AGENT_VM_H
#define COVE_CONTROL_AGENT_VM_H

#include "base/compiler.h"
#include "control/control_proto.h"
#include "control/control_server.h"

struct vm;
struct agent_vm;

/*
 * Creates the VM's guest agent endpoint on vm->loop; *out is NULL when the
 * VM has no agent channel. Returns 0 or -errno.
 */
must_check int agent_vm_new(struct vm *vm, struct agent_vm **out);
/*
 * Answers the control request `req` (CONTROL_CMD_AGENT) on `call`, now or
 * later; `av` may be NULL (no channel: an error). Takes nothing from req.
 */
void agent_vm_request(struct agent_vm *av, struct control_call *call,
		      const struct control_request *req);
/* Fails what is pending and frees the endpoint; NULL is fine. */
void agent_vm_free(struct agent_vm *av);

#endif
