/* Unit tests for the virtio-console control message parser and builder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <linux/virtio_console.h>

#include "devices/virtio_console/virtio_console_ctrl.h"

static void put_msg(uint8_t *buf, uint32_t id, uint16_t event, uint16_t value)
{
	/* Little-endian by hand, independent of the code under test. */
	uint8_t raw[8] = { id & 0xff, (id >> 8) & 0xff, (id >> 16) & 0xff, id >> 24,
			   event & 0xff, event >> 8, value & 0xff, value >> 8 };

	memcpy(buf, raw, sizeof(raw));
}

static enum virtio_console_ctrl_verdict parse(uint32_t id, uint16_t event, uint16_t value,
					      struct virtio_console_ctrl_msg *msg)
{
	uint8_t buf[8];

	put_msg(buf, id, event, value);
	return virtio_console_ctrl_parse(buf, sizeof(buf), 4, msg);
}

static void test_valid_driver_messages(void **state)
{
	struct virtio_console_ctrl_msg msg;

	(void)state;
	assert_int_equal(parse(VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1, &msg),
			 VIRTIO_CONSOLE_CTRL_OK);
	assert_int_equal(msg.event, VIRTIO_CONSOLE_DEVICE_READY);
	assert_int_equal(msg.value, 1);
	assert_int_equal(parse(3, VIRTIO_CONSOLE_PORT_READY, 1, &msg), VIRTIO_CONSOLE_CTRL_OK);
	assert_int_equal(msg.id, 3);
	assert_int_equal(msg.event, VIRTIO_CONSOLE_PORT_READY);
	assert_int_equal(parse(0, VIRTIO_CONSOLE_PORT_OPEN, 0, &msg), VIRTIO_CONSOLE_CTRL_OK);
	assert_int_equal(msg.event, VIRTIO_CONSOLE_PORT_OPEN);
	assert_int_equal(msg.value, 0);
}

static void test_short_messages(void **state)
{
	struct virtio_console_ctrl_msg msg;
	uint8_t buf[16];

	(void)state;
	put_msg(buf, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	for (size_t len = 0; len < 8; len++)
		assert_int_equal(virtio_console_ctrl_parse(buf, len, 4, &msg),
				 VIRTIO_CONSOLE_CTRL_SHORT);
	/* Trailing bytes are ignored. */
	memset(buf + 8, 0xee, 8);
	assert_int_equal(virtio_console_ctrl_parse(buf, 16, 4, &msg), VIRTIO_CONSOLE_CTRL_OK);
}

static void test_bad_ids(void **state)
{
	struct virtio_console_ctrl_msg msg = { .id = 77 };

	(void)state;
	assert_int_equal(parse(4, VIRTIO_CONSOLE_PORT_READY, 1, &msg), VIRTIO_CONSOLE_CTRL_BAD_ID);
	assert_int_equal(parse(VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_PORT_OPEN, 1, &msg),
			 VIRTIO_CONSOLE_CTRL_BAD_ID);
	assert_int_equal(msg.id, 77); /* untouched on failure */
}

static void test_bad_events_and_values(void **state)
{
	static const uint16_t device_only[] = { VIRTIO_CONSOLE_PORT_ADD, VIRTIO_CONSOLE_PORT_REMOVE,
						VIRTIO_CONSOLE_CONSOLE_PORT, VIRTIO_CONSOLE_RESIZE,
						VIRTIO_CONSOLE_PORT_NAME, 8, 0xffff };
	struct virtio_console_ctrl_msg msg;

	(void)state;
	for (size_t i = 0; i < sizeof(device_only) / sizeof(device_only[0]); i++)
		assert_int_equal(parse(0, device_only[i], 1, &msg),
				 VIRTIO_CONSOLE_CTRL_BAD_EVENT);
	assert_int_equal(parse(0, VIRTIO_CONSOLE_PORT_OPEN, 2, &msg),
			 VIRTIO_CONSOLE_CTRL_BAD_VALUE);
	assert_int_equal(parse(0, VIRTIO_CONSOLE_DEVICE_READY, 0x100, &msg),
			 VIRTIO_CONSOLE_CTRL_BAD_VALUE);
	assert_string_equal(virtio_console_ctrl_verdict_str(VIRTIO_CONSOLE_CTRL_BAD_ID),
			    "control message for a port that does not exist");
}

static void test_build(void **state)
{
	uint8_t buf[16], expect[8];

	(void)state;
	assert_int_equal(virtio_console_ctrl_build(buf, sizeof(buf), 2, VIRTIO_CONSOLE_PORT_NAME,
						   0, "agent", 5),
			 13);
	put_msg(expect, 2, VIRTIO_CONSOLE_PORT_NAME, 0);
	assert_memory_equal(buf, expect, 8);
	assert_memory_equal(buf + 8, "agent", 5);
	/* Too small: nothing built. */
	assert_int_equal(virtio_console_ctrl_build(buf, 12, 2, VIRTIO_CONSOLE_PORT_NAME, 0, "agent",
						   5),
			 0);
	assert_int_equal(virtio_console_ctrl_build(buf, 7, 0, VIRTIO_CONSOLE_PORT_ADD, 0, NULL, 0),
			 0);
	assert_int_equal(virtio_console_ctrl_build(buf, 8, 0x01020304, VIRTIO_CONSOLE_PORT_OPEN, 1,
						   NULL, 0),
			 8);
	put_msg(expect, 0x01020304, VIRTIO_CONSOLE_PORT_OPEN, 1);
	assert_memory_equal(buf, expect, 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_driver_messages),
		cmocka_unit_test(test_short_messages),
		cmocka_unit_test(test_bad_ids),
		cmocka_unit_test(test_bad_events_and_values),
		cmocka_unit_test(test_build),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
