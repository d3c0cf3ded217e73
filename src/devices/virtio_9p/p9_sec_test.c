/*
 * The 9P server against a hostile guest and a racing host process: every
 * attempt to reach outside the shared directory must fail, and inotify on
 * the directory beside the share (holding "secret") proves that nothing
 * there was opened, read, written or touched. Also the models' hidden
 * names and the handling of special files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <sys/inotify.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>

#include "devices/virtio_9p/p9_testlib.h"

#define O_CREAT_L 0100u
#define O_RDWR_L 2u
#define O_TRUNC_L 01000u
#define SECRET "top-secret\n"

struct fx {
	struct tc c;
	int ino; /* inotify on c.outside */
};

static int setup_model(void **state, enum shared_dir_model model)
{
	struct fx *f = malloc(sizeof(*f));

	tc_open(&f->c, model, false);
	f->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	assert_true(f->ino >= 0);
	assert_true(inotify_add_watch(f->ino, f->c.outside, IN_ALL_EVENTS) >= 0);
	*state = f;
	return 0;
}

static int setup_pass(void **state)
{
	return setup_model(state, SHARED_DIR_PASSTHROUGH);
}

static int setup_xattr(void **state)
{
	return setup_model(state, SHARED_DIR_MAPPED_XATTR);
}

static int setup_mfile(void **state)
{
	return setup_model(state, SHARED_DIR_MAPPED_FILE);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	close(f->ino);
	tc_close(&f->c);
	free(f);
	return 0;
}

/* Nothing outside the share was opened, read, written, created or changed. */
static void assert_outside_untouched(struct fx *f)
{
	char buf[4096];
	size_t len;
	ssize_t n = read(f->ino, buf, sizeof(buf)); /* first: slurping opens the secret */
	char *secret = tc_slurp(f->c.outside, "secret", &len);

	if (n > 0) {
		const struct inotify_event *e = (const void *)buf;

		fail_msg("outside touched: mask 0x%x name '%s'", e->mask, e->len ? e->name : "");
	}
	assert_int_equal(n, -1);
	assert_int_equal(errno, EAGAIN);
	assert_non_null(secret);
	assert_string_equal(secret, SECRET);
	free(secret);
	while (read(f->ino, buf, sizeof(buf)) > 0)
		; /* our own look at the secret */
}

static struct p9_str S(const char *s) {
	return (struct p9_str){s, (uint16_t)strlen(s)};
}

/* ---- walking out ---- */

static void
test_dotdot_stays_at_root(void **state)
{
	struct fx *f = *state;
	struct tc *c = &f->c;
	struct p9_str up3[] = {S(".."), S(".."), S(".."), S("outside"), S("secret")};
	struct p9_str up[] = {S("..")};
	struct p9_qid root, q;
	struct tc_attr a;
	unsigned int nq;

	assert_int_equal(tc_getattr(c, 0, &a), 0);
	root = a.qid;
	assert_int_equal(tc_walk_raw(c, 0, 1, 1, up, &q, &nq), 0);
	assert_int_equal(nq, 1);
	assert_int_equal(q.path, root.path);
	assert_int_equal(tc_getattr(c, 1, &a), 0);
	assert_int_equal(a.qid.path, root.path);
	/* up and up again, then "outside": a partial walk, no new fid */
	assert_int_equal(tc_walk_raw(c, 0, 2, 5, up3, &q, &nq), 0);
	assert_int_equal(nq, 3);
	assert_int_equal(q.path, root.path);
	assert_int_equal(tc_clunk(c, 2), -EBADF);
	/* from a subdirectory: ".." is the root, then no further */
	assert_int_equal(tc_mkdir(c, 0, "sub", 0755, 0), 0);
	assert_int_equal(tc_walk(c, 0, 3, "sub/../../outside"), -ENOENT);
	assert_int_equal(tc_walk(c, 0, 3, "sub/.."), 0);
	assert_int_equal(tc_getattr(c, 3, &a), 0);
	assert_int_equal(a.qid.path, root.path);
	assert_outside_untouched(f);
}

