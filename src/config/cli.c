/*
 * `cove` global options and `cove run`, in crosvm's grammar; see cli.h.
 * One table per command lists every option with its handler and its help
 * line, so the parser and --help cannot drift apart.
 */
#include "config/cli.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/argparse.h"
#include "config/cli_net.h"
#include "config/shared_dir.h"

#define MSG_MAX 256

static struct vm_config *cfg_of(struct argparse_ctx *ctx)
{
	return ctx->data;
}

/* ---- --cpus, --mem ---- */

static int cpus_key(struct argparse_ctx *ctx, unsigned int id, const char *key, const char *value,
		    void *out)
{
	(void)id; /* num-cores is the only key */
	return argparse_uint(ctx, key, value, 1, VM_CONFIG_MAX_CPUS, out);
}

static int opt_cpus(struct argparse_ctx *ctx, const char *value)
{
	static const char *const keys[] = {"num-cores", NULL};
	static const char *const later[] = {"clusters",	    "core-types", "boot-cpu",
					    "freq-domains", "sve",	  NULL};
	static const struct keyval_schema schema = {keys, later, true};
	uint64_t n = 0;
	int ret = argparse_list(ctx, value, &schema, cpus_key, &n);

	if (ret)
		return ret;
	if (n == 0)
		return argparse_fail(ctx, "missing num-cores: expected N or num-cores=N (1 to %d)",
				     VM_CONFIG_MAX_CPUS);
	cfg_of(ctx)->num_cpus = (unsigned int)n;
	return 0;
}

static int mem_key(struct argparse_ctx *ctx, unsigned int id, const char *key, const char *value,
		   void *out)
{
	(void)id; /* size is the only key */
	return argparse_uint(ctx, key, value, 1, VM_CONFIG_MAX_MEM_MIB, out);
}

static int opt_mem(struct argparse_ctx *ctx, const char *value)
{
	static const char *const keys[] = {"size", NULL};
	static const struct keyval_schema schema = {keys, NULL, true};
	uint64_t mib = 0;
	int ret = argparse_list(ctx, value, &schema, mem_key, &mib);

	if (ret)
		return ret;
	if (mib == 0)
		return argparse_fail(ctx, "missing size: expected MIB or size=MIB (1 to %llu)",
				     VM_CONFIG_MAX_MEM_MIB);
	cfg_of(ctx)->mem_mib = mib;
	return 0;
}

/* ---- --serial ---- */

enum { SK_TYPE, SK_HARDWARE, SK_NUM, SK_PATH, SK_CONSOLE, SK_EARLYCON, SK_STDIN, SK_NAME };

static const struct argparse_name serial_types[] = {
    {"stdout", SERIAL_TYPE_STDOUT},
    {"file", SERIAL_TYPE_FILE},
    {"sink", SERIAL_TYPE_SINK},
    {"unix-stream", SERIAL_TYPE_UNIX_STREAM},
    {"pty", SERIAL_TYPE_PTY},
    {"dev", SERIAL_TYPE_DEV},
    {0}};
static const char *const serial_types_later[] = {"syslog", "unix", "namedpipe", NULL};
static const struct argparse_name serial_hws[] = {
    {"serial", SERIAL_HW_UART},
    {"virtio-console", SERIAL_HW_VIRTIO_CONSOLE},
    {"legacy-virtio-console", SERIAL_HW_VIRTIO_CONSOLE},
    {0}};
static const char *const serial_hws_later[] = {"debugcon", NULL};

/* One --serial being parsed: the port, and which keys were given. */
struct serial_parse {
	struct serial_config sc;
	bool num_given;
};

