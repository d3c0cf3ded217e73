/*
 * File I/O messages: Tlopen, Tlcreate, Tread, Twrite, Tfsync, Tlock,
 * Tgetlock (reference/protocols.md 7.3).
 *
 * Only regular files and directories are ever opened on the host: a fid
 * for anything else (a FIFO, a device node, a symlink) refuses Tlopen, so
 * a guest cannot make Cove block on a FIFO or touch a device. Opening
 * reopens the fid's O_PATH descriptor (the very inode the walk found).
 * Open flags pass through an allow-list (access mode, O_TRUNC, O_APPEND,
 * O_DSYNC, O_SYNC); O_DIRECT, O_NOATIME, O_PATH and the rest never reach
 * the host. Reads and writes go straight between the file and the guest's
 * buffers (preadv/pwritev on the chain's iovecs). Locks are open file
 * description locks (F_OFD_*), so two guest opens of one file conflict
 * with each other as two host opens would; a conflict answers BLOCKED and
 * the guest retries (the Linux client does).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/virtio_9p/p9_op.h"
#include "devices/virtio_9p/p9_sec.h"

#define IOV_MAX_SLICE 1024

/* Guest-controlled: l. Host open flags for the Linux flags of Tlopen/Tlcreate. */
static int host_flags(uint32_t l, bool *writes)
{
	uint32_t acc = l & P9_L_ACCMODE;
	int f;

	if (acc == 3)
		return -EINVAL;
	f = acc == 0 ? O_RDONLY : acc == 1 ? O_WRONLY : O_RDWR;
	if (l & P9_L_TRUNC)
		f |= O_TRUNC;
	if (l & P9_L_APPEND)
		f |= O_APPEND;
	if (l & P9_L_DSYNC)
		f |= O_DSYNC;
	if (l & P9_L_SYNC)
		f |= O_SYNC;
	*writes = acc != 0 || (l & P9_L_TRUNC);
	return f;
}

/* What the client should read and write at a time: msize minus headers, in blocks. */
static uint32_t iounit(const struct p9_op *op, const struct stat *st)
{
	uint32_t room = (uint32_t)op->cap - P9_IOHDR_SIZE;
	uint32_t bs =
	    st->st_blksize > 0 && st->st_blksize <= (blksize_t)room ? (uint32_t)st->st_blksize : 0;

	return bs ? room / bs * bs : 0;
}

static int reply_open(struct p9_op *op, const struct p9_node *n)
{
	struct p9_qid q;
	struct stat st;
	int ret = p9_sec_stat(op->srv, n, &st);

	if (ret)
		return ret;
	p9_op_qid(op->srv, &st, &q);
	p9_wire_put_qid(op->r, &q);
	p9_wire_put_u32(op->r, iounit(op, &st));
	return 0;
}

/* ---- Tlopen ---- */

static int open_fid(struct p9_op *op, struct p9_fid *fid)
{
	bool writes;
	int flags = host_flags(op->m->lopen.flags, &writes), ofd;
	struct p9_node n;

	if (flags < 0)
		return flags;
	if (fid->kind != P9_FID_NODE)
		return -EINVAL; /* already open, or an xattr fid */
	if (S_ISLNK(fid->type))
		return -ELOOP;
	if (!S_ISREG(fid->type) && !S_ISDIR(fid->type))
		return -ENXIO; /* FIFOs, sockets, devices: never opened on the host */
	if (writes && p9_op_writable(op))
		return -EROFS;
	if (S_ISDIR(fid->type)) {
		if (writes)
			return -EISDIR;
		flags = O_RDONLY | O_DIRECTORY;
	}
	ofd = p9_path_reopen(&op->srv->root, fid->fd, flags | O_NOCTTY);
	if (ofd < 0)
		return ofd;
	fid->ofd = ofd;
	fid->kind = P9_FID_OPEN;
	p9_sec_node(fid, &n);
	return reply_open(op, &n);
}

int p9_file_lopen(struct p9_op *op)
{
	int ret;
	struct p9_fid *fid = p9_op_fid(op, op->m->lopen.fid, &ret);

	if (!fid)
		return ret;
	pthread_mutex_lock(&fid->lock);
	ret = open_fid(op, fid);
	pthread_mutex_unlock(&fid->lock);
	p9_op_put(op, fid);
	return ret;
}

/* ---- Tlcreate ---- */

