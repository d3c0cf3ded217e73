/*
 * virtio-vsock (virtio 1.x section 5.10) with the hybrid host side of
 * Firecracker and Cloud Hypervisor (reference/protocols.md section 6):
 * the guest (CID from --vsock cid=N) talks to host CID 2, and the host
 * side is Unix sockets:
 *  - a host program connects to uds_path and sends "CONNECT <port>\n";
 *    Cove asks the guest for a connection to that port (REQUEST from host
 *    port 2^30 upwards) and, once the guest accepts, answers
 *    "OK <host port>\n"; then the socket carries the stream both ways. If
 *    the guest refuses (RST), the socket is closed.
 *  - a guest connecting to CID 2 port P reaches a host listener at
 *    "<uds_path>_<P>"; none there: the guest gets RST.
 * Queues: rx 0 (device -> driver), tx 1, event 2 (TRANSPORT_RESET).
 * Configuration: le64 guest_cid. Only streams (no SEQPACKET).
 *
 * virtio_vsock.c is the device model and the packet exchange with the
 * guest; virtio_vsock_mux.c owns the host sockets (its own epoll set,
 * nested in the event loop, so hundreds of connections do not take the
 * loop's handler slots); virtio_vsock_conn.c keeps each connection's
 * credit; virtio_vsock_pkt.c parses headers and the CONNECT line.
 * Everything runs on the event-loop thread under the device lock.
 */
#ifndef COVE_DEVICES_VIRTIO_VSOCK_H
#define COVE_DEVICES_VIRTIO_VSOCK_H

#include <linux/virtio_vsock.h>
#include <stdbool.h>
#include <stdint.h>

#include "backends/vhost.h"
#include "base/compiler.h"
#include "base/event_loop.h"
#include "config/vm_config.h"
#include "devices/virtio_vsock/virtio_vsock_conn.h"
#include "devices/virtio_vsock/virtio_vsock_pkt.h"
#include "virtio/virtio_dev.h"
#include "vm/guest_mem.h"

#define VIRTIO_VSOCK_QUEUE_SIZE 256
#define VSOCK_MAX_CONNS 1023 /* as Firecracker */
#define VSOCK_MAX_PENDING 64 /* host sockets still sending their CONNECT line */
#define VSOCK_MAX_STRAY 64   /* RSTs owed for packets of no connection */
#define VSOCK_HASH_SIZE 256
#define VSOCK_LOCAL_PORT_BASE (1u << 30)
#define VSOCK_TIMEOUT_MS 2000 /* CONNECT line, guest's RESPONSE, guest's RST after SHUTDOWN */

/* A host socket accepted on uds_path that has not sent "CONNECT <port>\n" yet. */
struct vsock_pending {
	struct vsock_pending *next;
	int fd; /* -1 once closed (freed by vsock_mux_reap) */
	struct vsock_watch watch;
	uint64_t deadline_ms;
};

struct vsock_stray {
	uint32_t host_port, guest_port;
};

/* The host side: sockets, connections, what the guest is owed. */
struct vsock_mux {
	char *path; /* uds_path */
	int epfd;   /* host sockets; itself watched by the event loop */
	bool epfd_watched;
	int listen_fd;
	bool bound; /* the socket file at path is ours */
	struct vsock_watch listen_watch;
	int timer_fd; /* VSOCK_TIMEOUT_MS checks */
	bool timer_watched;
	struct vsock_pending *pending;
	unsigned int n_pending;
	struct vsock_conn *hash[VSOCK_HASH_SIZE];
	unsigned int n_conns;
	struct vsock_conn *rx_head, *rx_tail; /* connections owing the guest packets */
	struct vsock_conn *dead; /* closed, freed by vsock_mux_reap() (via hash_next) */
	struct vsock_pending *dead_pending;
	struct vsock_stray stray[VSOCK_MAX_STRAY];
	unsigned int n_stray;
	uint32_t next_port;
};

struct virtio_vsock_stats {
	uint64_t tx_pkts, rx_pkts, dropped, resets, conns_opened, conns_closed;
};

