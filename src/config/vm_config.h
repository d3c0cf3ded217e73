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
#define VM_CONFIG_MAX_DISKS 26	/* vda..vdz */
#define BLOCK_ID_MAX 20		/* VIRTIO_BLK_ID_BYTES: the GET_ID string */
#define BLOCK_SIZE_DEFAULT 512
#define BLOCK_SIZE_MIN 512
#define BLOCK_SIZE_MAX 65536
#define SERIAL_NAME_MAX 127	/* a virtio-console port name (PORT_NAME payload) */
#define SERIAL_AGENT_PORT "org.qemu.guest_agent.0" /* the guest agent's channel */
#define VM_CONFIG_MAX_NICS 8
#define NET_MAX_VQ_PAIRS 16	/* TAP_MAX_QUEUES */
#define VSOCK_MIN_CID 3		/* 0 hypervisor, 1 local, 2 host */
#define VSOCK_MAX_CID 0xfffffffeULL /* 0xffffffff is VMADDR_CID_ANY */

#define VM_CONFIG_MAX_SHARED_DIRS 16
#define SHARED_DIR_TAG_MAX 255	      /* virtio-9p mount_tag bytes */
#define SHARED_DIR_IDMAP_MAX 8	      /* ranges per uidmap / gidmap */
#define SHARED_DIR_MSIZE_MIN 4096     /* 9P's smallest useful msize */
#define SHARED_DIR_MSIZE_MAX (8u << 20)
#define SHARED_DIR_MSIZE_DEFAULT (1u << 20)
#define SHARED_DIR_FMODE_DEFAULT 0600 /* QEMU's defaults for the mapped models */
#define SHARED_DIR_DMODE_DEFAULT 0700

/* Where a serial port's output goes (crosvm's `type=`). */
enum serial_type {
	SERIAL_TYPE_SINK, /* discard (crosvm's default type) */
	SERIAL_TYPE_STDOUT,
	SERIAL_TYPE_FILE, /* needs path */
	SERIAL_TYPE_UNIX_STREAM, /* Cove listens on path, one client at a time */
	SERIAL_TYPE_PTY,	 /* a new pseudo-terminal; its path is printed */
	SERIAL_TYPE_DEV,	 /* a host character device at path, opened raw */
};

/* Which device model carries it (crosvm's `hardware=`). */
enum serial_hw {
	SERIAL_HW_UART, /* 16550 at COM1..4 (crosvm: hardware=serial) */
	SERIAL_HW_VIRTIO_CONSOLE,
};

struct serial_config {
	enum serial_type type;
	enum serial_hw hw;
	/*
	 * 1-based: COM<num> or virtio-console port num-1 (hvc<num-1> when it
	 * is a console). 0 only for a named virtio-console port that is not a
	 * console and had no num=: it goes after every numbered port.
	 */
	unsigned int num;
	char *path;	  /* type=file, unix-stream, dev */
	char *name;	  /* virtio-console port name (PORT_NAME); NULL: none */
	bool console;	  /* console=ttyS<num-1> / hvc<num-1> */
	bool earlycon;	  /* earlycon=uart8250,io,<port> (UART only) */
	bool stdin;	  /* host stdin feeds this port */
};

/*
 * One virtio-blk disk (crosvm's --block). Disks are named vda, vdb, ... in
 * the order they were added (vm_config_block_name).
 */
struct block_config {
	char *path;		 /* raw image or block device */
	bool ro;		 /* read-only: opened O_RDONLY, VIRTIO_BLK_F_RO */
	bool root;		 /* root=/dev/vdX ro|rw on the kernel command line */
	bool direct;		 /* O_DIRECT */
	bool lock;		 /* flock the image (default true) */
	bool sparse;		 /* discard/write-zeroes may punch holes (default true) */
	uint32_t block_size;	 /* blk_size: a power of two, BLOCK_SIZE_MIN..MAX */
	char id[BLOCK_ID_MAX + 1]; /* GET_ID serial; "" = a default */
};

/*
 * One virtio-net NIC (crosvm's --net): a tap opened by name or an inherited
 * tap fd, with the data path in Cove or in the kernel (vhost-net).
 */
struct net_config {
	char *tap_name;		/* tap-name=NAME, or NULL with tap_fd */
	int tap_fd;		/* tap-fd=FD, or -1 */
	uint8_t mac[6];
	bool has_mac;		/* mac= given; else Cove makes one up */
	unsigned int vq_pairs;	/* 1..NET_MAX_VQ_PAIRS */
	bool mrg_rxbuf;		/* offer VIRTIO_NET_F_MRG_RXBUF */
	bool vhost;		/* vhost-net: the kernel moves the packets */
	char *vhost_device;	/* vhost-net=[device=PATH]; NULL: /dev/vhost-net */
};

/*
 * virtio-vsock (crosvm's --vsock): the guest's CID and its host side,
 * either the hybrid Unix-socket protocol (uds_path) or the kernel's
 * vhost-vsock (vhost_device, default /dev/vhost-vsock).
 */
struct vsock_config {
	bool enabled;
	uint64_t cid;		/* VSOCK_MIN_CID..VSOCK_MAX_CID */
	char *uds_path;		/* uds-path=PATH: hybrid host side */
	char *vhost_device;	/* device=PATH (vhost); NULL with uds_path */
};

