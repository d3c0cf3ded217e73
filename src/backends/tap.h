/*
 * The host side of a virtio-net device: a Linux TAP interface
 * (Documentation/networking/tuntap.rst), one file descriptor per queue.
 *
 * A tap is opened by name (an existing persistent tap, or a new one when
 * Cove holds CAP_NET_ADMIN: it then lives as long as Cove) or adopted from
 * an inherited fd (crosvm's tap-fd=). Every fd is non-blocking and, when
 * the tap allows it, carries the 12-byte virtio-net header (IFF_VNET_HDR
 * with TUNSETVNETHDRSZ 12, little-endian: struct virtio_net_hdr_v1), so
 * checksum and segmentation offloads pass between guest and host kernel
 * untouched. With vq-pairs > 1 the tap is multi-queue (IFF_MULTI_QUEUE):
 * each queue pair owns one fd, and queues the guest does not use are
 * detached so the kernel steers no packet to them.
 */
#ifndef COVE_BACKENDS_TAP_H
#define COVE_BACKENDS_TAP_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/compiler.h"

#define TAP_MAX_QUEUES 16
#define TAP_VNET_HDR_LEN 12 /* struct virtio_net_hdr_v1 */

struct tap {
	char name[IF_NAMESIZE];
	int fds[TAP_MAX_QUEUES];
	unsigned int num_queues;
	bool vnet_hdr;		   /* packets carry the 12-byte header */
	bool multi_queue;	   /* IFF_MULTI_QUEUE: queues can be detached */
	unsigned int offloads;	   /* TUN_F_* the tap accepted in the probe */
	unsigned int cur_offloads; /* TUN_F_* in force (0 after opening) */
	bool owned;		   /* fds opened by Cove (closed by tap_close) */
};

/*
 * Opens tap `name` with `queues` fds (1..TAP_MAX_QUEUES). An existing tap
 * is attached; a missing one is created (non-persistent) if Cove may.
 * A single-queue request adapts to whichever queue mode an existing tap
 * was created with. On failure returns -errno with one line in err that
 * names the tap and the cause (missing and no right to create it, owned by
 * another user, not a tap, not multi-queue, ...).
 */
must_check int tap_open(struct tap *tap, const char *name, unsigned int queues, char *err,
			size_t errlen);

/*
 * Adopts an fd that is already attached to a tap (crosvm's tap-fd=): it
 * must be a TAP (not TUN) device without packet information. The fd is
 * made non-blocking and closed by tap_close. -errno with one line in err.
 */
must_check int tap_adopt_fd(struct tap *tap, int fd, char *err, size_t errlen);

/*
 * Mirrors the offloads the guest accepts (TUN_F_* bits: what the tap may
 * hand to Cove) to the tap; bits outside tap->offloads are dropped.
 * Returns 0 or -errno.
 */
must_check int tap_set_offload(struct tap *tap, unsigned int tun_flags);

/*
 * Attaches (on) or detaches queue `q` (multi-queue taps; a single-queue
 * tap accepts only q 0, on). Returns 0 or -errno.
 */
must_check int tap_set_queue(struct tap *tap, unsigned int q, bool on);

void tap_close(struct tap *tap);

/* TUN_F_* bits for virtio-net guest-offload feature bits (VIRTIO_NET_F_GUEST_*). */
unsigned int tap_offloads_from_features(unsigned long long guest_features);

#endif