struct virtio_vsock {
	struct virtio_device vdev;
	char name[40];
	uint64_t cid;
	struct virtio_vsock_config config;
	struct vsock_mux mux; /* hybrid host side (use_vhost false) */
	bool use_vhost;
	struct vhost vhost; /* vhost-vsock: rx and tx in the kernel */
	bool rx_held;	    /* rx_chain popped, not used yet */
	bool event_owed;    /* a TRANSPORT_RESET waits for an event buffer */
	struct virtio_vsock_stats stats;
	struct virtq_chain rx_chain; /* the held receive chain */
	struct virtq_chain chain;    /* scratch for the other queues */
};

/*
 * Creates the device for `vc`: hybrid when vc->uds_path is set (binding
 * the listening socket: a stale socket file is replaced; any other file
 * there is an error), else over vhost-vsock (vc->vhost_device, default
 * /dev/vhost-vsock). Usable without a VM. Returns 0, or -errno after one
 * log line naming the path and the cause. Released with vdev.ops->destroy.
 */
must_check int virtio_vsock_create(const struct vsock_config *vc, const struct guest_mem *mem,
				   struct event_loop *loop, struct virtio_vsock **out);

struct vm;
/* The registry's entry: the --vsock device, if any. */
must_check int virtio_vsock_create_all(struct vm *vm);

/*
 * Drops every connection (their host sockets are closed) and tells the
 * guest with a TRANSPORT_RESET event that it must do the same. Lock held.
 */
void virtio_vsock_transport_reset(struct virtio_vsock *vs);

/* ---- between the device (virtio_vsock.c) and the host side (virtio_vsock_mux.c) ---- */

/* Opens the listener and the epoll set. 0 or -errno (logged). */
must_check int vsock_mux_init(struct vsock_mux *mux, const char *path, struct event_loop *loop,
			      struct virtio_vsock *vs);
void vsock_mux_destroy(struct vsock_mux *mux, struct event_loop *loop);

/* Serves whatever the host sockets have ready (the event loop's callback;
 * tests call it directly). Takes the device lock. */
void vsock_mux_poll(struct virtio_vsock *vs);

/* Closes every connection and pending socket; forgets owed packets. */
void vsock_mux_reset(struct vsock_mux *mux);

struct vsock_conn *vsock_mux_lookup(struct vsock_mux *mux, uint32_t local, uint32_t peer);

/* The guest asks for host port pkt->dst_port: connect to PATH_<port>. */
void vsock_mux_guest_connect(struct virtio_vsock *vs, const struct vsock_pkt *pkt);

/*
 * Closes the host socket and forgets the connection; its memory is freed
 * by vsock_mux_reap(), which every entry point calls last (an epoll batch
 * may still name it).
 */
void vsock_mux_close(struct vsock_mux *mux, struct vsock_conn *c);
/* The guest is owed a RST: close the host socket, send RST, then close. */
void vsock_mux_reset_conn(struct vsock_mux *mux, struct vsock_conn *c);
void vsock_mux_reap(struct vsock_mux *mux);
uint64_t vsock_mux_now_ms(void);

/* Owes the guest a RST for (host_port, guest_port) of no connection. */
void vsock_mux_stray_rst(struct vsock_mux *mux, uint32_t host_port, uint32_t guest_port);

/* Puts c at the end of the queue of connections owing the guest. */
void vsock_mux_want_rx(struct vsock_mux *mux, struct vsock_conn *c);

/* Re-registers c's fd for what it can take now (reading, writing). */
void vsock_mux_update_events(struct vsock_mux *mux, struct vsock_conn *c);

/* Guest bytes for the host socket: written now, the rest kept in the ring. */
void vsock_mux_host_write(struct virtio_vsock *vs, struct vsock_conn *c, const struct iovec *iov,
			  unsigned int n, uint32_t len);

/* The guest's SHUTDOWN/flush finished: shut the host socket's sending side
 * or close the connection, as the two ends' states say. */
void vsock_mux_settle(struct virtio_vsock *vs, struct vsock_conn *c);

/* virtio_vsock_vhost.c: the kernel's vhost-vsock as the host side. */
must_check int vsock_vhost_open(struct virtio_vsock *vs, const char *path, struct event_loop *loop);
must_check int vsock_vhost_activate(struct virtio_vsock *vs);
void vsock_vhost_reset(struct virtio_vsock *vs);

/* virtio_vsock.c: serve the receive queue (the mux calls it after events). */
void virtio_vsock_rx_pump(struct virtio_vsock *vs);

#endif
