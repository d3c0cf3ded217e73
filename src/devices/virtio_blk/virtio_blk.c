/*
 * The virtio-blk device model (virtio 1.x section 5.2); see virtio_blk.h.
 *
 * Flow: a kick pops chains (virtq.c), virtio_blk_req_parse() turns each
 * into a request or an immediate status, and accepted I/O goes to the disk
 * engine in a slot of the queue's pool. The engine reports completions on
 * the event loop: blk_ready() takes the device lock, reaps them, writes
 * the status bytes, pushes the used entries and notifies once per queue.
 */
#include "devices/virtio_blk/virtio_blk.h"

#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "devices/registry.h"
#include "vm/vm.h"

static struct virtio_blk *blk_of(struct virtio_device *vdev)
{
	return container_of(vdev, struct virtio_blk, vdev);
}

/* ---- request slots ---- */

static void pool_reset(struct virtio_blk_queue *q)
{
	q->free = NULL;
	q->in_flight = 0;
	q->notify = false;
	for (unsigned int i = VIRTIO_BLK_QUEUE_SIZE; i > 0; i--) {
		q->slots[i - 1].next_free = q->free;
		q->free = &q->slots[i - 1];
	}
}

static struct virtio_blk_slot *slot_get(struct virtio_blk_queue *q)
{
	struct virtio_blk_slot *s = q->free;

	if (s) {
		q->free = s->next_free;
		q->in_flight++;
	}
	return s;
}

static void slot_put(struct virtio_blk *blk, struct virtio_blk_slot *s)
{
	struct virtio_blk_queue *q = &blk->queues[s->queue];

	s->next_free = q->free;
	q->free = s;
	q->in_flight--;
}

/* Writes the status, returns the chain to the driver, frees the slot. */
static void complete(struct virtio_blk *blk, struct virtio_blk_slot *s, uint8_t status)
{
	*s->status_ptr = status;
	virtq_push(&blk->vdev.queues[s->queue], s->head,
		   status == VIRTIO_BLK_S_OK ? s->used_len : 1);
	blk->queues[s->queue].notify = true;
	slot_put(blk, s);
}

static void notify_queues(struct virtio_blk *blk)
{
	for (unsigned int q = 0; q < blk->num_queues; q++) {
		if (blk->queues[q].notify) {
			blk->queues[q].notify = false;
			virtio_dev_notify(&blk->vdev, q);
		}
	}
}

/* ---- completions (device lock held) ---- */

static void io_done(struct disk_io *io, void *opaque)
{
	struct virtio_blk_slot *s = container_of(io, struct virtio_blk_slot, io);
	struct virtio_blk *blk = opaque;

	if (!virtio_dev_running(&blk->vdev)) {
		slot_put(blk, s); /* needs reset: the queues are stopped */
		return;
	}
	if (io->result)
		log_debug("%s: I/O error: %s", blk->name, strerror(-io->result));
	complete(blk, s, io->result ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
}

/* Reset: the request is abandoned, guest memory is not touched. */
static void io_drop(struct disk_io *io, void *opaque)
{
	slot_put(opaque, container_of(io, struct virtio_blk_slot, io));
}

static void blk_ready(void *opaque)
{
	struct virtio_blk *blk = opaque;

	pthread_mutex_lock(&blk->vdev.lock);
	disk_reap(&blk->disk, io_done, blk);
	notify_queues(blk);
	pthread_mutex_unlock(&blk->vdev.lock);
}

/* ---- requests ---- */

/* GET_ID: the parser sized the data to at most VIRTIO_BLK_ID_BYTES. */
static void get_id(struct virtio_blk *blk, struct virtio_blk_slot *s,
		   const struct virtio_blk_req *req)
{
	uint32_t off = 0;

	for (unsigned int i = 0; i < req->n_iov && off < req->data_len; i++) {
		uint32_t n =
		    (uint32_t)MIN((uint64_t)s->iov[i].iov_len, (uint64_t)(req->data_len - off));

		memcpy(s->iov[i].iov_base, blk->id + off, n);
		off += n;
	}
	s->used_len = off + 1;
	complete(blk, s, VIRTIO_BLK_S_OK);
}

/*
 * Fills the disk request for an accepted IN/OUT/FLUSH/DISCARD/WRITE_ZEROES.
 * Returns false when there is nothing to do (zero length): complete at once.
 */
static bool prepare_io(struct virtio_blk_slot *s, const struct virtio_blk_req *req)
{
	struct disk_io *io = &s->io;

	memset(io, 0, sizeof(*io));
	s->used_len = 1;
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		io->op = req->type == VIRTIO_BLK_T_IN ? DISK_READ : DISK_WRITE;
		io->offset = req->sector << VIRTIO_BLK_SECTOR_SHIFT;
		io->iov = s->iov;
		io->iovcnt = req->n_iov;
		if (req->type == VIRTIO_BLK_T_IN)
			s->used_len = req->data_len + 1;
		return req->data_len > 0;
	case VIRTIO_BLK_T_FLUSH:
		io->op = DISK_FLUSH;
		return true;
	default: /* DISCARD, WRITE_ZEROES: the parser accepts nothing else */
		io->op = req->type == VIRTIO_BLK_T_DISCARD ? DISK_DISCARD : DISK_WRITE_ZEROES;
		io->offset = req->range_sector << VIRTIO_BLK_SECTOR_SHIFT;
		io->len = (uint64_t)req->range_sectors << VIRTIO_BLK_SECTOR_SHIFT;
		io->unmap = req->unmap;
		return req->range_sectors > 0;
	}
}

