/* Table-driven argv parsing and option-value helpers; see argparse.h. */
#include "config/argparse.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MSG_MAX 256

int argparse_fail(struct argparse_ctx *ctx, const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(ctx->err, ctx->errlen, "%s: %s", ctx->opt, msg);
	return -EINVAL;
}

int argparse_no_memory(struct argparse_ctx *ctx)
{
	snprintf(ctx->err, ctx->errlen, "%s: out of memory", ctx->opt);
	return -ENOMEM;
}

/* ---- the engine ---- */

static bool is_option(const char *arg)
{
	return arg[0] == '-' && arg[1] != '\0';
}

/* The option spelled by the first len bytes of name (long form or -x). */
static const struct argparse_option *find_option(const struct argparse_command *cmd,
						 const char *name, size_t len)
{
	for (size_t i = 0; i < cmd->num_opts; i++) {
		const struct argparse_option *opt = &cmd->opts[i];

		if (opt->short_name && len == 2 && name[1] == opt->short_name)
			return opt;
		if (strlen(opt->name) == len && strncmp(opt->name, name, len) == 0)
			return opt;
	}
	return NULL;
}

/*
 * Handles the option at argv[*i], taking its value from `=value` or from the
 * next argument (advancing *i). Returns 0, 1 for --help, or -errno.
 */
static int parse_one(const struct argparse_command *cmd, struct argparse_ctx *ctx, int argc,
		     char **argv, int *i, bool *seen)
{
	const char *arg = argv[*i];
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct argparse_option *opt = find_option(cmd, arg, len);
	const char *value = eq ? eq + 1 : NULL;
	size_t idx;

	if (!opt) {
		snprintf(ctx->err, ctx->errlen, "unknown option '%.*s' (see %s)", (int)len, arg,
			 cmd->help_hint);
		return -EINVAL;
	}
	ctx->opt = opt->name;
	if (!opt->arg) {
		if (value)
			return argparse_fail(ctx, "takes no value (got '%s')", value);
		return opt->parse ? opt->parse(ctx, NULL) : 1;
	}
	if (!value) {
		if (*i + 1 >= argc)
			return argparse_fail(ctx, "missing value: expected %s", opt->arg);
		value = argv[++*i];
	}
	idx = (size_t)(opt - cmd->opts);
	if (seen[idx] && !opt->repeatable)
		return argparse_fail(ctx, "given more than once");
	seen[idx] = true;
	return opt->parse(ctx, value);
}

int argparse_run(const struct argparse_command *cmd, struct argparse_ctx *ctx, int argc,
		 char **argv, int start, int *stop)
{
	bool seen[ARGPARSE_MAX_OPTIONS] = {false};
	bool options_done = false;
	int ret;

	if (cmd->num_opts > ARGPARSE_MAX_OPTIONS)
		return -EINVAL; /* a table bug; every table is unit-tested */
	for (int i = start; i < argc; i++) {
		if (options_done || !is_option(argv[i])) {
			if (!cmd->positional) {
				*stop = i;
				return 0;
			}
			ret = cmd->positional(ctx, argv[i]);
		} else if (strcmp(argv[i], "--") == 0) {
			options_done = true;
			ret = 0;
		} else {
			ret = parse_one(cmd, ctx, argc, argv, &i, seen);
		}
		if (ret)
			return ret;
	}
	*stop = argc;
	return 0;
}

static int option_label(const struct argparse_option *opt, char *buf, size_t len)
{
	bool s = opt->short_name != 0;

	return snprintf(buf, len, "%c%c%c %s%s%s", s ? '-' : ' ', s ? opt->short_name : ' ',
			s ? ',' : ' ', opt->name, opt->arg ? " " : "", opt->arg ? opt->arg : "");
}

void argparse_print_options(FILE *out, const struct argparse_option *opts, size_t n)
{
	char label[64];
	int width = 0;

	for (size_t i = 0; i < n; i++)
		width = MAX(width, option_label(&opts[i], label, sizeof(label)));
	for (size_t i = 0; i < n; i++) {
		option_label(&opts[i], label, sizeof(label));
		fprintf(out, "  %-*s  %s\n", width, label, opts[i].help);
	}
}

/* ---- values ---- */

int argparse_string(struct argparse_ctx *ctx, char **dst, const char *value, const char *expected)
{
	char *copy;

	if (!value || value[0] == '\0')
		return argparse_fail(ctx, "missing value: expected %s", expected);
	copy = strdup(value);
	if (!copy)
		return argparse_no_memory(ctx);
	free(*dst);
	*dst = copy;
	return 0;
}

int argparse_uint(struct argparse_ctx *ctx, const char *key, const char *value, uint64_t min,
		  uint64_t max, uint64_t *out)
{
	uint64_t v;

	if (!value)
		return argparse_fail(
		    ctx, "key '%s' needs a value: expected an integer from %" PRIu64 " to %" PRIu64,
		    key, min, max);
	if (keyval_parse_u64(value, &v) || v < min || v > max)
		return argparse_fail(ctx,
				     "invalid value '%s' for %s: expected an integer from %" PRIu64
				     " to %" PRIu64,
				     value, key, min, max);
	*out = v;
	return 0;
}

int argparse_bool(struct argparse_ctx *ctx, const char *key, const char *value, bool *out)
{
	if (keyval_parse_bool(value, out))
		return argparse_fail(ctx,
				     "invalid value '%s' for %s: expected true or false "
				     "(or a bare %s)",
				     value, key, key);
	return 0;
}

int argparse_name(struct argparse_ctx *ctx, const char *key, const char *value,
		  const struct argparse_name *table, const char *const *later, const char *expected,
		  int *out)
{
	if (!value)
		return argparse_fail(ctx, "key '%s' needs a value: expected %s", key, expected);
	for (; table->name; table++) {
		if (strcmp(table->name, value) == 0) {
			*out = table->value;
			return 0;
		}
	}
	for (; later && *later; later++) {
		if (strcmp(*later, value) == 0)
			return argparse_fail(ctx, "%s=%s is not supported yet: expected %s", key,
					     value, expected);
	}
	return argparse_fail(ctx, "invalid value '%s' for %s: expected %s", value, key, expected);
}

int argparse_list(struct argparse_ctx *ctx, const char *list, const struct keyval_schema *schema,
		  argparse_key_fn fn, void *out)
{
	struct keyval_iter it;
	char msg[MSG_MAX];
	unsigned int id;
	char *value;
	int ret;

	if (keyval_iter_init(&it, list))
		return argparse_no_memory(ctx);
	for (;;) {
		ret = keyval_next_known(&it, schema, &id, &value, msg, sizeof(msg));
		if (ret < 0)
			ret = argparse_fail(ctx, "%s", msg);
		if (ret <= 0)
			break;
		ret = fn(ctx, id, schema->keys[id], value, out);
		if (ret)
			break;
	}
	keyval_iter_free(&it);
	return ret;
}
