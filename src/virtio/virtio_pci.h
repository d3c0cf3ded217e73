/*
 * The virtio-pci modern transport (virtio 1.x section 4.1): a
 * non-transitional PCI function (device ID 0x1040 + virtio ID, revision 1)
 * whose common, notify, ISR and device-config structures and MSI-X table
 * live in one 64-bit memory BAR. Queue kicks go through ioeventfds straight
 * to the event loop; interrupts through MSI-X routes and irqfds, or INTx
 * with the ISR when the guest does not enable MSI-X.
 *
 * BAR 0 layout (virtio_pci.c):
 *   0x0000 common configuration      0x1000 ISR status
 *   0x2000 device configuration      0x3000 notify: queue q at 0x3000 + 4 q
 *   0x4000 MSI-X table               0x5000 MSI-X pending bits
 */
#ifndef COVE_VIRTIO_VIRTIO_PCI_H
#define COVE_VIRTIO_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "pci/msix.h"
#include "pci/pci_bus.h"
#include "virtio/virtio_dev.h"

#define VIRTIO_PCI_BAR_SIZE 0x8000
#define VIRTIO_PCI_COMMON_OFF 0x0000
#define VIRTIO_PCI_ISR_OFF 0x1000
#define VIRTIO_PCI_DEVICE_OFF 0x2000
#define VIRTIO_PCI_NOTIFY_OFF 0x3000
#define VIRTIO_PCI_NOTIFY_MULT 4
#define VIRTIO_PCI_MSIX_TABLE_OFF 0x4000
#define VIRTIO_PCI_MSIX_PBA_OFF 0x5000
#define VIRTIO_PCI_REGION_SIZE 0x1000

/* What the transport keeps per queue until the driver enables it. */
struct virtio_pci_queue {
	uint16_t size;
	uint16_t vector;
	bool enabled;
	uint64_t desc, driver, device;
};

struct virtio_pci_kick {
	struct virtio_pci *vp;
	unsigned int queue;
	int fd; /* eventfd: KVM ioeventfd on the doorbell, watched by the loop */
};

struct virtio_pci {
	struct virtio_device *vdev;
	struct pci_dev pci;
	struct pci_bus *bus;
	struct msix msix;
	struct event_loop *loop;
	struct hv_vm *hv_vm;
	uint64_t kick_addr;   /* BAR 0 address the doorbell ioeventfds are bound at */
	bool kicks_in_kernel; /* false where the hypervisor has no ioeventfds */
	uint8_t pci_cfg_cap;  /* offset of the VIRTIO_PCI_CAP_PCI_CFG window */

	/* Common configuration state (under vdev->lock). */
	uint32_t device_feature_select;
	uint32_t driver_feature_select;
	uint64_t driver_features;
	uint16_t queue_select;
	uint16_t config_vector;
	uint8_t isr;
	struct virtio_pci_queue queues[VIRTIO_DEV_MAX_QUEUES];
	struct virtio_pci_kick kicks[VIRTIO_DEV_MAX_QUEUES];
};

/*
 * Wraps `vdev` in a PCI function on `bus` (which places its BAR), binds
 * its MSI-X vectors, ioeventfds and kick handlers on `loop`. Returns 0 or
 * -errno; on failure nothing is left registered with the loop.
 */
must_check int virtio_pci_create(struct virtio_pci *vp, struct virtio_device *vdev,
				 struct pci_bus *bus, struct hv_vm *hv_vm,
				 struct event_loop *loop);
/* Resets the device and releases the transport's fds. */
void virtio_pci_destroy(struct virtio_pci *vp);

/* virtio_pci_common.c: the common configuration structure (lock held). */
void virtio_pci_common_read(struct virtio_pci *vp, uint64_t offset, void *data, uint32_t len);
void virtio_pci_common_write(struct virtio_pci *vp, uint64_t offset, const void *data,
			     uint32_t len);
/* Back to the reset state: queues, vectors, ISR, features (lock held). */
void virtio_pci_reset(struct virtio_pci *vp);

#endif