/* Starts an accepted request: disk I/O, or an answer at once. */
static void start(struct virtio_blk *blk, struct virtio_blk_slot *s,
		  const struct virtio_blk_req *req)
{
	if (req->type == VIRTIO_BLK_T_GET_ID)
		get_id(blk, s, req);
	else if (prepare_io(s, req))
		disk_submit(&blk->disk, &s->io);
	else
		complete(blk, s, VIRTIO_BLK_S_OK);
}

/* The queue virtq_drain() is serving, for handle_chain(). */
struct kick {
	struct virtio_blk *blk;
	unsigned int q;
};

/* Handles one popped chain (virtq_drain's `take`). Returns false if the
 * device now needs a reset. */
static bool handle_chain(void *opaque, const struct virtq_chain *c)
{
	const struct kick *k = opaque;
	struct virtio_blk *blk = k->blk;
	struct virtio_blk_slot *s = slot_get(&blk->queues[k->q]);
	struct virtio_blk_req req;

	if (!s) {
		/* More chains than the queue has entries: the ring was forged. */
		virtio_dev_set_needs_reset(&blk->vdev,
					   "more requests in flight than queue entries");
		return false;
	}
	if (virtio_blk_req_parse(c, &blk->limits, s->iov, VIRTIO_BLK_QUEUE_SIZE, &req)) {
		slot_put(blk, s);
		virtio_dev_set_needs_reset(&blk->vdev, "request without a writable status byte");
		return false;
	}
	s->head = c->head;
	s->status_ptr = req.status_ptr;
	if (req.status != VIRTIO_BLK_S_OK)
		complete(blk, s, req.status);
	else
		start(blk, s, &req);
	return true;
}

static void blk_queue_notify(struct virtio_device *vdev, unsigned int q)
{
	struct virtio_blk *blk = blk_of(vdev);
	struct kick k = {blk, q};

	if (virtq_drain(&vdev->queues[q], &blk->chain, handle_chain, &k) < 0)
		virtio_dev_set_needs_reset(vdev, "bad descriptor chain");
	disk_kick(&blk->disk);
	notify_queues(blk);
}

/* ---- the rest of virtio_dev_ops ---- */

static void blk_config_read(struct virtio_device *vdev, uint32_t offset, void *data, uint32_t len)
{
	const struct virtio_blk *blk = blk_of(vdev);

	if (offset > sizeof(blk->config) || len > sizeof(blk->config) - offset) {
		memset(data, 0, len); /* the transport checks; stay safe anyway */
		return;
	}
	memcpy(data, (const uint8_t *)&blk->config + offset, len);
}

static int blk_activate(struct virtio_device *vdev)
{
	struct virtio_blk *blk = blk_of(vdev);

	blk->limits.discard = virtio_dev_has_feature(vdev, VIRTIO_BLK_F_DISCARD);
	blk->limits.write_zeroes = virtio_dev_has_feature(vdev, VIRTIO_BLK_F_WRITE_ZEROES);
	return 0;
}

static void blk_reset(struct virtio_device *vdev)
{
	struct virtio_blk *blk = blk_of(vdev);

	/* The driver may reuse the buffers once it reads status 0: wait for the I/O. */
	disk_drain(&blk->disk, io_drop, blk);
	for (unsigned int q = 0; q < blk->num_queues; q++)
		pool_reset(&blk->queues[q]);
	blk->limits.discard = false;
	blk->limits.write_zeroes = false;
}

