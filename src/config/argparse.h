/*
 * argparse: a table-driven argv parser in crosvm's style (crosvm src/main.rs
 * and argh), plus value helpers whose errors name the option.
 *
 * Grammar: `--opt value`, `--opt=value` (split at the first '='), `-x value`,
 * `-x=value`; switches take no value; `--` ends the options; a lone `-` is a
 * positional argument. A value is always the next argument, even if it
 * starts with '-'. A value option given twice is an error unless it is
 * repeatable. Options are handled in argv order.
 *
 * Every error is one line in ctx->err, "<option>: <problem>: expected ...".
 */
#ifndef COVE_CONFIG_ARGPARSE_H
#define COVE_CONFIG_ARGPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/compiler.h"
#include "config/keyval.h"

#define ARGPARSE_MAX_OPTIONS 32 /* per command */

struct argparse_ctx {
	void *data;	 /* what the handlers fill in */
	const char *opt; /* long name of the option being handled, for messages */
	char *err;	 /* error line; may be NULL if errlen is 0 */
	size_t errlen;
};

struct argparse_option {
	const char *name; /* "--cpus" */
	char short_name;  /* 'c' for -c; 0: none */
	const char *arg;  /* the value's name in help; NULL: a switch */
	bool repeatable;  /* a value option that may be given again (switches always may) */
	/* Handles one occurrence (value NULL for a switch); NULL: this is --help. */
	int (*parse)(struct argparse_ctx *ctx, const char *value);
	const char *help; /* one line */
};

struct argparse_command {
	const struct argparse_option *opts;
	size_t num_opts;       /* <= ARGPARSE_MAX_OPTIONS */
	const char *help_hint; /* where to look, e.g. "cove run --help" */
	/* Takes a positional argument; NULL: parsing stops there (a verb). */
	int (*positional)(struct argparse_ctx *ctx, const char *arg);
};

/*
 * Runs argv[start..argc) through cmd. Returns 0 with *stop = the index of
 * the first positional argument (when cmd->positional is NULL) or argc;
 * 1 when the --help entry was met (parsing stops there); or a negative errno
 * from a handler or -EINVAL, with ctx->err set.
 */
must_check int argparse_run(const struct argparse_command *cmd, struct argparse_ctx *ctx, int argc,
			    char **argv, int start, int *stop);

/* One line per option: "  -c, --cpus ARG   help", aligned. */
void argparse_print_options(FILE *out, const struct argparse_option *opts, size_t n);

/* Writes "<ctx->opt>: <message>" into ctx->err; returns -EINVAL. */
int argparse_fail(struct argparse_ctx *ctx, const char *fmt, ...) printf_like(2, 3);
/* Writes "<ctx->opt>: out of memory"; returns -ENOMEM. */
int argparse_no_memory(struct argparse_ctx *ctx);

/* Replaces *dst with a copy of value, which must be non-empty. 0 or -errno. */
must_check int argparse_string(struct argparse_ctx *ctx, char **dst, const char *value,
			       const char *expected);
/* Strict decimal in [min, max]; value NULL means a bare key. 0 or -EINVAL. */
must_check int argparse_uint(struct argparse_ctx *ctx, const char *key, const char *value,
			     uint64_t min, uint64_t max, uint64_t *out);
/* NULL (bare key), "true" or "false". 0 or -EINVAL. */
must_check int argparse_bool(struct argparse_ctx *ctx, const char *key, const char *value,
			     bool *out);

struct argparse_name {
	const char *name; /* NULL ends a table */
	int value;
};

/*
 * Looks value up in a table of names. Names in `later` (NULL-terminated)
 * are crosvm's but not supported yet and get a message saying so.
 * `expected` lists the table's names for messages. 0 or -EINVAL.
 */
must_check int argparse_name(struct argparse_ctx *ctx, const char *key, const char *value,
			     const struct argparse_name *table, const char *const *later,
			     const char *expected, int *out);

/* Handles one key of a key=value list; key is schema->keys[id]. */
typedef int (*argparse_key_fn)(struct argparse_ctx *ctx, unsigned int id, const char *key,
			       const char *value, void *out);

/* Feeds each item of a keyval list to fn, in order. 0 or -errno. */
must_check int argparse_list(struct argparse_ctx *ctx, const char *list,
			     const struct keyval_schema *schema, argparse_key_fn fn, void *out);

#endif
