/*
 * Unit tests for the AML builder. Expected bytes were checked against
 * iasl 20200925 compiling the same ASL with optimizations off (-oa), except
 * that iasl writes Zero/One constants as BytePrefix and End Tag checksums
 * as 0 where the builder uses ZeroOp/OneOp and a real checksum.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four headers it needs */

#include <errno.h>
#include <string.h>

#include "arch/x86/aml.h"

#define BUF_SIZE 8192

static uint8_t buf[BUF_SIZE];

static void start(struct aml *a)
{
	memset(buf, 0xee, sizeof(buf));
	aml_init(a, buf, sizeof(buf));
}

/* Finishes the stream and checks it is exactly `want`. */
static void expect_bytes(const struct aml *a, const uint8_t *want, size_t n)
{
	size_t len = 0;

	assert_int_equal(aml_finish(a, &len), 0);
	assert_int_equal(len, n);
	assert_memory_equal(buf, want, n);
}

#define EXPECT(a, ...)                                                                             \
	do {                                                                                       \
		static const uint8_t want_[] = {__VA_ARGS__};                                      \
		expect_bytes((a), want_, sizeof(want_));                                           \
	} while (0)

static void expect_error(const struct aml *a, int err)
{
	size_t len = 12345;

	assert_int_equal(aml_finish(a, &len), err);
	assert_int_equal(len, 12345); /* untouched on error */
}

static void check_pkglen(uint32_t value, const uint8_t *want, size_t n)
{
	uint8_t out[AML_PKGLEN_MAX_BYTES];
	size_t got = 0;

	assert_int_equal(aml_pkglen_encode(value, out, &got), 0);
	assert_int_equal(got, n);
	assert_memory_equal(out, want, n);
}

static void test_pkglen_encoding(void **state)
{
	(void)state;
	uint8_t out[AML_PKGLEN_MAX_BYTES];
	size_t n;

	check_pkglen(0, (const uint8_t[]){0x00}, 1);
	check_pkglen(63, (const uint8_t[]){0x3f}, 1);
	check_pkglen(64, (const uint8_t[]){0x40, 0x04}, 2);
	check_pkglen(65, (const uint8_t[]){0x41, 0x04}, 2);
	check_pkglen(4095, (const uint8_t[]){0x4f, 0xff}, 2);
	check_pkglen(4096, (const uint8_t[]){0x80, 0x00, 0x01}, 3);
	check_pkglen(0xfffff, (const uint8_t[]){0x8f, 0xff, 0xff}, 3);
	check_pkglen(0x100000, (const uint8_t[]){0xc0, 0x00, 0x00, 0x01}, 4);
	check_pkglen(0x0fffffff, (const uint8_t[]){0xcf, 0xff, 0xff, 0xff}, 4);
	assert_int_equal(aml_pkglen_encode(0x10000000, out, &n), -ERANGE);
}

/*
 * The builder sizes PkgLength so that it counts its own bytes: a buffer of
 * 60 bytes still fits a one-byte PkgLength (1 + 2 + 60 = 63), 61 does not
 * (2 + 2 + 61 = 65); 4090 fits two bytes (2 + 3 + 4090 = 4095), 4091 needs
 * three (3 + 3 + 4091 = 4097).
 */
static void test_pkglen_boundaries_in_buffers(void **state)
{
	(void)state;
	static uint8_t data[4091];
	struct aml a;
	size_t len;

	start(&a);
	aml_buffer(&a, data, 60);
	assert_int_equal(aml_finish(&a, &len), 0);
	assert_int_equal(len, 1 + 63);
	assert_memory_equal(buf, ((const uint8_t[]){0x11, 0x3f, 0x0a, 60}), 4);

	start(&a);
	aml_buffer(&a, data, 61);
	assert_int_equal(aml_finish(&a, &len), 0);
	assert_int_equal(len, 1 + 65);
	assert_memory_equal(buf, ((const uint8_t[]){0x11, 0x41, 0x04, 0x0a, 61}), 5);

	start(&a);
	aml_buffer(&a, data, 4090);
	assert_int_equal(aml_finish(&a, &len), 0);
	assert_int_equal(len, 1 + 4095);
	assert_memory_equal(buf, ((const uint8_t[]){0x11, 0x4f, 0xff, 0x0b, 0xfa, 0x0f}), 6);

	start(&a);
	aml_buffer(&a, data, 4091);
	assert_int_equal(aml_finish(&a, &len), 0);
	assert_int_equal(len, 1 + 4097);
	assert_memory_equal(buf, ((const uint8_t[]){0x11, 0x81, 0x00, 0x01, 0x0b, 0xfb, 0x0f}), 7);
}

