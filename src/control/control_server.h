/*
 * The control socket server: a Unix stream socket speaking the protocol of
 * control_proto.h, served on an event loop without ever blocking it.
 *
 *  - The socket is created at PATH, or at PATH/cove-<pid>.sock when PATH is
 *    a directory (crosvm's --socket rule), with mode 0600. A stale socket
 *    (nobody listening) is replaced; a live one, or anything that is not a
 *    socket, is an error. It is unlinked again by control_server_close().
 *  - Peers are authorised with SO_PEERCRED: the owner (our effective uid)
 *    or root. Others get one PermissionDenied error and are disconnected.
 *  - Every connection is non-blocking with its own buffers: requests of at
 *    most CONTROL_MAX_LINE bytes (a longer one is answered with an error and
 *    skipped up to its newline), answers and events queued up to
 *    CONTROL_MAX_OUTPUT bytes, or one bigger message (a guest agent's
 *    answer) into an empty queue (a peer that reads nothing beyond that is
 *    disconnected). At most CONTROL_MAX_CONNS connections at once.
 *  - Requests on one connection are handled one at a time, in order: while
 *    one is unanswered (struct control_call), the connection's later
 *    requests wait. Blank lines are ignored. A peer that half-closes still
 *    gets its answers; a last request without a newline counts at EOF.
 *
 * Threading: everything here, callbacks included, runs on the event loop's
 * thread (or before the loop runs / after it stopped).
 */
#ifndef COVE_CONTROL_CONTROL_SERVER_H
#define COVE_CONTROL_CONTROL_SERVER_H

#include <stdbool.h>
#include <sys/types.h>
#include <sys/un.h>

#include "base/compiler.h"
#include "base/event_loop.h"
#include "control/control_proto.h"

#define CONTROL_MAX_CONNS 16
#define CONTROL_MAX_OUTPUT (1024 * 1024)
#define CONTROL_SOCKET_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path))

struct control_server;
struct control_conn;

/*
 * One request being answered. The handler answers it exactly once, now
 * or later, with control_call_return() or control_call_error(); both free
 * the call. If the peer has gone by then, the answer is dropped.
 */
struct control_call {
	struct control_server *srv;
	unsigned int slot; /* the connection's slot and generation */
	unsigned int gen;
	json_object *id;   /* the request's id (owned), echoed in the answer */
	enum control_cmd cmd;
	uid_t peer_uid;
	pid_t peer_pid;
};

struct control_server_ops {
	/* A request arrived; `req` is only valid during the call. */
	void (*request)(void *opaque, struct control_call *call, const struct control_request *req);
};

struct control_server {
	char path[CONTROL_SOCKET_PATH_MAX];
	int listen_fd;
	bool watched;
	dev_t dev; /* the socket file we created, so that we unlink only it */
	ino_t ino;
	struct event_loop *loop;
	const struct control_server_ops *ops;
	void *opaque;
	pid_t pid;
	const char *name; /* borrowed; NULL: none */
	struct control_conn *conns[CONTROL_MAX_CONNS];
	unsigned int next_gen;
};

/*
 * Where the socket for `path` goes: path itself, or path/cove-<pid>.sock
 * if path is a directory. Returns 0, or -ENAMETOOLONG / -EINVAL with one
 * line in err.
 */
must_check int control_server_resolve_path(const char *path, pid_t pid, char *out, size_t outlen,
					   char *err, size_t errlen);

/*
 * Creates the socket for `path` (see above) and serves it on `loop`.
 * `name` (may be NULL) and the process id go into the greeting. Returns 0,
 * or -errno after logging one line naming the path and the problem
 * (-EADDRINUSE: another process listens there; -EEXIST: not a socket).
 */
must_check int control_server_open(struct control_server *srv, const char *path,
				   struct event_loop *loop, const struct control_server_ops *ops,
				   void *opaque, const char *name);

/*
 * Sends the event to every connection, then stops serving: flushes what
 * each connection can take without blocking, closes them and the socket,
 * and unlinks it. Every call must have been answered. `event` may be NULL.
 */
void control_server_close(struct control_server *srv, const char *event, json_object *data);

/* Sends an event to every connection. Takes `data` (may be NULL). */
void control_server_event(struct control_server *srv, const char *name, json_object *data);

/* Answers with `ret` (taken; NULL means {}) and frees the call. */
void control_call_return(struct control_call *call, json_object *ret);
/* Answers with an error and frees the call. */
void control_call_error(struct control_call *call, enum control_error_class cls, const char *fmt,
			...) printf_like(3, 4);

/* The authorisation rule: the owner (`self`, our effective uid) or root. */
bool control_server_peer_allowed(uid_t peer, uid_t self);

#endif
