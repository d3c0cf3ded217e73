/*
 * AML builder; see aml.h. Encodings follow ACPI 6.5 section 20.2 (opcodes,
 * NameString, PkgLength, integer prefixes) and 6.4 (small and large
 * resource descriptors, End Tag checksum).
 */
#include "arch/x86/aml.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

/* AML opcodes and prefixes (ACPI 6.5 20.3). */
#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_METHOD_OP 0x14
#define AML_DUAL_NAME_PREFIX 0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_EXT_OP_PREFIX 0x5b
#define AML_DEVICE_OP 0x82 /* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR 0x5c
#define AML_PARENT_PREFIX_CHAR 0x5e
#define AML_NULL_NAME 0x00
#define AML_ARG0_OP 0x68 /* Arg0-Arg6: 0x68-0x6e */
#define AML_OR_OP 0x7d
#define AML_NOTIFY_OP 0x86
#define AML_CREATE_DWORD_FIELD_OP 0x8a
#define AML_LNOT_OP 0x92
#define AML_LEQUAL_OP 0x93
#define AML_IF_OP 0xa0
#define AML_ELSE_OP 0xa1
#define AML_RETURN_OP 0xa4
#define AML_MAX_ARG 6
#define AML_UUID_LEN 16

/* Resource descriptor tags (ACPI 6.5 6.4.2 small, 6.4.3 large). */
#define RES_IRQ_NOFLAGS 0x22	/* small type 0x04, length 2 */
#define RES_IO 0x47		/* small type 0x08, length 7 */
#define RES_END_TAG 0x79	/* small type 0x0f, length 1 */
#define RES_MEMORY32_FIXED 0x86 /* large type 0x06 */
#define RES_EXT_INTERRUPT 0x89	/* large type 0x09 */
#define RES_DWORD_ADDR 0x87	/* large type 0x07 */
#define RES_WORD_ADDR 0x88	/* large type 0x08 */
#define RES_QWORD_ADDR 0x8a	/* large type 0x0a */
#define RES_IO_DECODE16 0x01
#define RES_EXT_IRQ_CONSUMER 0x01
/* Address space descriptors: resource type, general and type-specific flags. */
#define ADDR_TYPE_MEMORY 0
#define ADDR_TYPE_IO 1
#define ADDR_TYPE_BUS 2
#define ADDR_MIN_FIXED (1u << 2)
#define ADDR_MAX_FIXED (1u << 3)
#define ADDR_IO_ENTIRE_RANGE 0x3 /* _RNG: ISA and non-ISA ranges */
#define ADDR_MEM_READ_WRITE 0x1	 /* _RW; _MEM (bits 2-1) 0: non-cacheable */

#define NAME_SEG_LEN 4

enum frame_kind {
	FRAME_SCOPE,
	FRAME_DEVICE,
	FRAME_METHOD,
	FRAME_PACKAGE,
	FRAME_BUFFER,
	FRAME_RESOURCE,
	FRAME_IF,
	FRAME_ELSE
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	memset(a, 0, sizeof(*a));
	a->buf = buf;
	a->cap = cap;
}

int aml_finish(const struct aml *a, size_t *len)
{
	if (a->err)
		return a->err;
	if (a->depth)
		return -EINVAL;
	*len = a->len;
	return 0;
}

static void fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

/* True if n more bytes fit; records -ENOSPC otherwise. */
static bool room(struct aml *a, size_t n)
{
	if (a->err)
		return false;
	if (a->cap - a->len < n) {
		fail(a, -ENOSPC);
		return false;
	}
	return true;
}

static void put(struct aml *a, const void *p, size_t n)
{
	if (n == 0 || !room(a, n))
		return;
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void put8(struct aml *a, uint8_t v)
{
	put(a, &v, 1);
}

static void put16(struct aml *a, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};

	put(a, b, sizeof(b));
}

static void put32(struct aml *a, uint32_t v)
{
	put16(a, (uint16_t)v);
	put16(a, (uint16_t)(v >> 16));
}

