/*
 * The virtio-pci modern transport: PCI identity and capabilities, BAR
 * dispatch, kicks and interrupts (virtio 1.x sections 4.1.2-4.1.5); the
 * common configuration registers are in virtio_pci_common.c.
 */
#include "virtio/virtio_pci.h"

#include <errno.h>
#include <linux/pci_regs.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"
#include "hv/hv.h"

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040 /* modern (non-transitional) IDs */
#define VIRTIO_PCI_REVISION 1
#define VIRTIO_PCI_SUBSYS_ID 0x1100
#define ISR_QUEUE 0x1 /* ISR bit 0: a queue interrupt (section 4.1.4.5) */

static uint32_t class_code(uint16_t device_id)
{
	switch (device_id) {
	case VIRTIO_ID_NET:
		return 0x020000; /* network controller, Ethernet */
	case VIRTIO_ID_BLOCK:
		return 0x010000; /* mass storage, SCSI (as QEMU reports it) */
	case VIRTIO_ID_CONSOLE:
		return 0x078000; /* simple communication controller, other */
	default:
		return 0xff0000; /* device does not fit a defined class */
	}
}

/* ---- BAR 0 ---- */

static void isr_read(struct virtio_pci *vp, void *data, uint32_t len)
{
	uint64_t v = vp->isr;

	/* Reading the ISR acknowledges it and drops INTx (section 4.1.4.5). */
	if (vp->isr) {
		vp->isr = 0;
		pci_bus_set_intx(vp->bus, vp->pci.slot, false);
	}
	memcpy(data, &v, len);
}

static void device_cfg_read(struct virtio_pci *vp, uint64_t off, void *data, uint32_t len)
{
	struct virtio_device *vdev = vp->vdev;

	memset(data, 0, len);
	if (off < vdev->config_size && vdev->config_size - off >= len)
		vdev->ops->config_read(vdev, (uint32_t)off, data, len);
}

static void device_cfg_write(struct virtio_pci *vp, uint64_t off, const void *data, uint32_t len)
{
	struct virtio_device *vdev = vp->vdev;

	if (vdev->ops->config_write && off < vdev->config_size && vdev->config_size - off >= len)
		vdev->ops->config_write(vdev, (uint32_t)off, data, len);
}

/* A doorbell write that reached Cove (the ioeventfd did not catch it, e.g.
 * after the guest moved the BAR): hand it to the loop like a kick. */
static void notify_write(struct virtio_pci *vp, uint64_t off)
{
	uint64_t q = off / VIRTIO_PCI_NOTIFY_MULT, one = 1;

	if (off % VIRTIO_PCI_NOTIFY_MULT == 0 && q < vp->vdev->num_queues &&
	    write(vp->kicks[q].fd, &one, sizeof(one)) < 0)
		log_guest_once("%s: cannot forward a kick: %s", vp->vdev->name, strerror(errno));
}

/* Guest-controlled: offset and width of every BAR access. */
static void bar_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct virtio_pci *vp = opaque;
	uint64_t region = offset & ~(uint64_t)(VIRTIO_PCI_REGION_SIZE - 1);
	uint64_t off = offset - region;

	memset(data, 0, len);
	pthread_mutex_lock(&vp->vdev->lock);
	if (region == VIRTIO_PCI_COMMON_OFF)
		virtio_pci_common_read(vp, off, data, len);
	else if (region == VIRTIO_PCI_ISR_OFF && off == 0)
		isr_read(vp, data, len);
	else if (region == VIRTIO_PCI_DEVICE_OFF)
		device_cfg_read(vp, off, data, len);
	else if (region == VIRTIO_PCI_MSIX_TABLE_OFF)
		msix_table_read(&vp->msix, off, data, len);
	else if (region == VIRTIO_PCI_MSIX_PBA_OFF)
		msix_pba_read(&vp->msix, off, data, len);
	pthread_mutex_unlock(&vp->vdev->lock);
}

