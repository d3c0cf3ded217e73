/*
 * The control socket's wire protocol, shared by the server (control_server.c,
 * in `cove run`) and the client verbs (control_client.c: `cove stop`, ...).
 * docs/control-protocol.md is the user's description; this header is the
 * contract in code. It follows QMP's shape (protocols.md section 4):
 *
 *   transport  AF_UNIX SOCK_STREAM; every message is one JSON object on one
 *              line, ended by '\n' (newline-delimited JSON), UTF-8, at most
 *              CONTROL_MAX_LINE bytes with the newline
 *   greeting   the server speaks first:
 *              {"cove": {"protocol": 1, "pid": N, "name": S|null}}
 *   request    {"execute": NAME, "arguments": {...}, "id": ANY}; arguments
 *              and id are optional; id is echoed in the answer
 *   answer     {"return": {...}, "id": ...}
 *              {"error": {"class": CLASS, "desc": TEXT}, "id": ...}
 *   event      {"event": NAME, "data": {...},
 *               "timestamp": {"seconds": S, "microseconds": U}}
 *
 * Requests on one connection are answered in order, one at a time. The
 * parser is pure (bytes in, struct out, no I/O): the fuzzer drives it.
 * Strings built here are JSON text without the newline; callers add it.
 */
#ifndef COVE_CONTROL_CONTROL_PROTO_H
#define COVE_CONTROL_CONTROL_PROTO_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/compiler.h"

#define CONTROL_PROTOCOL_VERSION 1
#define CONTROL_MAX_LINE 16384	/* one request, newline included */
/*
 * One message from the server, as a client accepts it: big enough for a
 * guest agent answer (agent_proto.h: AGENT_REPLY_MAX) in its envelope.
 */
#define CONTROL_MAX_REPLY (64 * 1024 * 1024)
#define CONTROL_MAX_DEPTH 16	/* JSON nesting accepted in a request */
#define CONTROL_DESC_MAX 256	/* an error description, NUL included */

enum control_cmd {
	CONTROL_CMD_CAPABILITIES, /* qmp_capabilities: accepted, does nothing */
	CONTROL_CMD_STATUS,	  /* status, alias query-status */
	CONTROL_CMD_QUIT,	  /* quit: hard stop, `cove run` exits 0 */
	CONTROL_CMD_POWERDOWN,	  /* powerdown, alias system_powerdown */
	CONTROL_CMD_RESET,	  /* reset, alias system_reset: exits 32 */
	CONTROL_CMD_PAUSE,	  /* pause the vCPUs */
	CONTROL_CMD_RESUME,	  /* resume, alias cont */
	CONTROL_CMD_BALLOON,	  /* balloon {"num_bytes": N} or {"value": N} */
	CONTROL_CMD_BALLOON_STATS, /* balloon-stats, alias query-balloon */
	CONTROL_CMD_AGENT,	  /* agent {"message": {...}}: guest agent passthrough */
	CONTROL_CMD_COUNT,
};

/* Error classes: QMP's names, plus PermissionDenied. */
enum control_error_class {
	CONTROL_ERR_GENERIC,	      /* GenericError: malformed request, bad argument, failure */
	CONTROL_ERR_COMMAND_NOT_FOUND, /* CommandNotFound */
	CONTROL_ERR_DEVICE_NOT_FOUND, /* DeviceNotFound: e.g. no balloon */
	CONTROL_ERR_DEVICE_NOT_ACTIVE, /* DeviceNotActive: its guest driver is not running */
	CONTROL_ERR_PERMISSION_DENIED, /* PermissionDenied: peer is neither owner nor root */
};

struct control_error {
	enum control_error_class cls;
	char desc[CONTROL_DESC_MAX];
};

struct control_request {
	enum control_cmd cmd;
	json_object *id; /* owned reference, or NULL when the request had none */
	union {
		struct {
			/* num_bytes (crosvm): bytes to put in the balloon; value
			 * (QMP): guest memory to leave. */
			bool is_target;
			uint64_t bytes;
		} balloon;
		json_object *agent_message; /* owned */
	};
	int agent_timeout_ms; /* agent: "timeout" (seconds) in ms; 0: the default */
};

/* The canonical name of a command ("status", ...). */
const char *control_proto_cmd_name(enum control_cmd cmd);
/* The wire name of an error class ("GenericError", ...). */
const char *control_proto_error_class_name(enum control_error_class cls);

/*
 * Guest-agnostic but peer-controlled: line[0..len), one message without its
 * newline. On success fills *req (release it with control_request_clear())
 * and returns 0. On failure returns -EINVAL with *err set (class and a
 * one-line description); req->id is still set if the request carried a
 * usable id (so that the error can echo it), and must be cleared too.
 */
must_check int control_proto_parse_request(const char *line, size_t len,
					   struct control_request *req, struct control_error *err);
void control_request_clear(struct control_request *req);

/* Messages the server sends. Each returns a new object (NULL: no memory). */
json_object *control_proto_greeting(pid_t pid, const char *name);
/* Takes `ret` (NULL means {}); `id` is borrowed (NULL: no id). */
json_object *control_proto_return(json_object *id, json_object *ret);
json_object *control_proto_error(json_object *id, enum control_error_class cls, const char *desc);
/* Takes `data` (NULL: no data member); stamped with the wall clock. */
json_object *control_proto_event(const char *name, json_object *data);

/*
 * The one-line text of `msg` followed by '\n', malloc'ed; *len is its
 * length. NULL when out of memory.
 */
char *control_proto_serialize(json_object *msg, size_t *len);

/* What a client reads. */
enum control_reply_kind {
	CONTROL_REPLY_GREETING,
	CONTROL_REPLY_RETURN,
	CONTROL_REPLY_ERROR,
	CONTROL_REPLY_EVENT,
};

struct control_reply {
	enum control_reply_kind kind;
	json_object *msg;   /* the whole message (owned) */
	json_object *value; /* greeting body, return value, event data (borrowed, may be NULL) */
	const char *error_class; /* CONTROL_REPLY_ERROR (borrowed from msg) */
	const char *error_desc;
	const char *event; /* CONTROL_REPLY_EVENT: its name */
};

/* A request from a client: {"execute": cmd, "arguments": args}; takes args. */
json_object *control_proto_request(const char *cmd, json_object *args);

/*
 * Server-controlled: parses one line from the server. Returns 0 with *out
 * filled (release with control_reply_clear()), or -EINVAL with a
 * description in err.
 */
must_check int control_proto_parse_reply(const char *line, size_t len, struct control_reply *out,
					 char *err, size_t errlen);
void control_reply_clear(struct control_reply *r);

#endif
