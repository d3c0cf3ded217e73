/*
 * Unit tests for the 9P wire format: every T-message the server parses,
 * truncated and oversized fields, the Twrite header-only form, and the
 * bounded writer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "devices/virtio_9p/p9_wire.h"

static uint8_t buf[4096];

static struct p9_wire_buf *start(uint8_t type)
{
	static struct p9_wire_buf b;

	p9_wire_buf_init(&b, buf, sizeof(buf));
	p9_wire_begin(&b, type, 0x1234);
	return &b;
}

static int parse(struct p9_wire_buf *b, struct p9_msg *m)
{
	int len = p9_wire_finish(b);

	assert_true(len > 0);
	return p9_wire_parse(buf, (size_t)len, m);
}

static void test_header(void **state)
{
	uint32_t size;
	uint8_t type;
	uint16_t tag;

	(void)state;
	assert_int_equal(p9_wire_header("\x07\0\0\0\x64\x34\x12", 7, &size, &type, &tag), 0);
	assert_int_equal(size, 7);
	assert_int_equal(type, 100);
	assert_int_equal(tag, 0x1234);
	assert_int_equal(p9_wire_header("\x06\0\0\0\x64\x34\x12", 7, &size, &type, &tag), -EPROTO);
	assert_int_equal(p9_wire_header("\x07\0\0\0\x64\x34", 6, &size, &type, &tag), -EPROTO);
}

static void test_walk(void **state)
{
	struct p9_wire_buf *b = start(P9_TWALK);
	struct p9_msg m;

	(void)state;
	p9_wire_put_u32(b, 1);
	p9_wire_put_u32(b, 2);
	p9_wire_put_u16(b, 2);
	p9_wire_put_cstr(b, "usr");
	p9_wire_put_str(b, "a\0b", 3);
	assert_int_equal(parse(b, &m), 0);
	assert_int_equal(m.tag, 0x1234);
	assert_int_equal(m.walk.fid, 1);
	assert_int_equal(m.walk.newfid, 2);
	assert_int_equal(m.walk.nwname, 2);
	assert_int_equal(m.walk.wname[0].len, 3);
	assert_memory_equal(m.walk.wname[0].s, "usr", 3);
	assert_int_equal(m.walk.wname[1].len, 3); /* the NUL is kept: the server refuses it */
	/* 17 names: more than MAXWELEM */
	b = start(P9_TWALK);
	p9_wire_put_u32(b, 1);
	p9_wire_put_u32(b, 2);
	p9_wire_put_u16(b, 17);
	for (int i = 0; i < 17; i++)
		p9_wire_put_cstr(b, "x");
	assert_int_equal(parse(b, &m), -EPROTO);
	/* a name running past the end */
	b = start(P9_TWALK);
	p9_wire_put_u32(b, 1);
	p9_wire_put_u32(b, 2);
	p9_wire_put_u16(b, 1);
	p9_wire_put_u16(b, 50);
	p9_wire_put_bytes(b, "short", 5);
	assert_int_equal(parse(b, &m), -EPROTO);
}

