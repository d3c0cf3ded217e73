/*
 * Unit tests for the control socket server and client, over real Unix
 * sockets in a temporary directory: the socket file's rules (directory,
 * length, in use, not a socket, stale, removal), the greeting, ids,
 * pipelined and malformed requests, oversized ones, in-order answers with
 * a deferred one, half-closed peers, the connection limit, events, and a
 * peer that reads nothing. The event loop runs on its own thread, as in a
 * VM; whatever must happen on that thread is posted to it (on_loop()).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/control_client.h"
#include "control/control_server.h"
#include "control/control_socket.h"

static char dir[] = "/tmp/cove-ctl-XXXXXX";
static char path[256];
static struct event_loop loop;
static pthread_t loop_thread;
static struct control_server srv;
static bool srv_open;

/* The fake VM: status answers at once; balloon-stats waits for the test. */
static struct control_call *deferred;
static unsigned int requests;

static void on_request(void *opaque, struct control_call *call, const struct control_request *req)
{
	(void)opaque;
	json_object *ret;

	requests++;
	if (req->cmd == CONTROL_CMD_BALLOON_STATS) {
		deferred = call;
		return;
	}
	if (req->cmd == CONTROL_CMD_POWERDOWN) {
		control_call_error(call, CONTROL_ERR_DEVICE_NOT_FOUND, "no button");
		return;
	}
	ret = json_object_new_object();
	json_object_object_add(ret, "cmd", json_object_new_string(control_proto_cmd_name(req->cmd)));
	control_call_return(call, ret);
}

static const struct control_server_ops ops = { .request = on_request };

/* ---- running things on the loop's thread ---- */

static int post_fd;
static sem_t done;
static void (*posted)(void);

static void on_post(void *opaque, uint32_t events)
{
	uint64_t n;

	(void)opaque, (void)events;
	assert_int_equal(read(post_fd, &n, sizeof(n)), sizeof(n));
	posted();
	sem_post(&done);
}

static void on_loop(void (*fn)(void))
{
	uint64_t one = 1;

	posted = fn;
	assert_int_equal(write(post_fd, &one, sizeof(one)), sizeof(one));
	sem_wait(&done);
}

static void *run_loop(void *arg)
{
	(void)arg;
	assert_int_equal(event_loop_run(&loop), 0);
	return NULL;
}

static void do_open(void)
{
	assert_int_equal(control_server_open(&srv, dir, &loop, &ops, NULL, "vm1"), 0);
	srv_open = true;
}

static void do_close(void)
{
	if (srv_open)
		control_server_close(&srv, "SHUTDOWN", NULL);
	srv_open = false;
}

static void do_answer_deferred(void)
{
	json_object *ret = json_object_new_object();

	json_object_object_add(ret, "late", json_object_new_boolean(true));
	assert_non_null(deferred);
	control_call_return(deferred, ret);
	deferred = NULL;
}

static void do_event(void)
{
	control_server_event(&srv, "TICK", NULL);
}

