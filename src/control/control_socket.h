/*
 * The control socket's file: where it goes, how it is created safely
 * (never over a live socket or a non-socket), and how it is removed. Used
 * by control_server.c; the client side connects in control_client.c.
 */
#ifndef COVE_CONTROL_CONTROL_SOCKET_H
#define COVE_CONTROL_CONTROL_SOCKET_H

#include <stddef.h>
#include <sys/types.h>

#include "base/compiler.h"

/*
 * Creates a listening, non-blocking AF_UNIX stream socket at `path` (the
 * final path, already resolved) with mode 0600. An existing socket
 * nobody listens on is replaced. Returns the fd with *dev and *ino set to
 * the socket file's identity, or -errno with one line in err (without the
 * path): -EADDRINUSE (another process listens there), -EEXIST (not a
 * socket), or what socket/bind/listen said.
 */
must_check int control_socket_listen(const char *path, dev_t *dev, ino_t *ino, char *err,
				     size_t errlen);

/* Unlinks `path` if it is still the socket file (dev, ino) we created. */
void control_socket_unlink(const char *path, dev_t dev, ino_t ino);

/*
 * Connects to the control socket at `path` (blocking). Returns the fd, or
 * -errno with one line in err (without the path).
 */
must_check int control_socket_connect(const char *path, char *err, size_t errlen);

#endif
