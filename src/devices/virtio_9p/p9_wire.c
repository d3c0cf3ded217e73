/*
 * 9P2000.L wire format (reference/protocols.md 7.1-7.3): little-endian
 * integers, strings as len[2] + bytes, qids of 13 bytes. See p9_wire.h.
 *
 * The reader never reads past its buffer: a short field sets `bad` and
 * yields zeroes, and the parser rejects the message at the end. The writer
 * never writes past its buffer: a put that does not fit sets `overflow`.
 */
#include "devices/virtio_9p/p9_wire.h"

#include <errno.h>
#include <string.h>

/* ---- reading ---- */

void p9_wire_rd_init(struct p9_wire_rd *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->pos = 0;
	r->bad = false;
}

/* Returns the next n bytes, or NULL (and marks the reader bad). */
static const uint8_t *take(struct p9_wire_rd *r, size_t n)
{
	const uint8_t *p;

	if (r->bad || n > r->len - r->pos) {
		r->bad = true;
		return NULL;
	}
	p = r->p + r->pos;
	r->pos += n;
	return p;
}

static uint64_t get_le(struct p9_wire_rd *r, unsigned int n)
{
	const uint8_t *p = take(r, n);
	uint64_t v = 0;

	if (!p)
		return 0;
	for (unsigned int i = n; i > 0; i--)
		v = (v << 8) | p[i - 1];
	return v;
}

uint8_t p9_wire_get_u8(struct p9_wire_rd *r)
{
	return (uint8_t)get_le(r, 1);
}

uint16_t p9_wire_get_u16(struct p9_wire_rd *r)
{
	return (uint16_t)get_le(r, 2);
}

uint32_t p9_wire_get_u32(struct p9_wire_rd *r)
{
	return (uint32_t)get_le(r, 4);
}

uint64_t p9_wire_get_u64(struct p9_wire_rd *r)
{
	return get_le(r, 8);
}

void p9_wire_get_str(struct p9_wire_rd *r, struct p9_str *s)
{
	uint16_t len = p9_wire_get_u16(r);
	const uint8_t *p = take(r, len);

	s->s = p ? (const char *)p : "";
	s->len = p ? len : 0;
}

void p9_wire_get_qid(struct p9_wire_rd *r, struct p9_qid *q)
{
	q->type = p9_wire_get_u8(r);
	q->version = p9_wire_get_u32(r);
	q->path = p9_wire_get_u64(r);
}

int p9_wire_header(const void *buf, size_t len, uint32_t *size, uint8_t *type, uint16_t *tag)
{
	struct p9_wire_rd r;

	p9_wire_rd_init(&r, buf, len);
	*size = p9_wire_get_u32(&r);
	*type = p9_wire_get_u8(&r);
	*tag = p9_wire_get_u16(&r);
	if (r.bad || *size < P9_HDR_SIZE)
		return -EPROTO;
	return 0;
}

/* ---- the T-message bodies ---- */

static void parse_version(struct p9_wire_rd *r, struct p9_msg *m)
{
	m->version.msize = p9_wire_get_u32(r);
	p9_wire_get_str(r, &m->version.version);
}

static void parse_attach(struct p9_wire_rd *r, struct p9_msg *m)
{
	if (m->type == P9_TATTACH)
		m->attach.fid = p9_wire_get_u32(r);
	m->attach.afid = p9_wire_get_u32(r);
	p9_wire_get_str(r, &m->attach.uname);
	p9_wire_get_str(r, &m->attach.aname);
	m->attach.n_uname = p9_wire_get_u32(r);
}

static void parse_flush(struct p9_wire_rd *r, struct p9_msg *m)
{
	m->flush.oldtag = p9_wire_get_u16(r);
}

static void parse_walk(struct p9_wire_rd *r, struct p9_msg *m)
{
	m->walk.fid = p9_wire_get_u32(r);
	m->walk.newfid = p9_wire_get_u32(r);
	m->walk.nwname = p9_wire_get_u16(r);
	if (m->walk.nwname > P9_MAXWELEM) {
		r->bad = true;
		return;
	}
	for (unsigned int i = 0; i < m->walk.nwname; i++)
		p9_wire_get_str(r, &m->walk.wname[i]);
}

