/*
 * Path resolution for the 9P server, confined to the shared directory.
 *
 * The rule: a host path is never built from guest strings. Every lookup is
 * one name element, checked by p9_path_name() (no '/', no NUL, not "." or
 * ".."), resolved against a directory descriptor with openat2(RESOLVE_BENEATH
 * | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) and O_NOFOLLOW|O_PATH, so a
 * symlink is never followed (its fid holds the link itself) and nothing
 * outside the directory can be named. ".." is handled apart
 * (p9_path_parent): at the root it stays there, elsewhere the parent is
 * opened and then proven to lie at or below the root by walking up.
 * Opening an object for I/O reopens its O_PATH descriptor through
 * /proc/self/fd (p9_path_reopen): the same inode, whatever happened to its
 * name since the walk. The kernel never follows a symlink reached through
 * such a magic link: chmod, truncate, setxattr or open of
 * /proc/self/fd/N, N an O_PATH descriptor of a symlink, act on the link
 * itself or fail (ELOOP, EPERM, EOPNOTSUPP); p9_sec_test.c relies on it.
 */
#ifndef COVE_DEVICES_VIRTIO_9P_P9_PATH_H
#define COVE_DEVICES_VIRTIO_9P_P9_PATH_H

#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "base/compiler.h"
#include "devices/virtio_9p/p9_wire.h"

/* Where the share is rooted and how to reach descriptors by number. */
struct p9_path_root {
	int fd;	     /* O_PATH|O_DIRECTORY of the shared directory */
	int proc_fd; /* O_PATH|O_DIRECTORY of /proc/self/fd */
	dev_t dev;
	ino_t ino;
	bool have_openat2; /* else openat with O_NOFOLLOW (single elements only) */
};

/*
 * Opens the shared directory `path` (which must be a directory) and
 * /proc/self/fd. Returns 0, or -errno with one line in err.
 */
must_check int p9_path_root_open(struct p9_path_root *root, const char *path, char *err,
				 size_t errlen);
void p9_path_root_close(struct p9_path_root *root);

/*
 * Guest-controlled: `s`. Copies one name element into out (NUL-terminated)
 * after checking it: 1 to NAME_MAX bytes, no '/' and no NUL, and neither
 * "." nor "..". Returns 0, -ENAMETOOLONG, or -EINVAL.
 */
must_check int p9_path_name(const struct p9_str *s, char out[NAME_MAX + 1]);

/* True if `name` is "." or "..". */
bool p9_path_is_dot(const struct p9_str *s);

/*
 * Opens the single element `name` (already checked) in directory `dirfd`
 * with `flags` (O_NOFOLLOW and O_CLOEXEC are added), never following a
 * symlink and never leaving dirfd. With O_CREAT, `mode` applies. Returns
 * the descriptor or -errno.
 */
int p9_path_openat(const struct p9_path_root *root, int dirfd, const char *name, int flags,
		   mode_t mode);

/* Reopens the object `fd` refers to with `flags` (O_CLOEXEC added). Descriptor or -errno. */
int p9_path_reopen(const struct p9_path_root *root, int fd, int flags);

/*
 * The parent of directory `fd` as a new O_PATH descriptor, confined: the
 * root's parent is the root itself, and a parent that is not at or below
 * the root (a directory moved out of the share) is -EACCES.
 */
int p9_path_parent(const struct p9_path_root *root, int fd);

/* A close-on-exec duplicate of fd, or -errno. */
int p9_path_dup(int fd);

/* "/proc/self/fd/N" for descriptor fd, for the calls that take only a path. */
void p9_path_proc(int fd, char buf[32]);

/* True if st is the root directory. */
bool p9_path_is_root(const struct p9_path_root *root, const struct stat *st);

#endif
