/*
 * Unit tests for the 9P2000.L server: every message the Linux client uses,
 * driven through p9_server_handle() on a temporary share, in the
 * passthrough and mapped models (the hostile-guest cases are in
 * p9_sec_test.c). Some checks need root (chown in passthrough); they are
 * skipped otherwise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "devices/virtio_9p/p9_testlib.h"

#define O_CREAT_L 0100u
#define O_RDWR_L 2u
#define O_WRONLY_L 1u
#define O_APPEND_L 02000u
#define O_TRUNC_L 01000u

/* A client on a fresh share in `model`, read-only if `ro`. */
static int setup_share(void **state, enum shared_dir_model model, bool ro)
{
	struct tc *c = malloc(sizeof(*c));

	tc_open(c, model, ro);
	*state = c;
	return 0;
}

static int setup_pass(void **state)
{
	return setup_share(state, SHARED_DIR_PASSTHROUGH, false);
}

static int setup_xattr(void **state)
{
	return setup_share(state, SHARED_DIR_MAPPED_XATTR, false);
}

static int setup_mfile(void **state)
{
	return setup_share(state, SHARED_DIR_MAPPED_FILE, false);
}

static int setup_ro(void **state)
{
	return setup_share(state, SHARED_DIR_PASSTHROUGH, true);
}

static int teardown(void **state)
{
	tc_close(*state);
	free(*state);
	return 0;
}

static void host_path(const struct tc *c, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", c->share, name);
}

/* Creates `name` in the root with `len` bytes of a pattern; returns fid 1 open RDWR. */
static void create_file(struct tc *c, const char *name, uint32_t mode)
{
	assert_int_equal(tc_walk(c, 0, 1, ""), 0);
	assert_int_equal(tc_lcreate(c, 1, name, O_RDWR_L | O_CREAT_L, mode, 0), 0);
}

/* ---- session ---- */

static void test_version(void **state)
{
	struct tc *c = *state;
	uint32_t msize;

	assert_int_equal(tc_version(c, 1u << 30, P9_VERSION_L, &msize), 0);
	assert_int_equal(msize, TC_MSIZE); /* clamped to the server's limit */
	assert_int_equal(tc_version(c, 8192, P9_VERSION_L, &msize), 0);
	assert_int_equal(msize, 8192);
	assert_int_equal(tc_version(c, 8192, "9P2000.u", &msize), -EPROTONOSUPPORT); /* "unknown" */
	assert_int_equal(tc_version(c, 512, P9_VERSION_L, &msize), -EINVAL);
	/* Tversion ends the session: fid 0 is gone. */
	assert_int_equal(tc_version(c, TC_MSIZE, P9_VERSION_L, NULL), 0);
	assert_int_equal(tc_clunk(c, 0), -EBADF);
	assert_int_equal(tc_attach(c, 0, 0), 0);
	assert_int_equal(tc_attach(c, 0, 0), -EEXIST);
}

static void test_unsupported_and_malformed(void **state)
{
	struct tc *c = *state;

	tc_begin(c, P9_TAUTH);
	p9_wire_put_u32(&c->b, 5);
	p9_wire_put_cstr(&c->b, "u");
	p9_wire_put_cstr(&c->b, "");
	p9_wire_put_u32(&c->b, 0);
	assert_int_equal(tc_rpc(c), -EOPNOTSUPP);
	tc_begin(c, 112); /* 9P2000 Topen */
	p9_wire_put_u32(&c->b, 0);
	p9_wire_put_u8(&c->b, 0);
	assert_int_equal(tc_rpc(c), -EOPNOTSUPP);
	tc_begin(c, P9_TCLUNK); /* a body that is too short */
	p9_wire_put_u16(&c->b, 0);
	assert_int_equal(tc_rpc(c), -EPROTO);
	tc_begin(c, P9_TCLUNK); /* trailing bytes */
	p9_wire_put_u32(&c->b, 0);
	p9_wire_put_u8(&c->b, 0);
	assert_int_equal(tc_rpc(c), -EPROTO);
	tc_begin(c, P9_TWRITE); /* count beyond the message */
	p9_wire_put_u32(&c->b, 0);
	p9_wire_put_u64(&c->b, 0);
	p9_wire_put_u32(&c->b, 100);
	assert_int_equal(tc_rpc(c), -EPROTO);
	assert_int_equal(tc_clunk(c, 12345), -EBADF);
	assert_int_equal(tc_walk(c, 0, 0, ""), 0); /* clone onto itself: nothing changes */
}

