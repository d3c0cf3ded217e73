/*
 * struct vm_config: everything needed to build one VM, as plain validated
 * data. The `run` command-line parser (cli.c) fills it; later the manager
 * fills it from domain XML. The VMM never sees argv or XML.
 */
#ifndef COVE_CONFIG_VM_CONFIG_H
#define COVE_CONFIG_VM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/log.h"

#define VM_CONFIG_MAX_CPUS 64
#define VM_CONFIG_MAX_SERIALS 8
#define VM_CONFIG_MAX_PARAMS 64
#define VM_CONFIG_DEFAULT_MEM_MIB 256
#define VM_CONFIG_MAX_MEM_MIB (1024ULL * 1024) /* 1 TiB */
#define SERIAL_MAX_COM 4

/* Where a serial port's output goes (crosvm's `type=`). */
enum serial_type {
	SERIAL_TYPE_SINK, /* discard (crosvm's default type) */
	SERIAL_TYPE_STDOUT,
	SERIAL_TYPE_FILE, /* needs path */
};

/* Which device model carries it (crosvm's `hardware=`). */
enum serial_hw {
	SERIAL_HW_UART, /* 16550 at COM1..4 (crosvm: hardware=serial) */
	SERIAL_HW_VIRTIO_CONSOLE,
};

struct serial_config {
	enum serial_type type;
	enum serial_hw hw;
	unsigned int num; /* 1-based: COM<num> or hvc<num-1> */
	char *path;	  /* type=file */
	bool console;	  /* console=ttyS<num-1> / hvc<num-1> */
	bool earlycon;	  /* earlycon=uart8250,io,<port> (UART only) */
	bool stdin;	  /* host stdin feeds this port */
};

struct vm_config {
	/* Global options (before the verb). */
	enum log_level log_level;
	bool syslog;

	unsigned int num_cpus;	/* >= 1 */
	uint64_t mem_mib;	/* >= 1 */
	char *kernel_path;
	char *initrd_path;	/* NULL: none */
	char *params[VM_CONFIG_MAX_PARAMS];
	unsigned int num_params;

	struct serial_config serials[VM_CONFIG_MAX_SERIALS];
	unsigned int num_serials;

	/* NULL until vm_config_finish(), which sets "/dev/kvm" unless
	 * --hypervisor kvm[device=PATH] gave another path. */
	char *kvm_device;
	bool disable_sandbox;
	bool no_rng;		/* accepted now, used by the virtio issue */
	bool no_balloon;

	char *socket_path;	/* --socket/-s: control socket; NULL: none */
	char *name;		/* --name: VM name; NULL: none */
};

/* Defaults: 1 vCPU, 256 MiB, log level warn, syslog on, no serials. */
void vm_config_init(struct vm_config *cfg);
/* Frees every string the config owns and re-initialises it. */
void vm_config_free(struct vm_config *cfg);

/*
 * Adds one serial port after checking it against the ports already there:
 * (hardware, num) unique, at most one with stdin, at most one with earlycon,
 * at most VM_CONFIG_MAX_SERIALS in all. The port itself must already be
 * valid on its own (num range, earlycon only on a UART, path iff type=file).
 * On success cfg owns sc->path; on failure the caller still does, and err
 * holds one line without an option-name prefix. Returns 0 or -EINVAL.
 */
must_check int vm_config_add_serial(struct vm_config *cfg, const struct serial_config *sc,
				    char *err, size_t errlen);

/*
 * Completes a parsed config, as crosvm does after parsing: if no serial port
 * has `console`, adds COM1 as type=stdout with console (and stdin unless
 * another port takes it) -- but only when COM1 is not configured already
 * (then the guest simply gets no console= parameter, as in crosvm).
 * Sets kvm_device to "/dev/kvm" when unset. Idempotent.
 * Returns 0, -EINVAL (no kernel, or no room for the default serial) or
 * -ENOMEM, with one line in err.
 */
must_check int vm_config_finish(struct vm_config *cfg, char *err, size_t errlen);

#endif