/* A port name becomes /dev/virtio-ports/NAME in the guest: printable, no '/'. */
static int serial_name(struct argparse_ctx *ctx, struct serial_config *sc, const char *value)
{
	size_t len = value ? strlen(value) : 0;

	if (len == 0 || len > SERIAL_NAME_MAX)
		return argparse_fail(ctx, "invalid name: expected 1 to %d characters",
				     SERIAL_NAME_MAX);
	for (size_t i = 0; i < len; i++) {
		if (value[i] <= ' ' || value[i] > '~' || value[i] == '/')
			return argparse_fail(ctx,
					     "invalid name '%s': expected printable ASCII "
					     "without spaces or '/'",
					     value);
	}
	return argparse_string(ctx, &sc->name, value, "name=NAME");
}

static int serial_key(struct argparse_ctx *ctx, unsigned int id, const char *key, const char *value,
		      void *out)
{
	struct serial_parse *sp = out;
	struct serial_config *sc = &sp->sc;
	uint64_t num = 0;
	int v;

	switch (id) {
	case SK_TYPE:
		if (argparse_name(ctx, key, value, serial_types, serial_types_later,
				  "stdout, file, sink, unix-stream, pty or dev", &v))
			return -EINVAL;
		sc->type = (enum serial_type)v;
		return 0;
	case SK_HARDWARE:
		if (argparse_name(ctx, key, value, serial_hws, serial_hws_later,
				  "serial or virtio-console", &v))
			return -EINVAL;
		sc->hw = (enum serial_hw)v;
		return 0;
	case SK_NUM:
		if (argparse_uint(ctx, key, value, 1, UINT8_MAX, &num)) /* crosvm: a u8 */
			return -EINVAL;
		sc->num = (unsigned int)num;
		sp->num_given = true;
		return 0;
	case SK_PATH:
		return argparse_string(ctx, &sc->path, value, "path=PATH");
	case SK_CONSOLE:
		return argparse_bool(ctx, key, value, &sc->console);
	case SK_EARLYCON:
		return argparse_bool(ctx, key, value, &sc->earlycon);
	case SK_NAME:
		return serial_name(ctx, sc, value);
	default: /* SK_STDIN */
		return argparse_bool(ctx, key, value, &sc->stdin);
	}
}

/* The types that are both ways (their own input) and virtio-console only. */
static bool serial_type_is_channel(enum serial_type t)
{
	return t == SERIAL_TYPE_UNIX_STREAM || t == SERIAL_TYPE_PTY || t == SERIAL_TYPE_DEV;
}

static bool serial_type_has_path(enum serial_type t)
{
	return t == SERIAL_TYPE_FILE || t == SERIAL_TYPE_UNIX_STREAM || t == SERIAL_TYPE_DEV;
}

static const char *serial_type_name(enum serial_type t)
{
	for (const struct argparse_name *n = serial_types; n->name; n++)
		if (n->value == (int)t)
			return n->name;
	return "?";
}

/* The host side rules of one --serial: path, name, input. */
static int check_serial_host(struct argparse_ctx *ctx, const struct serial_config *sc)
{
	bool virtio = sc->hw == SERIAL_HW_VIRTIO_CONSOLE;

	if (serial_type_has_path(sc->type) && !sc->path)
		return argparse_fail(ctx, "type=%s needs path=%s", serial_type_name(sc->type),
				     sc->type == SERIAL_TYPE_FILE ? "FILE"
				     : sc->type == SERIAL_TYPE_DEV ? "DEVICE"
								   : "SOCKET");
	if (!serial_type_has_path(sc->type) && sc->path)
		return argparse_fail(ctx, "path is only valid with type=file, unix-stream or dev");
	if (!virtio && serial_type_is_channel(sc->type))
		return argparse_fail(ctx,
				     "type=%s needs hardware=virtio-console (a UART only "
				     "writes to stdout, a file or a sink)",
				     serial_type_name(sc->type));
	if (!virtio && sc->name)
		return argparse_fail(ctx, "name needs hardware=virtio-console (a named port)");
	if (sc->stdin && serial_type_is_channel(sc->type))
		return argparse_fail(ctx, "stdin cannot be given to type=%s: it reads its own input",
				     serial_type_name(sc->type));
	return 0;
}

