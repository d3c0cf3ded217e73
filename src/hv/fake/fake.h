/*
 * The fake hypervisor: an in-memory hv.h backend for unit tests and
 * fuzzing. A fake vCPU replays a script of exits, then behaves like a guest
 * that runs forever: run() blocks until the vCPU is kicked. Tests inspect
 * what Cove asked of the "hypervisor" through the structs below.
 */
#ifndef COVE_HV_FAKE_FAKE_H
#define COVE_HV_FAKE_FAKE_H

#include <pthread.h>

#include "hv/hv.h"

#define FAKE_MAX_SLOTS 8
#define FAKE_MAX_SCRIPT 16
#define FAKE_MAX_GSI 256
#define FAKE_MAX_IOEVENTFDS 16

/* An MSI route or irqfd binding as Cove asked for it. */
struct fake_gsi {
	int irqfd;		/* -1: none (0 is never an eventfd here) */
	bool msi_routed;
	uint64_t msi_addr;
	uint32_t msi_data;
};

struct fake_vm {
	struct hv_vm base;
	struct {
		uint64_t gpa, size;
		void *hva;
	} slots[FAKE_MAX_SLOTS];
	unsigned int num_slots;
	bool arch_ready;
	uint32_t irq_level_mask; /* bit n: GSI n is high */
	struct fake_gsi gsis[FAKE_MAX_GSI];
	/*
	 * ioeventfds: refused with -EOPNOTSUPP (doorbell writes then reach the
	 * device's MMIO handler) unless a test sets `ioeventfds_on`; then the
	 * bindings are kept here, unordered.
	 */
	bool ioeventfds_on;
	struct {
		uint64_t addr;
		int fd;
	} ioeventfds[FAKE_MAX_IOEVENTFDS];
	unsigned int num_ioeventfds;
};

struct fake_vcpu {
	struct hv_vcpu base;
	pthread_mutex_t lock;
	pthread_cond_t kicked;
	bool kick;
	struct hv_exit script[FAKE_MAX_SCRIPT];
	unsigned int script_len, script_pos;
	unsigned int runs;		/* calls to run() */
	bool has_regs;			/* arch_setup got entry registers */
	struct hv_x86_boot_regs regs;
};

/* Queues exits for the vCPU to return, in order, before it "runs forever". */
void hv_fake_vcpu_script(struct hv_vcpu *vcpu, const struct hv_exit *exits, unsigned int n);

static inline struct fake_vm *hv_fake_vm(struct hv_vm *vm)
{
	return container_of(vm, struct fake_vm, base);
}

static inline struct fake_vcpu *hv_fake_vcpu(struct hv_vcpu *vcpu)
{
	return container_of(vcpu, struct fake_vcpu, base);
}

#endif
