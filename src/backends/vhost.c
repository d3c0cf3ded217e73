/*
 * vhost character devices (Linux include/uapi/linux/vhost.h); see vhost.h.
 */
#include "backends/vhost.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/log.h"

static void on_call(void *opaque, uint32_t events)
{
	struct vhost_queue *q = opaque;
	uint64_t n;

	(void)events;
	if (read(q->call_fd, &n, sizeof(n)) == sizeof(n))
		q->vhost->call(q->vhost->opaque, q->index);
}

static int make_fds(struct vhost *v)
{
	for (unsigned int i = 0; i < v->nvqs; i++) {
		struct vhost_queue *q = &v->vqs[i];
		int err;

		q->vhost = v;
		q->index = i;
		q->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		q->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (q->kick_fd < 0 || q->call_fd < 0)
			return -errno;
		if (!v->loop)
			continue;
		err = event_loop_add(v->loop, q->call_fd, EPOLLIN, on_call, q);
		if (err)
			return err;
		q->watched = true;
	}
	return 0;
}

int vhost_open(struct vhost *v, const char *path, unsigned int nvqs, struct event_loop *loop,
	       vhost_call_fn call, void *opaque, char *err, size_t errlen)
{
	int ret;

	memset(v, 0, sizeof(*v));
	for (unsigned int i = 0; i < VHOST_MAX_VQS; i++)
		v->vqs[i].kick_fd = v->vqs[i].call_fd = -1;
	snprintf(v->path, sizeof(v->path), "%s", path);
	v->nvqs = nvqs;
	v->loop = loop;
	v->call = call;
	v->opaque = opaque;
	v->fd = open(path, O_RDWR | O_CLOEXEC);
	if (v->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open %s: %s%s", path, strerror(errno),
			 errno == ENOENT ? " (is the vhost module loaded?)" : "");
		return ret;
	}
	if (ioctl(v->fd, VHOST_SET_OWNER) < 0 ||
	    ioctl(v->fd, VHOST_GET_FEATURES, &v->features) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: not a usable vhost device: %s", path, strerror(errno));
		goto close;
	}
	ret = make_fds(v);
	if (ret) {
		snprintf(err, errlen, "%s: cannot set up its eventfds: %s", path, strerror(-ret));
		goto close;
	}
	return 0;

close:
	vhost_close(v);
	return ret;
}

void vhost_close(struct vhost *v)
{
	for (unsigned int i = 0; i < VHOST_MAX_VQS; i++) {
		struct vhost_queue *q = &v->vqs[i];

		if (q->watched)
			event_loop_remove(v->loop, q->call_fd);
		q->watched = false;
		if (q->kick_fd >= 0)
			close(q->kick_fd);
		if (q->call_fd >= 0)
			close(q->call_fd);
		q->kick_fd = q->call_fd = -1;
	}
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
}

int vhost_set_features(struct vhost *v, uint64_t features)
{
	features &= v->features;
	return ioctl(v->fd, VHOST_SET_FEATURES, &features) < 0 ? -errno : 0;
}

int vhost_set_mem(struct vhost *v, const struct guest_mem *gm)
{
	struct vhost_memory *m =
	    calloc(1, sizeof(*m) + gm->count * sizeof(struct vhost_memory_region));
	int ret = 0;

	if (!m)
		return -ENOMEM;
	m->nregions = gm->count;
	for (unsigned int i = 0; i < gm->count; i++) {
		m->regions[i].guest_phys_addr = gm->regions[i].gpa;
		m->regions[i].memory_size = gm->regions[i].size;
		m->regions[i].userspace_addr = (uint64_t)(uintptr_t)gm->regions[i].hva;
	}
	if (ioctl(v->fd, VHOST_SET_MEM_TABLE, m) < 0)
		ret = -errno;
	free(m);
	return ret;
}

int vhost_start_queue(struct vhost *v, unsigned int i, const struct virtq *vq)
{
	struct vhost_vring_state num = {.index = i, .num = vq->size};
	struct vhost_vring_state base = {.index = i, .num = 0};
	struct vhost_vring_addr addr = {
	    .index = i,
	    .desc_user_addr = (uint64_t)(uintptr_t)vq->desc,
	    .avail_user_addr = (uint64_t)(uintptr_t)vq->avail,
	    .used_user_addr = (uint64_t)(uintptr_t)vq->used,
	};
	struct vhost_vring_file kick = {.index = i, .fd = v->vqs[i].kick_fd};
	struct vhost_vring_file call = {.index = i, .fd = v->vqs[i].call_fd};

	if (i >= v->nvqs || !vq->enabled)
		return -EINVAL;
	if (ioctl(v->fd, VHOST_SET_VRING_NUM, &num) < 0 ||
	    ioctl(v->fd, VHOST_SET_VRING_BASE, &base) < 0 ||
	    ioctl(v->fd, VHOST_SET_VRING_ADDR, &addr) < 0 ||
	    ioctl(v->fd, VHOST_SET_VRING_KICK, &kick) < 0 ||
	    ioctl(v->fd, VHOST_SET_VRING_CALL, &call) < 0)
		return -errno;
	v->vqs[i].started = true;
	vhost_kick(v, i); /* buffers may be there already */
	return 0;
}

void vhost_stop_queue(struct vhost *v, unsigned int i)
{
	struct vhost_vring_state base = {.index = i};

	if (i >= v->nvqs || !v->vqs[i].started)
		return;
	if (ioctl(v->fd, VHOST_GET_VRING_BASE, &base) < 0)
		log_warn("%s: cannot stop queue %u: %s", v->path, i, strerror(errno));
	v->vqs[i].started = false;
}

void vhost_kick(struct vhost *v, unsigned int i)
{
	uint64_t one = 1;

	if (i < v->nvqs && v->vqs[i].started && write(v->vqs[i].kick_fd, &one, sizeof(one)) < 0)
		log_warn("%s: cannot kick queue %u: %s", v->path, i, strerror(errno));
}
