/*
 * A small 9P2000.L client for the unit tests of the 9P server: it builds
 * T-messages with p9_wire, runs them through p9_server_handle() on plain
 * memory, and reads the R-messages back. Every helper returns 0 or the
 * -errno of an Rlerror. Test-only (static inline: each test includes it).
 */
#ifndef COVE_DEVICES_VIRTIO_9P_P9_TESTLIB_H
#define COVE_DEVICES_VIRTIO_9P_P9_TESTLIB_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/virtio_9p/p9_proto.h"
#include "devices/virtio_9p/p9_server.h"
#include "devices/virtio_9p/p9_wire.h"

#define TC_MSIZE (256u * 1024)
#define TC_REQ_MAX (TC_MSIZE + 64)

struct tc {
	struct p9_server *srv;
	struct p9_ctx ctx;
	char base[64]; /* a temporary folder: share/ and outside/ in it */
	char share[96];
	char outside[96];
	uint8_t *req, *rep;
	size_t rep_cap; /* room offered for the reply */
	struct p9_wire_buf b;
	struct p9_wire_rd r; /* the last reply's body */
	size_t rep_len;
};

struct tc_attr {
	struct p9_qid qid;
	uint32_t mode, uid, gid;
	uint64_t nlink, rdev, size;
};

static inline void tc_die(const char *what)
{
	fprintf(stderr, "p9 test client: %s\n", what);
	abort();
}

static inline void tc_sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		tc_die(cmd);
}

static inline void tc_begin(struct tc *c, uint8_t type)
{
	p9_wire_buf_init(&c->b, c->req, TC_REQ_MAX);
	p9_wire_begin(&c->b, type, 7);
}

/* Sends the message built since tc_begin; 0, or -ecode of an Rlerror. */
static inline int tc_rpc(struct tc *c)
{
	int len = p9_wire_finish(&c->b);
	struct iovec out = {c->req, (size_t)len}, in = {c->rep, c->rep_cap};
	struct p9_io io = {&out, 1, (size_t)len, &in, 1, c->rep_cap};
	uint32_t size;
	uint8_t type;
	uint16_t tag;

	if (len < 0)
		tc_die("request too large");
	c->rep_len = p9_server_handle(c->srv, &c->ctx, &io);
	if (c->rep_len == 0)
		return -ENODATA; /* no reply at all */
	if (p9_wire_header(c->rep, c->rep_len, &size, &type, &tag) || size != c->rep_len ||
	    tag != 7)
		tc_die("bad reply header");
	p9_wire_rd_init(&c->r, c->rep, c->rep_len);
	c->r.pos = P9_HDR_SIZE;
	if (type == P9_RLERROR)
		return -(int)p9_wire_get_u32(&c->r);
	if (type != c->req[4] + 1)
		tc_die("reply of the wrong type");
	return 0;
}

static inline int tc_version(struct tc *c, uint32_t msize, const char *version, uint32_t *got)
{
	struct p9_str v;
	uint32_t m;
	int ret;

	tc_begin(c, P9_TVERSION);
	p9_wire_put_u32(&c->b, msize);
	p9_wire_put_cstr(&c->b, version);
	ret = tc_rpc(c);
	if (ret)
		return ret;
	m = p9_wire_get_u32(&c->r);
	if (got)
		*got = m;
	if (version) {
		p9_wire_get_str(&c->r, &v);
		if (v.len != strlen(P9_VERSION_L) || memcmp(v.s, P9_VERSION_L, v.len))
			return -EPROTONOSUPPORT;
	}
	return ret;
}

static inline int tc_attach(struct tc *c, uint32_t fid, uint32_t uid)
{
	tc_begin(c, P9_TATTACH);
	p9_wire_put_u32(&c->b, fid);
	p9_wire_put_u32(&c->b, P9_NOFID);
	p9_wire_put_cstr(&c->b, "");
	p9_wire_put_cstr(&c->b, "");
	p9_wire_put_u32(&c->b, uid);
	return tc_rpc(c);
}

static inline int tc_walk_raw(struct tc *c, uint32_t fid, uint32_t newfid, unsigned int n,
			      const struct p9_str *names, struct p9_qid *last, unsigned int *nq)
{
	int ret;

	tc_begin(c, P9_TWALK);
	p9_wire_put_u32(&c->b, fid);
	p9_wire_put_u32(&c->b, newfid);
	p9_wire_put_u16(&c->b, (uint16_t)n);
	for (unsigned int i = 0; i < n; i++)
		p9_wire_put_str(&c->b, names[i].s, names[i].len);
	ret = tc_rpc(c);
	if (ret)
		return ret;
	*nq = p9_wire_get_u16(&c->r);
	for (unsigned int i = 0; i < *nq; i++) {
		struct p9_qid q;

		p9_wire_get_qid(&c->r, &q);
		if (last)
			*last = q;
	}
	return 0;
}