static void free_queues(struct virtio_blk *blk)
{
	for (unsigned int q = 0; blk->queues && q < blk->num_queues; q++) {
		if (blk->queues[q].slots)
			free(blk->queues[q].slots[0].iov);
		free(blk->queues[q].slots);
	}
	free(blk->queues);
	blk->queues = NULL;
}

static void blk_destroy(struct virtio_device *vdev)
{
	struct virtio_blk *blk = blk_of(vdev);

	disk_drain(&blk->disk, io_drop, blk);
	disk_close(&blk->disk);
	free_queues(blk);
	virtio_dev_destroy(vdev);
	free(blk);
}

static const struct virtio_dev_ops blk_ops = {
    .config_read = blk_config_read,
    .config_write = NULL, /* writeback is fixed: CONFIG_WCE is not offered */
    .activate = blk_activate,
    .reset = blk_reset,
    .queue_notify = blk_queue_notify,
    .destroy = blk_destroy,
};

/* ---- creation ---- */

static int alloc_queues(struct virtio_blk *blk, unsigned int num_queues)
{
	blk->num_queues = num_queues;
	blk->queues = calloc(num_queues, sizeof(*blk->queues));
	if (!blk->queues)
		return -ENOMEM;
	for (unsigned int q = 0; q < num_queues; q++) {
		struct virtio_blk_queue *bq = &blk->queues[q];
		/* Untouched pages cost nothing: calloc maps large blocks lazily. */
		struct iovec *iov =
		    calloc((size_t)VIRTIO_BLK_QUEUE_SIZE * VIRTIO_BLK_QUEUE_SIZE, sizeof(*iov));

		bq->slots = calloc(VIRTIO_BLK_QUEUE_SIZE, sizeof(*bq->slots));
		if (!bq->slots || !iov) {
			free(iov);
			return -ENOMEM;
		}
		for (unsigned int i = 0; i < VIRTIO_BLK_QUEUE_SIZE; i++) {
			bq->slots[i].blk = blk;
			bq->slots[i].queue = q;
			bq->slots[i].iov = iov + (size_t)i * VIRTIO_BLK_QUEUE_SIZE;
		}
		pool_reset(bq);
	}
	return 0;
}

/* 64-bit FNV-1a, for the default serial. */
static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	return h;
}

/*
 * The GET_ID string: --block's id, else "cove-" and 15 hex digits derived
 * from the image's canonical path (stable across runs, distinct per image).
 */
static void set_id(struct virtio_blk *blk, const struct block_config *bc)
{
	char buf[VIRTIO_BLK_ID_BYTES + 1];
	char *real;

	memset(blk->id, 0, sizeof(blk->id));
	if (bc->id[0]) {
		memcpy(blk->id, bc->id, strnlen(bc->id, sizeof(blk->id)));
		return;
	}
	real = realpath(bc->path, NULL);
	snprintf(buf, sizeof(buf), "cove-%015llx",
		 (unsigned long long)(fnv1a(real ? real : bc->path) >> 4));
	free(real);
	memcpy(blk->id, buf, sizeof(blk->id));
}

static void set_config(struct virtio_blk *blk, const struct block_config *bc)
{
	struct virtio_blk_config *c = &blk->config;
	uint64_t sectors = blk->disk.size >> VIRTIO_BLK_SECTOR_SHIFT;

	memset(c, 0, sizeof(*c));
	c->capacity = htole64(sectors);
	c->size_max = htole32(VIRTIO_BLK_SIZE_MAX);
	c->seg_max = htole32(VIRTIO_BLK_QUEUE_SIZE - 2);
	c->blk_size = htole32(bc->block_size);
	c->wce = 1; /* a write-back cache: FLUSH makes writes stable */
	c->num_queues = htole16((uint16_t)blk->num_queues);
	c->max_discard_sectors = htole32(VIRTIO_BLK_MAX_DWZ_SECTORS);
	c->max_discard_seg = htole32(VIRTIO_BLK_MAX_DWZ_SEG);
	c->discard_sector_alignment = htole32(bc->block_size >> VIRTIO_BLK_SECTOR_SHIFT);
	c->max_write_zeroes_sectors = htole32(VIRTIO_BLK_MAX_DWZ_SECTORS);
	c->max_write_zeroes_seg = htole32(VIRTIO_BLK_MAX_DWZ_SEG);
	c->write_zeroes_may_unmap = 1;
	blk->limits = (struct virtio_blk_limits){
	    .capacity = sectors,
	    .read_only = bc->ro,
	    .max_discard_sectors = VIRTIO_BLK_MAX_DWZ_SECTORS,
	    .max_write_zeroes_sectors = VIRTIO_BLK_MAX_DWZ_SECTORS,
	};
	if (blk->disk.size % VIRTIO_BLK_SECTOR_SIZE)
		log_warn("%s: %s is not a whole number of 512-byte sectors: the last %llu bytes "
			 "are not visible to the guest",
			 blk->name, bc->path,
			 (unsigned long long)(blk->disk.size % VIRTIO_BLK_SECTOR_SIZE));
}

