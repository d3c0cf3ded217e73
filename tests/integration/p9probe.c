/*
 * p9probe: the guest side of tests/integration/test_9p.py for what busybox
 * cannot do: mmap, fcntl and flock locks between two processes, xattrs,
 * statfs, fsync. Built static by the test (gcc -static) and run by the
 * guest straight from the 9p share (so executing it is an mmap test too).
 *
 *   p9probe mmap FILE        read-only shared and private mappings agree with read()
 *   p9probe mmap-write FILE  a shared writable mapping reaches the file (cache=mmap)
 *   p9probe locks FILE       fcntl and flock locks conflict between processes
 *   p9probe xattr FILE       user xattrs: set, get, list, remove
 *   p9probe statfs DIR       sizes are real; prints type, bsize and blocks
 *   p9probe fsync FILE       write, fsync, fdatasync
 *   p9probe readdir DIR      getdents64 alone (no stat per entry): prints the
 *                            entries, "." and "..", and how many distinct
 *                            entry-NNNNN names were seen
 *
 * Prints "<command> ok" on success, else one line "<command> FAIL: why"
 * and exits 1.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

static const char *cmd;

static void fail(const char *fmt, ...)
{
	va_list ap;

	printf("%s FAIL: ", cmd);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" (errno %d %s)\n", errno, strerror(errno));
	exit(1);
}

static int do_mmap(const char *path)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	char *buf, *shared, *priv;

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0)
		fail("open/stat %s", path);
	buf = malloc((size_t)st.st_size);
	if (!buf || pread(fd, buf, (size_t)st.st_size, 0) != st.st_size)
		fail("read");
	shared = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	priv = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (shared == MAP_FAILED || priv == MAP_FAILED)
		fail("mmap");
	if (memcmp(buf, shared, (size_t)st.st_size) || memcmp(buf, priv, (size_t)st.st_size))
		fail("mapped bytes differ from read()");
	priv[0] ^= 0xff; /* a private copy: the file keeps its byte */
	if (pread(fd, buf, 1, 0) != 1 || buf[0] == priv[0])
		fail("a private mapping wrote through");
	return 0;
}

static int do_mmap_write(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char *m, back[8192];

	if (fd < 0 || ftruncate(fd, 8192) < 0)
		fail("create %s", path);
	m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		fail("mmap shared writable");
	for (int i = 0; i < 8192; i++)
		m[i] = (char)('a' + i % 26);
	if (msync(m, 8192, MS_SYNC) < 0 || munmap(m, 8192) < 0)
		fail("msync");
	close(fd);
	fd = open(path, O_RDONLY);
	if (fd < 0 || read(fd, back, sizeof(back)) != 8192)
		fail("read back");
	for (int i = 0; i < 8192; i++) {
		if (back[i] != (char)('a' + i % 26))
			fail("byte %d did not reach the file", i);
	}
	return 0;
}

/* In a child: the parent's fcntl lock on [0, 100) must keep it out. */
static int child_fcntl(const char *path)
{
	int fd = open(path, O_RDWR);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100};

	if (fd < 0)
		return 10;
	if (fcntl(fd, F_SETLK, &fl) == 0 || (errno != EAGAIN && errno != EACCES))
		return 11;
	fl.l_type = F_WRLCK;
	if (fcntl(fd, F_GETLK, &fl) < 0 || fl.l_type != F_WRLCK || fl.l_pid != getppid())
		return 12;
	fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 200, .l_len = 10};
	if (fcntl(fd, F_SETLK, &fl) < 0)
		return 13; /* a range nobody holds */
	return 0;
}

/* In a child: the parent's flock must keep it out. */
static int child_flock(const char *path)
{
	int fd = open(path, O_RDWR);

	if (fd < 0)
		return 20;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK)
		return 21;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0 || errno != EWOULDBLOCK)
		return 22;
	return 0;
}

/* In a child: everything is free again. */
static int child_free(const char *path)
{
	int fd = open(path, O_RDWR);
	struct flock w = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 100};

	return fd >= 0 && fcntl(fd, F_SETLK, &w) == 0 ? 0 : 30;
}