static void parse_fid(struct p9_wire_rd *r, struct p9_msg *m)
{
	m->fid.fid = p9_wire_get_u32(r);
}

static void parse_lopen(struct p9_wire_rd *r, struct p9_msg *m)
{
	m->lopen.fid = p9_wire_get_u32(r);
	m->lopen.flags = p9_wire_get_u32(r);
}

static void parse_lcreate(struct p9_wire_rd *r, struct p9_msg *m)
{
	m->lcreate.fid = p9_wire_get_u32(r);
	p9_wire_get_str(r, &m->lcreate.name);
	m->lcreate.flags = p9_wire_get_u32(r);
	m->lcreate.mode = p9_wire_get_u32(r);
	m->lcreate.gid = p9_wire_get_u32(r);
}

static void parse_symlink(struct p9_wire_rd *r, struct p9_msg *m)
{
	m->symlink.fid = p9_wire_get_u32(r);
	p9_wire_get_str(r, &m->symlink.name);
	p9_wire_get_str(r, &m->symlink.target);
	m->symlink.gid = p9_wire_get_u32(r);
}

static void parse_mknod(struct p9_wire_rd *r, struct p9_msg *m)
{
	m->mknod.dfid = p9_wire_get_u32(r);
	p9_wire_get_str(r, &m->mknod.name);
	m->mknod.mode = p9_wire_get_u32(r);
	m->mknod.major = p9_wire_get_u32(r);
	m->mknod.minor = p9_wire_get_u32(r);
	m->mknod.gid = p9_wire_get_u32(r);
}

static void parse_rename(struct p9_wire_rd *r, struct p9_msg *m)
{
	m->rename.fid = p9_wire_get_u32(r);
	m->rename.dfid = p9_wire_get_u32(r);
	p9_wire_get_str(r, &m->rename.name);
}

static void parse_getattr(struct p9_wire_rd *r, struct p9_msg *m)
{
	m->getattr.fid = p9_wire_get_u32(r);
	m->getattr.mask = p9_wire_get_u64(r);
}

static void parse_setattr(struct p9_wire_rd *r, struct p9_msg *m)
{
	m->setattr.fid = p9_wire_get_u32(r);
	m->setattr.valid = p9_wire_get_u32(r);
	m->setattr.mode = p9_wire_get_u32(r);
	m->setattr.uid = p9_wire_get_u32(r);
	m->setattr.gid = p9_wire_get_u32(r);
	m->setattr.size = p9_wire_get_u64(r);
	m->setattr.atime_sec = p9_wire_get_u64(r);
	m->setattr.atime_nsec = p9_wire_get_u64(r);
	m->setattr.mtime_sec = p9_wire_get_u64(r);
	m->setattr.mtime_nsec = p9_wire_get_u64(r);
}

static void parse_xattrwalk(struct p9_wire_rd *r, struct p9_msg *m)
{
	m->xattrwalk.fid = p9_wire_get_u32(r);
	m->xattrwalk.newfid = p9_wire_get_u32(r);
	p9_wire_get_str(r, &m->xattrwalk.name);
}

static void parse_xattrcreate(struct p9_wire_rd *r, struct p9_msg *m)
{
	m->xattrcreate.fid = p9_wire_get_u32(r);
	p9_wire_get_str(r, &m->xattrcreate.name);
	m->xattrcreate.size = p9_wire_get_u64(r);
	m->xattrcreate.flags = p9_wire_get_u32(r);
}

static void parse_read(struct p9_wire_rd *r, struct p9_msg *m)
{
	m->read.fid = p9_wire_get_u32(r);
	m->read.offset = p9_wire_get_u64(r);
	m->read.count = p9_wire_get_u32(r);
}

/*
 * Twrite: count must be exactly what follows the header in the message.
 * The data is consumed here when the buffer holds it.
 */