static int setup(void **state)
{
	(void)state;
	alarm(30);
	strcpy(dir, "/tmp/cove-ctl-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(event_loop_init(&loop), 0);
	post_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(post_fd >= 0);
	assert_int_equal(event_loop_add(&loop, post_fd, EPOLLIN, on_post, NULL), 0);
	sem_init(&done, 0, 0);
	assert_int_equal(pthread_create(&loop_thread, NULL, run_loop, NULL), 0);
	deferred = NULL;
	requests = 0;
	on_loop(do_open);
	snprintf(path, sizeof(path), "%s/cove-%d.sock", dir, (int)getpid());
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	on_loop(do_close);
	event_loop_stop(&loop);
	pthread_join(loop_thread, NULL);
	event_loop_remove(&loop, post_fd);
	close(post_fd);
	event_loop_destroy(&loop);
	sem_destroy(&done);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* ---- a raw client ---- */

static int raw_connect(void)
{
	char err[128];
	int fd = control_socket_connect(path, err, sizeof(err));

	if (fd < 0)
		fail_msg("connect %s: %s", path, err);
	return fd;
}

static void send_str(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Reads one line (without '\n') into buf; false at EOF. Fails after 5 s. */
static bool read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char ch;

		if (poll(&p, 1, 5000) != 1)
			fail_msg("no line within 5 s (got '%.*s')", (int)n, buf);
		if (read(fd, &ch, 1) != 1)
			return false;
		if (ch == '\n')
			break;
		assert_true(n + 1 < cap);
		buf[n++] = ch;
	}
	buf[n] = '\0';
	return true;
}

static void expect_line(int fd, const char *want)
{
	char line[4096];

	assert_true(read_line(fd, line, sizeof(line)));
	if (!strstr(line, want))
		fail_msg("got '%s', want '%s' in it", line, want);
}

static int connect_greeted(void)
{
	int fd = raw_connect();

	expect_line(fd, "{\"cove\":{\"protocol\":1,");
	return fd;
}

/* ---- tests ---- */

static void test_socket_file(void **state)
{
	struct stat st;
	char out[128], longer[128], err[160];

	(void)state;
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	/* The resolution rule, on its own. */
	assert_int_equal(control_server_resolve_path("/tmp/", 42, out, sizeof(out), err, sizeof(err)),
			 0);
	assert_string_equal(out, "/tmp/cove-42.sock");
	assert_int_equal(control_server_resolve_path("/tmp/a.sock", 42, out, sizeof(out), err,
						     sizeof(err)),
			 0);
	assert_string_equal(out, "/tmp/a.sock");
	assert_int_equal(control_server_resolve_path("", 1, out, sizeof(out), err, sizeof(err)),
			 -EINVAL);
	memset(out, 'a', 120);
	out[0] = '/';
	out[120] = '\0';
	assert_int_equal(control_server_resolve_path(out, 1, longer, sizeof(longer), err,
						     sizeof(err)),
			 -ENAMETOOLONG);
	assert_non_null(strstr(err, "at most 107 bytes"));
	assert_true(control_server_peer_allowed(1000, 1000));
	assert_true(control_server_peer_allowed(0, 1000));
	assert_false(control_server_peer_allowed(1001, 1000));
}

static void test_in_use_not_socket_stale(void **state)
{
	struct control_server other;
	char p2[300];
	int fd;
	dev_t dev;
	ino_t ino;
	char err[160];

	(void)state;
	/* A live socket is never taken over. */
	assert_int_equal(control_server_open(&other, path, &loop, &ops, NULL, NULL), -EADDRINUSE);
	/* Nor is a file that is not a socket. */
	snprintf(p2, sizeof(p2), "%s/file", dir);
	fd = open(p2, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(control_socket_listen(p2, &dev, &ino, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "not a socket"));
	/* A socket nobody listens on is replaced. */
	snprintf(p2, sizeof(p2), "%s/stale.sock", dir);
	fd = control_socket_listen(p2, &dev, &ino, err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
	fd = control_socket_listen(p2, &dev, &ino, err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
	control_socket_unlink(p2, dev, ino);
	assert_int_equal(access(p2, F_OK), -1);
	/* A missing directory says so. */
	snprintf(p2, sizeof(p2), "%s/no/such.sock", dir);
	assert_int_equal(control_socket_listen(p2, &dev, &ino, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "directory does not exist"));
}

static void test_requests_ids_and_errors(void **state)
{
	int fd;

	(void)state;
	fd = connect_greeted();
	send_str(fd, "{\"execute\":\"status\",\"id\":\"a\"}\n");
	expect_line(fd, "{\"return\":{\"cmd\":\"status\"},\"id\":\"a\"}");
	/* Pipelined, with blank lines and garbage between: answers in order. */
	send_str(fd, "{\"execute\":\"query-status\",\"id\":1}\n\n  \r\n{oops\n"
		     "{\"execute\":\"system_powerdown\",\"id\":2}\n{\"execute\":\"quit\",\"id\":3}\n");
	expect_line(fd, "{\"return\":{\"cmd\":\"status\"},\"id\":1}");
	expect_line(fd, "{\"error\":{\"class\":\"GenericError\",\"desc\":\"JSON parse error");
	expect_line(fd, "{\"error\":{\"class\":\"DeviceNotFound\",\"desc\":\"no button\"},\"id\":2}");
	expect_line(fd, "{\"return\":{\"cmd\":\"quit\"},\"id\":3}");
	close(fd);
}

static void test_oversized_request_is_skipped(void **state)
{
	char *big = malloc(3 * CONTROL_MAX_LINE);
	int fd;

	(void)state;
	assert_non_null(big);
	memset(big, 'x', 3 * CONTROL_MAX_LINE);
	big[3 * CONTROL_MAX_LINE - 1] = '\n';
	fd = connect_greeted();
	/* Sent from another thread would be nicer; the socket buffer takes 48 KiB. */
	assert_int_equal(send(fd, big, 3 * CONTROL_MAX_LINE, MSG_NOSIGNAL), 3 * CONTROL_MAX_LINE);
	send_str(fd, "{\"execute\":\"status\"}\n");
	expect_line(fd, "request longer than 16384 bytes: skipped");
	expect_line(fd, "{\"return\":{\"cmd\":\"status\"}}");
	close(fd);
	free(big);
}

static void test_deferred_answer_keeps_order(void **state)
{
	struct pollfd p;
	int fd;

	(void)state;
	fd = connect_greeted();
	send_str(fd, "{\"execute\":\"balloon-stats\",\"id\":1}\n{\"execute\":\"status\",\"id\":2}\n");
	/* Nothing yet: the first is pending and the second waits behind it. */
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 200), 0);
	assert_int_equal(requests, 1);
	on_loop(do_answer_deferred);
	expect_line(fd, "{\"return\":{\"late\":true},\"id\":1}");
	expect_line(fd, "{\"return\":{\"cmd\":\"status\"},\"id\":2}");
	close(fd);
}

static void test_gone_peer_drops_answer(void **state)
{
	int fd;

	(void)state;
	fd = connect_greeted();
	send_str(fd, "{\"execute\":\"balloon-stats\"}\n");
	while (!deferred)
		usleep(1000);
	close(fd);
	usleep(50000);
	on_loop(do_answer_deferred); /* must not crash nor reach another connection */
	fd = connect_greeted();
	send_str(fd, "{\"execute\":\"status\"}\n");
	expect_line(fd, "{\"return\":{\"cmd\":\"status\"}}");
	close(fd);
}

static void test_half_close_and_last_line(void **state)
{
	char line[256];
	int fd;

	(void)state;
	fd = connect_greeted();
	send_str(fd, "{\"execute\":\"status\"}\n{\"execute\":\"pause\"}"); /* no final newline */
	shutdown(fd, SHUT_WR);
	expect_line(fd, "{\"return\":{\"cmd\":\"status\"}}");
	expect_line(fd, "{\"return\":{\"cmd\":\"pause\"}}");
	assert_false(read_line(fd, line, sizeof(line))); /* then the server closes */
	close(fd);
}

static void test_connection_limit(void **state)
{
	int fds[CONTROL_MAX_CONNS], extra;

	(void)state;
	for (int i = 0; i < CONTROL_MAX_CONNS; i++)
		fds[i] = connect_greeted();
	extra = raw_connect();
	expect_line(extra, "too many connections");
	close(extra);
	close(fds[0]);
	usleep(50000);
	extra = connect_greeted(); /* a slot is free again */
	close(extra);
	for (int i = 1; i < CONTROL_MAX_CONNS; i++)
		close(fds[i]);
}

static void test_events_and_close(void **state)
{
	int a, b;

	(void)state;
	a = connect_greeted();
	b = connect_greeted();
	on_loop(do_event);
	expect_line(a, "{\"event\":\"TICK\",\"timestamp\":{\"seconds\":");
	expect_line(b, "{\"event\":\"TICK\"");
	on_loop(do_close);
	expect_line(a, "{\"event\":\"SHUTDOWN\"");
	expect_line(b, "{\"event\":\"SHUTDOWN\"");
	assert_int_equal(access(path, F_OK), -1); /* removed */
	close(a);
	close(b);
}

static void test_silent_reader_is_dropped(void **state)
{
	char line[256];
	int fd;

	(void)state;
	fd = connect_greeted();
	/* ~100 bytes per event: well past the output limit plus socket buffers. */
	for (int i = 0; i < 3 * CONTROL_MAX_OUTPUT / 100; i++)
		on_loop(do_event);
	/* What was buffered arrives, then EOF. */
	while (read_line(fd, line, sizeof(line)))
		;
	close(fd);
	fd = connect_greeted(); /* the server is fine */
	close(fd);
}

static void test_client_library(void **state)
{
	struct control_client c;
	struct control_reply r;
	char err[160];

	(void)state;
	assert_int_equal(control_client_open(&c, path, err, sizeof(err)), 0);
	assert_int_equal(control_client_call(&c, "status", NULL, &r, err, sizeof(err)), 0);
	assert_int_equal(r.kind, CONTROL_REPLY_RETURN);
	control_reply_clear(&r);
	assert_int_equal(control_client_call(&c, "powerdown", NULL, &r, err, sizeof(err)), 0);
	assert_int_equal(r.kind, CONTROL_REPLY_ERROR);
	assert_string_equal(r.error_class, "DeviceNotFound");
	control_reply_clear(&r);
	/* An event before the answer is skipped. */
	on_loop(do_event);
	assert_int_equal(control_client_call(&c, "pause", NULL, &r, err, sizeof(err)), 0);
	assert_int_equal(r.kind, CONTROL_REPLY_RETURN);
	assert_string_equal(json_object_get_string(json_object_object_get(r.value, "cmd")), "pause");
	control_reply_clear(&r);
	control_client_close(&c);
	snprintf(err, sizeof(err), "%s/none.sock", dir);
	assert_int_equal(control_client_open(&c, err, err, sizeof(err)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_socket_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_use_not_socket_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_requests_ids_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_request_is_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deferred_answer_keeps_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gone_peer_drops_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_half_close_and_last_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_and_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_reader_is_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_library, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
