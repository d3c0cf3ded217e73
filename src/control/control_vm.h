/*
 * The control socket of one VM (`cove run -s PATH`): the control server
 * (control_server.h) on the VM's event loop, answering requests with what
 * the VM can do: status, quit, powerdown (the ACPI power button), reset,
 * pause/resume of the vCPUs, the balloon's target and statistics, and the
 * guest agent passthrough (an error until a guest agent channel exists).
 * docs/control-protocol.md describes every request and answer.
 *
 * Events sent to every client: POWERDOWN (the button was pressed), STOP
 * and RESUME (vCPUs paused, resumed), SHUTDOWN {"status", "reason"} as the
 * VM ends (then the socket closes).
 */
#ifndef COVE_CONTROL_CONTROL_VM_H
#define COVE_CONTROL_CONTROL_VM_H

#include "base/compiler.h"

/* How long balloon-stats waits for the guest's fresh numbers. */
#define CONTROL_VM_STATS_TIMEOUT_MS 2000
/* How long pause waits for every vCPU to stop. */
#define CONTROL_VM_PAUSE_TIMEOUT_MS 2000

struct vm;

/*
 * Creates the control socket of vm->cfg->socket_path (nothing without
 * one) and serves it on vm->loop; sets vm->control. Returns 0 or -errno
 * (one line logged).
 */
must_check int control_vm_start(struct vm *vm);

/*
 * Answers what is still pending, sends SHUTDOWN with vm->exit_status,
 * closes every connection and removes the socket. After the event loop
 * stopped (or before it ran).
 */
void control_vm_stop(struct vm *vm);

#endif