/* Walks a "/"-separated path (the client side splits it); partial walks are -ENOENT. */
static inline int tc_walk(struct tc *c, uint32_t fid, uint32_t newfid, const char *path)
{
	struct p9_str names[P9_MAXWELEM];
	char buf[1024];
	unsigned int n = 0, nq = 0;
	int ret;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *save, *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save))
		names[n++] = (struct p9_str){t, (uint16_t)strlen(t)};
	ret = tc_walk_raw(c, fid, newfid, n, names, NULL, &nq);
	return ret ? ret : nq == n ? 0 : -ENOENT;
}

static inline int tc_fid_op(struct tc *c, uint8_t type, uint32_t fid)
{
	tc_begin(c, type);
	p9_wire_put_u32(&c->b, fid);
	return tc_rpc(c);
}

static inline int tc_clunk(struct tc *c, uint32_t fid)
{
	return tc_fid_op(c, P9_TCLUNK, fid);
}

static inline int tc_lopen(struct tc *c, uint32_t fid, uint32_t flags)
{
	tc_begin(c, P9_TLOPEN);
	p9_wire_put_u32(&c->b, fid);
	p9_wire_put_u32(&c->b, flags);
	return tc_rpc(c);
}

static inline int tc_lcreate(struct tc *c, uint32_t fid, const char *name, uint32_t flags,
			     uint32_t mode, uint32_t gid)
{
	tc_begin(c, P9_TLCREATE);
	p9_wire_put_u32(&c->b, fid);
	p9_wire_put_cstr(&c->b, name);
	p9_wire_put_u32(&c->b, flags);
	p9_wire_put_u32(&c->b, mode);
	p9_wire_put_u32(&c->b, gid);
	return tc_rpc(c);
}

static inline int tc_write(struct tc *c, uint32_t fid, uint64_t off, const void *data, uint32_t len,
			   uint32_t *count)
{
	int ret;

	tc_begin(c, P9_TWRITE);
	p9_wire_put_u32(&c->b, fid);
	p9_wire_put_u64(&c->b, off);
	p9_wire_put_u32(&c->b, len);
	p9_wire_put_bytes(&c->b, data, len);
	ret = tc_rpc(c);
	if (!ret && count)
		*count = p9_wire_get_u32(&c->r);
	return ret;
}

/* Tread and Treaddir: the data is copied to buf (at most cap bytes). */
static inline int tc_read_type(struct tc *c, uint8_t type, uint32_t fid, uint64_t off,
			       uint32_t count, void *buf, size_t cap, uint32_t *got)
{
	int ret;

	tc_begin(c, type);
	p9_wire_put_u32(&c->b, fid);
	p9_wire_put_u64(&c->b, off);
	p9_wire_put_u32(&c->b, count);
	ret = tc_rpc(c);
	if (ret)
		return ret;
	*got = p9_wire_get_u32(&c->r);
	if (*got > cap || *got > c->rep_len - P9_READ_HDR_SIZE)
		tc_die("read reply larger than asked");
	if (*got)
		memcpy(buf, c->rep + P9_READ_HDR_SIZE, *got);
	return 0;
}

static inline int tc_read(struct tc *c, uint32_t fid, uint64_t off, uint32_t count, void *buf,
			  uint32_t *got)
{
	return tc_read_type(c, P9_TREAD, fid, off, count, buf, count, got);
}

static inline int tc_getattr(struct tc *c, uint32_t fid, struct tc_attr *a)
{
	int ret;

	tc_begin(c, P9_TGETATTR);
	p9_wire_put_u32(&c->b, fid);
	p9_wire_put_u64(&c->b, P9_GETATTR_BASIC);
	ret = tc_rpc(c);
	if (ret)
		return ret;
	(void)p9_wire_get_u64(&c->r);
	p9_wire_get_qid(&c->r, &a->qid);
	a->mode = p9_wire_get_u32(&c->r);
	a->uid = p9_wire_get_u32(&c->r);
	a->gid = p9_wire_get_u32(&c->r);
	a->nlink = p9_wire_get_u64(&c->r);
	a->rdev = p9_wire_get_u64(&c->r);
	a->size = p9_wire_get_u64(&c->r);
	return 0;
}

