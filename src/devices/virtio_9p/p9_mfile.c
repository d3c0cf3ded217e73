/*
 * mapped-file metadata: .virtfs_metadata/NAME text files; see p9_mfile.h.
 */
#include "devices/virtio_9p/p9_mfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define META_MAX 512 /* a metadata file larger than this is not Cove's: ignored beyond */

/* The directory holding the metadata of dirfd's entries; O_PATH or -errno. */
static int meta_dir(const struct p9_path_root *root, int dirfd, bool create)
{
	int fd = p9_path_openat(root, dirfd, P9_MFILE_DIR, O_PATH | O_DIRECTORY, 0);

	if (fd == -ENOENT && create) {
		if (mkdirat(dirfd, P9_MFILE_DIR, 0700) < 0 && errno != EEXIST)
			return -errno;
		fd = p9_path_openat(root, dirfd, P9_MFILE_DIR, O_PATH | O_DIRECTORY, 0);
	}
	return fd;
}

/* Opens the metadata file of an entry with `flags`; descriptor or -errno. */
static int meta_open(const struct p9_path_root *root, int dirfd, const char *name, bool is_root,
		     int flags)
{
	int mdir, fd;

	if (is_root)
		return p9_path_openat(root, root->fd, P9_MFILE_ROOT, flags, 0600);
	mdir = meta_dir(root, dirfd, flags & O_CREAT);
	if (mdir < 0)
		return mdir;
	fd = p9_path_openat(root, mdir, name, flags, 0600);
	close(mdir);
	return fd;
}

static void parse_line(const char *line, struct p9_mfile_meta *m)
{
	unsigned long long v;

	if (sscanf(line, "virtfs.uid=%llu", &v) == 1) {
		m->has_uid = true;
		m->uid = (uint32_t)v;
	} else if (sscanf(line, "virtfs.gid=%llu", &v) == 1) {
		m->has_gid = true;
		m->gid = (uint32_t)v;
	} else if (sscanf(line, "virtfs.mode=%llu", &v) == 1) {
		m->has_mode = true;
		m->mode = (uint32_t)v;
	} else if (sscanf(line, "virtfs.rdev=%llu", &v) == 1) {
		m->has_rdev = true;
		m->rdev = v;
	}
}

int p9_mfile_get(const struct p9_path_root *root, int dirfd, const char *name, bool is_root,
		 struct p9_mfile_meta *m)
{
	char buf[META_MAX + 1];
	ssize_t n;
	int fd;

	memset(m, 0, sizeof(*m));
	fd = meta_open(root, dirfd, name, is_root, O_RDONLY | O_NONBLOCK);
	if (fd == -ENOENT || fd == -ENOTDIR)
		return 0;
	if (fd < 0)
		return fd;
	n = pread(fd, buf, META_MAX, 0);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	for (char *save, *line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		parse_line(line, m);
	return 0;
}

int p9_mfile_set(const struct p9_path_root *root, int dirfd, const char *name, bool is_root,
		 const struct p9_mfile_meta *m)
{
	struct p9_mfile_meta cur;
	char buf[META_MAX];
	int len, fd, ret = p9_mfile_get(root, dirfd, name, is_root, &cur);

	if (ret)
		return ret;
	if (m->has_uid)
		cur.has_uid = true, cur.uid = m->uid;
	if (m->has_gid)
		cur.has_gid = true, cur.gid = m->gid;
	if (m->has_mode)
		cur.has_mode = true, cur.mode = m->mode;
	if (m->has_rdev)
		cur.has_rdev = true, cur.rdev = m->rdev;
	len = snprintf(buf, sizeof(buf),
		       "%s%" PRIu32 "\n%s%" PRIu32 "\n%s%" PRIu32 "\n%s%" PRIu64 "\n",
		       "virtfs.uid=", cur.uid, "virtfs.gid=", cur.gid, "virtfs.mode=", cur.mode,
		       "virtfs.rdev=", cur.rdev);
	fd = meta_open(root, dirfd, name, is_root, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK);
	if (fd < 0)
		return fd;
	ret = pwrite(fd, buf, (size_t)len, 0) == len ? 0 : -EIO;
	close(fd);
	return ret;
}

void p9_mfile_remove(const struct p9_path_root *root, int dirfd, const char *name)
{
	int mdir = meta_dir(root, dirfd, false);

	if (mdir < 0)
		return;
	(void)unlinkat(mdir, name, 0);
	close(mdir);
}

void p9_mfile_rename(const struct p9_path_root *root, int olddirfd, const char *oldname,
		     int newdirfd, const char *newname)
{
	int from = meta_dir(root, olddirfd, false), to;

	if (from < 0)
		return;
	to = meta_dir(root, newdirfd, true);
	if (to >= 0) {
		if (renameat(from, oldname, to, newname) < 0 && errno == ENOENT)
			(void)unlinkat(to, newname, 0); /* the target's old metadata */
		close(to);
	}
	close(from);
}

void p9_mfile_copy(const struct p9_path_root *root, int olddirfd, const char *oldname, int newdirfd,
		   const char *newname)
{
	struct p9_mfile_meta m;

	if (p9_mfile_get(root, olddirfd, oldname, false, &m) == 0 &&
	    (m.has_uid || m.has_gid || m.has_mode || m.has_rdev))
		if (p9_mfile_set(root, newdirfd, newname, false, &m))
			return; /* best effort: the link shows host values */
}

/* True if directory dir holds nothing but ".", ".." and the metadata directory. */
static bool only_metadata(const struct p9_path_root *root, int dir)
{
	int fd = p9_path_reopen(root, dir, O_RDONLY | O_DIRECTORY);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *e;
	bool only = d != NULL;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	while (only && (e = readdir(d)) != NULL)
		only = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		       !strcmp(e->d_name, P9_MFILE_DIR);
	closedir(d);
	return only;
}

/* Unlinks every entry of the metadata directory mdir (an open descriptor, consumed). */
static void empty_dir(int mdir)
{
	DIR *d = fdopendir(mdir);
	struct dirent *e;

	if (!d) {
		close(mdir);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			(void)unlinkat(mdir, e->d_name, 0);
	}
	closedir(d);
}

void p9_mfile_clear_dir(const struct p9_path_root *root, int dirfd, const char *name)
{
	int dir = p9_path_openat(root, dirfd, name, O_PATH | O_DIRECTORY, 0);
	int mdir;

	if (dir < 0)
		return;
	if (only_metadata(root, dir)) {
		mdir = p9_path_openat(root, dir, P9_MFILE_DIR, O_RDONLY | O_DIRECTORY, 0);
		if (mdir >= 0) {
			empty_dir(mdir);
			(void)unlinkat(dir, P9_MFILE_DIR, AT_REMOVEDIR);
		}
	}
	close(dir);
}
