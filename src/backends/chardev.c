/* Output character devices (stdout, file, sink); see chardev.h. */
#include "backends/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void chardev_init_fd(struct chardev *c, int fd, bool owned, const char *label)
{
	c->fd = fd;
	c->owned = owned;
	snprintf(c->label, sizeof(c->label), "%s", label);
}

void chardev_init_sink(struct chardev *c)
{
	chardev_init_fd(c, -1, false, "sink");
}

int chardev_open_stdout(struct chardev *c)
{
	int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);

	if (fd < 0)
		return -errno;
	chardev_init_fd(c, fd, true, "stdout");
	return 0;
}

int chardev_open_file(struct chardev *c, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	chardev_init_fd(c, fd, true, path);
	return 0;
}

ssize_t chardev_write(struct chardev *c, const void *buf, size_t len)
{
	ssize_t n;

	if (c->fd < 0)
		return (ssize_t)len;
	do
		n = write(c->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (n == 0) /* only possible for len == 0, which callers never pass */
		return -EIO;
	return n;
}

int chardev_fd(const struct chardev *c)
{
	return c->fd;
}

void chardev_close(struct chardev *c)
{
	if (c->owned && c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->owned = false;
}
