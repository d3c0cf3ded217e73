/* Cove's guest agent endpoint: one session per command; see agent.h. */
#include "control/agent.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

#define READ_CHUNK 65536

static void start_next(struct agent *a);

static void arm_timer(struct agent *a, int ms)
{
	struct itimerspec t = {
	    .it_value = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L}};

	if (timerfd_settime(a->timer_fd, 0, &t, NULL) < 0)
		log_warn("agent: cannot arm its timer: %s", strerror(errno));
}

/* Lets go of the channel of the current session, if any. */
static void close_session(struct agent *a)
{
	if (a->fd >= 0) {
		event_loop_remove(a->loop, a->fd);
		close(a->fd);
		a->fd = -1;
		a->ops->detach(a->chan);
	}
	agent_scan_clear(&a->scan);
}

/* Takes queue[head] off the queue and answers it. */
static void answer_head(struct agent *a, json_object *reply, const char *error)
{
	struct agent_request r = a->queue[a->head];

	a->head = (a->head + 1) % AGENT_QUEUE_MAX;
	a->count--;
	json_object_put(r.cmd);
	r.done(r.opaque, reply, error);
}

/* Ends the session of queue[head] and answers it; then the next one starts. */
static void finish(struct agent *a, json_object *reply, const char *error)
{
	arm_timer(a, 0);
	close_session(a);
	answer_head(a, reply, error);
	start_next(a);
}

