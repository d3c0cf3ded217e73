/*
 * virtio-balloon (virtio 1.x section 5.5, "Traditional Memory Balloon
 * Device"); see virtio_balloon.h.
 */
#include "devices/virtio_balloon/virtio_balloon.h"

#include <endian.h>
#include <errno.h>
#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "devices/registry.h"
#include "vm/vm.h"

#define INFLATE_Q 0
#define DEFLATE_Q 1
#define PFN_BATCH 256 /* PFNs copied out of a chain at a time */

static struct virtio_balloon *to_balloon(struct virtio_device *vdev)
{
	return container_of(vdev, struct virtio_balloon, vdev);
}

/* Gives back one run of `count` pages from frame `pfn` (a 4 KiB page number). */
static void discard_run(struct virtio_balloon *b, uint64_t pfn, uint64_t count)
{
	int err = guest_mem_discard(b->vdev.mem, pfn << VIRTIO_BALLOON_PFN_SHIFT,
				    count << VIRTIO_BALLOON_PFN_SHIFT);

	if (err == -EFAULT)
		log_guest_once("%s: inflated pages outside guest RAM (frame 0x%llx) ignored",
			       b->vdev.name, (unsigned long long)pfn);
	else if (err)
		log_warn("%s: cannot give pages back to the host: %s", b->vdev.name,
			 strerror(-err));
}

/*
 * Guest-controlled: the PFN array. Copied out in batches into host locals;
 * consecutive frames are merged into one discard (Linux often sends runs).
 */
static void inflate_chain(struct virtio_balloon *b, const struct virtq_chain *c)
{
	uint32_t pfns[PFN_BATCH];
	uint64_t run_start = 0, run_len = 0;
	size_t off = 0, n;

	if (c->out_len % sizeof(uint32_t))
		log_guest_once("%s: inflate buffer of %u bytes: not whole frame numbers",
			       b->vdev.name, c->out_len);
	while ((n = virtq_chain_read(c, off, pfns, sizeof(pfns)) / sizeof(uint32_t)) > 0) {
		off += n * sizeof(uint32_t);
		for (size_t i = 0; i < n; i++) {
			uint64_t pfn = le32toh(pfns[i]);

			b->counters.inflated_pages++;
			if (run_len && pfn == run_start + run_len) {
				run_len++;
				continue;
			}
			if (run_len)
				discard_run(b, run_start, run_len);
			run_start = pfn;
			run_len = 1;
		}
	}
	if (run_len)
		discard_run(b, run_start, run_len);
}

static void deflate_chain(struct virtio_balloon *b, const struct virtq_chain *c)
{
	/* The pages come back to the guest by themselves when touched. */
	b->counters.deflated_pages += c->out_len / sizeof(uint32_t);
}

/*
 * Free page reporting: every segment is a free range of guest memory
 * (Linux posts them device-writable; readable ones are taken too).
 * Guest-controlled: the ranges; virtq.c checked they are guest RAM, and
 * guest_mem_discard checks again.
 */
static void report_chain(struct virtio_balloon *b, const struct virtq_chain *c)
{
	for (unsigned int i = 0; i < c->n_out + c->n_in; i++) {
		uint64_t gpa;

		if (c->iov[i].iov_len == 0)
			continue;
		if (guest_mem_gpa_of(b->vdev.mem, c->iov[i].iov_base, c->iov[i].iov_len, &gpa) ||
		    guest_mem_discard(b->vdev.mem, gpa, c->iov[i].iov_len)) {
			log_warn("%s: cannot discard a reported free range", b->vdev.name);
			continue;
		}
		b->counters.reported_bytes += c->iov[i].iov_len;
	}
}

/* Pops every chain of queue q, hands it to `fn`, gives it back unwritten. */
static void drain(struct virtio_balloon *b, unsigned int q,
		  void (*fn)(struct virtio_balloon *, const struct virtq_chain *))
{
	struct virtq *vq = &b->vdev.queues[q];
	bool pushed = false;
	int r;

	while ((r = virtq_pop(vq, &b->chain)) > 0) {
		fn(b, &b->chain);
		virtq_push(vq, b->chain.head, 0);
		pushed = true;
	}
	if (r < 0)
		virtio_dev_set_needs_reset(&b->vdev, "broken queue");
	if (pushed)
		virtio_dev_notify(&b->vdev, q);
}

