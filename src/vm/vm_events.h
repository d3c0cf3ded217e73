/*
 * How devices ask the VM to end: power-off, reset, crash or guest panic.
 * The VM records the first request, stops every vCPU and the event loop,
 * and `cove run` exits with the matching status (see exit_status below).
 */
#ifndef COVE_VM_VM_EVENTS_H
#define COVE_VM_VM_EVENTS_H

/* Exit statuses of `cove run`, following crosvm's convention. */
enum vm_exit_status {
	VM_EXIT_POWEROFF = 0, /* guest powered off, or `cove stop` */
	VM_EXIT_START_FAILED = 1,
	VM_EXIT_RESET = 32,   /* guest rebooted (Cove does not restart it) */
	VM_EXIT_CRASH = 33,   /* vCPU failure: emulation error, failed entry */
	VM_EXIT_PANIC = 34,   /* guest kernel panic reported through pvpanic */
};

struct vm_events {
	/* Callable from any thread; the first request wins. */
	void (*request_exit)(void *opaque, enum vm_exit_status status);
	void *opaque;
};

static inline void vm_events_request(const struct vm_events *ev, enum vm_exit_status status)
{
	if (ev && ev->request_exit)
		ev->request_exit(ev->opaque, status);
}

#endif