/* The low n (<= 8) bytes of v, little-endian. */
static void put_le(struct aml *a, uint64_t v, unsigned int n)
{
	uint8_t b[8];

	assert(n <= sizeof(b));
	for (unsigned int i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	put(a, b, n);
}

static struct aml_frame *top(struct aml *a)
{
	return a->depth ? &a->frames[a->depth - 1] : NULL;
}

static bool in_resource(struct aml *a)
{
	const struct aml_frame *f = top(a);

	return f && f->kind == FRAME_RESOURCE;
}

/*
 * Called before every data object and container: objects cannot sit among
 * resource descriptors, and each one counts as an element of a package.
 */
static bool start_object(struct aml *a)
{
	struct aml_frame *f = top(a);

	if (a->err)
		return false;
	if (in_resource(a)) {
		fail(a, -EINVAL);
		return false;
	}
	if (f)
		f->items++;
	return true;
}

/*
 * Called before every operator and before operands that are not data
 * objects: they belong in method bodies, never among a package's elements
 * or a template's descriptors.
 */
static bool start_term(struct aml *a)
{
	const struct aml_frame *f = top(a);

	if (a->err)
		return false;
	if (f && (f->kind == FRAME_PACKAGE || f->kind == FRAME_RESOURCE)) {
		fail(a, -EINVAL);
		return false;
	}
	return true;
}

/* Integer encoding (without the package counting): out needs 9 bytes. */
static size_t encode_integer(uint64_t v, uint8_t out[9])
{
	size_t n;

	if (v <= 1) {
		out[0] = v ? AML_ONE_OP : AML_ZERO_OP;
		return 1;
	}
	if (v <= UINT8_MAX) {
		out[0] = AML_BYTE_PREFIX;
		n = 1;
	} else if (v <= UINT16_MAX) {
		out[0] = AML_WORD_PREFIX;
		n = 2;
	} else if (v <= UINT32_MAX) {
		out[0] = AML_DWORD_PREFIX;
		n = 4;
	} else {
		out[0] = AML_QWORD_PREFIX;
		n = 8;
	}
	for (size_t i = 0; i < n; i++)
		out[1 + i] = (uint8_t)(v >> (8 * i));
	return 1 + n;
}

static uint32_t pkglen_limit(size_t nbytes)
{
	static const uint32_t limits[] = {0x3f, 0xfff, 0xfffff, AML_PKGLEN_MAX};

	return limits[nbytes - 1];
}

int aml_pkglen_encode(uint32_t len, uint8_t out[AML_PKGLEN_MAX_BYTES], size_t *n)
{
	size_t nbytes = 1;

	while (len > pkglen_limit(nbytes)) {
		if (++nbytes > AML_PKGLEN_MAX_BYTES)
			return -ERANGE;
	}
	if (nbytes == 1) {
		out[0] = (uint8_t)len;
	} else {
		/* Lead byte: count of following bytes in bits 7-6, low nibble in 3-0. */
		out[0] = (uint8_t)(((nbytes - 1) << 6) | (len & 0x0f));
		for (size_t i = 1; i < nbytes; i++)
			out[i] = (uint8_t)(len >> (4 + 8 * (i - 1)));
	}
	*n = nbytes;
	return 0;
}

static bool seg_char_ok(char c, bool first)
{
	if (c == '_' || (c >= 'A' && c <= 'Z'))
		return true;
	return !first && c >= '0' && c <= '9';
}

/* Length (1-4) of the name segment starting at s, or 0 if it is malformed. */
static size_t seg_len(const char *s)
{
	size_t n = 0;

	while (s[n] != '\0' && s[n] != '.') {
		if (n == NAME_SEG_LEN || !seg_char_ok(s[n], n == 0))
			return 0;
		n++;
	}
	return n;
}

/* Counts the segments of a dotted path; 0 if any is malformed or > 255. */
static unsigned int count_segs(const char *s)
{
	unsigned int count = 0;

	for (;;) {
		size_t n = seg_len(s);

		if (n == 0 || ++count > UINT8_MAX)
			return 0;
		s += n;
		if (*s == '\0')
			return count;
		s++; /* the '.' */
	}
}

static void put_seg(struct aml *a, const char *s, size_t n)
{
	char seg[NAME_SEG_LEN] = {'_', '_', '_', '_'};

	memcpy(seg, s, n);
	put(a, seg, sizeof(seg));
}

/* NameString (ACPI 6.5 20.2.2): prefixes, then one, two or many segments. */
static void put_namestring(struct aml *a, const char *path)
{
	const char *p = path;
	unsigned int nsegs;

	if (*p == '\\') {
		put8(a, AML_ROOT_CHAR);
		p++;
	} else {
		for (; *p == '^'; p++)
			put8(a, AML_PARENT_PREFIX_CHAR);
	}
	if (*p == '\0') {
		if (p == path)
			fail(a, -EINVAL);
		put8(a, AML_NULL_NAME);
		return;
	}
	nsegs = count_segs(p);
	if (nsegs == 0) {
		fail(a, -EINVAL);
		return;
	}
	if (nsegs == 2)
		put8(a, AML_DUAL_NAME_PREFIX);
	if (nsegs > 2) {
		put8(a, AML_MULTI_NAME_PREFIX);
		put8(a, (uint8_t)nsegs);
	}
	while (nsegs--) {
		size_t n = seg_len(p);

		put_seg(a, p, n);
		p += n + 1;
	}
}

/* Opens a construct whose opcode was just written; its contents start here. */
static void push(struct aml *a, enum frame_kind kind)
{
	if (a->err)
		return;
	if (a->depth == AML_MAX_DEPTH) {
		fail(a, -EINVAL);
		return;
	}
	a->frames[a->depth++] = (struct aml_frame){.start = a->len, .kind = kind};
}

/*
 * The bytes that go between a construct's opcode and its contents:
 * PkgLength, then NumElements for a package or BufferSize for a buffer.
 * Returns their count, 0 on error.
 */
static size_t frame_header(struct aml *a, const struct aml_frame *f, uint8_t *hdr)
{
	uint8_t extra[9];
	size_t body = a->len - f->start, extra_len = 0, nbytes = 1, n;

	if (f->kind == FRAME_PACKAGE) {
		if (f->items > UINT8_MAX) {
			fail(a, -EINVAL);
			return 0;
		}
		extra[extra_len++] = (uint8_t)f->items;
	} else if (f->kind == FRAME_BUFFER || f->kind == FRAME_RESOURCE) {
		extra_len = encode_integer(body, extra);
	}
	/* The PkgLength counts itself: find the smallest encoding that holds it. */
	while (nbytes + extra_len + body > pkglen_limit(nbytes)) {
		if (++nbytes > AML_PKGLEN_MAX_BYTES) {
			fail(a, -ERANGE);
			return 0;
		}
	}
	if (aml_pkglen_encode((uint32_t)(nbytes + extra_len + body), hdr, &n) < 0) {
		fail(a, -ERANGE);
		return 0;
	}
	assert(n == nbytes);
	memcpy(hdr + n, extra, extra_len);
	return n + extra_len;
}

static void pop(struct aml *a)
{
	struct aml_frame *f = top(a);
	uint8_t hdr[AML_PKGLEN_MAX_BYTES + 9];
	size_t hdr_len;

	if (a->err)
		return;
	hdr_len = frame_header(a, f, hdr);
	if (hdr_len == 0 || !room(a, hdr_len))
		return;
	memmove(a->buf + f->start + hdr_len, a->buf + f->start, a->len - f->start);
	memcpy(a->buf + f->start, hdr, hdr_len);
	a->len += hdr_len;
	a->depth--;
	if (f->kind == FRAME_IF)
		a->if_end = a->len;
}

void aml_integer(struct aml *a, uint64_t value)
{
	uint8_t enc[9];

	if (start_object(a))
		put(a, enc, encode_integer(value, enc));
}

void aml_string(struct aml *a, const char *s)
{
	if (!start_object(a))
		return;
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p > 0x7f) {
			fail(a, -EINVAL);
			return;
		}
	}
	put8(a, AML_STRING_PREFIX);
	put(a, s, strlen(s) + 1);
}

