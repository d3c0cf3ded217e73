/* Unit tests for the table-driven argv parser (what cli_test.c does not reach). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/argparse.h"

struct seen {
	char log[256]; /* "name=value;" per handled option or positional */
};

static int record(struct argparse_ctx *ctx, const char *value)
{
	struct seen *s = ctx->data;
	size_t used = strlen(s->log);

	snprintf(s->log + used, sizeof(s->log) - used, "%s=%s;", ctx->opt, value ? value : "");
	return 0;
}

static int positional(struct argparse_ctx *ctx, const char *arg)
{
	ctx->opt = "POS";
	return record(ctx, arg);
}

static const struct argparse_option opts[] = {
    {"--one", 'o', "V", false, record, "a value option"},
    {"--many", 0, "V", true, record, "a repeatable one"},
    {"--flag", 'f', NULL, false, record, "a switch"},
    {"--help", 'h', NULL, false, NULL, "help"},
};

static int parse(struct argparse_command *cmd, struct seen *s, char *err, size_t errlen, int *stop,
		 char **argv)
{
	struct argparse_ctx ctx = {.data = s, .opt = "test", .err = err, .errlen = errlen};
	int argc = 0;

	while (argv[argc])
		argc++;
	memset(s, 0, sizeof(*s));
	return argparse_run(cmd, &ctx, argc, argv, 0, stop);
}

static void test_values_and_positionals(void **state)
{
	struct argparse_command cmd = {opts, 4, "x --help", positional};
	char a0[] = "--many", a1[] = "-x", a2[] = "-", a3[] = "--many=a=b", a4[] = "-f",
	     a5[] = "--flag", a6[] = "--", a7[] = "--one";
	char *argv[] = {a0, a1, a2, a3, a4, a5, a6, a7, NULL};
	struct seen s;
	char err[128];
	int stop = -1;

	(void)state;
	/* A value is the next argument even if it starts with '-'. */
	assert_int_equal(parse(&cmd, &s, err, sizeof(err), &stop, argv), 0);
	assert_string_equal(s.log, "--many=-x;POS=-;--many=a=b;--flag=;--flag=;POS=--one;");
	assert_int_equal(stop, 8);
}

static void test_stop_at_verb(void **state)
{
	struct argparse_command cmd = {opts, 4, "x --help", NULL};
	char a0[] = "-o", a1[] = "1", a2[] = "verb", a3[] = "--bogus";
	char *argv[] = {a0, a1, a2, a3, NULL};
	struct seen s;
	char err[128];
	int stop = -1;

	(void)state;
	assert_int_equal(parse(&cmd, &s, err, sizeof(err), &stop, argv), 0);
	assert_int_equal(stop, 2);
	assert_string_equal(s.log, "--one=1;");
}

static void test_errors(void **state)
{
	struct argparse_command cmd = {opts, 4, "x --help", positional};
	char a0[] = "--one", a1[] = "1", a2[] = "-o=2";
	char *argv[] = {a0, a1, a2, NULL};
	char b0[] = "--flag=1";
	char *argv2[] = {b0, NULL};
	char c0[] = "-=x";
	char *argv3[] = {c0, NULL};
	struct seen s;
	char err[128];
	int stop;

	(void)state;
	assert_int_equal(parse(&cmd, &s, err, sizeof(err), &stop, argv), -EINVAL);
	assert_string_equal(err, "--one: given more than once");
	assert_int_equal(parse(&cmd, &s, err, sizeof(err), &stop, argv2), -EINVAL);
	assert_string_equal(err, "--flag: takes no value (got '1')");
	assert_int_equal(parse(&cmd, &s, err, sizeof(err), &stop, argv3), -EINVAL);
	assert_string_equal(err, "unknown option '-' (see x --help)");
	/* A NULL error buffer is allowed. */
	assert_int_equal(parse(&cmd, &s, NULL, 0, &stop, argv3), -EINVAL);
}

static void test_print_aligned(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_non_null(f);
	argparse_print_options(f, opts, 4);
	fclose(f);
	assert_string_equal(text, "  -o, --one V   a value option\n"
				  "      --many V  a repeatable one\n"
				  "  -f, --flag    a switch\n"
				  "  -h, --help    help\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_values_and_positionals),
	    cmocka_unit_test(test_stop_at_verb),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_print_aligned),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
