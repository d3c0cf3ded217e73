/*
 * virtio-vsock packets without I/O (virtio 1.x section 5.10.6, "Device
 * Operation"; reference/protocols.md 5.9) and the hybrid host protocol's
 * CONNECT line (Firecracker's design, protocols.md section 6): bytes in,
 * verdict out. The device and the fuzzer drive them.
 */
#ifndef COVE_DEVICES_VIRTIO_VSOCK_PKT_H
#define COVE_DEVICES_VIRTIO_VSOCK_PKT_H

#include <linux/virtio_vsock.h>
#include <stddef.h>
#include <stdint.h>

#define VSOCK_HOST_CID 2
#define VSOCK_HDR_LEN 44	      /* sizeof(struct virtio_vsock_hdr) */
#define VSOCK_MAX_PAYLOAD (64 * 1024) /* one packet, as Linux sends at most */
#define VSOCK_CONNECT_MAX 32	      /* the longest CONNECT line accepted */

/* A header in host order. */
struct vsock_pkt {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

enum vsock_verdict {
	VSOCK_PKT_OK,
	VSOCK_PKT_DROP,	 /* not for us, spoofed, or malformed: ignore it */
	VSOCK_PKT_RESET, /* a stream packet we cannot serve: answer RST */
};

/*
 * Reads the header at `hdr` (VSOCK_HDR_LEN bytes) of a packet the guest
 * sent with `payload` readable bytes after it, and checks it: the guest's
 * own CID as source, the host as destination, a stream, a known op, a
 * payload only on RW and no larger than what follows or VSOCK_MAX_PAYLOAD.
 * Fills *out in any case. Guest-controlled: hdr and payload.
 */
enum vsock_verdict virtio_vsock_pkt_parse(const void *hdr, uint32_t payload, uint64_t guest_cid,
					  struct vsock_pkt *out);

/* Writes *pkt as a little-endian header into hdr (VSOCK_HDR_LEN bytes). */
void virtio_vsock_pkt_write(const struct vsock_pkt *pkt, void *hdr);

/*
 * Parses the start of what a host program sent on the hybrid socket:
 * "CONNECT <port>\n" (keyword in any case, blanks between, decimal port).
 * Returns the length of the line including '\n' with *port set, 0 if no
 * '\n' arrived yet and the line may still be valid, -EINVAL if it cannot
 * be (bad keyword or port, longer than VSOCK_CONNECT_MAX).
 */
int virtio_vsock_parse_connect(const char *buf, size_t len, uint32_t *port);

#endif