/* The rules within one --serial; vm_config_add_serial() checks it against the others. */
static int check_serial(struct argparse_ctx *ctx, const struct serial_config *sc)
{
	int ret = check_serial_host(ctx, sc);

	if (ret)
		return ret;
	if (sc->hw == SERIAL_HW_UART && sc->num > SERIAL_MAX_COM)
		return argparse_fail(
		    ctx,
		    "invalid value '%u' for num: expected 1 to %d with hardware=serial "
		    "(COM1-COM%d)",
		    sc->num, SERIAL_MAX_COM, SERIAL_MAX_COM);
	if (sc->hw == SERIAL_HW_VIRTIO_CONSOLE && sc->num > VM_CONFIG_MAX_SERIALS)
		return argparse_fail(ctx,
				     "invalid value '%u' for num: expected 1 to %d with "
				     "hardware=virtio-console",
				     sc->num, VM_CONFIG_MAX_SERIALS);
	if (sc->earlycon && sc->hw != SERIAL_HW_UART)
		return argparse_fail(
		    ctx, "earlycon needs hardware=serial (the early console drives a UART)");
	return 0;
}

static int opt_serial(struct argparse_ctx *ctx, const char *value)
{
	static const char *const keys[] = {"type",    "hardware", "num",   "path",
					   "console", "earlycon", "stdin", "name", NULL};
	static const char *const later[] = {
	    "input",	     "input-unix-stream", "out-timestamp", "debugcon-port",
	    "pci-address", "max-queue-sizes",	  NULL};
	static const struct keyval_schema schema = {keys, later, false};
	struct serial_parse sp = {
	    .sc = {.type = SERIAL_TYPE_SINK, .hw = SERIAL_HW_UART, .num = 1}};
	struct serial_config *sc = &sp.sc;
	char msg[MSG_MAX];
	int ret = argparse_list(ctx, value, &schema, serial_key, &sp);

	/* A named channel without num goes after the numbered ports. */
	if (!ret && !sp.num_given && sc->name && !sc->console)
		sc->num = 0;
	if (!ret)
		ret = check_serial(ctx, sc);
	if (!ret && vm_config_add_serial(cfg_of(ctx), sc, msg, sizeof(msg)))
		ret = argparse_fail(ctx, "%s", msg);
	if (ret) {
		free(sc->path);
		free(sc->name);
	}
	return ret;
}

/* ---- --block ---- */

/*
 * crosvm's BlockParameters: PATH first (bare or path=), then keys. Two keys
 * have aliases (o_direct, block_size), so this walks the list itself rather
 * than through a keyval_schema, which would name the aliases in messages.
 */
enum { BK_PATH, BK_RO, BK_ROOT, BK_ID, BK_DIRECT, BK_LOCK, BK_SPARSE, BK_BLOCK_SIZE };

static const struct argparse_name block_keys[] = {
    {"path", BK_PATH},	   {"ro", BK_RO},	  {"root", BK_ROOT},
    {"id", BK_ID},	   {"direct", BK_DIRECT}, {"o_direct", BK_DIRECT},
    {"lock", BK_LOCK},	   {"sparse", BK_SPARSE}, {"block-size", BK_BLOCK_SIZE},
    {"block_size", BK_BLOCK_SIZE}, {0}};
static const char *const block_keys_later[] = {
    "async-executor", "async_executor", "multiple-workers", "multiple_workers", "packed-queue",
    "packed_queue",   "bootindex",	    "pci-address",	"pci_address",	    "dontcache",
    NULL};
static const char *const block_key_names[] = {"path",   "ro",   "root",   "id",
					       "direct", "lock", "sparse", "block-size"};
#define BLOCK_KEYS "ro, root, id, direct, lock, sparse, block-size"
#define BLOCK_USAGE \
	"PATH[,ro][,root][,id=NAME][,direct][,lock=BOOL][,sparse=BOOL][,block-size=N]"

