/*
 * The JSON bodies of the control socket's answers about a VM (see
 * docs/control-protocol.md for their members): status, the balloon's
 * state and statistics, and the SHUTDOWN event's data. Each returns a new
 * object (NULL when out of memory, which the server reports).
 */
#ifndef COVE_CONTROL_CONTROL_VM_JSON_H
#define COVE_CONTROL_CONTROL_VM_JSON_H

#include <json-c/json.h>
#include <stdbool.h>

#include "vm/vm_events.h"

struct vm;
struct virtio_balloon_info;

/* `status`: state, vCPUs, memory, balloon, devices. Loop thread. */
json_object *control_vm_json_status(struct vm *vm, bool powerdown_requested);

/* `balloon-stats`: the balloon's size and the guest's statistics from `info`. */
json_object *control_vm_json_balloon(struct vm *vm, const struct virtio_balloon_info *info);

/* SHUTDOWN's data: the exit status of `cove run` and why. reason may be NULL. */
json_object *control_vm_json_shutdown(enum vm_exit_status status, const char *reason);

#endif