static inline int tc_setattr(struct tc *c, uint32_t fid, uint32_t valid, uint32_t mode,
			     uint32_t uid, uint32_t gid, uint64_t size)
{
	tc_begin(c, P9_TSETATTR);
	p9_wire_put_u32(&c->b, fid);
	p9_wire_put_u32(&c->b, valid);
	p9_wire_put_u32(&c->b, mode);
	p9_wire_put_u32(&c->b, uid);
	p9_wire_put_u32(&c->b, gid);
	p9_wire_put_u64(&c->b, size);
	for (int i = 0; i < 4; i++)
		p9_wire_put_u64(&c->b, i % 2 ? 0 : 1000000000ull + (uint64_t)i);
	return tc_rpc(c);
}

static inline int tc_mkdir(struct tc *c, uint32_t dfid, const char *name, uint32_t mode,
			   uint32_t gid)
{
	tc_begin(c, P9_TMKDIR);
	p9_wire_put_u32(&c->b, dfid);
	p9_wire_put_cstr(&c->b, name);
	p9_wire_put_u32(&c->b, mode);
	p9_wire_put_u32(&c->b, gid);
	return tc_rpc(c);
}

static inline int tc_mknod(struct tc *c, uint32_t dfid, const char *name, uint32_t mode,
			   uint32_t major, uint32_t minor)
{
	tc_begin(c, P9_TMKNOD);
	p9_wire_put_u32(&c->b, dfid);
	p9_wire_put_cstr(&c->b, name);
	p9_wire_put_u32(&c->b, mode);
	p9_wire_put_u32(&c->b, major);
	p9_wire_put_u32(&c->b, minor);
	p9_wire_put_u32(&c->b, 0);
	return tc_rpc(c);
}

static inline int tc_symlink(struct tc *c, uint32_t dfid, const char *name, const char *target)
{
	tc_begin(c, P9_TSYMLINK);
	p9_wire_put_u32(&c->b, dfid);
	p9_wire_put_cstr(&c->b, name);
	p9_wire_put_cstr(&c->b, target);
	p9_wire_put_u32(&c->b, 0);
	return tc_rpc(c);
}

static inline int tc_readlink(struct tc *c, uint32_t fid, char *buf, size_t cap)
{
	struct p9_str s;
	int ret = tc_fid_op(c, P9_TREADLINK, fid);

	if (ret)
		return ret;
	p9_wire_get_str(&c->r, &s);
	if (s.len >= cap)
		tc_die("link target too long");
	memcpy(buf, s.s, s.len);
	buf[s.len] = '\0';
	return 0;
}

static inline int tc_link(struct tc *c, uint32_t dfid, uint32_t fid, const char *name)
{
	tc_begin(c, P9_TLINK);
	p9_wire_put_u32(&c->b, dfid);
	p9_wire_put_u32(&c->b, fid);
	p9_wire_put_cstr(&c->b, name);
	return tc_rpc(c);
}

static inline int tc_rename(struct tc *c, uint32_t fid, uint32_t dfid, const char *name)
{
	tc_begin(c, P9_TRENAME);
	p9_wire_put_u32(&c->b, fid);
	p9_wire_put_u32(&c->b, dfid);
	p9_wire_put_cstr(&c->b, name);
	return tc_rpc(c);
}

static inline int tc_renameat(struct tc *c, uint32_t odfid, const char *oname, uint32_t ndfid,
			      const char *nname)
{
	tc_begin(c, P9_TRENAMEAT);
	p9_wire_put_u32(&c->b, odfid);
	p9_wire_put_cstr(&c->b, oname);
	p9_wire_put_u32(&c->b, ndfid);
	p9_wire_put_cstr(&c->b, nname);
	return tc_rpc(c);
}

static inline int tc_unlinkat(struct tc *c, uint32_t dfid, const char *name, uint32_t flags)
{
	tc_begin(c, P9_TUNLINKAT);
	p9_wire_put_u32(&c->b, dfid);
	p9_wire_put_cstr(&c->b, name);
	p9_wire_put_u32(&c->b, flags);
	return tc_rpc(c);
}

static inline int tc_xattrwalk(struct tc *c, uint32_t fid, uint32_t newfid, const char *name,
			       uint64_t *size)
{
	int ret;

	tc_begin(c, P9_TXATTRWALK);
	p9_wire_put_u32(&c->b, fid);
	p9_wire_put_u32(&c->b, newfid);
	p9_wire_put_cstr(&c->b, name);
	ret = tc_rpc(c);
	if (!ret)
		*size = p9_wire_get_u64(&c->r);
	return ret;
}

