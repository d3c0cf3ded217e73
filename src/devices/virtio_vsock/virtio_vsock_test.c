/*
 * Unit tests for virtio-vsock with its hybrid host side on real Unix
 * sockets in a temporary folder. The guest's side is virtq_driver (rx, tx
 * and event queues), the transport a fake; host events are served by
 * calling vsock_mux_poll() as the event loop would.
 * Covered: guest connects (listener there, or not: RST), data both ways,
 * host-initiated CONNECT/OK, credit overrun, half-close and close in both
 * directions, hostile packets, transport reset, bad uds paths, no leaked fd.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/virtio_vsock/virtio_vsock.h"
#include "virtio/virtio_test_transport.h"
#include "virtio/virtq_driver.h"

#define CID 3
#define QSIZE 64
#define RXBUF (4096 + VSOCK_HDR_LEN)

struct fx {
	char dir[64], path[96];
	struct guest_mem gm;
	struct virtio_vsock *vs;
	struct virtq_driver drv[3];
	struct virtio_test_transport tt; /* counts the interrupts */
	int fds_before;
};

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void post_rx(struct fx *f, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		/* Linux 6.1's layout: the header and the data in two descriptors. */
		uint64_t h = virtq_driver_alloc(&f->drv[0], VSOCK_HDR_LEN);
		uint64_t d = virtq_driver_alloc(&f->drv[0], 4096);
		struct virtq_driver_seg segs[2] = {{h, VSOCK_HDR_LEN, true}, {d, 4096, true}};

		assert_true(h && d);
		assert_true(virtq_driver_add(&f->drv[0], segs, 2, false) >= 0);
	}
}

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct vsock_config vc = {.enabled = true, .cid = CID};
	struct virtio_test_rings rings = {.gpa = 0x10000, .span = 0x200000, .size = QSIZE};
	struct virtio_device *vdev;
	int err;

	assert_non_null(f);
	f->fds_before = count_fds();
	strcpy(f->dir, "/tmp/cove-vsock-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/v.sock", f->dir);
	vc.uds_path = f->path;
	guest_mem_init(&f->gm);
	assert_int_equal(guest_mem_add(&f->gm, 0, 8 << 20), 0);
	rings.mem = &f->gm;
	assert_int_equal(virtio_vsock_create(&vc, &f->gm, NULL, &f->vs), 0);
	vdev = &f->vs->vdev;
	virtio_test_transport_attach(vdev, &f->tt);
	pthread_mutex_lock(&vdev->lock);
	err = virtio_test_start(vdev, 1ULL << VIRTIO_F_VERSION_1, f->drv, 3, &rings);
	pthread_mutex_unlock(&vdev->lock);
	assert_int_equal(err, 0);
	post_rx(f, 16);
	return f;
}

static void fx_free(struct fx *f)
{
	struct virtio_device *vdev = &f->vs->vdev;

	virtio_test_reset(vdev);
	vdev->ops->destroy(vdev);
	assert_int_equal(access(f->path, F_OK), -1); /* the socket file is removed */
	assert_int_equal(rmdir(f->dir), 0);
	guest_mem_destroy(&f->gm);
	assert_int_equal(count_fds(), f->fds_before);
	free(f);
}

static void kick(struct fx *f, unsigned int q)
{
	virtio_test_kick(&f->vs->vdev, q);
}

/* The guest sends one packet (header + payload) and kicks. */
static void guest_send(struct fx *f, uint16_t op, uint32_t sport, uint32_t dport, const void *data,
		       uint32_t len, uint32_t flags)
{
	struct vsock_pkt p = {.src_cid = CID,
			      .dst_cid = 2,
			      .src_port = sport,
			      .dst_port = dport,
			      .len = len,
			      .type = 1,
			      .op = op,
			      .flags = flags,
			      .buf_alloc = 65536,
			      .fwd_cnt = 0};
	uint64_t g = virtq_driver_alloc(&f->drv[1], VSOCK_HDR_LEN + len);
	struct virtq_driver_seg seg = {g, VSOCK_HDR_LEN + len, false};
	uint8_t *hp = guest_mem_ptr(&f->gm, g, VSOCK_HDR_LEN + len);

	assert_non_null(hp);
	virtio_vsock_pkt_write(&p, hp);
	if (len)
		memcpy(hp + VSOCK_HDR_LEN, data, len);
	assert_true(virtq_driver_add(&f->drv[1], &seg, 1, false) >= 0);
	kick(f, 1);
}

