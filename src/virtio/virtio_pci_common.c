/*
 * The common configuration structure of the virtio-pci transport (virtio
 * 1.x section 4.1.4.3): feature selection, device status, queue setup.
 *
 * Guest-controlled: every offset, width and value. Fields are served at
 * their natural width (64-bit queue addresses also as two 32-bit halves, as
 * Linux writes them); anything else reads as zero and is ignored on write.
 * Queue fields freeze once the queue is enabled.
 */
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include <string.h>

#include "base/log.h"
#include "virtio/virtio_pci.h"

static struct virtio_pci_queue *selected(struct virtio_pci *vp)
{
	return vp->queue_select < vp->vdev->num_queues ? &vp->queues[vp->queue_select] : NULL;
}

static uint64_t half_of(uint64_t v, uint64_t offset)
{
	return offset & 4 ? v >> 32 : v & 0xffffffffu;
}

static uint64_t queue_field(const struct virtio_pci *vp, const struct virtio_pci_queue *q,
			    uint64_t offset)
{
	switch (offset) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		return q->size;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		return q->vector;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		return q->enabled;
	case VIRTIO_PCI_COMMON_Q_NOFF:
		return vp->queue_select;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		return half_of(q->desc, offset);
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		return half_of(q->driver, offset);
	case VIRTIO_PCI_COMMON_Q_USEDLO:
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		return half_of(q->device, offset);
	default:
		return 0;
	}
}

static uint64_t common_field(struct virtio_pci *vp, uint64_t offset)
{
	struct virtio_device *vdev = vp->vdev;
	struct virtio_pci_queue *q = selected(vp);

	switch (offset) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		return vp->device_feature_select;
	case VIRTIO_PCI_COMMON_DF:
		return vp->device_feature_select < 2
			       ? half_of(vdev->host_features, vp->device_feature_select * 4)
			       : 0;
	case VIRTIO_PCI_COMMON_GFSELECT:
		return vp->driver_feature_select;
	case VIRTIO_PCI_COMMON_GF:
		return vp->driver_feature_select < 2
			       ? half_of(vp->driver_features, vp->driver_feature_select * 4)
			       : 0;
	case VIRTIO_PCI_COMMON_MSIX:
		return vp->config_vector;
	case VIRTIO_PCI_COMMON_NUMQ:
		return vdev->num_queues;
	case VIRTIO_PCI_COMMON_STATUS:
		return vdev->status | (vdev->needs_reset ? VIRTIO_CONFIG_S_NEEDS_RESET : 0);
	case VIRTIO_PCI_COMMON_CFGGENERATION:
		return vdev->config_generation;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		return vp->queue_select;
	default:
		return q ? queue_field(vp, q, offset) : 0;
	}
}

void virtio_pci_common_read(struct virtio_pci *vp, uint64_t offset, void *data, uint32_t len)
{
	uint64_t v = 0;

	/* 64-bit fields are read as one 8-byte access or two 4-byte ones. */
	if (len == 8 && offset >= VIRTIO_PCI_COMMON_Q_DESCLO && offset % 8 == 0)
		v = common_field(vp, offset) | common_field(vp, offset + 4) << 32;
	else if (len <= 4)
		v = common_field(vp, offset);
	memcpy(data, &v, len);
}

/* A vector number the MSI-X table has, else NO_VECTOR (the driver reads it
 * back and learns the vector was refused). */
