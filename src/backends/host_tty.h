/*
 * Terminals as the host side of a guest port (serial type=pty and
 * type=dev): a new pseudo-terminal whose slave a user opens (screen,
 * picocom, minicom), or a host character device such as a real UART
 * (/dev/ttyS1, /dev/ttyUSB0) passed through to the guest.
 *
 * Both are put in raw mode (cfmakeraw: no echo, no line editing, no
 * CR/LF translation, 8 bits), so that bytes pass through unchanged both
 * ways; the line speed of a device is left as it is. The returned fds are
 * non-blocking and close-on-exec.
 */
#ifndef COVE_BACKENDS_HOST_TTY_H
#define COVE_BACKENDS_HOST_TTY_H

#include <stdbool.h>
#include <stddef.h>
#include <termios.h>

#include "base/compiler.h"

#define HOST_TTY_PATH_MAX 64

struct host_tty {
	int fd;			      /* the end Cove reads and writes: pty master, or the device */
	int hold_fd;		      /* pty: a slave fd Cove keeps open, or -1 */
	char path[HOST_TTY_PATH_MAX]; /* pty: the slave's path (/dev/pts/N) */
	bool restore;		      /* dev: put `saved` back on close */
	struct termios saved;
};

/*
 * Opens a new pseudo-terminal. Cove keeps one slave fd open itself, so the
 * master never reports a hang-up while no user has the slave open: the
 * guest's output then waits in the terminal's buffer (and, once that is
 * full, in the guest) instead of being lost or spinning the event loop.
 * Returns 0 or -errno.
 */
must_check int host_tty_open_pty(struct host_tty *t);

/*
 * Opens the character device at `path` read-write, without making it the
 * controlling terminal; a terminal is switched to raw mode (restored on
 * close). Returns 0, -errno from open(2) or tcsetattr(3), or -EINVAL
 * when `path` is not a character device.
 */
must_check int host_tty_open_dev(struct host_tty *t, const char *path);

/* Restores a device's mode and closes every fd. */
void host_tty_close(struct host_tty *t);

#endif