/* The next packet the guest received; its payload (if any) copied to data. */
static bool guest_recv(struct fx *f, struct vsock_pkt *p, void *data)
{
	struct vring_used_elem e;
	struct vring_desc *desc = virtq_driver_desc(&f->drv[0]);
	int r = virtq_driver_get_used(&f->drv[0], &e);
	uint64_t h, d;

	assert_true(r >= 0);
	if (r == 0)
		return false;
	h = le64toh(desc[e.id].addr);
	d = le64toh(desc[le16toh(desc[e.id].next)].addr);
	/* Any verdict: the fields are filled either way. */
	(void)virtio_vsock_pkt_parse(guest_mem_ptr(&f->gm, h, VSOCK_HDR_LEN), UINT32_MAX, 2, p);
	assert_int_equal(p->src_cid, 2);
	assert_int_equal(e.len, VSOCK_HDR_LEN + p->len);
	if (p->len && data)
		memcpy(data, guest_mem_ptr(&f->gm, d, p->len), p->len);
	post_rx(f, 1);
	return true;
}

static int host_listen(struct fx *f, uint32_t port)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", f->path, port);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

static void host_unlisten(struct fx *f, int fd, uint32_t port)
{
	char p[128];

	snprintf(p, sizeof(p), "%s_%u", f->path, port);
	close(fd);
	unlink(p);
}

/* The guest connects from port 5000 to host port `port`; returns the accepted host fd. */
static int guest_connect(struct fx *f, int lfd, uint32_t port)
{
	struct vsock_pkt p;
	int fd;

	guest_send(f, VIRTIO_VSOCK_OP_REQUEST, 5000, port, NULL, 0, 0);
	assert_true(guest_recv(f, &p, NULL));
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_RESPONSE);
	assert_int_equal(p.src_port, port);
	assert_int_equal(p.dst_port, 5000);
	assert_int_equal(p.dst_cid, CID);
	assert_int_equal(p.buf_alloc, VSOCK_BUF_ALLOC);
	fd = accept(lfd, NULL, NULL);
	assert_true(fd >= 0);
	return fd;
}

/* ---- tests ---- */

static void test_config_and_shape(void **state)
{
	struct fx *f = fx_new();
	uint64_t cid = 0;

	(void)state;
	assert_int_equal(f->vs->vdev.device_id, 19);
	assert_int_equal(f->vs->vdev.num_queues, 3);
	f->vs->vdev.ops->config_read(&f->vs->vdev, 0, &cid, 8);
	assert_int_equal(le64toh(cid), CID);
	fx_free(f);
}

static void test_guest_connect_and_data_both_ways(void **state)
{
	struct fx *f = fx_new();
	int lfd = host_listen(f, 1234), hfd = guest_connect(f, lfd, 1234);
	char buf[10000], big[6000];
	struct vsock_pkt p;
	size_t got = 0;

	(void)state;
	guest_send(f, VIRTIO_VSOCK_OP_RW, 5000, 1234, "hello host", 10, 0);
	assert_int_equal(recv(hfd, buf, sizeof(buf), 0), 10);
	assert_memory_equal(buf, "hello host", 10);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 13);
	assert_int_equal(send(hfd, big, sizeof(big), 0), (ssize_t)sizeof(big));
	vsock_mux_poll(f->vs);
	while (got < sizeof(big) && guest_recv(f, &p, buf + got)) {
		assert_int_equal(p.op, VIRTIO_VSOCK_OP_RW);
		assert_true(p.len <= 4096);
		got += p.len;
		if (got < sizeof(big))
			vsock_mux_poll(f->vs);
	}
	assert_int_equal(got, sizeof(big));
	assert_memory_equal(buf, big, sizeof(big));
	close(hfd);
	host_unlisten(f, lfd, 1234);
	fx_free(f);
}