static void bar_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct virtio_pci *vp = opaque;
	uint64_t region = offset & ~(uint64_t)(VIRTIO_PCI_REGION_SIZE - 1);
	uint64_t off = offset - region;

	if (region == VIRTIO_PCI_NOTIFY_OFF) {
		notify_write(vp, off); /* no lock: the loop takes it */
		return;
	}
	pthread_mutex_lock(&vp->vdev->lock);
	if (region == VIRTIO_PCI_COMMON_OFF)
		virtio_pci_common_write(vp, off, data, len);
	else if (region == VIRTIO_PCI_DEVICE_OFF)
		device_cfg_write(vp, off, data, len);
	else if (region == VIRTIO_PCI_MSIX_TABLE_OFF)
		msix_table_write(&vp->msix, off, data, len);
	pthread_mutex_unlock(&vp->vdev->lock);
}

static const struct bus_ops bar_ops = {
	.read = bar_read,
	.write = bar_write,
};

/* ---- interrupts (struct virtio_transport_ops; device lock held) ---- */

static void raise_irq(struct virtio_pci *vp, uint16_t vector, uint8_t isr_bit)
{
	if (msix_enabled(&vp->msix)) {
		if (vector != VIRTIO_MSI_NO_VECTOR)
			msix_notify(&vp->msix, vector);
		return;
	}
	vp->isr |= isr_bit;
	if (!(pci_dev_cfg_get(&vp->pci, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE))
		pci_bus_set_intx(vp->bus, vp->pci.slot, true);
}

static void notify_queue(struct virtio_device *vdev, unsigned int q)
{
	struct virtio_pci *vp = vdev->transport_priv;

	raise_irq(vp, vp->queues[q].vector, ISR_QUEUE);
}

static void notify_config(struct virtio_device *vdev)
{
	struct virtio_pci *vp = vdev->transport_priv;

	raise_irq(vp, vp->config_vector, VIRTIO_PCI_ISR_CONFIG);
}

static const struct virtio_transport_ops pci_transport_ops = {
	.notify_queue = notify_queue,
	.notify_config = notify_config,
};

/* ---- the PCI configuration access window (section 4.1.4.9) ---- */

#define PCI_CFG_DATA offsetof(struct virtio_pci_cfg_cap, pci_cfg_data)

static bool touches(uint32_t offset, uint32_t len, uint32_t start, uint32_t size)
{
	return offset < start + size && start < offset + len;
}

/*
 * Guest-controlled: the window's BAR, offset and length. The driver must
 * name 1, 2 or 4 aligned bytes inside BAR 0; anything else reads as zero
 * and writes nothing (the spec leaves it undefined).
 */
static bool window(const struct virtio_pci *vp, uint32_t *offset, uint32_t *len)
{
	uint32_t cap = vp->pci_cfg_cap;

	*offset = pci_dev_cfg_get(&vp->pci, cap + VIRTIO_PCI_CAP_OFFSET, 4);
	*len = pci_dev_cfg_get(&vp->pci, cap + VIRTIO_PCI_CAP_LENGTH, 4);
	return pci_dev_cfg_get(&vp->pci, cap + VIRTIO_PCI_CAP_BAR, 1) == 0 &&
	       (*len == 1 || *len == 2 || *len == 4) && *offset % *len == 0 &&
	       *offset < VIRTIO_PCI_BAR_SIZE;
}

/* The guest reads pci_cfg_data: fetch it from BAR 0 first. */
static void window_read(struct virtio_pci *vp)
{
	uint32_t offset, len, v = 0;

	if (window(vp, &offset, &len))
		bar_read(vp, offset, &v, len);
	pci_dev_cfg_set(&vp->pci, vp->pci_cfg_cap + PCI_CFG_DATA, v, 4);
}

/* The guest wrote pci_cfg_data: pass its first `len` bytes to BAR 0. */
static void window_write(struct virtio_pci *vp)
{
	uint32_t offset, len, v;

	if (!window(vp, &offset, &len))
		return;
	v = pci_dev_cfg_get(&vp->pci, vp->pci_cfg_cap + PCI_CFG_DATA, 4);
	bar_write(vp, offset, &v, len);
}

/* ---- config space (bus lock held) ---- */

static void unbind_kick_doorbells(struct virtio_pci *vp);
static void bind_kick_doorbells(struct virtio_pci *vp);

/* The guest moved BAR 0: the doorbell ioeventfds follow it, so that kicks
 * keep bypassing Cove's vCPU threads and the old range catches nothing. */
static void follow_bar(struct virtio_pci *vp)
{
	uint64_t addr;

	if (!vp->kicks_in_kernel || !pci_dev_bar_addr(&vp->pci, 0, &addr) ||
	    addr == vp->kick_addr)
		return;
	unbind_kick_doorbells(vp);
	vp->kick_addr = addr;
	bind_kick_doorbells(vp);
}

static void cfg_reading(struct pci_dev *dev, uint32_t offset, uint32_t len)
{
	struct virtio_pci *vp = dev->opaque;

	if (touches(offset, len, vp->pci_cfg_cap + PCI_CFG_DATA, 4))
		window_read(vp);
}

/* MSI-X enable and function mask, BAR moves, the access window. */
static void cfg_written(struct pci_dev *dev, uint32_t offset, uint32_t len)
{
	struct virtio_pci *vp = dev->opaque;

	pthread_mutex_lock(&vp->vdev->lock);
	msix_cfg_written(&vp->msix, offset, len);
	pthread_mutex_unlock(&vp->vdev->lock);
	if (touches(offset, len, PCI_COMMAND, 2) || touches(offset, len, PCI_BASE_ADDRESS_0, 8))
		follow_bar(vp);
	if (touches(offset, len, vp->pci_cfg_cap + PCI_CFG_DATA, 4))
		window_write(vp);
}

/* ---- kicks ---- */

static void on_kick(void *opaque, uint32_t events)
{
	struct virtio_pci_kick *k = opaque;
	struct virtio_device *vdev = k->vp->vdev;
	uint64_t count;

	(void)events;
	if (read(k->fd, &count, sizeof(count)) < 0)
		return;
	pthread_mutex_lock(&vdev->lock);
	if (virtio_dev_running(vdev) && vdev->queues[k->queue].enabled)
		vdev->ops->queue_notify(vdev, k->queue);
	pthread_mutex_unlock(&vdev->lock);
}

static void unbind_kicks(struct virtio_pci *vp)
{
	for (unsigned int q = 0; q < VIRTIO_DEV_MAX_QUEUES; q++) {
		if (vp->kicks[q].fd < 0)
			continue;
		event_loop_remove(vp->loop, vp->kicks[q].fd);
		close(vp->kicks[q].fd);
		vp->kicks[q].fd = -1;
	}
}

static uint64_t doorbell(const struct virtio_pci *vp, unsigned int q)
{
	return vp->kick_addr + VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * q;
}

/* Linux writes the queue index as 16 bits (section 4.1.5.2). */
static int bind_doorbell(struct virtio_pci *vp, unsigned int q)
{
	return vp->hv_vm->ops->add_ioeventfd(vp->hv_vm, doorbell(vp, q), 2, false,
					     vp->kicks[q].fd);
}

static void bind_kick_doorbells(struct virtio_pci *vp)
{
	for (unsigned int q = 0; q < vp->vdev->num_queues; q++) {
		int err = bind_doorbell(vp, q);

		/* The MMIO path (notify_write) still delivers this queue's kicks. */
		if (err)
			log_warn("%s: queue %u doorbell at %#llx stays in Cove: %s", vp->vdev->name,
				 q, (unsigned long long)doorbell(vp, q), strerror(-err));
	}
}

static void unbind_kick_doorbells(struct virtio_pci *vp)
{
	for (unsigned int q = 0; q < vp->vdev->num_queues; q++)
		(void)vp->hv_vm->ops->remove_ioeventfd(vp->hv_vm, doorbell(vp, q), 2, false,
						       vp->kicks[q].fd);
}

static int bind_kick(struct virtio_pci *vp, unsigned int q)
{
	struct virtio_pci_kick *k = &vp->kicks[q];
	int err;

	k->vp = vp;
	k->queue = q;
	k->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (k->fd < 0)
		return -errno;
	err = bind_doorbell(vp, q);
	vp->kicks_in_kernel = err != -EOPNOTSUPP;
	if (err == -EOPNOTSUPP)
		err = 0; /* no ioeventfd (fake backend): doorbells exit to bar_write */
	return err ? err : event_loop_add(vp->loop, k->fd, EPOLLIN, on_kick, k);
}

/* ---- creation ---- */

static int add_virtio_cap(struct pci_dev *dev, uint8_t type, uint32_t offset, uint32_t length,
			  uint8_t cap_len)
{
	int cap = pci_dev_add_cap(dev, PCI_CAP_ID_VNDR, cap_len);

	if (cap < 0)
		return cap;
	pci_dev_cfg_set(dev, (uint32_t)cap + VIRTIO_PCI_CAP_LEN, cap_len, 1);
	pci_dev_cfg_set(dev, (uint32_t)cap + VIRTIO_PCI_CAP_CFG_TYPE, type, 1);
	pci_dev_cfg_set(dev, (uint32_t)cap + VIRTIO_PCI_CAP_BAR, 0, 1);
	pci_dev_cfg_set(dev, (uint32_t)cap + VIRTIO_PCI_CAP_OFFSET, offset, 4);
	pci_dev_cfg_set(dev, (uint32_t)cap + VIRTIO_PCI_CAP_LENGTH, length, 4);
	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
		pci_dev_cfg_set(dev, (uint32_t)cap + sizeof(struct virtio_pci_cap),
				VIRTIO_PCI_NOTIFY_MULT, 4);
	return 0;
}

/* The window through config space into BAR 0; its bar, offset, length and
 * data are the driver's to write. */
static int add_pci_cfg_cap(struct virtio_pci *vp)
{
	int cap = pci_dev_add_cap(&vp->pci, PCI_CAP_ID_VNDR, sizeof(struct virtio_pci_cfg_cap));

	if (cap < 0)
		return cap;
	vp->pci_cfg_cap = (uint8_t)cap;
	pci_dev_cfg_set(&vp->pci, (uint32_t)cap + VIRTIO_PCI_CAP_LEN,
			sizeof(struct virtio_pci_cfg_cap), 1);
	pci_dev_cfg_set(&vp->pci, (uint32_t)cap + VIRTIO_PCI_CAP_CFG_TYPE, VIRTIO_PCI_CAP_PCI_CFG,
			1);
	pci_dev_set_wmask(&vp->pci, (uint32_t)cap + VIRTIO_PCI_CAP_BAR, 0xff, 1);
	pci_dev_set_wmask(&vp->pci, (uint32_t)cap + VIRTIO_PCI_CAP_OFFSET, 0xffffffff, 4);
	pci_dev_set_wmask(&vp->pci, (uint32_t)cap + VIRTIO_PCI_CAP_LENGTH, 0xffffffff, 4);
	pci_dev_set_wmask(&vp->pci, (uint32_t)cap + PCI_CFG_DATA, 0xffffffff, 4);
	return 0;
}

static int add_virtio_caps(struct virtio_pci *vp)
{
	const struct virtio_device *vdev = vp->vdev;
	const uint8_t cap = sizeof(struct virtio_pci_cap);
	int err;

	err = add_virtio_cap(&vp->pci, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF,
			     sizeof(struct virtio_pci_common_cfg), cap);
	err = err ? err : add_virtio_cap(&vp->pci, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, 1, cap);
	err = err ? err : add_virtio_cap(&vp->pci, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF,
				      VIRTIO_PCI_NOTIFY_MULT * vdev->num_queues,
				      sizeof(struct virtio_pci_notify_cap));
	if (!err && vdev->config_size)
		err = add_virtio_cap(&vp->pci, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFF,
				     vdev->config_size, cap);
	return err ? err : add_pci_cfg_cap(vp);
}

static int setup_function(struct virtio_pci *vp, struct hv_vm *hv_vm)
{
	struct virtio_device *vdev = vp->vdev;
	unsigned int nvec = vdev->num_queues + 1; /* one per queue, one for config */
	uint32_t gsi;
	int err;

	if (vdev->config_size > VIRTIO_PCI_REGION_SIZE ||
	    msix_table_size(nvec) > VIRTIO_PCI_REGION_SIZE)
		return -EINVAL;
	pci_dev_init(&vp->pci, vdev->name, VIRTIO_PCI_VENDOR,
		     VIRTIO_PCI_DEVICE_BASE + vdev->device_id, class_code(vdev->device_id),
		     VIRTIO_PCI_REVISION, VIRTIO_PCI_VENDOR, VIRTIO_PCI_SUBSYS_ID);
	vp->pci.opaque = vp;
	vp->pci.cfg_written = cfg_written;
	vp->pci.cfg_reading = cfg_reading;
	err = pci_dev_set_bar(&vp->pci, 0, VIRTIO_PCI_BAR_SIZE, true, &bar_ops, vp);
	err = err ? err : add_virtio_caps(vp);
	err = err ? err : pci_bus_alloc_msi_gsis(vp->bus, nvec, &gsi);
	return err ? err : msix_init(&vp->msix, &vp->pci, hv_vm, nvec, 0,
				     VIRTIO_PCI_MSIX_TABLE_OFF, VIRTIO_PCI_MSIX_PBA_OFF, gsi);
}

int virtio_pci_create(struct virtio_pci *vp, struct virtio_device *vdev, struct pci_bus *bus,
		      struct hv_vm *hv_vm, struct event_loop *loop)
{
	int err;

	memset(vp, 0, sizeof(*vp));
	vp->vdev = vdev;
	vp->bus = bus;
	vp->loop = loop;
	vp->hv_vm = hv_vm;
	for (unsigned int q = 0; q < VIRTIO_DEV_MAX_QUEUES; q++)
		vp->kicks[q].fd = -1;
	err = setup_function(vp, hv_vm);
	if (err)
		goto destroy_msix;
	err = pci_bus_add(bus, &vp->pci);
	if (err)
		goto destroy_msix;
	vp->kick_addr = pci_dev_bar_base(&vp->pci, 0);
	for (unsigned int q = 0; q < vdev->num_queues && !err; q++)
		err = bind_kick(vp, q);
	if (err)
		goto unbind;
	vdev->transport = &pci_transport_ops;
	vdev->transport_priv = vp;
	pthread_mutex_lock(&vdev->lock);
	virtio_pci_reset(vp);
	pthread_mutex_unlock(&vdev->lock);
	log_debug("%s: PCI 00:%02x.0, BAR0 at %#llx", vdev->name, vp->pci.slot,
		  (unsigned long long)vp->kick_addr);
	return 0;

unbind:
	unbind_kicks(vp);
	pci_bus_remove(bus, &vp->pci);
destroy_msix:
	msix_destroy(&vp->msix);
	return err;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	pthread_mutex_lock(&vp->vdev->lock);
	virtio_dev_reset(vp->vdev);
	pthread_mutex_unlock(&vp->vdev->lock);
	unbind_kicks(vp);
	pci_bus_remove(vp->bus, &vp->pci);
	msix_destroy(&vp->msix);
}