static int block_key_id(const char *key)
{
	for (const struct argparse_name *k = block_keys; k->name; k++) {
		if (strcmp(k->name, key) == 0)
			return k->value;
	}
	return -1;
}

static int block_id(struct argparse_ctx *ctx, const char *value, struct block_config *bc)
{
	size_t n = value ? strlen(value) : 0;

	if (!value)
		return argparse_fail(ctx, "key 'id' needs a value: expected id=NAME (1 to %d "
				     "printable ASCII characters)", BLOCK_ID_MAX);
	for (size_t i = 0; i < n; i++) {
		if (value[i] < 0x20 || value[i] > 0x7e)
			n = 0; /* not printable ASCII: rejected below */
	}
	if (n == 0 || n > BLOCK_ID_MAX)
		return argparse_fail(ctx,
				     "invalid value '%s' for id: expected 1 to %d printable ASCII "
				     "characters",
				     value, BLOCK_ID_MAX);
	memcpy(bc->id, value, n + 1);
	return 0;
}

static int block_size(struct argparse_ctx *ctx, const char *key, const char *value,
		      struct block_config *bc)
{
	uint64_t n;

	if (argparse_uint(ctx, key, value, BLOCK_SIZE_MIN, BLOCK_SIZE_MAX, &n))
		return -EINVAL;
	if (n & (n - 1))
		return argparse_fail(ctx,
				     "invalid value '%s' for %s: expected a power of two from %d "
				     "to %d",
				     value, key, BLOCK_SIZE_MIN, BLOCK_SIZE_MAX);
	bc->block_size = (uint32_t)n;
	return 0;
}

static int block_key(struct argparse_ctx *ctx, int id, const char *key, const char *value,
		     struct block_config *bc)
{
	switch (id) {
	case BK_PATH:
		return argparse_string(ctx, &bc->path, value, "path=PATH");
	case BK_RO:
		return argparse_bool(ctx, key, value, &bc->ro);
	case BK_ROOT:
		return argparse_bool(ctx, key, value, &bc->root);
	case BK_ID:
		return block_id(ctx, value, bc);
	case BK_DIRECT:
		return argparse_bool(ctx, key, value, &bc->direct);
	case BK_LOCK:
		return argparse_bool(ctx, key, value, &bc->lock);
	case BK_SPARSE:
		return argparse_bool(ctx, key, value, &bc->sparse);
	default: /* BK_BLOCK_SIZE */
		return block_size(ctx, key, value, bc);
	}
}

/* Resolves one item to a key id: a known key, else a bare first item is the path. */
static int block_item(struct argparse_ctx *ctx, const struct keyval_iter *it, const char *key,
		      const char **value, uint32_t *seen)
{
	int id = block_key_id(key);

	if (id < 0 && !*value && it->count == 1) {
		*value = key;
		id = BK_PATH;
	}
	if (id < 0) {
		for (const char *const *k = block_keys_later; *k; k++) {
			if (strcmp(*k, key) == 0)
				return argparse_fail(ctx,
						     "key '%s' is not supported yet: expected " BLOCK_KEYS,
						     key);
		}
		return argparse_fail(ctx, "unknown key '%s': expected " BLOCK_KEYS, key);
	}
	if (*seen & (1u << id))
		return argparse_fail(ctx, "%s given twice",
				     id == BK_PATH ? "the path" : block_key_names[id]);
	*seen |= 1u << id;
	return id;
}

static int block_parse(struct argparse_ctx *ctx, const char *list, struct block_config *bc)
{
	struct keyval_iter it;
	char msg[MSG_MAX];
	uint32_t seen = 0;
	char *key, *value;
	int ret;

	if (keyval_iter_init(&it, list))
		return argparse_no_memory(ctx);
	for (;;) {
		const char *v;
		int id;

		ret = keyval_next(&it, &key, &value, msg, sizeof(msg));
		if (ret < 0)
			ret = argparse_fail(ctx, "%s", msg);
		if (ret <= 0)
			break;
		v = value;
		id = block_item(ctx, &it, key, &v, &seen);
		ret = id < 0 ? id : block_key(ctx, id, key, v, bc);
		if (ret)
			break;
	}
	keyval_iter_free(&it);
	return ret;
}

