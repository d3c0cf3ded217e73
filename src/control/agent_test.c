/*
 * Unit tests for the guest agent's host side: the scanner (sync sentinel,
 * stale answers, split and hostile input) and the endpoint's sessions,
 * with the test playing qemu-ga on the far end of each session's socket.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/agent.h"
#include "control/agent_proto.h"
#include "control/control_proto.h"

/* ---- the scanner ---- */

static int feed_all(struct agent_scan *s, const char *buf, size_t len, int *events)
{
	int n = 0, r = AGENT_SCAN_MORE;

	while (len) {
		size_t used;

		r = agent_scan_feed(s, buf, len, &used);
		assert_true(used <= len);
		if (r < 0)
			return r;
		if (r != AGENT_SCAN_MORE)
			events[n++] = r;
		buf += used;
		len -= used;
	}
	events[n] = -1;
	return r;
}

static void test_scan_sync_then_answer(void **state)
{
	static const char in[] = "{\"return\":7}\n"	    /* stale: no sentinel */
				 "junk\xff{\"return\":6}\n" /* a sentinel, another id */
				 "\xff{\"error\":{\"class\":\"GenericError\",\"desc\":\"x\"}}\n"
				 "\xff {\"return\": 42}\r\n" /* ours */
				 "\n  \n"		     /* blank lines */
				 "{\"return\":{\"pid\":12}}\n"
				 "{\"return\":99}\n"; /* after the answer: ignored */
	struct agent_scan s;
	int events[8];
	json_object *pid, *ret;

	(void)state;
	agent_scan_init(&s, 42, 1024);
	assert_int_equal(feed_all(&s, in, sizeof(in) - 1, events), AGENT_SCAN_MORE);
	assert_int_equal(events[0], AGENT_SCAN_SYNCED);
	assert_int_equal(events[1], AGENT_SCAN_ANSWER);
	assert_int_equal(events[2], -1);
	assert_int_equal(s.state, AGENT_SCAN_DONE);
	assert_true(json_object_object_get_ex(s.reply, "return", &ret));
	assert_true(json_object_object_get_ex(ret, "pid", &pid));
	assert_int_equal(json_object_get_int(pid), 12);
	agent_scan_clear(&s);
}

/* Byte by byte: the same result whatever the split. */
static void test_scan_split_anywhere(void **state)
{
	static const char in[] = "x\xff{\"return\":5}\n\xff{\"return\":{}}\n";
	struct agent_scan s;
	int synced = 0, answered = 0;

	(void)state;
	agent_scan_init(&s, 5, 1024);
	for (size_t i = 0; i < sizeof(in) - 1; i++) {
		size_t used;
		int r = agent_scan_feed(&s, in + i, 1, &used);

		assert_int_equal(used, 1);
		synced += r == AGENT_SCAN_SYNCED;
		answered += r == AGENT_SCAN_ANSWER;
	}
	/* The client's own guest-sync-delimited: its answer's 0xFF is dropped. */
	assert_int_equal(synced, 1);
	assert_int_equal(answered, 1);
	agent_scan_clear(&s);
}

#define FEED(lit) feed_all(&s, lit, sizeof(lit) - 1, events)

static void test_scan_hostile(void **state)
{
	struct agent_scan s;
	int events[8];
	char *big;

	(void)state;
	/* Not a JSON object: an error. */
	agent_scan_init(&s, 1, 1024);
	assert_int_equal(FEED("\xff{\"return\":1}\nnot json\n"), -EBADMSG);
	agent_scan_clear(&s);
	agent_scan_init(&s, 1, 1024);
	assert_int_equal(FEED("\xff{\"return\":1}\n[1,2]\n"), -EBADMSG);
	agent_scan_clear(&s);
	agent_scan_init(&s, 1, 1024);
	assert_int_equal(FEED("\xff{\"return\":1}\n{} {}\n"), -EBADMSG);
	agent_scan_clear(&s);
	agent_scan_init(&s, 1, 1024);
	assert_int_equal(FEED("\xff{\"return\":1}\n{\"a\":\"\0\"}\n"), -EBADMSG);
	agent_scan_clear(&s);
	/* An answer over the maximum: an error, not unbounded memory. */
	big = malloc(4096);
	memset(big, ' ', 4096);
	agent_scan_init(&s, 1, 1024);
	assert_int_equal(FEED("\xff{\"return\":1}\n"), AGENT_SCAN_SYNCED);
	assert_int_equal(feed_all(&s, big, 4096, events), -EMSGSIZE);
	agent_scan_clear(&s);
	/* A sync line that never ends is dropped; the scan goes on. */
	agent_scan_init(&s, 1, 1024);
	big[0] = (char)0xff;
	assert_int_equal(feed_all(&s, big, 4096, events), AGENT_SCAN_MORE);
	assert_int_equal(FEED("\n\xff{\"return\":1}\n"), AGENT_SCAN_SYNCED);
	agent_scan_clear(&s);
	/* A sentinel in the middle of a sync line starts it again. */
	agent_scan_init(&s, 3, 1024);
	assert_int_equal(FEED("\xff{\"ret\xff{\"return\":3}\n"), AGENT_SCAN_SYNCED);
	agent_scan_clear(&s);
	free(big);
}

