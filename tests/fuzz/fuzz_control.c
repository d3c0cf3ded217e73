/*
 * Fuzz target: the control socket's messages (control/control_proto.h),
 * from the peer's side. The input is split at newlines, as the server
 * frames it; every line goes through the request parser, whose verdict
 * must be coherent:
 *
 *   - accepted: a known command, balloon arguments only for balloon, an
 *     agent message object only for agent; the answer built with the
 *     request's id serialises to one line and parses back as a return;
 *   - refused: a description, and an error answer that parses back as an
 *     error of the same class;
 *
 * and through the client's reply parser (what `cove status` trusts from a
 * server), which must never crash either.
 */
#include <stdlib.h>
#include <string.h>

#include "control/control_proto.h"
#include "fuzz.h"

#define check(cond)                   \
	do {                          \
		if (!(cond))          \
			abort();      \
	} while (0)

/* msg serialises to one newline-ended line that parses back as `kind`. */
static void roundtrip(json_object *msg, enum control_reply_kind kind, const char *cls)
{
	struct control_reply r;
	char why[128];
	size_t len;
	char *line;

	check(msg);
	line = control_proto_serialize(msg, &len);
	check(line && len > 0 && line[len - 1] == '\n' && !memchr(line, '\n', len - 1));
	if (len - 1 <= CONTROL_MAX_REPLY) {
		check(control_proto_parse_reply(line, len - 1, &r, why, sizeof(why)) == 0);
		check(r.kind == kind);
		check(!cls || strcmp(r.error_class, cls) == 0);
		control_reply_clear(&r);
	}
	free(line);
	json_object_put(msg);
}

static void one_line(const char *line, size_t len)
{
	struct control_request req;
	struct control_error err;
	struct control_reply r;
	char why[128];

	memset(&err, 0, sizeof(err));
	if (control_proto_parse_request(line, len, &req, &err) == 0) {
		check((unsigned int)req.cmd < CONTROL_CMD_COUNT);
		if (req.cmd == CONTROL_CMD_AGENT)
			check(json_object_is_type(req.agent_message, json_type_object));
		roundtrip(control_proto_return(req.id, NULL), CONTROL_REPLY_RETURN, NULL);
	} else {
		check(err.desc[0] != '\0' && memchr(err.desc, '\0', sizeof(err.desc)));
		roundtrip(control_proto_error(req.id, err.cls, err.desc), CONTROL_REPLY_ERROR,
			  control_proto_error_class_name(err.cls));
	}
	control_request_clear(&req);
	if (control_proto_parse_reply(line, len, &r, why, sizeof(why)) == 0)
		control_reply_clear(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		one_line(p, len);
		p += len + (nl != NULL);
	}
	return 0;
}