static void test_no_room_for_reply(void **state)
{
	struct tc *c = *state;

	c->rep_cap = 10; /* less than an Rlerror: no answer at all */
	assert_int_equal(tc_clunk(c, 12345), -ENODATA);
	c->rep_cap = 11;
	assert_int_equal(tc_clunk(c, 12345), -EBADF);
	/* Rgetattr does not fit in 64 bytes: an Rlerror instead. */
	c->rep_cap = 64;
	tc_begin(c, P9_TGETATTR);
	p9_wire_put_u32(&c->b, 0);
	p9_wire_put_u64(&c->b, P9_GETATTR_BASIC);
	assert_int_equal(tc_rpc(c), -EMSGSIZE);
	c->rep_cap = TC_MSIZE;
}

static void test_before_version(void **state)
{
	struct tc *c = *state;

	p9_server_reset(c->srv); /* as a device reset does */
	assert_int_equal(tc_attach(c, 0, 0), -EPROTO);
	assert_int_equal(tc_version(c, TC_MSIZE, P9_VERSION_L, NULL), 0);
	assert_int_equal(tc_attach(c, 0, 0), 0);
}

/* ---- files ---- */

static void test_create_write_read_sizes(void **state)
{
	static const uint32_t sizes[] = {0, 1, 4095, 4096, 100000, 1u << 20};
	struct tc *c = *state;
	uint8_t *data = malloc(1u << 20), *back = malloc(1u << 20);

	for (size_t i = 0; i < (1u << 20); i++)
		data[i] = (uint8_t)(i * 7 + (i >> 11));
	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		char name[32], hp[256];
		uint32_t off = 0, n, got;
		struct tc_attr a;
		size_t hlen;
		char *host;

		snprintf(name, sizeof(name), "f%u", sizes[s]);
		create_file(c, name, 0640);
		while (off < sizes[s]) { /* msize-sized chunks */
			n = MIN(sizes[s] - off, TC_MSIZE - 64);
			assert_int_equal(tc_write(c, 1, off, data + off, n, &got), 0);
			assert_int_equal(got, n);
			off += n;
		}
		assert_int_equal(tc_getattr(c, 1, &a), 0);
		assert_int_equal(a.size, sizes[s]);
		assert_int_equal(a.mode, S_IFREG | 0640);
		for (off = 0; off < sizes[s]; off += got) {
			assert_int_equal(tc_read(c, 1, off, TC_MSIZE - 64, back + off, &got), 0);
			assert_true(got > 0);
		}
		assert_int_equal(tc_read(c, 1, sizes[s], 100, back, &got), 0);
		assert_int_equal(got, 0); /* end of file */
		assert_int_equal(tc_clunk(c, 1), 0);
		host = tc_slurp(c->share, name, &hlen);
		assert_non_null(host);
		assert_int_equal(hlen, sizes[s]);
		if (sizes[s])
			assert_memory_equal(host, data, sizes[s]);
		free(host);
		host_path(c, name, hp, sizeof(hp));
		assert_int_equal(access(hp, F_OK), 0);
	}
	free(data);
	free(back);
}

