/*
 * The hybrid vsock host side: the listening socket at uds_path, host
 * programs' CONNECT lines, connections to "<uds_path>_<port>", and the
 * host half of every stream (Firecracker's design, reference/protocols.md
 * section 6); see virtio_vsock.h. Host sockets live in an epoll set of
 * their own, watched by the event loop as one fd.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "devices/virtio_vsock/virtio_vsock.h"

#define BATCH 64

uint64_t vsock_mux_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct virtio_vsock *vs_of(struct vsock_mux *mux)
{
	return container_of(mux, struct virtio_vsock, mux);
}

static unsigned int hash(uint32_t local, uint32_t peer)
{
	return (local * 2654435761u ^ peer * 40503u) % VSOCK_HASH_SIZE;
}

struct vsock_conn *vsock_mux_lookup(struct vsock_mux *mux, uint32_t local, uint32_t peer)
{
	for (struct vsock_conn *c = mux->hash[hash(local, peer)]; c; c = c->hash_next) {
		if (c->local_port == local && c->peer_port == peer)
			return c;
	}
	return NULL;
}

static void hash_remove(struct vsock_mux *mux, struct vsock_conn *c)
{
	struct vsock_conn **p = &mux->hash[hash(c->local_port, c->peer_port)];

	while (*p && *p != c)
		p = &(*p)->hash_next;
	if (*p)
		*p = c->hash_next;
}

static void rx_remove(struct vsock_mux *mux, struct vsock_conn *c)
{
	struct vsock_conn *prev = NULL;

	if (!c->in_rx_queue)
		return;
	for (struct vsock_conn *p = mux->rx_head; p; prev = p, p = p->rx_next) {
		if (p != c)
			continue;
		if (prev)
			prev->rx_next = c->rx_next;
		else
			mux->rx_head = c->rx_next;
		if (mux->rx_tail == c)
			mux->rx_tail = prev;
		break;
	}
	c->in_rx_queue = false;
}

void vsock_mux_want_rx(struct vsock_mux *mux, struct vsock_conn *c)
{
	if (c->in_rx_queue || c->dead)
		return;
	c->rx_next = NULL;
	if (mux->rx_tail)
		mux->rx_tail->rx_next = c;
	else
		mux->rx_head = c;
	mux->rx_tail = c;
	c->in_rx_queue = true;
}

static void close_fd(struct vsock_mux *mux, struct vsock_conn *c)
{
	if (c->fd < 0)
		return;
	if (!c->host_hup)
		epoll_ctl(mux->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->events = 0;
}

void vsock_mux_close(struct vsock_mux *mux, struct vsock_conn *c)
{
	if (c->dead)
		return;
	close_fd(mux, c);
	rx_remove(mux, c);
	hash_remove(mux, c);
	vsock_conn_release(c);
	c->dead = true;
	c->hash_next = mux->dead;
	mux->dead = c;
	mux->n_conns--;
	vs_of(mux)->stats.conns_closed++;
}

void vsock_mux_reset_conn(struct vsock_mux *mux, struct vsock_conn *c)
{
	close_fd(mux, c);
	c->state = VSOCK_CONN_CLOSING;
	c->owe = VSOCK_OWE_RST;
	c->want_read = false;
	vs_of(mux)->stats.resets++;
	vsock_mux_want_rx(mux, c);
}

void vsock_mux_stray_rst(struct vsock_mux *mux, uint32_t host_port, uint32_t guest_port)
{
	if (mux->n_stray == VSOCK_MAX_STRAY)
		return; /* bounded: the guest times the connection out instead */
	mux->stray[mux->n_stray++] = (struct vsock_stray){host_port, guest_port};
}

/* Takes p off the pending list; freed by vsock_mux_reap(). */
static void pending_unlink(struct vsock_mux *mux, struct vsock_pending *p)
{
	struct vsock_pending **pp = &mux->pending;

	while (*pp && *pp != p)
		pp = &(*pp)->next;
	if (*pp)
		*pp = p->next;
	p->next = mux->dead_pending;
	mux->dead_pending = p;
	mux->n_pending--;
}

static void pending_close(struct vsock_mux *mux, struct vsock_pending *p)
{
	epoll_ctl(mux->epfd, EPOLL_CTL_DEL, p->fd, NULL);
	close(p->fd);
	p->fd = -1;
	pending_unlink(mux, p);
}

