/*
 * virtio-net header check and receive filter (virtio 1.x sections 5.1.6.2
 * "Packet Transmission" and 5.1.6.5.1 "Packet Receive Filtering"); see
 * virtio_net_hdr.h.
 */
#include "devices/virtio_net/virtio_net_hdr.h"

#include <endian.h>
#include <string.h>

#include "base/compiler.h"

static bool has(uint64_t features, unsigned int bit)
{
	return features & (1ULL << bit);
}

static bool gso_allowed(uint8_t type, uint64_t features)
{
	switch (type) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return has(features, VIRTIO_NET_F_HOST_TSO4);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return has(features, VIRTIO_NET_F_HOST_TSO6);
	case VIRTIO_NET_HDR_GSO_UDP:
		return has(features, VIRTIO_NET_F_HOST_UFO);
	default:
		return false; /* UDP_L4 (HOST_USO) is not offered; the rest is unknown */
	}
}

/* Guest-controlled: every field of *in, and frame_len. */
enum virtio_net_tx_verdict virtio_net_hdr_check_tx(const struct virtio_net_hdr_v1 *in,
						   uint32_t frame_len, uint64_t features,
						   struct virtio_net_hdr_v1 *out)
{
	uint8_t flags = in->flags, gso = in->gso_type;
	uint32_t hdr_len = le16toh(in->hdr_len), gso_size = le16toh(in->gso_size);
	uint32_t start = le16toh(in->csum_start), off = le16toh(in->csum_offset);
	uint8_t type = gso & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;

	if (frame_len < VIRTIO_NET_ETH_HLEN)
		return VIRTIO_NET_TX_SHORT;
	if (frame_len > VIRTIO_NET_MAX_FRAME)
		return VIRTIO_NET_TX_TOO_BIG;
	flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM; /* DATA_VALID, RSC_INFO: not on transmit */
	if (flags && (!has(features, VIRTIO_NET_F_CSUM) || start + off + 2 > frame_len))
		return VIRTIO_NET_TX_BAD_CSUM;
	if (type != VIRTIO_NET_HDR_GSO_NONE) {
		if (!gso_allowed(type, features) || gso_size == 0 || !flags)
			return VIRTIO_NET_TX_BAD_GSO;
		if ((gso & VIRTIO_NET_HDR_GSO_ECN) && !has(features, VIRTIO_NET_F_HOST_ECN))
			return VIRTIO_NET_TX_BAD_GSO;
	} else if (gso & VIRTIO_NET_HDR_GSO_ECN) {
		return VIRTIO_NET_TX_BAD_GSO;
	}
	memset(out, 0, sizeof(*out));
	out->flags = flags;
	out->gso_type = gso;
	out->hdr_len = htole16((uint16_t)MIN(hdr_len, frame_len)); /* a hint; the tap checks it */
	out->gso_size = type != VIRTIO_NET_HDR_GSO_NONE ? htole16((uint16_t)gso_size) : 0;
	if (flags) {
		out->csum_start = htole16((uint16_t)start);
		out->csum_offset = htole16((uint16_t)off);
	}
	return VIRTIO_NET_TX_OK;
}

const char *virtio_net_tx_verdict_name(enum virtio_net_tx_verdict v)
{
	switch (v) {
	case VIRTIO_NET_TX_OK:
		return "ok";
	case VIRTIO_NET_TX_SHORT:
		return "frame shorter than an Ethernet header";
	case VIRTIO_NET_TX_TOO_BIG:
		return "frame larger than 64 KiB";
	case VIRTIO_NET_TX_BAD_CSUM:
		return "bad checksum request";
	default:
		return "bad segmentation request";
	}
}

void virtio_net_filter_reset(struct virtio_net_filter *f, const uint8_t mac[6])
{
	memset(f, 0, sizeof(*f));
	memcpy(f->mac, mac, 6);
	f->promisc = true;
}

static bool in_table(const uint8_t (*table)[6], unsigned int n, const uint8_t dst[6])
{
	for (unsigned int i = 0; i < n; i++) {
		if (memcmp(table[i], dst, 6) == 0)
			return true;
	}
	return false;
}

bool virtio_net_filter_accept(const struct virtio_net_filter *f, const uint8_t dst[6])
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

	if (f->promisc)
		return true;
	if (memcmp(dst, bcast, 6) == 0)
		return !f->nobcast;
	if (dst[0] & 1) {
		if (f->nomulti)
			return false;
		return f->allmulti || f->multi_overflow || in_table(f->multi, f->n_multi, dst);
	}
	if (f->nouni)
		return false;
	return f->alluni || f->uni_overflow || memcmp(dst, f->mac, 6) == 0 ||
	       in_table(f->uni, f->n_uni, dst);
}
