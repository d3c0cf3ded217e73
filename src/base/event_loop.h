/*
 * The event loop: one epoll set served by one thread. Device back ends
 * (stdin for the UART now; virtio queues, sockets later) register fds with a
 * callback. Callbacks run on the loop thread, one at a time.
 */
#ifndef COVE_BASE_EVENT_LOOP_H
#define COVE_BASE_EVENT_LOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"

/* `events` is the epoll event mask that fired (EPOLLIN, EPOLLHUP, ...). */
typedef void (*event_fn)(void *opaque, uint32_t events);

#define EVENT_LOOP_MAX_HANDLERS 256

struct event_handler {
	int fd;
	event_fn fn;
	void *opaque;
	bool in_use;
};

struct event_loop {
	/* Guards `handlers`: add and remove may come from any thread (a device
	 * activated from a vCPU thread); callbacks run without it held. */
	pthread_mutex_t lock;
	int epfd;
	int stop_fd; /* eventfd: written by event_loop_stop */
	struct event_handler handlers[EVENT_LOOP_MAX_HANDLERS];
};

must_check int event_loop_init(struct event_loop *loop);
void event_loop_destroy(struct event_loop *loop);

/* Watches `fd` for `events` (EPOLLIN...). Returns 0, -ENOSPC or -errno. */
must_check int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_fn fn,
			      void *opaque);
/*
 * Stops watching `fd`; safe to call from inside a callback. Called from
 * another thread while the loop is dispatching, the callback may still run
 * once more: owners check their own state under their own lock.
 */
void event_loop_remove(struct event_loop *loop, int fd);

/* Runs callbacks until event_loop_stop. Returns 0 or -errno on epoll failure. */
must_check int event_loop_run(struct event_loop *loop);
/* Makes event_loop_run return; callable from any thread and from signal handlers. */
void event_loop_stop(struct event_loop *loop);

#endif
