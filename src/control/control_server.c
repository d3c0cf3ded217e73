/*
 * The control socket server; see control_server.h for its rules and
 * control_proto.h for the messages.
 *
 * A connection is serviced from three places: its own event (edge-
 * triggered EPOLLIN/EPOLLOUT), a deferred answer, and an event broadcast.
 * None of them frees it while another may still be using it: a failed
 * connection is only marked dead, and each entry point reaps it at its end.
 */
#include "control/control_server.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "control/control_socket.h"

struct control_conn {
	struct control_server *srv;
	unsigned int slot, gen;
	int fd;
	uid_t uid;
	pid_t pid;
	bool dead;	  /* failed or finished: reap at the end of the entry point */
	bool busy;	  /* a request is unanswered */
	bool dispatching; /* inside ops->request: answers are sent, not serviced */
	bool eof;	  /* the peer will send nothing more */
	bool discarding;  /* skipping the rest of an oversized request */
	size_t in_len;
	char in[CONTROL_MAX_LINE];
	char *out;
	size_t out_len, out_cap;
};

bool control_server_peer_allowed(uid_t peer, uid_t self)
{
	return peer == self || peer == 0;
}

int control_server_resolve_path(const char *path, pid_t pid, char *out, size_t outlen, char *err,
				size_t errlen)
{
	struct stat st;
	int n;

	if (!path || !*path) {
		snprintf(err, errlen, "empty socket path");
		return -EINVAL;
	}
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		n = snprintf(out, outlen, "%s%scove-%d.sock", path,
			     path[strlen(path) - 1] == '/' ? "" : "/", (int)pid);
	else
		n = snprintf(out, outlen, "%s", path);
	if (n < 0 || (size_t)n >= outlen || (size_t)n >= CONTROL_SOCKET_PATH_MAX) {
		snprintf(err, errlen, "socket path too long: at most %zu bytes fit in a Unix "
			 "socket address", CONTROL_SOCKET_PATH_MAX - 1);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* ---- output ---- */

static void flush(struct control_conn *c)
{
	while (c->out_len > 0 && !c->dead) {
		ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			memmove(c->out, c->out + n, c->out_len - (size_t)n);
			c->out_len -= (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return; /* the EPOLLOUT edge brings us back */
		} else {
			c->dead = true; /* the peer went away */
		}
	}
}

/* Queues one message (not taken) and sends what the socket takes now. */
static void send_msg(struct control_conn *c, json_object *msg)
{
	size_t len;
	char *line;

	if (c->dead)
		return;
	line = msg ? control_proto_serialize(msg, &len) : NULL;
	if (!line) {
		log_error("control: out of memory for an answer");
		c->dead = true;
		return;
	}
	/* A bigger message (a guest agent's answer) may go alone into an empty queue. */
	if (c->out_len > 0 && c->out_len + len > CONTROL_MAX_OUTPUT) {
		log_warn("control: client pid %d reads nothing; disconnected", (int)c->pid);
		c->dead = true;
	} else if (c->out_len + len > c->out_cap) {
		size_t cap = MAX(c->out_len + len, 2 * c->out_cap);
		char *p = realloc(c->out, cap);

		if (!p) {
			c->dead = true;
		} else {
			c->out = p;
			c->out_cap = cap;
		}
	}
	if (!c->dead) {
		memcpy(c->out + c->out_len, line, len);
		c->out_len += len;
		flush(c);
	}
	free(line);
}

static void send_error(struct control_conn *c, json_object *id, enum control_error_class cls,
		       const char *desc)
{
	json_object *msg = control_proto_error(id, cls, desc);

	send_msg(c, msg);
	json_object_put(msg);
}

/* ---- input ---- */

static void dispatch(struct control_conn *c, const char *line, size_t len)
{
	struct control_server *srv = c->srv;
	struct control_request req;
	struct control_error err;
	struct control_call *call;

	if (control_proto_parse_request(line, len, &req, &err)) {
		send_error(c, req.id, err.cls, err.desc);
		control_request_clear(&req);
		return;
	}
	call = calloc(1, sizeof(*call));
	if (!call) {
		send_error(c, req.id, CONTROL_ERR_GENERIC, "out of memory");
		control_request_clear(&req);
		return;
	}
	*call = (struct control_call){ .srv = srv, .slot = c->slot, .gen = c->gen,
				       .id = json_object_get(req.id), .cmd = req.cmd,
				       .peer_uid = c->uid, .peer_pid = c->pid };
	c->busy = true;
	c->dispatching = true;
	srv->ops->request(srv->opaque, call, &req);
	c->dispatching = false;
	control_request_clear(&req);
}

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!strchr(" \t\r", s[i]))
			return false;
	return true;
}