static uint16_t checked_vector(const struct virtio_pci *vp, uint64_t v)
{
	return v < vp->msix.nvec ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

static void set_half(uint64_t *field, uint64_t offset, uint64_t v)
{
	if (offset & 4)
		*field = (*field & 0xffffffffu) | (v << 32);
	else
		*field = (*field & ~0xffffffffULL) | (v & 0xffffffffu);
}

static void write_queue_field(struct virtio_pci *vp, struct virtio_pci_queue *q,
			      uint64_t offset, uint64_t v);

static void write_status(struct virtio_pci *vp, uint8_t v)
{
	struct virtio_device *vdev = vp->vdev;
	uint8_t old = vdev->status;

	if (v == 0) {
		virtio_pci_reset(vp);
		return;
	}
	if ((v & VIRTIO_CONFIG_S_FEATURES_OK) && !(old & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !virtio_dev_accept_features(vdev, vp->driver_features))
		v &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK; /* refused: the driver re-reads */
	vdev->status = v | old; /* bits are only cleared by a reset */
	if ((v & VIRTIO_CONFIG_S_DRIVER_OK) && !(old & VIRTIO_CONFIG_S_DRIVER_OK))
		virtio_dev_driver_ok(vdev);
}

static void write_field(struct virtio_pci *vp, uint64_t offset, uint64_t v)
{
	struct virtio_pci_queue *q = selected(vp);
	bool features_final = vp->vdev->status & VIRTIO_CONFIG_S_FEATURES_OK;

	switch (offset) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		vp->device_feature_select = (uint32_t)v;
		break;
	case VIRTIO_PCI_COMMON_GFSELECT:
		vp->driver_feature_select = (uint32_t)v;
		break;
	case VIRTIO_PCI_COMMON_GF:
		if (!features_final && vp->driver_feature_select < 2)
			set_half(&vp->driver_features, vp->driver_feature_select * 4, v);
		break;
	case VIRTIO_PCI_COMMON_MSIX:
		vp->config_vector = checked_vector(vp, v);
		break;
	case VIRTIO_PCI_COMMON_STATUS:
		write_status(vp, (uint8_t)v);
		break;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		vp->queue_select = (uint16_t)v;
		break;
	default:
		if (q)
			write_queue_field(vp, q, offset, v);
		break;
	}
}

static void enable_queue(struct virtio_pci *vp, unsigned int index, struct virtio_pci_queue *q)
{
	struct virtio_device *vdev = vp->vdev;
	const struct virtq_layout layout = {
		.size = q->size, .desc = q->desc, .avail = q->driver, .used = q->device,
	};

	if (q->size > vdev->queue_max_size[index] ||
	    virtq_enable(&vdev->queues[index], &layout,
			 virtio_dev_has_feature(vdev, VIRTIO_RING_F_EVENT_IDX),
			 virtio_dev_has_feature(vdev, VIRTIO_RING_F_INDIRECT_DESC))) {
		virtio_dev_set_needs_reset(vdev, "invalid queue layout");
		return;
	}
	q->enabled = true;
}

static void write_queue_field(struct virtio_pci *vp, struct virtio_pci_queue *q,
			      uint64_t offset, uint64_t v)
{
	if (offset == VIRTIO_PCI_COMMON_Q_MSIX) {
		q->vector = checked_vector(vp, v); /* may change at any time */
		return;
	}
	if (q->enabled)
		return; /* the driver must not change an enabled queue */
	switch (offset) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		q->size = (uint16_t)v;
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		if (v == 1)
			enable_queue(vp, vp->queue_select, q);
		break;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		set_half(&q->desc, offset, v);
		break;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		set_half(&q->driver, offset, v);
		break;
	case VIRTIO_PCI_COMMON_Q_USEDLO:
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		set_half(&q->device, offset, v);
		break;
	default:
		break;
	}
}

void virtio_pci_common_write(struct virtio_pci *vp, uint64_t offset, const void *data,
			     uint32_t len)
{
	uint64_t v = 0;

	memcpy(&v, data, len);
	if (len == 8 && offset >= VIRTIO_PCI_COMMON_Q_DESCLO && offset % 8 == 0) {
		write_field(vp, offset, v & 0xffffffffu);
		write_field(vp, offset + 4, v >> 32);
	} else if (len <= 4) {
		write_field(vp, offset, v);
	}
}

void virtio_pci_reset(struct virtio_pci *vp)
{
	struct virtio_device *vdev = vp->vdev;

	virtio_dev_reset(vdev);
	for (unsigned int i = 0; i < vdev->num_queues; i++)
		vp->queues[i] = (struct virtio_pci_queue){ .size = vdev->queue_max_size[i],
							   .vector = VIRTIO_MSI_NO_VECTOR };
	vp->device_feature_select = vp->driver_feature_select = 0;
	vp->driver_features = 0;
	vp->queue_select = 0;
	vp->config_vector = VIRTIO_MSI_NO_VECTOR;
	if (vp->isr) {
		vp->isr = 0;
		pci_bus_set_intx(vp->bus, vp->pci.slot, false);
	}
}
