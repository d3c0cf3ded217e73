/* Unit tests for crosvm's key=value list syntax. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/keyval.h"

/*
 * Splits list and renders it as "key=value;bare;..." (or "ERR:<message>"),
 * so that each case is one comparison.
 */
static void split(const char *list, char *out, size_t len)
{
	struct keyval_iter it;
	char err[128];
	char *key, *value;
	size_t used = 0;
	int ret;

	out[0] = '\0';
	assert_int_equal(keyval_iter_init(&it, list), 0);
	while ((ret = keyval_next(&it, &key, &value, err, sizeof(err))) > 0)
		used += (size_t)snprintf(out + used, len - used, "%s%s%s;", key, value ? "=" : "",
					 value ? value : "");
	if (ret < 0)
		snprintf(out, len, "ERR:%s", err);
	keyval_iter_free(&it);
}

static void expect_split(const char *list, const char *want)
{
	char got[256];

	split(list, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("'%s' split as '%s', want '%s'", list, got, want);
}

static void test_split(void **state)
{
	(void)state;
	expect_split("", "");
	expect_split("a", "a;");
	expect_split("a=1", "a=1;");
	expect_split("a=1,b,c=x=y", "a=1;b;c=x=y;");
	expect_split("a=", "a=;");
	expect_split("p=\"x,y\",q", "p=x,y;q;");
	expect_split("p=\"a\\\"b\\\\c\\n\"", "p=a\"b\\c\\n;");
	expect_split("p=\"\"", "p=;");
	expect_split("c=[[0,1],[2,3]],d=2", "c=[[0,1],[2,3]];d=2;");
	expect_split("a,,b", "ERR:empty item in the list");
	expect_split(",a", "ERR:empty item in the list");
	expect_split("a,", "ERR:empty item in the list");
	expect_split("=1", "ERR:missing key before '='");
	expect_split("p=\"x", "ERR:missing closing '\"' in a quoted value");
	expect_split("p=\"x\"y", "ERR:unexpected text after a quoted value (a ',' must follow it)");
	expect_split("c=[1,2", "ERR:missing ']' in a value");
	expect_split("c=1]", "ERR:unbalanced ']' in a value");
}

static const char *const keys[] = {"num-cores", "flag", NULL};
static const char *const later[] = {"clusters", NULL};

/* keyval_next_known over list; returns its last result and the error text. */
static int known(const char *list, bool bare_first, unsigned int *ids, char **values, char *err,
		 size_t errlen, struct keyval_iter *it)
{
	const struct keyval_schema schema = {keys, later, bare_first};
	int n = 0;
	int ret;

	assert_int_equal(keyval_iter_init(it, list), 0);
	while ((ret = keyval_next_known(it, &schema, &ids[n], &values[n], err, errlen)) > 0)
		n++;
	return ret < 0 ? ret : n;
}

static void test_known(void **state)
{
	struct keyval_iter it;
	unsigned int ids[8];
	char *values[8];
	char err[128];

	(void)state;
	assert_int_equal(known("4,flag", true, ids, values, err, sizeof(err), &it), 2);
	assert_int_equal(ids[0], 0);
	assert_string_equal(values[0], "4");
	assert_int_equal(ids[1], 1);
	assert_null(values[1]);
	keyval_iter_free(&it);

	/* Only the first item may be bare, and only with bare_first. */
	assert_int_equal(known("flag,4", true, ids, values, err, sizeof(err), &it), -EINVAL);
	assert_string_equal(err, "unknown key '4': expected num-cores, flag");
	keyval_iter_free(&it);
	assert_int_equal(known("4", false, ids, values, err, sizeof(err), &it), -EINVAL);
	assert_string_equal(err, "unknown key '4': expected num-cores, flag");
	keyval_iter_free(&it);

	assert_int_equal(known("flag=true,flag", false, ids, values, err, sizeof(err), &it),
			 -EINVAL);
	assert_string_equal(err, "key 'flag' given twice");
	keyval_iter_free(&it);

	assert_int_equal(known("clusters=[[0]]", true, ids, values, err, sizeof(err), &it),
			 -EINVAL);
	assert_string_equal(err, "key 'clusters' is not supported yet: expected num-cores, flag");
	keyval_iter_free(&it);
	/* A crosvm key is never taken for a bare value. */
	assert_int_equal(known("clusters", true, ids, values, err, sizeof(err), &it), -EINVAL);
	keyval_iter_free(&it);
}

static void test_parse_u64(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(keyval_parse_u64("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(keyval_parse_u64("007", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(keyval_parse_u64("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(keyval_parse_u64("18446744073709551616", &v), -ERANGE);
	assert_int_equal(keyval_parse_u64("", &v), -EINVAL);
	assert_int_equal(keyval_parse_u64(NULL, &v), -EINVAL);
	assert_int_equal(keyval_parse_u64("-1", &v), -EINVAL);
	assert_int_equal(keyval_parse_u64("+1", &v), -EINVAL);
	assert_int_equal(keyval_parse_u64(" 1", &v), -EINVAL);
	assert_int_equal(keyval_parse_u64("1 ", &v), -EINVAL);
	assert_int_equal(keyval_parse_u64("0x10", &v), -EINVAL);
	assert_int_equal(keyval_parse_u64("12a", &v), -EINVAL);
}

static void test_parse_bool(void **state)
{
	bool b = false;

	(void)state;
	assert_int_equal(keyval_parse_bool(NULL, &b), 0);
	assert_true(b);
	assert_int_equal(keyval_parse_bool("false", &b), 0);
	assert_false(b);
	assert_int_equal(keyval_parse_bool("true", &b), 0);
	assert_true(b);
	assert_int_equal(keyval_parse_bool("", &b), -EINVAL);
	assert_int_equal(keyval_parse_bool("1", &b), -EINVAL);
	assert_int_equal(keyval_parse_bool("TRUE", &b), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split),
	    cmocka_unit_test(test_known),
	    cmocka_unit_test(test_parse_u64),
	    cmocka_unit_test(test_parse_bool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
