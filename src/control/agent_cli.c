/* `cove agent` and `cove exec`: the guest agent from the host; see agent_cli.h. */
#include "control/agent_cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control/agent.h"
#include "control/agent_base64.h"
#include "control/agent_proto.h"
#include "control/control_client.h"

#define EXEC_DEFAULT_TIMEOUT_MS 30000
#define EXEC_POLL_MIN_MS 10
#define EXEC_POLL_MAX_MS 250
#define EXIT_CANNOT_RUN 127
#define AGENT_EXEC_MAX_OUTPUT (16u * 1024 * 1024) /* qemu-ga's GUEST_EXEC_MAX_OUTPUT */
#define ERR_MAX 512
/* Room for the control request around a guest-exec command. */
#define ENVELOPE 128
/* One control request carries the command with its stdin, base64-encoded. */
#define TOO_BIG                                                                                    \
	"the command and its stdin do not fit in one guest-exec request (stdin: about "            \
	"12 KiB at most)"

/* One verb's connection to the VM. */
struct session {
	const char *verb;
	const char *socket;
	int timeout_ms;
	struct control_client client;
	bool open;
};

static int say(const struct session *s, const char *fmt, ...) printf_like(2, 3);
static int say(const struct session *s, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "cove %s: ", s->verb);
	if (s->socket)
		fprintf(stderr, "%s: ", s->socket);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* SECS: a number of seconds in (0, 3600]; *ms set. */
static int parse_timeout(struct session *s, const char *text)
{
	char *end;
	double secs;

	errno = 0;
	secs = text ? strtod(text, &end) : 0;
	if (!text || errno || end == text || *end || !(secs > 0) || secs > 3600) {
		s->socket = NULL;
		return say(s, "--timeout takes seconds, from more than 0 to 3600: '%s'",
			   text ? text : "");
	}
	s->timeout_ms = (int)(secs * 1000);
	if (s->timeout_ms == 0)
		s->timeout_ms = 1;
	return 0;
}

/* --timeout SECS / --timeout=SECS at argv[*i]; 1 with a message if bad, -1 if not it. */
static int timeout_option(struct session *s, int argc, char **argv, int *i)
{
	if (strncmp(argv[*i], "--timeout=", 10) == 0)
		return parse_timeout(s, argv[*i] + 10);
	if (strcmp(argv[*i], "--timeout") != 0)
		return -1;
	(*i)++;
	return parse_timeout(s, *i < argc ? argv[*i] : NULL);
}

/*
 * Sends `cmd` (taken) through the control socket's `agent` request. 0 with
 * *reply the agent's answer (owned), or 1 after one line on stderr.
 */
static int agent_call(struct session *s, json_object *cmd, json_object **reply)
{
	struct control_reply r;
	json_object *args = json_object_new_object();
	char err[ERR_MAX];
	int ret;

	if (!s->open) {
		if (control_client_open(&s->client, s->socket, err, sizeof(err))) {
			json_object_put(cmd);
			json_object_put(args);
			return say(s, "%s", err);
		}
		s->open = true;
		/* The VM answers within the agent's timeout: wait a little longer. */
		s->client.timeout_ms = s->timeout_ms + 10000;
	}
	json_object_object_add(args, "message", cmd);
	json_object_object_add(args, "timeout", json_object_new_double(s->timeout_ms / 1000.0));
	ret = control_client_call(&s->client, "agent", args, &r, err, sizeof(err));
	if (ret)
		return say(s, "%s", err);
	if (r.kind == CONTROL_REPLY_ERROR) {
		say(s, "%s", r.error_desc);
		control_reply_clear(&r);
		return 1;
	}
	*reply = json_object_get(r.value);
	control_reply_clear(&r);
	if (!json_object_is_type(*reply, json_type_object)) {
		json_object_put(*reply);
		return say(s, "the VM sent an answer that is not an object");
	}
	return 0;
}

static void close_session(struct session *s)
{
	if (s->open)
		control_client_close(&s->client);
	s->open = false;
}

/* ---- cove agent ---- */

