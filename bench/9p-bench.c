/*
 * 9p-bench: the guest side of the 9p benchmark (bench/9p.py). Built static
 * on the host and run by the guest from the share it measures:
 *
 *   9p-bench DIR [MIB] [FILES]
 *
 * 1. sequential write of a MIB-MiB file (default 1024) in 1 MiB writes,
 *    then close; 2. sequential read of it in 1 MiB reads; 3. create, stat
 *    and unlink of FILES small files (default 10000) in DIR/meta, each
 *    phase timed apart. Times are the guest's CLOCK_MONOTONIC. Prints
 *    "BENCH key value" lines (MiB/s and operations/s) and "BENCH done".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1u << 20)

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
	printf("BENCH error %s: %s\n", what, strerror(errno));
	exit(1);
}

static void throughput(const char *dir, unsigned long mib, char *buf)
{
	char path[512];
	double t0, t1;
	int fd;

	snprintf(path, sizeof(path), "%s/big", dir);
	for (unsigned int i = 0; i < CHUNK; i++)
		buf[i] = (char)(i * 7 + 1);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("create big");
	t0 = now();
	for (unsigned long i = 0; i < mib; i++) {
		if (write(fd, buf, CHUNK) != CHUNK)
			die("write");
	}
	if (close(fd) < 0)
		die("close");
	t1 = now();
	printf("BENCH write_mibps %.1f\n", (double)mib / (t1 - t0));
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die("open big");
	t0 = now();
	for (unsigned long i = 0; i < mib; i++) {
		if (read(fd, buf, CHUNK) != CHUNK)
			die("read");
	}
	close(fd);
	t1 = now();
	printf("BENCH read_mibps %.1f\n", (double)mib / (t1 - t0));
	if (unlink(path) < 0)
		die("unlink big");
}

static void metadata(const char *dir, unsigned int files)
{
	char path[512];
	struct stat st;
	double t0;
	int fd;

	snprintf(path, sizeof(path), "%s/meta", dir);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die("mkdir meta");
	t0 = now();
	for (unsigned int i = 0; i < files; i++) {
		snprintf(path, sizeof(path), "%s/meta/f%05u", dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0 || close(fd) < 0)
			die("create");
	}
	printf("BENCH create_ops %.1f\n", files / (now() - t0));
	t0 = now();
	for (unsigned int i = 0; i < files; i++) {
		snprintf(path, sizeof(path), "%s/meta/f%05u", dir, i);
		if (stat(path, &st) < 0)
			die("stat");
	}
	printf("BENCH stat_ops %.1f\n", files / (now() - t0));
	t0 = now();
	for (unsigned int i = 0; i < files; i++) {
		snprintf(path, sizeof(path), "%s/meta/f%05u", dir, i);
		if (unlink(path) < 0)
			die("unlink");
	}
	printf("BENCH unlink_ops %.1f\n", files / (now() - t0));
	snprintf(path, sizeof(path), "%s/meta", dir);
	rmdir(path);
}

int main(int argc, char **argv)
{
	unsigned long mib = argc > 2 ? strtoul(argv[2], NULL, 10) : 1024;
	unsigned int files = argc > 3 ? (unsigned int)strtoul(argv[3], NULL, 10) : 10000;
	char *buf = malloc(CHUNK);

	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 2 || !buf) {
		fprintf(stderr, "usage: 9p-bench DIR [MIB] [FILES]\n");
		return 2;
	}
	throughput(argv[1], mib, buf);
	metadata(argv[1], files);
	printf("BENCH done\n");
	return 0;
}
