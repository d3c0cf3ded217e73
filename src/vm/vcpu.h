/*
 * vCPU threads. Each vCPU runs on its own thread, handling exits through
 * the VM's buses until the VM asks it to stop.
 *
 * Stopping never loses a kick: vcpu_kick() first sets the hypervisor's
 * pending-kick flag (KVM's immediate_exit), then signals the thread. A
 * thread about to enter the guest sees the flag; a thread inside the guest
 * is forced out by the signal; a thread handling an exit checks
 * vm->exit_requested before it runs again.
 *
 * Pausing uses the same kick: vm_pause() sets vm->paused, then kicks; a
 * vCPU that sees the flag parks in vcpu_park() instead of running, and
 * clears its pending kick when it is let go.
 */
#ifndef COVE_VM_VCPU_H
#define COVE_VM_VCPU_H

#include <stdbool.h>

#include "base/compiler.h"

struct vm;
struct vcpu;
struct hv_exit;

/* Installs the kick signal's handler; once per process, before vcpu_start. */
must_check int vcpu_signals_init(void);

must_check int vcpu_start(struct vcpu *vcpu);
void vcpu_kick(struct vcpu *vcpu);
void vcpu_join(struct vcpu *vcpu);

/*
 * On the vCPU's own thread: waits while the VM is paused (and not exiting),
 * counted in vm->parked, then clears the vCPU's pending kick. The caller
 * checks vm->exit_requested and vm->paused again afterwards.
 */
void vcpu_park(struct vcpu *vcpu);

/*
 * Handles one exit. Returns true to keep running, false when the vCPU must
 * stop (the VM has been asked to exit). Exposed for unit tests.
 */
bool vcpu_handle_exit(struct vm *vm, const struct hv_exit *exit, unsigned int vcpu_id);

#endif