static void parse_write(struct p9_wire_rd *r, struct p9_msg *m)
{
	m->write.fid = p9_wire_get_u32(r);
	m->write.offset = p9_wire_get_u64(r);
	m->write.count = p9_wire_get_u32(r);
	m->write.data = NULL;
	if (r->bad || m->write.count != m->size - P9_WRITE_HDR_SIZE) {
		r->bad = true;
		return;
	}
	if (r->len == m->size)
		m->write.data = take(r, m->write.count);
}

static void parse_fsync(struct p9_wire_rd *r, struct p9_msg *m)
{
	m->fsync.fid = p9_wire_get_u32(r);
	m->fsync.datasync = p9_wire_get_u32(r);
}

static void parse_lock(struct p9_wire_rd *r, struct p9_msg *m)
{
	m->lock.fid = p9_wire_get_u32(r);
	m->lock.type = p9_wire_get_u8(r);
	m->lock.flags = m->type == P9_TLOCK ? p9_wire_get_u32(r) : 0;
	m->lock.start = p9_wire_get_u64(r);
	m->lock.length = p9_wire_get_u64(r);
	m->lock.proc_id = p9_wire_get_u32(r);
	p9_wire_get_str(r, &m->lock.client_id);
}

static void parse_link(struct p9_wire_rd *r, struct p9_msg *m)
{
	m->link.dfid = p9_wire_get_u32(r);
	m->link.fid = p9_wire_get_u32(r);
	p9_wire_get_str(r, &m->link.name);
}

static void parse_mkdir(struct p9_wire_rd *r, struct p9_msg *m)
{
	m->mkdir.dfid = p9_wire_get_u32(r);
	p9_wire_get_str(r, &m->mkdir.name);
	m->mkdir.mode = p9_wire_get_u32(r);
	m->mkdir.gid = p9_wire_get_u32(r);
}

static void parse_renameat(struct p9_wire_rd *r, struct p9_msg *m)
{
	m->renameat.olddirfid = p9_wire_get_u32(r);
	p9_wire_get_str(r, &m->renameat.oldname);
	m->renameat.newdirfid = p9_wire_get_u32(r);
	p9_wire_get_str(r, &m->renameat.newname);
}

static void parse_unlinkat(struct p9_wire_rd *r, struct p9_msg *m)
{
	m->unlinkat.dirfid = p9_wire_get_u32(r);
	p9_wire_get_str(r, &m->unlinkat.name);
	m->unlinkat.flags = p9_wire_get_u32(r);
}

typedef void (*parse_fn)(struct p9_wire_rd *r, struct p9_msg *m);

static const parse_fn parsers[256] = {
    [P9_TVERSION] = parse_version,     [P9_TAUTH] = parse_attach,
    [P9_TATTACH] = parse_attach,       [P9_TFLUSH] = parse_flush,
    [P9_TWALK] = parse_walk,	       [P9_TCLUNK] = parse_fid,
    [P9_TREMOVE] = parse_fid,	       [P9_TREADLINK] = parse_fid,
    [P9_TSTATFS] = parse_fid,	       [P9_TLOPEN] = parse_lopen,
    [P9_TLCREATE] = parse_lcreate,     [P9_TSYMLINK] = parse_symlink,
    [P9_TMKNOD] = parse_mknod,	       [P9_TRENAME] = parse_rename,
    [P9_TGETATTR] = parse_getattr,     [P9_TSETATTR] = parse_setattr,
    [P9_TXATTRWALK] = parse_xattrwalk, [P9_TXATTRCREATE] = parse_xattrcreate,
    [P9_TREAD] = parse_read,	       [P9_TREADDIR] = parse_read,
    [P9_TWRITE] = parse_write,	       [P9_TFSYNC] = parse_fsync,
    [P9_TLOCK] = parse_lock,	       [P9_TGETLOCK] = parse_lock,
    [P9_TLINK] = parse_link,	       [P9_TMKDIR] = parse_mkdir,
    [P9_TRENAMEAT] = parse_renameat,   [P9_TUNLINKAT] = parse_unlinkat,
};

