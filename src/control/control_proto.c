/*
 * The control protocol's messages (see control_proto.h and
 * docs/control-protocol.md): request parsing and validation, the server's
 * answers and events, and the client's side. JSON is json-c's, in strict
 * mode with UTF-8 validation and a nesting limit.
 */
#include "control/control_proto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct cmd_def {
	const char *name;
	const char *alias; /* QMP's name, or NULL */
	/* Validates `args` (an object, or NULL when absent) into req. */
	int (*parse_args)(json_object *args, struct control_request *req, struct control_error *err);
};

static int no_args(json_object *args, struct control_request *req, struct control_error *err);
static int balloon_args(json_object *args, struct control_request *req,
			struct control_error *err);
static int agent_args(json_object *args, struct control_request *req, struct control_error *err);

static const struct cmd_def cmds[CONTROL_CMD_COUNT] = {
	[CONTROL_CMD_CAPABILITIES] = { "qmp_capabilities", NULL, no_args },
	[CONTROL_CMD_STATUS] = { "status", "query-status", no_args },
	[CONTROL_CMD_QUIT] = { "quit", NULL, no_args },
	[CONTROL_CMD_POWERDOWN] = { "powerdown", "system_powerdown", no_args },
	[CONTROL_CMD_RESET] = { "reset", "system_reset", no_args },
	[CONTROL_CMD_PAUSE] = { "pause", NULL, no_args },
	[CONTROL_CMD_RESUME] = { "resume", "cont", no_args },
	[CONTROL_CMD_BALLOON] = { "balloon", NULL, balloon_args },
	[CONTROL_CMD_BALLOON_STATS] = { "balloon-stats", "query-balloon", no_args },
	[CONTROL_CMD_AGENT] = { "agent", NULL, agent_args },
};

static const char *const class_names[] = {
	[CONTROL_ERR_GENERIC] = "GenericError",
	[CONTROL_ERR_COMMAND_NOT_FOUND] = "CommandNotFound",
	[CONTROL_ERR_DEVICE_NOT_FOUND] = "DeviceNotFound",
	[CONTROL_ERR_DEVICE_NOT_ACTIVE] = "DeviceNotActive",
	[CONTROL_ERR_PERMISSION_DENIED] = "PermissionDenied",
};

const char *control_proto_cmd_name(enum control_cmd cmd)
{
	return (unsigned int)cmd < CONTROL_CMD_COUNT ? cmds[cmd].name : "?";
}

const char *control_proto_error_class_name(enum control_error_class cls)
{
	return (size_t)cls < ARRAY_SIZE(class_names) ? class_names[cls] : "GenericError";
}

