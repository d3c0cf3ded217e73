/*
 * The virtio-9p device model (reference/protocols.md 7.4); see virtio_9p.h.
 *
 * Flow: a kick pops chains (virtq.c) into request slots; a Tflush is
 * answered or parked on the request it names, everything else goes to the
 * worker pool. A worker runs p9_server_handle() on the chain's buffers and
 * pushes the reply (and any parked Rflush) itself if the device lock is
 * free; otherwise it puts the slot on the done list and writes the
 * eventfd, and done_ready() (loop thread) pushes the batch and notifies
 * once.
 *
 * Reset: the generation moves on, queued requests are dropped unrun by
 * their workers, the device waits until no worker is inside a request,
 * and every slot is free again; the 9P session ends (all fids dropped).
 */
#include "devices/virtio_9p/virtio_9p.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"
#include "devices/registry.h"
#include "vm/vm.h"

static struct virtio_9p *p9_of(struct virtio_device *vdev)
{
	return container_of(vdev, struct virtio_9p, vdev);
}

/* ---- request slots (device lock held) ---- */

static void slots_reset(struct virtio_9p *dev)
{
	dev->free = NULL;
	for (unsigned int i = VIRTIO_9P_QUEUE_SIZE; i > 0; i--) {
		struct virtio_9p_req *r = &dev->reqs[i - 1];

		r->in_flight = false;
		r->flushes = NULL;
		r->next = dev->free;
		dev->free = r;
	}
}

static void slot_put(struct virtio_9p *dev, struct virtio_9p_req *r)
{
	r->in_flight = false;
	r->flushes = NULL;
	r->next = dev->free;
	dev->free = r;
}

/* The request in flight with tag `tag` (not a parked Tflush), or NULL. */
static struct virtio_9p_req *find_tag(struct virtio_9p *dev, uint16_t tag)
{
	for (unsigned int i = 0; i < VIRTIO_9P_QUEUE_SIZE; i++) {
		struct virtio_9p_req *r = &dev->reqs[i];

		if (r->in_flight && r->io.out_len >= P9_HDR_SIZE && r->tag == tag)
			return r;
	}
	return NULL;
}

/* ---- workers ---- */

/* Pushes one finished request and the Rflush of every flush parked on it. */
static void finish(struct virtio_9p *dev, struct virtio_9p_req *r);

/*
 * The common case: the device lock is free, so the worker pushes the reply
 * itself, without a trip through the event loop. A reset holds the lock
 * while it waits for the workers, so this never runs during one. Returns
 * false if the lock is taken (the loop will push it).
 */
static bool push_now(struct virtio_9p *dev, struct virtio_9p_req *r)
{
	if (pthread_mutex_trylock(&dev->vdev.lock))
		return false;
	pthread_mutex_lock(&dev->mu);
	if (--dev->busy == 0)
		pthread_cond_broadcast(&dev->idle);
	pthread_mutex_unlock(&dev->mu);
	if (virtio_dev_running(&dev->vdev)) {
		finish(dev, r);
		virtio_dev_notify(&dev->vdev, 0);
	} else {
		slot_put(dev, r);
	}
	pthread_mutex_unlock(&dev->vdev.lock);
	return true;
}

static void work(struct work_item *item, unsigned int worker)
{
	struct virtio_9p_req *r = container_of(item, struct virtio_9p_req, work);
	struct virtio_9p *dev = r->dev;
	uint64_t one = 1;
	bool current;

	pthread_mutex_lock(&dev->mu);
	current = r->gen == dev->gen;
	pthread_mutex_unlock(&dev->mu);
	r->reply_len = current ? p9_server_handle(dev->srv, &dev->ctx[worker], &r->io) : 0;
	if (current && push_now(dev, r))
		return;
	pthread_mutex_lock(&dev->mu);
	r->next = dev->done;
	dev->done = r;
	if (--dev->busy == 0)
		pthread_cond_broadcast(&dev->idle);
	pthread_mutex_unlock(&dev->mu);
	if (write(dev->done_fd, &one, sizeof(one)) < 0)
		log_guest_once("%s: cannot signal a completion", dev->name);
}

static void finish(struct virtio_9p *dev, struct virtio_9p_req *r)
{
	struct virtq *vq = &dev->vdev.queues[0];

	virtq_push(vq, r->head, (uint32_t)r->reply_len);
	while (r->flushes) {
		struct virtio_9p_req *f = r->flushes;

		r->flushes = f->next;
		virtq_push(vq, f->head, (uint32_t)p9_server_rflush(&f->io, f->tag));
		slot_put(dev, f);
	}
	slot_put(dev, r);
}

