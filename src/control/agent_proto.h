/*
 * The QEMU guest agent's wire protocol, as the host speaks it
 * (shared/reference/protocols.md section 3; qemu-ga-ref(7)): bytes in,
 * results out, no I/O, so that unit tests and the fuzzer
 * (tests/fuzz/fuzz_agent_reply.c) drive it directly.
 *
 *   session  the host sends 0xFF (the agent drops any partial input), then
 *            {"execute":"guest-sync-delimited","arguments":{"id":N}}; the
 *            agent answers with the byte 0xFF followed by {"return":N} and a
 *            newline. Everything before that sentinel (stale answers of an
 *            earlier session, the agent's complaint about the 0xFF) is
 *            skipped, as is a sync answer with another id. Then the host
 *            sends the command, and the agent's next line is its answer:
 *            {"return":...} or {"error":{"class":...,"desc":...}}, serialized
 *            compactly on one line.
 *   limits   a sync line longer than AGENT_SYNC_LINE_MAX is dropped (the
 *            scan goes on); an answer longer than the scanner's maximum is
 *            an error, as is a line that is not a JSON object.
 */
#ifndef COVE_CONTROL_AGENT_PROTO_H
#define COVE_CONTROL_AGENT_PROTO_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"

#define AGENT_SENTINEL 0xff
#define AGENT_SYNC_LINE_MAX 256
/*
 * The largest answer accepted: guest-exec-status carries up to 16 MiB of
 * captured output per stream (qemu-ga's GUEST_EXEC_MAX_OUTPUT), base64-encoded.
 */
#define AGENT_REPLY_MAX (48u * 1024 * 1024)

enum agent_scan_state {
	AGENT_SCAN_SYNC,  /* looking for the sync answer */
	AGENT_SCAN_REPLY, /* synced: waiting for the command's answer */
	AGENT_SCAN_DONE,  /* the answer is in scan->reply */
};

struct agent_scan {
	enum agent_scan_state state;
	int64_t sync_id;
	bool in_sync_line; /* past a sentinel, collecting its line */
	size_t max;	   /* the longest answer accepted */
	char *line;	   /* the line being collected */
	size_t len, cap;
	json_object *reply; /* AGENT_SCAN_DONE: the answer (owned) */
};

/* Results of agent_scan_feed(), besides -errno. */
enum agent_scan_event {
	AGENT_SCAN_MORE,   /* everything consumed: feed more */
	AGENT_SCAN_SYNCED, /* the sync answer is complete: send the command now */
	AGENT_SCAN_ANSWER, /* the command's answer is complete (scan->reply) */
};

/* Starts a scan expecting the sync answer for `sync_id`; answers up to `max` bytes. */
void agent_scan_init(struct agent_scan *s, int64_t sync_id, size_t max);
void agent_scan_clear(struct agent_scan *s);

/*
 * Guest-controlled: buf[0..len) are the next bytes the agent sent. Consumes
 * them up to the first event and sets *used to the number consumed; the
 * caller feeds the rest again. Returns an agent_scan_event, -EMSGSIZE (an
 * answer over the maximum), -EBADMSG (the answer is not a JSON object) or
 * -ENOMEM. Bytes after the answer are ignored (AGENT_SCAN_DONE).
 */
must_check int agent_scan_feed(struct agent_scan *s, const char *buf, size_t len, size_t *used);

/*
 * The bytes that open a session: 0xFF, then guest-sync-delimited with
 * `sync_id`, then a newline. Returns a malloc'ed buffer (*len set), or NULL.
 */
char *agent_proto_sync_request(int64_t sync_id, size_t *len);

/*
 * Checks a command object from a client: an object with a string
 * "execute". Returns 0, or -EINVAL with one line in err.
 */
must_check int agent_proto_check_command(json_object *cmd, char *err, size_t errlen);

/* The command's name (its "execute"); NULL if it has none. */
const char *agent_proto_command_name(json_object *cmd);

/*
 * True for commands the agent answers only when they fail
 * ('success-response': 'no'): guest-shutdown and guest-suspend-*.
 */
bool agent_proto_no_reply(const char *name);

#endif