static int opt_block(struct argparse_ctx *ctx, const char *value)
{
	struct block_config bc;
	char msg[MSG_MAX];
	int ret;

	vm_config_block_defaults(&bc);
	ret = block_parse(ctx, value, &bc);
	if (!ret && !bc.path)
		ret = argparse_fail(ctx, "missing PATH: expected " BLOCK_USAGE);
	if (!ret && vm_config_add_block(cfg_of(ctx), &bc, msg, sizeof(msg)))
		ret = argparse_fail(ctx, "%s", msg);
	if (ret)
		free(bc.path);
	return ret;
}

/* ---- --shared-dir (parsed by shared_dir.c) ---- */

static int opt_shared_dir(struct argparse_ctx *ctx, const char *value)
{
	struct shared_dir_config sd;
	char msg[MSG_MAX];
	int ret = shared_dir_parse(ctx, value, &sd);

	if (!ret && vm_config_add_shared_dir(cfg_of(ctx), &sd, msg, sizeof(msg))) {
		free(sd.path);
		free(sd.tag);
		ret = argparse_fail(ctx, "%s", msg);
	}
	return ret;
}

/* ---- --hypervisor ---- */

static int kvm_key(struct argparse_ctx *ctx, unsigned int id, const char *key, const char *value,
		   void *out)
{
	struct vm_config *cfg = out;

	(void)id; /* device is the only key */
	if (!value)
		return argparse_fail(ctx, "key '%s' needs a value: expected kvm[device=PATH]", key);
	return argparse_string(ctx, &cfg->kvm_device, value, "kvm[device=PATH]");
}

static int opt_hypervisor(struct argparse_ctx *ctx, const char *value)
{
	static const char *const keys[] = {"device", NULL};
	static const struct keyval_schema schema = {keys, NULL, false};
	size_t name_len = strcspn(value, "[");
	const char *list = value + name_len;
	size_t list_len = strlen(list);
	char *inner;
	int ret;

	if (name_len == 0)
		return argparse_fail(ctx,
				     "missing hypervisor name: expected kvm or kvm[device=PATH]");
	if (name_len != 3 || strncmp(value, "kvm", 3) != 0)
		return argparse_fail(ctx, "'%.*s' is not supported by this build: supported: kvm",
				     (int)name_len, value);
	if (list_len == 0)
		return 0;
	if (list_len < 2 || list[list_len - 1] != ']')
		return argparse_fail(ctx, "invalid value '%s': expected kvm or kvm[device=PATH]",
				     value);
	inner = strndup(list + 1, list_len - 2);
	if (!inner)
		return argparse_no_memory(ctx);
	ret = argparse_list(ctx, inner, &schema, kvm_key, cfg_of(ctx));
	free(inner);
	return ret;
}

/* ---- the other run options ---- */

static int opt_initrd(struct argparse_ctx *ctx, const char *value)
{
	return argparse_string(ctx, &cfg_of(ctx)->initrd_path, value, "PATH");
}

static int opt_params(struct argparse_ctx *ctx, const char *value)
{
	struct vm_config *cfg = cfg_of(ctx);
	char *copy;

	if (cfg->num_params >= VM_CONFIG_MAX_PARAMS)
		return argparse_fail(ctx, "given more than %d times", VM_CONFIG_MAX_PARAMS);
	/* As crosvm's kernel_cmdline: printable ASCII only. */
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (*p < 0x20 || *p > 0x7e)
			return argparse_fail(
			    ctx, "character 0x%02x is not allowed: expected printable ASCII", *p);
	}
	copy = strdup(value);
	if (!copy)
		return argparse_no_memory(ctx);
	cfg->params[cfg->num_params++] = copy;
	return 0;
}

