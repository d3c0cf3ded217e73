/*
 * An output character device: where a guest port's bytes go on the host
 * (crosvm's serial `type=`): stdout, a file, or a sink that drops them.
 * Later: pty and unix sockets, which can also be disconnected.
 *
 * chardev_write() never blocks on a non-blocking fd: it reports -EAGAIN and
 * the caller waits for the fd to become writable (chardev_fd() can be
 * polled) and retries, so that nothing is dropped. A blocking fd (the usual
 * stdout) simply blocks the writer until the host reads.
 */
#ifndef COVE_BACKENDS_CHARDEV_H
#define COVE_BACKENDS_CHARDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/compiler.h"

struct chardev {
	int fd;		/* -1: sink */
	bool owned;	/* chardev_close() closes fd */
	char label[64]; /* "stdout", the file's path, ...: for log lines */
};

/* A sink: every write succeeds and the bytes are dropped. */
void chardev_init_sink(struct chardev *c);
/*
 * The host's stdout, through a duplicate descriptor (same open file, so
 * output interleaves with Cove's own stdout in order; a separate fd number
 * lets each user poll it independently). Returns 0 or -errno.
 */
must_check int chardev_open_stdout(struct chardev *c);
/* Creates or truncates `path` (O_WRONLY|O_CREAT|O_TRUNC, mode 0644). Returns 0 or -errno. */
must_check int chardev_open_file(struct chardev *c, const char *path);
/* Wraps an open fd (tests: a pipe); `owned` makes chardev_close() close it. */
void chardev_init_fd(struct chardev *c, int fd, bool owned, const char *label);

/*
 * Writes up to `len` (> 0) bytes, retrying EINTR. Returns the number
 * written (> 0; a sink takes everything), -EAGAIN if the fd is full right
 * now, or another -errno (EPIPE, EIO, ENOSPC...) for a host failure.
 */
must_check ssize_t chardev_write(struct chardev *c, const void *buf, size_t len);

/* The fd to poll for POLLOUT, or -1 for a sink. */
int chardev_fd(const struct chardev *c);

void chardev_close(struct chardev *c);

#endif