static void in_child(int (*fn)(const char *), const char *path, const char *what)
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(path));
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		fail("%s (child status %d)", what, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/*
 * fcntl and flock apart: the Linux 9p client turns flock into a POSIX lock
 * on the whole file, so mixing both on one file in one process conflicts.
 */
static int do_locks(const char *path)
{
	char other[512];
	int fd = open(path, O_RDWR | O_CREAT, 0644), fd2;
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100};

	if (fd < 0 || fcntl(fd, F_SETLK, &fl) < 0)
		fail("fcntl write lock");
	in_child(child_fcntl, path, "fcntl lock did not keep the other process out");
	fl.l_type = F_UNLCK;
	if (fcntl(fd, F_SETLK, &fl) < 0)
		fail("fcntl unlock");
	in_child(child_free, path, "fcntl lock not released");
	snprintf(other, sizeof(other), "%s.flock", path);
	fd2 = open(other, O_RDWR | O_CREAT, 0644);
	if (fd2 < 0 || flock(fd2, LOCK_EX) < 0)
		fail("flock");
	in_child(child_flock, other, "flock did not keep the other process out");
	if (flock(fd2, LOCK_UN) < 0)
		fail("flock unlock");
	return 0;
}

static int do_xattr(const char *path)
{
	char buf[256];
	ssize_t n;

	if (setxattr(path, "user.cove", "value-1", 7, 0) < 0)
		fail("setxattr");
	n = getxattr(path, "user.cove", buf, sizeof(buf));
	if (n != 7 || memcmp(buf, "value-1", 7))
		fail("getxattr gave %zd bytes", n);
	n = listxattr(path, buf, sizeof(buf));
	if (n < 0 || !memmem(buf, (size_t)n, "user.cove", 10))
		fail("listxattr");
	if (memmem(buf, (size_t)n, "virtfs", 6))
		fail("listxattr shows the server's own names");
	if (setxattr(path, "user.cove", "v", 1, XATTR_CREATE) == 0 || errno != EEXIST)
		fail("XATTR_CREATE over an existing name");
	if (removexattr(path, "user.cove") < 0)
		fail("removexattr");
	if (getxattr(path, "user.cove", buf, sizeof(buf)) >= 0 || errno != ENODATA)
		fail("removed xattr still there");
	if (setxattr(path, "user.keep", "kept", 4, 0) < 0)
		fail("setxattr user.keep");
	return 0;
}

static int do_statfs(const char *path)
{
	struct statfs sf;

	/* 9p passes the host file system's f_type through; the sizes must be real. */
	if (statfs(path, &sf) < 0)
		fail("statfs");
	if (sf.f_bsize <= 0 || sf.f_blocks == 0 || sf.f_namelen == 0)
		fail("bsize %ld blocks %llu", (long)sf.f_bsize, (unsigned long long)sf.f_blocks);
	printf("statfs type=0x%lx bsize=%ld blocks=%llu\n", (unsigned long)sf.f_type,
	       (long)sf.f_bsize, (unsigned long long)sf.f_blocks);
	return 0;
}

static int do_fsync(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, "durable\n", 8) != 8)
		fail("write");
	if (fsync(fd) < 0 || fdatasync(fd) < 0)
		fail("fsync");
	return close(fd);
}

/*
 * Only getdents64, as a 9p readdir: `ls` would also stat every entry
 * (three more requests each), which measures the lookup path instead.
 */
static int do_readdir(const char *path)
{
	static unsigned char seen[100000];
	static char buf[65536];
	unsigned long entries = 0, dots = 0, distinct = 0;
	int fd = open(path, O_RDONLY | O_DIRECTORY);
	long n;

	if (fd < 0)
		fail("open");
	while ((n = getdents64(fd, buf, sizeof(buf))) > 0) {
		for (long pos = 0; pos < n;) {
			const struct dirent64 *d = (const struct dirent64 *)(buf + pos);
			unsigned int i;
			char end;

			pos += d->d_reclen;
			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, "..")) {
				dots++;
				continue;
			}
			entries++;
			if (sscanf(d->d_name, "entry-%5u%c", &i, &end) == 1 && i < sizeof(seen) &&
			    !seen[i]++)
				distinct++;
		}
	}
	if (n < 0)
		fail("getdents64");
	printf("readdir %lu %lu %lu\n", entries, dots, distinct);
	return close(fd);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(const char *);
	} cmds[] = {{"mmap", do_mmap},	 {"mmap-write", do_mmap_write}, {"locks", do_locks},
		    {"xattr", do_xattr}, {"statfs", do_statfs},		{"fsync", do_fsync},
		    {"readdir", do_readdir}};

	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc != 3) {
		fprintf(stderr, "usage: p9probe mmap|mmap-write|locks|xattr|statfs|fsync|readdir PATH\n");
		return 2;
	}
	cmd = argv[1];
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(cmd, cmds[i].name)) {
			if (cmds[i].fn(argv[2]))
				fail("check");
			printf("%s ok\n", cmd);
			return 0;
		}
	}
	fprintf(stderr, "p9probe: unknown command %s\n", cmd);
	return 2;
}