static void test_append_truncate_reopen(void **state)
{
	struct tc *c = *state;
	char buf[64];
	uint32_t got;
	size_t len;
	char *host;

	create_file(c, "log", 0644);
	assert_int_equal(tc_write(c, 1, 0, "hello", 5, &got), 0);
	assert_int_equal(tc_clunk(c, 1), 0);
	/* O_APPEND: the offset is ignored, data goes to the end. */
	assert_int_equal(tc_walk(c, 0, 2, "log"), 0);
	assert_int_equal(tc_lopen(c, 2, O_WRONLY_L | O_APPEND_L), 0);
	assert_int_equal(tc_write(c, 2, 0, " world", 6, &got), 0);
	assert_int_equal(tc_clunk(c, 2), 0);
	host = tc_slurp(c->share, "log", &len);
	assert_string_equal(host, "hello world");
	free(host);
	/* truncate by setattr on a path fid, then O_TRUNC */
	assert_int_equal(tc_walk(c, 0, 3, "log"), 0);
	assert_int_equal(tc_setattr(c, 3, P9_SETATTR_SIZE, 0, 0, 0, 4), 0);
	host = tc_slurp(c->share, "log", &len);
	assert_string_equal(host, "hell");
	free(host);
	assert_int_equal(tc_lopen(c, 3, O_RDWR_L | O_TRUNC_L), 0);
	assert_int_equal(tc_lopen(c, 3, 0), -EINVAL); /* already open */
	assert_int_equal(tc_read(c, 3, 0, sizeof(buf), buf, &got), 0);
	assert_int_equal(got, 0);
	assert_int_equal(tc_clunk(c, 3), 0);
	/* reading an unopened fid */
	assert_int_equal(tc_walk(c, 0, 4, "log"), 0);
	assert_int_equal(tc_read(c, 4, 0, 10, buf, &got), -EBADF);
	assert_int_equal(tc_lopen(c, 4, 3), -EINVAL); /* access mode 3 */
	assert_int_equal(tc_clunk(c, 4), 0);
}

static void test_unlink_while_open(void **state)
{
	struct tc *c = *state;
	char buf[16];
	uint32_t got;

	create_file(c, "tmp", 0600);
	assert_int_equal(tc_write(c, 1, 0, "still here", 10, &got), 0);
	assert_int_equal(tc_unlinkat(c, 0, "tmp", 0), 0);
	assert_int_equal(tc_read(c, 1, 0, sizeof(buf), buf, &got), 0);
	assert_int_equal(got, 10);
	assert_memory_equal(buf, "still here", 10);
	assert_int_equal(tc_walk(c, 0, 2, "tmp"), -ENOENT);
	assert_int_equal(tc_clunk(c, 1), 0);
}

/* ---- directories ---- */

static unsigned int count_entries(struct tc *c, uint32_t fid, uint32_t count, bool *saw_dot)
{
	static uint8_t buf[TC_MSIZE];
	uint64_t off = 0;
	unsigned int n = 0;
	uint32_t got = 0;

	*saw_dot = false;
	do {
		struct p9_wire_rd r;

		assert_int_equal(
		    tc_read_type(c, P9_TREADDIR, fid, off, count, buf, sizeof(buf), &got), 0);
		assert_true(got <= count);
		p9_wire_rd_init(&r, buf, got);
		while (r.pos < got) {
			struct p9_qid q;
			struct p9_str name;

			p9_wire_get_qid(&r, &q);
			off = p9_wire_get_u64(&r);
			(void)p9_wire_get_u8(&r);
			p9_wire_get_str(&r, &name);
			assert_false(r.bad);
			if (name.len == 1 && name.s[0] == '.')
				*saw_dot = true;
			else if (!(name.len == 2 && !memcmp(name.s, "..", 2)))
				n++;
		}
	} while (got > 0);
	return n;
}

static void test_mkdir_readdir_rmdir(void **state)
{
	struct tc *c = *state;
	struct tc_attr a;
	bool dot;

	assert_int_equal(tc_mkdir(c, 0, "d", 0755, 0), 0);
	assert_int_equal(tc_mkdir(c, 0, "d", 0755, 0), -EEXIST);
	assert_int_equal(tc_walk(c, 0, 1, "d"), 0);
	assert_int_equal(tc_getattr(c, 1, &a), 0);
	assert_int_equal(a.mode, S_IFDIR | 0755);
	assert_int_equal(a.qid.type, P9_QTDIR);
	for (int i = 0; i < 600; i++) {
		char name[32];

		snprintf(name, sizeof(name), "entry-with-a-longish-name-%04d", i);
		assert_int_equal(tc_walk(c, 1, 2, ""), 0);
		assert_int_equal(tc_lcreate(c, 2, name, O_CREAT_L, 0644, 0), 0);
		assert_int_equal(tc_clunk(c, 2), 0);
	}
	assert_int_equal(tc_walk(c, 1, 3, ""), 0);
	assert_int_equal(tc_lopen(c, 3, 0), 0);
	assert_int_equal(count_entries(c, 3, 1000, &dot), 600); /* many small replies */
	assert_true(dot);
	assert_int_equal(count_entries(c, 3, TC_MSIZE - 11, &dot), 600);
	assert_int_equal(tc_clunk(c, 3), 0);
	assert_int_equal(tc_unlinkat(c, 0, "d", P9_AT_REMOVEDIR), -ENOTEMPTY);
	for (int i = 0; i < 600; i++) {
		char name[40];

		snprintf(name, sizeof(name), "entry-with-a-longish-name-%04d", i);
		assert_int_equal(tc_unlinkat(c, 1, name, 0), 0);
	}
	assert_int_equal(tc_unlinkat(c, 0, "d", 0), -EISDIR);
	assert_int_equal(tc_unlinkat(c, 0, "d", 0x1), -EINVAL); /* unknown flag */
	assert_int_equal(tc_unlinkat(c, 0, "d", P9_AT_REMOVEDIR), 0);
	assert_int_equal(tc_clunk(c, 1), 0);
	/* readdir needs an open directory */
	assert_int_equal(tc_read_type(c, P9_TREADDIR, 0, 0, 100, c->rep, 0, &(uint32_t){0}),
			 -EBADF);
}