static int opt_socket(struct argparse_ctx *ctx, const char *value)
{
	return argparse_string(ctx, &cfg_of(ctx)->socket_path, value, "PATH");
}

static int opt_name(struct argparse_ctx *ctx, const char *value)
{
	return argparse_string(ctx, &cfg_of(ctx)->name, value, "NAME");
}

static int opt_disable_sandbox(struct argparse_ctx *ctx, const char *value)
{
	(void)value;
	cfg_of(ctx)->disable_sandbox = true;
	return 0;
}

static int opt_no_rng(struct argparse_ctx *ctx, const char *value)
{
	(void)value;
	cfg_of(ctx)->no_rng = true;
	return 0;
}

static int opt_no_balloon(struct argparse_ctx *ctx, const char *value)
{
	(void)value;
	cfg_of(ctx)->no_balloon = true;
	return 0;
}

static int opt_balloon_deflate_on_oom(struct argparse_ctx *ctx, const char *value)
{
	(void)value;
	cfg_of(ctx)->balloon_deflate_on_oom = true;
	return 0;
}

static int opt_balloon_page_reporting(struct argparse_ctx *ctx, const char *value)
{
	(void)value;
	cfg_of(ctx)->balloon_page_reporting = true;
	return 0;
}

/* pKVM's protected mode has no counterpart in KVM on x86_64. */
static int opt_protected(struct argparse_ctx *ctx, const char *value)
{
	(void)value;
	return argparse_fail(ctx, "protected VMs are not available with KVM on x86_64");
}

static int run_positional(struct argparse_ctx *ctx, const char *arg)
{
	if (cfg_of(ctx)->kernel_path) {
		snprintf(ctx->err, ctx->errlen,
			 "unexpected argument '%s': KERNEL is already '%s' (run takes one KERNEL)",
			 arg, cfg_of(ctx)->kernel_path);
		return -EINVAL;
	}
	ctx->opt = "KERNEL";
	return argparse_string(ctx, &cfg_of(ctx)->kernel_path, arg, "the path of a kernel image");
}

static const struct argparse_option run_options[] = {
    {"--cpus", 'c', "[num-cores=]N", false, opt_cpus, "number of vCPUs, 1 to 64 (default 1)"},
    {"--mem", 'm', "[size=]MIB", false, opt_mem, "guest RAM in MiB, 1 to 1048576 (default 256)"},
    {"--initrd", 'i', "PATH", false, opt_initrd, "initial ramdisk"},
    {"--params", 'p', "STR", true, opt_params,
     "append STR to the kernel command line (repeatable)"},
    {"--serial", 0, "KEY=VAL,...", true, opt_serial, "add a serial port (repeatable; keys below)"},
    {"--block", 'b', "PATH[,KEY=VAL...]", true, opt_block,
     "add a virtio-blk disk: vda, vdb, ... in order (repeatable, up to 26; keys below)"},
    {"--net", 0, "KEY=VAL,...", true, cli_net_opt_net,
     "add a virtio-net NIC on a tap (repeatable, up to 8; keys below)"},
    {"--vsock", 0, "cid=N[,KEY=VAL...]", false, cli_net_opt_vsock,
     "add a virtio-vsock device with guest CID N (keys below)"},
    {"--shared-dir", 0, "PATH:TAG[:KEY=VAL...]", true, opt_shared_dir,
     "share a host directory over virtio-9p (repeatable; keys below)"},
    {"--hypervisor", 0, "kvm[device=PATH]", false, opt_hypervisor,
     "kvm, through /dev/kvm unless device= names another node"},
    {"--disable-sandbox", 0, NULL, false, opt_disable_sandbox,
     "do not install the seccomp sandbox"},
    {"--no-rng", 0, NULL, false, opt_no_rng, "no virtio-rng device"},
    {"--no-balloon", 0, NULL, false, opt_no_balloon, "no virtio-balloon device"},
    {"--balloon-page-reporting", 0, NULL, false, opt_balloon_page_reporting,
     "balloon: free page reporting (the guest hands its free memory back)"},
    {"--balloon-deflate-on-oom", 0, NULL, false, opt_balloon_deflate_on_oom,
     "balloon: the guest may deflate under memory pressure (MemTotal then stays put)"},
    {"--socket", 's', "PATH", false, opt_socket,
     "control socket for `cove stop`, `cove balloon` and the like"},
    {"--name", 0, "NAME", false, opt_name, "a name for the VM"},
    {"--protected-vm", 0, NULL, false, opt_protected,
     "rejected: no protected VMs with KVM on x86_64"},
    {"--protected-vm-without-firmware", 0, NULL, false, opt_protected, "rejected, as above"},
    {"--protected-vm-with-firmware", 0, "PATH", false, opt_protected, "rejected, as above"},
    {"--help", 'h', NULL, false, NULL, "show this help"},
};
_Static_assert(ARRAY_SIZE(run_options) <= ARGPARSE_MAX_OPTIONS, "raise ARGPARSE_MAX_OPTIONS");

