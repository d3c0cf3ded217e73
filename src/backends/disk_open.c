/*
 * Opening disk images for virtio-blk (disk.h): crosvm's --block options ro,
 * direct and lock, with one clear error line for every way it can fail.
 */
#include "backends/disk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

static int open_error(const char *path, int e, const struct disk_options *opt, char *err,
		      size_t errlen)
{
	if ((e == EACCES || e == EROFS || e == EPERM) && !opt->read_only &&
	    access(path, R_OK) == 0) {
		snprintf(err, errlen, "%s is read-only: add ,ro to --block", path);
	} else if (e == EINVAL && opt->direct) {
		snprintf(err, errlen,
			 "cannot open %s with O_DIRECT (not supported by its file system): "
			 "drop ,direct",
			 path);
	} else if (e == EISDIR) {
		snprintf(err, errlen, "%s is a directory: expected a disk image", path);
	} else {
		snprintf(err, errlen, "cannot open disk image %s: %s", path, strerror(e));
	}
	return -e;
}

static int lock_image(struct disk *d, const struct disk_options *opt, char *err, size_t errlen)
{
	if (!opt->lock)
		return 0;
	if (flock(d->fd, (opt->read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK) {
		snprintf(err, errlen,
			 "%s is in use by another process (locked): stop it, or add ,lock=false "
			 "to --block if sharing is intended",
			 d->path);
		return -EBUSY;
	}
	snprintf(err, errlen, "cannot lock %s: %s", d->path, strerror(errno));
	return -errno;
}

static int read_size(struct disk *d, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(d->fd, &st) < 0) {
		snprintf(err, errlen, "cannot stat %s: %s", d->path, strerror(errno));
		return -errno;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is a directory: expected a disk image", d->path);
		return -EISDIR;
	}
	if (S_ISBLK(st.st_mode)) {
		d->block_device = true;
		if (ioctl(d->fd, BLKGETSIZE64, &d->size) < 0) {
			snprintf(err, errlen, "cannot read the size of %s: %s", d->path,
				 strerror(errno));
			return -errno;
		}
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file or a block device", d->path);
		return -EINVAL;
	}
	d->size = (uint64_t)st.st_size;
	return 0;
}

int disk_open(struct disk *d, const char *path, const struct disk_options *opt, char *err,
	      size_t errlen)
{
	int flags = (opt->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | (opt->direct ? O_DIRECT : 0);
	int ret;

	memset(d, 0, sizeof(*d));
	d->fd = -1;
	d->efd = -1;
	d->read_only = opt->read_only;
	d->direct = opt->direct;
	d->path = strdup(path);
	if (!d->path) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	d->fd = open(path, flags);
	if (d->fd < 0) {
		ret = open_error(path, errno, opt, err, errlen);
		goto free_path;
	}
	ret = read_size(d, err, errlen);
	if (ret)
		goto close_fd;
	ret = lock_image(d, opt, err, errlen);
	if (ret)
		goto close_fd;
	return 0;

close_fd:
	close(d->fd);
	d->fd = -1;
free_path:
	free(d->path);
	d->path = NULL;
	return ret;
}

