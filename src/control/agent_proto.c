/* The guest agent's wire protocol, host side; see agent_proto.h. */
#include "control/agent_proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void agent_scan_init(struct agent_scan *s, int64_t sync_id, size_t max)
{
	*s = (struct agent_scan){.state = AGENT_SCAN_SYNC, .sync_id = sync_id, .max = max};
}

void agent_scan_clear(struct agent_scan *s)
{
	free(s->line);
	json_object_put(s->reply);
	*s = (struct agent_scan){0};
}

/* Appends to the line, up to `limit` bytes in all. -EMSGSIZE beyond, -ENOMEM. */
static int append(struct agent_scan *s, const char *buf, size_t n, size_t limit)
{
	if (n == 0)
		return 0;
	if (n > limit - s->len)
		return -EMSGSIZE;
	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap : 256;
		char *p;

		while (cap < s->len + n)
			cap *= 2;
		p = realloc(s->line, cap);
		if (!p)
			return -ENOMEM;
		s->line = p;
		s->cap = cap;
	}
	memcpy(s->line + s->len, buf, n);
	s->len += n;
	return 0;
}

static bool blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

/* Parses line[0..len) as one JSON object, surrounding whitespace allowed. */
static json_object *parse_object(const char *line, size_t len)
{
	json_tokener *tok;
	json_object *obj;
	size_t end;

	while (len && blank(line, 1))
		line++, len--;
	if (len == 0 || len > INT32_MAX || memchr(line, '\0', len))
		return NULL;
	tok = json_tokener_new();
	if (!tok)
		return NULL;
	obj = json_tokener_parse_ex(tok, line, (int)len);
	end = json_tokener_get_parse_end(tok);
	if (obj && (json_tokener_get_error(tok) != json_tokener_success ||
		    !json_object_is_type(obj, json_type_object) || end > len ||
		    !blank(line + end, len - end))) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

/* The sync line is complete: is it {"return": sync_id}? */
static bool sync_matches(struct agent_scan *s)
{
	json_object *obj = parse_object(s->line, s->len), *ret;
	bool ok = obj && json_object_object_get_ex(obj, "return", &ret) &&
		  json_object_is_type(ret, json_type_int) &&
		  json_object_get_int64(ret) == s->sync_id;

	json_object_put(obj);
	return ok;
}

/* Guest-controlled: the sync phase. */
static int feed_sync(struct agent_scan *s, const char *buf, size_t len, size_t *used)
{
	const char *ff, *nl;
	size_t n;
	int err;

	if (!s->in_sync_line) {
		ff = memchr(buf, AGENT_SENTINEL, len);
		*used = ff ? (size_t)(ff - buf) + 1 : len;
		s->in_sync_line = ff != NULL;
		s->len = 0;
		return AGENT_SCAN_MORE;
	}
	/* A new sentinel restarts the line; a newline ends it. */
	ff = memchr(buf, AGENT_SENTINEL, len);
	nl = memchr(buf, '\n', ff ? (size_t)(ff - buf) : len);
	n = nl ? (size_t)(nl - buf) : ff ? (size_t)(ff - buf) : len;
	*used = n;
	err = append(s, buf, n, AGENT_SYNC_LINE_MAX);
	if (err == -EMSGSIZE) {
		s->in_sync_line = false; /* not a sync answer: scan on */
		return AGENT_SCAN_MORE;
	}
	if (err)
		return err;
	if (!nl) {
		if (ff) {
			s->len = 0;
			*used = n + 1;
		}
		return AGENT_SCAN_MORE;
	}
	*used = n + 1;
	s->in_sync_line = false;
	if (!sync_matches(s))
		return AGENT_SCAN_MORE;
	s->state = AGENT_SCAN_REPLY;
	s->len = 0;
	return AGENT_SCAN_SYNCED;
}

/* Guest-controlled: the answer phase, one line. */
static int feed_reply(struct agent_scan *s, const char *buf, size_t len, size_t *used)
{
	const char *nl = memchr(buf, '\n', len);
	size_t n = nl ? (size_t)(nl - buf) : len, skip = 0;
	int err = append(s, buf, n, s->max);

	*used = nl ? n + 1 : n;
	if (err)
		return err;
	if (!nl)
		return AGENT_SCAN_MORE;
	/* The answer to a guest-sync-delimited the client sent itself starts with 0xFF. */
	while (skip < s->len && (unsigned char)s->line[skip] == AGENT_SENTINEL)
		skip++;
	if (blank(s->line + skip, s->len - skip)) {
		s->len = 0;
		return AGENT_SCAN_MORE;
	}
	s->reply = parse_object(s->line + skip, s->len - skip);
	s->len = 0;
	if (!s->reply)
		return -EBADMSG;
	s->state = AGENT_SCAN_DONE;
	return AGENT_SCAN_ANSWER;
}

int agent_scan_feed(struct agent_scan *s, const char *buf, size_t len, size_t *used)
{
	*used = len;
	if (len == 0 || s->state == AGENT_SCAN_DONE)
		return AGENT_SCAN_MORE;
	if (s->state == AGENT_SCAN_SYNC)
		return feed_sync(s, buf, len, used);
	return feed_reply(s, buf, len, used);
}

char *agent_proto_sync_request(int64_t sync_id, size_t *len)
{
	char *buf;
	int n =
	    asprintf(&buf, "%c{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":%lld}}\n",
		     AGENT_SENTINEL, (long long)sync_id);

	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return buf;
}

const char *agent_proto_command_name(json_object *cmd)
{
	json_object *exec;

	if (!json_object_is_type(cmd, json_type_object) ||
	    !json_object_object_get_ex(cmd, "execute", &exec) ||
	    !json_object_is_type(exec, json_type_string))
		return NULL;
	return json_object_get_string(exec);
}

int agent_proto_check_command(json_object *cmd, char *err, size_t errlen)
{
	if (!json_object_is_type(cmd, json_type_object)) {
		snprintf(err, errlen, "a guest agent command is a JSON object");
		return -EINVAL;
	}
	if (!agent_proto_command_name(cmd)) {
		snprintf(err, errlen, "the guest agent command has no \"execute\" string");
		return -EINVAL;
	}
	return 0;
}

bool agent_proto_no_reply(const char *name)
{
	static const char *const names[] = {"guest-shutdown", "guest-suspend-disk",
					    "guest-suspend-ram", "guest-suspend-hybrid"};

	for (size_t i = 0; name && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}