/* Parses the command text: one JSON object and nothing after it. */
static json_object *parse_command(struct session *s, const char *text)
{
	json_tokener *tok = json_tokener_new();
	char err[ERR_MAX];
	json_object *cmd;
	size_t len = strlen(text), end;

	cmd = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
	end = tok ? json_tokener_get_parse_end(tok) : 0;
	if (!cmd || json_tokener_get_error(tok) != json_tokener_success) {
		enum json_tokener_error e =
		    tok ? json_tokener_get_error(tok) : json_tokener_success;

		say(s, "the command is not JSON: %s",
		    !tok			 ? "out of memory"
		    : e == json_tokener_continue ? "it ends before the object does"
						 : json_tokener_error_desc(e));
		json_object_put(cmd);
		cmd = NULL;
	} else if (strspn(text + end, " \t\r\n") != len - end) {
		say(s, "the command is not JSON: text after the object");
		json_object_put(cmd);
		cmd = NULL;
	} else if (agent_proto_check_command(cmd, err, sizeof(err))) {
		say(s, "%s", err);
		json_object_put(cmd);
		cmd = NULL;
	}
	json_tokener_free(tok);
	return cmd;
}

static int cmd_agent(int argc, char **argv)
{
	struct session s = {.verb = "agent", .timeout_ms = AGENT_DEFAULT_TIMEOUT_MS};
	const char *pos[2];
	int npos = 0, flags = JSON_C_TO_STRING_PLAIN, ret;
	json_object *cmd, *reply;

	for (int i = 0; i < argc; i++) {
		int t = npos == 0 ? timeout_option(&s, argc, argv, &i) : -1;

		if (t >= 0) {
			if (t)
				return t;
		} else if (npos == 0 && strcmp(argv[i], "--pretty") == 0) {
			flags = JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED;
		} else if (npos == 0 && (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))) {
			puts("Usage: cove agent [--timeout SECS] [--pretty] SOCKET JSON");
			return 0;
		} else if (npos < 2 && (argv[i][0] != '-' || npos > 0)) {
			pos[npos++] = argv[i];
		} else {
			return say(&s,
				   "unexpected '%s' (usage: cove agent [--timeout SECS] "
				   "[--pretty] SOCKET JSON)",
				   argv[i]);
		}
	}
	if (npos != 2)
		return say(&s, "expected SOCKET and a JSON command, e.g. "
			       "'{\"execute\":\"guest-ping\"}'");
	s.socket = pos[0];
	cmd = parse_command(&s, pos[1]);
	if (!cmd)
		return 1;
	ret = agent_call(&s, cmd, &reply);
	close_session(&s);
	if (ret)
		return ret;
	puts(json_object_to_json_string_ext(reply, flags | JSON_C_TO_STRING_NOSLASHESCAPE));
	ret = json_object_object_get_ex(reply, "return", NULL) ? 0 : 1;
	json_object_put(reply);
	return fflush(stdout) == 0 ? ret : 1;
}

/* ---- cove exec ---- */

struct exec_args {
	const char *cmd;
	char **argv; /* the command's arguments */
	int argc;
	json_object *env; /* NULL: the agent's own environment */
};

/* -e NAME=VALUE, or -e NAME: the host's value (skipped if unset), as virt-exec. */
static int add_env(struct session *s, struct exec_args *e, const char *spec)
{
	char *item;

	if (!spec || !*spec || *spec == '=')
		return say(s, "-e takes NAME=VALUE or NAME");
	if (!e->env)
		e->env = json_object_new_array();
	if (strchr(spec, '=')) {
		json_object_array_add(e->env, json_object_new_string(spec));
		return 0;
	}
	if (!getenv(spec))
		return 0;
	if (asprintf(&item, "%s=%s", spec, getenv(spec)) < 0)
		return say(s, "out of memory");
	json_object_array_add(e->env, json_object_new_string(item));
	free(item);
	return 0;
}

static int parse_exec(struct session *s, int argc, char **argv, struct exec_args *e)
{
	int i;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		int t;

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-') {
			if (s->socket)
				break; /* the command */
			s->socket = a;
			continue;
		}
		t = timeout_option(s, argc, argv, &i);
		if (t > 0)
			return t;
		if (t == 0)
			continue;
		if (strcmp(a, "-e") == 0 || strcmp(a, "--env") == 0) {
			if (add_env(s, e, ++i < argc ? argv[i] : NULL))
				return 1;
		} else if (strncmp(a, "-e", 2) == 0) {
			if (add_env(s, e, a + 2))
				return 1;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			puts("Usage: cove exec [--timeout SECS] [-e NAME[=VALUE]]... SOCKET [--] "
			     "CMD [ARG...]");
			return -1;
		} else {
			const char *sock = s->socket;

			s->socket = NULL;
			say(s, "unknown option '%s'", a);
			s->socket = sock;
			return 1;
		}
	}
	if (!s->socket || i >= argc)
		return say(s,
			   "expected %s (usage: cove exec [-e NAME=VALUE]... SOCKET -- CMD "
			   "[ARG...])",
			   s->socket ? "a command after SOCKET" : "SOCKET and a command");
	e->cmd = argv[i];
	e->argv = argv + i + 1;
	e->argc = argc - i - 1;
	return 0;
}