static void test_guest_connect_to_nobody_gets_rst(void **state)
{
	struct fx *f = fx_new();
	struct vsock_pkt p;

	(void)state;
	guest_send(f, VIRTIO_VSOCK_OP_REQUEST, 5001, 4321, NULL, 0, 0);
	assert_true(guest_recv(f, &p, NULL));
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(p.src_port, 4321);
	assert_int_equal(p.dst_port, 5001);
	/* Data for a connection that does not exist: RST too; a RST: nothing. */
	guest_send(f, VIRTIO_VSOCK_OP_RW, 5001, 4321, "x", 1, 0);
	assert_true(guest_recv(f, &p, NULL));
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_RST);
	guest_send(f, VIRTIO_VSOCK_OP_RST, 5001, 4321, NULL, 0, 0);
	assert_false(guest_recv(f, &p, NULL));
	fx_free(f);
}

static void test_host_initiated_connect(void **state)
{
	struct fx *f = fx_new();
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int hfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct vsock_pkt p;
	char buf[64];

	(void)state;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	assert_int_equal(connect(hfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(send(hfd, "CONNECT 52\nearly", 16, 0), 16);
	vsock_mux_poll(f->vs); /* accept */
	vsock_mux_poll(f->vs); /* the line */
	assert_true(guest_recv(f, &p, NULL));
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_REQUEST);
	assert_int_equal(p.dst_port, 52);
	assert_int_equal(p.src_port, VSOCK_LOCAL_PORT_BASE);
	guest_send(f, VIRTIO_VSOCK_OP_RESPONSE, 52, VSOCK_LOCAL_PORT_BASE, NULL, 0, 0);
	assert_int_equal(recv(hfd, buf, sizeof(buf), 0), 14);
	assert_memory_equal(buf, "OK 1073741824\n", 14);
	/* The bytes sent after the line are the stream's first. */
	vsock_mux_poll(f->vs);
	assert_true(guest_recv(f, &p, buf));
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_RW);
	assert_int_equal(p.len, 5);
	assert_memory_equal(buf, "early", 5);
	close(hfd);
	fx_free(f);
}