static void test_rename_renameat_remove(void **state)
{
	struct tc *c = *state;
	struct tc_attr a;
	size_t len;
	char *host;
	uint32_t got;

	assert_int_equal(tc_mkdir(c, 0, "a", 0755, 0), 0);
	assert_int_equal(tc_mkdir(c, 0, "b", 0755, 0), 0);
	create_file(c, "x", 0644);
	assert_int_equal(tc_write(c, 1, 0, "data", 4, &got), 0);
	assert_int_equal(tc_walk(c, 0, 2, "a"), 0);
	assert_int_equal(tc_walk(c, 0, 3, "b"), 0);
	/* within a directory, then across */
	assert_int_equal(tc_renameat(c, 0, "x", 0, "y"), 0);
	assert_int_equal(tc_renameat(c, 0, "y", 2, "z"), 0);
	host = tc_slurp(c->share, "a/z", &len);
	assert_string_equal(host, "data");
	free(host);
	/* the open fid followed its file: Trename and Tremove use its new entry */
	assert_int_equal(tc_rename(c, 1, 3, "w"), 0);
	host = tc_slurp(c->share, "b/w", &len);
	assert_string_equal(host, "data");
	free(host);
	assert_int_equal(tc_getattr(c, 1, &a), 0);
	assert_int_equal(a.size, 4);
	assert_int_equal(tc_fid_op(c, P9_TREMOVE, 1), 0);
	assert_null(tc_slurp(c->share, "b/w", &len));
	assert_int_equal(tc_clunk(c, 1), -EBADF); /* Tremove clunked it */
	/* a stale entry: the name now belongs to another file */
	create_file(c, "s", 0644);
	assert_int_equal(tc_clunk(c, 1), 0);
	assert_int_equal(tc_walk(c, 0, 4, "s"), 0);
	tc_sh("mv %s/s %s/s2 && touch %s/s", c->share, c->share, c->share);
	assert_int_equal(tc_fid_op(c, P9_TREMOVE, 4), -ENOENT);
	host = tc_slurp(c->share, "s", &len);
	assert_non_null(host); /* the other file was left alone */
	free(host);
	assert_int_equal(tc_fid_op(c, P9_TREMOVE, 0), -EBUSY); /* the root */
	assert_int_equal(tc_attach(c, 0, 0), 0);
	assert_int_equal(tc_renameat(c, 0, "nothing", 0, "z"), -ENOENT);
	assert_int_equal(tc_clunk(c, 2), 0);
	assert_int_equal(tc_clunk(c, 3), 0);
}

/* ---- links ---- */

