/*
 * Fuzz target: a hostile virtio-vsock driver (virtio 1.x section 5.10) and
 * hostile host programs on the hybrid Unix sockets.
 *
 * Every input is first given whole to the parsers (the packet header with
 * the rest as payload, and the CONNECT line). Then it is replayed as a
 * session against a real device whose host side lives in a temporary
 * folder with a listener at PATH_1000, one record after another:
 *
 *   op % 7 == 0  the guest sends a packet: 44 header bytes from the input
 *                (source CID forced to the guest's, destination to the host,
 *                ports folded to a few values, when next is even), then
 *                next * 8 payload bytes from the input; kick
 *   op % 7 == 1  post a receive buffer of next * 16 bytes (0..4080), kick
 *   op % 7 == 2  the host listener accepts; the accepted socket writes
 *                next bytes, or is closed (next odd)
 *   op % 7 == 3  a host program connects to PATH and sends next % 40 input
 *                bytes (a CONNECT line or garbage)
 *   op % 7 == 4  host sockets are served (what the event loop does)
 *   op % 7 == 5  device reset and restart
 *   op % 7 == 6  transport reset (event queue)
 *
 * At the end the device is reset and every host socket the session opened
 * is closed: the process must hold exactly the fds it held before, and
 * used lengths must be within what was posted.
 */
#include <dirent.h>
#include <endian.h>
#include <linux/virtio_config.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/virtio_vsock/virtio_vsock.h"
#include "fuzz.h"
#include "harness.h"
#include "virtio/virtio_test_transport.h"
#include "virtio/virtq_driver.h"

#define CID 3
#define NQ 3
#define QSIZE 32
#define RING_SPAN 0x40000ULL
#define MAX_HOST_FDS 16

struct session {
	char dir[64], path[96];
	struct virtio_test_transport irqs; /* interrupts are only counted */
	struct guest_mem gm;
	struct virtio_vsock *vs;
	struct virtq_driver drv[NQ];
	int listener; /* PATH_1000 */
	int host_fds[MAX_HOST_FDS];
	unsigned int n_host_fds;
};

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		abort();
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void dump_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[300], target[256];

	while (d && (e = readdir(d))) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		fprintf(stderr, "fd %s -> %s\n", e->d_name, target);
	}
	if (d)
		closedir(d);
}

static void check_parsers(const uint8_t *data, size_t size)
{
	struct vsock_pkt pkt;
	uint32_t port;
	int n;

	if (size >= VSOCK_HDR_LEN &&
	    virtio_vsock_pkt_parse(data, (uint32_t)(size - VSOCK_HDR_LEN), CID, &pkt) ==
		VSOCK_PKT_OK &&
	    (pkt.len > size - VSOCK_HDR_LEN || pkt.src_cid != CID || pkt.dst_cid != 2 ||
	     pkt.type != VIRTIO_VSOCK_TYPE_STREAM))
		abort();
	n = virtio_vsock_parse_connect((const char *)data, size, &port);
	if (n > (int)size || n > VSOCK_CONNECT_MAX)
		abort();
}

static struct session *session_get(void)
{
	static struct session *s;
	struct vsock_config vc = {.enabled = true, .cid = CID};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (s)
		return s;
	s = fuzz_session_new(sizeof(*s));
	strcpy(s->dir, "/tmp/cove-fuzz-vsock-XXXXXX");
	if (!mkdtemp(s->dir))
		abort();
	snprintf(s->path, sizeof(s->path), "%s/v", s->dir);
	vc.uds_path = s->path;
	fuzz_guest_ram(&s->gm, 4 * 1024 * 1024);
	if (virtio_vsock_create(&vc, &s->gm, NULL, &s->vs))
		abort();
	virtio_test_transport_attach(&s->vs->vdev, &s->irqs);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_1000", s->path);
	s->listener = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listener < 0 || bind(s->listener, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(s->listener, 64))
		abort();
	return s;
}

/* Reset, then the driver's init sequence up to DRIVER_OK. Lock held. */
static void restart(struct session *s)
{
	struct virtio_device *vdev = &s->vs->vdev;
	const struct virtio_test_rings rings = {
	    .mem = &s->gm, .gpa = 0x1000, .span = RING_SPAN, .size = QSIZE, .indirect = true};

	virtio_dev_reset(vdev);
	if (virtio_test_start(vdev, 1ULL << VIRTIO_F_VERSION_1, s->drv, NQ, &rings))
		abort();
}

static bool add(struct session *s, unsigned int q, const void *src, uint32_t len, bool writable)
{
	uint64_t gpa = virtq_driver_alloc(&s->drv[q], len ? len : 1);
	struct virtq_driver_seg seg = {gpa, len, writable};

	if (!gpa)
		return false;
	if (src && len && guest_mem_write(&s->gm, gpa, src, len))
		abort();
	return virtq_driver_add(&s->drv[q], &seg, 1, false) >= 0;
}

