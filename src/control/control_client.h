/*
 * The client side of the control protocol (control_proto.h): connect to a
 * VM's control socket, check the greeting, send requests and wait for
 * their answers (events that arrive meanwhile are skipped). Blocking, with
 * a timeout per answer: for the short-lived `cove stop`-style verbs.
 */
#ifndef COVE_CONTROL_CONTROL_CLIENT_H
#define COVE_CONTROL_CONTROL_CLIENT_H

#include <stddef.h>

#include "base/compiler.h"
#include "control/control_proto.h"

#define CONTROL_CLIENT_TIMEOUT_MS 30000

struct control_client {
	int fd;
	int timeout_ms;
	char *buf; /* received bytes not consumed yet */
	size_t len, cap;
};

/*
 * Connects to `path` and reads the greeting; refuses a server whose
 * protocol version differs. Returns 0 or -errno with one line in err.
 */
must_check int control_client_open(struct control_client *c, const char *path, char *err,
				   size_t errlen);
void control_client_close(struct control_client *c);

/*
 * Sends {"execute": cmd, "arguments": args} (args taken, may be NULL) and
 * waits for the answer: 0 with *reply holding a RETURN or ERROR (release it
 * with control_reply_clear()), or -errno with one line in err (connection
 * lost, timeout, malformed answer).
 */
must_check int control_client_call(struct control_client *c, const char *cmd, json_object *args,
				   struct control_reply *reply, char *err, size_t errlen);

/*
 * Waits for the next message of any kind (0 with *reply), for tests and
 * event watchers. -ETIMEDOUT, -ECONNRESET (closed) or -EINVAL.
 */
must_check int control_client_read(struct control_client *c, struct control_reply *reply,
				   char *err, size_t errlen);

#endif
