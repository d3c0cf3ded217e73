/*
 * One vsock stream connection between a guest socket and a host Unix
 * socket, and its credit accounting (virtio 1.x section 5.10.6.3, "Buffer
 * Space Management"). The accounting functions do no I/O; the device
 * (virtio_vsock.c) and the host side (virtio_vsock_mux.c) move the bytes.
 *
 * Both directions are bounded without unbounded buffering in Cove:
 *  - guest -> host: Cove advertises buf_alloc bytes; the guest may have at
 *    most that many unconsumed (rx_cnt - fwd_cnt) at any time. What the
 *    host socket does not take at once waits in a ring of that size; a
 *    guest that sends beyond its credit gets the connection reset.
 *  - host -> guest: Cove reads from the host socket only as many bytes as
 *    the guest's credit (peer_buf_alloc - (tx_cnt - peer_fwd_cnt)) and the
 *    posted receive buffer allow, straight into guest memory.
 */
#ifndef COVE_DEVICES_VIRTIO_VSOCK_CONN_H
#define COVE_DEVICES_VIRTIO_VSOCK_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "base/compiler.h"
#include "devices/virtio_vsock/virtio_vsock_pkt.h"

#define VSOCK_BUF_ALLOC (256 * 1024) /* what Cove lets a guest have in flight, per connection */

enum vsock_conn_state {
	VSOCK_CONN_CONNECTING, /* host-initiated: REQUEST owed or sent, no RESPONSE yet */
	VSOCK_CONN_ESTABLISHED,
	VSOCK_CONN_CLOSING, /* RST owed to the guest, or SHUTDOWN sent and RST awaited */
};

/* Control packets a connection owes the guest (sent in this order). */
enum {
	VSOCK_OWE_RST = 1,
	VSOCK_OWE_REQUEST = 2,
	VSOCK_OWE_RESPONSE = 4,
	VSOCK_OWE_CREDIT_UPDATE = 8,
	VSOCK_OWE_SHUTDOWN = 16, /* after any data still to read */
};

enum vsock_watch_kind { VSOCK_WATCH_LISTENER, VSOCK_WATCH_PENDING, VSOCK_WATCH_CONN };

/* What an fd in the host side's epoll set stands for (its epoll data). */
struct vsock_watch {
	enum vsock_watch_kind kind;
	void *obj;
};

struct vsock_conn {
	struct vsock_conn *hash_next;
	struct vsock_conn *rx_next; /* in the queue of connections owing the guest */
	bool in_rx_queue;
	uint32_t local_port; /* the host end's port */
	uint32_t peer_port;  /* the guest end's port */
	enum vsock_conn_state state;
	int fd;		 /* host Unix socket; -1 once closed */
	uint32_t events; /* epoll interest now registered (0: none) */
	struct vsock_watch watch;
	unsigned int owe;	 /* VSOCK_OWE_* */
	uint32_t shutdown_flags; /* for VSOCK_OWE_SHUTDOWN */
	bool want_read;		 /* the host socket may have data (or EOF) for the guest */
	bool host_eof, host_hup; /* host stopped sending / closed */
	bool guest_shut_rcv, guest_shut_send;
	bool host_wr_shut;    /* shutdown(SHUT_WR) done */
	bool dead;	      /* closed; freed by vsock_mux_reap() */
	uint64_t deadline_ms; /* CONNECTING or CLOSING: give up then (0: none) */

	/* Guest -> host: what Cove advertised and consumed. */
	uint32_t buf_alloc, rx_cnt, fwd_cnt, fwd_cnt_sent;
	/* Host -> guest: the guest's buffer and what was sent into it. */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;

	/* Guest bytes the host socket has not taken yet (ring of buf_alloc). */
	uint8_t *ring;
	uint32_t ring_head, ring_used;
};

/* A fresh connection in `state`, with no fd yet. */
void vsock_conn_init(struct vsock_conn *c, uint32_t local_port, uint32_t peer_port,
		     enum vsock_conn_state state);

/* Takes the guest's credit from any packet it sent on this connection. */
void vsock_conn_peer_credit_from(struct vsock_conn *c, const struct vsock_pkt *pkt);

/* Bytes Cove may still send the guest (0 when it has none, or lied). */
uint32_t vsock_conn_peer_credit(const struct vsock_conn *c);

/* True if `len` more guest bytes stay within what Cove advertised. */
bool vsock_conn_rx_fits(const struct vsock_conn *c, uint32_t len);

/* Cove consumed `n` guest bytes (the host socket took them). */
void vsock_conn_consumed(struct vsock_conn *c, uint32_t n);

/*
 * True when the guest's view of Cove's free space has fallen below half of
 * it while Cove consumed more: time for a CREDIT_UPDATE.
 */
bool vsock_conn_credit_update_due(const struct vsock_conn *c);

/*
 * Fills a header from host (port local_port) to guest (cid, peer_port)
 * carrying Cove's current credit; notes the credit as sent.
 */
void vsock_conn_header(struct vsock_conn *c, uint64_t guest_cid, uint16_t op, uint32_t len,
		       uint32_t flags, struct vsock_pkt *pkt);

/*
 * The ring of guest bytes: append `len` bytes gathered from iov (they must
 * fit: rx_fits checked; the ring is allocated on first use), peek, drop.
 * ring_put returns 0 or -ENOMEM.
 */
must_check int vsock_conn_ring_put(struct vsock_conn *c, const struct iovec *iov, unsigned int n,
				   uint32_t len);
/* The ring's readable bytes as up to two iovecs; returns how many. */
unsigned int vsock_conn_ring_peek(const struct vsock_conn *c, struct iovec iov[2]);
void vsock_conn_ring_drop(struct vsock_conn *c, uint32_t n);
/* Frees the ring. */
void vsock_conn_release(struct vsock_conn *c);

#endif
