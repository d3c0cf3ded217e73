/*
 * Unit tests for the control protocol: requests parsed and validated
 * (aliases, arguments, ids), every kind of malformed or hostile input
 * refused with the right class, the server's messages, and the client's
 * reply parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/control_proto.h"

static struct control_request req;
static struct control_error err;

static int parse(const char *s)
{
	control_request_clear(&req);
	memset(&err, 0, sizeof(err));
	return control_proto_parse_request(s, strlen(s), &req, &err);
}

static int teardown(void **state)
{
	(void)state;
	control_request_clear(&req);
	return 0;
}

/* Parsing `s` fails with class `cls` and a description containing `part`. */
static void refused(const char *s, enum control_error_class cls, const char *part)
{
	if (parse(s) != -EINVAL)
		fail_msg("accepted: %s", s);
	if (err.cls != cls)
		fail_msg("%s: class %s, want %s", s, control_proto_error_class_name(err.cls),
			 control_proto_error_class_name(cls));
	if (!strstr(err.desc, part))
		fail_msg("%s: '%s' lacks '%s'", s, err.desc, part);
}

static void test_commands_and_aliases(void **state)
{
	static const struct {
		const char *name;
		enum control_cmd cmd;
	} cases[] = {
		{ "qmp_capabilities", CONTROL_CMD_CAPABILITIES },
		{ "status", CONTROL_CMD_STATUS },
		{ "query-status", CONTROL_CMD_STATUS },
		{ "quit", CONTROL_CMD_QUIT },
		{ "powerdown", CONTROL_CMD_POWERDOWN },
		{ "system_powerdown", CONTROL_CMD_POWERDOWN },
		{ "reset", CONTROL_CMD_RESET },
		{ "system_reset", CONTROL_CMD_RESET },
		{ "pause", CONTROL_CMD_PAUSE },
		{ "resume", CONTROL_CMD_RESUME },
		{ "cont", CONTROL_CMD_RESUME },
		{ "balloon-stats", CONTROL_CMD_BALLOON_STATS },
		{ "query-balloon", CONTROL_CMD_BALLOON_STATS },
	};
	char line[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(line, sizeof(line), "{\"execute\": \"%s\"}", cases[i].name);
		assert_int_equal(parse(line), 0);
		assert_int_equal(req.cmd, cases[i].cmd);
		assert_null(req.id);
		snprintf(line, sizeof(line), " {\"execute\":\"%s\",\"arguments\":{}} \r", cases[i].name);
		assert_int_equal(parse(line), 0);
	}
	assert_string_equal(control_proto_cmd_name(CONTROL_CMD_BALLOON_STATS), "balloon-stats");
	/* QMP's "stop" pauses, crosvm's stops: neither is guessed. */
	refused("{\"execute\":\"stop\"}", CONTROL_ERR_COMMAND_NOT_FOUND, "'stop' does not exist");
	refused("{\"execute\":\"STATUS\"}", CONTROL_ERR_COMMAND_NOT_FOUND, "STATUS");
}

static void test_ids_are_kept(void **state)
{
	(void)state;
	assert_int_equal(parse("{\"execute\":\"status\",\"id\":42}"), 0);
	assert_non_null(req.id);
	assert_int_equal(json_object_get_int(req.id), 42);
	assert_int_equal(parse("{\"id\":{\"a\":[1,2]},\"execute\":\"status\"}"), 0);
	assert_true(json_object_is_type(req.id, json_type_object));
	/* An error still echoes the id. */
	refused("{\"id\":\"x\",\"execute\":\"nope\"}", CONTROL_ERR_COMMAND_NOT_FOUND, "nope");
	assert_string_equal(json_object_get_string(req.id), "x");
}

