/* One epoll set and the thread that serves it; see event_loop.h. */
#include "base/event_loop.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"

int event_loop_init(struct event_loop *loop)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	int err;

	memset(loop, 0, sizeof(*loop));
	pthread_mutex_init(&loop->lock, NULL);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		return -errno;
	loop->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->stop_fd < 0) {
		err = -errno;
		goto close_epoll;
	}
	/* data.ptr == NULL marks the stop eventfd. */
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->stop_fd, &ev) < 0) {
		err = -errno;
		goto close_stop;
	}
	return 0;

close_stop:
	close(loop->stop_fd);
close_epoll:
	close(loop->epfd);
	return err;
}

void event_loop_destroy(struct event_loop *loop)
{
	close(loop->stop_fd);
	close(loop->epfd);
	pthread_mutex_destroy(&loop->lock);
}

int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_fn fn, void *opaque)
{
	int ret = -ENOSPC;

	pthread_mutex_lock(&loop->lock);
	for (size_t i = 0; i < EVENT_LOOP_MAX_HANDLERS; i++) {
		struct event_handler *h = &loop->handlers[i];
		struct epoll_event ev = { .events = events, .data.ptr = h };

		if (h->in_use)
			continue;
		/* Filled before epoll can report it. */
		*h = (struct event_handler){ .fd = fd, .fn = fn, .opaque = opaque, .in_use = true };
		ret = 0;
		if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			ret = -errno;
			h->in_use = false;
		}
		break;
	}
	pthread_mutex_unlock(&loop->lock);
	return ret;
}

void event_loop_remove(struct event_loop *loop, int fd)
{
	pthread_mutex_lock(&loop->lock);
	for (size_t i = 0; i < EVENT_LOOP_MAX_HANDLERS; i++) {
		struct event_handler *h = &loop->handlers[i];

		if (h->in_use && h->fd == fd) {
			epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
			h->in_use = false;
		}
	}
	pthread_mutex_unlock(&loop->lock);
}

/* Runs handler `h` if it is still registered (a callback earlier in the same
 * batch, or another thread, may have removed it). */
static void dispatch(struct event_loop *loop, struct event_handler *h, uint32_t events)
{
	event_fn fn = NULL;
	void *opaque = NULL;

	pthread_mutex_lock(&loop->lock);
	if (h->in_use) {
		fn = h->fn;
		opaque = h->opaque;
	}
	pthread_mutex_unlock(&loop->lock);
	if (fn)
		fn(opaque, events);
}

int event_loop_run(struct event_loop *loop)
{
	struct epoll_event events[16];

	for (;;) {
		int n = epoll_wait(loop->epfd, events, ARRAY_SIZE(events), -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			struct event_handler *h = events[i].data.ptr;

			if (!h)
				return 0;
			dispatch(loop, h, events[i].events);
		}
	}
}

void event_loop_stop(struct event_loop *loop)
{
	uint64_t one = 1;

	/* write() is async-signal-safe; a full counter still wakes epoll. */
	if (write(loop->stop_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error("event loop: cannot signal stop: %s", strerror(errno));
}