static inline int tc_xattrcreate(struct tc *c, uint32_t fid, const char *name, uint64_t size,
				 uint32_t flags)
{
	tc_begin(c, P9_TXATTRCREATE);
	p9_wire_put_u32(&c->b, fid);
	p9_wire_put_cstr(&c->b, name);
	p9_wire_put_u64(&c->b, size);
	p9_wire_put_u32(&c->b, flags);
	return tc_rpc(c);
}

/* Sets xattr `name` on the file of fid through a clone (as the Linux client does). */
static inline int tc_setxattr(struct tc *c, uint32_t fid, const char *name, const void *val,
			      uint32_t len, uint32_t flags)
{
	int ret = tc_walk(c, fid, 999, "");

	if (!ret)
		ret = tc_xattrcreate(c, 999, name, len, flags);
	if (!ret && len)
		ret = tc_write(c, 999, 0, val, len, NULL);
	if (!ret)
		return tc_clunk(c, 999);
	(void)tc_clunk(c, 999);
	return ret;
}

/* Reads xattr `name` ("" = the list) of fid; *len its size. */
static inline int tc_getxattr(struct tc *c, uint32_t fid, const char *name, void *buf, size_t cap,
			      uint32_t *len)
{
	uint64_t size;
	int ret = tc_xattrwalk(c, fid, 998, name, &size);

	if (ret)
		return ret;
	if (size > cap)
		tc_die("xattr larger than the buffer");
	ret = tc_read(c, 998, 0, (uint32_t)size, buf, len);
	(void)tc_clunk(c, 998);
	return ret;
}

static inline int tc_lock(struct tc *c, uint8_t type_msg, uint32_t fid, uint8_t type,
			  uint64_t start, uint64_t len, uint8_t *status)
{
	int ret;

	tc_begin(c, type_msg);
	p9_wire_put_u32(&c->b, fid);
	p9_wire_put_u8(&c->b, type);
	if (type_msg == P9_TLOCK)
		p9_wire_put_u32(&c->b, 0);
	p9_wire_put_u64(&c->b, start);
	p9_wire_put_u64(&c->b, len);
	p9_wire_put_u32(&c->b, 42);
	p9_wire_put_cstr(&c->b, "client");
	ret = tc_rpc(c);
	if (!ret)
		*status = p9_wire_get_u8(&c->r);
	return ret;
}

/* Reads the whole file `name` under `base` into a malloc'd buffer. */
static inline char *tc_slurp(const char *base, const char *name, size_t *len)
{
	char path[256];
	struct stat st;
	char *buf;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", base, name);
	fd = open(path, O_RDONLY | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !(buf = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return NULL;
	}
	*len = (size_t)read(fd, buf, (size_t)st.st_size);
	buf[*len] = '\0';
	close(fd);
	return buf;
}

/*
 * A server on a fresh share (base/share, with base/outside beside it holding
 * "secret"), version negotiated and fid 0 attached as uid 0.
 */
static inline void tc_open(struct tc *c, enum shared_dir_model model, bool ro)
{
	struct shared_dir_config sd;
	char err[256];

	memset(c, 0, sizeof(*c));
	strcpy(c->base, "/tmp/cove-p9-XXXXXX");
	if (!mkdtemp(c->base))
		tc_die("mkdtemp");
	snprintf(c->share, sizeof(c->share), "%s/share", c->base);
	snprintf(c->outside, sizeof(c->outside), "%s/outside", c->base);
	tc_sh("mkdir %s %s && echo top-secret > %s/secret", c->share, c->outside, c->outside);
	vm_config_shared_dir_defaults(&sd);
	sd.path = c->share;
	sd.tag = (char *)"test";
	sd.model = model;
	sd.ro = ro;
	sd.msize = TC_MSIZE;
	if (p9_server_create(&sd, &c->srv, err, sizeof(err)) || p9_server_ctx_init(&c->ctx, c->srv))
		tc_die(err);
	c->req = malloc(TC_REQ_MAX);
	c->rep = malloc(TC_MSIZE);
	c->rep_cap = TC_MSIZE;
	if (!c->req || !c->rep || tc_version(c, TC_MSIZE, P9_VERSION_L, NULL) || tc_attach(c, 0, 0))
		tc_die("version/attach");
}

static inline void tc_close(struct tc *c)
{
	p9_server_ctx_destroy(&c->ctx);
	p9_server_destroy(c->srv);
	free(c->req);
	free(c->rep);
	tc_sh("rm -rf %s", c->base);
}

#endif