void vsock_mux_reap(struct vsock_mux *mux)
{
	while (mux->dead) {
		struct vsock_conn *c = mux->dead;

		mux->dead = c->hash_next;
		free(c);
	}
	while (mux->dead_pending) {
		struct vsock_pending *p = mux->dead_pending;

		mux->dead_pending = p->next;
		free(p);
	}
}

void vsock_mux_update_events(struct vsock_mux *mux, struct vsock_conn *c)
{
	struct epoll_event ev = {.data.ptr = &c->watch};
	uint32_t want = 0;

	if (c->fd < 0 || c->host_hup || c->dead)
		return;
	if (c->state == VSOCK_CONN_ESTABLISHED && !c->want_read && !c->host_eof &&
	    !c->guest_shut_rcv && vsock_conn_peer_credit(c) > 0)
		want |= EPOLLIN;
	if (c->ring_used)
		want |= EPOLLOUT;
	if (want == c->events)
		return;
	ev.events = want;
	if (epoll_ctl(mux->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = want;
	else
		log_warn("vsock: cannot watch host socket: %s", strerror(errno));
}

/* ---- connections ---- */

static struct vsock_conn *conn_new(struct vsock_mux *mux, int fd, uint32_t local, uint32_t peer,
				   enum vsock_conn_state state)
{
	struct epoll_event ev = {.events = 0};
	struct vsock_conn *c = malloc(sizeof(*c));
	unsigned int h = hash(local, peer);

	if (!c)
		return NULL;
	vsock_conn_init(c, local, peer, state);
	ev.data.ptr = &c->watch;
	if (epoll_ctl(mux->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(c);
		return NULL;
	}
	c->fd = fd;
	c->hash_next = mux->hash[h];
	mux->hash[h] = c;
	mux->n_conns++;
	vs_of(mux)->stats.conns_opened++;
	return c;
}

void vsock_mux_guest_connect(struct virtio_vsock *vs, const struct vsock_pkt *pkt)
{
	struct vsock_mux *mux = &vs->mux;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct vsock_conn *c;
	int fd;

	if (mux->n_conns >= VSOCK_MAX_CONNS) {
		vsock_mux_stray_rst(mux, pkt->dst_port, pkt->src_port);
		return;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", mux->path, pkt->dst_port);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		log_debug("%s: guest port %u -> host port %u: %s: %s", vs->name, pkt->src_port,
			  pkt->dst_port, sa.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		vsock_mux_stray_rst(mux, pkt->dst_port, pkt->src_port);
		return;
	}
	c = conn_new(mux, fd, pkt->dst_port, pkt->src_port, VSOCK_CONN_ESTABLISHED);
	if (!c) {
		close(fd);
		vsock_mux_stray_rst(mux, pkt->dst_port, pkt->src_port);
		return;
	}
	vsock_conn_peer_credit_from(c, pkt);
	c->owe |= VSOCK_OWE_RESPONSE;
	vsock_mux_want_rx(mux, c);
	vsock_mux_update_events(mux, c);
}

/* A port for a host-initiated connection: round robin in [2^30, 2^31). */
static uint32_t alloc_port(struct vsock_mux *mux, uint32_t peer)
{
	for (;;) {
		uint32_t p = mux->next_port++;

		if (mux->next_port >= (1u << 31))
			mux->next_port = VSOCK_LOCAL_PORT_BASE;
		if (!vsock_mux_lookup(mux, p, peer))
			return p;
	}
}

/* "CONNECT <port>\n" arrived on a pending socket: ask the guest. */
static void host_connect(struct vsock_mux *mux, struct vsock_pending *p, uint32_t port)
{
	int fd = p->fd;
	struct vsock_conn *c;

	/* The socket moves from the pending list to a connection. */
	epoll_ctl(mux->epfd, EPOLL_CTL_DEL, fd, NULL);
	p->fd = -1;
	pending_unlink(mux, p);
	c = mux->n_conns < VSOCK_MAX_CONNS
		? conn_new(mux, fd, alloc_port(mux, port), port, VSOCK_CONN_CONNECTING)
		: NULL;
	if (!c) {
		close(fd);
		return;
	}
	c->owe |= VSOCK_OWE_REQUEST;
	c->deadline_ms = vsock_mux_now_ms() + VSOCK_TIMEOUT_MS;
	vsock_mux_want_rx(mux, c);
}

static void on_pending(struct vsock_mux *mux, struct vsock_pending *p)
{
	char buf[VSOCK_CONNECT_MAX + 1];
	uint32_t port = 0;
	ssize_t n;
	int len;

	if (p->fd < 0)
		return;
	/* Peek, so that stream bytes sent right after the line stay in the socket. */
	n = recv(p->fd, buf, VSOCK_CONNECT_MAX, MSG_PEEK);
	if (n < 0 && errno == EAGAIN)
		return;
	len = n > 0 ? virtio_vsock_parse_connect(buf, (size_t)n, &port) : -EINVAL;
	if (len == 0)
		return; /* the rest of the line is still coming */
	if (len < 0 || recv(p->fd, buf, (size_t)len, 0) != len) {
		pending_close(mux, p);
		return;
	}
	if (vs_of(mux)->vdev.status == 0 || !virtio_dev_running(&vs_of(mux)->vdev)) {
		pending_close(mux, p); /* no guest driver to ask */
		return;
	}
	host_connect(mux, p, port);
}

static void on_listener(struct vsock_mux *mux)
{
	for (;;) {
		struct epoll_event ev = {.events = EPOLLIN};
		struct vsock_pending *p;
		int fd = accept4(mux->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		if (mux->n_pending >= VSOCK_MAX_PENDING || !(p = calloc(1, sizeof(*p)))) {
			close(fd);
			continue;
		}
		p->fd = fd;
		p->watch = (struct vsock_watch){VSOCK_WATCH_PENDING, p};
		p->deadline_ms = vsock_mux_now_ms() + VSOCK_TIMEOUT_MS;
		ev.data.ptr = &p->watch;
		if (epoll_ctl(mux->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(p);
			continue;
		}
		p->next = mux->pending;
		mux->pending = p;
		mux->n_pending++;
	}
}

/* The ring's guest bytes go to the host socket. */
static void flush(struct virtio_vsock *vs, struct vsock_conn *c)
{
	struct iovec iov[2];
	struct msghdr msg = {.msg_iov = iov};
	ssize_t n;

	msg.msg_iovlen = vsock_conn_ring_peek(c, iov);
	if (!msg.msg_iovlen || c->fd < 0)
		return;
	n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0 && errno != EAGAIN) {
		vsock_mux_reset_conn(&vs->mux, c); /* the host end went away */
		return;
	}
	if (n > 0) {
		vsock_conn_ring_drop(c, (uint32_t)n);
		vsock_conn_consumed(c, (uint32_t)n);
	}
}

static void after_consumed(struct virtio_vsock *vs, struct vsock_conn *c)
{
	if (c->dead || c->state == VSOCK_CONN_CLOSING)
		return;
	if (vsock_conn_credit_update_due(c)) {
		c->owe |= VSOCK_OWE_CREDIT_UPDATE;
		vsock_mux_want_rx(&vs->mux, c);
	}
	vsock_mux_settle(vs, c);
	vsock_mux_update_events(&vs->mux, c);
}

void vsock_mux_host_write(struct virtio_vsock *vs, struct vsock_conn *c, const struct iovec *iov,
			  unsigned int n, uint32_t len)
{
	struct msghdr msg = {.msg_iov = (struct iovec *)(uintptr_t)iov, .msg_iovlen = n};
	struct iovec rest[VIRTQ_MAX_SIZE];
	unsigned int k = 0;
	ssize_t w = 0;

	c->rx_cnt += len;
	if (!c->ring_used && c->fd >= 0) {
		w = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno != EAGAIN) {
			vsock_mux_reset_conn(&vs->mux, c);
			return;
		}
		w = w < 0 ? 0 : w;
		vsock_conn_consumed(c, (uint32_t)w);
	}
	/* What the socket did not take waits in the ring (within the credit). */
	for (unsigned int i = 0, skip = (unsigned int)w; i < n; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= (unsigned int)iov[i].iov_len;
			continue;
		}
		rest[k].iov_base = (char *)iov[i].iov_base + skip;
		rest[k++].iov_len = iov[i].iov_len - skip;
		skip = 0;
	}
	if ((uint32_t)w < len && vsock_conn_ring_put(c, rest, k, len - (uint32_t)w) < 0) {
		vsock_mux_reset_conn(&vs->mux, c);
		return;
	}
	after_consumed(vs, c);
}

void vsock_mux_settle(struct virtio_vsock *vs, struct vsock_conn *c)
{
	bool to_host_done, to_guest_done;

	if (c->dead || c->state != VSOCK_CONN_ESTABLISHED)
		return;
	if (c->guest_shut_send && !c->ring_used && !c->host_wr_shut && c->fd >= 0 && !c->host_hup) {
		shutdown(c->fd, SHUT_WR);
		c->host_wr_shut = true;
	}
	to_host_done = (c->guest_shut_send && !c->ring_used) || c->host_hup;
	to_guest_done = c->guest_shut_rcv || (c->host_eof && !(c->owe & VSOCK_OWE_SHUTDOWN));
	if (to_host_done && to_guest_done)
		vsock_mux_reset_conn(&vs->mux, c);
}

static void on_conn(struct virtio_vsock *vs, struct vsock_conn *c, uint32_t events)
{
	struct vsock_mux *mux = &vs->mux;

	if (c->dead || c->fd < 0)
		return;
	if (events & (EPOLLHUP | EPOLLERR)) {
		/* Gone: what it sent is still readable; nothing more can be written. */
		epoll_ctl(mux->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		c->host_hup = true;
		c->events = 0;
		vsock_conn_release(c);
		if (c->state == VSOCK_CONN_CONNECTING) {
			vsock_mux_close(mux, c); /* the guest's RESPONSE finds nothing: RST */
			return;
		}
		if (!c->guest_shut_rcv && !c->host_eof)
			c->want_read = true;
		vsock_mux_want_rx(mux, c);
		vsock_mux_settle(vs, c);
		return;
	}
	if (events & EPOLLOUT) {
		flush(vs, c);
		if (!c->dead && c->fd >= 0)
			after_consumed(vs, c);
	}
	if ((events & EPOLLIN) && !c->dead && c->fd >= 0) {
		c->want_read = true; /* the receive pump reads it into guest buffers */
		vsock_mux_want_rx(mux, c);
		vsock_mux_update_events(mux, c);
	}
}

static void on_mux(void *opaque, uint32_t events)
{
	(void)events;
	vsock_mux_poll(opaque);
}

void vsock_mux_poll(struct virtio_vsock *vs)
{
	struct vsock_mux *mux = &vs->mux;
	struct epoll_event ev[BATCH];
	int n;

	pthread_mutex_lock(&vs->vdev.lock);
	n = epoll_wait(mux->epfd, ev, BATCH, 0);
	for (int i = 0; i < n; i++) {
		struct vsock_watch *w = ev[i].data.ptr;

		if (w->kind == VSOCK_WATCH_LISTENER)
			on_listener(mux);
		else if (w->kind == VSOCK_WATCH_PENDING)
			on_pending(mux, w->obj);
		else
			on_conn(vs, w->obj, ev[i].events);
	}
	virtio_vsock_rx_pump(vs);
	vsock_mux_reap(mux);
	pthread_mutex_unlock(&vs->vdev.lock);
}

/* Every half second: CONNECT lines, RESPONSEs and RSTs that never came. */
static void on_timer(void *opaque, uint32_t events)
{
	struct virtio_vsock *vs = opaque;
	struct vsock_mux *mux = &vs->mux;
	uint64_t now = vsock_mux_now_ms(), ticks;

	(void)events;
	if (read(mux->timer_fd, &ticks, sizeof(ticks)) < 0)
		return;
	pthread_mutex_lock(&vs->vdev.lock);
	for (struct vsock_pending *p = mux->pending, *next; p; p = next) {
		next = p->next;
		if (now >= p->deadline_ms)
			pending_close(mux, p);
	}
	for (unsigned int h = 0; h < VSOCK_HASH_SIZE; h++) {
		for (struct vsock_conn *c = mux->hash[h], *next; c; c = next) {
			next = c->hash_next;
			if (c->deadline_ms && now >= c->deadline_ms)
				vsock_mux_close(mux, c);
		}
	}
	vsock_mux_reap(mux);
	pthread_mutex_unlock(&vs->vdev.lock);
}

void vsock_mux_reset(struct vsock_mux *mux)
{
	while (mux->pending)
		pending_close(mux, mux->pending);
	for (unsigned int h = 0; h < VSOCK_HASH_SIZE; h++) {
		while (mux->hash[h])
			vsock_mux_close(mux, mux->hash[h]);
	}
	mux->rx_head = mux->rx_tail = NULL;
	mux->n_stray = 0;
	vsock_mux_reap(mux);
}

/* ---- the listening socket ---- */

/* A socket file left by an earlier run is replaced; anything else is an error. */
static int check_path(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, err;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		err = -errno;
		log_error("--vsock: uds-path %s: %s", path, strerror(errno));
		return err;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_error("--vsock: uds-path %s exists and is not a socket", path);
		return -EEXIST;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? -EADDRINUSE : 0;
	close(fd);
	if (err) {
		log_error("--vsock: uds-path %s is in use by another process", path);
		return err;
	}
	if (unlink(path) < 0) {
		err = -errno;
		log_error("--vsock: cannot replace the stale socket %s: %s", path, strerror(errno));
		return err;
	}
	return 0;
}

static int listen_on(struct vsock_mux *mux)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &mux->listen_watch};
	int err = check_path(mux->path);

	if (err)
		return err;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", mux->path);
	mux->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (mux->listen_fd >= 0 && bind(mux->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		mux->bound = true;
	if (!mux->bound || listen(mux->listen_fd, 128) < 0) {
		err = -errno;
		log_error("--vsock: cannot listen on uds-path %s: %s", mux->path, strerror(errno));
		return err;
	}
	mux->listen_watch = (struct vsock_watch){VSOCK_WATCH_LISTENER, mux};
	if (epoll_ctl(mux->epfd, EPOLL_CTL_ADD, mux->listen_fd, &ev) < 0) {
		err = -errno;
		log_error("--vsock: cannot watch uds-path %s: %s", mux->path, strerror(errno));
		return err;
	}
	return 0;
}

static int watch_all(struct vsock_mux *mux, struct event_loop *loop, struct virtio_vsock *vs)
{
	struct itimerspec t = {.it_interval.tv_nsec = 500000000L, .it_value.tv_nsec = 500000000L};
	int err;

	mux->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (mux->timer_fd < 0 || timerfd_settime(mux->timer_fd, 0, &t, NULL) < 0)
		return -errno;
	if (!loop)
		return 0;
	err = event_loop_add(loop, mux->epfd, EPOLLIN, on_mux, vs);
	if (err)
		return err;
	mux->epfd_watched = true;
	err = event_loop_add(loop, mux->timer_fd, EPOLLIN, on_timer, vs);
	if (err)
		return err;
	mux->timer_watched = true;
	return 0;
}

int vsock_mux_init(struct vsock_mux *mux, const char *path, struct event_loop *loop,
		   struct virtio_vsock *vs)
{
	int err;

	memset(mux, 0, sizeof(*mux));
	mux->listen_fd = mux->timer_fd = -1;
	mux->next_port = VSOCK_LOCAL_PORT_BASE;
	mux->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (mux->epfd < 0)
		return -errno;
	mux->path = strdup(path);
	if (!mux->path) {
		close(mux->epfd);
		return -ENOMEM;
	}
	err = listen_on(mux);
	if (!err)
		err = watch_all(mux, loop, vs);
	else
		return err; /* listen_on said why */
	if (err)
		log_error("--vsock: uds-path %s: %s", path, strerror(-err));
	return err;
}

void vsock_mux_destroy(struct vsock_mux *mux, struct event_loop *loop)
{
	vsock_mux_reset(mux);
	if (mux->epfd_watched)
		event_loop_remove(loop, mux->epfd);
	if (mux->timer_watched)
		event_loop_remove(loop, mux->timer_fd);
	if (mux->timer_fd >= 0)
		close(mux->timer_fd);
	if (mux->listen_fd >= 0)
		close(mux->listen_fd);
	if (mux->bound)
		unlink(mux->path);
	if (mux->epfd >= 0)
		close(mux->epfd);
	free(mux->path);
	mux->path = NULL;
}
