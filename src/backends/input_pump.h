/*
 * Moves bytes from a host fd (stdin) into a guest device that takes them at
 * its own pace (a UART's RX FIFO). When the device is full the pump stops
 * reading the fd and keeps what it read; the device calls
 * input_pump_wake() when it has room, and the pump resumes. Nothing is
 * dropped, and the pump never blocks the event loop.
 *
 * Runs on the event-loop thread; input_pump_wake() may be called from any
 * thread (it writes an eventfd).
 */
#ifndef COVE_BACKENDS_INPUT_PUMP_H
#define COVE_BACKENDS_INPUT_PUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/event_loop.h"

/* Offers `len` bytes to the device; returns how many it took (0..len). */
typedef size_t (*input_pump_push_fn)(void *sink, const uint8_t *buf, size_t len);
/* How the input ended, for input_pump_eof_fn. */
enum input_pump_end {
	INPUT_PUMP_EOF,	   /* end of file: a socket peer shut down its writing side */
	INPUT_PUMP_HANGUP, /* EPOLLHUP/EPOLLERR or a read error: the peer is gone */
	/*
	 * The peer hung up while the device was full: bytes still wait for
	 * it. The pump reads on when woken, and reports the end again.
	 */
	INPUT_PUMP_HANGUP_WAITING,
};

/* The input ended; for INPUT_PUMP_EOF/HANGUP every byte read was taken first. */
typedef void (*input_pump_eof_fn)(void *arg, enum input_pump_end end);

struct input_pump {
	struct event_loop *loop;
	int fd;
	int wake_fd;
	input_pump_push_fn push;
	void *sink;
	uint8_t buf[256];
	size_t len, off; /* buf[off..len) is read but not yet taken */
	bool watching;	 /* fd is in the epoll set */
	bool hup_only;	 /* ... with no events asked: paused, watching for a hang-up */
	input_pump_eof_fn eof; /* NULL: the end of input is silent */
	void *eof_arg;
};

/*
 * Starts pumping `fd` into `sink`. An fd that cannot be polled (a regular
 * file, /dev/null) gives the guest no input and is not an error. Returns 0
 * or -errno.
 */
must_check int input_pump_start(struct input_pump *p, struct event_loop *loop, int fd,
				input_pump_push_fn push, void *sink);
void input_pump_stop(struct input_pump *p);
/*
 * Calls fn(arg, end) on the loop thread when the input ends; set after
 * input_pump_start(), before the loop serves the fd. fn may stop the pump.
 * With it, a full device no longer hides a hang-up: the fd stays watched
 * (for EPOLLHUP only) while the pump waits.
 */
void input_pump_on_eof(struct input_pump *p, input_pump_eof_fn fn, void *arg);
/* The device has room again. */
void input_pump_wake(void *pump);

#endif
