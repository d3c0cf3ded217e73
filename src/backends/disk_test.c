/*
 * Unit tests for the disk backend: opening (errors, flags, locks) and the
 * request engine, each engine test run twice: io_uring, then the
 * synchronous fallback (COVE_DISK_SYNC=1). Completions are collected the
 * way the VMM gets them: through the eventfd on a real event loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backends/disk.h"

#define IMG_SIZE (1024 * 1024)

struct fixture {
	char dir[64];
	char img[96];
	bool sync;
	struct event_loop loop;
	struct disk disk;
	bool opened;
	unsigned int ready_calls;
	unsigned int done;
	struct disk_io *last;
};

static struct fixture *fx_new(bool sync)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	assert_non_null(f);
	f->sync = sync;
	strcpy(f->dir, "/tmp/cove-disk-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->img, sizeof(f->img), "%s/disk.img", f->dir);
	fd = open(f->img, O_RDWR | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, IMG_SIZE), 0);
	close(fd);
	assert_int_equal(event_loop_init(&f->loop), 0);
	if (sync)
		setenv("COVE_DISK_SYNC", "1", 1);
	else
		unsetenv("COVE_DISK_SYNC");
	return f;
}

static int setup_uring(void **state)
{
	*state = fx_new(false);
	return 0;
}

static int setup_sync(void **state)
{
	*state = fx_new(true);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	if (f->opened)
		disk_close(&f->disk);
	event_loop_destroy(&f->loop);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	unsetenv("COVE_DISK_SYNC");
	free(f);
	return 0;
}

static int open_disk(struct fixture *f, const char *path, bool ro, bool direct, bool lock,
		     struct disk *d, char *err, size_t errlen)
{
	struct disk_options opt = {.read_only = ro, .direct = direct, .lock = lock};

	err[0] = '\0';
	return disk_open(d, path ? path : f->img, &opt, err, errlen);
}

static void on_ready(void *opaque)
{
	struct fixture *f = opaque;

	f->ready_calls++;
}

static void on_done(struct disk_io *io, void *opaque)
{
	struct fixture *f = opaque;

	f->done++;
	f->last = io;
}

/* Opens and starts the fixture's image. */
static void start(struct fixture *f, bool ro, bool direct)
{
	char err[256];

	assert_int_equal(open_disk(f, NULL, ro, direct, true, &f->disk, err, sizeof(err)), 0);
	f->opened = true;
	assert_int_equal(disk_start(&f->disk, &f->loop, 64, on_ready, f, err, sizeof(err)), 0);
	/* io_uring works on this host: the default engine must be it. */
	assert_int_equal(disk_uses_uring(&f->disk), !f->sync);
}

/*
 * Serves the loop (as event_loop_run does) until `want` requests are done,
 * reaping whenever the disk says completions are ready.
 */
static void wait_done(struct fixture *f, unsigned int want)
{
	for (int rounds = 0; f->done < want && rounds < 500; rounds++) {
		struct epoll_event ev[8];
		unsigned int before = f->ready_calls;
		int n = epoll_wait(f->loop.epfd, ev, 8, 10);

		for (int i = 0; i < n; i++) {
			struct event_handler *h = ev[i].data.ptr;

			if (h && h->in_use)
				h->fn(h->opaque, ev[i].events);
		}
		if (f->ready_calls != before)
			disk_reap(&f->disk, on_done, f);
	}
	assert_int_equal(f->done, want);
}

static int run_io(struct fixture *f, struct disk_io *io)
{
	unsigned int want = f->done + 1;

	disk_submit(&f->disk, io);
	disk_kick(&f->disk);
	wait_done(f, want);
	assert_ptr_equal(f->last, io);
	return io->result;
}

static void pattern(uint8_t *buf, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

static void file_read(struct fixture *f, uint64_t off, void *buf, size_t len)
{
	int fd = open(f->img, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static bool all_zero(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i])
			return false;
	}
	return true;
}

/* ---- opening ---- */

