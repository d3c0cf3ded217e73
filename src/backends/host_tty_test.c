/*
 * Unit tests for host terminals: a pty passes bytes unchanged both ways
 * (raw mode) and keeps its slave open, a host device is switched to raw
 * mode and restored on close, and what is not a character device is
 * refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "backends/host_tty.h"

static ssize_t read_wait(int fd, char *buf, size_t len)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	assert_int_equal(poll(&p, 1, 2000), 1);
	return read(fd, buf, len);
}

static void test_pty_raw_both_ways(void **state)
{
	struct host_tty t;
	char buf[32] = {0};
	int user;

	(void)state;
	assert_int_equal(host_tty_open_pty(&t), 0);
	assert_int_equal(strncmp(t.path, "/dev/pts/", 9), 0);
	assert_true(t.hold_fd >= 0);
	assert_true(fcntl(t.fd, F_GETFL) & O_NONBLOCK);
	user = open(t.path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(user >= 0);
	/* Guest to user: no \n -> \r\n translation. */
	assert_int_equal(write(t.fd, "a\nb", 3), 3);
	assert_int_equal(read_wait(user, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "a\nb", 3);
	/* User to guest: no line buffering, no echo, ^C is a byte. */
	assert_int_equal(write(user, "x\003", 2), 2);
	assert_int_equal(read_wait(t.fd, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "x\003", 2);
	/* No user: the master does not hang up (Cove holds the slave). */
	close(user);
	{
		struct pollfd p = {.fd = t.fd, .events = POLLIN};

		assert_int_equal(poll(&p, 1, 0), 0);
	}
	host_tty_close(&t);
	assert_int_equal(t.fd, -1);
	assert_int_equal(t.hold_fd, -1);
}

static void test_dev_raw_and_restored(void **state)
{
	struct host_tty pty, dev;
	struct termios before, during, after;

	(void)state;
	assert_int_equal(host_tty_open_pty(&pty), 0);
	/* Give the device a cooked mode to restore. */
	assert_int_equal(tcgetattr(pty.hold_fd, &before), 0);
	before.c_lflag |= ICANON | ECHO;
	assert_int_equal(tcsetattr(pty.hold_fd, TCSANOW, &before), 0);
	assert_int_equal(host_tty_open_dev(&dev, pty.path), 0);
	assert_int_equal(tcgetattr(dev.fd, &during), 0);
	assert_false(during.c_lflag & (ICANON | ECHO));
	host_tty_close(&dev);
	assert_int_equal(tcgetattr(pty.hold_fd, &after), 0);
	assert_true(after.c_lflag & ICANON);
	assert_true(after.c_lflag & ECHO);
	host_tty_close(&pty);
}

static void test_dev_refusals(void **state)
{
	struct host_tty t;

	(void)state;
	assert_int_equal(host_tty_open_dev(&t, "/nonexistent/ttyX"), -ENOENT);
	assert_int_equal(host_tty_open_dev(&t, "/etc/hostname"), -EINVAL);
	assert_int_equal(host_tty_open_dev(&t, "/tmp"), -EISDIR);
	/* A character device that is not a terminal is used as it is. */
	assert_int_equal(host_tty_open_dev(&t, "/dev/null"), 0);
	assert_false(t.restore);
	host_tty_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pty_raw_both_ways),
	    cmocka_unit_test(test_dev_raw_and_restored),
	    cmocka_unit_test(test_dev_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