static void test_balloon_arguments(void **state)
{
	(void)state;
	assert_int_equal(parse("{\"execute\":\"balloon\",\"arguments\":{\"num_bytes\":1073741824}}"),
			 0);
	assert_false(req.balloon.is_target);
	assert_int_equal(req.balloon.bytes, 1073741824);
	assert_int_equal(parse("{\"execute\":\"balloon\",\"arguments\":{\"value\":536870912}}"), 0);
	assert_true(req.balloon.is_target);
	assert_int_equal(req.balloon.bytes, 536870912);
	assert_int_equal(
		parse("{\"execute\":\"balloon\",\"arguments\":{\"num_bytes\":18446744073709551615}}"),
		0);
	assert_true(req.balloon.bytes == UINT64_MAX);
	assert_int_equal(parse("{\"execute\":\"balloon\",\"arguments\":{\"num_bytes\":0}}"), 0);
	refused("{\"execute\":\"balloon\"}", CONTROL_ERR_GENERIC, "one of 'num_bytes'");
	refused("{\"execute\":\"balloon\",\"arguments\":{\"num_bytes\":1,\"value\":2}}",
		CONTROL_ERR_GENERIC, "one of");
	refused("{\"execute\":\"balloon\",\"arguments\":{\"num_bytes\":-1}}", CONTROL_ERR_GENERIC,
		"negative");
	refused("{\"execute\":\"balloon\",\"arguments\":{\"num_bytes\":1.5}}", CONTROL_ERR_GENERIC,
		"expected: integer");
	refused("{\"execute\":\"balloon\",\"arguments\":{\"num_bytes\":\"1G\"}}", CONTROL_ERR_GENERIC,
		"expected: integer");
	refused("{\"execute\":\"balloon\",\"arguments\":{\"size\":1}}", CONTROL_ERR_GENERIC,
		"no argument 'size'");
	refused("{\"execute\":\"status\",\"arguments\":{\"verbose\":true}}", CONTROL_ERR_GENERIC,
		"takes no arguments");
}

static void test_agent_arguments(void **state)
{
	(void)state;
	assert_int_equal(parse("{\"execute\":\"agent\",\"arguments\":{\"message\":"
			       "{\"execute\":\"guest-ping\"}}}"),
			 0);
	assert_int_equal(req.cmd, CONTROL_CMD_AGENT);
	assert_true(json_object_is_type(req.agent_message, json_type_object));
	refused("{\"execute\":\"agent\"}", CONTROL_ERR_GENERIC, "'message'");
	refused("{\"execute\":\"agent\",\"arguments\":{\"message\":\"ping\"}}", CONTROL_ERR_GENERIC,
		"'message'");
	refused("{\"execute\":\"agent\",\"arguments\":{\"msg\":{}}}", CONTROL_ERR_GENERIC,
		"no argument 'msg'");
}

static void test_malformed(void **state)
{
	char deep[200] = "";

	(void)state;
	refused("", CONTROL_ERR_GENERIC, "JSON parse error");
	refused("{", CONTROL_ERR_GENERIC, "unexpected end");
	refused("{\"execute\":\"status\"", CONTROL_ERR_GENERIC, "unexpected end");
	refused("nonsense", CONTROL_ERR_GENERIC, "JSON parse error");
	refused("[1,2]", CONTROL_ERR_GENERIC, "expected a JSON object");
	refused("\"status\"", CONTROL_ERR_GENERIC, "expected a JSON object");
	refused("{\"execute\":\"status\"} {}", CONTROL_ERR_GENERIC, "JSON parse error");
	refused("{'execute':'status'}", CONTROL_ERR_GENERIC, "JSON parse error"); /* strict */
	refused("{\"execute\":\"status\",}", CONTROL_ERR_GENERIC, "JSON parse error");
	refused("{\"execute\":\"\xff\xfe\"}", CONTROL_ERR_GENERIC, "JSON parse error"); /* UTF-8 */
	refused("{}", CONTROL_ERR_GENERIC, "needs 'execute'");
	refused("{\"execute\":1}", CONTROL_ERR_GENERIC, "must be a string");
	refused("{\"execute\":\"status\",\"arguments\":[]}", CONTROL_ERR_GENERIC, "must be an object");
	refused("{\"execute\":\"status\",\"exec-oob\":1}", CONTROL_ERR_GENERIC, "unexpected member");
	/* Nesting beyond the limit, even inside an id. */
	strcat(deep, "{\"execute\":\"status\",\"id\":");
	for (int i = 0; i < CONTROL_MAX_DEPTH + 2; i++)
		strcat(deep, "[");
	refused(deep, CONTROL_ERR_GENERIC, "JSON parse error");
}

static void test_nul_and_oversize(void **state)
{
	static const char with_nul[] = "{\"execute\":\"status\"}\0{}";
	char *big = malloc(CONTROL_MAX_LINE + 2);

	(void)state;
	assert_int_equal(control_proto_parse_request(with_nul, sizeof(with_nul) - 1, &req, &err),
			 -EINVAL);
	assert_non_null(strstr(err.desc, "NUL"));
	control_request_clear(&req);
	assert_non_null(big);
	memset(big, ' ', CONTROL_MAX_LINE + 1);
	memcpy(big, "{\"execute\":\"status\"}", 20);
	assert_int_equal(control_proto_parse_request(big, CONTROL_MAX_LINE + 1, &req, &err),
			 -EINVAL);
	assert_non_null(strstr(err.desc, "longer than"));
	control_request_clear(&req);
	/* Exactly the limit (the newline counted by the server is not here) is fine. */
	assert_int_equal(control_proto_parse_request(big, CONTROL_MAX_LINE, &req, &err), 0);
	free(big);
}