static void test_bad_names(void **state)
{
	struct fx *f = *state;
	struct tc *c = &f->c;
	static const char nul_name[] = "secret\0x";
	struct p9_str slash = S("../outside/secret"), nul = {nul_name, 8}, empty = {"", 0};
	char longname[300];
	unsigned int nq;

	memset(longname, 'a', 256);
	longname[256] = '\0';
	assert_int_equal(tc_walk_raw(c, 0, 1, 1, &slash, NULL, &nq), -EINVAL);
	assert_int_equal(tc_walk_raw(c, 0, 1, 1, &nul, NULL, &nq), -EINVAL);
	assert_int_equal(tc_walk_raw(c, 0, 1, 1, &empty, NULL, &nq), -EINVAL);
	assert_int_equal(tc_walk(c, 0, 1, longname), -ENAMETOOLONG);
	assert_int_equal(tc_mkdir(c, 0, "../outside/x", 0755, 0), -EINVAL);
	assert_int_equal(tc_mkdir(c, 0, "..", 0755, 0), -EINVAL);
	assert_int_equal(tc_mkdir(c, 0, ".", 0755, 0), -EINVAL);
	assert_int_equal(tc_mkdir(c, 0, longname, 0755, 0), -ENAMETOOLONG);
	assert_int_equal(tc_symlink(c, 0, "a/b", "x"), -EINVAL);
	assert_int_equal(tc_mknod(c, 0, "../x", S_IFIFO | 0600, 0, 0), -EINVAL);
	assert_int_equal(tc_link(c, 0, 0, "../outside/hl"), -EINVAL);
	assert_int_equal(tc_renameat(c, 0, "..", 0, "x"), -EINVAL);
	assert_int_equal(tc_renameat(c, 0, "x", 0, "../outside/secret"), -EINVAL);
	assert_int_equal(tc_unlinkat(c, 0, "../outside/secret", 0), -EINVAL);
	assert_int_equal(tc_unlinkat(c, 0, "..", P9_AT_REMOVEDIR), -EINVAL);
	assert_int_equal(tc_walk(c, 0, 1, ""), 0);
	assert_int_equal(tc_lcreate(c, 1, "../outside/secret", O_CREAT_L | O_RDWR_L, 0644, 0),
			 -EINVAL);
	assert_int_equal(tc_rename(c, 1, 0, "../x"), -EINVAL);
	/* a NUL inside a name: the host would see a shorter name */
	tc_begin(c, P9_TMKDIR);
	p9_wire_put_u32(&c->b, 0);
	p9_wire_put_str(&c->b, nul_name, 8);
	p9_wire_put_u32(&c->b, 0755);
	p9_wire_put_u32(&c->b, 0);
	assert_int_equal(tc_rpc(c), -EINVAL);
	tc_begin(c, P9_TXATTRWALK);
	p9_wire_put_u32(&c->b, 0);
	p9_wire_put_u32(&c->b, 5);
	p9_wire_put_str(&c->b, "user.a\0b", 8);
	assert_int_equal(tc_rpc(c), -EINVAL);
	assert_int_equal(access(c->share, F_OK), 0);
	assert_outside_untouched(f);
}

/* ---- symlinks planted by the host ---- */

static void plant_links(struct tc *c)
{
	tc_sh("ln -s %s/secret %s/abs && ln -s ../outside/secret %s/rel && "
	      "ln -s ../outside %s/dirlink && ln -s %s %s/dirabs",
	      c->outside, c->share, c->share, c->share, c->outside, c->share);
}

