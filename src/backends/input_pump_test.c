/*
 * Unit tests for the input pump: back-pressure (nothing read while the
 * device is full, nothing lost), and how the end of input is reported: a
 * hang-up for a closed pipe or socket, a plain end of file for a socket
 * peer that only shut down its writing side.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "backends/input_pump.h"

struct sink {
	char got[1024];
	size_t len;
	size_t room; /* how much the "device" takes now */
	int eofs, waiting;
	enum input_pump_end end;
};

static size_t push(void *opaque, const uint8_t *buf, size_t len)
{
	struct sink *s = opaque;
	size_t n = len < s->room ? len : s->room;

	memcpy(s->got + s->len, buf, n);
	s->len += n;
	s->room -= n;
	return n;
}

static void on_eof(void *arg, enum input_pump_end end)
{
	struct sink *s = arg;

	if (end == INPUT_PUMP_HANGUP_WAITING) {
		s->waiting++;
		return;
	}
	s->eofs++;
	s->end = end;
}

static void run_once(struct event_loop *loop, int timeout_ms)
{
	struct epoll_event evs[8];
	int n = epoll_wait(loop->epfd, evs, 8, timeout_ms);

	for (int i = 0; i < n; i++) {
		struct event_handler *h = evs[i].data.ptr;

		if (h && h->in_use)
			h->fn(h->opaque, evs[i].events);
	}
}

static void test_back_pressure_then_hangup(void **state)
{
	struct event_loop loop;
	struct input_pump p;
	struct sink s = {.room = 3};
	int fds[2];

	(void)state;
	assert_int_equal(event_loop_init(&loop), 0);
	assert_int_equal(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(input_pump_start(&p, &loop, fds[0], push, &s), 0);
	input_pump_on_eof(&p, on_eof, &s);
	assert_int_equal(write(fds[1], "abcdef", 6), 6);
	close(fds[1]);
	run_once(&loop, 1000);
	assert_int_equal(s.len, 3); /* full: the rest is kept */
	assert_true(p.hup_only);    /* watched for a hang-up only */
	run_once(&loop, 50);	    /* the writer is gone: said once, no spinning */
	assert_int_equal(s.waiting, 1);
	assert_false(p.watching);
	run_once(&loop, 50);
	assert_int_equal(s.waiting, 1);
	assert_int_equal(s.eofs, 0);
	s.room = 100;
	input_pump_wake(&p);
	run_once(&loop, 1000); /* the wake: the kept bytes go in */
	assert_int_equal(s.len, 6);
	assert_memory_equal(s.got, "abcdef", 6);
	run_once(&loop, 1000); /* then the end: a hang-up */
	assert_int_equal(s.eofs, 1);
	assert_int_equal(s.end, INPUT_PUMP_HANGUP);
	input_pump_stop(&p);
	close(fds[0]);
	event_loop_destroy(&loop);
}

static void test_half_close_is_plain_eof(void **state)
{
	struct event_loop loop;
	struct input_pump p;
	struct sink s = {.room = 100};
	int sp[2];

	(void)state;
	assert_int_equal(event_loop_init(&loop), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(input_pump_start(&p, &loop, sp[0], push, &s), 0);
	input_pump_on_eof(&p, on_eof, &s);
	assert_int_equal(write(sp[1], "req", 3), 3);
	assert_int_equal(shutdown(sp[1], SHUT_WR), 0);
	for (int i = 0; i < 3 && !s.eofs; i++)
		run_once(&loop, 1000);
	assert_int_equal(s.len, 3);
	assert_int_equal(s.eofs, 1);
	assert_int_equal(s.end, INPUT_PUMP_EOF);
	input_pump_stop(&p);
	close(sp[0]);
	close(sp[1]);
	event_loop_destroy(&loop);
}

/* Without an eof callback (stdin), a full device just stops the reading. */
static void test_full_without_eof_callback(void **state)
{
	struct event_loop loop;
	struct input_pump p;
	struct sink s = {.room = 1};
	int fds[2];

	(void)state;
	assert_int_equal(event_loop_init(&loop), 0);
	assert_int_equal(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(input_pump_start(&p, &loop, fds[0], push, &s), 0);
	assert_int_equal(write(fds[1], "ab", 2), 2);
	close(fds[1]);
	run_once(&loop, 1000);
	assert_false(p.watching);
	run_once(&loop, 50);
	assert_int_equal(s.len, 1);
	input_pump_stop(&p);
	close(fds[0]);
	event_loop_destroy(&loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_back_pressure_then_hangup),
	    cmocka_unit_test(test_half_close_is_plain_eof),
	    cmocka_unit_test(test_full_without_eof_callback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
