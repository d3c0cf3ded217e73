/* The control verbs (`cove stop SOCKET`, ...); see control_cli.h. */
#include "control/control_cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/control_client.h"

struct verb {
	const char *name;
	const char *request;  /* the protocol command */
	bool takes_size;      /* SIZE before SOCKET */
	bool prints_json;     /* the answer goes to stdout */
	const char *help;
};

static const struct verb verbs[] = {
	{ "stop", "quit", false, false, "stop the VM at once (`cove run` exits 0)" },
	{ "powerbtn", "powerdown", false, false,
	  "press the ACPI power button: the guest shuts down cleanly" },
	{ "suspend", "pause", false, false, "pause the vCPUs" },
	{ "resume", "resume", false, false, "resume the vCPUs" },
	{ "balloon", "balloon", true, false,
	  "put SIZE bytes in the balloon, taking them from the guest (K/M/G/T suffixes)" },
	{ "balloon_stats", "balloon-stats", false, true, "balloon size and guest memory statistics, as JSON" },
	{ "status", "status", false, true, "the VM's state, vCPUs, memory and devices, as JSON" },
};

static const struct verb *find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

bool control_cli_is_verb(const char *verb)
{
	return find(verb) != NULL;
}

void control_cli_print_help(FILE *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++) {
		char usage[64];

		snprintf(usage, sizeof(usage), "%s%s SOCKET", verbs[i].name,
			 verbs[i].takes_size ? " SIZE" : "");
		fprintf(out, "  %-26s %s\n", usage, verbs[i].help);
	}
}

int control_cli_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	unsigned long long v;
	const char *u;
	char *end;
	unsigned int shift = 0;

	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end && (u = strchr(units, toupper((unsigned char)*end)))) {
		shift = 10 * (unsigned int)(u - units + 1);
		end++;
		if (strcasecmp(end, "iB") == 0 || strcasecmp(end, "B") == 0)
			end += strlen(end);
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

static void print_usage(FILE *out, const struct verb *v)
{
	fprintf(out, "Usage: cove %s%s SOCKET\n  %s\n", v->name, v->takes_size ? " SIZE" : "",
		v->help);
}

/* argv after the verb: [SIZE] SOCKET. Returns 0, 1 (help) or -EINVAL. */
static int parse_args(const struct verb *v, int argc, char **argv, const char **socket,
		      json_object **args)
{
	uint64_t size;
	int want = v->takes_size ? 2 : 1;

	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	if (argc != want) {
		fprintf(stderr, "cove %s: expected %s, got %d argument%s (see cove %s --help)\n",
			v->name, v->takes_size ? "SIZE and SOCKET" : "SOCKET", argc,
			argc == 1 ? "" : "s", v->name);
		return -EINVAL;
	}
	*socket = argv[want - 1];
	*args = NULL;
	if (!v->takes_size)
		return 0;
	if (control_cli_parse_size(argv[0], &size)) {
		fprintf(stderr, "cove %s: SIZE '%s' is not a size in bytes (e.g. 1073741824 or 1G)\n",
			v->name, argv[0]);
		return -EINVAL;
	}
	*args = json_object_new_object();
	json_object_object_add(*args, "num_bytes", json_object_new_uint64(size));
	return 0;
}

static int print_answer(const struct verb *v, const char *socket, struct control_reply *r)
{
	if (r->kind == CONTROL_REPLY_ERROR) {
		fprintf(stderr, "cove %s: %s: %s: %s\n", v->name, socket, r->error_class,
			r->error_desc);
		return 1;
	}
	if (v->prints_json)
		printf("%s\n", json_object_to_json_string_ext(r->value, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_SPACED |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	return 0;
}

int control_cli_main(const char *verb, int argc, char **argv)
{
	const struct verb *v = find(verb);
	struct control_client client;
	struct control_reply reply;
	json_object *args = NULL;
	const char *socket = NULL;
	char err[256];
	int ret;

	if (!v)
		return 1;
	ret = parse_args(v, argc, argv, &socket, &args);
	if (ret) {
		if (ret == 1)
			print_usage(stdout, v);
		return ret == 1 ? 0 : 1;
	}
	if (control_client_open(&client, socket, err, sizeof(err))) {
		fprintf(stderr, "cove %s: %s: %s\n", v->name, socket, err);
		json_object_put(args);
		return 1;
	}
	ret = control_client_call(&client, v->request, args, &reply, err, sizeof(err));
	control_client_close(&client);
	if (ret) {
		fprintf(stderr, "cove %s: %s: %s\n", v->name, socket, err);
		return 1;
	}
	ret = print_answer(v, socket, &reply);
	control_reply_clear(&reply);
	return ret;
}