static void package_of_zeros(struct aml *a, unsigned int n)
{
	aml_package_begin(a);
	for (unsigned int i = 0; i < n; i++)
		aml_integer(a, 0);
	aml_end(a);
}

/* Package: PkgLength + NumElements + elements; 61 zeros -> 63, 62 -> 65. */
static void test_pkglen_boundaries_in_packages(void **state)
{
	(void)state;
	struct aml a;
	size_t len;

	start(&a);
	package_of_zeros(&a, 61);
	assert_int_equal(aml_finish(&a, &len), 0);
	assert_int_equal(len, 1 + 63);
	assert_memory_equal(buf, ((const uint8_t[]){0x12, 0x3f, 61, 0x00}), 4);

	start(&a);
	package_of_zeros(&a, 62);
	assert_int_equal(aml_finish(&a, &len), 0);
	assert_int_equal(len, 1 + 65);
	assert_memory_equal(buf, ((const uint8_t[]){0x12, 0x41, 0x04, 62, 0x00}), 5);

	start(&a);
	package_of_zeros(&a, 255);
	assert_int_equal(aml_finish(&a, &len), 0);
	start(&a);
	package_of_zeros(&a, 256);
	expect_error(&a, -EINVAL);
}

static void test_integers(void **state)
{
	(void)state;
	struct aml a;

	start(&a);
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 2);
	aml_integer(&a, 0xff);
	aml_integer(&a, 0x100);
	aml_integer(&a, 0xffff);
	aml_integer(&a, 0x10000);
	aml_integer(&a, 0xffffffff);
	aml_integer(&a, 0x100000000ULL);
	/* clang-format off */
	EXPECT(&a, 0x00, 0x01, 0x0a, 0x02, 0x0a, 0xff, 0x0b, 0x00, 0x01, 0x0b, 0xff, 0xff,
	       0x0c, 0x00, 0x00, 0x01, 0x00, 0x0c, 0xff, 0xff, 0xff, 0xff,
	       0x0e, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00);
	/* clang-format on */
}

static void test_strings_and_eisaid(void **state)
{
	(void)state;
	struct aml a;

	start(&a);
	aml_string(&a, "QEMU0001");
	aml_string(&a, "");
	aml_eisaid(&a, "PNP0501");
	aml_eisaid(&a, "PNP0C0C");
	/* clang-format off */
	EXPECT(&a, 0x0d, 'Q', 'E', 'M', 'U', '0', '0', '0', '1', 0x00, 0x0d, 0x00,
	       0x0c, 0x41, 0xd0, 0x05, 0x01, 0x0c, 0x41, 0xd0, 0x0c, 0x0c);
	/* clang-format on */

	start(&a);
	aml_string(&a, "caf\xc3\xa9");
	expect_error(&a, -EINVAL);
	static const char *const bad_ids[] = {"pnp0501", "PNP050", "PNP05011", "PNP05G1",
					      "P1P0501"};
	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		start(&a);
		aml_eisaid(&a, bad_ids[i]);
		expect_error(&a, -EINVAL);
	}
}

