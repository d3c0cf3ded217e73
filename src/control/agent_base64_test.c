/* Unit tests for base64: RFC 4648's vectors both ways, and refusals. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/agent_base64.h"

static const char *const vectors[][2] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void test_rfc4648_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const char *raw = vectors[i][0], *b64 = vectors[i][1];
		char *enc = agent_base64_encode((const uint8_t *)raw, strlen(raw));
		uint8_t *dec;
		size_t len;

		assert_string_equal(enc, b64);
		free(enc);
		assert_int_equal(agent_base64_decode(b64, strlen(b64), &dec, &len), 0);
		assert_int_equal(len, strlen(raw));
		assert_memory_equal(dec, raw, len);
		free(dec);
	}
}

static void test_all_bytes_and_whitespace(void **state)
{
	uint8_t raw[256], *dec;
	char *enc;
	size_t len;

	(void)state;
	for (int i = 0; i < 256; i++)
		raw[i] = (uint8_t)i;
	enc = agent_base64_encode(raw, sizeof(raw));
	assert_non_null(strchr(enc, '+'));
	assert_non_null(strchr(enc, '/'));
	assert_int_equal(agent_base64_decode(enc, strlen(enc), &dec, &len), 0);
	assert_int_equal(len, sizeof(raw));
	assert_memory_equal(dec, raw, len);
	free(dec);
	free(enc);
	assert_int_equal(agent_base64_decode("Zm9v\nYmFy\r\n", 11, &dec, &len), 0);
	assert_int_equal(len, 6);
	free(dec);
}

static void test_refusals(void **state)
{
	uint8_t *dec = NULL;
	size_t len;

	(void)state;
	assert_int_equal(agent_base64_decode("Zm9v!", 5, &dec, &len), -EINVAL);
	assert_int_equal(agent_base64_decode("Zg==Zg==", 8, &dec, &len), -EINVAL);
	assert_int_equal(agent_base64_decode("Zh==", 4, &dec, &len), -EINVAL); /* stray bits */
	assert_int_equal(agent_base64_decode("Z", 1, &dec, &len), -EINVAL);
	assert_int_equal(agent_base64_decode("Zg===", 5, &dec, &len), -EINVAL);
	assert_null(dec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc4648_vectors),
	    cmocka_unit_test(test_all_bytes_and_whitespace),
	    cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
