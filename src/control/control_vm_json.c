/* The control socket's answers about a VM, as JSON; see control_vm_json.h. */
#include "control/control_vm_json.h"

#include <stdio.h>
#include <unistd.h>

#include "devices/virtio_balloon/virtio_balloon.h"
#include "virtio/virtio_pci.h"
#include "vm/vm.h"

static json_object *bytes_of_pages(uint64_t pages)
{
	return json_object_new_uint64(pages * VIRTIO_BALLOON_PAGE_SIZE);
}

/* Guest memory left beside the balloon (QMP's "actual"), never below 0. */
static uint64_t guest_memory(struct vm *vm, uint32_t balloon_pages)
{
	uint64_t ram = guest_mem_size(&vm->mem);
	uint64_t held = (uint64_t)balloon_pages * VIRTIO_BALLOON_PAGE_SIZE;

	return held < ram ? ram - held : 0;
}

static json_object *stats_object(const struct virtio_balloon_info *info)
{
	json_object *o = json_object_new_object();

	for (unsigned int tag = 0; o && tag < VIRTIO_BALLOON_STATS_TAGS; tag++) {
		bool have = info->have_stats && info->stats.valid[tag];

		/* The spec's tags always appear (null: not reported); newer ones when sent. */
		if (have)
			json_object_object_add(o, virtio_balloon_stats_name(tag),
					       json_object_new_uint64(info->stats.val[tag]));
		else if (tag < VIRTIO_BALLOON_S_NR)
			json_object_object_add(o, virtio_balloon_stats_name(tag), NULL);
	}
	return o;
}

json_object *control_vm_json_balloon(struct vm *vm, const struct virtio_balloon_info *info)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "stats", stats_object(info));
	json_object_object_add(o, "balloon_actual", bytes_of_pages(info->actual_pages));
	json_object_object_add(o, "balloon_target", bytes_of_pages(info->target_pages));
	json_object_object_add(o, "actual",
			       json_object_new_uint64(guest_memory(vm, info->actual_pages)));
	json_object_object_add(o, "driver_ok", json_object_new_boolean(info->driver_ok));
	json_object_object_add(o, "stats_reports", json_object_new_uint64(info->stats_count));
	json_object_object_add(o, "inflated_pages", json_object_new_uint64(info->inflated_pages));
	json_object_object_add(o, "deflated_pages", json_object_new_uint64(info->deflated_pages));
	json_object_object_add(o, "free_page_reported", json_object_new_uint64(info->reported_bytes));
	return o;
}

static json_object *balloon_summary(struct vm *vm)
{
	struct virtio_balloon_info info;
	json_object *o;

	if (!vm->balloon)
		return NULL;
	virtio_balloon_get_info(vm->balloon, &info);
	o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "target", bytes_of_pages(info.target_pages));
	json_object_object_add(o, "actual", bytes_of_pages(info.actual_pages));
	json_object_object_add(o, "memory",
			       json_object_new_uint64(guest_memory(vm, info.actual_pages)));
	json_object_object_add(o, "driver_ok", json_object_new_boolean(info.driver_ok));
	json_object_object_add(
		o, "features",
		json_object_new_uint64(info.features & ((1ULL << VIRTIO_TRANSPORT_F_START) - 1)));
	return o;
}

static json_object *devices(struct vm *vm)
{
	json_object *a = json_object_new_array();

	for (unsigned int i = 0; a && i < vm->num_virtio; i++) {
		const struct virtio_pci *vp = vm->virtio[i];
		json_object *d = json_object_new_object();
		char addr[16];

		if (!d)
			break;
		snprintf(addr, sizeof(addr), "00:%02x.0", vp->pci.slot);
		json_object_object_add(d, "name", json_object_new_string(vp->vdev->name));
		json_object_object_add(d, "virtio_id", json_object_new_int(vp->vdev->device_id));
		json_object_object_add(d, "pci", json_object_new_string(addr));
		json_object_array_add(a, d);
	}
	return a;
}

static const char *state_of(struct vm *vm, bool powerdown_requested)
{
	if (__atomic_load_n(&vm->exit_requested, __ATOMIC_ACQUIRE) || powerdown_requested)
		return "shutting-down";
	return vm_is_paused(vm) ? "paused" : "running";
}

json_object *control_vm_json_status(struct vm *vm, bool powerdown_requested)
{
	json_object *o = json_object_new_object();
	const char *state = state_of(vm, powerdown_requested);

	if (!o)
		return NULL;
	json_object_object_add(o, "status", json_object_new_string(state));
	json_object_object_add(o, "running", json_object_new_boolean(!vm_is_paused(vm)));
	json_object_object_add(o, "name", vm->cfg->name ? json_object_new_string(vm->cfg->name)
							: NULL);
	json_object_object_add(o, "pid", json_object_new_int64(getpid()));
	json_object_object_add(o, "vcpus", json_object_new_int((int)vm->num_vcpus));
	json_object_object_add(o, "memory", json_object_new_uint64(guest_mem_size(&vm->mem)));
	json_object_object_add(o, "balloon", balloon_summary(vm));
	json_object_object_add(o, "devices", devices(vm));
	return o;
}

json_object *control_vm_json_shutdown(enum vm_exit_status status, const char *reason)
{
	json_object *o = json_object_new_object();

	if (!reason) {
		switch (status) {
		case VM_EXIT_POWEROFF:
			reason = "poweroff";
			break;
		case VM_EXIT_RESET:
			reason = "guest-reset";
			break;
		case VM_EXIT_PANIC:
			reason = "guest-panic";
			break;
		case VM_EXIT_CRASH:
			reason = "crash";
			break;
		case VM_EXIT_START_FAILED:
			reason = "start-failed";
			break;
		}
	}
	if (!o)
		return NULL;
	json_object_object_add(o, "status", json_object_new_int((int)status));
	json_object_object_add(o, "reason", json_object_new_string(reason ? reason : "unknown"));
	return o;
}