/* Upper-case hex digits only: EISA ids are upper-case. */
static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The byte spelled by two hex digits of either case at s, or -1. */
static int hex_byte(const char *s)
{
	int d[2];

	for (int i = 0; i < 2; i++) {
		char c = s[i];

		d[i] = hex_digit(c >= 'a' && c <= 'f' ? (char)(c - 'a' + 'A') : c);
		if (d[i] < 0)
			return -1;
	}
	return d[0] << 4 | d[1];
}

/*
 * EISAID (ACPI 6.5 19.6.35): three letters in 5 bits each (A = 1) and four
 * hex digits, stored as a big-endian DWord.
 */
void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = 0;

	if (!start_object(a))
		return;
	if (strlen(id) != 7) {
		fail(a, -EINVAL);
		return;
	}
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			fail(a, -EINVAL);
			return;
		}
		v = (v << 5) | (uint32_t)(id[i] - 'A' + 1);
	}
	for (int i = 3; i < 7; i++) {
		if (hex_digit(id[i]) < 0) {
			fail(a, -EINVAL);
			return;
		}
		v = (v << 4) | (uint32_t)hex_digit(id[i]);
	}
	put8(a, AML_DWORD_PREFIX);
	put32(a, __builtin_bswap32(v));
}

void aml_buffer(struct aml *a, const void *data, size_t len)
{
	if (!start_object(a))
		return;
	put8(a, AML_BUFFER_OP);
	push(a, FRAME_BUFFER);
	put(a, data, len);
	pop(a);
}

