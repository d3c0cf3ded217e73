/*
 * The fid table of one 9P session: fid numbers chosen by the guest mapped
 * to host file descriptors, with reference counts so that a fid clunked
 * while another request still uses it stays valid until that request ends.
 *
 * A fid is one of:
 *   NODE   a walked-to file: `fd` is an O_PATH descriptor of it (never
 *          followed: a symlink's fid holds the symlink itself);
 *   OPEN   after Tlopen/Tlcreate: `ofd` is the open file, `fd` stays;
 *   XATTR  after Txattrwalk (a value or name list to read) or
 *          Txattrcreate (a value being written, set at Tclunk).
 *
 * Descriptor lifetime: `fd` and `ofd` are set once and closed only when
 * the last reference goes, so a request may use them after dropping the
 * fid's lock as long as it holds a reference. `dirfd` and `name` (where the
 * fid's entry lives, for Trename, Tremove and mapped-file metadata) change
 * on renames: use them only under the fid's lock.
 *
 * Bounds: at most `max` fids (Twalk/Tattach beyond that get EMFILE), and
 * at most `xattr_max` bytes of xattr buffers across all fids.
 *
 * Guest-controlled: fid numbers (any u32 but NOFID).
 */
#ifndef COVE_DEVICES_VIRTIO_9P_P9_FID_H
#define COVE_DEVICES_VIRTIO_9P_P9_FID_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/compiler.h"

#define P9_FID_BUCKETS 4096

enum p9_fid_kind {
	P9_FID_NODE,
	P9_FID_OPEN,
	P9_FID_XATTR_READ,
	P9_FID_XATTR_WRITE,
};

struct p9_xattr {
	char name[256];	 /* XATTR_NAME_MAX + 1; "" = the name list */
	uint8_t *buf;	 /* value (read: what was fetched; write: what was written) */
	size_t size;	 /* read: bytes in buf; write: the announced attr_size */
	size_t written;	 /* write: bytes received so far */
	int flags;	 /* write: XATTR_CREATE / XATTR_REPLACE */
	size_t reserved; /* bytes counted against the table's xattr budget */
};

struct p9_fid {
	uint32_t num;
	unsigned int refs; /* under the table lock */
	struct p9_fid *next;
	pthread_mutex_t lock;
	enum p9_fid_kind kind;
	int fd;	     /* O_PATH of the file (NODE, OPEN, XATTR_WRITE) or -1 */
	int ofd;     /* open descriptor (OPEN) or -1 */
	mode_t type; /* S_IFMT of the host object */
	dev_t dev;   /* host identity, for qids and checks */
	ino_t ino;
	bool root;     /* the attach point itself */
	uint32_t uid;  /* n_uname of the attach it descends from */
	int dirfd;     /* O_PATH of the parent directory, -1 if unknown or root */
	char *name;    /* the entry's name in dirfd, NULL if unknown or root */
	dev_t dir_dev; /* dirfd's identity, for rename fix-ups */
	ino_t dir_ino;
	struct p9_xattr *xattr;
};

struct p9_fid_table {
	pthread_mutex_t lock;
	struct p9_fid *buckets[P9_FID_BUCKETS];
	unsigned int count, max;
	size_t xattr_bytes, xattr_max;
};

must_check int p9_fid_table_init(struct p9_fid_table *t, unsigned int max, size_t xattr_max);
/* Drops every fid (their descriptors close when the last user is done). */
void p9_fid_table_clear(struct p9_fid_table *t);
void p9_fid_table_destroy(struct p9_fid_table *t);

/* A new fid object with no descriptors (fd = ofd = dirfd = -1), 1 reference. */
struct p9_fid *p9_fid_new(uint32_t num);

/*
 * Publishes `fid` (the caller's reference becomes the table's). Returns 0,
 * -EEXIST if the number is taken, -EMFILE if the table is full, -EINVAL
 * for NOFID. On failure the caller still owns the fid.
 */
must_check int p9_fid_insert(struct p9_fid_table *t, struct p9_fid *fid);

/* Looks a fid up and takes a reference; NULL if there is none. */
struct p9_fid *p9_fid_get(struct p9_fid_table *t, uint32_t num);

/* Drops a reference; the last one closes the descriptors and frees. */
void p9_fid_put(struct p9_fid_table *t, struct p9_fid *fid);

/*
 * Takes `num` out of the table and returns it with the table's reference
 * (the caller puts it), or NULL if there is no such fid.
 */
struct p9_fid *p9_fid_remove(struct p9_fid_table *t, uint32_t num);

/*
 * Reserves `bytes` of xattr buffer space (0 or -ENOSPC) and gives it back.
 */
must_check int p9_fid_xattr_reserve(struct p9_fid_table *t, size_t bytes);
void p9_fid_xattr_release(struct p9_fid_table *t, size_t bytes);

/*
 * Calls fn on every fid with a reference held, outside the table lock
 * (fn may lock the fid). For rename fix-ups.
 */
void p9_fid_for_each(struct p9_fid_table *t, void (*fn)(struct p9_fid *fid, void *arg), void *arg);

/*
 * Replaces where the fid's entry lives: dirfd is adopted (closed on
 * failure too), name copied; (-1, NULL) forgets it. Fid lock held. 0 or -errno.
 */
must_check int p9_fid_set_entry(struct p9_fid *fid, int dirfd, const char *name);

/* Forgets where the fid's entry lives (it was removed or replaced). Fid lock held. */
void p9_fid_forget_entry(struct p9_fid *fid);

/* The descriptor naming the file itself: ofd when open, else fd. Fid lock held. */
int p9_fid_node_fd(const struct p9_fid *fid);

#endif