static void fill_info(const struct virtio_balloon *b, struct virtio_balloon_info *info)
{
	*info = b->counters;
	info->driver_ok = virtio_dev_running(&b->vdev);
	info->stats_queue = info->driver_ok && b->stats_q >= 0;
	info->features = b->vdev.features;
	info->target_pages = b->num_pages;
	info->actual_pages = b->actual;
}

/*
 * A statistics buffer from the driver: parsed, then held until the host
 * wants fresher numbers. Guest-controlled: the entries (copied out first).
 */
static void stats_chain(struct virtio_balloon *b, const struct virtq_chain *c)
{
	uint8_t buf[VIRTIO_BALLOON_STATS_MAX_ENTRIES * VIRTIO_BALLOON_STAT_SIZE];
	size_t len = virtq_chain_read(c, 0, buf, sizeof(buf));
	struct virtio_balloon_info info;

	if (virtio_balloon_stats_parse(buf, len, &b->counters.stats) < 0)
		log_guest_once("%s: statistics buffer of %u bytes: not whole entries",
			       b->vdev.name, c->out_len);
	b->counters.have_stats = true;
	b->counters.stats_count++;
	b->stats_head = c->head;
	b->stats_held = true;
	if (b->stats_wanted) {
		b->stats_wanted = false;
		fill_info(b, &info);
		if (b->stats_fn)
			b->stats_fn(b->stats_opaque, &info);
	}
}

static void serve_stats(struct virtio_balloon *b)
{
	struct virtq *vq = &b->vdev.queues[b->stats_q];
	int r;

	while ((r = virtq_pop(vq, &b->chain)) > 0) {
		/* One buffer at a time: a second one returns the first. */
		if (b->stats_held) {
			virtq_push(vq, b->stats_head, 0);
			b->stats_held = false;
			virtio_dev_notify(&b->vdev, (unsigned int)b->stats_q);
		}
		stats_chain(b, &b->chain);
	}
	if (r < 0)
		virtio_dev_set_needs_reset(&b->vdev, "broken statistics queue");
}

static void queue_notify(struct virtio_device *vdev, unsigned int q)
{
	struct virtio_balloon *b = to_balloon(vdev);

	if (q == INFLATE_Q)
		drain(b, q, inflate_chain);
	else if (q == DEFLATE_Q)
		drain(b, q, deflate_chain);
	else if ((int)q == b->stats_q)
		serve_stats(b);
	else if ((int)q == b->report_q)
		drain(b, q, report_chain);
}

/*
 * The queue roles follow the negotiated features. Buffers the driver made
 * available before DRIVER_OK (Linux primes the stats queue in probe and
 * kicks before the device is live) are served now.
 */
static int activate(struct virtio_device *vdev)
{
	struct virtio_balloon *b = to_balloon(vdev);
	int q = DEFLATE_Q + 1;

	b->stats_q = virtio_dev_has_feature(vdev, VIRTIO_BALLOON_F_STATS_VQ) ? q++ : -1;
	b->report_q = virtio_dev_has_feature(vdev, VIRTIO_BALLOON_F_REPORTING) ? q++ : -1;
	if (b->stats_q >= 0 && !vdev->queues[b->stats_q].enabled)
		b->stats_q = -1;
	if (b->report_q >= 0 && !vdev->queues[b->report_q].enabled)
		b->report_q = -1;
	for (unsigned int i = 0; i < vdev->num_queues && virtio_dev_running(vdev); i++)
		if (vdev->queues[i].enabled)
			queue_notify(vdev, i);
	return 0;
}

static void reset(struct virtio_device *vdev)
{
	struct virtio_balloon *b = to_balloon(vdev);

	/* The held stats buffer is abandoned; the host's target stays. */
	b->stats_held = false;
	b->stats_wanted = false;
	b->stats_q = -1;
	b->report_q = -1;
	b->actual = 0;
}

static void config_bytes(const struct virtio_balloon *b, struct virtio_balloon_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->num_pages = htole32(b->num_pages);
	cfg->actual = htole32(b->actual);
}

static void config_read(struct virtio_device *vdev, uint32_t offset, void *data, uint32_t len)
{
	struct virtio_balloon_config cfg;

	config_bytes(to_balloon(vdev), &cfg);
	memcpy(data, (const uint8_t *)&cfg + offset, len); /* inside: the transport checks */
}