static void fail(struct agent *a, const char *fmt, ...) printf_like(2, 3);
static void fail(struct agent *a, const char *fmt, ...)
{
	char msg[AGENT_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	finish(a, NULL, msg);
}

/* Writes all of buf to our end now: a fresh socketpair always has the room. */
static int write_all(struct agent *a, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(a->fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static const char *cmd_name(struct agent *a)
{
	return agent_proto_command_name(a->queue[a->head].cmd);
}

/* The handshake is done: send the command itself. */
static void send_command(struct agent *a)
{
	struct agent_request *r = &a->queue[a->head];
	const char *text = json_object_to_json_string_ext(
	    r->cmd, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	int err = text ? write_all(a, text, strlen(text)) : -ENOMEM;

	if (!err)
		err = write_all(a, "\n", 1);
	if (err) {
		fail(a, "cannot send '%s' to the guest agent: %s", cmd_name(a), strerror(-err));
		return;
	}
	a->synced = true;
	if (agent_proto_no_reply(cmd_name(a))) {
		/* An answer now means it failed; none in a while means it worked. */
		struct itimerspec left;

		a->no_reply = true;
		if (timerfd_gettime(a->timer_fd, &left) == 0 &&
		    (left.it_value.tv_sec * 1000 + left.it_value.tv_nsec / 1000000) >
			AGENT_NO_REPLY_WAIT_MS)
			arm_timer(a, AGENT_NO_REPLY_WAIT_MS);
	}
}

/* Guest-controlled: what the agent sent, through the scanner. */
static void consume(struct agent *a, const char *buf, size_t len)
{
	unsigned int session = a->session;

	/* Once answered, the rest is dropped (a next session may have begun). */
	while (len && a->fd >= 0 && a->session == session) {
		size_t used;
		int r = agent_scan_feed(&a->scan, buf, len, &used);

		buf += used;
		len -= used;
		if (r == AGENT_SCAN_SYNCED) {
			send_command(a);
		} else if (r == AGENT_SCAN_ANSWER) {
			json_object *reply = a->scan.reply;

			a->scan.reply = NULL;
			finish(a, reply, NULL);
		} else if (r < 0) {
			fail(a, "the guest agent's answer to '%s' %s", cmd_name(a),
			     r == -EMSGSIZE  ? "is too long"
			     : r == -EBADMSG ? "is not a JSON object"
					     : strerror(-r));
		}
	}
}

static void on_readable(void *opaque, uint32_t events)
{
	struct agent *a = opaque;
	char *buf;
	ssize_t n;

	(void)events;
	if (a->fd < 0)
		return;
	buf = malloc(READ_CHUNK);
	if (!buf) {
		fail(a, "out of memory");
		return;
	}
	n = recv(a->fd, buf, READ_CHUNK, 0);
	if (n > 0)
		consume(a, buf, (size_t)n);
	else if (n == 0 || (errno != EAGAIN && errno != EINTR))
		fail(a, "the guest agent channel closed");
	free(buf);
}

static void on_timer(void *opaque, uint32_t events)
{
	struct agent *a = opaque;
	uint64_t n;
	double secs;

	(void)events;
	if (read(a->timer_fd, &n, sizeof(n)) < 0 || a->fd < 0)
		return; /* EAGAIN: disarmed meanwhile */
	secs = a->queue[a->head].timeout_ms / 1000.0;
	if (a->no_reply) { /* no news: it worked */
		json_object *ok = json_object_new_object();

		json_object_object_add(ok, "return", json_object_new_object());
		finish(a, ok, NULL);
	} else if (!a->synced)
		fail(a,
		     "the guest agent did not answer within %g s (is qemu-ga running in the "
		     "guest?)",
		     secs);
	else
		fail(a, "the guest agent did not answer '%s' within %g s", cmd_name(a), secs);
}

/* Opens the session of queue[head], or answers it with the reason it cannot. */
static void open_session(struct agent *a)
{
	struct agent_request *r = &a->queue[a->head];
	char err[AGENT_ERR_MAX];
	size_t len = 0;
	char *sync;
	int sp[2], ret;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) < 0) {
		fail(a, "cannot open a session: %s", strerror(errno));
		return;
	}
	ret = a->ops->attach(a->chan, sp[1], err, sizeof(err));
	if (ret) {
		close(sp[0]);
		fail(a, "%s", err);
		return;
	}
	a->fd = sp[0];
	a->session++;
	a->synced = a->no_reply = false;
	agent_scan_init(&a->scan, a->next_id, AGENT_REPLY_MAX);
	ret = event_loop_add(a->loop, a->fd, EPOLLIN, on_readable, a);
	if (ret) {
		close(a->fd);
		a->fd = -1;
		a->ops->detach(a->chan);
		fail(a, "cannot watch the session: %s", strerror(-ret));
		return;
	}
	arm_timer(a, r->timeout_ms);
	sync = agent_proto_sync_request(a->next_id++, &len);
	ret = sync ? write_all(a, sync, len) : -ENOMEM;
	free(sync);
	if (ret)
		fail(a, "cannot write to the guest agent channel: %s", strerror(-ret));
}

static void start_next(struct agent *a)
{
	/*
	 * A session that fails at once answers its command and comes back here
	 * for the next (through finish): at most AGENT_QUEUE_MAX deep.
	 */
	if (a->fd < 0 && a->count > 0)
		open_session(a);
}

void agent_submit(struct agent *a, json_object *cmd, int timeout_ms, agent_done_fn done,
		  void *opaque)
{
	char err[AGENT_ERR_MAX];

	if (agent_proto_check_command(cmd, err, sizeof(err))) {
		json_object_put(cmd);
		done(opaque, NULL, err);
		return;
	}
	if (a->count == AGENT_QUEUE_MAX) {
		json_object_put(cmd);
		done(opaque, NULL, "too many guest agent commands waiting; try again");
		return;
	}
	if (timeout_ms <= 0)
		timeout_ms = AGENT_DEFAULT_TIMEOUT_MS;
	a->queue[(a->head + a->count) % AGENT_QUEUE_MAX] =
	    (struct agent_request){.cmd = cmd,
				   .timeout_ms = MIN(timeout_ms, AGENT_MAX_TIMEOUT_MS),
				   .done = done,
				   .opaque = opaque};
	a->count++;
	start_next(a);
}

int agent_init(struct agent *a, struct event_loop *loop, const struct agent_channel_ops *ops,
	       void *chan)
{
	struct timespec now;
	int err;

	clock_gettime(CLOCK_REALTIME, &now);
	*a = (struct agent){.loop = loop, .ops = ops, .chan = chan, .fd = -1};
	/* Ids differ between runs, so that a stale answer never matches by chance. */
	a->next_id = ((int64_t)getpid() << 20) ^ (now.tv_nsec & 0xfffff) ^ (now.tv_sec << 8);
	a->next_id &= 0x3fffffffffffLL;
	a->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (a->timer_fd < 0)
		return -errno;
	err = event_loop_add(loop, a->timer_fd, EPOLLIN, on_timer, a);
	if (err) {
		close(a->timer_fd);
		return err;
	}
	a->timer_watched = true;
	return 0;
}

void agent_destroy(struct agent *a)
{
	/* finish() would start the next session: empty the queue first. */
	while (a->count > 0)
		answer_head(a, NULL, "the VM is shutting down");
	close_session(a);
	if (a->timer_watched)
		event_loop_remove(a->loop, a->timer_fd);
	close(a->timer_fd);
}