static void test_proto_helpers(void **state)
{
	size_t len;
	char *req = agent_proto_sync_request(123, &len), err[128];
	json_object *cmd;

	(void)state;
	assert_non_null(req);
	assert_int_equal((unsigned char)req[0], 0xff);
	assert_string_equal(req + 1,
			    "{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":123}}\n");
	assert_int_equal(len, strlen(req + 1) + 1);
	free(req);
	cmd = json_tokener_parse("{\"execute\":\"guest-ping\"}");
	assert_int_equal(agent_proto_check_command(cmd, err, sizeof(err)), 0);
	assert_string_equal(agent_proto_command_name(cmd), "guest-ping");
	json_object_put(cmd);
	cmd = json_tokener_parse("{\"execute\":1}");
	assert_int_equal(agent_proto_check_command(cmd, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "execute"));
	json_object_put(cmd);
	cmd = json_tokener_parse("[]");
	assert_int_equal(agent_proto_check_command(cmd, err, sizeof(err)), -EINVAL);
	json_object_put(cmd);
	assert_true(agent_proto_no_reply("guest-shutdown"));
	assert_true(agent_proto_no_reply("guest-suspend-ram"));
	assert_false(agent_proto_no_reply("guest-ping"));
	assert_false(agent_proto_no_reply(NULL));
}

/* The control request's agent arguments: message, and timeout in seconds. */
static void test_control_agent_arguments(void **state)
{
	static const char *const bad[] = {
	    "{\"execute\":\"agent\",\"arguments\":{\"message\":{},\"timeout\":-1}}",
	    "{\"execute\":\"agent\",\"arguments\":{\"message\":{},\"timeout\":3601}}",
	    "{\"execute\":\"agent\",\"arguments\":{\"message\":{},\"timeout\":\"5\"}}",
	    "{\"execute\":\"agent\",\"arguments\":{\"message\":{},\"wait\":1}}",
	    "{\"execute\":\"agent\",\"arguments\":{\"message\":\"guest-ping\"}}",
	};
	const char *ok = "{\"execute\":\"agent\",\"arguments\":{\"message\":"
			 "{\"execute\":\"guest-ping\"},\"timeout\":2.5}}";
	struct control_request req;
	struct control_error err;

	(void)state;
	assert_int_equal(control_proto_parse_request(ok, strlen(ok), &req, &err), 0);
	assert_int_equal(req.cmd, CONTROL_CMD_AGENT);
	assert_int_equal(req.agent_timeout_ms, 2500);
	assert_string_equal(agent_proto_command_name(req.agent_message), "guest-ping");
	control_request_clear(&req);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(control_proto_parse_request(bad[i], strlen(bad[i]), &req, &err),
				 -EINVAL);
		control_request_clear(&req);
	}
}

/* ---- the endpoint ---- */

struct fx {
	struct event_loop loop;
	struct agent agent;
	int guest_fd;	  /* the channel's end of the current session */
	int attach_error; /* what attach returns next */
	unsigned int attaches, detaches;
	unsigned int done;
	json_object *reply;
	char error[AGENT_ERR_MAX];
};

