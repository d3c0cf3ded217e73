/*
 * A listening AF_UNIX stream socket that hands its clients, one at a time,
 * to a device port (crosvm's serial type=unix-stream; libvirt's
 * `<source mode='bind'>`): Cove creates the socket, users connect.
 *
 *  - The socket file is created at `path` with mode 0600. A stale socket
 *    (nobody listening) is replaced; a live one, or anything that is not a
 *    socket, is an error. unix_listener_close() unlinks it, but only if it
 *    is still the file Cove created.
 *  - After each accepted client the listener pauses: further clients wait
 *    in the kernel's backlog (their connect succeeds, nothing is read)
 *    until the owner calls unix_listener_resume(), normally when the
 *    previous client went away.
 *
 * Runs on the event loop's thread (or before the loop runs).
 */
#ifndef COVE_BACKENDS_UNIX_LISTENER_H
#define COVE_BACKENDS_UNIX_LISTENER_H

#include <stdbool.h>
#include <sys/types.h>
#include <sys/un.h>

#include "base/compiler.h"
#include "base/event_loop.h"

#define UNIX_LISTENER_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path))

/*
 * A client connected: `fd` is non-blocking and close-on-exec, and now
 * belongs to the callee (which closes it when done, also on failure).
 */
typedef void (*unix_listener_accept_fn)(void *opaque, int fd);

struct unix_listener {
	char path[UNIX_LISTENER_PATH_MAX];
	int fd;
	bool watching; /* in the event loop: accepting */
	bool paused;   /* the owner does not want a client now */
	dev_t dev;     /* the socket file we created, so that we unlink only it */
	ino_t ino;
	struct event_loop *loop;
	unix_listener_accept_fn accept;
	void *opaque;
};

/*
 * Creates the socket at `path` (shorter than UNIX_LISTENER_PATH_MAX) and
 * starts accepting on `loop`. Returns 0, or -errno after logging one line
 * naming the path: -ENAMETOOLONG, -EADDRINUSE (another process listens
 * there), -EEXIST (not a socket), or what socket/bind/listen said.
 */
must_check int unix_listener_open(struct unix_listener *l, const char *path,
				  struct event_loop *loop, unix_listener_accept_fn accept,
				  void *opaque);
/* Stops accepting (clients wait in the backlog); idempotent. */
void unix_listener_pause(struct unix_listener *l);
/* Accepts again (a client already waiting is accepted at once); idempotent. */
void unix_listener_resume(struct unix_listener *l);
/* Stops, closes and unlinks the socket file if it is still ours. */
void unix_listener_close(struct unix_listener *l);

/*
 * Whether something listens on the socket at `path`: 1 (a connect
 * succeeded), 0 (refused: a stale socket), or -errno.
 */
must_check int unix_listener_probe(const char *path);

#endif
