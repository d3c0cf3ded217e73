/*
 * Attribute messages: Tgetattr, Tsetattr, Tstatfs (reference/protocols.md
 * 7.3). Owners and modes go through the security model (p9_sec); times
 * and sizes act on the fid's own inode (its descriptor, or
 * /proc/self/fd/N), never on a path the guest named.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "devices/virtio_9p/p9_op.h"
#include "devices/virtio_9p/p9_sec.h"

#define NSEC_PER_SEC 1000000000ull

/* Takes fid `num` locked, if it names a file (not an xattr fid). */
static struct p9_fid *file_fid(struct p9_op *op, uint32_t num, int *err)
{
	struct p9_fid *fid = p9_op_fid(op, num, err);

	if (!fid)
		return NULL;
	pthread_mutex_lock(&fid->lock);
	if (fid->kind == P9_FID_NODE || fid->kind == P9_FID_OPEN)
		return fid;
	pthread_mutex_unlock(&fid->lock);
	p9_op_put(op, fid);
	*err = -EINVAL;
	return NULL;
}

static void unlock_put(struct p9_op *op, struct p9_fid *fid)
{
	pthread_mutex_unlock(&fid->lock);
	p9_op_put(op, fid);
}

/* ---- Tgetattr ---- */

static void put_time(struct p9_wire_buf *r, const struct timespec *t)
{
	p9_wire_put_u64(r, (uint64_t)t->tv_sec);
	p9_wire_put_u64(r, (uint64_t)t->tv_nsec);
}

static void put_attr(struct p9_op *op, const struct stat *st)
{
	struct p9_qid q;

	p9_op_qid(op->srv, st, &q);
	p9_wire_put_u64(op->r, P9_GETATTR_BASIC);
	p9_wire_put_qid(op->r, &q);
	p9_wire_put_u32(op->r, st->st_mode);
	p9_wire_put_u32(op->r, st->st_uid);
	p9_wire_put_u32(op->r, st->st_gid);
	p9_wire_put_u64(op->r, st->st_nlink);
	p9_wire_put_u64(op->r, st->st_rdev);
	p9_wire_put_u64(op->r, (uint64_t)st->st_size);
	p9_wire_put_u64(op->r, (uint64_t)st->st_blksize);
	p9_wire_put_u64(op->r, (uint64_t)st->st_blocks);
	put_time(op->r, &st->st_atim);
	put_time(op->r, &st->st_mtim);
	put_time(op->r, &st->st_ctim);
	p9_wire_put_u64(op->r, 0); /* btime, gen, data_version: not in BASIC */
	p9_wire_put_u64(op->r, 0);
	p9_wire_put_u64(op->r, 0);
	p9_wire_put_u64(op->r, 0);
}

int p9_attr_getattr(struct p9_op *op)
{
	struct p9_node n;
	struct stat st;
	int ret;
	struct p9_fid *fid = file_fid(op, op->m->getattr.fid, &ret);

	if (!fid)
		return ret;
	p9_sec_node(fid, &n);
	ret = p9_sec_stat(op->srv, &n, &st);
	unlock_put(op, fid);
	if (ret)
		return ret;
	put_attr(op, &st);
	return 0;
}

/* ---- Tsetattr ---- */

static int set_size(struct p9_op *op, const struct p9_fid *fid, uint64_t size)
{
	char path[32];

	if (size > INT64_MAX)
		return -EINVAL;
	if (S_ISDIR(fid->type))
		return -EISDIR;
	if (!S_ISREG(fid->type))
		return -EINVAL;
	if (fid->kind == P9_FID_OPEN && ftruncate(fid->ofd, (off_t)size) == 0)
		return 0;
	p9_path_proc(p9_fid_node_fd(fid), path);
	(void)op;
	return truncate(path, (off_t)size) < 0 ? -errno : 0;
}

