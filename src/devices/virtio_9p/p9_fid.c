/*
 * The fid table: a hash table of reference-counted fids under one mutex;
 * see p9_fid.h for the lifetime rules.
 */
#include "devices/virtio_9p/p9_fid.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/virtio_9p/p9_proto.h"

static unsigned int bucket_of(uint32_t num)
{
	return (num * 2654435761u) >> 20; /* 12 bits: P9_FID_BUCKETS */
}

_Static_assert(P9_FID_BUCKETS == 4096, "bucket_of() yields 12 bits");

int p9_fid_table_init(struct p9_fid_table *t, unsigned int max, size_t xattr_max)
{
	memset(t, 0, sizeof(*t));
	t->max = max;
	t->xattr_max = xattr_max;
	return -pthread_mutex_init(&t->lock, NULL);
}

struct p9_fid *p9_fid_new(uint32_t num)
{
	struct p9_fid *fid = calloc(1, sizeof(*fid));

	if (!fid)
		return NULL;
	if (pthread_mutex_init(&fid->lock, NULL)) {
		free(fid);
		return NULL;
	}
	fid->num = num;
	fid->refs = 1;
	fid->fd = fid->ofd = fid->dirfd = -1;
	return fid;
}

static void close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

static void fid_free(struct p9_fid_table *t, struct p9_fid *fid)
{
	close_fd(fid->fd);
	close_fd(fid->ofd);
	close_fd(fid->dirfd);
	free(fid->name);
	if (fid->xattr) {
		p9_fid_xattr_release(t, fid->xattr->reserved);
		free(fid->xattr->buf);
		free(fid->xattr);
	}
	pthread_mutex_destroy(&fid->lock);
	free(fid);
}

int p9_fid_insert(struct p9_fid_table *t, struct p9_fid *fid)
{
	unsigned int b = bucket_of(fid->num);
	int ret = 0;

	if (fid->num == P9_NOFID)
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	for (struct p9_fid *f = t->buckets[b]; f; f = f->next) {
		if (f->num == fid->num) {
			ret = -EEXIST;
			goto unlock;
		}
	}
	if (t->count >= t->max) {
		ret = -EMFILE;
		goto unlock;
	}
	fid->next = t->buckets[b];
	t->buckets[b] = fid;
	t->count++;
unlock:
	pthread_mutex_unlock(&t->lock);
	return ret;
}

struct p9_fid *p9_fid_get(struct p9_fid_table *t, uint32_t num)
{
	struct p9_fid *f;

	pthread_mutex_lock(&t->lock);
	for (f = t->buckets[bucket_of(num)]; f; f = f->next) {
		if (f->num == num) {
			f->refs++;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return f;
}

void p9_fid_put(struct p9_fid_table *t, struct p9_fid *fid)
{
	bool last;

	if (!fid)
		return;
	pthread_mutex_lock(&t->lock);
	last = --fid->refs == 0;
	pthread_mutex_unlock(&t->lock);
	if (last)
		fid_free(t, fid);
}

struct p9_fid *p9_fid_remove(struct p9_fid_table *t, uint32_t num)
{
	struct p9_fid **pp, *f = NULL;

	pthread_mutex_lock(&t->lock);
	for (pp = &t->buckets[bucket_of(num)]; *pp; pp = &(*pp)->next) {
		if ((*pp)->num == num) {
			f = *pp;
			*pp = f->next;
			f->next = NULL;
			t->count--;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return f;
}

/* Unlinks every fid; returns them as a list through `next`. */
static struct p9_fid *take_all(struct p9_fid_table *t)
{
	struct p9_fid *list = NULL;

	pthread_mutex_lock(&t->lock);
	for (unsigned int b = 0; b < P9_FID_BUCKETS; b++) {
		while (t->buckets[b]) {
			struct p9_fid *f = t->buckets[b];

			t->buckets[b] = f->next;
			f->next = list;
			list = f;
		}
	}
	t->count = 0;
	pthread_mutex_unlock(&t->lock);
	return list;
}

void p9_fid_table_clear(struct p9_fid_table *t)
{
	struct p9_fid *f = take_all(t);

	while (f) {
		struct p9_fid *next = f->next;

		p9_fid_put(t, f);
		f = next;
	}
}

void p9_fid_table_destroy(struct p9_fid_table *t)
{
	p9_fid_table_clear(t);
	pthread_mutex_destroy(&t->lock);
}

int p9_fid_xattr_reserve(struct p9_fid_table *t, size_t bytes)
{
	int ret = 0;

	pthread_mutex_lock(&t->lock);
	if (bytes > t->xattr_max - t->xattr_bytes)
		ret = -ENOSPC;
	else
		t->xattr_bytes += bytes;
	pthread_mutex_unlock(&t->lock);
	return ret;
}

void p9_fid_xattr_release(struct p9_fid_table *t, size_t bytes)
{
	pthread_mutex_lock(&t->lock);
	t->xattr_bytes -= bytes;
	pthread_mutex_unlock(&t->lock);
}

/* A referenced snapshot of every fid; *n its length. NULL when empty or out of memory. */
static struct p9_fid **snapshot(struct p9_fid_table *t, unsigned int *n)
{
	struct p9_fid **all;

	*n = 0;
	pthread_mutex_lock(&t->lock);
	all = t->count ? malloc(t->count * sizeof(*all)) : NULL;
	for (unsigned int b = 0; all && b < P9_FID_BUCKETS; b++) {
		for (struct p9_fid *f = t->buckets[b]; f; f = f->next) {
			f->refs++;
			all[(*n)++] = f;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return all;
}

void p9_fid_for_each(struct p9_fid_table *t, void (*fn)(struct p9_fid *fid, void *arg), void *arg)
{
	unsigned int n;
	struct p9_fid **all = snapshot(t, &n);

	for (unsigned int i = 0; i < n; i++) {
		fn(all[i], arg);
		p9_fid_put(t, all[i]);
	}
	free(all);
}

int p9_fid_set_entry(struct p9_fid *fid, int dirfd, const char *name)
{
	char *copy = NULL;
	struct stat st = {0};

	if ((name && !(copy = strdup(name))) || (dirfd >= 0 && fstat(dirfd, &st) < 0)) {
		int e = copy ? -errno : -ENOMEM;

		free(copy);
		close_fd(dirfd);
		return e;
	}
	close_fd(fid->dirfd);
	free(fid->name);
	fid->dirfd = dirfd;
	fid->name = copy;
	fid->dir_dev = st.st_dev;
	fid->dir_ino = st.st_ino;
	return 0;
}

void p9_fid_forget_entry(struct p9_fid *fid)
{
	close_fd(fid->dirfd);
	free(fid->name);
	fid->dirfd = -1;
	fid->name = NULL;
}

int p9_fid_node_fd(const struct p9_fid *fid)
{
	return fid->ofd >= 0 ? fid->ofd : fid->fd;
}