static void test_host_symlinks_never_followed(void **state)
{
	struct fx *f = *state;
	struct tc *c = &f->c;
	static const char *const links[] = {"abs", "rel", "dirlink", "dirabs"};
	struct p9_str through[] = {S("dirlink"), S("secret")};
	char target[256];
	struct tc_attr a;
	unsigned int nq;
	uint64_t size;

	plant_links(c);
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		assert_int_equal(tc_walk(c, 0, 1, links[i]), 0);
		assert_int_equal(tc_getattr(c, 1, &a), 0);
		assert_true(S_ISLNK(a.mode)); /* the link itself */
		assert_int_equal(tc_lopen(c, 1, 0), -ELOOP);
		assert_int_equal(tc_lopen(c, 1, O_RDWR_L | O_TRUNC_L), -ELOOP);
		assert_int_equal(tc_setattr(c, 1, P9_SETATTR_SIZE, 0, 0, 0, 0), -EINVAL);
		assert_int_equal(tc_setattr(c, 1, P9_SETATTR_MODE, 0777, 0, 0, 0), -EOPNOTSUPP);
		assert_int_equal(tc_xattrwalk(c, 1, 2, "user.x", &size), -EOPNOTSUPP);
		assert_int_equal(tc_walk(c, 1, 2, ""), 0);
		assert_int_equal(tc_xattrcreate(c, 2, "user.x", 1, 0), -EOPNOTSUPP);
		assert_int_equal(tc_clunk(c, 2), 0);
		/* a directory fid that is a link: no creation inside */
		assert_int_equal(tc_mkdir(c, 1, "x", 0755, 0), -ENOTDIR);
		assert_int_equal(tc_symlink(c, 1, "x", "y"), -ENOTDIR);
		assert_int_equal(tc_mknod(c, 1, "x", S_IFIFO | 0600, 0, 0), -ENOTDIR);
		assert_int_equal(tc_unlinkat(c, 1, "secret", 0), -ENOTDIR);
		assert_int_equal(tc_renameat(c, 1, "secret", 0, "stolen"), -ENOTDIR);
		assert_int_equal(tc_lcreate(c, 1, "x", O_CREAT_L | O_RDWR_L, 0644, 0), -ENOTDIR);
		assert_int_equal(tc_readlink(c, 1, target, sizeof(target)), 0); /* data only */
		assert_int_equal(tc_clunk(c, 1), 0);
	}
	/* walking through a link to a directory stops at the link */
	assert_int_equal(tc_walk_raw(c, 0, 3, 2, through, NULL, &nq), 0);
	assert_int_equal(nq, 1);
	assert_int_equal(tc_clunk(c, 3), -EBADF);
	/* creating over a link opens nothing */
	assert_int_equal(tc_walk(c, 0, 4, ""), 0);
	assert_int_equal(tc_lcreate(c, 4, "abs", O_CREAT_L | O_RDWR_L | O_TRUNC_L, 0644, 0),
			 -EEXIST);
	assert_int_equal(tc_lcreate(c, 4, "rel", O_CREAT_L | O_RDWR_L, 0644, 0), -EEXIST);
	/* a hard link of a link fid links the link, not its target */
	assert_int_equal(tc_walk(c, 0, 5, "abs"), 0);
	assert_int_equal(tc_link(c, 0, 5, "abs2"), 0);
	assert_int_equal(tc_walk(c, 0, 6, "abs2"), 0);
	assert_int_equal(tc_getattr(c, 6, &a), 0);
	assert_true(S_ISLNK(a.mode));
	assert_int_equal(tc_renameat(c, 0, "abs", 0, "moved"), 0); /* renames the link */
	assert_int_equal(tc_unlinkat(c, 0, "moved", 0), 0);
	assert_outside_untouched(f);
	/* The detector works: a host process that follows the link is seen. */
	close(open(c->share, O_RDONLY)); /* the share itself: not watched */
	assert_true(read(f->ino, target, sizeof(target)) == -1);
	tc_sh("cat %s/rel > /dev/null", c->share);
	assert_true(read(f->ino, target, sizeof(target)) > 0);
}

/* ---- a racing host process swapping a directory for a symlink ---- */

struct racer {
	const struct tc *c;
	atomic_bool stop;
	unsigned long swaps;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	char d[128], s[128];

	snprintf(d, sizeof(d), "%s/d", r->c->share);
	snprintf(s, sizeof(s), "%s/swap", r->c->share);
	while (!atomic_load(&r->stop)) {
		if (renameat2(AT_FDCWD, d, AT_FDCWD, s, RENAME_EXCHANGE) == 0)
			r->swaps++;
	}
	return NULL;
}