/* All of stdin when it is not a terminal; *data NULL when it is one. */
static int read_stdin(struct session *s, uint8_t **data, size_t *len)
{
	size_t cap = 0;

	*data = NULL;
	*len = 0;
	if (isatty(STDIN_FILENO))
		return 0;
	for (;;) {
		ssize_t n;

		if (*len == cap) {
			uint8_t *p;

			cap = cap ? 2 * cap : 4096;
			if (cap > CONTROL_MAX_LINE) /* it could not be sent anyway */
				return say(s, TOO_BIG);
			p = realloc(*data, cap);
			if (!p)
				return say(s, "out of memory");
			*data = p;
		}
		n = read(STDIN_FILENO, *data + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return say(s, "cannot read stdin: %s", strerror(errno));
		if (n == 0)
			return 0;
		*len += (size_t)n;
	}
}

static json_object *exec_command(const struct exec_args *e, const uint8_t *in, size_t in_len,
				 bool has_input)
{
	json_object *cmd = json_object_new_object(), *args = json_object_new_object();
	json_object *arg = json_object_new_array();

	for (int i = 0; i < e->argc; i++)
		json_object_array_add(arg, json_object_new_string(e->argv[i]));
	json_object_object_add(args, "path", json_object_new_string(e->cmd));
	json_object_object_add(args, "arg", arg);
	if (e->env)
		json_object_object_add(args, "env", json_object_get(e->env));
	if (has_input) {
		char *b64 = agent_base64_encode(in, in_len);

		json_object_object_add(args, "input-data", json_object_new_string(b64 ? b64 : ""));
		free(b64);
	}
	json_object_object_add(args, "capture-output", json_object_new_boolean(true));
	json_object_object_add(cmd, "execute", json_object_new_string("guest-exec"));
	json_object_object_add(cmd, "arguments", args);
	return cmd;
}

/* The agent's error answer as one line: "CLASS: desc". */
static void say_agent_error(struct session *s, const char *what, json_object *reply)
{
	json_object *error = NULL, *cls = NULL, *desc = NULL;

	json_object_object_get_ex(reply, "error", &error);
	json_object_object_get_ex(error, "class", &cls);
	json_object_object_get_ex(error, "desc", &desc);
	say(s, "%s: the guest agent answered %s: %s", what,
	    cls ? json_object_get_string(cls) : "an error",
	    desc ? json_object_get_string(desc) : json_object_to_json_string(reply));
}

/* Starts the command; returns 0 with *pid, or an exit status. */
static int exec_start(struct session *s, const struct exec_args *e, int64_t *pid)
{
	uint8_t *in;
	size_t in_len;
	json_object *cmd, *reply, *ret, *p;
	bool has_input;
	int err = read_stdin(s, &in, &in_len);

	if (err) {
		free(in);
		return err;
	}
	has_input = !isatty(STDIN_FILENO);
	cmd = exec_command(e, in, in_len, has_input);
	free(in);
	if (strlen(json_object_to_json_string(cmd)) + ENVELOPE > CONTROL_MAX_LINE) {
		json_object_put(cmd);
		return say(s, TOO_BIG);
	}
	err = agent_call(s, cmd, &reply);
	if (err)
		return err;
	if (!json_object_object_get_ex(reply, "return", &ret) ||
	    !json_object_object_get_ex(ret, "pid", &p) || !json_object_is_type(p, json_type_int)) {
		say_agent_error(s, e->cmd, reply);
		json_object_put(reply);
		return EXIT_CANNOT_RUN;
	}
	*pid = json_object_get_int64(p);
	json_object_put(reply);
	return 0;
}

/* Decodes member `name` of the status (if any) onto `out`; *len is its size. */
static int copy_data(struct session *s, json_object *status, const char *name, FILE *out,
		     size_t *len_out)
{
	json_object *v;
	uint8_t *data;
	size_t len;

	*len_out = 0;
	if (!json_object_object_get_ex(status, name, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string) ||
	    agent_base64_decode(json_object_get_string(v), (size_t)json_object_get_string_len(v),
				&data, &len))
		return say(s, "the guest agent sent %s that is not base64", name);
	fwrite(data, 1, len, out);
	fflush(out);
	free(data);
	*len_out = len;
	return 0;
}

/*
 * Whether the agent cut a stream short. QEMU before 10.1 sends the
 * "*-truncated" member only when it did, and then as false; later ones
 * always send it with the truth: a true, or a member with a full 16 MiB.
 */
static bool truncated(json_object *status, const char *name, size_t len)
{
	json_object *v;

	if (!json_object_object_get_ex(status, name, &v))
		return false;
	return json_object_get_boolean(v) || len >= AGENT_EXEC_MAX_OUTPUT;
}

static bool flag(json_object *status, const char *name)
{
	json_object *v;

	return json_object_object_get_ex(status, name, &v) && json_object_get_boolean(v);
}

/* One guest-exec-status: 0 still running, 1 exited (*code set), or -1 (failed, said). */
static int exec_poll(struct session *s, int64_t pid, int *code)
{
	json_object *cmd = json_object_new_object(), *args = json_object_new_object();
	json_object *reply, *st, *v;
	size_t out_len, err_len;
	int ret = 0;

	json_object_object_add(args, "pid", json_object_new_int64(pid));
	json_object_object_add(cmd, "execute", json_object_new_string("guest-exec-status"));
	json_object_object_add(cmd, "arguments", args);
	if (agent_call(s, cmd, &reply))
		return -1;
	if (!json_object_object_get_ex(reply, "return", &st)) {
		say_agent_error(s, "guest-exec-status", reply);
		json_object_put(reply);
		return -1;
	}
	if (copy_data(s, st, "out-data", stdout, &out_len) ||
	    copy_data(s, st, "err-data", stderr, &err_len))
		ret = -1;
	if (ret == 0 && flag(st, "exited")) {
		ret = 1;
		if (json_object_object_get_ex(st, "exitcode", &v))
			*code = json_object_get_int(v);
		else if (json_object_object_get_ex(st, "signal", &v))
			*code = 128 + json_object_get_int(v);
		else
			*code = 1;
		if (truncated(st, "out-truncated", out_len) ||
		    truncated(st, "err-truncated", err_len))
			say(s, "the guest agent cut the command's output short (16 MiB per stream "
			       "at most)");
	}
	json_object_put(reply);
	return ret;
}

static int cmd_exec(int argc, char **argv)
{
	struct session s = {.verb = "exec", .timeout_ms = EXEC_DEFAULT_TIMEOUT_MS};
	struct exec_args e = {0};
	int64_t pid = 0;
	int ret = parse_exec(&s, argc, argv, &e), code = 1, wait_ms = EXEC_POLL_MIN_MS;

	if (ret) {
		json_object_put(e.env);
		return ret < 0 ? 0 : ret;
	}
	ret = exec_start(&s, &e, &pid);
	json_object_put(e.env);
	for (int r = 0; ret == 0 && r == 0;) {
		struct timespec t = {0, (long)wait_ms * 1000000L};

		r = exec_poll(&s, pid, &code);
		if (r != 0) {
			ret = r < 0 ? 1 : code;
			break;
		}
		nanosleep(&t, NULL);
		wait_ms = MIN(2 * wait_ms, EXEC_POLL_MAX_MS);
	}
	close_session(&s);
	return ret;
}

bool agent_cli_is_verb(const char *verb)
{
	return strcmp(verb, "agent") == 0 || strcmp(verb, "exec") == 0;
}

int agent_cli_main(const char *verb, int argc, char **argv)
{
	return strcmp(verb, "agent") == 0 ? cmd_agent(argc, argv) : cmd_exec(argc, argv);
}

void agent_cli_print_help(FILE *out)
{
	fprintf(out, "  %-26s %s\n", "agent SOCKET JSON",
		"send one guest agent command, print its answer ([--timeout SECS] [--pretty])");
	fprintf(out, "  %-26s %s\n", "exec SOCKET -- CMD [ARG...]",
		"run CMD in the guest through its agent ([-e NAME=VALUE]... [--timeout SECS])");
}
