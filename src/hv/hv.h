/*
 * The hypervisor interface. Generic code (vm/, devices/) drives a hypervisor
 * only through these ops tables and the normalized `struct hv_exit`; backend
 * details (struct kvm_run, ioctls) stay inside hv/<backend>/.
 *
 * Ownership: an hv owns nothing but its device fd; a vm must be destroyed
 * before its hv is closed, and vcpus before their vm. Unsupported operations
 * return -EOPNOTSUPP. All fallible calls return 0 or -errno.
 */
#ifndef COVE_HV_HV_H
#define COVE_HV_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "hv_arch.h"

struct hv;
struct hv_vm;
struct hv_vcpu;

enum hv_exit_reason {
	HV_EXIT_IO,		/* port I/O: io.* */
	HV_EXIT_MMIO,		/* memory-mapped I/O: mmio.* */
	HV_EXIT_HLT,		/* the vCPU halted with no in-kernel irqchip to wait on */
	HV_EXIT_INTR,		/* interrupted by a kick or a signal: check for stop */
	HV_EXIT_SHUTDOWN,	/* x86 triple fault: the machine resets */
	HV_EXIT_SYSTEM_RESET,	/* the hypervisor saw a reset request (PSCI, ...) */
	HV_EXIT_SYSTEM_OFF,	/* the hypervisor saw a power-off request */
	HV_EXIT_CRASH,		/* the guest crashed (hypervisor-reported) */
	HV_EXIT_INTERNAL_ERROR, /* emulation failure: internal.* */
	HV_EXIT_FAIL_ENTRY,	/* the hardware refused to enter: internal.code */
	HV_EXIT_UNKNOWN,	/* anything else: internal.code holds the raw reason */
};

struct hv_exit {
	enum hv_exit_reason reason;
	union {
		/* `count` transfers of `size` bytes at `data` (string I/O). On a
		 * read the handler fills data; it is copied back on the next run. */
		struct {
			uint16_t port;
			uint8_t size;
			bool write;
			uint32_t count;
			uint8_t *data;
		} io;
		struct {
			uint64_t addr;
			uint32_t len;
			bool write;
			uint8_t *data;
		} mmio;
		struct {
			uint64_t code;
		} internal;
	};
};

struct hv_ops {
	const char *name;
	/* Opens the hypervisor device at `path` and probes that it is usable. */
	int (*open)(const char *path, struct hv **out);
	void (*close)(struct hv *hv);
	int (*arch_caps)(struct hv *hv, struct hv_arch_caps *caps);
	int (*create_vm)(struct hv *hv, struct hv_vm **out);
};

struct hv_vm_ops {
	void (*destroy)(struct hv_vm *vm);
	/* Maps host memory [hva, hva+size) at guest-physical gpa in `slot`. */
	int (*set_memory)(struct hv_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
			  void *hva);
	int (*arch_setup)(struct hv_vm *vm, const struct hv_arch_vm_init *init);
	int (*set_irq_line)(struct hv_vm *vm, uint32_t gsi, bool level);
	/* Signals `fd` (an eventfd) on guest writes of `len` bytes to `addr`. */
	int (*add_ioeventfd)(struct hv_vm *vm, uint64_t addr, uint32_t len, bool pio, int fd);
	/* Undoes add_ioeventfd with the same arguments. */
	int (*remove_ioeventfd)(struct hv_vm *vm, uint64_t addr, uint32_t len, bool pio, int fd);
	/* Raises `gsi` whenever `fd` (an eventfd) is signalled. */
	int (*add_irqfd)(struct hv_vm *vm, uint32_t gsi, int fd);
	/*
	 * Routes `gsi` (at or above the architecture's first MSI GSI) to the
	 * message-signalled interrupt {addr, data}, replacing any earlier route
	 * of that GSI. Any thread. Returns 0, -ENOSPC or -errno.
	 */
	int (*set_msi_route)(struct hv_vm *vm, uint32_t gsi, uint64_t addr, uint32_t data);
	int (*create_vcpu)(struct hv_vm *vm, uint32_t id, struct hv_vcpu **out);
};

struct hv_vcpu_ops {
	void (*destroy)(struct hv_vcpu *vcpu);
	int (*arch_setup)(struct hv_vcpu *vcpu, const struct hv_arch_vcpu_init *init);
	/*
	 * Runs the vCPU until an exit that needs Cove. Returns 0 with *exit
	 * filled, or -errno on a host failure. A pending kick makes it return
	 * HV_EXIT_INTR at once, even if the kick came before the call.
	 */
	int (*run)(struct hv_vcpu *vcpu, struct hv_exit *exit);
	/*
	 * Sets or clears the pending kick (from any thread, not from signal handlers). Setting it makes
	 * the current or next run() return HV_EXIT_INTR; the caller also sends a
	 * signal to get a vCPU thread that is inside run() out of the kernel.
	 */
	void (*set_kick)(struct hv_vcpu *vcpu, bool pending);
	/* The instruction pointer, for diagnostics; only while not running. */
	int (*get_ip)(struct hv_vcpu *vcpu, uint64_t *ip);
};

struct hv {
	const struct hv_ops *ops;
};

struct hv_vm {
	const struct hv_vm_ops *ops;
	struct hv *hv;
};

struct hv_vcpu {
	const struct hv_vcpu_ops *ops;
	struct hv_vm *vm;
	uint32_t id;
};

/* Backends, chosen at run time by name (crosvm's --hypervisor). */
extern const struct hv_ops hv_kvm_ops;
extern const struct hv_ops hv_fake_ops;

/* Returns the user-selectable backend called `name`, or NULL (the fake
 * backend is for unit tests and is never selectable). */
const struct hv_ops *hv_find(const char *name);
/* A comma-separated list of the user-selectable backends, for error messages. */
const char *hv_supported_names(void);

#endif
