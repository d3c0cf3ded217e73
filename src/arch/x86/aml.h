/*
 * A small builder for AML, the byte code of ACPI definition blocks (the
 * DSDT body). It follows ACPI 6.5 section 20.2 (AML grammar: name strings,
 * PkgLength, data objects, Scope/Device/Method/Package/Buffer) and section
 * 6.4 (resource descriptors inside a ResourceTemplate buffer).
 *
 * Usage: aml_init() over a caller's buffer, then emit objects in source
 * order; constructs that contain others (scope, device, method, package,
 * buffer, resource template, If/Else) are opened with *_begin() and closed
 * with aml_end() (aml_resource_end() for a template). A construct's
 * PkgLength is only known when it closes: aml_end() then slides the
 * contents up to make room for it.
 *
 * Method bodies use AML's prefix order (section 20.2.5): an operator call
 * writes the opcode, then the caller emits its operands, in order, each a
 * data object, aml_arg(), aml_name_ref() or a nested operator with its own
 * operands. The builder does not count operands: iasl -d in the tests does.
 *
 * Errors are sticky: the emitters return nothing; the first failure
 * (-ENOSPC when the buffer is full, -EINVAL for a malformed name, string,
 * nesting or value) is recorded, every later call does nothing, and
 * aml_finish() reports it. The builder never writes outside [buf, buf+cap).
 */
#ifndef COVE_ARCH_X86_AML_H
#define COVE_ARCH_X86_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"

#define AML_MAX_DEPTH 16
#define AML_PKGLEN_MAX_BYTES 4
#define AML_PKGLEN_MAX 0x0fffffffu /* 28 bits */

struct aml_frame {
	size_t start;	    /* offset just after the construct's opcode */
	unsigned int items; /* elements emitted directly inside (packages) */
	unsigned int kind;  /* private: what aml_end() closes */
};

struct aml {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int err; /* 0 or the first -errno */
	unsigned int depth;
	struct aml_frame frames[AML_MAX_DEPTH];
	size_t if_end; /* where the last If closed: only there may an Else start */
};

/* Starts an empty byte stream in buf[0..cap). */
void aml_init(struct aml *a, uint8_t *buf, size_t cap);

/*
 * Ends the stream: returns the first recorded error, or -EINVAL if a
 * construct is still open; on success stores the stream's length in *len.
 */
must_check int aml_finish(const struct aml *a, size_t *len);

/*
 * Encodes a PkgLength whose value `len` already counts its own bytes
 * (ACPI 6.5 20.2.4): one byte up to 63, else a lead byte holding the count
 * of following bytes (bits 7-6) and the low nibble, then bytes of 8 bits.
 * Writes 1-4 bytes to out and their count to *n; -ERANGE above 2^28-1.
 */
must_check int aml_pkglen_encode(uint32_t len, uint8_t out[AML_PKGLEN_MAX_BYTES], size_t *n);

/* Data objects. In a package each counts as one element. */
void aml_integer(struct aml *a, uint64_t value); /* Zero, One or the smallest prefix */
void aml_string(struct aml *a, const char *s);	 /* ASCII 0x01-0x7f */
void aml_eisaid(struct aml *a, const char *id);	 /* "PNP0501" -> compressed DWord */
void aml_buffer(struct aml *a, const void *data, size_t len);
/*
 * ToUUID("aabbccdd-eeff-gghh-iijj-kkllmmnnoopp") (ACPI 6.5 19.6.142): a
 * 16-byte buffer, the first three fields little-endian, the rest in order.
 * Hex digits in either case.
 */
void aml_uuid(struct aml *a, const char *uuid);
/* A reference to a named object (a NameString, path as for aml_name()). */
void aml_name_ref(struct aml *a, const char *path);

/*
 * Name(path, <object>): emits the NameOp and the name; the next data
 * object emitted is its value. A path is ASL-like: an optional '\' or
 * several '^', then dot-separated segments of 1-4 characters [A-Z_][A-Z0-9_]*
 * (padded with '_'), e.g. "\\_SB.COM1", "_S5".
 */
