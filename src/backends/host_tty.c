/* Pseudo-terminals and host terminal devices in raw mode; see host_tty.h. */
#include "backends/host_tty.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int make_raw(int fd, struct termios *saved)
{
	struct termios t;

	if (tcgetattr(fd, &t) < 0)
		return -errno;
	if (saved)
		*saved = t;
	cfmakeraw(&t);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	return tcsetattr(fd, TCSANOW, &t) < 0 ? -errno : 0;
}

int host_tty_open_pty(struct host_tty *t)
{
	int err;

	*t = (struct host_tty){.fd = -1, .hold_fd = -1};
	t->fd = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0)
		return -errno;
	if (grantpt(t->fd) < 0 || unlockpt(t->fd) < 0) {
		err = -errno;
		goto close_fds;
	}
	err = ptsname_r(t->fd, t->path, sizeof(t->path));
	if (err) {
		err = -err;
		goto close_fds;
	}
	t->hold_fd = open(t->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (t->hold_fd < 0) {
		err = -errno;
		goto close_fds;
	}
	/* The slave's modes are the ones that apply to the whole pair. */
	err = make_raw(t->hold_fd, NULL);
	if (err)
		goto close_fds;
	return 0;

close_fds:
	host_tty_close(t);
	return err;
}

int host_tty_open_dev(struct host_tty *t, const char *path)
{
	struct stat st;
	int err;

	*t = (struct host_tty){.fd = -1, .hold_fd = -1};
	snprintf(t->path, sizeof(t->path), "%s", path);
	t->fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0)
		return -errno;
	if (fstat(t->fd, &st) < 0) {
		err = -errno;
		goto close_fd;
	}
	if (!S_ISCHR(st.st_mode)) {
		err = -EINVAL;
		goto close_fd;
	}
	if (isatty(t->fd)) {
		err = make_raw(t->fd, &t->saved);
		if (err)
			goto close_fd;
		t->restore = true;
	}
	return 0;

close_fd:
	close(t->fd);
	t->fd = -1;
	return err;
}

void host_tty_close(struct host_tty *t)
{
	if (t->restore && t->fd >= 0)
		tcsetattr(t->fd, TCSANOW, &t->saved);
	t->restore = false;
	if (t->fd >= 0)
		close(t->fd);
	if (t->hold_fd >= 0)
		close(t->hold_fd);
	t->fd = t->hold_fd = -1;
}