static uint64_t features(const struct block_config *bc)
{
	uint64_t f = (1ULL << VIRTIO_BLK_F_SIZE_MAX) | (1ULL << VIRTIO_BLK_F_SEG_MAX) |
		     (1ULL << VIRTIO_BLK_F_BLK_SIZE) | (1ULL << VIRTIO_BLK_F_FLUSH) |
		     (1ULL << VIRTIO_BLK_F_MQ);

	if (bc->ro)
		f |= 1ULL << VIRTIO_BLK_F_RO;
	else if (bc->sparse)
		f |= (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	return f;
}

/* Opens and starts the disk; logs one line on failure. */
static int open_disk(struct virtio_blk *blk, const struct block_config *bc, struct event_loop *loop)
{
	struct disk_options opt = {.read_only = bc->ro, .direct = bc->direct, .lock = bc->lock};
	char err[512];
	int ret = disk_open(&blk->disk, bc->path, &opt, err, sizeof(err));

	if (!ret) {
		ret = disk_start(&blk->disk, loop, blk->num_queues * VIRTIO_BLK_QUEUE_SIZE,
				 blk_ready, blk, err, sizeof(err));
		if (ret)
			disk_close(&blk->disk);
	}
	if (ret)
		log_error("%s: %s", blk->name, err);
	return ret;
}

int virtio_blk_create(const struct block_config *bc, unsigned int index, unsigned int num_queues,
		      const struct guest_mem *mem, struct event_loop *loop, struct virtio_blk **out)
{
	struct virtio_blk *blk = calloc(1, sizeof(*blk));
	char disk_name[8];
	int ret;

	if (!blk)
		return -ENOMEM;
	vm_config_block_name(index, disk_name);
	snprintf(blk->name, sizeof(blk->name), "virtio-blk (%s)", disk_name);
	num_queues = MAX(1u, MIN(num_queues, (unsigned int)VIRTIO_DEV_MAX_QUEUES));
	ret = alloc_queues(blk, num_queues);
	if (ret) {
		log_error("%s: out of memory", blk->name);
		goto free_queues;
	}
	ret = open_disk(blk, bc, loop);
	if (ret)
		goto free_queues;
	set_config(blk, bc);
	set_id(blk, bc);
	ret = virtio_dev_init(&blk->vdev, &blk_ops, blk->name, VIRTIO_ID_BLOCK, features(bc),
			      sizeof(blk->config), num_queues, VIRTIO_BLK_QUEUE_SIZE, mem, loop);
	if (ret) {
		log_error("%s: cannot initialise: %s", blk->name, strerror(-ret));
		goto close_disk;
	}
	log_info("%s: %s, %llu sectors%s, %u queue(s), %s I/O", blk->name, bc->path,
		 (unsigned long long)blk->limits.capacity, bc->ro ? ", read-only" : "", num_queues,
		 disk_uses_uring(&blk->disk) ? "io_uring" : "synchronous");
	*out = blk;
	return 0;

close_disk:
	disk_close(&blk->disk);
free_queues:
	free_queues(blk);
	free(blk);
	return ret;
}

int virtio_blk_create_all(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;

	for (unsigned int i = 0; i < cfg->num_disks; i++) {
		struct virtio_blk *blk;
		int ret =
		    virtio_blk_create(&cfg->disks[i], i, cfg->num_cpus, &vm->mem, &vm->loop, &blk);

		if (ret)
			return ret;
		ret = vm_attach_virtio(vm, &blk->vdev);
		if (ret) {
			blk_destroy(&blk->vdev);
			return ret;
		}
	}
	return 0;
}