static void test_host_connect_refused_by_guest(void **state)
{
	struct fx *f = fx_new();
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int hfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), bad;
	struct vsock_pkt p;
	char buf[64];

	(void)state;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	assert_int_equal(connect(hfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(send(hfd, "CONNECT 9\n", 10, 0), 10);
	vsock_mux_poll(f->vs);
	vsock_mux_poll(f->vs);
	assert_true(guest_recv(f, &p, NULL));
	guest_send(f, VIRTIO_VSOCK_OP_RST, 9, p.src_port, NULL, 0, 0);
	if (recv(hfd, buf, sizeof(buf), 0) != 0)
		fail_msg("recv: %s", strerror(errno)); /* closed, no OK */
	close(hfd);
	/* A bad line closes the socket too. */
	bad = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(bad, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(send(bad, "HELLO\n", 6, 0), 6);
	vsock_mux_poll(f->vs);
	vsock_mux_poll(f->vs);
	assert_true(recv(bad, buf, sizeof(buf), 0) <= 0); /* EOF, or ECONNRESET: unread bytes */
	close(bad);
	fx_free(f);
}

static void test_credit_overrun_resets(void **state)
{
	struct fx *f = fx_new();
	int lfd = host_listen(f, 77), hfd = guest_connect(f, lfd, 77);
	static char chunk[VSOCK_MAX_PAYLOAD];
	struct vsock_pkt p;
	char buf[16];

	(void)state;
	/* The host reads nothing: once its socket and Cove's 256 KiB ring are
	 * full, a guest that sends on regardless gets the connection reset. */
	p.op = 0;
	for (int i = 0; i < 64 && p.op != VIRTIO_VSOCK_OP_RST; i++) {
		guest_send(f, VIRTIO_VSOCK_OP_RW, 5000, 77, chunk, sizeof(chunk), 0);
		while (guest_recv(f, &p, NULL) && p.op != VIRTIO_VSOCK_OP_RST)
			;
	}
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_RST);
	assert_true(f->vs->mux.n_conns == 0);
	/* The host socket is closed: what was delivered, then EOF. */
	while (recv(hfd, chunk, sizeof(chunk), MSG_DONTWAIT) > 0)
		;
	assert_int_equal(recv(hfd, buf, sizeof(buf), 0), 0);
	close(hfd);
	host_unlisten(f, lfd, 77);
	fx_free(f);
}

static void test_backpressure_and_credit_update(void **state)
{
	struct fx *f = fx_new();
	int lfd = host_listen(f, 78), hfd = guest_connect(f, lfd, 78);
	static char chunk[VSOCK_MAX_PAYLOAD], sink[VSOCK_MAX_PAYLOAD];
	struct vsock_pkt p;
	size_t total = 0;
	bool update = false;

	(void)state;
	for (int i = 0; i < 4; i++)
		guest_send(f, VIRTIO_VSOCK_OP_RW, 5000, 78, chunk, sizeof(chunk), 0);
	assert_true(f->vs->stats.conns_opened == 1);
	/* The host drains; Cove flushes its ring and reports the credit. */
	while (total < 4 * sizeof(chunk)) {
		ssize_t n = recv(hfd, sink, sizeof(sink), MSG_DONTWAIT);

		if (n > 0)
			total += (size_t)n;
		vsock_mux_poll(f->vs);
		while (guest_recv(f, &p, NULL))
			update |= p.op == VIRTIO_VSOCK_OP_CREDIT_UPDATE && p.fwd_cnt > 0;
	}
	assert_int_equal(total, 4 * sizeof(chunk));
	assert_true(update);
	close(hfd);
	host_unlisten(f, lfd, 78);
	fx_free(f);
}

static void test_half_close_both_ways(void **state)
{
	struct fx *f = fx_new();
	int lfd = host_listen(f, 80), hfd = guest_connect(f, lfd, 80);
	struct vsock_pkt p;
	char buf[16];

	(void)state;
	/* Guest stops sending: the host reads EOF but can still send. */
	guest_send(f, VIRTIO_VSOCK_OP_SHUTDOWN, 5000, 80, NULL, 0, VIRTIO_VSOCK_SHUTDOWN_SEND);
	assert_int_equal(recv(hfd, buf, sizeof(buf), 0), 0);
	assert_int_equal(send(hfd, "back", 4, 0), 4);
	vsock_mux_poll(f->vs);
	assert_true(guest_recv(f, &p, buf));
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_RW);
	assert_memory_equal(buf, "back", 4);
	/* Host stops sending: the guest gets SHUTDOWN(SEND), then the connection ends. */
	shutdown(hfd, SHUT_WR);
	vsock_mux_poll(f->vs);
	assert_true(guest_recv(f, &p, NULL));
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_SHUTDOWN);
	assert_int_equal(p.flags, VIRTIO_VSOCK_SHUTDOWN_SEND);
	assert_true(guest_recv(f, &p, NULL));
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(f->vs->mux.n_conns, 0);
	close(hfd);
	host_unlisten(f, lfd, 80);
	fx_free(f);
}

static void test_guest_close_and_host_close(void **state)
{
	struct fx *f = fx_new();
	int lfd = host_listen(f, 81), hfd = guest_connect(f, lfd, 81), hfd2;
	struct vsock_pkt p;
	char buf[16];

	(void)state;
	guest_send(f, VIRTIO_VSOCK_OP_SHUTDOWN, 5000, 81, NULL, 0, 3);
	assert_true(guest_recv(f, &p, NULL));
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(recv(hfd, buf, sizeof(buf), 0), 0);
	close(hfd);
	/* The host closes: SHUTDOWN(3); the guest's RST ends it. */
	hfd2 = guest_connect(f, lfd, 81);
	close(hfd2);
	vsock_mux_poll(f->vs);
	assert_true(guest_recv(f, &p, NULL));
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_SHUTDOWN);
	assert_int_equal(p.flags, 3);
	guest_send(f, VIRTIO_VSOCK_OP_RST, 5000, 81, NULL, 0, 0);
	assert_int_equal(f->vs->mux.n_conns, 0);
	host_unlisten(f, lfd, 81);
	fx_free(f);
}

