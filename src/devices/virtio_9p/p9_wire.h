/*
 * 9P2000.L messages on the wire (reference/protocols.md 7.1-7.3): a reader
 * and the T-message parser, and a bounded writer for R-messages. Bytes in,
 * structs out: no I/O, no allocation. This is what fuzz_9p drives.
 *
 * Guest-controlled: every byte handed to p9_wire_parse(). The parser
 * checks lengths only (every field inside the message, nothing after the
 * last one, at most P9_MAXWELEM walk names); the meaning of values (names,
 * flags, fids) is checked by the operations that use them.
 */
#ifndef COVE_DEVICES_VIRTIO_9P_P9_WIRE_H
#define COVE_DEVICES_VIRTIO_9P_P9_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "devices/virtio_9p/p9_proto.h"

/* A string field: points into the message, not NUL-terminated, may hold NULs. */
struct p9_str {
	const char *s;
	uint16_t len;
};

struct p9_qid {
	uint8_t type;
	uint32_t version;
	uint64_t path;
};

/* One parsed T-message; the union member is the one named by `type`. */
struct p9_msg {
	uint32_t size;
	uint8_t type;
	uint16_t tag;
	union {
		struct {
			uint32_t msize;
			struct p9_str version;
		} version;
		struct {
			uint32_t fid, afid;
			struct p9_str uname, aname;
			uint32_t n_uname;
		} attach; /* also Tauth (fid = afid there, afid unused) */
		struct {
			uint16_t oldtag;
		} flush;
		struct {
			uint32_t fid, newfid;
			uint16_t nwname;
			struct p9_str wname[P9_MAXWELEM];
		} walk;
		struct {
			uint32_t fid; /* Tclunk, Tremove, Treadlink, Tstatfs */
		} fid;
		struct {
			uint32_t fid, flags;
		} lopen;
		struct {
			uint32_t fid;
			struct p9_str name;
			uint32_t flags, mode, gid;
		} lcreate;
		struct {
			uint32_t fid;
			struct p9_str name, target;
			uint32_t gid;
		} symlink;
		struct {
			uint32_t dfid;
			struct p9_str name;
			uint32_t mode, major, minor, gid;
		} mknod;
		struct {
			uint32_t fid, dfid;
			struct p9_str name;
		} rename;
		struct {
			uint32_t fid;
			uint64_t mask;
		} getattr;
		struct {
			uint32_t fid, valid, mode, uid, gid;
			uint64_t size, atime_sec, atime_nsec, mtime_sec, mtime_nsec;
		} setattr;
		struct {
			uint32_t fid, newfid;
			struct p9_str name;
		} xattrwalk;
		struct {
			uint32_t fid;
			struct p9_str name;
			uint64_t size;
			uint32_t flags;
		} xattrcreate;
		struct {
			uint32_t fid; /* Tread, Treaddir */
			uint64_t offset;
			uint32_t count;
		} read;
		struct {
			uint32_t fid;
			uint64_t offset;
			uint32_t count;
			/* The data, when the parsed buffer holds it; else NULL and
			 * the data follows the header in the transport's buffers. */
			const uint8_t *data;
		} write;
		struct {
			uint32_t fid, datasync;
		} fsync;
		struct {
			uint32_t fid;
			uint8_t type;
			uint32_t flags; /* Tlock only */
			uint64_t start, length;
			uint32_t proc_id;
			struct p9_str client_id;
		} lock; /* Tlock and Tgetlock */
		struct {
			uint32_t dfid, fid;
			struct p9_str name;
		} link;
		struct {
			uint32_t dfid;
			struct p9_str name;
			uint32_t mode, gid;
		} mkdir;
		struct {
			uint32_t olddirfid;
			struct p9_str oldname;
			uint32_t newdirfid;
			struct p9_str newname;
		} renameat;
		struct {
			uint32_t dirfid;
			struct p9_str name;
			uint32_t flags;
		} unlinkat;
	};
};

/* ---- reading ---- */

struct p9_wire_rd {
	const uint8_t *p;
	size_t len, pos;
	bool bad; /* a read went past the end: every later read yields 0 */
};

void p9_wire_rd_init(struct p9_wire_rd *r, const void *p, size_t len);
uint8_t p9_wire_get_u8(struct p9_wire_rd *r);
uint16_t p9_wire_get_u16(struct p9_wire_rd *r);
uint32_t p9_wire_get_u32(struct p9_wire_rd *r);
uint64_t p9_wire_get_u64(struct p9_wire_rd *r);
void p9_wire_get_str(struct p9_wire_rd *r, struct p9_str *s);
void p9_wire_get_qid(struct p9_wire_rd *r, struct p9_qid *q);

/*
 * Reads the 7-byte header of the message in buf[0..len). Returns 0, or
 * -EPROTO if len < 7 or the size field is below 7.
 */
must_check int p9_wire_header(const void *buf, size_t len, uint32_t *size, uint8_t *type,
			      uint16_t *tag);

/*
 * Parses one T-message. buf[0..len) holds the message from its first byte;
 * len is normally the whole message (len == size field), but for Twrite it
 * may stop after the 23-byte header (the data stays in the transport's
 * buffers: m->write.data is then NULL). Returns 0, -EOPNOTSUPP for a type
 * Cove does not serve (header fields valid), or -EPROTO for a malformed
 * message (header fields valid when len >= 7 and the size is sane).
 */
must_check int p9_wire_parse(const void *buf, size_t len, struct p9_msg *m);

/* ---- writing ---- */

struct p9_wire_buf {
	uint8_t *data;
	size_t cap, len;
	bool overflow; /* a put did not fit: the message is invalid */
};

void p9_wire_buf_init(struct p9_wire_buf *b, void *data, size_t cap);
/* Starts a message: size placeholder, type, tag. */
void p9_wire_begin(struct p9_wire_buf *b, uint8_t type, uint16_t tag);
/* Writes the size field. Returns the message length, or -EMSGSIZE on overflow. */
must_check int p9_wire_finish(struct p9_wire_buf *b);
/*
 * The same for a message whose last `data_len` bytes are not in the buffer
 * (Rread, Rreaddir written straight into the transport's buffers).
 */
must_check int p9_wire_finish_data(struct p9_wire_buf *b, uint32_t data_len);
void p9_wire_put_u8(struct p9_wire_buf *b, uint8_t v);
void p9_wire_put_u16(struct p9_wire_buf *b, uint16_t v);
void p9_wire_put_u32(struct p9_wire_buf *b, uint32_t v);
void p9_wire_put_u64(struct p9_wire_buf *b, uint64_t v);
void p9_wire_put_bytes(struct p9_wire_buf *b, const void *p, size_t len);
/* A string field; len must be at most UINT16_MAX (else overflow is set). */
void p9_wire_put_str(struct p9_wire_buf *b, const char *s, size_t len);
void p9_wire_put_cstr(struct p9_wire_buf *b, const char *s);
void p9_wire_put_qid(struct p9_wire_buf *b, const struct p9_qid *q);
/* Room left in the buffer. */
size_t p9_wire_room(const struct p9_wire_buf *b);

/* The Rlerror message for `tag` and errno `ecode` into b (always fits in 11 bytes). */
void p9_wire_lerror(struct p9_wire_buf *b, uint16_t tag, uint32_t ecode);

#endif