static int fake_attach(void *opaque, int fd, char *err, size_t errlen)
{
	struct fx *f = opaque;

	if (f->attach_error) {
		close(fd);
		snprintf(err, errlen, "the channel is busy");
		return f->attach_error;
	}
	assert_int_equal(f->guest_fd, -1); /* one session at a time */
	f->guest_fd = fd;
	f->attaches++;
	return 0;
}

static void fake_detach(void *opaque)
{
	struct fx *f = opaque;

	assert_true(f->guest_fd >= 0);
	close(f->guest_fd);
	f->guest_fd = -1;
	f->detaches++;
}

static const struct agent_channel_ops fake_ops = {fake_attach, fake_detach};

static void on_done(void *opaque, json_object *reply, const char *error)
{
	struct fx *f = opaque;

	f->done++;
	json_object_put(f->reply);
	f->reply = reply;
	snprintf(f->error, sizeof(f->error), "%s", error ? error : "");
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || event_loop_init(&f->loop))
		return -1;
	f->guest_fd = -1;
	if (agent_init(&f->agent, &f->loop, &fake_ops, f))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	agent_destroy(&f->agent);
	json_object_put(f->reply);
	event_loop_destroy(&f->loop);
	free(f);
	return 0;
}

static void run_once(struct fx *f, int timeout_ms)
{
	struct epoll_event evs[8];
	int n = epoll_wait(f->loop.epfd, evs, 8, timeout_ms);

	for (int i = 0; i < n; i++) {
		struct event_handler *h = evs[i].data.ptr;

		if (h && h->in_use)
			h->fn(h->opaque, evs[i].events);
	}
}

static void run_until_done(struct fx *f, unsigned int done)
{
	for (int i = 0; i < 100 && f->done < done; i++)
		run_once(f, 100);
	assert_int_equal(f->done, done);
}

static void submit(struct fx *f, const char *json, int timeout_ms)
{
	json_object *cmd = json_tokener_parse(json);

	assert_non_null(cmd);
	agent_submit(&f->agent, cmd, timeout_ms, on_done, f);
}

/* Reads one line the host sent to the guest (its 0xFF kept). */
static void guest_read_line(struct fx *f, char *line, size_t cap)
{
	size_t n = 0;

	while (n + 1 < cap) {
		ssize_t r = recv(f->guest_fd, line + n, 1, 0);

		assert_int_equal(r, 1);
		if (line[n++] == '\n')
			break;
	}
	line[n] = '\0';
}

static void guest_send(struct fx *f, const char *s)
{
	assert_int_equal(send(f->guest_fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Plays qemu-ga's handshake: reads the sync request, answers it (with noise first). */
static void guest_sync(struct fx *f)
{
	char line[256], answer[128];
	long long id;

	guest_read_line(f, line, sizeof(line));
	assert_int_equal((unsigned char)line[0], 0xff);
	assert_int_equal(
	    sscanf(line + 1, "{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":%lld}}",
		   &id),
	    1);
	snprintf(answer, sizeof(answer), "{\"return\":%lld}\n\xff{\"return\":%lld}\n", id - 1, id);
	guest_send(f, answer);
}

static void test_command_answered(void **state)
{
	struct fx *f = *state;
	char line[256];

	submit(f, "{\"execute\":\"guest-info\",\"id\":\"x\"}", 2000);
	assert_int_equal(f->attaches, 1);
	guest_sync(f);
	run_once(f, 1000);
	guest_read_line(f, line, sizeof(line));
	assert_string_equal(line, "{\"execute\":\"guest-info\",\"id\":\"x\"}\n");
	guest_send(f, "{\"return\":{\"version\":\"7.2.0\"},\"id\":\"x\"}\n");
	run_until_done(f, 1);
	assert_string_equal(f->error, "");
	assert_string_equal(json_object_to_json_string_ext(f->reply, JSON_C_TO_STRING_PLAIN),
			    "{\"return\":{\"version\":\"7.2.0\"},\"id\":\"x\"}");
	assert_int_equal(f->detaches, 1);
	assert_int_equal(f->agent.fd, -1);
}

static void test_no_agent_times_out(void **state)
{
	struct fx *f = *state;

	submit(f, "{\"execute\":\"guest-ping\"}", 200);
	run_until_done(f, 1);
	assert_null(f->reply);
	assert_non_null(strstr(f->error, "did not answer within 0.2 s"));
	assert_non_null(strstr(f->error, "qemu-ga running"));
	assert_int_equal(f->detaches, 1);
}

static void test_synced_then_silent(void **state)
{
	struct fx *f = *state;

	submit(f, "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":1}}", 300);
	guest_sync(f);
	run_until_done(f, 1);
	assert_non_null(strstr(f->error, "did not answer 'guest-exec-status' within 0.3 s"));
}