static void test_open_ok(void **state)
{
	struct fixture *f = *state;
	char err[256];
	int fl;

	assert_int_equal(open_disk(f, NULL, false, false, true, &f->disk, err, sizeof(err)), 0);
	f->opened = true;
	assert_int_equal(f->disk.size, IMG_SIZE);
	assert_false(f->disk.read_only);
	assert_false(f->disk.block_device);
	assert_true(fcntl(f->disk.fd, F_GETFD) & FD_CLOEXEC);
	fl = fcntl(f->disk.fd, F_GETFL);
	assert_int_equal(fl & O_ACCMODE, O_RDWR);
	assert_false(fl & O_DIRECT);
	disk_close(&f->disk);

	assert_int_equal(open_disk(f, NULL, true, true, true, &f->disk, err, sizeof(err)), 0);
	fl = fcntl(f->disk.fd, F_GETFL);
	assert_int_equal(fl & O_ACCMODE, O_RDONLY);
	assert_true(fl & O_DIRECT);
	assert_true(f->disk.read_only && f->disk.direct);
}

static void test_open_errors(void **state)
{
	struct fixture *f = *state;
	struct disk d;
	char path[160];
	char err[256];

	snprintf(path, sizeof(path), "%s/missing.img", f->dir);
	assert_int_equal(open_disk(f, path, false, false, true, &d, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "No such file or directory"));

	assert_int_equal(open_disk(f, f->dir, false, false, true, &d, err, sizeof(err)), -EISDIR);
	assert_non_null(strstr(err, "is a directory"));
	assert_int_equal(open_disk(f, f->dir, true, false, true, &d, err, sizeof(err)), -EISDIR);
	assert_non_null(strstr(err, "is a directory"));

	assert_int_equal(open_disk(f, "/dev/null", true, false, false, &d, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "/dev/null is not a regular file or a block device"));
}