/* Guest-controlled: only `actual` is the driver's to write; the rest is ignored. */
static void config_write(struct virtio_device *vdev, uint32_t offset, const void *data,
			 uint32_t len)
{
	struct virtio_balloon *b = to_balloon(vdev);
	const uint32_t lo = offsetof(struct virtio_balloon_config, actual);
	const uint32_t hi = lo + sizeof(b->actual);
	struct virtio_balloon_config cfg;

	if (offset < lo || offset + len > hi) {
		log_guest_once("%s: write to read-only configuration at %u ignored", vdev->name,
			       offset);
		return;
	}
	config_bytes(b, &cfg);
	memcpy((uint8_t *)&cfg + offset, data, len);
	b->actual = le32toh(cfg.actual);
}

static void destroy(struct virtio_device *vdev)
{
	virtio_dev_destroy(vdev);
	free(to_balloon(vdev));
}

static const struct virtio_dev_ops balloon_ops = {
	.config_read = config_read,
	.config_write = config_write,
	.activate = activate,
	.reset = reset,
	.queue_notify = queue_notify,
	.destroy = destroy,
};

int virtio_balloon_new(const struct guest_mem *mem, struct event_loop *loop,
		       const struct virtio_balloon_options *opts, struct virtio_balloon **out)
{
	struct virtio_balloon *b = calloc(1, sizeof(*b));
	uint64_t features = 1ULL << VIRTIO_BALLOON_F_STATS_VQ;
	int err;

	if (!b)
		return -ENOMEM;
	if (opts)
		b->opts = *opts;
	if (b->opts.deflate_on_oom)
		features |= 1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM;
	if (b->opts.page_reporting)
		features |= 1ULL << VIRTIO_BALLOON_F_REPORTING;
	err = virtio_dev_init(&b->vdev, &balloon_ops, "virtio-balloon", VIRTIO_ID_BALLOON, features,
			      sizeof(struct virtio_balloon_config), VIRTIO_BALLOON_NUM_QUEUES,
			      VIRTIO_BALLOON_QUEUE_SIZE, mem, loop);
	if (err) {
		free(b);
		return err;
	}
	b->stats_q = -1;
	b->report_q = -1;
	*out = b;
	return 0;
}

void virtio_balloon_destroy(struct virtio_balloon *b)
{
	destroy(&b->vdev);
}

void virtio_balloon_set_target(struct virtio_balloon *b, uint32_t pages)
{
	pthread_mutex_lock(&b->vdev.lock);
	if (b->num_pages != pages) {
		b->num_pages = pages;
		virtio_dev_config_changed(&b->vdev);
	}
	pthread_mutex_unlock(&b->vdev.lock);
}

void virtio_balloon_get_info(struct virtio_balloon *b, struct virtio_balloon_info *info)
{
	pthread_mutex_lock(&b->vdev.lock);
	fill_info(b, info);
	pthread_mutex_unlock(&b->vdev.lock);
}

void virtio_balloon_set_stats_listener(struct virtio_balloon *b, virtio_balloon_stats_fn fn,
				       void *opaque)
{
	pthread_mutex_lock(&b->vdev.lock);
	b->stats_fn = fn;
	b->stats_opaque = opaque;
	pthread_mutex_unlock(&b->vdev.lock);
}

int virtio_balloon_request_stats(struct virtio_balloon *b)
{
	int err = 0;

	pthread_mutex_lock(&b->vdev.lock);
	if (b->stats_wanted) {
		/* Already asked: the refill answers both. */
	} else if (!virtio_dev_running(&b->vdev) || b->stats_q < 0 || !b->stats_held) {
		err = -ENODATA;
	} else {
		virtq_push(&b->vdev.queues[b->stats_q], b->stats_head, 0);
		b->stats_held = false;
		b->stats_wanted = true;
		virtio_dev_notify(&b->vdev, (unsigned int)b->stats_q);
	}
	pthread_mutex_unlock(&b->vdev.lock);
	return err;
}

int virtio_balloon_create_all(struct vm *vm)
{
	const struct virtio_balloon_options opts = {
		.deflate_on_oom = vm->cfg->balloon_deflate_on_oom,
		.page_reporting = vm->cfg->balloon_page_reporting,
	};
	struct virtio_balloon *b;
	int err;

	if (vm->cfg->no_balloon)
		return 0;
	err = virtio_balloon_new(&vm->mem, &vm->loop, &opts, &b);
	if (err) {
		log_error("cannot create virtio-balloon: %s", strerror(-err));
		return err;
	}
	err = vm_attach_virtio(vm, &b->vdev);
	if (err) {
		virtio_balloon_destroy(b);
		return err;
	}
	vm->balloon = b;
	return 0;
}