static void test_every_type_parses(void **state)
{
	static const struct {
		uint8_t type;
		const char *fields; /* 1/2/4/8: integers, s: a string */
	} shapes[] = {
	    {P9_TVERSION, "4s"},      {P9_TAUTH, "4ss4"},	 {P9_TATTACH, "44ss4"},
	    {P9_TFLUSH, "2"},	      {P9_TCLUNK, "4"},		 {P9_TREMOVE, "4"},
	    {P9_TREADLINK, "4"},      {P9_TSTATFS, "4"},	 {P9_TLOPEN, "44"},
	    {P9_TLCREATE, "4s444"},   {P9_TSYMLINK, "4ss4"},	 {P9_TMKNOD, "4s4444"},
	    {P9_TRENAME, "44s"},      {P9_TGETATTR, "48"},	 {P9_TSETATTR, "4444488888"},
	    {P9_TXATTRWALK, "44s"},   {P9_TXATTRCREATE, "4s84"}, {P9_TREAD, "484"},
	    {P9_TREADDIR, "484"},     {P9_TFSYNC, "44"},	 {P9_TLOCK, "41488 4s"},
	    {P9_TGETLOCK, "4188 4s"}, {P9_TLINK, "44s"},	 {P9_TMKDIR, "4s44"},
	    {P9_TRENAMEAT, "4s4s"},   {P9_TUNLINKAT, "4s4"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(shapes); i++) {
		struct p9_wire_buf *b = start(shapes[i].type);
		struct p9_msg m;
		int len;

		for (const char *f = shapes[i].fields; *f; f++) {
			switch (*f) {
			case '1':
				p9_wire_put_u8(b, 1);
				break;
			case '2':
				p9_wire_put_u16(b, 2);
				break;
			case '4':
				p9_wire_put_u32(b, 4);
				break;
			case '8':
				p9_wire_put_u64(b, 8);
				break;
			case 's':
				p9_wire_put_cstr(b, "name");
				break;
			default:
				break;
			}
		}
		len = p9_wire_finish(b);
		if (p9_wire_parse(buf, (size_t)len, &m))
			fail_msg("type %u does not parse", shapes[i].type);
		assert_int_equal(m.type, shapes[i].type);
		/* one byte short, and one byte too many */
		buf[0] = (uint8_t)(len - 1);
		assert_int_equal(p9_wire_parse(buf, (size_t)len - 1, &m), -EPROTO);
		buf[0] = (uint8_t)(len + 1);
		buf[len] = 0;
		assert_int_equal(p9_wire_parse(buf, (size_t)len + 1, &m), -EPROTO);
	}
}

static void test_write_forms(void **state)
{
	struct p9_wire_buf *b = start(P9_TWRITE);
	struct p9_msg m;
	int len;

	(void)state;
	p9_wire_put_u32(b, 3);
	p9_wire_put_u64(b, 100);
	p9_wire_put_u32(b, 5);
	p9_wire_put_bytes(b, "hello", 5);
	len = p9_wire_finish(b);
	assert_int_equal(p9_wire_parse(buf, (size_t)len, &m), 0);
	assert_int_equal(m.write.count, 5);
	assert_memory_equal(m.write.data, "hello", 5);
	/* the header alone: the data stays with the transport */
	assert_int_equal(p9_wire_parse(buf, P9_WRITE_HDR_SIZE, &m), 0);
	assert_null(m.write.data);
	assert_int_equal(m.write.count, 5);
	/* a count that disagrees with the size */
	buf[19] = 6;
	assert_int_equal(p9_wire_parse(buf, (size_t)len, &m), -EPROTO);
	assert_int_equal(p9_wire_parse(buf, P9_WRITE_HDR_SIZE - 1, &m), -EPROTO);
	/* other messages may not stop short */
	b = start(P9_TREAD);
	p9_wire_put_u32(b, 3);
	p9_wire_put_u64(b, 0);
	p9_wire_put_u32(b, 10);
	len = p9_wire_finish(b);
	assert_int_equal(p9_wire_parse(buf, (size_t)len - 2, &m), -EPROTO);
	assert_int_equal(p9_wire_parse(buf, 7, &m), -EPROTO);
}

static void test_unknown_type(void **state)
{
	struct p9_wire_buf *b = start(200);
	struct p9_msg m;

	(void)state;
	assert_int_equal(parse(b, &m), -EOPNOTSUPP);
	assert_int_equal(m.tag, 0x1234);
}

static void test_writer_bounds(void **state)
{
	uint8_t small[16];
	struct p9_wire_buf b;

	(void)state;
	p9_wire_buf_init(&b, small, sizeof(small));
	p9_wire_begin(&b, P9_TVERSION + 1, 1);
	p9_wire_put_u64(&b, 1);
	assert_int_equal(p9_wire_room(&b), 1);
	p9_wire_put_u16(&b, 1);
	assert_true(b.overflow);
	assert_int_equal(p9_wire_finish(&b), -EMSGSIZE);
	p9_wire_lerror(&b, 5, 2);
	assert_int_equal(p9_wire_finish(&b), 11);
	assert_memory_equal(small, "\x0b\0\0\0\x07\x05\0\x02\0\0\0", 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header),
	    cmocka_unit_test(test_walk),
	    cmocka_unit_test(test_every_type_parses),
	    cmocka_unit_test(test_write_forms),
	    cmocka_unit_test(test_unknown_type),
	    cmocka_unit_test(test_writer_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
