/*
 * vsock packet headers and the hybrid CONNECT line; see virtio_vsock_pkt.h.
 */
#include "devices/virtio_vsock/virtio_vsock_pkt.h"

#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

_Static_assert(sizeof(struct virtio_vsock_hdr) == VSOCK_HDR_LEN, "vsock header size");

/* Guest-controlled: all 44 bytes, and payload. */
enum vsock_verdict virtio_vsock_pkt_parse(const void *hdr, uint32_t payload, uint64_t guest_cid,
					  struct vsock_pkt *out)
{
	struct virtio_vsock_hdr h;

	memcpy(&h, hdr, sizeof(h));
	out->src_cid = le64toh(h.src_cid);
	out->dst_cid = le64toh(h.dst_cid);
	out->src_port = le32toh(h.src_port);
	out->dst_port = le32toh(h.dst_port);
	out->len = le32toh(h.len);
	out->type = le16toh(h.type);
	out->op = le16toh(h.op);
	out->flags = le32toh(h.flags);
	out->buf_alloc = le32toh(h.buf_alloc);
	out->fwd_cnt = le32toh(h.fwd_cnt);

	/* Only the guest's own address, only to the host: no spoofing, no routing. */
	if (out->src_cid != guest_cid || out->dst_cid != VSOCK_HOST_CID)
		return VSOCK_PKT_DROP;
	if (out->len > payload || out->len > VSOCK_MAX_PAYLOAD)
		return VSOCK_PKT_DROP;
	if (out->op == VIRTIO_VSOCK_OP_RST)
		return out->type == VIRTIO_VSOCK_TYPE_STREAM ? VSOCK_PKT_OK : VSOCK_PKT_DROP;
	if (out->type != VIRTIO_VSOCK_TYPE_STREAM)
		return VSOCK_PKT_RESET; /* SEQPACKET is not offered */
	if (out->op < VIRTIO_VSOCK_OP_REQUEST || out->op > VIRTIO_VSOCK_OP_CREDIT_REQUEST)
		return VSOCK_PKT_RESET;
	if (out->op != VIRTIO_VSOCK_OP_RW && out->len != 0)
		return VSOCK_PKT_DROP;
	if (out->op == VIRTIO_VSOCK_OP_SHUTDOWN &&
	    (out->flags & ~(uint32_t)(VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND)))
		return VSOCK_PKT_DROP;
	return VSOCK_PKT_OK;
}

void virtio_vsock_pkt_write(const struct vsock_pkt *pkt, void *hdr)
{
	struct virtio_vsock_hdr h = {
	    .src_cid = htole64(pkt->src_cid),
	    .dst_cid = htole64(pkt->dst_cid),
	    .src_port = htole32(pkt->src_port),
	    .dst_port = htole32(pkt->dst_port),
	    .len = htole32(pkt->len),
	    .type = htole16(pkt->type),
	    .op = htole16(pkt->op),
	    .flags = htole32(pkt->flags),
	    .buf_alloc = htole32(pkt->buf_alloc),
	    .fwd_cnt = htole32(pkt->fwd_cnt),
	};

	memcpy(hdr, &h, sizeof(h));
}

static size_t skip_blanks(const char *buf, size_t i, size_t len)
{
	while (i < len && (buf[i] == ' ' || buf[i] == '\t'))
		i++;
	return i;
}

/* Guest-independent but host-controlled: the bytes a host program sent. */
int virtio_vsock_parse_connect(const char *buf, size_t len, uint32_t *port)
{
	static const char kw[] = "connect";
	size_t i = skip_blanks(buf, 0, len), digits = 0;
	uint64_t p = 0;

	for (size_t k = 0; k < sizeof(kw) - 1; k++, i++) {
		if (i == len)
			return len > VSOCK_CONNECT_MAX ? -EINVAL : 0;
		if (tolower((unsigned char)buf[i]) != kw[k])
			return -EINVAL;
	}
	if (i < len && buf[i] != ' ' && buf[i] != '\t')
		return -EINVAL;
	i = skip_blanks(buf, i, len);
	for (; i < len && buf[i] >= '0' && buf[i] <= '9'; i++, digits++) {
		p = p * 10 + (uint64_t)(buf[i] - '0');
		if (p > UINT32_MAX)
			return -EINVAL;
	}
	i = skip_blanks(buf, i, len);
	if (i < len && buf[i] == '\r')
		i++;
	if (i >= VSOCK_CONNECT_MAX)
		return -EINVAL;
	if (i == len)
		return 0;
	if (buf[i] != '\n' || digits == 0)
		return -EINVAL;
	*port = (uint32_t)p;
	return (int)(i + 1);
}
