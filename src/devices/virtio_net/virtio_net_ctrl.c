/*
 * virtio-net control commands (virtio 1.x section 5.1.6.5); see
 * virtio_net_ctrl.h.
 */
#include "devices/virtio_net/virtio_net_ctrl.h"

#include <endian.h>
#include <string.h>

static bool has(uint64_t features, unsigned int bit)
{
	return features & (1ULL << bit);
}

void virtio_net_ctrl_reset(struct virtio_net_ctrl_state *st, const uint8_t mac[6],
			   uint16_t max_pairs, uint64_t features)
{
	virtio_net_filter_reset(&st->filter, mac);
	st->max_pairs = max_pairs ? max_pairs : 1;
	st->curr_pairs = 1;
	st->guest_offloads = features & VIRTIO_NET_GUEST_OFFLOAD_MASK;
}

static uint8_t rx_mode(struct virtio_net_ctrl_state *st, uint8_t cmd, const uint8_t *data,
		       size_t len, uint64_t features)
{
	if (!has(features, VIRTIO_NET_F_CTRL_RX) || len != 1 || data[0] > 1)
		return VIRTIO_NET_ERR;
	switch (cmd) {
	case VIRTIO_NET_CTRL_RX_PROMISC:
		st->filter.promisc = data[0];
		return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_RX_ALLMULTI:
		st->filter.allmulti = data[0];
		return VIRTIO_NET_OK;
	default:
		return VIRTIO_NET_ERR; /* ALLUNI...NOBCAST need CTRL_RX_EXTRA: not offered */
	}
}

/*
 * One table of TABLE_SET at *pos: le32 count, then count 6-byte addresses.
 * Returns false if it runs past len. More entries than the table holds
 * set the overflow flag (the filter then lets that kind through).
 */
static bool mac_table(const uint8_t *data, size_t len, size_t *pos, uint8_t (*table)[6],
		      unsigned int *n, bool *overflow)
{
	uint32_t count;

	if (len - *pos < 4)
		return false;
	memcpy(&count, data + *pos, 4);
	count = le32toh(count);
	*pos += 4;
	if (count > (len - *pos) / 6)
		return false;
	*overflow = count > VIRTIO_NET_MAC_TABLE_MAX;
	*n = *overflow ? 0 : count;
	memcpy(table, data + *pos, (size_t)*n * 6);
	*pos += (size_t)count * 6;
	return true;
}

static uint8_t mac_cmd(struct virtio_net_ctrl_state *st, uint8_t cmd, const uint8_t *data,
		       size_t len, uint64_t features, unsigned int *changed)
{
	struct virtio_net_filter f = st->filter;
	size_t pos = 0;

	if (cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET) {
		if (!has(features, VIRTIO_NET_F_CTRL_MAC_ADDR) || len != 6)
			return VIRTIO_NET_ERR;
		memcpy(st->filter.mac, data, 6);
		*changed |= VIRTIO_NET_CTRL_CHANGED_MAC;
		return VIRTIO_NET_OK;
	}
	if (cmd != VIRTIO_NET_CTRL_MAC_TABLE_SET || !has(features, VIRTIO_NET_F_CTRL_RX))
		return VIRTIO_NET_ERR;
	if (!mac_table(data, len, &pos, f.uni, &f.n_uni, &f.uni_overflow) ||
	    !mac_table(data, len, &pos, f.multi, &f.n_multi, &f.multi_overflow) || pos != len)
		return VIRTIO_NET_ERR;
	st->filter = f;
	return VIRTIO_NET_OK;
}

static uint8_t mq_cmd(struct virtio_net_ctrl_state *st, uint8_t cmd, const uint8_t *data,
		      size_t len, uint64_t features, unsigned int *changed)
{
	uint16_t pairs;

	if (!has(features, VIRTIO_NET_F_MQ) || cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET || len != 2)
		return VIRTIO_NET_ERR;
	memcpy(&pairs, data, 2);
	pairs = le16toh(pairs);
	if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || pairs > st->max_pairs)
		return VIRTIO_NET_ERR;
	if (pairs != st->curr_pairs)
		*changed |= VIRTIO_NET_CTRL_CHANGED_PAIRS;
	st->curr_pairs = pairs;
	return VIRTIO_NET_OK;
}

static uint8_t offloads_cmd(struct virtio_net_ctrl_state *st, uint8_t cmd, const uint8_t *data,
			    size_t len, uint64_t features, unsigned int *changed)
{
	uint64_t want;

	if (!has(features, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) ||
	    cmd != VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET || len != 8)
		return VIRTIO_NET_ERR;
	memcpy(&want, data, 8);
	want = le64toh(want);
	/* Only offloads that were negotiated may be switched on again. */
	if (want & ~(features & VIRTIO_NET_GUEST_OFFLOAD_MASK))
		return VIRTIO_NET_ERR;
	if (want != st->guest_offloads)
		*changed |= VIRTIO_NET_CTRL_CHANGED_OFFLOADS;
	st->guest_offloads = want;
	return VIRTIO_NET_OK;
}

/* Guest-controlled: buf and len. */
uint8_t virtio_net_ctrl_handle(struct virtio_net_ctrl_state *st, const uint8_t *buf, size_t len,
			       uint64_t features, unsigned int *changed)
{
	const uint8_t *data = buf + 2;
	size_t dlen;

	if (len < 2 || len > VIRTIO_NET_CTRL_MAX)
		return VIRTIO_NET_ERR;
	dlen = len - 2;
	switch (buf[0]) {
	case VIRTIO_NET_CTRL_RX:
		return rx_mode(st, buf[1], data, dlen, features);
	case VIRTIO_NET_CTRL_MAC:
		return mac_cmd(st, buf[1], data, dlen, features, changed);
	case VIRTIO_NET_CTRL_MQ:
		return mq_cmd(st, buf[1], data, dlen, features, changed);
	case VIRTIO_NET_CTRL_GUEST_OFFLOADS:
		return offloads_cmd(st, buf[1], data, dlen, features, changed);
	default:
		return VIRTIO_NET_ERR; /* VLAN, ANNOUNCE, NOTF_COAL: not offered */
	}
}
