/* A listening Unix stream socket serving one client at a time; see unix_listener.h. */
#include "backends/unix_listener.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

#define BACKLOG 4

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, len + 1);
	return 0;
}

int unix_listener_probe(const char *path)
{
	struct sockaddr_un sa;
	int fd, ret;

	ret = fill_addr(&sa, path);
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 1 : -errno;
	close(fd);
	if (ret == -ECONNREFUSED || ret == -ENOENT)
		return 0;
	/* A full backlog still means a live listener. */
	return ret == -EAGAIN ? 1 : ret;
}

/* Makes room for the socket: nothing there, or a stale socket removed. */
static int clear_path(const char *path)
{
	struct stat st;
	int live;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	live = unix_listener_probe(path);
	if (live < 0)
		return live;
	if (live)
		return -EADDRINUSE;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

/* socket, bind (mode 0600 from the start: fchmod before bind), listen. */
static int make_socket(const char *path, dev_t *dev, ino_t *ino)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, err = fill_addr(&sa, path);

	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0600) < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		goto close_fd;
	}
	if (chmod(path, 0600) < 0 || listen(fd, BACKLOG) < 0 || stat(path, &st) < 0) {
		err = -errno;
		goto unlink_path;
	}
	*dev = st.st_dev;
	*ino = st.st_ino;
	return fd;

unlink_path:
	unlink(path);
close_fd:
	close(fd);
	return err;
}

static void on_connect(void *opaque, uint32_t events)
{
	struct unix_listener *l = opaque;
	int fd;

	(void)events;
	fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("unix socket %s: accept failed: %s", l->path, strerror(errno));
		return;
	}
	unix_listener_pause(l); /* one client at a time */
	l->accept(l->opaque, fd);
}

static void watch(struct unix_listener *l, bool on)
{
	int err;

	if (on == l->watching || l->fd < 0)
		return;
	if (!on) {
		event_loop_remove(l->loop, l->fd);
		l->watching = false;
		return;
	}
	err = event_loop_add(l->loop, l->fd, EPOLLIN, on_connect, l);
	if (err)
		log_warn("unix socket %s: cannot accept clients: %s", l->path, strerror(-err));
	l->watching = !err;
}

int unix_listener_open(struct unix_listener *l, const char *path, struct event_loop *loop,
		       unix_listener_accept_fn accept, void *opaque)
{
	const char *why;
	int err, fd;

	*l = (struct unix_listener){.fd = -1, .loop = loop, .accept = accept, .opaque = opaque};
	if (strlen(path) >= sizeof(l->path)) {
		log_error("unix socket %s: path too long (at most %zu bytes)", path,
			  sizeof(l->path) - 1);
		return -ENAMETOOLONG;
	}
	snprintf(l->path, sizeof(l->path), "%s", path);
	err = clear_path(path);
	fd = err ? err : make_socket(path, &l->dev, &l->ino);
	if (fd < 0) {
		why = fd == -EADDRINUSE ? "another process listens there"
		      : fd == -EEXIST	? "it exists and is not a socket"
					: strerror(-fd);
		log_error("unix socket %s: cannot listen: %s", path, why);
		return fd;
	}
	l->fd = fd;
	watch(l, true);
	return 0;
}

void unix_listener_pause(struct unix_listener *l)
{
	l->paused = true;
	watch(l, false);
}

void unix_listener_resume(struct unix_listener *l)
{
	l->paused = false;
	watch(l, true);
}

void unix_listener_close(struct unix_listener *l)
{
	struct stat st;

	if (l->fd < 0)
		return;
	watch(l, false);
	close(l->fd);
	l->fd = -1;
	if (stat(l->path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
		unlink(l->path);
}