static void test_name_strings(void **state)
{
	(void)state;
	struct aml a;

	start(&a);
	aml_name_integer(&a, "_S5", 0);		   /* padded to _S5_ */
	aml_name_integer(&a, "\\_SB.PCI0", 0);	   /* dual name */
	aml_name_integer(&a, "\\_SB.PCI0.ISA", 0); /* multi name */
	aml_name_integer(&a, "^^FOO1", 0);	   /* parent prefixes */
	/* clang-format off */
	EXPECT(&a, 0x08, '_', 'S', '5', '_', 0x00,
	       0x08, 0x5c, 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 0x00,
	       0x08, 0x5c, 0x2f, 0x03, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'I', 'S', 'A', '_', 0x00,
	       0x08, 0x5e, 0x5e, 'F', 'O', 'O', '1', 0x00);
	/* clang-format on */

	start(&a);
	aml_scope_begin(&a, "\\"); /* the root: RootChar + NullName */
	aml_end(&a);
	EXPECT(&a, 0x10, 0x03, 0x5c, 0x00);

	static const char *const bad[] = {"",	"1ABC", "ABCDE", "abc", "A..B",
					  "A.", ".A",	"\\^A",	 "A-B"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		start(&a);
		aml_name_integer(&a, bad[i], 0);
		expect_error(&a, -EINVAL);
	}
}

static void test_device_method_scope(void **state)
{
	(void)state;
	struct aml a;

	start(&a);
	aml_scope_begin(&a, "\\_SB");
	aml_device_begin(&a, "COM1");
	aml_name_integer(&a, "_UID", 1);
	aml_end(&a);
	aml_method_begin(&a, "_STA", 0, false);
	aml_return_integer(&a, 0x0f);
	aml_end(&a);
	aml_method_begin(&a, "MTH1", 2, true);
	aml_end(&a);
	aml_end(&a);
	/* clang-format off */
	EXPECT(&a, 0x10, 0x24, 0x5c, '_', 'S', 'B', '_',
	       0x5b, 0x82, 0x0b, 'C', 'O', 'M', '1', 0x08, '_', 'U', 'I', 'D', 0x01,
	       0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f,
	       0x14, 0x06, 'M', 'T', 'H', '1', 0x0a);
	/* clang-format on */

	start(&a);
	aml_method_begin(&a, "BAD_", 8, false);
	expect_error(&a, -EINVAL);
}

static void test_nested_packages(void **state)
{
	(void)state;
	struct aml a;

	/* Package () { 5, "a", Package () { 0 }, Buffer () { 1, 2, 3 } } */
	start(&a);
	aml_package_begin(&a);
	aml_integer(&a, 5);
	aml_string(&a, "a");
	aml_package_begin(&a);
	aml_integer(&a, 0);
	aml_end(&a);
	aml_buffer(&a, (const uint8_t[]){1, 2, 3}, 3);
	aml_end(&a);
	/* clang-format off */
	EXPECT(&a, 0x12, 0x12, 0x04, 0x0a, 0x05, 0x0d, 'a', 0x00, 0x12, 0x03, 0x01, 0x00,
	       0x11, 0x06, 0x0a, 0x03, 0x01, 0x02, 0x03);
	/* clang-format on */
}