static const struct argparse_command run_command = {run_options, ARRAY_SIZE(run_options),
						    "cove run --help", run_positional};

/* ---- global options ---- */

static int opt_log_level(struct argparse_ctx *ctx, const char *value)
{
	char level[16];
	size_t n = strcspn(value, ","); /* crosvm: "debug,disk=off" */

	if (n < sizeof(level)) {
		memcpy(level, value, n);
		level[n] = '\0';
		if (log_parse_level(level, &cfg_of(ctx)->log_level) == 0)
			return 0;
	}
	return argparse_fail(
	    ctx, "invalid value '%s': expected off, error, warn, info, debug or trace", value);
}

static int opt_no_syslog(struct argparse_ctx *ctx, const char *value)
{
	(void)value;
	cfg_of(ctx)->syslog = false;
	return 0;
}

static int opt_accept(struct argparse_ctx *ctx, const char *value)
{
	(void)ctx;
	(void)value;
	return 0;
}

static const struct argparse_option global_options[] = {
    {"--log-level", 0, "LEVEL", false, opt_log_level,
     "off|error|warn|info|debug|trace (default warn); \"debug,disk=off\" = debug"},
    {"--no-syslog", 0, NULL, false, opt_no_syslog, "log to stderr only, not to syslog"},
    {"--syslog-tag", 0, "TAG", false, opt_accept, "accepted for crosvm compatibility; ignored"},
    {"--extended-status", 0, NULL, false, opt_accept,
     "accepted; Cove always uses the extended exit statuses"},
    {"--help", 'h', NULL, false, NULL, "show this help"},
};
_Static_assert(ARRAY_SIZE(global_options) <= ARGPARSE_MAX_OPTIONS, "raise ARGPARSE_MAX_OPTIONS");

static const struct argparse_command global_command = {global_options, ARRAY_SIZE(global_options),
						       "cove --help", NULL};

int cli_parse_global(int argc, char **argv, struct vm_config *cfg, int *verb_index, char *err,
		     size_t errlen)
{
	struct argparse_ctx ctx = {.data = cfg, .opt = "cove", .err = err, .errlen = errlen};

	return argparse_run(&global_command, &ctx, argc, argv, 1, verb_index);
}

int cli_parse_run(int argc, char **argv, struct vm_config *cfg, char *err, size_t errlen)
{
	struct argparse_ctx ctx = {.data = cfg, .opt = "run", .err = err, .errlen = errlen};
	int end;
	int ret = argparse_run(&run_command, &ctx, argc, argv, 0, &end);

	if (ret)
		return ret;
	if (!cfg->kernel_path) {
		snprintf(err, errlen, "missing KERNEL: usage: cove run [OPTIONS] KERNEL (see %s)",
			 run_command.help_hint);
		return -EINVAL;
	}
	return vm_config_finish(cfg, err, errlen);
}