/* Guest-controlled: the time fields. UTIME_NOW without *_SET, UTIME_OMIT without the bit. */
static int to_times(uint32_t valid, const struct p9_msg *m, struct timespec ts[2])
{
	const uint64_t sec[2] = {m->setattr.atime_sec, m->setattr.mtime_sec};
	const uint64_t nsec[2] = {m->setattr.atime_nsec, m->setattr.mtime_nsec};
	const uint32_t bit[2] = {P9_SETATTR_ATIME, P9_SETATTR_MTIME};
	const uint32_t set[2] = {P9_SETATTR_ATIME_SET, P9_SETATTR_MTIME_SET};

	for (int i = 0; i < 2; i++) {
		ts[i].tv_sec = 0;
		ts[i].tv_nsec = !(valid & bit[i]) ? UTIME_OMIT : !(valid & set[i]) ? UTIME_NOW : 0;
		if (ts[i].tv_nsec)
			continue;
		if (nsec[i] >= NSEC_PER_SEC || sec[i] > INT64_MAX)
			return -EINVAL;
		ts[i].tv_sec = (time_t)sec[i];
		ts[i].tv_nsec = (long)nsec[i];
	}
	return 0;
}

static int set_times(const struct p9_fid *fid, uint32_t valid, const struct p9_msg *m)
{
	struct timespec ts[2];
	int ret = to_times(valid, m, ts);

	if (ret)
		return ret;
	if (utimensat(p9_fid_node_fd(fid), "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

static int setattr_locked(struct p9_op *op, struct p9_fid *fid)
{
	const struct p9_msg *m = op->m;
	uint32_t valid = m->setattr.valid;
	struct p9_node n;
	int ret = 0;

	p9_sec_node(fid, &n);
	if (valid & P9_SETATTR_MODE)
		ret = p9_sec_chmod(op->srv, &n, m->setattr.mode);
	if (!ret && (valid & (P9_SETATTR_UID | P9_SETATTR_GID)))
		ret =
		    p9_sec_chown(op->srv, &n, valid & P9_SETATTR_UID ? m->setattr.uid : P9_NONUNAME,
				 valid & P9_SETATTR_GID ? m->setattr.gid : P9_NONUNAME);
	if (!ret && (valid & P9_SETATTR_SIZE))
		ret = set_size(op, fid, m->setattr.size);
	if (!ret && (valid & (P9_SETATTR_ATIME | P9_SETATTR_MTIME)))
		ret = set_times(fid, valid, m);
	return ret;
}

int p9_attr_setattr(struct p9_op *op)
{
	int ret = p9_op_writable(op);
	struct p9_fid *fid = ret ? NULL : file_fid(op, op->m->setattr.fid, &ret);

	if (!fid)
		return ret;
	ret = setattr_locked(op, fid);
	unlock_put(op, fid);
	return ret;
}

/* ---- Tstatfs ---- */

int p9_attr_statfs(struct p9_op *op)
{
	struct statfs sf;
	int ret;
	struct p9_fid *fid = file_fid(op, op->m->fid.fid, &ret);

	if (!fid)
		return ret;
	ret = fstatfs(p9_fid_node_fd(fid), &sf) < 0 ? -errno : 0;
	unlock_put(op, fid);
	if (ret)
		return ret;
	p9_wire_put_u32(op->r, (uint32_t)sf.f_type);
	p9_wire_put_u32(op->r, (uint32_t)sf.f_bsize);
	p9_wire_put_u64(op->r, sf.f_blocks);
	p9_wire_put_u64(op->r, sf.f_bfree);
	p9_wire_put_u64(op->r, sf.f_bavail);
	p9_wire_put_u64(op->r, sf.f_files);
	p9_wire_put_u64(op->r, sf.f_ffree);
	p9_wire_put_u64(op->r, (uint64_t)(uint32_t)sf.f_fsid.__val[0] |
				   ((uint64_t)(uint32_t)sf.f_fsid.__val[1] << 32));
	p9_wire_put_u32(op->r, (uint32_t)sf.f_namelen);
	return 0;
}
