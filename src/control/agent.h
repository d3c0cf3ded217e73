/*
 * Cove's guest agent endpoint: runs guest agent commands for the control
 * socket's `agent` request, one at a time, on the VM's event loop.
 *
 * For each command it opens a fresh session on the agent's channel: a
 * socketpair whose one end the channel takes (for virtio-console: attached
 * as the port's stream, so the guest sees the host side open), then the
 * handshake of agent_proto.h (0xFF, guest-sync-delimited, wait for the
 * sentinel and the matching id), then the command, then its one-line
 * answer; then the session is closed. A fresh session per command means
 * nothing of an earlier one (a command sent while the agent was not
 * running, a late answer) can reach the next.
 *
 * Each command has a deadline (its timeout, from the start of its session:
 * the handshake included). Past it the session is closed and the command
 * fails, with a message saying whether the agent never answered the
 * handshake (not running?) or answered it and then not the command.
 * Commands the agent answers only when they fail (guest-shutdown,
 * guest-suspend-*) succeed with {"return":{}} when no answer came within
 * AGENT_NO_REPLY_WAIT_MS of sending them.
 *
 * Requests beyond the one running wait in a queue of AGENT_QUEUE_MAX; more
 * are refused. Everything runs on the event loop's thread.
 */
#ifndef COVE_CONTROL_AGENT_H
#define COVE_CONTROL_AGENT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/event_loop.h"
#include "control/agent_proto.h"

#define AGENT_QUEUE_MAX 16
#define AGENT_DEFAULT_TIMEOUT_MS 10000
#define AGENT_MAX_TIMEOUT_MS (3600 * 1000)
#define AGENT_NO_REPLY_WAIT_MS 1000
#define AGENT_ERR_MAX 256

/*
 * A command's end: `reply` (taken) is the agent's answer object --
 * {"return":...} or {"error":...} -- or NULL with `error` saying why there
 * is none (one line).
 */
typedef void (*agent_done_fn)(void *opaque, json_object *reply, const char *error);

/* The agent's channel, as the endpoint uses it. */
struct agent_channel_ops {
	/*
	 * Hands `fd` (one end of a stream socketpair; taken in every case) to
	 * the channel for a session. Returns 0, or -errno with one line in err
	 * (e.g. -EBUSY: a user client holds the channel).
	 */
	int (*attach)(void *opaque, int fd, char *err, size_t errlen);
	/* Ends the session: the channel drops the fd it was given. */
	void (*detach)(void *opaque);
};

struct agent_request {
	json_object *cmd; /* owned */
	int timeout_ms;
	agent_done_fn done;
	void *opaque;
};

struct agent {
	struct event_loop *loop;
	const struct agent_channel_ops *ops;
	void *chan;
	int timer_fd;
	bool timer_watched;

	struct agent_request queue[AGENT_QUEUE_MAX]; /* queue[head] runs when fd >= 0 */
	unsigned int head, count;

	/* The session of queue[head]. */
	int fd;		      /* our end of the socketpair; -1: no session */
	unsigned int session; /* counts sessions */
	bool synced;
	bool no_reply; /* synced and sent a command that may get no answer */
	int64_t next_id;
	struct agent_scan scan;
};

/* Starts an idle endpoint on `loop` for the channel (ops, chan). Returns 0 or -errno. */
must_check int agent_init(struct agent *a, struct event_loop *loop,
			  const struct agent_channel_ops *ops, void *chan);
/* Fails every queued command ("the VM is shutting down"), ends a session. */
void agent_destroy(struct agent *a);

/*
 * Runs `cmd` (taken; checked with agent_proto_check_command) within
 * timeout_ms (1..AGENT_MAX_TIMEOUT_MS; 0 means AGENT_DEFAULT_TIMEOUT_MS):
 * done(opaque, ...) is called exactly once, maybe before this returns.
 */
void agent_submit(struct agent *a, json_object *cmd, int timeout_ms, agent_done_fn done,
		  void *opaque);

#endif