/* One round of everything a guest might do inside d/; returns successes. */
static unsigned int attack_round(struct tc *c)
{
	unsigned int ok = 0;
	uint8_t buf[64];
	uint32_t got;

	if (tc_walk(c, 0, 1, "d/secret") == 0) {
		ok += tc_lopen(c, 1, O_RDWR_L) == 0;
		ok += tc_write(c, 1, 0, "pwned", 5, &got) == 0;
		ok += tc_read(c, 1, 0, sizeof(buf), buf, &got) == 0;
		(void)tc_clunk(c, 1);
	}
	if (tc_walk(c, 0, 2, "d") == 0) {
		ok += tc_mkdir(c, 2, "newdir", 0755, 0) == 0;
		ok += tc_unlinkat(c, 2, "newdir", P9_AT_REMOVEDIR) == 0;
		ok += tc_symlink(c, 2, "sl", "x") == 0;
		ok += tc_unlinkat(c, 2, "sl", 0) == 0;
		ok += tc_renameat(c, 2, "secret", 2, "secret2") == 0;
		ok += tc_renameat(c, 2, "secret2", 2, "secret") == 0;
		if (tc_walk(c, 2, 3, "secret") == 0) {
			ok += tc_setattr(c, 3, P9_SETATTR_SIZE, 0, 0, 0, 1) == 0;
			ok += tc_setxattr(c, 3, "user.p", "w", 1, 0) == 0;
			(void)tc_clunk(c, 3);
		}
		if (tc_lcreate(c, 2, "made", O_CREAT_L | O_RDWR_L, 0644, 0) == 0)
			ok += tc_unlinkat(c, 0, "d", P9_AT_REMOVEDIR) != 0;
		(void)tc_clunk(c, 2);
	}
	return ok;
}

static void test_racing_symlink_swap(void **state)
{
	struct fx *f = *state;
	struct tc *c = &f->c;
	struct racer r = {.c = c};
	unsigned int ok = 0, rounds = 0;
	struct timespec t0, t;
	pthread_t th;

	tc_sh("mkdir %s/d && echo inside > %s/d/secret && ln -s %s %s/swap", c->share, c->share,
	      c->outside, c->share);
	assert_int_equal(pthread_create(&th, NULL, race, &r), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		ok += attack_round(c);
		rounds++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < 2 || rounds < 200);
	atomic_store(&r.stop, true);
	pthread_join(th, NULL);
	/* The race was real: swaps happened and the guest got work done inside. */
	assert_true(r.swaps > 100);
	assert_true(ok > 0);
	assert_outside_untouched(f);
	tc_sh("test $(ls -A %s | wc -l) -eq 1", c->outside); /* nothing new out there */
}

/* ---- a directory moved out of the share ---- */

static void test_dotdot_from_moved_directory(void **state)
{
	struct fx *f = *state;
	struct tc *c = &f->c;
	struct p9_str up[] = {S("..")};
	unsigned int nq;

	assert_int_equal(tc_mkdir(c, 0, "sub", 0755, 0), 0);
	assert_int_equal(tc_walk(c, 0, 1, "sub"), 0);
	tc_sh("mv %s/sub %s/sub", c->share, c->outside);
	assert_int_equal(tc_walk_raw(c, 1, 2, 1, up, NULL, &nq), -EACCES);
	assert_int_equal(tc_clunk(c, 1), 0);
}

/* ---- special files ---- */

static void test_device_nodes_and_fifos(void **state)
{
	struct fx *f = *state;
	struct tc *c = &f->c;
	struct tc_attr a;

	if (geteuid() != 0)
		skip();
	tc_sh("mknod %s/zero c 1 5 && mknod %s/disk b 7 0 && mkfifo %s/fifo", c->share, c->share,
	      c->share);
	assert_int_equal(tc_walk(c, 0, 1, "zero"), 0);
	assert_int_equal(tc_getattr(c, 1, &a), 0);
	assert_true(S_ISCHR(a.mode));
	assert_int_equal(tc_lopen(c, 1, 0), -ENXIO); /* never opened on the host */
	assert_int_equal(tc_walk(c, 0, 2, "disk"), 0);
	assert_int_equal(tc_lopen(c, 2, O_RDWR_L), -ENXIO);
	assert_int_equal(tc_walk(c, 0, 3, "fifo"), 0);
	assert_int_equal(tc_lopen(c, 3, 0), -ENXIO); /* and no hang */
	assert_int_equal(tc_walk(c, 0, 4, ""), 0);
	assert_int_equal(tc_lcreate(c, 4, "fifo", O_CREAT_L | O_RDWR_L, 0644, 0), -EEXIST);
	assert_int_equal(tc_lcreate(c, 4, "zero", O_CREAT_L | O_RDWR_L, 0644, 0), -EEXIST);
	/* a guest cannot mint device nodes on the host */
	assert_int_equal(tc_mknod(c, 0, "sda", S_IFBLK | 0666, 8, 0), -EPERM);
	assert_int_equal(tc_mknod(c, 0, "mem", S_IFCHR | 0666, 1, 1), -EPERM);
	assert_int_equal(tc_walk(c, 0, 5, "sda"), -ENOENT);
	assert_int_equal(tc_clunk(c, 1), 0);
	assert_int_equal(tc_clunk(c, 2), 0);
	assert_int_equal(tc_clunk(c, 3), 0);
}

