/* Back-pressured host input for guest devices; see input_pump.h. */
#include "backends/input_pump.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"

static void unwatch(struct input_pump *p)
{
	if (p->watching)
		event_loop_remove(p->loop, p->fd);
	p->watching = p->hup_only = false;
}

/* Hands the buffered bytes to the device; true when all were taken. */
static bool flush(struct input_pump *p)
{
	p->off += p->push(p->sink, p->buf + p->off, p->len - p->off);
	if (p->off < p->len)
		return false;
	p->off = p->len = 0;
	return true;
}

static void on_readable(void *opaque, uint32_t events);

static void rewatch(struct input_pump *p)
{
	if (p->watching && !p->hup_only)
		return;
	unwatch(p);
	if (event_loop_add(p->loop, p->fd, EPOLLIN, on_readable, p) == 0)
		p->watching = true;
}

/*
 * The device is full: stop reading. With an eof callback the fd stays in
 * the loop with no events asked, so that a hang-up (always reported) is
 * still seen.
 */
static void pause_reading(struct input_pump *p)
{
	unwatch(p);
	if (p->eof && event_loop_add(p->loop, p->fd, 0, on_readable, p) == 0)
		p->watching = p->hup_only = true;
}

static void on_readable(void *opaque, uint32_t events)
{
	struct input_pump *p = opaque;
	ssize_t n;

	if (p->hup_only) { /* the peer hung up while the device was full */
		unwatch(p);	 /* level-triggered: no more until woken */
		p->eof(p->eof_arg, INPUT_PUMP_HANGUP_WAITING);
		return;
	}
	n = read(p->fd, p->buf, sizeof(p->buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) { /* end of input: the guest just gets no more */
		unwatch(p);
		if (p->eof) /* last: it may stop the pump */
			p->eof(p->eof_arg, n < 0 || (events & (EPOLLHUP | EPOLLERR))
						   ? INPUT_PUMP_HANGUP
						   : INPUT_PUMP_EOF);
		return;
	}
	p->off = 0;
	p->len = (size_t)n;
	if (!flush(p))
		pause_reading(p); /* full: wait for input_pump_wake */
}

static void on_wake(void *opaque, uint32_t events)
{
	struct input_pump *p = opaque;
	uint64_t count;

	(void)events;
	if (read(p->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return;
	if (p->len > p->off && flush(p))
		rewatch(p);
}

void input_pump_wake(void *pump)
{
	struct input_pump *p = pump;
	uint64_t one = 1;

	if (write(p->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("input: cannot wake the pump: %s", strerror(errno));
}

int input_pump_start(struct input_pump *p, struct event_loop *loop, int fd,
		     input_pump_push_fn push, void *sink)
{
	int err;

	*p = (struct input_pump){ .loop = loop, .fd = fd, .push = push, .sink = sink };
	p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->wake_fd < 0)
		return -errno;
	err = event_loop_add(loop, p->wake_fd, EPOLLIN, on_wake, p);
	if (err) {
		close(p->wake_fd);
		return err;
	}
	rewatch(p);
	if (!p->watching)
		log_debug("input fd %d cannot be polled: the guest gets no input", fd);
	return 0;
}

void input_pump_on_eof(struct input_pump *p, input_pump_eof_fn fn, void *arg)
{
	p->eof = fn;
	p->eof_arg = arg;
}

void input_pump_stop(struct input_pump *p)
{
	if (p->watching)
		event_loop_remove(p->loop, p->fd);
	event_loop_remove(p->loop, p->wake_fd);
	close(p->wake_fd);
}