/* As an unprivileged user: a file without write permission needs ,ro. */
static void test_open_read_only_file(void **state)
{
	struct fixture *f = *state;
	struct passwd *nobody = getpwnam("nobody");
	pid_t pid;
	int status;

	assert_int_equal(chmod(f->img, 0444), 0);
	assert_int_equal(chmod(f->dir, 0755), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct disk d;
		char err[256];
		int ret;

		if (geteuid() == 0 && (!nobody || setgid(nobody->pw_gid) || setuid(nobody->pw_uid)))
			_exit(10);
		ret = open_disk(f, NULL, false, false, true, &d, err, sizeof(err));
		if (ret != -EACCES)
			_exit(11);
		if (!strstr(err, "disk.img is read-only: add ,ro to --block"))
			_exit(12);
		if (open_disk(f, NULL, true, false, true, &d, err, sizeof(err)))
			_exit(13);
		disk_close(&d);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_open_locked(void **state)
{
	struct fixture *f = *state;
	struct disk d1, d2;
	char err[256];
	int fd;

	/* Writable: exclusive. A second opener is refused, ro or not. */
	assert_int_equal(open_disk(f, NULL, false, false, true, &d1, err, sizeof(err)), 0);
	assert_int_equal(open_disk(f, NULL, false, false, true, &d2, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "disk.img is in use by another process (locked): "));
	assert_int_equal(open_disk(f, NULL, true, false, true, &d2, err, sizeof(err)), -EBUSY);
	/* lock=false skips the lock entirely. */
	assert_int_equal(open_disk(f, NULL, false, false, false, &d2, err, sizeof(err)), 0);
	disk_close(&d2);
	disk_close(&d1);

	/* Read-only: shared with other readers, refused to a writer. */
	assert_int_equal(open_disk(f, NULL, true, false, true, &d1, err, sizeof(err)), 0);
	assert_int_equal(open_disk(f, NULL, true, false, true, &d2, err, sizeof(err)), 0);
	disk_close(&d2);
	assert_int_equal(open_disk(f, NULL, false, false, true, &d2, err, sizeof(err)), -EBUSY);
	disk_close(&d1);

	/* Another process's lock (here: another open file description). */
	fd = open(f->img, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(open_disk(f, NULL, true, false, true, &d1, err, sizeof(err)), -EBUSY);
	close(fd);
	/* Closing released the lock. */
	assert_int_equal(open_disk(f, NULL, false, false, true, &d1, err, sizeof(err)), 0);
	disk_close(&d1);
}

/* ---- requests ---- */

static void test_read_write(void **state)
{
	struct fixture *f = *state;
	static uint8_t a[1536], b[512], back[2048];
	struct iovec wr[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
	struct iovec rd[3] = {{back, 100}, {back + 100, 1000}, {back + 1100, 948}};
	struct disk_io io = {.op = DISK_WRITE, .offset = 4096, .iov = wr, .iovcnt = 2};
	uint8_t file[2048];

	start(f, false, false);
	pattern(a, sizeof(a), 1);
	pattern(b, sizeof(b), 2);
	assert_int_equal(run_io(f, &io), 0);
	file_read(f, 4096, file, sizeof(file));
	assert_memory_equal(file, a, sizeof(a));
	assert_memory_equal(file + sizeof(a), b, sizeof(b));

	io = (struct disk_io){.op = DISK_READ, .offset = 4096, .iov = rd, .iovcnt = 3};
	assert_int_equal(run_io(f, &io), 0);
	assert_memory_equal(back, file, sizeof(file));

	/* The last sector of the image; then flush. */
	io = (struct disk_io){
	    .op = DISK_WRITE, .offset = IMG_SIZE - 512, .iov = wr + 1, .iovcnt = 1};
	wr[1] = (struct iovec){b, sizeof(b)};
	assert_int_equal(run_io(f, &io), 0);
	io = (struct disk_io){.op = DISK_FLUSH};
	assert_int_equal(run_io(f, &io), 0);
	file_read(f, IMG_SIZE - 512, file, 512);
	assert_memory_equal(file, b, 512);
	assert_int_equal(f->disk.inflight, 0);
}

/* Several requests in flight at once, completed in any order. */
static void test_many_in_flight(void **state)
{
	struct fixture *f = *state;
	static uint8_t bufs[32][4096];
	struct iovec iov[32];
	struct disk_io io[32];
	uint8_t file[4096];

	start(f, false, false);
	for (unsigned int i = 0; i < 32; i++) {
		pattern(bufs[i], sizeof(bufs[i]), i);
		iov[i] = (struct iovec){bufs[i], sizeof(bufs[i])};
		io[i] = (struct disk_io){
		    .op = DISK_WRITE, .offset = i * 8192ULL, .iov = &iov[i], .iovcnt = 1};
		disk_submit(&f->disk, &io[i]);
	}
	disk_kick(&f->disk);
	wait_done(f, 32);
	for (unsigned int i = 0; i < 32; i++) {
		assert_int_equal(io[i].result, 0);
		file_read(f, i * 8192ULL, file, sizeof(file));
		pattern(bufs[0], sizeof(bufs[0]), i);
		assert_memory_equal(file, bufs[0], sizeof(file));
	}
}

/* disk_drain waits for everything, without the event loop. */
static void test_drain(void **state)
{
	struct fixture *f = *state;
	static uint8_t buf[16][65536];
	struct iovec iov[16];
	struct disk_io io[16];

	start(f, false, false);
	for (unsigned int i = 0; i < 16; i++) {
		iov[i] = (struct iovec){buf[i], sizeof(buf[i])};
		io[i] = (struct disk_io){.op = i % 2 ? DISK_READ : DISK_WRITE,
					 .offset = i * 65536ULL,
					 .iov = &iov[i],
					 .iovcnt = 1};
		disk_submit(&f->disk, &io[i]);
	}
	/* Not even kicked: drain must submit what is queued. */
	disk_drain(&f->disk, on_done, f);
	assert_int_equal(f->done, 16);
	assert_int_equal(f->disk.inflight, 0);
	for (unsigned int i = 0; i < 16; i++)
		assert_int_equal(io[i].result, 0);
}

static void test_discard_and_write_zeroes(void **state)
{
	struct fixture *f = *state;
	static uint8_t data[65536], back[65536];
	struct iovec iov = {data, sizeof(data)};
	struct disk_io io = {.op = DISK_WRITE, .offset = 65536, .iov = &iov, .iovcnt = 1};
	struct stat st;

	start(f, false, false);
	memset(data, 0xa5, sizeof(data));
	assert_int_equal(run_io(f, &io), 0);

	/* Discard the first 4 KiB: a hole that reads back as zeroes, same size. */
	io = (struct disk_io){.op = DISK_DISCARD, .offset = 65536, .len = 4096};
	assert_int_equal(run_io(f, &io), 0);
	file_read(f, 65536, back, sizeof(back));
	assert_true(all_zero(back, 4096));
	assert_int_equal(back[4096], 0xa5);

	/* Write-zeroes without and with unmap. */
	io = (struct disk_io){.op = DISK_WRITE_ZEROES, .offset = 65536 + 8192, .len = 8192};
	assert_int_equal(run_io(f, &io), 0);
	io = (struct disk_io){
	    .op = DISK_WRITE_ZEROES, .offset = 65536 + 32768, .len = 512, .unmap = true};
	assert_int_equal(run_io(f, &io), 0);
	file_read(f, 65536, back, sizeof(back));
	assert_int_equal(back[8191], 0xa5);
	assert_true(all_zero(back + 8192, 8192));
	assert_int_equal(back[16384], 0xa5);
	assert_true(all_zero(back + 32768, 512));
	assert_int_equal(back[32768 + 512], 0xa5);
	assert_int_equal(stat(f->img, &st), 0);
	assert_int_equal(st.st_size, IMG_SIZE);
}

/* A read past the end of a file that shrank under us fails with EIO. */
static void test_short_read_at_eof(void **state)
{
	struct fixture *f = *state;
	static uint8_t buf[8192];
	struct iovec iov = {buf, sizeof(buf)};
	struct disk_io io = {.op = DISK_READ, .offset = IMG_SIZE - 8192, .iov = &iov, .iovcnt = 1};

	start(f, false, false);
	assert_int_equal(truncate(f->img, IMG_SIZE - 4096), 0);
	assert_int_equal(run_io(f, &io), -EIO);
	iov = (struct iovec){buf, 4096};
	io = (struct disk_io){.op = DISK_READ, .offset = IMG_SIZE - 8192, .iov = &iov, .iovcnt = 1};
	assert_int_equal(run_io(f, &io), 0);
}

/* Writes to a read-only image fail with the kernel's error (EBADF), not silently. */
static void test_read_only_refuses(void **state)
{
	struct fixture *f = *state;
	static uint8_t buf[512];
	struct iovec iov = {buf, sizeof(buf)};
	struct disk_io io = {.op = DISK_WRITE, .offset = 0, .iov = &iov, .iovcnt = 1};
	uint8_t back[512];

	start(f, true, false);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(run_io(f, &io), -EBADF);
	file_read(f, 0, back, sizeof(back));
	assert_true(all_zero(back, sizeof(back)));
}

/* O_DIRECT with aligned and unaligned (bounced) guest buffers. */
static void test_direct(void **state)
{
	struct fixture *f = *state;
	uint8_t *mem = aligned_alloc(4096, 3 * 4096);
	struct iovec iov[2];
	struct disk_io io;
	uint8_t back[4096];

	assert_non_null(mem);
	start(f, false, true);
	/* Aligned. */
	pattern(mem, 4096, 9);
	iov[0] = (struct iovec){mem, 4096};
	io = (struct disk_io){.op = DISK_WRITE, .offset = 0, .iov = iov, .iovcnt = 1};
	assert_int_equal(run_io(f, &io), 0);
	file_read(f, 0, back, sizeof(back));
	assert_memory_equal(back, mem, 4096);
	/* Unaligned buffers (1 byte off) split at an odd place. */
	pattern(mem + 4097, 4096, 10);
	iov[0] = (struct iovec){mem + 4097, 1000};
	iov[1] = (struct iovec){mem + 5097, 3096};
	io = (struct disk_io){.op = DISK_WRITE, .offset = 8192, .iov = iov, .iovcnt = 2};
	assert_int_equal(run_io(f, &io), 0);
	file_read(f, 8192, back, sizeof(back));
	assert_memory_equal(back, mem + 4097, 4096);
	memset(mem, 0, 3 * 4096);
	iov[0] = (struct iovec){mem + 3, 3000};
	iov[1] = (struct iovec){mem + 5000, 1096};
	io = (struct disk_io){.op = DISK_READ, .offset = 8192, .iov = iov, .iovcnt = 2};
	assert_int_equal(run_io(f, &io), 0);
	assert_memory_equal(mem + 3, back, 3000);
	assert_memory_equal(mem + 5000, back + 3000, 1096);
	free(mem);
}

int main(void)
{
#define BOTH(t)                                                                                    \
	cmocka_unit_test_setup_teardown(t, setup_uring, teardown),                                 \
	    cmocka_unit_test_setup_teardown(t, setup_sync, teardown)
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_open_ok, setup_sync, teardown),
	    cmocka_unit_test_setup_teardown(test_open_errors, setup_sync, teardown),
	    cmocka_unit_test_setup_teardown(test_open_read_only_file, setup_sync, teardown),
	    cmocka_unit_test_setup_teardown(test_open_locked, setup_sync, teardown),
	    BOTH(test_read_write),
	    BOTH(test_many_in_flight),
	    BOTH(test_drain),
	    BOTH(test_discard_and_write_zeroes),
	    BOTH(test_short_read_at_eof),
	    BOTH(test_read_only_refuses),
	    BOTH(test_direct),
	};
#undef BOTH

	return cmocka_run_group_tests(tests, NULL, NULL);
}
