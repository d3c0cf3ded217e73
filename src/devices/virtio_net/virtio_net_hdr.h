/*
 * virtio-net packet rules without I/O (virtio 1.x section 5.1.6,
 * "Device Operation"): the transmit header check and the receive filter.
 * Bytes in, verdict out; the data path (virtio_net_io.c) and the fuzzer
 * drive them.
 */
#ifndef COVE_DEVICES_VIRTIO_NET_HDR_H
#define COVE_DEVICES_VIRTIO_NET_HDR_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIRTIO_NET_HDR_LEN 12 /* struct virtio_net_hdr_v1 (VERSION_1) */
#define VIRTIO_NET_ETH_HLEN 14
/* The largest frame either way: 64 KiB of GSO payload plus its headers. */
#define VIRTIO_NET_MAX_FRAME (65536 + 256)
#define VIRTIO_NET_MAC_TABLE_MAX 64 /* entries kept per table; more means overflow */

enum virtio_net_tx_verdict {
	VIRTIO_NET_TX_OK,
	VIRTIO_NET_TX_SHORT,	/* frame shorter than an Ethernet header */
	VIRTIO_NET_TX_TOO_BIG,	/* frame longer than VIRTIO_NET_MAX_FRAME */
	VIRTIO_NET_TX_BAD_CSUM, /* NEEDS_CSUM without CSUM, or out of the frame */
	VIRTIO_NET_TX_BAD_GSO,	/* unknown or unnegotiated GSO type, size 0 */
};

/*
 * Checks the header a guest put before a frame of `frame_len` bytes
 * against the negotiated `features`, and writes the header to hand to the
 * tap into *out (DATA_VALID and RSC bits, which a driver must not set on
 * transmit, are cleared; num_buffers is zeroed).
 * Guest-controlled: *in and frame_len. No I/O.
 */
enum virtio_net_tx_verdict virtio_net_hdr_check_tx(const struct virtio_net_hdr_v1 *in,
						   uint32_t frame_len, uint64_t features,
						   struct virtio_net_hdr_v1 *out);

/* A short name for a verdict, for log lines. */
const char *virtio_net_tx_verdict_name(enum virtio_net_tx_verdict v);

/* The receive filter the driver programs through the control queue. */
struct virtio_net_filter {
	uint8_t mac[6]; /* the device's own address */
	bool promisc;	/* everything */
	bool allmulti;	/* every multicast frame */
	bool alluni;	/* every unicast frame */
	bool nomulti, nouni, nobcast;
	bool uni_overflow;   /* more unicast addresses than the table holds */
	bool multi_overflow; /* same for multicast */
	unsigned int n_uni, n_multi;
	uint8_t uni[VIRTIO_NET_MAC_TABLE_MAX][6];
	uint8_t multi[VIRTIO_NET_MAC_TABLE_MAX][6];
};

/* The state after a device reset: promiscuous (as QEMU), tables empty. */
void virtio_net_filter_reset(struct virtio_net_filter *f, const uint8_t mac[6]);

/* True if a frame whose destination address is `dst` reaches the driver. */
bool virtio_net_filter_accept(const struct virtio_net_filter *f, const uint8_t dst[6]);

#endif