static void test_hostile_packets(void **state)
{
	struct fx *f = fx_new();
	int lfd = host_listen(f, 90), hfd = guest_connect(f, lfd, 90);
	struct vsock_pkt bad = {.src_cid = 7,
				.dst_cid = 2,
				.src_port = 5000,
				.dst_port = 90,
				.type = 1,
				.op = VIRTIO_VSOCK_OP_RST};
	uint64_t g = virtq_driver_alloc(&f->drv[1], 64);
	struct virtq_driver_seg seg = {g, VSOCK_HDR_LEN, false}, tiny = {g, 10, false};
	struct vsock_pkt p;

	(void)state;
	/* A spoofed RST from another CID does not close the connection. */
	virtio_vsock_pkt_write(&bad, guest_mem_ptr(&f->gm, g, VSOCK_HDR_LEN));
	assert_true(virtq_driver_add(&f->drv[1], &seg, 1, false) >= 0);
	assert_true(virtq_driver_add(&f->drv[1], &tiny, 1, false) >= 0);
	kick(f, 1);
	assert_int_equal(f->vs->mux.n_conns, 1);
	assert_int_equal(f->vs->stats.dropped, 2);
	/* Unknown op and SEQPACKET get RST; the device keeps running. */
	guest_send(f, 42, 5000, 91, NULL, 0, 0);
	assert_true(guest_recv(f, &p, NULL));
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_RST);
	/* A second REQUEST on a live connection resets it. */
	guest_send(f, VIRTIO_VSOCK_OP_REQUEST, 5000, 90, NULL, 0, 0);
	assert_true(guest_recv(f, &p, NULL));
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(f->vs->mux.n_conns, 0);
	assert_true(virtio_dev_running(&f->vs->vdev));
	close(hfd);
	host_unlisten(f, lfd, 90);
	fx_free(f);
}

static void test_transport_reset_event(void **state)
{
	struct fx *f = fx_new();
	int lfd = host_listen(f, 95), hfd = guest_connect(f, lfd, 95);
	uint64_t e = virtq_driver_alloc(&f->drv[2], 4);
	struct virtq_driver_seg seg = {e, 4, true};
	struct vring_used_elem u;
	char buf[4];

	(void)state;
	assert_true(virtq_driver_add(&f->drv[2], &seg, 1, false) >= 0);
	kick(f, 2);
	pthread_mutex_lock(&f->vs->vdev.lock);
	virtio_vsock_transport_reset(f->vs);
	pthread_mutex_unlock(&f->vs->vdev.lock);
	assert_int_equal(virtq_driver_get_used(&f->drv[2], &u), 1);
	assert_int_equal(u.len, 4);
	assert_int_equal(*(uint32_t *)guest_mem_ptr(&f->gm, e, 4), 0);
	assert_int_equal(f->tt.queue_irqs[2], 1);
	assert_int_equal(recv(hfd, buf, sizeof(buf), 0), 0);
	close(hfd);
	host_unlisten(f, lfd, 95);
	fx_free(f);
}

static void test_bad_uds_paths(void **state)
{
	char dir[] = "/tmp/cove-vsock-XXXXXX", path[96];
	struct vsock_config vc = {.enabled = true, .cid = CID, .uds_path = path};
	struct virtio_vsock *vs, *vs2;
	struct guest_mem gm;
	int fds = count_fds(), fd;

	(void)state;
	guest_mem_init(&gm);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/file", dir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	assert_int_equal(virtio_vsock_create(&vc, &gm, NULL, &vs), -EEXIST);
	assert_int_equal(access(path, F_OK), 0); /* left alone */
	unlink(path);
	/* A socket in use by a live listener is refused; a stale one is replaced. */
	assert_int_equal(virtio_vsock_create(&vc, &gm, NULL, &vs), 0);
	assert_int_equal(virtio_vsock_create(&vc, &gm, NULL, &vs2), -EADDRINUSE);
	vs->vdev.ops->destroy(&vs->vdev);
	snprintf(path, sizeof(path), "%s/none/x", dir);
	assert_true(virtio_vsock_create(&vc, &gm, NULL, &vs) < 0);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(count_fds(), fds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_and_shape),
	    cmocka_unit_test(test_guest_connect_and_data_both_ways),
	    cmocka_unit_test(test_guest_connect_to_nobody_gets_rst),
	    cmocka_unit_test(test_host_initiated_connect),
	    cmocka_unit_test(test_host_connect_refused_by_guest),
	    cmocka_unit_test(test_credit_overrun_resets),
	    cmocka_unit_test(test_backpressure_and_credit_update),
	    cmocka_unit_test(test_half_close_both_ways),
	    cmocka_unit_test(test_guest_close_and_host_close),
	    cmocka_unit_test(test_hostile_packets),
	    cmocka_unit_test(test_transport_reset_event),
	    cmocka_unit_test(test_bad_uds_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