static void test_symlink_readlink_link(void **state)
{
	struct tc *c = *state;
	bool mapped = c->srv->cfg.model != SHARED_DIR_PASSTHROUGH;
	char target[256], hp[256];
	struct tc_attr a;
	struct stat st;

	assert_int_equal(tc_symlink(c, 0, "ln", "some/where/../else"), 0);
	assert_int_equal(tc_walk(c, 0, 1, "ln"), 0);
	assert_int_equal(tc_getattr(c, 1, &a), 0);
	assert_true(S_ISLNK(a.mode));
	assert_int_equal(a.qid.type, P9_QTSYMLINK);
	assert_int_equal(tc_readlink(c, 1, target, sizeof(target)), 0);
	assert_string_equal(target, "some/where/../else");
	host_path(c, "ln", hp, sizeof(hp));
	assert_int_equal(lstat(hp, &st), 0);
	assert_true(mapped ? S_ISREG(st.st_mode) : S_ISLNK(st.st_mode));
	assert_int_equal(tc_lopen(c, 1, 0), mapped ? 0 : -ELOOP);
	assert_int_equal(tc_clunk(c, 1), 0);
	/* a hard link */
	create_file(c, "orig", 0644);
	assert_int_equal(tc_link(c, 0, 1, "hard"), 0);
	assert_int_equal(tc_walk(c, 0, 2, "hard"), 0);
	assert_int_equal(tc_getattr(c, 2, &a), 0);
	assert_int_equal(a.nlink, 2);
	assert_int_equal(tc_link(c, 0, 0, "dirlink"), -EPERM); /* directories: never */
	assert_int_equal(tc_link(c, 2, 1, "x"), -ENOTDIR);
	assert_int_equal(tc_symlink(c, 0, "bad", ""), -EINVAL);
	assert_int_equal(tc_readlink(c, 2, target, sizeof(target)), -EINVAL); /* not a link */
	assert_int_equal(tc_clunk(c, 1), 0);
	assert_int_equal(tc_clunk(c, 2), 0);
}

/* ---- attributes ---- */

/* Setting owners needs a mapped model (ids in metadata) or root (chown in
 * passthrough): skips the test otherwise. Returns whether the model is mapped. */
static bool mapped_or_root(const struct tc *c)
{
	bool mapped = c->srv->cfg.model != SHARED_DIR_PASSTHROUGH;

	if (!mapped && geteuid() != 0)
		skip();
	return mapped;
}

static void test_chmod_chown_times(void **state)
{
	struct tc *c = *state;
	bool mapped = mapped_or_root(c);
	struct tc_attr a;
	struct stat st;
	char hp[256];

	create_file(c, "f", 0644);
	assert_int_equal(tc_setattr(c, 1, P9_SETATTR_MODE, 04751, 0, 0, 0), 0);
	assert_int_equal(tc_setattr(c, 1, P9_SETATTR_UID | P9_SETATTR_GID, 0, 1234, 5678, 0), 0);
	assert_int_equal(tc_setattr(c, 1, P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET, 0, 0, 0, 0), 0);
	assert_int_equal(tc_getattr(c, 1, &a), 0);
	assert_int_equal(a.uid, 1234);
	assert_int_equal(a.gid, 5678);
	host_path(c, "f", hp, sizeof(hp));
	assert_int_equal(lstat(hp, &st), 0);
	assert_int_equal(st.st_mtime, 1000000002); /* MTIME_SET: the given time */
	if (mapped) {
		/* the guest's view lives in metadata; the host file stays Cove's */
		assert_int_equal(a.mode, S_IFREG | 04751);
		assert_int_equal(st.st_uid, geteuid());
		assert_int_equal(st.st_mode & 07777, SHARED_DIR_FMODE_DEFAULT);
	} else {
		assert_int_equal(st.st_uid, 1234);
		assert_int_equal(st.st_gid, 5678);
		assert_int_equal(a.mode & 0777, 0751); /* chown may drop set-id bits */
	}
	/* an unmapped id through an id map */
	c->srv->cfg.uidmap = (struct shared_dir_idmap){1, {{0, 0, 100}}};
	assert_int_equal(tc_setattr(c, 1, P9_SETATTR_UID, 0, 5000, 0, 0), mapped ? 0 : -EINVAL);
	c->srv->cfg.uidmap.n = 0;
	assert_int_equal(tc_setattr(c, 1, P9_SETATTR_ATIME | P9_SETATTR_ATIME_SET, 0, 0, 0, 0), 0);
	assert_int_equal(tc_clunk(c, 1), 0);
}