/* An existing regular file `name` (a create without O_EXCL that lost a race). */
static int open_existing(struct p9_op *op, int dirfd, const char *name, int flags)
{
	int pfd = p9_path_openat(&op->srv->root, dirfd, name, O_PATH, 0), fd;
	struct stat st;

	if (pfd < 0)
		return pfd;
	if (fstat(pfd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fd = fstat(pfd, &st) == 0 && S_ISDIR(st.st_mode) ? -EISDIR : -EEXIST;
		close(pfd);
		return fd;
	}
	fd = p9_path_reopen(&op->srv->root, pfd, flags | O_NOCTTY);
	close(pfd);
	return fd;
}

/* Creates (or opens) the file; *created says which. Returns the open descriptor or -errno. */
static int create_file(struct p9_op *op, struct p9_fid *dir, const char *name, bool *created)
{
	struct p9_node n = {.dirfd = dir->fd, .name = name};
	struct p9_cred c = {.uid = dir->uid,
			    .gid = op->m->lcreate.gid,
			    .mode = S_IFREG | (op->m->lcreate.mode & 07777)};
	bool writes;
	int flags = host_flags(op->m->lcreate.flags, &writes), fd, ret;

	if (flags < 0)
		return flags;
	fd = p9_path_openat(&op->srv->root, dir->fd, name, flags | O_CREAT | O_EXCL,
			    p9_sec_host_mode(op->srv, c.mode));
	*created = fd >= 0;
	if (fd == -EEXIST && !(op->m->lcreate.flags & P9_L_EXCL))
		return open_existing(op, dir->fd, name, flags);
	if (fd < 0)
		return fd;
	n.fd = fd;
	ret = p9_sec_created(op->srv, &n, &c);
	if (ret) {
		close(fd);
		(void)unlinkat(dir->fd, name, 0);
		return ret;
	}
	return fd;
}

/* The directory fid becomes the open new file (Tlcreate's rule). */
static int become_file(struct p9_op *op, struct p9_fid *fid, int ofd, const char *name)
{
	struct p9_node n;
	struct stat st;
	int dirfd, ret;

	if (fstat(ofd, &st) < 0)
		return -errno;
	dirfd = p9_path_dup(fid->fd);
	ret = dirfd < 0 ? dirfd : p9_fid_set_entry(fid, dirfd, name);
	if (ret)
		return ret;
	fid->ofd = ofd;
	fid->kind = P9_FID_OPEN;
	fid->type = S_IFREG;
	fid->dev = st.st_dev;
	fid->ino = st.st_ino;
	fid->root = false;
	p9_sec_node(fid, &n);
	return reply_open(op, &n);
}

static int lcreate_in(struct p9_op *op, struct p9_fid *fid, const char *name)
{
	bool created;
	int ofd, ret;

	if (fid->kind != P9_FID_NODE)
		return -EINVAL;
	if (!S_ISDIR(fid->type))
		return -ENOTDIR;
	ofd = create_file(op, fid, name, &created);
	if (ofd < 0)
		return ofd;
	ret = become_file(op, fid, ofd, name);
	if (ret) {
		close(ofd);
		if (created)
			(void)unlinkat(fid->fd, name, 0);
	}
	return ret;
}

int p9_file_lcreate(struct p9_op *op)
{
	char name[NAME_MAX + 1];
	struct p9_fid *fid;
	int ret = p9_path_name(&op->m->lcreate.name, name);

	if (!ret && p9_sec_reserved(op->srv, name))
		ret = -EINVAL;
	if (!ret)
		ret = p9_op_writable(op);
	if (ret)
		return ret;
	fid = p9_op_fid(op, op->m->lcreate.fid, &ret);
	if (!fid)
		return ret;
	pthread_mutex_lock(&fid->lock);
	ret = lcreate_in(op, fid, name);
	pthread_mutex_unlock(&fid->lock);
	p9_op_put(op, fid);
	return ret;
}

/* ---- Tread / Twrite ---- */

/*
 * Takes the fid's open descriptor, or serves an xattr fid right here
 * (*served). Returns the descriptor, or -errno.
 */
static int io_fd(struct p9_op *op, struct p9_fid *fid, bool write, bool *served, int *ret)
{
	int fd = -EBADF;

	*served = false;
	pthread_mutex_lock(&fid->lock);
	if (fid->kind == P9_FID_OPEN) {
		fd = fid->ofd;
	} else if (!write && fid->kind == P9_FID_XATTR_READ) {
		*served = true;
		*ret = p9_xattr_read(op, fid);
	} else if (write && fid->kind == P9_FID_XATTR_WRITE) {
		*served = true;
		*ret = p9_xattr_write(op, fid);
	}
	pthread_mutex_unlock(&fid->lock);
	return fd;
}

static int do_read(struct p9_op *op, int fd)
{
	struct iovec iov[IOV_MAX_SLICE];
	uint64_t off = op->m->read.offset;
	uint32_t count = MIN(op->m->read.count, (uint32_t)(op->cap - P9_READ_HDR_SIZE));
	unsigned int n =
	    p9_op_slice(op->io->in, op->io->n_in, P9_READ_HDR_SIZE, count, iov, IOV_MAX_SLICE);
	ssize_t got;

	if (off > INT64_MAX)
		return -EINVAL;
	got = count ? preadv(fd, iov, (int)n, (off_t)off) : 0;
	if (got < 0)
		return -errno;
	p9_wire_put_u32(op->r, (uint32_t)got);
	op->data_len = (uint32_t)got;
	return 0;
}

int p9_file_read(struct p9_op *op)
{
	bool served;
	int ret, fd;
	struct p9_fid *fid = p9_op_fid(op, op->m->read.fid, &ret);

	if (!fid)
		return ret;
	fd = io_fd(op, fid, false, &served, &ret);
	if (!served)
		ret = fd < 0 ? fd : do_read(op, fd);
	p9_op_put(op, fid);
	return ret;
}

static int do_write(struct p9_op *op, int fd)
{
	struct iovec iov[IOV_MAX_SLICE];
	uint64_t off = op->m->write.offset;
	uint32_t count = op->m->write.count;
	unsigned int n = 1;
	ssize_t put;

	if (off > INT64_MAX)
		return -EINVAL;
	if (op->m->write.data) {
		iov[0].iov_base = (void *)(uintptr_t)op->m->write.data;
		iov[0].iov_len = count;
	} else {
		n = p9_op_slice(op->io->out, op->io->n_out, P9_WRITE_HDR_SIZE, count, iov,
				IOV_MAX_SLICE);
	}
	put = count ? pwritev(fd, iov, (int)n, (off_t)off) : 0;
	if (put < 0)
		return -errno;
	p9_wire_put_u32(op->r, (uint32_t)put);
	return 0;
}

int p9_file_write(struct p9_op *op)
{
	bool served;
	int ret, fd;
	struct p9_fid *fid = p9_op_fid(op, op->m->write.fid, &ret);

	if (!fid)
		return ret;
	fd = io_fd(op, fid, true, &served, &ret);
	if (!served)
		ret = fd < 0 ? fd : p9_op_writable(op) ? -EROFS : do_write(op, fd);
	p9_op_put(op, fid);
	return ret;
}

/* ---- Tfsync, Tlock, Tgetlock ---- */

/* The open descriptor of fid `num` with a reference in *out; -EBADF if not open. */
static int open_fd(struct p9_op *op, uint32_t num, struct p9_fid **out)
{
	int ret, fd = -EBADF;
	struct p9_fid *fid = p9_op_fid(op, num, &ret);

	if (!fid)
		return ret;
	pthread_mutex_lock(&fid->lock);
	if (fid->kind == P9_FID_OPEN)
		fd = fid->ofd;
	pthread_mutex_unlock(&fid->lock);
	*out = fid;
	return fd;
}

int p9_file_fsync(struct p9_op *op)
{
	struct p9_fid *fid = NULL;
	int fd = open_fd(op, op->m->fsync.fid, &fid), ret = fd;

	if (fd >= 0) {
		ret = op->m->fsync.datasync ? fdatasync(fd) : fsync(fd);
		ret = ret < 0 ? -errno : 0;
	}
	p9_op_put(op, fid);
	return ret;
}

/* Guest-controlled: the lock fields. A struct flock for them, or -EINVAL. */
static int to_flock(uint8_t type, uint64_t start, uint64_t length, struct flock *fl)
{
	static const short types[] = {F_RDLCK, F_WRLCK, F_UNLCK};

	if (type > P9_LOCK_TYPE_UNLCK || start > INT64_MAX || length > INT64_MAX ||
	    (length && start > (uint64_t)INT64_MAX - length))
		return -EINVAL;
	*fl = (struct flock){.l_type = types[type],
			     .l_whence = SEEK_SET,
			     .l_start = (off_t)start,
			     .l_len = (off_t)length};
	return 0;
}

int p9_file_lock(struct p9_op *op)
{
	struct p9_fid *fid = NULL;
	struct flock fl;
	int fd = open_fd(op, op->m->lock.fid, &fid), ret = fd;
	uint8_t status = P9_LOCK_SUCCESS;

	if (fd >= 0)
		ret = to_flock(op->m->lock.type, op->m->lock.start, op->m->lock.length, &fl);
	if (fd >= 0 && !ret && fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		if (errno == EAGAIN || errno == EACCES)
			status = P9_LOCK_BLOCKED; /* the client waits and retries */
		else
			ret = -errno;
	}
	p9_op_put(op, fid);
	if (ret)
		return ret;
	p9_wire_put_u8(op->r, status);
	return 0;
}

int p9_file_getlock(struct p9_op *op)
{
	struct p9_fid *fid = NULL;
	struct flock fl;
	int fd = open_fd(op, op->m->lock.fid, &fid), ret = fd;
	const struct p9_str *cid = &op->m->lock.client_id;

	if (fd >= 0)
		ret = to_flock(op->m->lock.type, op->m->lock.start, op->m->lock.length, &fl);
	if (fd >= 0 && !ret && fcntl(fd, F_OFD_GETLK, &fl) < 0)
		ret = -errno;
	p9_op_put(op, fid);
	if (ret)
		return ret;
	p9_wire_put_u8(op->r, fl.l_type == F_RDLCK   ? P9_LOCK_TYPE_RDLCK
			      : fl.l_type == F_WRLCK ? P9_LOCK_TYPE_WRLCK
						     : P9_LOCK_TYPE_UNLCK);
	p9_wire_put_u64(op->r, (uint64_t)fl.l_start);
	p9_wire_put_u64(op->r, (uint64_t)fl.l_len);
	p9_wire_put_u32(op->r, 0); /* OFD locks have no owning process */
	p9_wire_put_str(op->r, cid->s, cid->len);
	return 0;
}