static void consume(struct control_conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

/* Handles the complete requests in the buffer, one at a time. */
static void process(struct control_conn *c)
{
	while (!c->busy && !c->dead) {
		char *nl = memchr(c->in, '\n', c->in_len);
		size_t len = nl ? (size_t)(nl - c->in) : c->in_len;

		if (c->discarding) {
			consume(c, nl ? len + 1 : len);
			c->discarding = !nl;
			if (!nl)
				return;
			continue;
		}
		if (!nl && c->in_len == sizeof(c->in)) {
			char desc[80];

			snprintf(desc, sizeof(desc), "request longer than %d bytes: skipped",
				 CONTROL_MAX_LINE);
			send_error(c, NULL, CONTROL_ERR_GENERIC, desc);
			c->discarding = true;
			continue;
		}
		if (!nl && !(c->eof && c->in_len > 0))
			return;
		if (!blank(c->in, len))
			dispatch(c, c->in, len);
		consume(c, nl ? len + 1 : len);
	}
}

/* Reads while there is room and the connection is not waiting on an answer. */
static void service(struct control_conn *c)
{
	process(c);
	while (!c->dead && !c->eof && c->in_len < sizeof(c->in) && !c->busy) {
		ssize_t n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);

		if (n > 0) {
			c->in_len += (size_t)n;
		} else if (n == 0) {
			c->eof = true;
		} else if (errno == EINTR) {
			continue;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			break;
		} else {
			c->dead = true;
		}
		process(c);
	}
	if (c->eof && !c->busy && c->in_len == 0 && c->out_len == 0)
		c->dead = true; /* all said and done */
}

/* ---- connections ---- */

static void conn_free(struct control_conn *c)
{
	struct control_server *srv = c->srv;

	event_loop_remove(srv->loop, c->fd);
	close(c->fd);
	srv->conns[c->slot] = NULL;
	free(c->out);
	free(c);
}

static void reap(struct control_conn *c)
{
	if (c->dead)
		conn_free(c);
}

static void on_conn(void *opaque, uint32_t events)
{
	struct control_conn *c = opaque;

	if (events & EPOLLERR)
		c->dead = true;
	flush(c);
	service(c); /* also ends a half-closed connection once its answers are out */
	reap(c);
}

static struct control_conn *conn_new(struct control_server *srv, int fd, const struct ucred *cred)
{
	struct control_conn *c = NULL;
	unsigned int slot;

	for (slot = 0; slot < CONTROL_MAX_CONNS && srv->conns[slot]; slot++)
		;
	if (slot < CONTROL_MAX_CONNS)
		c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	*c = (struct control_conn){ .srv = srv, .slot = slot, .gen = ++srv->next_gen, .fd = fd,
				    .uid = cred->uid, .pid = cred->pid };
	if (event_loop_add(srv->loop, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, on_conn, c)) {
		free(c);
		return NULL;
	}
	srv->conns[slot] = c;
	return c;
}

/* Best effort, for connections refused before they exist. */
static void refuse(int fd, enum control_error_class cls, const char *desc)
{
	json_object *msg = control_proto_error(NULL, cls, desc);
	size_t len;
	char *line = msg ? control_proto_serialize(msg, &len) : NULL;

	if (line && send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("control: could not tell a refused client why: %s", strerror(errno));
	free(line);
	json_object_put(msg);
	close(fd);
}

static void accept_one(struct control_server *srv, int fd)
{
	struct ucred cred = { 0 };
	socklen_t len = sizeof(cred);
	struct control_conn *c;
	json_object *hello;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warn("control: cannot identify a client: %s", strerror(errno));
		close(fd);
		return;
	}
	if (!control_server_peer_allowed(cred.uid, geteuid())) {
		log_warn("control: refused pid %d: uid %d is neither the owner nor root",
			 (int)cred.pid, (int)cred.uid);
		refuse(fd, CONTROL_ERR_PERMISSION_DENIED,
		       "only the VM's owner and root may use this socket");
		return;
	}
	c = conn_new(srv, fd, &cred);
	if (!c) {
		log_warn("control: refused pid %d: too many connections", (int)cred.pid);
		refuse(fd, CONTROL_ERR_GENERIC, "too many connections");
		return;
	}
	log_debug("control: pid %d (uid %d) connected", (int)cred.pid, (int)cred.uid);
	hello = control_proto_greeting(srv->pid, srv->name);
	send_msg(c, hello);
	json_object_put(hello);
	service(c); /* data may have arrived with the connection: no new edge */
	reap(c);
}

