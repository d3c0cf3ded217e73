/* The control protocol's client side; see control_client.h. */
#include "control/control_client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/control_socket.h"

/* Reads more bytes into the buffer, waiting at most the timeout. */
static int fill(struct control_client *c, char *err, size_t errlen)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	ssize_t n;
	int r;

	if (c->len == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 4096;
		char *b;

		if (c->cap > CONTROL_MAX_REPLY) {
			snprintf(err, errlen, "the server sent a line over %d bytes",
				 CONTROL_MAX_REPLY);
			return -EMSGSIZE;
		}
		b = realloc(c->buf, cap);
		if (!b) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		c->buf = b;
		c->cap = cap;
	}
	do
		r = poll(&p, 1, c->timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0) {
		snprintf(err, errlen, "no answer within %d s", c->timeout_ms / 1000);
		return -ETIMEDOUT;
	}
	do
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		snprintf(err, errlen, "the VM closed the connection%s%s", n < 0 ? ": " : "",
			 n < 0 ? strerror(errno) : "");
		return -ECONNRESET;
	}
	c->len += (size_t)n;
	return 0;
}

int control_client_read(struct control_client *c, struct control_reply *reply, char *err,
			size_t errlen)
{
	char *nl;
	int ret;

	/* An empty buffer may not be allocated yet: memchr(NULL, ...) is undefined. */
	while (!(nl = c->len ? memchr(c->buf, '\n', c->len) : NULL)) {
		ret = fill(c, err, errlen);
		if (ret)
			return ret;
	}
	ret = control_proto_parse_reply(c->buf, (size_t)(nl - c->buf), reply, err, errlen);
	c->len -= (size_t)(nl + 1 - c->buf);
	memmove(c->buf, nl + 1, c->len);
	return ret;
}

static int send_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int control_client_call(struct control_client *c, const char *cmd, json_object *args,
			struct control_reply *reply, char *err, size_t errlen)
{
	json_object *msg = control_proto_request(cmd, args);
	char *line = NULL;
	size_t len;
	int ret;

	if (msg)
		line = control_proto_serialize(msg, &len);
	json_object_put(msg);
	if (!line) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = send_all(c->fd, line, len);
	free(line);
	if (ret) {
		snprintf(err, errlen, "cannot send the request: %s", strerror(-ret));
		return ret;
	}
	for (;;) {
		ret = control_client_read(c, reply, err, errlen);
		if (ret)
			return ret;
		if (reply->kind == CONTROL_REPLY_RETURN || reply->kind == CONTROL_REPLY_ERROR)
			return 0;
		control_reply_clear(reply); /* an event: not ours */
	}
}

static int check_greeting(struct control_client *c, char *err, size_t errlen)
{
	struct control_reply r;
	json_object *v = NULL;
	int ret = control_client_read(c, &r, err, errlen);

	if (ret)
		return ret;
	if (r.kind == CONTROL_REPLY_ERROR) {
		snprintf(err, errlen, "refused: %s: %s", r.error_class, r.error_desc);
		ret = r.error_class && strcmp(r.error_class, "PermissionDenied") == 0 ? -EACCES
										       : -EPROTO;
	} else if (r.kind != CONTROL_REPLY_GREETING || !r.value ||
		   !json_object_object_get_ex(r.value, "protocol", &v) ||
		   json_object_get_int(v) != CONTROL_PROTOCOL_VERSION) {
		snprintf(err, errlen, "not a Cove control socket of protocol version %d",
			 CONTROL_PROTOCOL_VERSION);
		ret = -EPROTO;
	}
	control_reply_clear(&r);
	return ret;
}

int control_client_open(struct control_client *c, const char *path, char *err, size_t errlen)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->timeout_ms = CONTROL_CLIENT_TIMEOUT_MS;
	c->fd = control_socket_connect(path, err, errlen);
	if (c->fd < 0)
		return c->fd;
	ret = check_greeting(c, err, errlen);
	if (ret)
		control_client_close(c);
	return ret;
}

void control_client_close(struct control_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
	c->len = c->cap = 0;
}
