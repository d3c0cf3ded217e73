/*
 * The virtio-net control queue without I/O (virtio 1.x section 5.1.6.5,
 * "Control Virtqueue"): one command in, the ack byte out, and the device
 * state it changes. The device (virtio_net.c) mirrors the changes to the
 * tap (offloads, queue pairs); the fuzzer drives this file directly.
 *
 * Commands served: RX PROMISC/ALLMULTI (CTRL_RX), MAC TABLE_SET (CTRL_RX),
 * MAC ADDR_SET (CTRL_MAC_ADDR), MQ VQ_PAIRS_SET (MQ), GUEST_OFFLOADS SET
 * (CTRL_GUEST_OFFLOADS). Anything else, or a command whose feature was
 * not negotiated or whose data is malformed, is answered VIRTIO_NET_ERR and
 * changes nothing.
 */
#ifndef COVE_DEVICES_VIRTIO_NET_CTRL_H
#define COVE_DEVICES_VIRTIO_NET_CTRL_H

#include <stddef.h>
#include <stdint.h>

#include "devices/virtio_net/virtio_net_hdr.h"

/* Largest command Cove reads (a full MAC table is 4 + 64*6 + 4 + 64*6). */
#define VIRTIO_NET_CTRL_MAX 4096

/* The GUEST_* feature bits GUEST_OFFLOADS_SET may switch. */
#define VIRTIO_NET_GUEST_OFFLOAD_MASK                                                              \
	((1ULL << VIRTIO_NET_F_GUEST_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_TSO4) |                   \
	 (1ULL << VIRTIO_NET_F_GUEST_TSO6) | (1ULL << VIRTIO_NET_F_GUEST_ECN) |                    \
	 (1ULL << VIRTIO_NET_F_GUEST_UFO))

enum {
	VIRTIO_NET_CTRL_CHANGED_PAIRS = 1,    /* curr_pairs */
	VIRTIO_NET_CTRL_CHANGED_OFFLOADS = 2, /* guest_offloads */
	VIRTIO_NET_CTRL_CHANGED_MAC = 4,      /* filter.mac (show it in config) */
};

struct virtio_net_ctrl_state {
	struct virtio_net_filter filter;
	uint16_t max_pairs;	 /* the device's */
	uint16_t curr_pairs;	 /* queue pairs in use, 1..max_pairs */
	uint64_t guest_offloads; /* GUEST_* bits in force */
};

/* The state at DRIVER_OK: one pair, promiscuous, the negotiated offloads. */
void virtio_net_ctrl_reset(struct virtio_net_ctrl_state *st, const uint8_t mac[6],
			   uint16_t max_pairs, uint64_t features);

/*
 * Handles one command: `buf` holds the driver-readable bytes of the chain
 * (class, command, data), `len` of them. Returns VIRTIO_NET_OK or
 * VIRTIO_NET_ERR (the ack to write) and ORs VIRTIO_NET_CTRL_CHANGED_* into
 * *changed. Guest-controlled: buf and len.
 */
uint8_t virtio_net_ctrl_handle(struct virtio_net_ctrl_state *st, const uint8_t *buf, size_t len,
			       uint64_t features, unsigned int *changed);

#endif
