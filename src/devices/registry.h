/*
 * The ordered table of device modules (registry.c). vm_build() calls
 * devices_create() once the buses and platform devices exist; each module
 * reads what it needs from vm->cfg, creates its devices and attaches them
 * (virtio devices with vm_attach_virtio()). PCI slots are handed out in
 * table order, then command-line order within a module, so the guest sees a
 * stable layout. No constructor tricks: a new module is one line in the
 * table.
 */
#ifndef COVE_DEVICES_REGISTRY_H
#define COVE_DEVICES_REGISTRY_H

#include "base/compiler.h"

struct vm;
struct virtio_device;

struct device_module {
	const char *name;
	/*
	 * Creates the module's devices for vm->cfg (possibly none). Returns 0,
	 * or -errno after logging one line that names the device and the cause;
	 * devices already attached are torn down by devices_destroy().
	 */
	int (*create)(struct vm *vm);
};

/* Runs every module's create in table order; stops at the first failure. */
must_check int devices_create(struct vm *vm);
/* Detaches and destroys every attached device, in reverse order. */
void devices_destroy(struct vm *vm);

/*
 * Puts `vdev` (initialised with virtio_dev_init) on the machine's bus (a
 * virtio-pci function on x86). From then on the VM owns it: teardown
 * resets it and calls vdev->ops->destroy. On failure the caller still owns
 * it. Returns 0 or -errno (logged).
 */
must_check int vm_attach_virtio(struct vm *vm, struct virtio_device *vdev);

#endif