static void on_listen(void *opaque, uint32_t events)
{
	struct control_server *srv = opaque;

	(void)events;
	for (;;) {
		int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("control: accept: %s", strerror(errno));
			return;
		}
		accept_one(srv, fd);
	}
}

/* ---- the server ---- */

int control_server_open(struct control_server *srv, const char *path, struct event_loop *loop,
			const struct control_server_ops *ops, void *opaque, const char *name)
{
	char err[160];
	int ret;

	*srv = (struct control_server){ .listen_fd = -1, .loop = loop, .ops = ops,
					.opaque = opaque, .pid = getpid(), .name = name };
	ret = control_server_resolve_path(path, srv->pid, srv->path, sizeof(srv->path), err,
					  sizeof(err));
	if (!ret)
		ret = control_socket_listen(srv->path, &srv->dev, &srv->ino, err, sizeof(err));
	if (ret < 0) {
		log_error("control socket %s: %s", ret == -ENAMETOOLONG ? path : srv->path, err);
		return ret;
	}
	srv->listen_fd = ret;
	ret = event_loop_add(loop, srv->listen_fd, EPOLLIN, on_listen, srv);
	if (ret) {
		log_error("control socket %s: cannot watch it: %s", srv->path, strerror(-ret));
		close(srv->listen_fd);
		control_socket_unlink(srv->path, srv->dev, srv->ino);
		srv->listen_fd = -1;
		return ret;
	}
	srv->watched = true;
	log_info("control socket at %s", srv->path);
	return 0;
}

void control_server_event(struct control_server *srv, const char *name, json_object *data)
{
	json_object *msg = control_proto_event(name, data);

	if (!msg)
		return;
	for (unsigned int i = 0; i < CONTROL_MAX_CONNS; i++) {
		struct control_conn *c = srv->conns[i];

		if (!c)
			continue;
		send_msg(c, msg);
		if (!c->dispatching) /* never free the caller's own connection under it */
			reap(c);
	}
	json_object_put(msg);
}

void control_server_close(struct control_server *srv, const char *event, json_object *data)
{
	if (srv->listen_fd < 0)
		return;
	if (event)
		control_server_event(srv, event, data);
	else
		json_object_put(data);
	for (unsigned int i = 0; i < CONTROL_MAX_CONNS; i++) {
		if (srv->conns[i]) {
			flush(srv->conns[i]);
			conn_free(srv->conns[i]);
		}
	}
	if (srv->watched)
		event_loop_remove(srv->loop, srv->listen_fd);
	close(srv->listen_fd);
	control_socket_unlink(srv->path, srv->dev, srv->ino);
	srv->listen_fd = -1;
}

/* ---- answers ---- */

static void answer(struct control_call *call, json_object *msg)
{
	struct control_server *srv = call->srv;
	struct control_conn *c = call->slot < CONTROL_MAX_CONNS ? srv->conns[call->slot] : NULL;

	if (c && c->gen == call->gen) {
		send_msg(c, msg);
		c->busy = false;
		if (!c->dispatching) {
			service(c); /* the requests that waited behind this one */
			reap(c);
		}
	}
	json_object_put(msg);
	json_object_put(call->id);
	free(call);
}

void control_call_return(struct control_call *call, json_object *ret)
{
	answer(call, control_proto_return(call->id, ret));
}

void control_call_error(struct control_call *call, enum control_error_class cls, const char *fmt,
			...)
{
	char desc[CONTROL_DESC_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	answer(call, control_proto_error(call->id, cls, desc));
}