/*
 * How guest credentials meet the host (QEMU's fsdev security_model=):
 * passthrough: real owners and modes (Cove needs CAP_CHOWN); none: the
 * same, but failing to set the owner of a new file is ignored; mapped-xattr
 * and mapped-file: host files stay Cove's with fmode/dmode, the guest's
 * owner, mode and file type live in user.virtfs.* xattrs or in
 * .virtfs_metadata files.
 */
enum shared_dir_model {
	SHARED_DIR_PASSTHROUGH,
	SHARED_DIR_MAPPED_XATTR,
	SHARED_DIR_MAPPED_FILE,
	SHARED_DIR_NONE,
};

/* crosvm's uidmap/gidmap: "inner outer count" ranges, guest id -> host id. */
struct shared_dir_idmap {
	unsigned int n; /* 0: identity */
	struct {
		uint32_t inner, outer, count;
	} r[SHARED_DIR_IDMAP_MAX];
};

/* One --shared-dir (virtio-9p): PATH:TAG[:key=value...]. */
struct shared_dir_config {
	char *path;	/* the host directory */
	char *tag;	/* the mount tag the guest names */
	enum shared_dir_model model;
	bool ro;	/* read-only: every change is EROFS */
	uint32_t fmode; /* mapped models: host mode of new files */
	uint32_t dmode; /* mapped models: host mode of new directories */
	struct shared_dir_idmap uidmap, gidmap;
	uint32_t msize; /* the largest msize the server accepts */
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

	struct block_config disks[VM_CONFIG_MAX_DISKS];
	unsigned int num_disks;

	struct net_config nics[VM_CONFIG_MAX_NICS];
	unsigned int num_nics;
	struct vsock_config vsock;

	struct shared_dir_config shared_dirs[VM_CONFIG_MAX_SHARED_DIRS];
	unsigned int num_shared_dirs;

	/* NULL until vm_config_finish(), which sets "/dev/kvm" unless
	 * --hypervisor kvm[device=PATH] gave another path. */
	char *kvm_device;
	bool disable_sandbox;
	bool no_rng;		/* accepted now, used by the virtio issue */
	bool no_balloon;
	bool balloon_deflate_on_oom; /* --balloon-deflate-on-oom */
	bool balloon_page_reporting; /* --balloon-page-reporting */

	char *socket_path;	/* --socket/-s: control socket; NULL: none */
	char *name;		/* --name: VM name; NULL: none */
};

/* Defaults: 1 vCPU, 256 MiB, log level warn, syslog on, no serials. */
void vm_config_init(struct vm_config *cfg);
/* Frees every string the config owns and re-initialises it. */
void vm_config_free(struct vm_config *cfg);

/*
 * Adds one serial port after checking it against the ports already there:
 * (hardware, num) unique (num 0 excepted), names unique, at most one with
 * stdin, at most one with earlycon, at most VM_CONFIG_MAX_SERIALS in all.
 * The port itself must already be valid on its own (num range, earlycon
 * only on a UART, path iff the type needs one, name only on virtio-console).
 * On success cfg owns sc->path and sc->name; on failure the caller still
 * does, and err
 * holds one line without an option-name prefix. Returns 0 or -EINVAL.
 */
must_check int vm_config_add_serial(struct vm_config *cfg, const struct serial_config *sc,
				    char *err, size_t errlen);

/* crosvm's defaults for one --block: writable, lock, sparse, 512-byte blocks. */
void vm_config_block_defaults(struct block_config *bc);

/*
 * Adds one disk after checking it against the disks already there: at most
 * one `root`, at most VM_CONFIG_MAX_DISKS in all. The disk itself must
 * already be valid (path set, id and block_size in range). On success cfg
 * owns bc->path; on failure the caller still does, and err holds one line.
 * Returns 0 or -EINVAL.
 */
must_check int vm_config_add_block(struct vm_config *cfg, const struct block_config *bc,
				   char *err, size_t errlen);

/* The guest's name of disk `index`: "vda" for 0 ... "vdz" for 25. */
void vm_config_block_name(unsigned int index, char name[8]);

/*
 * Defaults for one --shared-dir: passthrough when Cove runs as root, else
 * none (an unprivileged Cove cannot give files away); fmode 0600, dmode
 * 0700, identity id maps, msize up to SHARED_DIR_MSIZE_DEFAULT.
 */
void vm_config_shared_dir_defaults(struct shared_dir_config *sd);

/*
 * Adds one shared directory after checking it against the others: tags
 * unique, at most VM_CONFIG_MAX_SHARED_DIRS. On success cfg owns the path
 * and tag; on failure the caller still does, and err holds one line.
 * Returns 0 or -EINVAL.
 */
must_check int vm_config_add_shared_dir(struct vm_config *cfg, const struct shared_dir_config *sd,
					char *err, size_t errlen);

/* "passthrough", "mapped-xattr", "mapped-file" or "none". */
const char *vm_config_shared_dir_model_name(enum shared_dir_model model);

/*
 * Completes a parsed config, as crosvm does after parsing: if no serial port
 * has `console`, adds COM1 as type=stdout with console (and stdin unless
 * another port takes it) -- but only when COM1 is not configured already
 * (then the guest simply gets no console= parameter, as in crosvm).
 * Checks that no virtio-console console port is numbered after a named port
 * that is not a console (Linux numbers hvc devices in port order, so the
 * console would not be hvc<num-1>).
 * Sets kvm_device to "/dev/kvm" when unset. Idempotent.
 * Returns 0, -EINVAL (no kernel, or no room for the default serial) or
 * -ENOMEM, with one line in err.
 */
must_check int vm_config_finish(struct vm_config *cfg, char *err, size_t errlen);

#endif