static uint8_t sum_bytes(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static void test_resource_template(void **state)
{
	(void)state;
	struct aml a;
	size_t len;

	start(&a);
	aml_resource_begin(&a);
	aml_res_io(&a, 0x3f8, 8);
	aml_res_irq(&a, 4);
	aml_res_interrupt(&a, 5, AML_IRQ_EDGE);
	aml_res_interrupt(&a, 0x20, AML_IRQ_LEVEL | AML_IRQ_ACTIVE_LOW | AML_IRQ_SHARED);
	aml_res_memory32_fixed(&a, 0xfec00000, 0x1000, true);
	aml_res_memory32_fixed(&a, 0x12345678, 0x10, false);
	aml_resource_end(&a);
	assert_int_equal(aml_finish(&a, &len), 0);

	/* clang-format off */
	static const uint8_t want[] = {
		0x11, 0x3a, 0x0a, 0x37,
		0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,		  /* IO */
		0x22, 0x10, 0x00,					  /* IRQNoFlags {4} */
		0x89, 0x06, 0x00, 0x03, 0x01, 0x05, 0x00, 0x00, 0x00,	  /* Interrupt {5} */
		0x89, 0x06, 0x00, 0x0d, 0x01, 0x20, 0x00, 0x00, 0x00,	  /* Interrupt {0x20} */
		0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0xc0, 0xfe, 0x00, 0x10, 0x00, 0x00,
		0x86, 0x09, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12, 0x10, 0x00, 0x00, 0x00,
		0x79,
	};
	/* clang-format on */
	assert_int_equal(len, sizeof(want) + 1);
	assert_memory_equal(buf, want, sizeof(want));
	/* The End Tag checksum makes the template's bytes (after BufferSize) sum to 0. */
	assert_int_equal(sum_bytes(buf + 4, len - 4), 0);
}

/*
 * A PCI host bridge's windows; iasl compiles the same ASL (WordBusNumber,
 * WordIO, DWordMemory, QWordMemory as producers with MinFixed, MaxFixed,
 * PosDecode, NonCacheable, ReadWrite) to these bytes.
 */
static void test_address_space_descriptors(void **state)
{
	(void)state;
	struct aml a;
	size_t len;

	start(&a);
	aml_resource_begin(&a);
	aml_res_word_bus_number(&a, 0, 1);
	aml_res_word_io(&a, 0xd00, 0xf300);
	aml_res_dword_memory(&a, 0xc0000000, 0x20000000);
	aml_res_qword_memory(&a, 0x140000000ULL, 0x1000000000ULL);
	aml_resource_end(&a);
	assert_int_equal(aml_finish(&a, &len), 0);

	/* clang-format off */
	static const uint8_t want[] = {
		0x11, 0x4e, 0x06, 0x0a, 0x6a,
		0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00,	/* WordBusNumber 0-0 */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
		0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03,	/* WordIO 0xd00-0xffff */
		0x00, 0x00, 0x00, 0x0d, 0xff, 0xff, 0x00, 0x00, 0x00, 0xf3,
		0x87, 0x17, 0x00, 0x00, 0x0c, 0x01,	/* DWordMemory */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xff, 0xff, 0xff, 0xdf,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20,
		0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x01,	/* QWordMemory */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x40, 0x01, 0x00, 0x00, 0x00,
		0xff, 0xff, 0xff, 0x3f, 0x11, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
		0x79,
	};
	/* clang-format on */
	assert_int_equal(len, sizeof(want) + 1);
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(sum_bytes(buf + 5, len - 5), 0);
}

/* A range may end at the top of the descriptor's width, never wrap past it. */
static void test_address_space_limits(void **state)
{
	(void)state;
	struct aml a;
	size_t len;

	start(&a);
	aml_resource_begin(&a);
	aml_res_word_io(&a, 0xffff, 1);
	aml_res_dword_memory(&a, 0xfffff000, 0x1000);
	aml_res_qword_memory(&a, 0, UINT64_MAX);
	aml_res_qword_memory(&a, UINT64_MAX, 1);
	aml_resource_end(&a);
	assert_int_equal(aml_finish(&a, &len), 0);

	static const struct {
		unsigned int width;
		uint64_t min, len;
	} bad[] = {
	    {2, 0, 0}, {2, 0xffff, 2}, {4, 0xfffff000, 0x1001}, {8, 1, UINT64_MAX}, {8, 5, 0},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		start(&a);
		aml_resource_begin(&a);
		if (bad[i].width == 2)
			aml_res_word_bus_number(&a, (uint16_t)bad[i].min, (uint16_t)bad[i].len);
		else if (bad[i].width == 4)
			aml_res_dword_memory(&a, (uint32_t)bad[i].min, (uint32_t)bad[i].len);
		else
			aml_res_qword_memory(&a, bad[i].min, bad[i].len);
		expect_error(&a, -EINVAL);
	}
	start(&a);
	aml_res_qword_memory(&a, 0, 1); /* outside a template */
	expect_error(&a, -EINVAL);
}

static void test_uuid(void **state)
{
	(void)state;
	struct aml a;

	start(&a);
	aml_uuid(&a, "33db4d5b-1ff7-401c-9657-7441c03dd766");
	aml_uuid(&a, "33DB4D5B-1FF7-401C-9657-7441C03DD766");
	/* clang-format off */
	EXPECT(&a, 0x11, 0x13, 0x0a, 0x10, 0x5b, 0x4d, 0xdb, 0x33, 0xf7, 0x1f, 0x1c, 0x40,
	       0x96, 0x57, 0x74, 0x41, 0xc0, 0x3d, 0xd7, 0x66,
	       0x11, 0x13, 0x0a, 0x10, 0x5b, 0x4d, 0xdb, 0x33, 0xf7, 0x1f, 0x1c, 0x40,
	       0x96, 0x57, 0x74, 0x41, 0xc0, 0x3d, 0xd7, 0x66);
	/* clang-format on */

	static const char *const bad[] = {
	    "33db4d5b-1ff7-401c-9657-7441c03dd76",   "33db4d5b-1ff7-401c-9657-7441c03dd7666",
	    "33db4d5b1-ff7-401c-9657-7441c03dd766",  "33db4d5b-1ff7-401c-9657_7441c03dd766",
	    "33db4d5g-1ff7-401c-9657-7441c03dd766",  "33db4d5b-1ff7-401c-9657-7441c03dd76 ",
	    "{3db4d5b-1ff7-401c-9657-7441c03dd766}", "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		start(&a);
		aml_uuid(&a, bad[i]);
		expect_error(&a, -EINVAL);
	}
}

/*
 * A PCI host bridge _OSC; iasl compiles the same ASL to these bytes:
 *   Method (_OSC, 4) { CreateDWordField (Arg3, Zero, CDW1)
 *     If (LEqual (Arg0, ToUUID ("33db4d5b-..."))) {
 *       If (LNotEqual (Arg1, One)) { Or (CDW1, 0x08, CDW1) } }
 *     Else { Or (CDW1, 0x04, CDW1) }
 *     Return (Arg3) }
 */
static void test_method_body_operators(void **state)
{
	(void)state;
	struct aml a;

	start(&a);
	aml_method_begin(&a, "_OSC", 4, false);
	aml_create_dword_field(&a);
	aml_arg(&a, 3);
	aml_integer(&a, 0);
	aml_name_ref(&a, "CDW1");
	aml_if_begin(&a);
	aml_lequal(&a);
	aml_arg(&a, 0);
	aml_uuid(&a, "33db4d5b-1ff7-401c-9657-7441c03dd766");
	aml_if_begin(&a);
	aml_lnot(&a);
	aml_lequal(&a);
	aml_arg(&a, 1);
	aml_integer(&a, 1);
	aml_or(&a);
	aml_name_ref(&a, "CDW1");
	aml_integer(&a, 8);
	aml_name_ref(&a, "CDW1");
	aml_end(&a);
	aml_end(&a);
	aml_else_begin(&a);
	aml_or(&a);
	aml_name_ref(&a, "CDW1");
	aml_integer(&a, 4);
	aml_name_ref(&a, "CDW1");
	aml_end(&a);
	aml_return(&a);
	aml_arg(&a, 3);
	aml_end(&a);
	/* clang-format off */
	EXPECT(&a, 0x14, 0x46, 0x04, '_', 'O', 'S', 'C', 0x04,
	       0x8a, 0x6b, 0x00, 'C', 'D', 'W', '1',
	       0xa0, 0x28, 0x93, 0x68,
	       0x11, 0x13, 0x0a, 0x10, 0x5b, 0x4d, 0xdb, 0x33, 0xf7, 0x1f, 0x1c, 0x40,
	       0x96, 0x57, 0x74, 0x41, 0xc0, 0x3d, 0xd7, 0x66,
	       0xa0, 0x10, 0x92, 0x93, 0x69, 0x01,
	       0x7d, 'C', 'D', 'W', '1', 0x0a, 0x08, 'C', 'D', 'W', '1',
	       0xa1, 0x0c, 0x7d, 'C', 'D', 'W', '1', 0x0a, 0x04, 'C', 'D', 'W', '1',
	       0xa4, 0x6b);
	/* clang-format on */
}

/* Method (_EVT, 1) { Notify (\_SB.PWRB, 0x80) }: the GED's event method. */
static void test_notify(void **state)
{
	(void)state;
	struct aml a;

	start(&a);
	aml_method_begin(&a, "_EVT", 1, false);
	aml_notify(&a);
	aml_name_ref(&a, "\\_SB.PWRB");
	aml_integer(&a, 0x80);
	aml_end(&a);
	EXPECT(&a, 0x14, 0x13, '_', 'E', 'V', 'T', 0x01, 0x86, 0x5c, 0x2e, '_', 'S', 'B', '_', 'P',
	       'W', 'R', 'B', 0x0a, 0x80);

	start(&a);
	aml_package_begin(&a);
	aml_notify(&a); /* not a package element */
	expect_error(&a, -EINVAL);
}

/* Operators outside method-like places, and an Else with no If just before. */
static void test_operator_misuse_is_einval(void **state)
{
	(void)state;
	struct aml a;

	start(&a);
	aml_arg(&a, 7);
	expect_error(&a, -EINVAL);

	start(&a);
	aml_else_begin(&a); /* no If at all */
	expect_error(&a, -EINVAL);

	start(&a);
	aml_if_begin(&a);
	aml_integer(&a, 1);
	aml_end(&a);
	aml_return(&a); /* something between the If and the Else */
	aml_integer(&a, 0);
	aml_else_begin(&a);
	expect_error(&a, -EINVAL);

	start(&a);
	aml_if_begin(&a);
	aml_else_begin(&a); /* inside the If, not after it */
	expect_error(&a, -EINVAL);

	start(&a);
	aml_package_begin(&a);
	aml_arg(&a, 0); /* not a package element */
	expect_error(&a, -EINVAL);

	start(&a);
	aml_package_begin(&a);
	aml_return_integer(&a, 0);
	expect_error(&a, -EINVAL);

	start(&a);
	aml_resource_begin(&a);
	aml_if_begin(&a);
	expect_error(&a, -EINVAL);

	start(&a);
	aml_resource_begin(&a);
	aml_name_ref(&a, "CDW1");
	expect_error(&a, -EINVAL);

	/* A name reference is a valid package element and counts as one. */
	start(&a);
	aml_package_begin(&a);
	aml_name_ref(&a, "\\_SB.LNKA");
	aml_integer(&a, 0);
	aml_end(&a);
	EXPECT(&a, 0x12, 0x0d, 0x02, 0x5c, 0x2e, '_', 'S', 'B', '_', 'L', 'N', 'K', 'A', 0x00);
}

static void test_misuse_is_einval(void **state)
{
	(void)state;
	struct aml a;

	start(&a);
	aml_res_io(&a, 0x3f8, 8); /* outside a template */
	expect_error(&a, -EINVAL);

	start(&a);
	aml_resource_begin(&a);
	aml_integer(&a, 1); /* data object among descriptors */
	expect_error(&a, -EINVAL);

	start(&a);
	aml_resource_begin(&a);
	aml_end(&a); /* a template must close with aml_resource_end() */
	expect_error(&a, -EINVAL);

	start(&a);
	aml_package_begin(&a);
	aml_resource_end(&a);
	expect_error(&a, -EINVAL);

	start(&a);
	aml_end(&a); /* nothing open */
	expect_error(&a, -EINVAL);

	start(&a);
	aml_device_begin(&a, "DEV0"); /* never closed */
	expect_error(&a, -EINVAL);

	start(&a);
	for (int i = 0; i <= AML_MAX_DEPTH; i++)
		aml_package_begin(&a);
	expect_error(&a, -EINVAL);

	start(&a);
	aml_resource_begin(&a);
	aml_res_irq(&a, 16);
	expect_error(&a, -EINVAL);

	start(&a);
	aml_resource_begin(&a);
	aml_res_io(&a, 0x3f8, 0);
	expect_error(&a, -EINVAL);

	start(&a);
	aml_resource_begin(&a);
	aml_res_interrupt(&a, 5, 1u << 7);
	expect_error(&a, -EINVAL);
}

/* A stream exercising every construct: the DSDT shape Cove emits. */
static void emit_sample(struct aml *a)
{
	aml_name(a, "_S5_");
	aml_package_begin(a);
	aml_integer(a, 5);
	aml_integer(a, 0);
	aml_end(a);
	aml_scope_begin(a, "\\_SB_");
	aml_device_begin(a, "COM1");
	aml_name_eisaid(a, "_HID", "PNP0501");
	aml_name_string(a, "_DDN", "COM1");
	aml_name(a, "_CRS");
	aml_resource_begin(a);
	aml_res_io(a, 0x3f8, 8);
	aml_res_irq(a, 4);
	aml_resource_end(a);
	aml_method_begin(a, "_STA", 0, false);
	aml_return_integer(a, 0x0f);
	aml_end(a);
	aml_end(a);
	aml_device_begin(a, "PCI0");
	aml_name(a, "_CRS");
	aml_resource_begin(a);
	aml_res_word_io(a, 0, 0xcf8);
	aml_res_qword_memory(a, 0x140000000ULL, 0x1000000000ULL);
	aml_resource_end(a);
	aml_method_begin(a, "_OSC", 4, false);
	aml_if_begin(a);
	aml_lequal(a);
	aml_arg(a, 0);
	aml_uuid(a, "33db4d5b-1ff7-401c-9657-7441c03dd766");
	aml_end(a);
	aml_else_begin(a);
	aml_end(a);
	aml_return(a);
	aml_arg(a, 3);
	aml_end(a);
	aml_end(a);
	aml_end(a);
}

/*
 * With every capacity short of the full stream the builder reports -ENOSPC
 * and leaves the bytes past the capacity alone; later calls stay inert.
 */
static void test_enospc_never_overflows(void **state)
{
	(void)state;
	static uint8_t small[512 + 64];
	struct aml a;
	size_t need, len;

	start(&a);
	emit_sample(&a);
	assert_int_equal(aml_finish(&a, &need), 0);
	assert_true(need < 512);

	for (size_t cap = 0; cap < need; cap++) {
		memset(small, 0xa5, sizeof(small));
		aml_init(&a, small, cap);
		emit_sample(&a);
		assert_int_equal(aml_finish(&a, &len), -ENOSPC);
		assert_true(a.len <= cap);
		for (size_t i = cap; i < sizeof(small); i++)
			assert_int_equal(small[i], 0xa5);
	}
	aml_init(&a, small, need);
	emit_sample(&a);
	assert_int_equal(aml_finish(&a, &len), 0);
	assert_int_equal(len, need);
	assert_memory_equal(small, buf, need);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pkglen_encoding),
	    cmocka_unit_test(test_pkglen_boundaries_in_buffers),
	    cmocka_unit_test(test_pkglen_boundaries_in_packages),
	    cmocka_unit_test(test_integers),
	    cmocka_unit_test(test_strings_and_eisaid),
	    cmocka_unit_test(test_name_strings),
	    cmocka_unit_test(test_device_method_scope),
	    cmocka_unit_test(test_nested_packages),
	    cmocka_unit_test(test_resource_template),
	    cmocka_unit_test(test_address_space_descriptors),
	    cmocka_unit_test(test_address_space_limits),
	    cmocka_unit_test(test_uuid),
	    cmocka_unit_test(test_method_body_operators),
	    cmocka_unit_test(test_notify),
	    cmocka_unit_test(test_operator_misuse_is_einval),
	    cmocka_unit_test(test_misuse_is_einval),
	    cmocka_unit_test(test_enospc_never_overflows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
