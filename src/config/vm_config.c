/*
 * struct vm_config defaults, ownership and the rules that span several
 * fields (serial ports against each other, crosvm's default console).
 *
 * Default log level: crosvm defaults to info, Cove to warn, so that a guest
 * console on the same terminal is not interleaved with start-up chatter;
 * `--log-level info` gives crosvm's behaviour.
 */
#include "config/vm_config.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_KVM_DEVICE "/dev/kvm"

void vm_config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = LOG_LEVEL_WARN;
	cfg->syslog = true; /* crosvm logs to syslog unless --no-syslog */
	cfg->num_cpus = 1;
	cfg->mem_mib = VM_CONFIG_DEFAULT_MEM_MIB;
}

void vm_config_free(struct vm_config *cfg)
{
	free(cfg->kernel_path);
	free(cfg->initrd_path);
	for (unsigned int i = 0; i < cfg->num_params; i++)
		free(cfg->params[i]);
	for (unsigned int i = 0; i < cfg->num_serials; i++) {
		free(cfg->serials[i].path);
		free(cfg->serials[i].name);
	}
	for (unsigned int i = 0; i < cfg->num_disks; i++)
		free(cfg->disks[i].path);
	for (unsigned int i = 0; i < cfg->num_nics; i++) {
		free(cfg->nics[i].tap_name);
		free(cfg->nics[i].vhost_device);
	}
	free(cfg->vsock.uds_path);
	free(cfg->vsock.vhost_device);
	for (unsigned int i = 0; i < cfg->num_shared_dirs; i++) {
		free(cfg->shared_dirs[i].path);
		free(cfg->shared_dirs[i].tag);
	}
	free(cfg->kvm_device);
	free(cfg->socket_path);
	free(cfg->name);
	vm_config_init(cfg);
}

static const char *serial_hw_name(enum serial_hw hw)
{
	return hw == SERIAL_HW_UART ? "serial" : "virtio-console";
}

static const struct serial_config *find_serial(const struct vm_config *cfg, enum serial_hw hw,
					       unsigned int num)
{
	for (unsigned int i = 0; i < cfg->num_serials; i++) {
		if (num && cfg->serials[i].hw == hw && cfg->serials[i].num == num)
			return &cfg->serials[i];
	}
	return NULL;
}

static bool name_taken(const struct vm_config *cfg, const char *name)
{
	for (unsigned int i = 0; name && i < cfg->num_serials; i++) {
		if (cfg->serials[i].name && strcmp(cfg->serials[i].name, name) == 0)
			return true;
	}
	return false;
}

static bool any_serial(const struct vm_config *cfg, size_t flag_offset)
{
	for (unsigned int i = 0; i < cfg->num_serials; i++) {
		if (*(const bool *)((const char *)&cfg->serials[i] + flag_offset))
			return true;
	}
	return false;
}

#define ANY_SERIAL(cfg, flag) any_serial((cfg), offsetof(struct serial_config, flag))

int vm_config_add_serial(struct vm_config *cfg, const struct serial_config *sc, char *err,
			 size_t errlen)
{
	if (find_serial(cfg, sc->hw, sc->num)) {
		snprintf(err, errlen, "hardware=%s,num=%u is configured twice",
			 serial_hw_name(sc->hw), sc->num);
		return -EINVAL;
	}
	if (name_taken(cfg, sc->name)) {
		snprintf(err, errlen, "name=%s is given to two ports", sc->name);
		return -EINVAL;
	}
	if (sc->stdin && ANY_SERIAL(cfg, stdin)) {
		snprintf(err, errlen,
			 "stdin is given to two serial ports: at most one may read it");
		return -EINVAL;
	}
	if (sc->earlycon && ANY_SERIAL(cfg, earlycon)) {
		snprintf(err, errlen, "earlycon is given to two serial ports: at most one may be");
		return -EINVAL;
	}
	if (cfg->num_serials >= VM_CONFIG_MAX_SERIALS) {
		snprintf(err, errlen, "too many serial ports: at most %d", VM_CONFIG_MAX_SERIALS);
		return -EINVAL;
	}
	cfg->serials[cfg->num_serials++] = *sc;
	return 0;
}

void vm_config_block_defaults(struct block_config *bc)
{
	memset(bc, 0, sizeof(*bc));
	bc->lock = true;
	bc->sparse = true;
	bc->block_size = BLOCK_SIZE_DEFAULT;
}

int vm_config_add_block(struct vm_config *cfg, const struct block_config *bc, char *err,
			size_t errlen)
{
	char name[8];

	if (cfg->num_disks >= VM_CONFIG_MAX_DISKS) {
		snprintf(err, errlen, "too many disks: at most %d (vda to vdz)",
			 VM_CONFIG_MAX_DISKS);
		return -EINVAL;
	}
	for (unsigned int i = 0; bc->root && i < cfg->num_disks; i++) {
		if (cfg->disks[i].root) {
			vm_config_block_name(i, name);
			snprintf(err, errlen, "root is given to two disks (%s is root already)",
				 name);
			return -EINVAL;
		}
	}
	cfg->disks[cfg->num_disks++] = *bc;
	return 0;
}