static void kick(struct session *s, unsigned int q)
{
	if (virtio_dev_running(&s->vs->vdev))
		s->vs->vdev.ops->queue_notify(&s->vs->vdev, q);
}

static void keep_fd(struct session *s, int fd)
{
	if (fd < 0)
		return;
	if (s->n_host_fds == MAX_HOST_FDS) {
		close(fd);
		return;
	}
	s->host_fds[s->n_host_fds++] = fd;
}

/* A packet from the guest; `tame` makes it get past the address checks. */
static size_t guest_packet(struct session *s, const uint8_t *p, size_t left, uint8_t arg)
{
	uint8_t buf[VSOCK_HDR_LEN + 2048];
	size_t hlen = MIN((size_t)VSOCK_HDR_LEN, left), plen;
	struct vsock_pkt pkt;

	memset(buf, 0, sizeof(buf));
	memcpy(buf, p, hlen);
	plen = MIN((size_t)arg * 8, left - hlen);
	memcpy(buf + VSOCK_HDR_LEN, p + hlen, plen);
	if (arg % 2 == 0) {
		(void)virtio_vsock_pkt_parse(buf, UINT32_MAX, CID, &pkt);
		pkt.src_cid = CID;
		pkt.dst_cid = 2;
		pkt.src_port = 5000 + pkt.src_port % 3;
		pkt.dst_port = pkt.dst_port % 2 ? 1000 : (1u << 30) + pkt.dst_port % 4;
		pkt.type = pkt.type % 3;
		pkt.op = pkt.op % 9;
		if (pkt.op == VIRTIO_VSOCK_OP_RW && pkt.len > plen + 16)
			pkt.len = (uint32_t)plen;
		virtio_vsock_pkt_write(&pkt, buf);
	}
	if (!add(s, 1, buf, (uint32_t)(VSOCK_HDR_LEN + plen - (arg % 5 == 4 ? 30 : 0)), false))
		return 0;
	kick(s, 1);
	return hlen + plen;
}

static void host_accept(struct session *s, uint8_t arg)
{
	int fd = accept4(s->listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	static const char junk[256];

	if (fd < 0)
		return;
	if (arg % 2) {
		close(fd);
		return;
	}
	(void)send(fd, junk, arg, MSG_NOSIGNAL | MSG_DONTWAIT);
	keep_fd(s, fd);
}

static void host_client(struct session *s, const uint8_t *p, size_t len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	(void)send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	keep_fd(s, fd);
}

static void poll_host(struct session *s)
{
	pthread_mutex_unlock(&s->vs->vdev.lock);
	vsock_mux_poll(s->vs);
	pthread_mutex_lock(&s->vs->vdev.lock);
}

static void drain(void *opaque)
{
	struct session *s = opaque;

	for (unsigned int q = 0; q < NQ; q++) {
		if (fuzz_collect_used(&s->drv[q]) < 0)
			abort();
	}
}

static size_t step(void *opaque, const uint8_t *p, size_t left)
{
	struct session *s = opaque;
	uint8_t op, arg;
	size_t len;

	if (left < 2)
		return 0;
	op = p[0] % 7;
	arg = p[1];
	switch (op) {
	case 0:
		len = guest_packet(s, p + 2, left - 2, arg);
		return len ? 2 + len : 0;
	case 1:
		if (!add(s, 0, NULL, (uint32_t)arg * 16, true))
			return 0;
		kick(s, 0);
		return 2;
	case 2:
		host_accept(s, arg);
		return 2;
	case 3:
		len = MIN((size_t)(arg % 40), left - 2);
		host_client(s, p + 2, len);
		poll_host(s);
		return 2 + len;
	case 4:
		poll_host(s);
		return 2;
	case 5:
		restart(s);
		return 2;
	default:
		if (!add(s, 2, NULL, 4, true))
			return 0;
		virtio_vsock_transport_reset(s->vs);
		return 2;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session *s = session_get();
	int baseline = count_fds(); /* per input: libFuzzer opens files between inputs */
	int fd;

	check_parsers(data, size);
	pthread_mutex_lock(&s->vs->vdev.lock);
	restart(s);
	fuzz_replay_records(s, data, size, step, drain);
	virtio_dev_reset(&s->vs->vdev);
	vsock_mux_reap(&s->vs->mux);
	pthread_mutex_unlock(&s->vs->vdev.lock);
	while (s->n_host_fds)
		close(s->host_fds[--s->n_host_fds]);
	while ((fd = accept4(s->listener, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		close(fd);
	if (count_fds() != baseline) {
		dump_fds(); /* a host fd leaked: say which */
		abort();
	}
	return 0;
}
