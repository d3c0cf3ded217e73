/*
 * Fuzz target: what a hostile or broken guest agent sends back
 * (control/agent_proto.c). The input is a byte stream from the agent, fed
 * to the scanner in pieces whose sizes the input itself chooses:
 *
 *   data[0]      the sync id the scan waits for is data[0] % 8
 *   data[1]      the largest answer accepted: 64 << (data[1] % 8) bytes
 *   then         records: one length byte L, then L % 64 stream bytes
 *
 * Checked: the scanner consumes something on every call, reports the sync
 * at most once and before any answer, an answer is a JSON object within the
 * maximum, and after an answer or an error nothing more is reported.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/agent_proto.h"
#include "fuzz.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_scan s;
	bool synced = false, ended = false;
	size_t max, i = 2;

	if (size < 2)
		return 0;
	max = (size_t)64 << (data[1] % 8);
	agent_scan_init(&s, data[0] % 8, max);
	while (i < size && !ended) {
		size_t len = data[i++] % 64, off = 0;

		len = len < size - i ? len : size - i;
		while (off < len && !ended) {
			size_t used = 0;
			int r = agent_scan_feed(&s, (const char *)data + i + off, len - off, &used);

			check(used > 0 && used <= len - off);
			off += used;
			if (r == AGENT_SCAN_SYNCED) {
				check(!synced);
				synced = true;
			} else if (r == AGENT_SCAN_ANSWER) {
				check(synced && s.reply &&
				      json_object_is_type(s.reply, json_type_object));
				check(strlen(json_object_to_json_string(s.reply)) <= 4 * max + 16);
				ended = true;
			} else if (r < 0) {
				check(synced && (r == -EMSGSIZE || r == -EBADMSG || r == -ENOMEM));
				ended = true;
			} else {
				check(r == AGENT_SCAN_MORE);
			}
		}
		i += len;
	}
	agent_scan_clear(&s);
	return 0;
}
