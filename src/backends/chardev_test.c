/* Unit tests for the output chardevs: sink, file, fds that fill up or break. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "backends/chardev.h"

static void test_sink_takes_everything(void **state)
{
	struct chardev c;

	(void)state;
	chardev_init_sink(&c);
	assert_int_equal(chardev_fd(&c), -1);
	assert_int_equal(chardev_write(&c, "abc", 3), 3);
	chardev_close(&c);
}

static void test_file_is_created_and_truncated(void **state)
{
	char path[] = "/tmp/cove-chardev-XXXXXX";
	int fd = mkstemp(path);
	struct chardev c;
	char buf[16] = {0};

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "old contents", 12), 12);
	close(fd);
	assert_int_equal(chardev_open_file(&c, path), 0);
	assert_string_equal(c.label, path);
	assert_int_equal(chardev_write(&c, "new", 3), 3);
	chardev_close(&c);
	assert_int_equal(chardev_fd(&c), -1);
	fd = open(path, O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "new");
	close(fd);
	unlink(path);
	assert_int_equal(chardev_open_file(&c, "/nonexistent-dir/x"), -ENOENT);
}

static void test_full_pipe_says_eagain(void **state)
{
	int p[2];
	struct chardev c;
	char chunk[4096];
	ssize_t n;

	(void)state;
	memset(chunk, 'x', sizeof(chunk));
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	chardev_init_fd(&c, p[1], true, "pipe");
	do
		n = chardev_write(&c, chunk, sizeof(chunk));
	while (n > 0);
	assert_int_equal(n, -EAGAIN);
	chardev_close(&c);
	close(p[0]);
}

static void test_broken_pipe_is_an_error(void **state)
{
	int p[2];
	struct chardev c;

	(void)state;
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	chardev_init_fd(&c, p[1], false, "pipe");
	assert_int_equal(chardev_write(&c, "a", 1), -EPIPE); /* the tests ignore SIGPIPE */
	chardev_close(&c);				     /* not owned: left open */
	assert_int_equal(fcntl(p[1], F_GETFD), 0);
	close(p[1]);
}

static void test_stdout_is_a_separate_fd(void **state)
{
	struct chardev c;

	(void)state;
	assert_int_equal(chardev_open_stdout(&c), 0);
	assert_true(chardev_fd(&c) > 2);
	assert_string_equal(c.label, "stdout");
	chardev_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sink_takes_everything),
	    cmocka_unit_test(test_file_is_created_and_truncated),
	    cmocka_unit_test(test_full_pipe_says_eagain),
	    cmocka_unit_test(test_broken_pipe_is_an_error),
	    cmocka_unit_test(test_stdout_is_a_separate_fd),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