void aml_name(struct aml *a, const char *path);
void aml_name_integer(struct aml *a, const char *path, uint64_t value);
void aml_name_string(struct aml *a, const char *path, const char *s);
void aml_name_eisaid(struct aml *a, const char *path, const char *id);

/* Containers, each closed by aml_end(). */
void aml_scope_begin(struct aml *a, const char *path);
void aml_device_begin(struct aml *a, const char *path);
/* nargs 0-7; serialized sets the method's SerializeFlag. */
void aml_method_begin(struct aml *a, const char *path, unsigned int nargs, bool serialized);
/* Package with as many elements as are emitted before aml_end() (<= 255). */
void aml_package_begin(struct aml *a);
void aml_end(struct aml *a);

/* Return(value) inside a method. */
void aml_return_integer(struct aml *a, uint64_t value);

/*
 * Operators for method bodies; the comment after each lists the operands
 * the caller emits next. None is valid inside a package or a template.
 */
void aml_arg(struct aml *a, unsigned int n); /* Arg0-Arg6, as an operand */
void aml_return(struct aml *a);		     /* (value) */
void aml_create_dword_field(struct aml *a);  /* (buffer, byte index, aml_name_ref(new name)) */
void aml_lequal(struct aml *a);		     /* (left, right) */
void aml_lnot(struct aml *a);		     /* (operand) */
void aml_or(struct aml *a);		     /* (left, right, target) */
void aml_notify(struct aml *a);		     /* (aml_name_ref(object), value) */
/*
 * If (predicate) { body }: aml_if_begin(), the predicate, the body,
 * aml_end(). An Else { body } (aml_else_begin() ... aml_end()) may only
 * follow right after an If's aml_end().
 */
void aml_if_begin(struct aml *a);
void aml_else_begin(struct aml *a);

/*
 * ResourceTemplate(): a buffer of resource descriptors. aml_resource_end()
 * appends the End Tag, with a checksum making the template's bytes sum to
 * zero, and closes the buffer. The aml_res_* emitters are only valid inside.
 */
void aml_resource_begin(struct aml *a);
void aml_resource_end(struct aml *a);

/* IO(Decode16, base, base, 1, len): a fixed range of `len` (1-255) ports. */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len);
/* IRQNoFlags(){irq}: one ISA IRQ (0-15), edge-triggered, active high, exclusive. */
void aml_res_irq(struct aml *a, uint8_t irq);

/* Flags of an Extended Interrupt descriptor (ACPI 6.5 6.4.3.6). */
#define AML_IRQ_LEVEL 0u /* level-triggered (default) */
#define AML_IRQ_EDGE (1u << 1)
#define AML_IRQ_ACTIVE_HIGH 0u /* (default) */
#define AML_IRQ_ACTIVE_LOW (1u << 2)
#define AML_IRQ_SHARED (1u << 3)
#define AML_IRQ_WAKE (1u << 4)
/* Interrupt(ResourceConsumer, ...){gsi}: one global system interrupt. */
void aml_res_interrupt(struct aml *a, uint32_t gsi, unsigned int flags);
/* Memory32Fixed(ReadWrite or ReadOnly, base, len). */
void aml_res_memory32_fixed(struct aml *a, uint32_t base, uint32_t len, bool writable);

/*
 * Address space descriptors (ACPI 6.5 6.4.3.5) for the windows a bridge
 * passes on to its children: ResourceProducer, PosDecode, MinFixed,
 * MaxFixed, granularity 0, no translation, the range [min, min + len).
 * -EINVAL if len is 0 or the range wraps past the descriptor's width.
 */
void aml_res_word_bus_number(struct aml *a, uint16_t min, uint16_t len);
/* WordIO(..., EntireRange): an I/O port window. */
void aml_res_word_io(struct aml *a, uint16_t min, uint16_t len);
/*
 * DWordMemory / QWordMemory(..., NonCacheable, ReadWrite, ...,
 * AddressRangeMemory, TypeStatic). Not marked prefetchable: an OS may put
 * any BAR, prefetchable or not, in such a window.
 */
void aml_res_dword_memory(struct aml *a, uint32_t min, uint32_t len);
void aml_res_qword_memory(struct aml *a, uint64_t min, uint64_t len);

#endif