static void test_create_credentials(void **state)
{
	struct tc *c = *state;
	bool mapped = mapped_or_root(c);
	struct tc_attr a;
	struct stat st;
	char hp[256];

	assert_int_equal(tc_attach(c, 10, 4321), 0); /* a user's own attach */
	assert_int_equal(tc_mkdir(c, 10, "ud", 0711, 99), 0);
	assert_int_equal(tc_walk(c, 10, 11, "ud"), 0);
	assert_int_equal(tc_getattr(c, 11, &a), 0);
	assert_int_equal(a.uid, 4321);
	assert_int_equal(a.gid, 99);
	assert_int_equal(a.mode, S_IFDIR | 0711);
	host_path(c, "ud", hp, sizeof(hp));
	assert_int_equal(stat(hp, &st), 0);
	if (mapped) {
		assert_int_equal(st.st_uid, geteuid());
		assert_int_equal(st.st_mode & 07777, SHARED_DIR_DMODE_DEFAULT);
	} else {
		assert_int_equal(st.st_uid, 4321);
		assert_int_equal(st.st_mode & 07777, 0711);
	}
	assert_int_equal(tc_clunk(c, 11), 0);
	assert_int_equal(tc_clunk(c, 10), 0);
}

static void test_mknod(void **state)
{
	struct tc *c = *state;
	bool mapped = c->srv->cfg.model != SHARED_DIR_PASSTHROUGH;
	struct tc_attr a;
	struct stat st;
	char hp[256];

	assert_int_equal(tc_mknod(c, 0, "fifo", S_IFIFO | 0600, 0, 0), 0);
	host_path(c, "fifo", hp, sizeof(hp));
	assert_int_equal(lstat(hp, &st), 0);
	assert_true(mapped ? S_ISREG(st.st_mode) : S_ISFIFO(st.st_mode));
	assert_int_equal(tc_walk(c, 0, 1, "fifo"), 0);
	assert_int_equal(tc_getattr(c, 1, &a), 0);
	assert_true(S_ISFIFO(a.mode));
	assert_int_equal(tc_clunk(c, 1), 0);
	/* a device node: a mapped stand-in, never a real one */
	assert_int_equal(tc_mknod(c, 0, "null", S_IFCHR | 0666, 1, 3), mapped ? 0 : -EPERM);
	host_path(c, "null", hp, sizeof(hp));
	if (mapped) {
		assert_int_equal(lstat(hp, &st), 0);
		assert_true(S_ISREG(st.st_mode));
		assert_int_equal(tc_walk(c, 0, 1, "null"), 0);
		assert_int_equal(tc_getattr(c, 1, &a), 0);
		assert_true(S_ISCHR(a.mode));
		assert_int_equal(a.rdev, makedev(1, 3));
		assert_int_equal(tc_clunk(c, 1), 0);
	} else {
		assert_int_equal(lstat(hp, &st), -1);
	}
	assert_int_equal(tc_mknod(c, 0, "dir", S_IFDIR | 0755, 0, 0), -EINVAL);
}

static void test_statfs_fsync_lock(void **state)
{
	struct tc *c = *state;
	uint8_t st;

	assert_int_equal(tc_fid_op(c, P9_TSTATFS, 0), 0);
	(void)p9_wire_get_u32(&c->r);
	assert_true(p9_wire_get_u32(&c->r) > 0); /* bsize */
	create_file(c, "lk", 0644);
	assert_int_equal(tc_walk(c, 0, 2, "lk"), 0);
	assert_int_equal(tc_lopen(c, 2, O_RDWR_L), 0);
	tc_begin(c, P9_TFSYNC);
	p9_wire_put_u32(&c->b, 1);
	p9_wire_put_u32(&c->b, 0);
	assert_int_equal(tc_rpc(c), 0);
	/* two opens: a write lock on one blocks the other */
	assert_int_equal(tc_lock(c, P9_TLOCK, 1, P9_LOCK_TYPE_WRLCK, 0, 0, &st), 0);
	assert_int_equal(st, P9_LOCK_SUCCESS);
	assert_int_equal(tc_lock(c, P9_TLOCK, 2, P9_LOCK_TYPE_RDLCK, 10, 5, &st), 0);
	assert_int_equal(st, P9_LOCK_BLOCKED);
	assert_int_equal(tc_lock(c, P9_TGETLOCK, 2, P9_LOCK_TYPE_WRLCK, 0, 0, &st), 0);
	assert_int_equal(st, P9_LOCK_TYPE_WRLCK);
	assert_int_equal(tc_lock(c, P9_TLOCK, 1, P9_LOCK_TYPE_UNLCK, 0, 0, &st), 0);
	assert_int_equal(tc_lock(c, P9_TLOCK, 2, P9_LOCK_TYPE_RDLCK, 10, 5, &st), 0);
	assert_int_equal(st, P9_LOCK_SUCCESS);
	assert_int_equal(tc_lock(c, P9_TGETLOCK, 1, P9_LOCK_TYPE_RDLCK, 0, 0, &st), 0);
	assert_int_equal(st, P9_LOCK_TYPE_UNLCK); /* readers share */
	assert_int_equal(tc_lock(c, P9_TLOCK, 2, 7, 0, 0, &st), -EINVAL);
	assert_int_equal(tc_lock(c, P9_TLOCK, 2, P9_LOCK_TYPE_RDLCK, 1ull << 63, 0, &st), -EINVAL);
	assert_int_equal(tc_lock(c, P9_TLOCK, 0, P9_LOCK_TYPE_RDLCK, 0, 0, &st), -EBADF);
	assert_int_equal(tc_clunk(c, 1), 0);
	assert_int_equal(tc_clunk(c, 2), 0);
}

