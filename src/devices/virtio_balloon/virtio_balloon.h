/*
 * virtio-balloon, the traditional memory balloon (virtio 1.x section 5.5).
 *
 * The host sets a target, num_pages (4 KiB pages the guest should give
 * up), and raises a configuration interrupt; the driver inflates or
 * deflates towards it and reports the balloon's size in `actual`.
 *
 * Queues, numbered as Linux and QEMU number them (only the queues of
 * negotiated features exist, consecutively): 0 inflateq, 1 deflateq, then
 * statsq if VIRTIO_BALLOON_F_STATS_VQ, then reporting_vq if
 * VIRTIO_BALLOON_F_REPORTING. The device offers four queues and assigns
 * the roles of 2 and 3 at DRIVER_OK from the negotiated features.
 *
 *  - inflateq: arrays of le32 page frame numbers (guest address >> 12).
 *    Each page inside guest RAM is given back to the host
 *    (guest_mem_discard: MADV_DONTNEED, the host RSS drops); others are
 *    ignored (logged once).
 *  - deflateq: the guest takes pages back; nothing to do (a discarded page
 *    reads as zeroes and is committed again when touched).
 *  - statsq: the driver keeps one buffer of statistics there. The device
 *    holds it, and "uses" it when it wants fresh statistics
 *    (virtio_balloon_request_stats); the driver refills and re-queues it.
 *  - reporting_vq (free page reporting, VIRTIO_BALLOON_F_REPORTING):
 *    scatter lists of free guest pages, discarded like inflated pages.
 *
 * Features offered: STATS_VQ always; DEFLATE_ON_OOM and REPORTING when the
 * options ask for them. DEFLATE_ON_OOM is off by default on purpose: with
 * it, Linux keeps ballooned pages in MemTotal (they count as used), while
 * without it a balloon visibly shrinks the guest's MemTotal, which is what
 * `virsh setmem` users expect. MUST_TELL_HOST, FREE_PAGE_HINT and
 * PAGE_POISON are not offered (Linux tells the host of deflations anyway).
 *
 * Threading: everything runs under vdev.lock. Guest register accesses come
 * from vCPU threads, queue kicks from the event loop; the control plane's
 * calls below take the lock themselves.
 */
#ifndef COVE_DEVICES_VIRTIO_BALLOON_VIRTIO_BALLOON_H
#define COVE_DEVICES_VIRTIO_BALLOON_VIRTIO_BALLOON_H

#include <linux/virtio_balloon.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/event_loop.h"
#include "devices/virtio_balloon/virtio_balloon_stats.h"
#include "virtio/virtio_dev.h"
#include "vm/guest_mem.h"

#define VIRTIO_BALLOON_QUEUE_SIZE 128
#define VIRTIO_BALLOON_NUM_QUEUES 4
#define VIRTIO_BALLOON_PAGE_SIZE (1u << VIRTIO_BALLOON_PFN_SHIFT)

struct virtio_balloon_options {
	bool deflate_on_oom; /* offer VIRTIO_BALLOON_F_DEFLATE_ON_OOM */
	bool page_reporting; /* offer VIRTIO_BALLOON_F_REPORTING */
};

/* What the control plane may know, copied under the lock. */
struct virtio_balloon_info {
	bool driver_ok;		/* the driver is running the device */
	bool stats_queue;	/* the driver set up the statistics queue */
	uint64_t features;	/* negotiated */
	uint32_t target_pages;	/* num_pages: what the host asked for */
	uint32_t actual_pages;	/* actual: what the driver says it holds */
	uint64_t inflated_pages; /* PFNs received on inflateq, ever */
	uint64_t deflated_pages; /* PFNs received on deflateq, ever */
	uint64_t reported_bytes; /* free memory reported and discarded, ever */
	bool have_stats;	/* stats holds a report from the driver */
	uint64_t stats_count;	/* reports received so far */
	struct virtio_balloon_stats stats;
};

/*
 * Called when the driver delivers statistics: on the thread that serves
 * the stats queue (the event loop in a VM), with the device lock held: it
 * must not call back into the device (it gets a copy instead).
 */
typedef void (*virtio_balloon_stats_fn)(void *opaque, const struct virtio_balloon_info *info);

struct virtio_balloon {
	struct virtio_device vdev;
	struct virtio_balloon_options opts;
	uint32_t num_pages; /* config: the target, set by the host */
	uint32_t actual;    /* config: written by the driver */
	int stats_q;	    /* queue index of each role, -1: absent (set at DRIVER_OK) */
	int report_q;
	bool stats_held;    /* the driver's stats buffer is held by the device */
	uint16_t stats_head;
	bool stats_wanted;  /* a request is waiting for the driver's refill */
	/* The counters and statistics of the info; fill_info() adds the rest. */
	struct virtio_balloon_info counters;
	virtio_balloon_stats_fn stats_fn;
	void *stats_opaque;
	struct virtq_chain chain; /* scratch for the chain being served */
};

/*
 * Creates the device. `loop` may be NULL (unit tests). `opts` may be NULL
 * (defaults: both off). The device still needs a transport. Returns 0 or
 * -errno.
 */
must_check int virtio_balloon_new(const struct guest_mem *mem, struct event_loop *loop,
				  const struct virtio_balloon_options *opts,
				  struct virtio_balloon **out);
/* Releases the device; the same as vdev.ops->destroy. */
void virtio_balloon_destroy(struct virtio_balloon *b);

/*
 * Sets the target to `pages` 4 KiB pages in the balloon and raises the
 * configuration interrupt if the driver is running (otherwise the driver
 * reads it when it starts). Takes the lock.
 */
void virtio_balloon_set_target(struct virtio_balloon *b, uint32_t pages);

/* Copies the current state into *info. Takes the lock. */
void virtio_balloon_get_info(struct virtio_balloon *b, struct virtio_balloon_info *info);

/* Sets the function told of every statistics report (NULL: none). Takes the lock. */
void virtio_balloon_set_stats_listener(struct virtio_balloon *b, virtio_balloon_stats_fn fn,
				       void *opaque);

/*
 * Asks the driver for fresh statistics: gives it back its stats buffer
 * (used, with an interrupt); the listener hears of the refill. Returns 0
 * (asked, or a request is already pending), or -ENODATA when there is no
 * buffer to give back (driver not running, no statsq, or the driver has not
 * sent its first report yet): the caller answers with what it has. Takes
 * the lock.
 */
must_check int virtio_balloon_request_stats(struct virtio_balloon *b);

/*
 * Registry entry: creates the device unless vm->cfg->no_balloon, attaches
 * it with vm_attach_virtio() and records it in vm->balloon. Returns 0 or
 * -errno (logged).
 */
struct vm;
must_check int virtio_balloon_create_all(struct vm *vm);

#endif