/*
 * "aabbccdd-eeff-gghh-iijj-kkllmmnnoopp": the text's bytes in order, then
 * the first three fields byte-swapped to little-endian.
 */
void aml_uuid(struct aml *a, const char *uuid)
{
	static const uint8_t order[AML_UUID_LEN] = {3, 2, 1,  0,  5,  4,  7,  6,
						    8, 9, 10, 11, 12, 13, 14, 15};
	uint8_t text[AML_UUID_LEN], out[AML_UUID_LEN];
	size_t pos = 0;

	if (a->err)
		return;
	if (strlen(uuid) != 36) {
		fail(a, -EINVAL);
		return;
	}
	for (size_t i = 0; i < AML_UUID_LEN; i++) {
		int byte;

		if (pos == 8 || pos == 13 || pos == 18 || pos == 23) {
			if (uuid[pos++] != '-') {
				fail(a, -EINVAL);
				return;
			}
		}
		byte = hex_byte(uuid + pos);
		if (byte < 0) {
			fail(a, -EINVAL);
			return;
		}
		text[i] = (uint8_t)byte;
		pos += 2;
	}
	for (size_t i = 0; i < AML_UUID_LEN; i++)
		out[i] = text[order[i]];
	aml_buffer(a, out, sizeof(out));
}

void aml_name_ref(struct aml *a, const char *path)
{
	if (start_object(a))
		put_namestring(a, path);
}

void aml_name(struct aml *a, const char *path)
{
	if (a->err)
		return;
	if (in_resource(a)) {
		fail(a, -EINVAL);
		return;
	}
	put8(a, AML_NAME_OP);
	put_namestring(a, path);
}

void aml_name_integer(struct aml *a, const char *path, uint64_t value)
{
	aml_name(a, path);
	aml_integer(a, value);
}

void aml_name_string(struct aml *a, const char *path, const char *s)
{
	aml_name(a, path);
	aml_string(a, s);
}

void aml_name_eisaid(struct aml *a, const char *path, const char *id)
{
	aml_name(a, path);
	aml_eisaid(a, id);
}

void aml_scope_begin(struct aml *a, const char *path)
{
	if (!start_object(a))
		return;
	put8(a, AML_SCOPE_OP);
	push(a, FRAME_SCOPE);
	put_namestring(a, path);
}