static void test_queue_and_busy_channel(void **state)
{
	struct fx *f = *state;
	char line[256];

	f->attach_error = -EBUSY;
	submit(f, "{\"execute\":\"guest-ping\"}", 1000);
	assert_int_equal(f->done, 1);
	assert_string_equal(f->error, "the channel is busy");
	f->attach_error = 0;
	/* Two commands: the second's session opens once the first is answered. */
	submit(f, "{\"execute\":\"guest-ping\"}", 1000);
	submit(f, "{\"execute\":\"guest-info\"}", 1000);
	assert_int_equal(f->attaches, 1);
	guest_sync(f);
	run_once(f, 1000);
	guest_read_line(f, line, sizeof(line));
	guest_send(f, "{\"return\":{}}\n");
	run_until_done(f, 2);
	assert_int_equal(f->attaches, 2);
	assert_int_equal(f->detaches, 1);
	guest_sync(f);
	run_once(f, 1000);
	guest_read_line(f, line, sizeof(line));
	assert_string_equal(line, "{\"execute\":\"guest-info\"}\n");
	guest_send(f, "{\"error\":{\"class\":\"GenericError\",\"desc\":\"no\"}}\n");
	run_until_done(f, 3);
	assert_non_null(json_object_object_get(f->reply, "error"));
	/* A command without "execute" never reaches the guest. */
	submit(f, "{\"exec\":\"guest-ping\"}", 1000);
	assert_int_equal(f->done, 4);
	assert_non_null(strstr(f->error, "execute"));
	assert_int_equal(f->attaches, 2);
}

static void test_bad_answer_and_hangup(void **state)
{
	struct fx *f = *state;
	char line[256];

	submit(f, "{\"execute\":\"guest-ping\"}", 2000);
	guest_sync(f);
	run_once(f, 1000);
	guest_read_line(f, line, sizeof(line));
	guest_send(f, "Traceback (most recent call last)\n");
	run_until_done(f, 1);
	assert_non_null(strstr(f->error, "not a JSON object"));
	/* The channel going away mid-session. */
	submit(f, "{\"execute\":\"guest-ping\"}", 2000);
	shutdown(f->guest_fd, SHUT_RDWR);
	run_until_done(f, 2);
	assert_non_null(strstr(f->error, "channel closed"));
}

static void test_no_reply_command(void **state)
{
	struct fx *f = *state;
	char line[256];

	submit(f, "{\"execute\":\"guest-shutdown\"}", 5000);
	guest_sync(f);
	run_once(f, 1000);
	guest_read_line(f, line, sizeof(line));
	run_until_done(f, 1); /* about AGENT_NO_REPLY_WAIT_MS, not 5 s */
	assert_string_equal(json_object_to_json_string_ext(f->reply, JSON_C_TO_STRING_PLAIN),
			    "{\"return\":{}}");
}

static void test_destroy_answers_pending(void **state)
{
	struct fx *f = *state;

	submit(f, "{\"execute\":\"guest-ping\"}", 5000);
	submit(f, "{\"execute\":\"guest-ping\"}", 5000);
	agent_destroy(&f->agent);
	assert_int_equal(f->done, 2);
	assert_string_equal(f->error, "the VM is shutting down");
	assert_int_equal(f->detaches, 1);
	assert_int_equal(agent_init(&f->agent, &f->loop, &fake_ops, f), 0); /* for teardown */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scan_sync_then_answer),
	    cmocka_unit_test(test_scan_split_anywhere),
	    cmocka_unit_test(test_scan_hostile),
	    cmocka_unit_test(test_proto_helpers),
	    cmocka_unit_test(test_control_agent_arguments),
	    cmocka_unit_test_setup_teardown(test_command_answered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_agent_times_out, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_synced_then_silent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queue_and_busy_channel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_answer_and_hangup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_reply_command, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_destroy_answers_pending, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
