/*
 * Unit tests for the unix-stream listener: safe creation (stale socket
 * replaced, live socket and non-socket refused, mode 0600), one client at
 * a time through pause/resume, and unlinking only our own socket file.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "backends/unix_listener.h"

struct fx {
	char dir[32];
	char path[UNIX_LISTENER_PATH_MAX];
	struct event_loop loop;
	struct unix_listener l;
	int accepted[4];
	unsigned int n;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/cove-ul-XXXXXX");
	if (!f || !mkdtemp(f->dir) || event_loop_init(&f->loop))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/s", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	unix_listener_close(&f->l);
	for (unsigned int i = 0; i < f->n; i++)
		close(f->accepted[i]);
	unlink(f->path);
	rmdir(f->dir);
	event_loop_destroy(&f->loop);
	free(f);
	return 0;
}

static void on_accept(void *opaque, int fd)
{
	struct fx *f = opaque;

	assert_true(f->n < 4);
	f->accepted[f->n++] = fd;
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

static int client(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void test_one_client_at_a_time(void **state)
{
	struct fx *f = *state;
	struct stat st;
	int c1, c2;

	assert_int_equal(unix_listener_open(&f->l, f->path, &f->loop, on_accept, f), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	c1 = client(f->path);
	c2 = client(f->path);
	run_once(f, 1000);
	assert_int_equal(f->n, 1); /* paused after the first */
	assert_true(f->l.paused);
	run_once(f, 50);
	assert_int_equal(f->n, 1);
	unix_listener_resume(&f->l);
	run_once(f, 1000);
	assert_int_equal(f->n, 2);
	assert_int_equal(unix_listener_probe(f->path), 1);
	close(c1);
	close(c2);
	unix_listener_close(&f->l);
	assert_int_equal(access(f->path, F_OK), -1);
	assert_int_equal(unix_listener_probe(f->path), 0);
}

static void test_stale_live_and_foreign_paths(void **state)
{
	struct fx *f = *state;
	struct unix_listener other;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	/* A stale socket (bound, nobody listening) is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(unix_listener_probe(f->path), 0);
	assert_int_equal(unix_listener_open(&f->l, f->path, &f->loop, on_accept, f), 0);
	/* A live one is not. */
	assert_int_equal(unix_listener_open(&other, f->path, &f->loop, on_accept, f), -EADDRINUSE);
	/* Nor is a file that is not a socket. */
	unix_listener_close(&f->l);
	fd = open(f->path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	assert_int_equal(unix_listener_open(&f->l, f->path, &f->loop, on_accept, f), -EEXIST);
	unlink(f->path);
	/* A path too long for sun_path. */
	{
		char longpath[UNIX_LISTENER_PATH_MAX + 8];

		memset(longpath, 'a', sizeof(longpath) - 1);
		longpath[sizeof(longpath) - 1] = '\0';
		assert_int_equal(unix_listener_open(&f->l, longpath, &f->loop, on_accept, f),
				 -ENAMETOOLONG);
	}
}

/* Someone replaced our socket file: close must not remove theirs. */
static void test_close_unlinks_only_ours(void **state)
{
	struct fx *f = *state;
	int fd;

	assert_int_equal(unix_listener_open(&f->l, f->path, &f->loop, on_accept, f), 0);
	assert_int_equal(unlink(f->path), 0);
	fd = open(f->path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	unix_listener_close(&f->l);
	assert_int_equal(access(f->path, F_OK), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_one_client_at_a_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stale_live_and_foreign_paths, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_close_unlinks_only_ours, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
