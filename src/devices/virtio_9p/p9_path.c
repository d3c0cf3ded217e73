/*
 * Confined path resolution for the 9P server; see p9_path.h for the rules.
 */
#include "devices/virtio_9p/p9_path.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* How deep ".." may climb while proving containment. */
#define MAX_DEPTH 4096

static long sys_openat2(int dirfd, const char *path, struct open_how *how)
{
	return syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
}

static bool probe_openat2(int dirfd)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_BENEATH};
	long fd = sys_openat2(dirfd, ".", &how);

	if (fd >= 0)
		close((int)fd);
	return fd >= 0 || errno != ENOSYS;
}

int p9_path_root_open(struct p9_path_root *root, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int e;

	root->proc_fd = -1;
	root->fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root->fd < 0) {
		e = errno;
		if (e == ENOTDIR)
			snprintf(err, errlen, "%s is not a directory", path);
		else
			snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
		return -e;
	}
	if (fstat(root->fd, &st) < 0)
		goto fail;
	root->dev = st.st_dev;
	root->ino = st.st_ino;
	root->proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root->proc_fd < 0) {
		path = "/proc/self/fd";
		goto fail;
	}
	root->have_openat2 = probe_openat2(root->fd);
	return 0;
fail:
	e = errno;
	snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
	p9_path_root_close(root);
	return -e;
}

void p9_path_root_close(struct p9_path_root *root)
{
	if (root->fd >= 0)
		close(root->fd);
	if (root->proc_fd >= 0)
		close(root->proc_fd);
	root->fd = root->proc_fd = -1;
}

bool p9_path_is_dot(const struct p9_str *s)
{
	return (s->len == 1 && s->s[0] == '.') || (s->len == 2 && s->s[0] == '.' && s->s[1] == '.');
}

int p9_path_name(const struct p9_str *s, char out[NAME_MAX + 1])
{
	if (s->len == 0 || p9_path_is_dot(s))
		return -EINVAL;
	if (s->len > NAME_MAX)
		return -ENAMETOOLONG;
	if (memchr(s->s, '/', s->len) || memchr(s->s, '\0', s->len))
		return -EINVAL;
	memcpy(out, s->s, s->len);
	out[s->len] = '\0';
	return 0;
}

int p9_path_openat(const struct p9_path_root *root, int dirfd, const char *name, int flags,
		   mode_t mode)
{
	struct open_how how = {
	    .flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
	    .mode = (flags & O_CREAT) ? mode : 0,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	/* Callers pass checked single elements; this is the last line of defence. */
	if (!name[0] || strchr(name, '/'))
		return -EINVAL;
	if (root->have_openat2)
		fd = sys_openat2(dirfd, name, &how);
	else
		fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	return fd < 0 ? -errno : (int)fd;
}

int p9_path_dup(int fd)
{
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	return nfd < 0 ? -errno : nfd;
}

void p9_path_proc(int fd, char buf[32])
{
	snprintf(buf, 32, "/proc/self/fd/%d", fd);
}

int p9_path_reopen(const struct p9_path_root *root, int fd, int flags)
{
	char num[16];
	int nfd;

	snprintf(num, sizeof(num), "%d", fd);
	nfd = openat(root->proc_fd, num, flags | O_CLOEXEC);
	return nfd < 0 ? -errno : nfd;
}

bool p9_path_is_root(const struct p9_path_root *root, const struct stat *st)
{
	return st->st_dev == root->dev && st->st_ino == root->ino;
}

static int open_dotdot(int fd, struct stat *st)
{
	int up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (up < 0)
		return -errno;
	if (fstat(up, st) < 0) {
		int e = -errno;

		close(up);
		return e;
	}
	return up;
}

/* True if directory `fd` (stat st) lies at or below the root. */
static bool contained(const struct p9_path_root *root, int fd, const struct stat *st)
{
	struct stat cur_st = *st, up_st;
	int cur = dup(fd);

	for (int depth = 0; cur >= 0 && depth < MAX_DEPTH; depth++) {
		int up;

		if (p9_path_is_root(root, &cur_st)) {
			close(cur);
			return true;
		}
		up = open_dotdot(cur, &up_st);
		close(cur);
		if (up < 0)
			return false;
		if (up_st.st_dev == cur_st.st_dev && up_st.st_ino == cur_st.st_ino) {
			close(up); /* the file system's root: the share was never met */
			return false;
		}
		cur = up;
		cur_st = up_st;
	}
	if (cur >= 0)
		close(cur);
	return false;
}

int p9_path_parent(const struct p9_path_root *root, int fd)
{
	struct stat st;
	int up;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (p9_path_is_root(root, &st))
		return p9_path_dup(root->fd);
	up = open_dotdot(fd, &st);
	if (up < 0)
		return up;
	if (!contained(root, up, &st)) {
		close(up);
		return -EACCES;
	}
	return up;
}
