/*
 * virtio-net (virtio 1.x section 5.1) over a tap (backends/tap.h): one
 * device per --net. Queues: receiveq/transmitq per pair (2p, 2p+1), then
 * the control queue (2 * max pairs).
 *
 * Features: MAC, STATUS (link always up), CTRL_VQ with CTRL_RX and
 * CTRL_MAC_ADDR, MQ when vq-pairs > 1, MRG_RXBUF on request; with a
 * header-carrying tap, CSUM and HOST_TSO4/TSO6/ECN/UFO (the host kernel
 * segments), and the GUEST_* offloads the tap supports, mirrored to it
 * with TUNSETOFFLOAD as negotiated and as the guest switches them
 * (CTRL_GUEST_OFFLOADS).
 *
 * Data path (virtio_net_io.c), on the event-loop thread under the device
 * lock:
 *  - transmit: each chain's header is copied out and checked
 *    (virtio_net_hdr.c); the checked copy and the frame, straight from
 *    guest memory, go to the tap in one writev. A bad header drops the
 *    frame; a chain without a whole header resets the device.
 *  - receive: chains are popped ahead and held until a frame fills them;
 *    the tap reads straight into guest memory (readv over the held chains'
 *    buffers, with a host bounce buffer as the last segment for what does
 *    not fit). A frame that spilled into the bounce buffer waits there for
 *    more guest buffers; while the guest has none, Cove stops reading the
 *    tap (its own queue holds the packets, as a NIC's ring would), so no
 *    frame is dropped by Cove for want of buffers. Frames the receive
 *    filter rejects leave the held chains for the next frame.
 */
#ifndef COVE_DEVICES_VIRTIO_NET_H
#define COVE_DEVICES_VIRTIO_NET_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "backends/tap.h"
#include "backends/vhost.h"
#include "base/compiler.h"
#include "base/event_loop.h"
#include "config/vm_config.h"
#include "devices/virtio_net/virtio_net_ctrl.h"
#include "devices/virtio_net/virtio_net_hdr.h"
#include "virtio/virtio_dev.h"
#include "vm/guest_mem.h"

#define VIRTIO_NET_QUEUE_SIZE 256
#define VIRTIO_NET_RX_HOLD 64	 /* chains held for one frame at most */
#define VIRTIO_NET_RX_IOV 1024	 /* their segments, plus the bounce buffer */
#define VIRTIO_NET_RX_BUDGET 64	 /* frames per tap wake-up */
#define VIRTIO_NET_TX_BUDGET 256 /* chains per transmit run */

struct virtio_net;

struct virtio_net_held {
	uint16_t head;
	uint16_t n_iov; /* its writable segments in rxq.iov */
	uint32_t len;	/* writable bytes */
};

/* One receive queue with its tap fd. */
struct virtio_net_rxq {
	struct virtio_net *net;
	unsigned int pair;
	int fd;
	bool watching; /* fd registered with the event loop */
	unsigned int n_held;
	struct virtio_net_held held[VIRTIO_NET_RX_HOLD];
	unsigned int n_iov;  /* sum of held[].n_iov */
	uint64_t held_bytes; /* sum of held[].len */
	struct iovec iov[VIRTIO_NET_RX_IOV + 1];
	/* A frame that did not fit the held chains: stream bytes
	 * [pend_at, pend_len) wait in bounce[0..]. */
	bool pending;
	uint32_t pend_at, pend_len;
	uint8_t *bounce; /* VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME bytes */
};

struct virtio_net_stats {
	uint64_t tx_frames, tx_dropped, rx_frames, rx_filtered, rx_dropped;
};

struct virtio_net {
	struct virtio_device vdev;
	char name[48]; /* "virtio-net (tap0)" */
	struct tap tap;
	struct virtio_net_config config; /* little-endian, as the driver reads it */
	uint8_t mac[6];			 /* from the command line or made up */
	uint16_t max_pairs;
	struct virtio_net_ctrl_state ctrl;
	struct virtio_net_rxq *rxq; /* max_pairs of them */
	int work_fd;		    /* eventfd: transmit work left over */
	bool work_watched;
	uint32_t tx_more; /* bit p: pair p's transmit queue has more */
	struct virtio_net_stats stats;
	bool use_vhost;			    /* vhost-net moves the packets */
	struct vhost vhost[TAP_MAX_QUEUES]; /* one per pair */
	struct virtq_chain chain;	    /* scratch for virtq_pop (lock held) */
	uint8_t ctrl_buf[VIRTIO_NET_CTRL_MAX];
};

/*
 * Creates the NIC for `nc` (its tap opened or adopted here; index names it
 * in logs), usable without a VM (unit tests attach a fake transport).
 * Returns 0, or -errno after logging one line that names the NIC and the
 * cause. Released with vdev.ops->destroy.
 */
must_check int virtio_net_create(const struct net_config *nc, unsigned int index,
				 const struct guest_mem *mem, struct event_loop *loop,
				 struct virtio_net **out);

/* The same over an already open tap (tests: a socketpair stands in). */
must_check int virtio_net_create_on(const struct net_config *nc, struct tap *tap,
				    const struct guest_mem *mem, struct event_loop *loop,
				    struct virtio_net **out);

struct vm;
/* The registry's entry: one NIC per --net, in order. */
must_check int virtio_net_create_all(struct vm *vm);

/* virtio_net_vhost.c: vhost-net, one vhost device per pair. 0 or -errno (logged). */
must_check int virtio_net_vhost_open(struct virtio_net *net, const char *path);
void virtio_net_vhost_close(struct virtio_net *net);
must_check int virtio_net_vhost_activate(struct virtio_net *net);
void virtio_net_vhost_reset(struct virtio_net *net);

/* virtio_net_io.c: the data path (device lock held, device running). */
void virtio_net_io_rx(struct virtio_net_rxq *rq);
void virtio_net_io_tx(struct virtio_net *net, unsigned int pair);
/* Starts or stops reading pair p's tap fd. */
void virtio_net_io_watch(struct virtio_net_rxq *rq, bool on);
/* Forgets held chains and any pending frame (reset). */
void virtio_net_io_drop_held(struct virtio_net_rxq *rq);

#endif