/* ---- the models' own names ---- */

static void test_mapped_xattr_hidden(void **state)
{
	struct fx *f = *state;
	struct tc *c = &f->c;
	char buf[512], hp[256];
	struct stat st;
	uint64_t size;
	uint32_t len;

	assert_int_equal(tc_walk(c, 0, 1, ""), 0);
	assert_int_equal(tc_lcreate(c, 1, "f", O_CREAT_L | O_RDWR_L, 06777, 0), 0);
	assert_int_equal(tc_xattrwalk(c, 1, 2, "user.virtfs.mode", &size), -ENODATA);
	assert_int_equal(tc_setxattr(c, 1, "user.virtfs.uid", "\0\0\0\0", 4, 0), -EACCES);
	assert_int_equal(tc_setxattr(c, 1, "user.virtfs.mode", NULL, 0, XATTR_REPLACE), -EACCES);
	assert_int_equal(tc_setxattr(c, 1, "trusted.x", "y", 1, 0), -EOPNOTSUPP);
	assert_int_equal(tc_setxattr(c, 1, "security.capability", "y", 1, 0), -EOPNOTSUPP);
	assert_int_equal(tc_setxattr(c, 1, "user.mine", "y", 1, 0), 0);
	assert_int_equal(tc_getxattr(c, 1, "", buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof("user.mine"));
	assert_string_equal(buf, "user.mine");
	/* the guest's set-id mode is metadata: the host file stays plain */
	snprintf(hp, sizeof(hp), "%s/f", c->share);
	assert_int_equal(stat(hp, &st), 0);
	assert_int_equal(st.st_mode & 07777, SHARED_DIR_FMODE_DEFAULT);
	assert_int_equal(st.st_uid, geteuid());
	assert_true(getxattr(hp, "user.virtfs.mode", buf, sizeof(buf)) == 4);
	assert_int_equal(tc_clunk(c, 1), 0);
}

static void test_mapped_file_hidden(void **state)
{
	struct fx *f = *state;
	struct tc *c = &f->c;
	static uint8_t buf[65536];
	struct tc_attr a;
	uint32_t got = 0;

	assert_int_equal(tc_mkdir(c, 0, "d", 0700, 0), 0); /* creates d's metadata */
	assert_int_equal(tc_setattr(c, 0, P9_SETATTR_MODE, 0711, 0, 0, 0), 0); /* the root's */
	assert_int_equal(access(c->share, F_OK), 0);
	tc_sh("test -f %s/.virtfs_metadata/d && test -f %s/.virtfs_metadata_root", c->share,
	      c->share);
	assert_int_equal(tc_getattr(c, 0, &a), 0);
	assert_int_equal(a.mode, S_IFDIR | 0711);
	assert_int_equal(tc_walk(c, 0, 1, ".virtfs_metadata"), -ENOENT);
	assert_int_equal(tc_walk(c, 0, 1, ".virtfs_metadata_root"), -ENOENT);
	assert_int_equal(tc_mkdir(c, 0, ".virtfs_metadata", 0700, 0), -EINVAL);
	assert_int_equal(tc_unlinkat(c, 0, ".virtfs_metadata", P9_AT_REMOVEDIR), -ENOENT);
	assert_int_equal(tc_renameat(c, 0, "d", 0, ".virtfs_metadata_root"), -EINVAL);
	assert_int_equal(tc_walk(c, 0, 2, ""), 0);
	assert_int_equal(tc_lopen(c, 2, 0), 0);
	assert_int_equal(tc_read_type(c, P9_TREADDIR, 2, 0, 8192, buf, sizeof(buf), &got), 0);
	assert_null(memmem(buf, got, ".virtfs", 7));
	assert_non_null(memmem(buf, got, "d", 1));
	/* a directory holding only metadata can be removed */
	assert_int_equal(tc_walk(c, 0, 3, "d"), 0);
	assert_int_equal(tc_mkdir(c, 3, "inner", 0700, 0), 0);
	assert_int_equal(tc_unlinkat(c, 3, "inner", P9_AT_REMOVEDIR), 0);
	assert_int_equal(tc_unlinkat(c, 0, "d", P9_AT_REMOVEDIR), 0);
	assert_int_equal(tc_clunk(c, 2), 0);
	assert_int_equal(tc_clunk(c, 3), 0);
}

static void test_passthrough_xattr_namespaces(void **state)
{
	struct fx *f = *state;
	struct tc *c = &f->c;

	assert_int_equal(tc_walk(c, 0, 1, ""), 0);
	assert_int_equal(tc_lcreate(c, 1, "f", O_CREAT_L | O_RDWR_L, 0644, 0), 0);
	assert_int_equal(tc_setxattr(c, 1, "system.foo", "y", 1, 0), -EOPNOTSUPP);
	assert_int_equal(tc_setxattr(c, 1, "bogus", "y", 1, 0), -EOPNOTSUPP);
	assert_int_equal(tc_setxattr(c, 1, "user.ok", "y", 1, 0), 0);
	assert_int_equal(tc_clunk(c, 1), 0);
}

static void test_xattr_fid_misuse(void **state)
{
	struct fx *f = *state;
	struct tc *c = &f->c;
	uint64_t size;
	uint32_t got;
	uint8_t buf[16];

	tc_sh("echo x > %s/f && setfattr -n user.k -v v %s/f 2>/dev/null || true", c->share,
	      c->share);
	assert_int_equal(tc_walk(c, 0, 1, "f"), 0);
	assert_int_equal(tc_xattrwalk(c, 1, 2, "", &size), 0);
	assert_int_equal(tc_walk(c, 2, 3, ""), -EINVAL);
	assert_int_equal(tc_lopen(c, 2, 0), -EINVAL);
	assert_int_equal(tc_write(c, 2, 0, "x", 1, NULL), -EBADF);
	assert_int_equal(tc_read(c, 2, 1u << 20, 10, buf, &got), 0);
	assert_int_equal(got, 0);
	assert_int_equal(tc_walk(c, 1, 4, ""), 0);
	assert_int_equal(tc_xattrcreate(c, 4, "user.w", 4, 0), 0);
	assert_int_equal(tc_read(c, 4, 0, 4, buf, &got), -EBADF);
	assert_int_equal(tc_mkdir(c, 4, "x", 0755, 0), -ENOTDIR);
	assert_int_equal(tc_clunk(c, 4), -EINVAL); /* nothing written */
	assert_int_equal(tc_clunk(c, 2), 0);
	assert_int_equal(tc_clunk(c, 1), 0);
}

#define PASS(t) cmocka_unit_test_setup_teardown(t, setup_pass, teardown)
#define XATTR(t) cmocka_unit_test_setup_teardown(t, setup_xattr, teardown)
#define MFILE(t) cmocka_unit_test_setup_teardown(t, setup_mfile, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    PASS(test_dotdot_stays_at_root),
	    MFILE(test_dotdot_stays_at_root),
	    PASS(test_bad_names),
	    XATTR(test_bad_names),
	    PASS(test_host_symlinks_never_followed),
	    PASS(test_racing_symlink_swap),
	    XATTR(test_racing_symlink_swap),
	    PASS(test_dotdot_from_moved_directory),
	    PASS(test_device_nodes_and_fifos),
	    XATTR(test_mapped_xattr_hidden),
	    MFILE(test_mapped_file_hidden),
	    PASS(test_passthrough_xattr_namespaces),
	    PASS(test_xattr_fid_misuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