void aml_device_begin(struct aml *a, const char *path)
{
	if (!start_object(a))
		return;
	put8(a, AML_EXT_OP_PREFIX);
	put8(a, AML_DEVICE_OP);
	push(a, FRAME_DEVICE);
	put_namestring(a, path);
}

void aml_method_begin(struct aml *a, const char *path, unsigned int nargs, bool serialized)
{
	if (!start_object(a))
		return;
	if (nargs > 7) {
		fail(a, -EINVAL);
		return;
	}
	put8(a, AML_METHOD_OP);
	push(a, FRAME_METHOD);
	put_namestring(a, path);
	/* MethodFlags: ArgCount in bits 2-0, SerializeFlag in bit 3, SyncLevel 0. */
	put8(a, (uint8_t)(nargs | (serialized ? 0x08 : 0)));
}

void aml_package_begin(struct aml *a)
{
	if (!start_object(a))
		return;
	put8(a, AML_PACKAGE_OP);
	push(a, FRAME_PACKAGE);
}

void aml_end(struct aml *a)
{
	if (a->err)
		return;
	if (a->depth == 0 || in_resource(a)) {
		fail(a, -EINVAL);
		return;
	}
	pop(a);
}

static void op(struct aml *a, uint8_t opcode)
{
	if (start_term(a))
		put8(a, opcode);
}

void aml_return_integer(struct aml *a, uint64_t value)
{
	aml_return(a);
	aml_integer(a, value);
}

void aml_arg(struct aml *a, unsigned int n)
{
	if (n > AML_MAX_ARG) {
		fail(a, -EINVAL);
		return;
	}
	op(a, (uint8_t)(AML_ARG0_OP + n));
}

void aml_return(struct aml *a)
{
	op(a, AML_RETURN_OP);
}

void aml_create_dword_field(struct aml *a)
{
	op(a, AML_CREATE_DWORD_FIELD_OP);
}

void aml_lequal(struct aml *a)
{
	op(a, AML_LEQUAL_OP);
}

void aml_lnot(struct aml *a)
{
	op(a, AML_LNOT_OP);
}

void aml_or(struct aml *a)
{
	op(a, AML_OR_OP);
}

void aml_notify(struct aml *a)
{
	op(a, AML_NOTIFY_OP);
}

void aml_if_begin(struct aml *a)
{
	if (!start_term(a))
		return;
	put8(a, AML_IF_OP);
	push(a, FRAME_IF);
}

void aml_else_begin(struct aml *a)
{
	if (!start_term(a))
		return;
	if (a->if_end == 0 || a->len != a->if_end) {
		fail(a, -EINVAL);
		return;
	}
	put8(a, AML_ELSE_OP);
	push(a, FRAME_ELSE);
}

void aml_resource_begin(struct aml *a)
{
	if (!start_object(a))
		return;
	put8(a, AML_BUFFER_OP);
	push(a, FRAME_RESOURCE);
}

/* True if inside a resource template; records -EINVAL otherwise. */
static bool resource_ok(struct aml *a)
{
	if (a->err)
		return false;
	if (!in_resource(a)) {
		fail(a, -EINVAL);
		return false;
	}
	return true;
}

void aml_resource_end(struct aml *a)
{
	uint8_t sum = RES_END_TAG;

	if (!resource_ok(a))
		return;
	for (size_t i = top(a)->start; i < a->len; i++)
		sum = (uint8_t)(sum + a->buf[i]);
	put8(a, RES_END_TAG);
	put8(a, (uint8_t)-sum);
	pop(a);
}

void aml_res_io(struct aml *a, uint16_t base, uint8_t len)
{
	if (!resource_ok(a))
		return;
	if (len == 0) {
		fail(a, -EINVAL);
		return;
	}
	put8(a, RES_IO);
	put8(a, RES_IO_DECODE16);
	put16(a, base); /* range minimum base */
	put16(a, base); /* range maximum base */
	put8(a, 1);	/* base alignment */
	put8(a, len);
}