static char *text_of(json_object *msg)
{
	size_t len;
	char *s = control_proto_serialize(msg, &len);

	assert_non_null(s);
	assert_int_equal(strlen(s), len);
	assert_int_equal(s[len - 1], '\n');
	assert_null(memchr(s, '\n', len - 1)); /* one line */
	json_object_put(msg);
	return s;
}

static void test_server_messages(void **state)
{
	json_object *id = json_object_new_string("a\nb");
	json_object *ret = json_object_new_object();
	char *s;

	(void)state;
	s = text_of(control_proto_greeting(1234, NULL));
	assert_string_equal(s, "{\"cove\":{\"protocol\":1,\"pid\":1234,\"name\":null}}\n");
	free(s);
	json_object_object_add(ret, "status", json_object_new_string("running"));
	s = text_of(control_proto_return(id, ret));
	assert_string_equal(s, "{\"return\":{\"status\":\"running\"},\"id\":\"a\\nb\"}\n");
	free(s);
	s = text_of(control_proto_return(NULL, NULL));
	assert_string_equal(s, "{\"return\":{}}\n");
	free(s);
	s = text_of(control_proto_error(id, CONTROL_ERR_DEVICE_NOT_FOUND, "no balloon/here"));
	assert_string_equal(
		s, "{\"error\":{\"class\":\"DeviceNotFound\",\"desc\":\"no balloon/here\"},"
		   "\"id\":\"a\\nb\"}\n");
	free(s);
	s = text_of(control_proto_event("SHUTDOWN", NULL));
	assert_non_null(strstr(s, "{\"event\":\"SHUTDOWN\",\"timestamp\":{\"seconds\":"));
	free(s);
	json_object_put(id);
}

static void test_client_side(void **state)
{
	struct control_reply r;
	char why[128];
	char *s;

	(void)state;
	s = text_of(control_proto_request("balloon", NULL));
	assert_string_equal(s, "{\"execute\":\"balloon\"}\n");
	free(s);
	assert_int_equal(control_proto_parse_reply("{\"cove\":{\"protocol\":1}}", 23, &r, why,
						   sizeof(why)),
			 0);
	assert_int_equal(r.kind, CONTROL_REPLY_GREETING);
	control_reply_clear(&r);
	s = "{\"return\":{\"a\":1}}";
	assert_int_equal(control_proto_parse_reply(s, strlen(s), &r, why, sizeof(why)), 0);
	assert_int_equal(r.kind, CONTROL_REPLY_RETURN);
	assert_int_equal(json_object_object_length(r.value), 1);
	control_reply_clear(&r);
	s = "{\"error\":{\"class\":\"DeviceNotFound\",\"desc\":\"no\"}}";
	assert_int_equal(control_proto_parse_reply(s, strlen(s), &r, why, sizeof(why)), 0);
	assert_int_equal(r.kind, CONTROL_REPLY_ERROR);
	assert_string_equal(r.error_class, "DeviceNotFound");
	assert_string_equal(r.error_desc, "no");
	control_reply_clear(&r);
	s = "{\"event\":\"POWERDOWN\",\"timestamp\":{}}";
	assert_int_equal(control_proto_parse_reply(s, strlen(s), &r, why, sizeof(why)), 0);
	assert_int_equal(r.kind, CONTROL_REPLY_EVENT);
	assert_string_equal(r.event, "POWERDOWN");
	assert_null(r.value);
	control_reply_clear(&r);
	s = "{\"what\":1}";
	assert_int_equal(control_proto_parse_reply(s, strlen(s), &r, why, sizeof(why)), -EINVAL);
	assert_int_equal(control_proto_parse_reply("[", 1, &r, why, sizeof(why)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_commands_and_aliases, teardown),
		cmocka_unit_test_teardown(test_ids_are_kept, teardown),
		cmocka_unit_test_teardown(test_balloon_arguments, teardown),
		cmocka_unit_test_teardown(test_agent_arguments, teardown),
		cmocka_unit_test_teardown(test_malformed, teardown),
		cmocka_unit_test_teardown(test_nul_and_oversize, teardown),
		cmocka_unit_test(test_server_messages),
		cmocka_unit_test(test_client_side),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
