/*
 * A virtio device as the transport sees it (virtio 1.x, sections 2 and 3:
 * status, feature bits, device configuration, virtqueues), apart from any
 * transport: device models implement `struct virtio_dev_ops` and know
 * nothing of PCI; virtio_pci.c adapts a struct virtio_device to a PCI
 * function. Nothing writes an ops table at run time.
 *
 * A device model embeds `struct virtio_device` in its own struct (use
 * container_of) and fills it with virtio_dev_init() before handing it to a
 * transport.
 *
 * Threading contract: `lock` serialises everything about one device. The
 * transport holds it while it calls any op (register accesses arrive on vCPU
 * threads, queue kicks on the event-loop thread). Callbacks the device
 * registers itself (backend fds, io_uring completions) run on the event loop
 * and must take the lock themselves, then check virtio_dev_running() before
 * touching queues: the driver may have reset the device in between.
 */
#ifndef COVE_VIRTIO_VIRTIO_DEV_H
#define COVE_VIRTIO_VIRTIO_DEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/event_loop.h"
#include "virtio/virtq.h"
#include "vm/guest_mem.h"

#define VIRTIO_DEV_MAX_QUEUES 64

struct virtio_device;

struct virtio_dev_ops {
	/*
	 * Device-specific configuration space. Accesses lie inside
	 * [0, config_size); `data` is little-endian, len 1, 2, 4 or 8.
	 * config_write may be NULL (read-only configuration: writes ignored).
	 */
	void (*config_read)(struct virtio_device *vdev, uint32_t offset, void *data,
			    uint32_t len);
	void (*config_write)(struct virtio_device *vdev, uint32_t offset, const void *data,
			     uint32_t len);
	/*
	 * The driver set DRIVER_OK: features are final (vdev->features), the
	 * enabled queues are valid. Start serving. Returns 0, or -errno to put
	 * the device into DEVICE_NEEDS_RESET. May be NULL.
	 */
	int (*activate)(struct virtio_device *vdev);
	/*
	 * The driver wrote 0 to device_status (or the VM is going away): stop
	 * serving, finish or abandon in-flight requests without touching guest
	 * memory after return, and return to the initial state. The transport
	 * resets the queues and features afterwards. May be NULL.
	 */
	void (*reset)(struct virtio_device *vdev);
	/* The driver kicked queue `q` (enabled, device running). Required. */
	void (*queue_notify)(struct virtio_device *vdev, unsigned int q);
	/* Releases everything the device owns; the device is reset already. */
	void (*destroy)(struct virtio_device *vdev);
};

/*
 * What the device asks of its transport. Called with the device lock held.
 */
struct virtio_transport_ops {
	/* Raise the interrupt of queue `q` (MSI-X vector or INTx + ISR bit 0). */
	void (*notify_queue)(struct virtio_device *vdev, unsigned int q);
	/* Raise the configuration-change interrupt (ISR bit 1). */
	void (*notify_config)(struct virtio_device *vdev);
};

struct virtio_device {
	const struct virtio_dev_ops *ops;
	const char *name;	   /* "virtio-blk (vda)": for log lines */
	uint16_t device_id;	   /* VIRTIO_ID_* from linux/virtio_ids.h */
	uint64_t host_features;	   /* offered; virtio_dev_init adds VERSION_1 and ring features */
	uint64_t features;	   /* negotiated (valid from FEATURES_OK on) */
	uint32_t config_size;	   /* bytes of device-specific configuration */
	uint8_t config_generation; /* bump with virtio_dev_config_changed() */
	uint8_t status;		   /* VIRTIO_CONFIG_S_* as the driver set it */
	bool needs_reset;	   /* DEVICE_NEEDS_RESET raised */

	unsigned int num_queues;
	uint16_t queue_max_size[VIRTIO_DEV_MAX_QUEUES];
	struct virtq queues[VIRTIO_DEV_MAX_QUEUES];

	const struct guest_mem *mem;
	struct event_loop *loop;   /* for the device's own backend fds */
	pthread_mutex_t lock;

	const struct virtio_transport_ops *transport;
	void *transport_priv;
};

/*
 * Fills the generic part. `device_features` are the device-specific bits;
 * VERSION_1, INDIRECT_DESC and EVENT_IDX are added. Each of the
 * `num_queues` queues offers `queue_size` entries (a power of two, at most
 * VIRTQ_MAX_SIZE); a device with unequal queues sets queue_max_size[] after.
 * Returns 0 or -errno (bad arguments, mutex init).
 */
must_check int virtio_dev_init(struct virtio_device *vdev, const struct virtio_dev_ops *ops,
			       const char *name, uint16_t device_id, uint64_t device_features,
			       uint32_t config_size, unsigned int num_queues, uint16_t queue_size,
			       const struct guest_mem *mem, struct event_loop *loop);
void virtio_dev_destroy(struct virtio_device *vdev);

/* True once DRIVER_OK is set and no reset is needed. Lock held. */
bool virtio_dev_running(const struct virtio_device *vdev);

/* True if feature bit `bit` was negotiated. */
bool virtio_dev_has_feature(const struct virtio_device *vdev, unsigned int bit);

/*
 * After pushing used buffers on queue `q`: raises its interrupt if the
 * driver asked for one (EVENT_IDX / NO_INTERRUPT rules). Lock held.
 */
void virtio_dev_notify(struct virtio_device *vdev, unsigned int q);

/* The device changed its configuration: new generation, config interrupt. Lock held. */
void virtio_dev_config_changed(struct virtio_device *vdev);

/*
 * The guest broke the rules (bad ring, bad request layout): set
 * DEVICE_NEEDS_RESET, stop serving, tell the driver (config interrupt),
 * log once with `why`. Cove keeps running. Lock held.
 */
void virtio_dev_set_needs_reset(struct virtio_device *vdev, const char *why);

/*
 * Transport side, called with the lock held: feature negotiation
 * (returns false if the driver accepted a bit that was not offered, or
 * omitted VERSION_1), DRIVER_OK (enables the queues' ring features and
 * calls activate) and reset.
 */
bool virtio_dev_accept_features(struct virtio_device *vdev, uint64_t features);
void virtio_dev_driver_ok(struct virtio_device *vdev);
void virtio_dev_reset(struct virtio_device *vdev);

#endif
