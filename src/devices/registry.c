/*
 * The device modules, in the order their devices appear on the PCI bus,
 * and the attachment of virtio devices to the machine (virtio-pci).
 */
#include "devices/registry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "devices/virtio_balloon/virtio_balloon.h"
#include "devices/virtio_9p/virtio_9p.h"
#include "devices/virtio_blk/virtio_blk.h"
#include "devices/virtio_console/virtio_console.h"
#include "devices/virtio_net/virtio_net.h"
#include "devices/virtio_rng/virtio_rng.h"
#include "devices/virtio_vsock/virtio_vsock.h"
#include "virtio/virtio_pci.h"
#include "vm/vm.h"

static const struct device_module modules[] = {
	{ "virtio-console", virtio_console_create_all },
	{ "virtio-blk", virtio_blk_create_all },
	{ "virtio-net", virtio_net_create_all },
	{ "virtio-vsock", virtio_vsock_create_all },
	{ "virtio-rng", virtio_rng_create_all },
	{ "virtio-balloon", virtio_balloon_create_all },
	{ "virtio-9p", virtio_9p_create_all },
};

int devices_create(struct vm *vm)
{
	for (size_t i = 0; i < ARRAY_SIZE(modules); i++) {
		int err = modules[i].create(vm);

		if (err)
			return err;
	}
	return 0;
}

void devices_destroy(struct vm *vm)
{
	while (vm->num_virtio > 0) {
		struct virtio_pci *vp = vm->virtio[--vm->num_virtio];
		struct virtio_device *vdev = vp->vdev;

		virtio_pci_destroy(vp);
		free(vp);
		vdev->ops->destroy(vdev);
	}
}

int vm_attach_virtio(struct vm *vm, struct virtio_device *vdev)
{
	struct virtio_pci *vp;
	int err;

	if (vm->num_virtio == VM_MAX_VIRTIO) {
		log_error("%s: too many virtio devices (at most %d)", vdev->name, VM_MAX_VIRTIO);
		return -ENOSPC;
	}
	vp = calloc(1, sizeof(*vp));
	if (!vp)
		return -ENOMEM;
	err = virtio_pci_create(vp, vdev, &vm->pci, vm->hv_vm, &vm->loop);
	if (err) {
		log_error("%s: cannot put it on the PCI bus: %s", vdev->name, strerror(-err));
		free(vp);
		return err;
	}
	vm->virtio[vm->num_virtio++] = vp;
	return 0;
}