/* ---- help ---- */

void cli_print_run_help(FILE *out)
{
	fputs("Usage: cove [GLOBAL OPTIONS] run [OPTIONS] KERNEL\n"
	      "\n"
	      "Boots KERNEL (an x86_64 bzImage) in a new VM, in the foreground, as `crosvm run`\n"
	      "does. --opt=VALUE is the same as --opt VALUE.\n"
	      "\n"
	      "Options:\n",
	      out);
	argparse_print_options(out, run_options, ARRAY_SIZE(run_options));
	fputs(
	    "\n"
	    "--serial keys (comma-separated; a bare key means KEY=true):\n"
	    "  type=stdout|file|sink           where the output goes (default sink)\n"
	    "  type=unix-stream|pty|dev        virtio-console only: Cove listens on the socket\n"
	    "                                  path=P (one client at a time), opens a new pty\n"
	    "                                  (its path is printed), or the host character\n"
	    "                                  device path=/dev/X in raw mode (both ways)\n"
	    "  hardware=serial|virtio-console  a 16550 UART at COM<num>, or virtio-console "
	    "(default serial)\n"
	    "  num=N                           from 1; at most 4 with hardware=serial (default 1)\n"
	    "  path=PATH                       the file, socket or device of type=file,\n"
	    "                                  unix-stream, dev\n"
	    "  name=NAME                       virtio-console: a named channel, in the guest\n"
	    "                                  /dev/virtio-ports/NAME (not a console unless\n"
	    "                                  `console`; without num, after the numbered ports)\n"
	    "  console                         the kernel's console: ttyS<num-1> or hvc<num-1>\n"
	    "  earlycon                        also the early boot console (hardware=serial; "
	    "one port at most)\n"
	    "  stdin                           the port reads Cove's stdin (one port at most)\n"
	    "Without any console, COM1 becomes type=stdout,console,stdin (as in crosvm).\n"
	    "The virtio-console channel name=org.qemu.guest_agent.0 is the guest agent's; Cove\n"
	    "adds it (with no host side) when it is not given.\n"
	    "\n"
	    "--block keys (after PATH, which may also be given as path=PATH):\n"
	    "  ro                 read-only disk (default false)\n"
	    "  root               the root file system: adds root=/dev/vdX ro|rw (one disk at "
	    "most)\n"
	    "  id=NAME            the disk's serial, 1 to 20 ASCII characters\n"
	    "  direct             open the image with O_DIRECT (alias o_direct)\n"
	    "  lock=BOOL          lock the image against other users (default true)\n"
	    "  sparse=BOOL        let the guest discard and punch holes (default true)\n"
	    "  block-size=N       logical block size, a power of two from 512 to 65536 "
	    "(default 512)\n"
	    "\n"
	    "--shared-dir PATH:TAG[:KEY=VAL...] (colon-separated; the guest mounts it with\n"
	    "`mount -t 9p -o trans=virtio TAG /mnt`):\n"
	    "  type=p9               virtio-9p, the only type (alias 9p)\n"
	    "  security_model=MODEL  passthrough, mapped-xattr (or mapped), mapped-file or none\n"
	    "                        (default passthrough as root, else none)\n"
	    "  ro                    read-only share\n"
	    "  fmode=OCTAL           mapped models: host mode of new files (default 0600)\n"
	    "  dmode=OCTAL           mapped models: host mode of new directories (default 0700)\n"
	    "  uidmap=\"I O N,...\"    guest uids I..I+N-1 are host uids O..O+N-1 (gidmap alike)\n"
	    "  msize=N               the largest 9P msize to agree to (default 1048576)\n",
	    out);
	fputs(cli_net_help, out);
}

void cli_print_global_help(FILE *out)
{
	fputs("Global options (before the verb):\n", out);
	argparse_print_options(out, global_options, ARRAY_SIZE(global_options));
}