int p9_wire_parse(const void *buf, size_t len, struct p9_msg *m)
{
	struct p9_wire_rd r;
	parse_fn fn;

	memset(m, 0, sizeof(*m));
	if (p9_wire_header(buf, len, &m->size, &m->type, &m->tag))
		return -EPROTO;
	/* Only Twrite may stop short of its size (after the header). */
	if (len > m->size || (len < m->size && (m->type != P9_TWRITE || len < P9_WRITE_HDR_SIZE)))
		return -EPROTO;
	fn = parsers[m->type];
	if (!fn)
		return -EOPNOTSUPP;
	p9_wire_rd_init(&r, buf, len);
	r.pos = P9_HDR_SIZE;
	fn(&r, m);
	if (r.bad || r.pos != len)
		return -EPROTO;
	return 0;
}

/* ---- writing ---- */

void p9_wire_buf_init(struct p9_wire_buf *b, void *data, size_t cap)
{
	b->data = data;
	b->cap = cap;
	b->len = 0;
	b->overflow = false;
}

static uint8_t *room_for(struct p9_wire_buf *b, size_t n)
{
	uint8_t *p;

	if (b->overflow || n > b->cap - b->len) {
		b->overflow = true;
		return NULL;
	}
	p = b->data + b->len;
	b->len += n;
	return p;
}

static void put_le(struct p9_wire_buf *b, uint64_t v, unsigned int n)
{
	uint8_t *p = room_for(b, n);

	for (unsigned int i = 0; p && i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

void p9_wire_put_u8(struct p9_wire_buf *b, uint8_t v)
{
	put_le(b, v, 1);
}

void p9_wire_put_u16(struct p9_wire_buf *b, uint16_t v)
{
	put_le(b, v, 2);
}

void p9_wire_put_u32(struct p9_wire_buf *b, uint32_t v)
{
	put_le(b, v, 4);
}

void p9_wire_put_u64(struct p9_wire_buf *b, uint64_t v)
{
	put_le(b, v, 8);
}

void p9_wire_put_bytes(struct p9_wire_buf *b, const void *p, size_t len)
{
	uint8_t *dst = room_for(b, len);

	if (dst && len)
		memcpy(dst, p, len);
}

void p9_wire_put_str(struct p9_wire_buf *b, const char *s, size_t len)
{
	if (len > UINT16_MAX) {
		b->overflow = true;
		return;
	}
	p9_wire_put_u16(b, (uint16_t)len);
	p9_wire_put_bytes(b, s, len);
}

void p9_wire_put_cstr(struct p9_wire_buf *b, const char *s)
{
	p9_wire_put_str(b, s, strlen(s));
}

void p9_wire_put_qid(struct p9_wire_buf *b, const struct p9_qid *q)
{
	p9_wire_put_u8(b, q->type);
	p9_wire_put_u32(b, q->version);
	p9_wire_put_u64(b, q->path);
}

size_t p9_wire_room(const struct p9_wire_buf *b)
{
	return b->overflow ? 0 : b->cap - b->len;
}

void p9_wire_begin(struct p9_wire_buf *b, uint8_t type, uint16_t tag)
{
	b->len = 0;
	b->overflow = false;
	p9_wire_put_u32(b, 0);
	p9_wire_put_u8(b, type);
	p9_wire_put_u16(b, tag);
}

int p9_wire_finish(struct p9_wire_buf *b)
{
	return p9_wire_finish_data(b, 0);
}

int p9_wire_finish_data(struct p9_wire_buf *b, uint32_t data_len)
{
	uint64_t size = (uint64_t)b->len + data_len;

	if (b->overflow || size > INT32_MAX)
		return -EMSGSIZE;
	for (unsigned int i = 0; i < 4; i++)
		b->data[i] = (uint8_t)(size >> (8 * i));
	return (int)size;
}

void p9_wire_lerror(struct p9_wire_buf *b, uint16_t tag, uint32_t ecode)
{
	p9_wire_begin(b, P9_RLERROR, tag);
	p9_wire_put_u32(b, ecode);
}