void vm_config_block_name(unsigned int index, char name[8])
{
	assert(index < VM_CONFIG_MAX_DISKS);
	snprintf(name, 8, "vd%c", 'a' + (char)index);
}

void vm_config_shared_dir_defaults(struct shared_dir_config *sd)
{
	memset(sd, 0, sizeof(*sd));
	sd->model = geteuid() == 0 ? SHARED_DIR_PASSTHROUGH : SHARED_DIR_NONE;
	sd->fmode = SHARED_DIR_FMODE_DEFAULT;
	sd->dmode = SHARED_DIR_DMODE_DEFAULT;
	sd->msize = SHARED_DIR_MSIZE_DEFAULT;
}

int vm_config_add_shared_dir(struct vm_config *cfg, const struct shared_dir_config *sd,
			     char *err, size_t errlen)
{
	if (cfg->num_shared_dirs >= VM_CONFIG_MAX_SHARED_DIRS) {
		snprintf(err, errlen, "too many shared directories: at most %d",
			 VM_CONFIG_MAX_SHARED_DIRS);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < cfg->num_shared_dirs; i++) {
		if (strcmp(cfg->shared_dirs[i].tag, sd->tag) == 0) {
			snprintf(err, errlen, "tag '%s' is given to two shared directories",
				 sd->tag);
			return -EINVAL;
		}
	}
	cfg->shared_dirs[cfg->num_shared_dirs++] = *sd;
	return 0;
}

const char *vm_config_shared_dir_model_name(enum shared_dir_model model)
{
	static const char *const names[] = {
	    [SHARED_DIR_PASSTHROUGH] = "passthrough",
	    [SHARED_DIR_MAPPED_XATTR] = "mapped-xattr",
	    [SHARED_DIR_MAPPED_FILE] = "mapped-file",
	    [SHARED_DIR_NONE] = "none",
	};

	assert((unsigned int)model < ARRAY_SIZE(names));
	return names[model];
}

/*
 * crosvm's set_default_serial_parameters(): with no console anywhere, COM1
 * becomes a stdout console reading stdin -- unless COM1 is configured
 * already, which crosvm leaves alone (so there is no console= at all).
 * Unlike crosvm, the default port does not take stdin when another port
 * already does (crosvm would give stdin to both).
 */
static int add_default_console(struct vm_config *cfg, char *err, size_t errlen)
{
	struct serial_config com1 = {
	    .type = SERIAL_TYPE_STDOUT,
	    .hw = SERIAL_HW_UART,
	    .num = 1,
	    .console = true,
	    .stdin = !ANY_SERIAL(cfg, stdin),
	};

	if (ANY_SERIAL(cfg, console) || find_serial(cfg, SERIAL_HW_UART, 1))
		return 0;
	if (cfg->num_serials >= VM_CONFIG_MAX_SERIALS) {
		snprintf(err, errlen,
			 "too many serial ports for the default console on COM1 "
			 "(at most %d): give one port `console`",
			 VM_CONFIG_MAX_SERIALS);
		return -EINVAL;
	}
	return vm_config_add_serial(cfg, &com1, err, errlen);
}

/*
 * A virtio-console port is a console unless it has a name and no `console`
 * (the device's rule). Linux numbers hvc devices in port order, so a
 * console port numbered after a non-console one would not be hvc<num-1>.
 */
static int check_hvc_order(const struct vm_config *cfg, char *err, size_t errlen)
{
	for (unsigned int i = 0; i < cfg->num_serials; i++) {
		const struct serial_config *named = &cfg->serials[i];

		if (named->hw != SERIAL_HW_VIRTIO_CONSOLE || !named->name || named->console ||
		    named->num == 0)
			continue;
		for (unsigned int j = 0; j < cfg->num_serials; j++) {
			const struct serial_config *c = &cfg->serials[j];

			if (c->hw != SERIAL_HW_VIRTIO_CONSOLE || (c->name && !c->console) ||
			    c->num <= named->num)
				continue;
			snprintf(err, errlen,
				 "hardware=virtio-console,num=%u is a console after the named "
				 "port num=%u (name=%s): it would not be hvc%u; number the "
				 "named port after the consoles or leave its num out",
				 c->num, named->num, named->name, c->num - 1);
			return -EINVAL;
		}
	}
	return 0;
}

int vm_config_finish(struct vm_config *cfg, char *err, size_t errlen)
{
	int ret;

	if (!cfg->kernel_path) {
		snprintf(err, errlen, "no kernel given");
		return -EINVAL;
	}
	ret = check_hvc_order(cfg, err, errlen);
	if (ret)
		return ret;
	ret = add_default_console(cfg, err, errlen);
	if (ret)
		return ret;
	if (!cfg->kvm_device) {
		cfg->kvm_device = strdup(DEFAULT_KVM_DEVICE);
		if (!cfg->kvm_device) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	return 0;
}
