/* The control socket's file; see control_socket.h and unix(7). */
#include "control/control_socket.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define BACKLOG 8

static int make_addr(const char *path, struct sockaddr_un *addr, char *err, size_t errlen)
{
	size_t len = strlen(path);

	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (len == 0 || len >= sizeof(addr->sun_path)) {
		snprintf(err, errlen, "a socket path must be 1 to %zu bytes long, not %zu",
			 sizeof(addr->sun_path) - 1, len);
		return -ENAMETOOLONG;
	}
	memcpy(addr->sun_path, path, len);
	return 0;
}

int control_socket_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un addr;
	int fd, ret = make_addr(path, &addr, err, errlen);

	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot create a socket: %s", strerror(errno));
		return ret;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot connect: %s%s", strerror(errno),
			 errno == ECONNREFUSED ? " (no VM is serving this socket)" : "");
		close(fd);
		return ret;
	}
	return fd;
}

/*
 * Something is at `path`: a socket nobody listens on is removed (a VM
 * that died without cleaning up); anything else is an error.
 */
static int clear_stale(const char *path, const struct stat *st, char *err, size_t errlen)
{
	char why[128];
	int fd;

	if (!S_ISSOCK(st->st_mode)) {
		snprintf(err, errlen, "exists and is not a socket (not replacing it)");
		return -EEXIST;
	}
	fd = control_socket_connect(path, why, sizeof(why));
	if (fd >= 0) {
		close(fd);
		snprintf(err, errlen, "in use: another process is serving this socket");
		return -EADDRINUSE;
	}
	if (fd != -ECONNREFUSED) {
		snprintf(err, errlen, "exists and cannot be checked: %s", why);
		return fd;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		fd = -errno;
		snprintf(err, errlen, "cannot remove the stale socket: %s", strerror(errno));
		return fd;
	}
	return 0;
}

static int bind_and_listen(int fd, const char *path, const struct sockaddr_un *addr,
			   char *err, size_t errlen)
{
	int ret;

	if (bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot create the socket: %s%s", strerror(errno),
			 errno == ENOENT ? " (its directory does not exist)" : "");
		return ret;
	}
	/* SO_PEERCRED is the real check; the mode keeps others from connecting at all. */
	if (chmod(path, 0600) < 0 || listen(fd, BACKLOG) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot listen on the socket: %s", strerror(errno));
		unlink(path);
		return ret;
	}
	return 0;
}

int control_socket_listen(const char *path, dev_t *dev, ino_t *ino, char *err, size_t errlen)
{
	struct sockaddr_un addr;
	struct stat st;
	int fd, ret = make_addr(path, &addr, err, errlen);

	if (ret)
		return ret;
	if (lstat(path, &st) == 0) {
		ret = clear_stale(path, &st, err, errlen);
		if (ret)
			return ret;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot create a socket: %s", strerror(errno));
		return ret;
	}
	ret = bind_and_listen(fd, path, &addr, err, errlen);
	if (!ret && lstat(path, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "the socket vanished: %s", strerror(errno));
	}
	if (ret) {
		close(fd);
		return ret;
	}
	*dev = st.st_dev;
	*ino = st.st_ino;
	return fd;
}

void control_socket_unlink(const char *path, dev_t dev, ino_t ino)
{
	struct stat st;

	if (lstat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino)
		unlink(path);
}