static void done_ready(void *opaque, uint32_t events)
{
	struct virtio_9p *dev = opaque;
	struct virtio_9p_req *list, *rev = NULL;
	uint64_t n;

	(void)events;
	if (read(dev->done_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_guest_once("%s: completion eventfd: %s", dev->name, strerror(errno));
	pthread_mutex_lock(&dev->vdev.lock);
	pthread_mutex_lock(&dev->mu);
	list = dev->done;
	dev->done = NULL;
	pthread_mutex_unlock(&dev->mu);
	while (list) { /* oldest first */
		struct virtio_9p_req *next = list->next;

		list->next = rev;
		rev = list;
		list = next;
	}
	for (; rev; rev = list) {
		list = rev->next;
		if (virtio_dev_running(&dev->vdev))
			finish(dev, rev);
		else
			slot_put(dev, rev);
	}
	virtio_dev_notify(&dev->vdev, 0);
	pthread_mutex_unlock(&dev->vdev.lock);
}

/* ---- the queue ---- */

/* Answers or parks a Tflush; true if the request was one. */
static bool take_flush(struct virtio_9p *dev, struct virtio_9p_req *r)
{
	uint16_t tag, oldtag;
	struct virtio_9p_req *old;

	if (!p9_server_peek_flush(&r->io, &tag, &oldtag))
		return false;
	old = find_tag(dev, oldtag);
	if (old) {
		r->tag = tag;
		r->next = old->flushes;
		old->flushes = r;
		return true;
	}
	virtq_push(&dev->vdev.queues[0], r->head, (uint32_t)p9_server_rflush(&r->io, tag));
	slot_put(dev, r);
	return true;
}

static void start(struct virtio_9p *dev, struct virtio_9p_req *r)
{
	uint8_t hdr[P9_HDR_SIZE];

	/* The tag, for Tflush lookups; the worker parses everything again. */
	memset(hdr, 0, sizeof(hdr));
	for (size_t off = 0, i = 0; i < r->io.n_out && off < sizeof(hdr); i++) {
		size_t n = MIN(r->io.out[i].iov_len, sizeof(hdr) - off);

		memcpy(hdr + off, r->io.out[i].iov_base, n);
		off += n;
	}
	r->tag = (uint16_t)(hdr[5] | hdr[6] << 8);
	r->gen = dev->gen;
	r->in_flight = true;
	pthread_mutex_lock(&dev->mu);
	dev->busy++;
	pthread_mutex_unlock(&dev->mu);
	work_pool_submit(&dev->pool, &r->work);
}

/* Handles one popped chain (virtq_drain's `take`). Returns false if the
 * device now needs a reset. */
static bool take_chain(void *opaque, const struct virtq_chain *c)
{
	struct virtio_9p *dev = opaque;
	struct virtio_9p_req *r = dev->free;

	if (!r) {
		virtio_dev_set_needs_reset(&dev->vdev, "more requests than queue entries");
		return false;
	}
	/* Guest-controlled: the chain's layout (virtq.c bounds it by the queue size). */
	if ((unsigned int)c->n_out + c->n_in > VIRTIO_9P_QUEUE_SIZE) {
		virtio_dev_set_needs_reset(&dev->vdev, "9p request longer than the queue");
		return false;
	}
	if (c->out_len < P9_HDR_SIZE || c->in_len < P9_HDR_SIZE) {
		virtio_dev_set_needs_reset(&dev->vdev, "9p request without room for a header");
		return false;
	}
	dev->free = r->next;
	memcpy(r->iov, c->iov, (size_t)(c->n_out + c->n_in) * sizeof(*r->iov));
	r->head = c->head;
	r->flushes = NULL;
	r->io = (struct p9_io){r->iov, c->n_out, c->out_len, r->iov + c->n_out, c->n_in, c->in_len};
	if (!take_flush(dev, r))
		start(dev, r);
	return true;
}

static void p9_queue_notify(struct virtio_device *vdev, unsigned int q)
{
	struct virtio_9p *dev = p9_of(vdev);

	if (virtq_drain(&vdev->queues[q], &dev->chain, take_chain, dev) < 0)
		virtio_dev_set_needs_reset(vdev, "bad descriptor chain");
	virtio_dev_notify(vdev, q); /* Rflush answered at once */
}

/* ---- the rest of virtio_dev_ops ---- */

static void p9_config_read(struct virtio_device *vdev, uint32_t offset, void *data, uint32_t len)
{
	const struct virtio_9p *dev = p9_of(vdev);

	if (offset > vdev->config_size || len > vdev->config_size - offset) {
		memset(data, 0, len);
		return;
	}
	memcpy(data, dev->config + offset, len);
}

static void p9_reset(struct virtio_device *vdev)
{
	struct virtio_9p *dev = p9_of(vdev);

	pthread_mutex_lock(&dev->mu);
	dev->gen++;
	while (dev->busy)
		pthread_cond_wait(&dev->idle, &dev->mu);
	dev->done = NULL;
	pthread_mutex_unlock(&dev->mu);
	slots_reset(dev);
	p9_server_reset(dev->srv);
}

static void release(struct virtio_9p *dev)
{
	if (dev->pool.threads)
		work_pool_stop(&dev->pool);
	if (dev->done_fd >= 0) {
		if (dev->loop)
			event_loop_remove(dev->loop, dev->done_fd);
		close(dev->done_fd);
	}
	for (unsigned int i = 0; i < VIRTIO_9P_WORKERS; i++)
		p9_server_ctx_destroy(&dev->ctx[i]);
	p9_server_destroy(dev->srv);
	if (dev->reqs)
		free(dev->reqs[0].iov);
	free(dev->reqs);
	pthread_cond_destroy(&dev->idle);
	pthread_mutex_destroy(&dev->mu);
	free(dev);
}

static void p9_destroy(struct virtio_device *vdev)
{
	struct virtio_9p *dev = p9_of(vdev);

	virtio_dev_destroy(vdev);
	release(dev);
}

static const struct virtio_dev_ops p9_ops = {
    .config_read = p9_config_read,
    .config_write = NULL, /* the tag is read-only */
    .activate = NULL,
    .reset = p9_reset,
    .queue_notify = p9_queue_notify,
    .destroy = p9_destroy,
};

/* ---- creation ---- */

static int alloc_slots(struct virtio_9p *dev)
{
	struct iovec *iov =
	    calloc((size_t)VIRTIO_9P_QUEUE_SIZE * VIRTIO_9P_QUEUE_SIZE, sizeof(*iov));

	dev->reqs = calloc(VIRTIO_9P_QUEUE_SIZE, sizeof(*dev->reqs));
	if (!dev->reqs || !iov) {
		free(iov);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < VIRTIO_9P_QUEUE_SIZE; i++) {
		dev->reqs[i].dev = dev;
		dev->reqs[i].iov = iov + (size_t)i * VIRTIO_9P_QUEUE_SIZE;
		dev->reqs[i].work.fn = work;
	}
	slots_reset(dev);
	return 0;
}

static void set_config(struct virtio_9p *dev, const char *tag)
{
	size_t len = strlen(tag);
	uint16_t le = htole16((uint16_t)len);

	memcpy(dev->config, &le, sizeof(le));
	memcpy(dev->config + sizeof(le), tag, len);
}

/* Everything but the virtio part; one log line on failure. */
static int setup(struct virtio_9p *dev, const struct shared_dir_config *sd, struct event_loop *loop)
{
	char err[512];
	int ret = p9_server_create(sd, &dev->srv, err, sizeof(err));

	if (ret) {
		log_error("--shared-dir %s: %s", sd->tag, err);
		return ret;
	}
	ret = alloc_slots(dev);
	for (unsigned int i = 0; !ret && i < VIRTIO_9P_WORKERS; i++)
		ret = p9_server_ctx_init(&dev->ctx[i], dev->srv);
	dev->done_fd = ret ? -1 : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!ret && dev->done_fd < 0)
		ret = -errno;
	if (!ret && loop && !(ret = event_loop_add(loop, dev->done_fd, EPOLLIN, done_ready, dev)))
		dev->loop = loop;
	if (!ret)
		ret = work_pool_start(&dev->pool, VIRTIO_9P_WORKERS, "cove-9p");
	if (ret)
		log_error("%s: cannot start: %s", dev->name, strerror(-ret));
	return ret;
}

int virtio_9p_create(const struct shared_dir_config *sd, const struct guest_mem *mem,
		     struct event_loop *loop, struct virtio_9p **out)
{
	struct virtio_9p *dev = calloc(1, sizeof(*dev));
	size_t tag_len = strlen(sd->tag);
	int ret;

	if (!dev)
		return -ENOMEM;
	assert(tag_len > 0 && tag_len <= SHARED_DIR_TAG_MAX);
	dev->done_fd = -1;
	pthread_mutex_init(&dev->mu, NULL);
	pthread_cond_init(&dev->idle, NULL);
	snprintf(dev->name, sizeof(dev->name), "virtio-9p (%s)", sd->tag);
	set_config(dev, sd->tag);
	ret = setup(dev, sd, loop);
	if (!ret)
		ret = virtio_dev_init(&dev->vdev, &p9_ops, dev->name, VIRTIO_ID_9P,
				      1ULL << VIRTIO_9P_MOUNT_TAG,
				      (uint32_t)(sizeof(struct virtio_9p_config) + tag_len), 1,
				      VIRTIO_9P_QUEUE_SIZE, mem, loop);
	if (ret) {
		release(dev);
		return ret;
	}
	log_info("%s: %s, %s%s, msize up to %u", dev->name, sd->path,
		 vm_config_shared_dir_model_name(sd->model), sd->ro ? ", read-only" : "",
		 sd->msize);
	*out = dev;
	return 0;
}

int virtio_9p_create_all(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;

	for (unsigned int i = 0; i < cfg->num_shared_dirs; i++) {
		struct virtio_9p *dev;
		int ret = virtio_9p_create(&cfg->shared_dirs[i], &vm->mem, &vm->loop, &dev);

		if (ret)
			return ret;
		ret = vm_attach_virtio(vm, &dev->vdev);
		if (ret) {
			p9_destroy(&dev->vdev);
			return ret;
		}
	}
	return 0;
}