printf_like(3, 4) static int fail(struct control_error *err, enum control_error_class cls,
				   const char *fmt, ...)
{
	va_list ap;

	err->cls = cls;
	va_start(ap, fmt);
	vsnprintf(err->desc, sizeof(err->desc), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/*
 * One JSON object from text[0..len): at most `max` bytes, strict JSON,
 * valid UTF-8, at most CONTROL_MAX_DEPTH deep, nothing but whitespace after it. Returns the
 * object or NULL with `why` set.
 */
static json_object *parse_object(const char *text, size_t len, size_t max, char *why,
				 size_t whylen)
{
	json_tokener *tok;
	json_object *obj = NULL;
	size_t end;

	if (len > max) {
		snprintf(why, whylen, "message longer than %zu bytes", max);
		return NULL;
	}
	if (memchr(text, '\0', len)) {
		snprintf(why, whylen, "NUL byte in the message");
		return NULL;
	}
	tok = json_tokener_new_ex(CONTROL_MAX_DEPTH);
	if (!tok) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	if (!obj) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		snprintf(why, whylen, "JSON parse error: %s",
			 e == json_tokener_continue ? "unexpected end of message"
						    : json_tokener_error_desc(e));
		goto out;
	}
	end = json_tokener_get_parse_end(tok);
	while (end < len && strchr(" \t\r\n", text[end]))
		end++;
	if (end != len) {
		snprintf(why, whylen, "JSON parse error: text after the object");
	} else if (!json_object_is_type(obj, json_type_object)) {
		snprintf(why, whylen, "expected a JSON object");
	} else {
		json_tokener_free(tok);
		return obj;
	}
	json_object_put(obj);
	obj = NULL;
out:
	json_tokener_free(tok);
	return obj;
}

static int no_args(json_object *args, struct control_request *req, struct control_error *err)
{
	if (args && json_object_object_length(args) > 0)
		return fail(err, CONTROL_ERR_GENERIC, "'%s' takes no arguments",
			    control_proto_cmd_name(req->cmd));
	return 0;
}

/* A non-negative JSON integer (up to 2^64 - 1). */
static int get_u64(json_object *v, const char *name, uint64_t *out, struct control_error *err)
{
	if (!json_object_is_type(v, json_type_int))
		return fail(err, CONTROL_ERR_GENERIC,
			    "invalid parameter type for '%s', expected: integer", name);
	if (json_object_get_int64(v) < 0)
		return fail(err, CONTROL_ERR_GENERIC, "'%s' must not be negative", name);
	*out = json_object_get_uint64(v);
	return 0;
}

/* {"num_bytes": N} (crosvm: the balloon's size) or {"value": N} (QMP: guest memory). */
static int balloon_args(json_object *args, struct control_request *req, struct control_error *err)
{
	json_object *num = NULL, *value = NULL;

	if (args) {
		json_object_object_foreach(args, key, val) {
			if (strcmp(key, "num_bytes") == 0)
				num = val;
			else if (strcmp(key, "value") == 0)
				value = val;
			else
				return fail(err, CONTROL_ERR_GENERIC,
					    "'balloon' has no argument '%.64s'", key);
		}
	}
	if (!num == !value)
		return fail(err, CONTROL_ERR_GENERIC,
			    "'balloon' takes one of 'num_bytes' (bytes in the balloon) and "
			    "'value' (guest memory to leave)");
	req->balloon.is_target = value != NULL;
	return get_u64(num ? num : value, num ? "num_bytes" : "value", &req->balloon.bytes, err);
}

static int agent_args(json_object *args, struct control_request *req, struct control_error *err)
{
	json_object *msg = NULL, *timeout = NULL;

	if (args) {
		json_object_object_foreach(args, key, val) {
			if (strcmp(key, "message") == 0)
				msg = val;
			else if (strcmp(key, "timeout") == 0)
				timeout = val;
			else
				return fail(err, CONTROL_ERR_GENERIC,
					    "'agent' has no argument '%.64s'", key);
		}
	}
	if (!msg || !json_object_is_type(msg, json_type_object))
		return fail(err, CONTROL_ERR_GENERIC,
			    "'agent' takes 'message', a guest agent command object");
	/* Seconds, as virsh qemu-agent-command --timeout; 0: the default. */
	if (timeout && ((!json_object_is_type(timeout, json_type_int) &&
			 !json_object_is_type(timeout, json_type_double)) ||
			json_object_get_double(timeout) < 0 ||
			json_object_get_double(timeout) > 3600))
		return fail(err, CONTROL_ERR_GENERIC,
			    "'timeout' must be a number of seconds from 0 to 3600");
	req->agent_timeout_ms = timeout ? (int)(json_object_get_double(timeout) * 1000) : 0;
	req->agent_message = json_object_get(msg);
	return 0;
}

static int lookup(const char *name, enum control_cmd *cmd)
{
	for (unsigned int i = 0; i < CONTROL_CMD_COUNT; i++) {
		if (strcmp(name, cmds[i].name) == 0 ||
		    (cmds[i].alias && strcmp(name, cmds[i].alias) == 0)) {
			*cmd = (enum control_cmd)i;
			return 0;
		}
	}
	return -ENOENT;
}

/* The members of a request object: execute, arguments, id; nothing else. */
static int split_request(json_object *obj, json_object **exec, json_object **args,
			 struct control_request *req, struct control_error *err)
{
	*exec = *args = NULL;
	json_object_object_foreach(obj, key, val) {
		if (strcmp(key, "execute") == 0)
			*exec = val;
		else if (strcmp(key, "arguments") == 0)
			*args = val;
		else if (strcmp(key, "id") == 0)
			req->id = json_object_get(val);
		else
			return fail(err, CONTROL_ERR_GENERIC, "unexpected member '%.64s' in a request",
				    key);
	}
	if (!*exec)
		return fail(err, CONTROL_ERR_GENERIC, "a request needs 'execute'");
	if (!json_object_is_type(*exec, json_type_string))
		return fail(err, CONTROL_ERR_GENERIC, "'execute' must be a string");
	if (*args && !json_object_is_type(*args, json_type_object))
		return fail(err, CONTROL_ERR_GENERIC, "'arguments' must be an object");
	return 0;
}

int control_proto_parse_request(const char *line, size_t len, struct control_request *req,
				struct control_error *err)
{
	json_object *obj, *exec, *args;
	int ret;

	memset(req, 0, sizeof(*req));
	obj = parse_object(line, len, CONTROL_MAX_LINE, err->desc, sizeof(err->desc));
	if (!obj) {
		err->cls = CONTROL_ERR_GENERIC;
		return -EINVAL;
	}
	ret = split_request(obj, &exec, &args, req, err);
	if (!ret && lookup(json_object_get_string(exec), &req->cmd))
		ret = fail(err, CONTROL_ERR_COMMAND_NOT_FOUND, "the command '%.64s' does not exist",
			   json_object_get_string(exec));
	if (!ret)
		ret = cmds[req->cmd].parse_args(args, req, err);
	json_object_put(obj); /* what req keeps holds its own references */
	return ret;
}

void control_request_clear(struct control_request *req)
{
	json_object_put(req->id);
	if (req->cmd == CONTROL_CMD_AGENT)
		json_object_put(req->agent_message);
	memset(req, 0, sizeof(*req));
}

/* ---- the server's messages ---- */

json_object *control_proto_greeting(pid_t pid, const char *name)
{
	json_object *msg = json_object_new_object(), *body = json_object_new_object();

	if (!msg || !body) {
		json_object_put(msg);
		json_object_put(body);
		return NULL;
	}
	json_object_object_add(body, "protocol", json_object_new_int(CONTROL_PROTOCOL_VERSION));
	json_object_object_add(body, "pid", json_object_new_int64(pid));
	json_object_object_add(body, "name", name ? json_object_new_string(name) : NULL);
	json_object_object_add(msg, "cove", body);
	return msg;
}

static json_object *with_id(json_object *msg, json_object *id)
{
	if (msg && id)
		json_object_object_add(msg, "id", json_object_get(id));
	return msg;
}

json_object *control_proto_return(json_object *id, json_object *ret)
{
	json_object *msg = json_object_new_object();

	if (!ret)
		ret = json_object_new_object();
	if (!msg || !ret) {
		json_object_put(msg);
		json_object_put(ret);
		return NULL;
	}
	json_object_object_add(msg, "return", ret);
	return with_id(msg, id);
}

json_object *control_proto_error(json_object *id, enum control_error_class cls, const char *desc)
{
	json_object *msg = json_object_new_object(), *e = json_object_new_object();

	if (!msg || !e) {
		json_object_put(msg);
		json_object_put(e);
		return NULL;
	}
	json_object_object_add(e, "class",
			       json_object_new_string(control_proto_error_class_name(cls)));
	json_object_object_add(e, "desc", json_object_new_string(desc));
	json_object_object_add(msg, "error", e);
	return with_id(msg, id);
}

json_object *control_proto_event(const char *name, json_object *data)
{
	json_object *msg = json_object_new_object(), *ts = json_object_new_object();
	struct timespec now;

	if (!msg || !ts) {
		json_object_put(msg);
		json_object_put(ts);
		json_object_put(data);
		return NULL;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	json_object_object_add(ts, "seconds", json_object_new_int64(now.tv_sec));
	json_object_object_add(ts, "microseconds", json_object_new_int64(now.tv_nsec / 1000));
	json_object_object_add(msg, "event", json_object_new_string(name));
	if (data)
		json_object_object_add(msg, "data", data);
	json_object_object_add(msg, "timestamp", ts);
	return msg;
}

char *control_proto_serialize(json_object *msg, size_t *len)
{
	const char *text = json_object_to_json_string_ext(
		msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n;
	char *line;

	if (!text)
		return NULL;
	n = strlen(text);
	line = malloc(n + 2);
	if (!line)
		return NULL;
	memcpy(line, text, n);
	line[n] = '\n';
	line[n + 1] = '\0';
	*len = n + 1;
	return line;
}

/* ---- the client's side ---- */

json_object *control_proto_request(const char *cmd, json_object *args)
{
	json_object *msg = json_object_new_object();

	if (!msg) {
		json_object_put(args);
		return NULL;
	}
	json_object_object_add(msg, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(msg, "arguments", args);
	return msg;
}

static int classify_reply(struct control_reply *r, char *err, size_t errlen)
{
	json_object *v;

	if (json_object_object_get_ex(r->msg, "return", &r->value)) {
		r->kind = CONTROL_REPLY_RETURN;
	} else if (json_object_object_get_ex(r->msg, "error", &v) &&
		   json_object_is_type(v, json_type_object)) {
		json_object *cls = NULL, *desc = NULL;

		json_object_object_get_ex(v, "class", &cls);
		json_object_object_get_ex(v, "desc", &desc);
		r->kind = CONTROL_REPLY_ERROR;
		r->error_class = cls ? json_object_get_string(cls) : "GenericError";
		r->error_desc = desc ? json_object_get_string(desc) : "(no description)";
	} else if (json_object_object_get_ex(r->msg, "event", &v) &&
		   json_object_is_type(v, json_type_string)) {
		r->kind = CONTROL_REPLY_EVENT;
		r->event = json_object_get_string(v);
		json_object_object_get_ex(r->msg, "data", &r->value);
	} else if (json_object_object_get_ex(r->msg, "cove", &r->value)) {
		r->kind = CONTROL_REPLY_GREETING;
	} else {
		snprintf(err, errlen, "unexpected message from the server");
		return -EINVAL;
	}
	return 0;
}

int control_proto_parse_reply(const char *line, size_t len, struct control_reply *out, char *err,
			      size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->msg = parse_object(line, len, CONTROL_MAX_REPLY, err, errlen);
	if (!out->msg)
		return -EINVAL;
	if (classify_reply(out, err, errlen)) {
		control_reply_clear(out);
		return -EINVAL;
	}
	return 0;
}

void control_reply_clear(struct control_reply *r)
{
	json_object_put(r->msg);
	memset(r, 0, sizeof(*r));
}
