/*
 * One virtual machine: built from a vm_config by vm_build(), run by
 * vm_run(), torn down by vm_destroy(). See vm.c for the build steps.
 */
#ifndef COVE_VM_VM_H
#define COVE_VM_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "arch/arch.h"
#include "base/event_loop.h"
#include "config/vm_config.h"
#include "hv/hv.h"
#include "pci/pci_bus.h"
#include "vm/bus.h"
#include "vm/guest_mem.h"
#include "vm/vm_events.h"

/* PCI slots 1-31 minus room to spare: more than enough virtio devices. */
#define VM_MAX_VIRTIO 30

struct virtio_pci;
struct virtio_balloon;
struct virtio_console;
struct control_vm;

struct vcpu {
	struct vm *vm;
	struct hv_vcpu *hv;
	pthread_t thread;
	bool thread_started;
};

struct vm {
	const struct vm_config *cfg;
	struct timespec start_time; /* process start, for the boot marker */

	const struct hv_ops *hv_ops;
	struct hv *hv;
	struct hv_vm *hv_vm;
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
	struct event_loop loop;
	int signal_fd;	/* SIGTERM/SIGINT/SIGHUP, served by the loop */
	struct vm_events events;
	struct arch_vm arch; /* machine-specific state: legacy devices, boot info */
	struct pci_bus pci;
	struct virtio_pci *virtio[VM_MAX_VIRTIO]; /* attached by devices/registry.c */
	unsigned int num_virtio;
	struct virtio_balloon *balloon; /* NULL with --no-balloon */
	struct virtio_console *console; /* the guest agent's channel is on it; NULL: none */

	struct vcpu vcpus[VM_CONFIG_MAX_CPUS];
	unsigned int num_vcpus;

	/* Set once by the first exit request; read by vCPU threads. */
	int exit_requested;
	enum vm_exit_status exit_status;

	/*
	 * Pausing (vm_pause): while `paused` is set, vCPU threads park on
	 * run_cond; `parked` counts them. Under run_lock, a leaf lock.
	 */
	pthread_mutex_t run_lock;
	pthread_cond_t run_cond;
	bool paused;
	unsigned int parked;

	struct control_vm *control; /* the control socket (--socket), or NULL */

	int build_step; /* how far vm_build got, for the teardown ladder */
};

/*
 * Builds the VM described by `cfg` (which must outlive the VM). `start` is
 * the process start (CLOCK_MONOTONIC), the origin of boot timings. On failure
 * returns -errno after printing one line naming the failed step and cause,
 * with everything built so far torn down again.
 */
must_check int vm_build(struct vm *vm, const struct vm_config *cfg,
			 const struct timespec *start);

/*
 * Runs the VM: starts the vCPU threads, serves the event loop on the
 * calling thread until an exit request, then stops and joins the vCPUs.
 * Returns the exit status (enum vm_exit_status).
 */
int vm_run(struct vm *vm);

void vm_destroy(struct vm *vm);

/* Asks the VM to stop with `status`; the first request wins. Any thread. */
void vm_request_exit(struct vm *vm, enum vm_exit_status status);

/*
 * Pauses the guest: every vCPU is kicked out of the guest and parks until
 * vm_resume() (see vcpu.h). Waits up to timeout_ms for all of them to be
 * parked. Returns 0 (paused, or already paused), -ETIMEDOUT (some vCPU is
 * still on its way: the VM counts as paused, and it parks when it gets
 * there) or -ESHUTDOWN (the VM is exiting). Not from a vCPU thread.
 */
must_check int vm_pause(struct vm *vm, int timeout_ms);
/* Lets the parked vCPUs run again; a no-op unless paused. Any thread. */
void vm_resume(struct vm *vm);
bool vm_is_paused(struct vm *vm);

#endif