void aml_res_irq(struct aml *a, uint8_t irq)
{
	if (!resource_ok(a))
		return;
	if (irq > 15) {
		fail(a, -EINVAL);
		return;
	}
	put8(a, RES_IRQ_NOFLAGS);
	put16(a, (uint16_t)(1u << irq));
}

void aml_res_interrupt(struct aml *a, uint32_t gsi, unsigned int flags)
{
	const unsigned int known =
	    AML_IRQ_EDGE | AML_IRQ_ACTIVE_LOW | AML_IRQ_SHARED | AML_IRQ_WAKE;

	if (!resource_ok(a))
		return;
	if (flags & ~known) {
		fail(a, -EINVAL);
		return;
	}
	put8(a, RES_EXT_INTERRUPT);
	put16(a, 6); /* flags, table length, one DWord */
	put8(a, (uint8_t)(RES_EXT_IRQ_CONSUMER | flags));
	put8(a, 1);
	put32(a, gsi);
}

void aml_res_memory32_fixed(struct aml *a, uint32_t base, uint32_t len, bool writable)
{
	if (!resource_ok(a))
		return;
	put8(a, RES_MEMORY32_FIXED);
	put16(a, 9); /* information, base, length */
	put8(a, writable ? 1 : 0);
	put32(a, base);
	put32(a, len);
}

/* How an address space descriptor is laid out and what it describes. */
struct addr_space {
	uint8_t tag;
	uint8_t width; /* bytes in each of _GRA, _MIN, _MAX, _TRA, _LEN: 2, 4 or 8 */
	uint8_t type;
	uint8_t type_flags;
};

/*
 * ACPI 6.5 6.4.3.5.1-3: tag, Length (of what follows it), resource type,
 * general flags (bit 0 clear: producer; bit 1 clear: positive decode),
 * type-specific flags, then the five address fields. With _MIF and _MAF
 * set and _LEN > 0 the spec wants _GRA = 0 and _MAX = _MIN + _LEN - 1.
 */
static void res_addr_space(struct aml *a, const struct addr_space *s, uint64_t min, uint64_t len)
{
	uint64_t top_addr = s->width == 8 ? UINT64_MAX : (1ULL << (8 * s->width)) - 1;

	if (!resource_ok(a))
		return;
	if (len == 0 || min > top_addr - (len - 1)) {
		fail(a, -EINVAL);
		return;
	}
	put8(a, s->tag);
	put16(a, (uint16_t)(3 + 5 * s->width));
	put8(a, s->type);
	put8(a, ADDR_MIN_FIXED | ADDR_MAX_FIXED);
	put8(a, s->type_flags);
	put_le(a, 0, s->width); /* _GRA */
	put_le(a, min, s->width);
	put_le(a, min + (len - 1), s->width);
	put_le(a, 0, s->width); /* _TRA */
	put_le(a, len, s->width);
}

void aml_res_word_bus_number(struct aml *a, uint16_t min, uint16_t len)
{
	static const struct addr_space s = {RES_WORD_ADDR, 2, ADDR_TYPE_BUS, 0};

	res_addr_space(a, &s, min, len);
}

void aml_res_word_io(struct aml *a, uint16_t min, uint16_t len)
{
	static const struct addr_space s = {RES_WORD_ADDR, 2, ADDR_TYPE_IO, ADDR_IO_ENTIRE_RANGE};

	res_addr_space(a, &s, min, len);
}

void aml_res_dword_memory(struct aml *a, uint32_t min, uint32_t len)
{
	static const struct addr_space s = {RES_DWORD_ADDR, 4, ADDR_TYPE_MEMORY,
					    ADDR_MEM_READ_WRITE};

	res_addr_space(a, &s, min, len);
}

void aml_res_qword_memory(struct aml *a, uint64_t min, uint64_t len)
{
	static const struct addr_space s = {RES_QWORD_ADDR, 8, ADDR_TYPE_MEMORY,
					    ADDR_MEM_READ_WRITE};

	res_addr_space(a, &s, min, len);
}