static void test_xattrs(void **state)
{
	struct tc *c = *state;
	char buf[256];
	uint32_t len;
	uint64_t size;

	create_file(c, "xf", 0644);
	assert_int_equal(tc_setxattr(c, 1, "user.color", "blue", 4, 0), 0);
	assert_int_equal(tc_setxattr(c, 1, "user.empty", "", 0, 0), 0);
	assert_int_equal(tc_getxattr(c, 1, "user.color", buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(buf, "blue", 4);
	assert_int_equal(tc_getxattr(c, 1, "", buf, sizeof(buf), &len), 0);
	assert_non_null(memmem(buf, len, "user.color", 11));
	assert_null(memmem(buf, len, "user.virtfs", 11)); /* never listed */
	assert_int_equal(tc_setxattr(c, 1, "user.color", NULL, 0, XATTR_REPLACE), 0); /* remove */
	assert_int_equal(tc_xattrwalk(c, 1, 5, "user.color", &size), -ENODATA);
	assert_int_equal(tc_setxattr(c, 1, "user.color", "x", 1, XATTR_REPLACE), -ENODATA);
	assert_int_equal(tc_setxattr(c, 1, "user.empty", "x", 1, XATTR_CREATE), -EEXIST);
	/* fewer bytes than announced: nothing set */
	assert_int_equal(tc_walk(c, 1, 6, ""), 0);
	assert_int_equal(tc_xattrcreate(c, 6, "user.short", 10, 0), 0);
	assert_int_equal(tc_write(c, 6, 0, "abc", 3, NULL), 0);
	assert_int_equal(tc_write(c, 6, 8, "abc", 3, NULL), -ENOSPC);
	assert_int_equal(tc_clunk(c, 6), -EINVAL);
	assert_int_equal(tc_xattrwalk(c, 1, 5, "user.short", &size), -ENODATA);
	assert_int_equal(tc_xattrcreate(c, 1, "user.big", 1, 0), -EINVAL); /* an open fid */
	assert_int_equal(tc_walk(c, 1, 7, ""), 0);
	assert_int_equal(tc_xattrcreate(c, 7, "user.big", 65537, 0), -E2BIG);
	assert_int_equal(tc_clunk(c, 7), 0);
	assert_int_equal(tc_xattrwalk(c, 1, 1, "user.x", &size), -EINVAL); /* newfid == fid */
	assert_int_equal(tc_clunk(c, 1), 0);
}

static void test_read_only_share(void **state)
{
	struct tc *c = *state;
	uint8_t st;

	tc_sh("echo ro > %s/file", c->share);
	assert_int_equal(tc_walk(c, 0, 1, "file"), 0);
	assert_int_equal(tc_lopen(c, 1, O_RDWR_L), -EROFS);
	assert_int_equal(tc_lopen(c, 1, 0 | O_TRUNC_L), -EROFS);
	assert_int_equal(tc_setattr(c, 1, P9_SETATTR_SIZE, 0, 0, 0, 0), -EROFS);
	assert_int_equal(tc_setxattr(c, 1, "user.a", "b", 1, 0), -EROFS);
	assert_int_equal(tc_lopen(c, 1, 0), 0);
	assert_int_equal(tc_write(c, 1, 0, "x", 1, NULL), -EROFS);
	assert_int_equal(tc_lock(c, P9_TLOCK, 1, P9_LOCK_TYPE_RDLCK, 0, 0, &st), 0);
	assert_int_equal(tc_mkdir(c, 0, "d", 0755, 0), -EROFS);
	assert_int_equal(tc_symlink(c, 0, "l", "t"), -EROFS);
	assert_int_equal(tc_mknod(c, 0, "n", S_IFIFO | 0600, 0, 0), -EROFS);
	assert_int_equal(tc_link(c, 0, 1, "h"), -EROFS);
	assert_int_equal(tc_renameat(c, 0, "file", 0, "f2"), -EROFS);
	assert_int_equal(tc_unlinkat(c, 0, "file", 0), -EROFS);
	assert_int_equal(tc_walk(c, 0, 2, ""), 0);
	assert_int_equal(tc_lcreate(c, 2, "new", O_CREAT_L | O_RDWR_L, 0644, 0), -EROFS);
	assert_int_equal(tc_fid_op(c, P9_TREMOVE, 2), -EROFS);
	assert_int_equal(tc_clunk(c, 1), 0);
}

static void test_fid_limit(void **state)
{
	struct tc *c = *state;
	unsigned int max = c->srv->fids.max;

	c->srv->fids.max = 5; /* fid 0 is in use */
	for (uint32_t f = 1; f < 5; f++)
		assert_int_equal(tc_walk(c, 0, f, ""), 0);
	assert_int_equal(tc_walk(c, 0, 5, ""), -EMFILE);
	assert_int_equal(tc_attach(c, 6, 0), -EMFILE);
	assert_int_equal(tc_walk(c, 0, P9_NOFID, ""), -EINVAL);
	assert_int_equal(tc_clunk(c, 4), 0);
	assert_int_equal(tc_walk(c, 0, 5, ""), 0);
	assert_int_equal(tc_walk(c, 0, 5, ""), -EEXIST);
	c->srv->fids.max = max;
}

static void test_xattr_budget(void **state)
{
	struct tc *c = *state;
	unsigned int i;
	int ret = 0;

	/* 16 MiB of xattr buffers at most: the 257th 64 KiB buffer is refused. */
	for (i = 0; i < 300 && !ret; i++) {
		assert_int_equal(tc_walk(c, 0, 100 + i, ""), 0);
		ret = tc_xattrcreate(c, 100 + i, "user.big", 65536, 0);
	}
	assert_int_equal(ret, -ENOSPC);
	assert_int_equal(i, P9_XATTR_BYTES_MAX / 65536 + 1);
	for (unsigned int k = 0; k < i; k++)
		(void)tc_clunk(c, 100 + k);
	assert_int_equal(c->srv->fids.xattr_bytes, 0);
}

#define PASS(t) cmocka_unit_test_setup_teardown(t, setup_pass, teardown)
#define XATTR(t) cmocka_unit_test_setup_teardown(t, setup_xattr, teardown)
#define MFILE(t) cmocka_unit_test_setup_teardown(t, setup_mfile, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    PASS(test_version),
	    PASS(test_unsupported_and_malformed),
	    PASS(test_no_room_for_reply),
	    PASS(test_before_version),
	    PASS(test_create_write_read_sizes),
	    XATTR(test_create_write_read_sizes),
	    PASS(test_append_truncate_reopen),
	    PASS(test_unlink_while_open),
	    PASS(test_mkdir_readdir_rmdir),
	    MFILE(test_mkdir_readdir_rmdir),
	    PASS(test_rename_renameat_remove),
	    MFILE(test_rename_renameat_remove),
	    PASS(test_symlink_readlink_link),
	    XATTR(test_symlink_readlink_link),
	    MFILE(test_symlink_readlink_link),
	    PASS(test_chmod_chown_times),
	    XATTR(test_chmod_chown_times),
	    MFILE(test_chmod_chown_times),
	    PASS(test_create_credentials),
	    XATTR(test_create_credentials),
	    MFILE(test_create_credentials),
	    PASS(test_mknod),
	    XATTR(test_mknod),
	    PASS(test_statfs_fsync_lock),
	    PASS(test_xattrs),
	    XATTR(test_xattrs),
	    cmocka_unit_test_setup_teardown(test_read_only_share, setup_ro, teardown),
	    PASS(test_fid_limit),
	    PASS(test_xattr_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
