/*
 * tools/blk_bench: the virtio-blk data plane on the host, without a guest
 * (bench/README.md, "virtio-blk on the host"). One run of one workload on
 * one target, printed as one JSON object:
 *
 *   device  Cove's virtio-blk device model (virtio_blk_create() over
 *           anonymous "guest" memory, its disk backend, the real event
 *           loop), driven through its virtqueues by virtq_driver playing the
 *           guest: one queue per job, chains of three direct descriptors
 *           (header, data, status) as a Linux guest without indirect
 *           descriptors sends them, EVENT_IDX, a kick written to an eventfd
 *           that the loop watches (what KVM's ioeventfd does), interrupts
 *           written to an eventfd (what KVM's irqfd is).
 *   file    the same requests done directly on the image with io_uring
 *           (readv/writev, same open flags, same number in flight): the
 *           physical limit.
 *
 * Both run on one thread. The device target's loop thread does what Cove's
 * does: epoll_wait, read the kick, pop and parse chains, io_uring submit,
 * read the completion eventfd, reap, push used entries, signal the irqfd;
 * the driver's work (building chains, collecting used entries) is on the
 * same thread, so the ratio device/file slightly understates Cove.
 *
 *   blk_bench [--target device|file] [--test randread|randwrite|read|write]
 *             [--bs BYTES] [--qd N] [--jobs N] [--seconds S] [--ramp S]
 *             [--direct] [--seed N] IMAGE
 *
 * Defaults: device, randread, 4096-byte blocks, 32 requests in flight per
 * job, 1 job, 2 s measured after a 0.5 s ramp, buffered I/O (--direct:
 * O_DIRECT, Cove's ",direct"). Requests completed during the ramp are not
 * counted. Random offsets come from a seeded xorshift generator (the same
 * sequence for both targets); sequential jobs each start at their share of
 * the image and wrap around. Writes write a fixed non-zero pattern.
 *
 * Exit status: 0; 1 when a request failed or the run could not start;
 * 2 on bad usage.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio_blk/virtio_blk.h"
#include "virtio/virtq_driver.h"

#define MAX_JOBS 16
#define QUEUE_SIZE VIRTIO_BLK_QUEUE_SIZE
#define DESCS_PER_REQ 3
#define RING_SPAN (1ULL << 20) /* per queue: rings, then headers and status bytes */
#define STATUS_NONE 0xee

struct workload {
	const char *target, *test;
	char *image;
	bool write, random, direct;
	uint32_t bs;
	unsigned int qd, jobs;
	double seconds, ramp;
	uint64_t seed;
	uint64_t size; /* image bytes usable: a multiple of bs */
};

/* Where one job's next offset comes from. */
struct job {
	uint64_t rng;
	uint64_t next, start;
};

struct run {
	double now, t_start, t_count, t_end; /* monotonic seconds */
	uint64_t reqs, bytes, errors, kicks, irqs;
	struct rusage ru0, ru1;
	double t0, t1; /* actual bounds of the counting window */
	bool counting;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void job_init(struct job *j, const struct workload *w, unsigned int index)
{
	j->rng = w->seed * 0x9e3779b97f4a7c15ULL + index + 1;
	j->start = (w->size / w->jobs) * index / w->bs * w->bs;
	j->next = j->start;
}

static uint64_t next_offset(const struct workload *w, struct job *j)
{
	uint64_t off;

	if (w->random) {
		/* xorshift64* */
		j->rng ^= j->rng >> 12;
		j->rng ^= j->rng << 25;
		j->rng ^= j->rng >> 27;
		return (j->rng * 0x2545f4914f6cdd1dULL) % (w->size / w->bs) * w->bs;
	}
	off = j->next;
	j->next = off + w->bs >= w->size ? 0 : off + w->bs;
	return off;
}

/* Moves the clock; opens the counting window after the ramp. */
static void tick(struct run *r)
{
	r->now = now_s();
	if (!r->counting && r->now >= r->t_count && r->now < r->t_end) {
		r->counting = true;
		r->t0 = r->now;
		getrusage(RUSAGE_SELF, &r->ru0);
	}
	if (r->counting && r->now >= r->t_end) {
		r->counting = false;
		r->t1 = r->now;
		getrusage(RUSAGE_SELF, &r->ru1);
	}
}

static void account(struct run *r, const struct workload *w, bool ok)
{
	if (!ok)
		r->errors++;
	else if (r->counting) {
		r->reqs++;
		r->bytes += w->bs;
	}
}

static void fill_pattern(uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(0xa5 ^ (i * 7));
}

/* ---- target "file": io_uring directly on the image ---- */

struct file_req {
	struct iovec iov;
	unsigned int job;
};

static void file_queue(struct io_uring *ring, int fd, const struct workload *w, struct job *jobs,
		       struct file_req *fr)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	uint64_t off = next_offset(w, &jobs[fr->job]);

	/* The ring has an entry per request: get_sqe cannot fail. */
	if (w->write)
		io_uring_prep_writev(sqe, fd, &fr->iov, 1, off);
	else
		io_uring_prep_readv(sqe, fd, &fr->iov, 1, off);
	io_uring_sqe_set_data(sqe, fr);
}

static int file_loop(struct io_uring *ring, int fd, const struct workload *w, struct job *jobs,
		     struct run *r)
{
	unsigned int inflight = w->qd * w->jobs;

	while (inflight > 0) {
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0;
		int ret = io_uring_submit_and_wait(ring, 1);

		if (ret < 0 && ret != -EINTR) {
			fprintf(stderr, "blk_bench: io_uring_submit_and_wait: %s\n",
				strerror(-ret));
			return -1;
		}
		tick(r);
		io_uring_for_each_cqe(ring, head, cqe)
		{
			struct file_req *fr = io_uring_cqe_get_data(cqe);

			account(r, w, cqe->res == (int)w->bs);
			seen++;
			if (r->now < r->t_end)
				file_queue(ring, fd, w, jobs, fr);
			else
				inflight--;
		}
		io_uring_cq_advance(ring, seen);
	}
	return 0;
}

static int run_file(const struct workload *w, struct run *r)
{
	unsigned int n = w->qd * w->jobs;
	struct file_req *reqs = calloc(n, sizeof(*reqs));
	struct job jobs[MAX_JOBS];
	struct io_uring ring;
	uint8_t *bufs = NULL;
	int fd, ret = -1;

	fd = open(w->image, O_RDWR | O_CLOEXEC | (w->direct ? O_DIRECT : 0));
	if (fd < 0) {
		fprintf(stderr, "blk_bench: cannot open %s: %s\n", w->image, strerror(errno));
		goto free_reqs;
	}
	if (!reqs || posix_memalign((void **)&bufs, 4096, (size_t)n * w->bs))
		goto close_fd;
	fill_pattern(bufs, (size_t)n * w->bs);
	ret = io_uring_queue_init(n, &ring, 0);
	if (ret < 0) {
		fprintf(stderr, "blk_bench: io_uring_queue_init: %s\n", strerror(-ret));
		goto free_bufs;
	}
	for (unsigned int j = 0; j < w->jobs; j++)
		job_init(&jobs[j], w, j);
	tick(r);
	for (unsigned int i = 0; i < n; i++) {
		reqs[i].iov = (struct iovec){bufs + (size_t)i * w->bs, w->bs};
		reqs[i].job = i / w->qd;
		file_queue(&ring, fd, w, jobs, &reqs[i]);
	}
	ret = file_loop(&ring, fd, w, jobs, r);
	io_uring_queue_exit(&ring);
free_bufs:
	free(bufs);
close_fd:
	if (fd >= 0)
		close(fd);
free_reqs:
	free(reqs);
	return ret;
}

/* ---- target "device": Cove's virtio-blk through its virtqueues ---- */

struct dev_req {
	uint64_t hdr, data, status; /* guest addresses */
};

struct dev_queue {
	struct bench_dev *bd;
	unsigned int index;
	struct virtq_driver drv;
	int kick_fd;	       /* the doorbell: the loop watches it (ioeventfd) */
	uint16_t kicked_avail; /* avail idx at the last kick decision */
	unsigned int inflight;
	struct job job;
	struct dev_req reqs[QUEUE_SIZE / DESCS_PER_REQ];
	struct dev_req *by_head[QUEUE_SIZE];
};

struct bench_dev {
	struct guest_mem gm;
	struct event_loop loop;
	struct virtio_blk *blk;
	struct virtio_device *vdev;
	int irq_fd; /* the interrupt: written, never read (irqfd) */
	struct run *run;
	bool broken;
	struct dev_queue q[MAX_JOBS];
};

static void on_irq(struct virtio_device *vdev, unsigned int q)
{
	struct bench_dev *bd = vdev->transport_priv;
	uint64_t one = 1;

	(void)q;
	bd->run->irqs++;
	if (write(bd->irq_fd, &one, sizeof(one)) < 0)
		bd->broken = true;
}

static void on_config_irq(struct virtio_device *vdev)
{
	struct bench_dev *bd = vdev->transport_priv;

	bd->broken = true; /* only a device that needs a reset says anything */
}

static const struct virtio_transport_ops bench_transport = {
    .notify_queue = on_irq,
    .notify_config = on_config_irq,
};

/* The loop's side of the doorbell, as virtio_pci.c's on_kick. */
static void on_kick(void *opaque, uint32_t events)
{
	struct dev_queue *dq = opaque;
	struct virtio_device *vdev = dq->bd->vdev;
	uint64_t count;

	(void)events;
	if (read(dq->kick_fd, &count, sizeof(count)) < 0)
		return;
	pthread_mutex_lock(&vdev->lock);
	if (virtio_dev_running(vdev))
		vdev->ops->queue_notify(vdev, dq->index);
	pthread_mutex_unlock(&vdev->lock);
}

static void dev_add(struct dev_queue *dq, const struct workload *w, struct dev_req *rq)
{
	const struct guest_mem *gm = &dq->bd->gm;
	uint64_t off = next_offset(w, &dq->job);
	struct virtio_blk_outhdr h = {
	    .type = htole32(w->write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN),
	    .sector = htole64(off >> 9),
	};
	struct virtq_driver_seg segs[DESCS_PER_REQ] = {
	    {rq->hdr, sizeof(h), false}, {rq->data, w->bs, !w->write}, {rq->status, 1, true}};
	int head;

	memcpy(guest_mem_ptr(gm, rq->hdr, sizeof(h)), &h, sizeof(h));
	*(uint8_t *)guest_mem_ptr(gm, rq->status, 1) = STATUS_NONE;
	head = virtq_driver_add(&dq->drv, segs, DESCS_PER_REQ, false);
	/* qd * 3 <= queue size was checked: there is always room. */
	dq->by_head[head] = rq;
	dq->inflight++;
}

/* Rings the doorbell if the device asked for it (EVENT_IDX), as Linux does. */
static void dev_kick(struct dev_queue *dq)
{
	uint16_t new = dq->drv.avail_idx, old = dq->kicked_avail;
	uint64_t one = 1;

	if (new == old)
		return;
	dq->kicked_avail = new;
	if (!vring_need_event(virtq_driver_avail_event(&dq->drv), new, old))
		return;
	dq->bd->run->kicks++;
	if (write(dq->kick_fd, &one, sizeof(one)) < 0)
		dq->bd->broken = true;
}

/* Collects used entries, checks them, and adds the next requests. */
static void dev_collect(struct dev_queue *dq, const struct workload *w, struct run *r)
{
	uint32_t expect = w->write ? 1 : w->bs + 1;
	struct vring_used_elem e;
	int got;

	while ((got = virtq_driver_get_used(&dq->drv, &e)) == 1) {
		struct dev_req *rq = dq->by_head[e.id];
		uint8_t st = *(uint8_t *)guest_mem_ptr(&dq->bd->gm, rq->status, 1);

		dq->inflight--;
		account(r, w, st == VIRTIO_BLK_S_OK && e.len == expect);
		if (r->now < r->t_end)
			dev_add(dq, w, rq);
	}
	if (got < 0)
		dq->bd->broken = true;
	/* Interrupts wanted from the next completion on (virtqueue_enable_cb). */
	virtq_driver_set_used_event(&dq->drv, dq->drv.last_used);
}

/* Serves the event loop once, as event_loop_run() would (see virtio_blk_test.c). */
static int serve(struct event_loop *loop, int timeout_ms)
{
	struct epoll_event ev[16];
	int n = epoll_wait(loop->epfd, ev, ARRAY_SIZE(ev), timeout_ms);

	for (int i = 0; i < n; i++) {
		struct event_handler *h = ev[i].data.ptr;

		if (h && h->in_use)
			h->fn(h->opaque, ev[i].events);
	}
	/* io_uring's task work interrupts waits (EINTR): nothing to serve then. */
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n;
}

static unsigned int dev_inflight(const struct bench_dev *bd, unsigned int jobs)
{
	unsigned int n = 0;

	for (unsigned int j = 0; j < jobs; j++)
		n += bd->q[j].inflight;
	return n;
}

static int dev_loop(struct bench_dev *bd, const struct workload *w, struct run *r)
{
	double idle_since = now_s();

	while (dev_inflight(bd, w->jobs) > 0 && !bd->broken) {
		int n = serve(&bd->loop, 1000);

		if (n < 0)
			return n;
		tick(r);
		if (n > 0)
			idle_since = r->now;
		else if (r->now - idle_since > 10) {
			fprintf(stderr, "blk_bench: no completion for 10 s\n");
			return -ETIMEDOUT;
		}
		for (unsigned int j = 0; j < w->jobs; j++) {
			dev_collect(&bd->q[j], w, r);
			dev_kick(&bd->q[j]);
		}
	}
	if (bd->broken)
		fprintf(stderr, "blk_bench: the device broke (needs reset, bad used entry)\n");
	return bd->broken ? -EPROTO : 0;
}

/* Guest memory: per queue RING_SPAN (rings, headers, status), then data buffers. */
static int dev_memory(struct bench_dev *bd, const struct workload *w)
{
	uint64_t data = MAX_JOBS * RING_SPAN;
	uint64_t total = ALIGN_UP(data + (uint64_t)w->jobs * w->qd * w->bs, 2 * MiB);
	int ret;

	guest_mem_init(&bd->gm);
	ret = guest_mem_add(&bd->gm, 0, total);
	if (ret)
		return ret;
	for (unsigned int j = 0; j < w->jobs; j++) {
		struct dev_queue *dq = &bd->q[j];

		dq->bd = bd;
		dq->index = j;
		dq->kick_fd = -1;
		ret = virtq_driver_init(&dq->drv, &bd->gm, j * RING_SPAN, QUEUE_SIZE, RING_SPAN);
		if (ret)
			return ret;
		for (unsigned int i = 0; i < w->qd; i++) {
			struct dev_req *rq = &dq->reqs[i];

			rq->hdr = virtq_driver_alloc(&dq->drv, 16);
			rq->status = virtq_driver_alloc(&dq->drv, 1);
			rq->data = data + ((uint64_t)j * w->qd + i) * w->bs;
			if (!rq->hdr || !rq->status)
				return -ENOMEM;
			fill_pattern(guest_mem_ptr(&bd->gm, rq->data, w->bs), w->bs);
		}
	}
	return 0;
}

/* The driver's initialisation: every offered feature, queues, DRIVER_OK. */
static int dev_negotiate(struct bench_dev *bd, const struct workload *w)
{
	struct virtio_device *vdev = bd->vdev;
	bool ok;
	int ret = 0;

	pthread_mutex_lock(&vdev->lock);
	vdev->status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	ok = virtio_dev_accept_features(vdev, vdev->host_features);
	vdev->status |= VIRTIO_CONFIG_S_FEATURES_OK;
	for (unsigned int j = 0; j < w->jobs && !ret; j++)
		ret = virtq_enable(&vdev->queues[j], &bd->q[j].drv.layout, true, true);
	vdev->status |= VIRTIO_CONFIG_S_DRIVER_OK;
	virtio_dev_driver_ok(vdev);
	ok = ok && !ret && virtio_dev_running(vdev);
	pthread_mutex_unlock(&vdev->lock);
	return ok ? 0 : -EPROTO;
}

static int dev_doorbells(struct bench_dev *bd, const struct workload *w)
{
	bd->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (bd->irq_fd < 0)
		return -errno;
	for (unsigned int j = 0; j < w->jobs; j++) {
		struct dev_queue *dq = &bd->q[j];
		int ret;

		dq->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (dq->kick_fd < 0)
			return -errno;
		ret = event_loop_add(&bd->loop, dq->kick_fd, EPOLLIN, on_kick, dq);
		if (ret)
			return ret;
	}
	return 0;
}

static int dev_setup(struct bench_dev *bd, const struct workload *w)
{
	struct block_config bc;
	int ret;

	ret = dev_memory(bd, w);
	if (ret)
		return ret;
	ret = dev_doorbells(bd, w);
	if (ret)
		return ret;
	vm_config_block_defaults(&bc);
	bc.path = w->image;
	bc.direct = w->direct;
	ret = virtio_blk_create(&bc, 0, w->jobs, &bd->gm, &bd->loop, &bd->blk);
	if (ret)
		return ret;
	bd->vdev = &bd->blk->vdev;
	bd->vdev->transport = &bench_transport;
	bd->vdev->transport_priv = bd;
	return dev_negotiate(bd, w);
}

static void dev_teardown(struct bench_dev *bd, const struct workload *w)
{
	if (bd->vdev) {
		pthread_mutex_lock(&bd->vdev->lock);
		virtio_dev_reset(bd->vdev);
		pthread_mutex_unlock(&bd->vdev->lock);
		bd->vdev->ops->destroy(bd->vdev);
	}
	for (unsigned int j = 0; j < w->jobs; j++) {
		if (bd->q[j].kick_fd >= 0) {
			event_loop_remove(&bd->loop, bd->q[j].kick_fd);
			close(bd->q[j].kick_fd);
		}
	}
	if (bd->irq_fd >= 0)
		close(bd->irq_fd);
	guest_mem_destroy(&bd->gm);
}

static int run_device(const struct workload *w, struct run *r)
{
	struct bench_dev *bd = calloc(1, sizeof(*bd));
	int ret;

	if (!bd)
		return -1;
	bd->irq_fd = -1;
	bd->run = r;
	ret = event_loop_init(&bd->loop);
	if (ret) {
		free(bd);
		return -1;
	}
	ret = dev_setup(bd, w);
	if (ret) {
		fprintf(stderr, "blk_bench: cannot set the device up: %s\n", strerror(-ret));
	} else {
		tick(r);
		for (unsigned int j = 0; j < w->jobs; j++) {
			job_init(&bd->q[j].job, w, j);
			for (unsigned int i = 0; i < w->qd; i++)
				dev_add(&bd->q[j], w, &bd->q[j].reqs[i]);
			dev_kick(&bd->q[j]);
		}
		ret = dev_loop(bd, w, r);
	}
	dev_teardown(bd, w);
	event_loop_destroy(&bd->loop);
	free(bd);
	return ret ? -1 : 0;
}

/* ---- command line, output ---- */

static double cpu_s(const struct rusage *a, const struct rusage *b)
{
	return (double)(b->ru_utime.tv_sec - a->ru_utime.tv_sec + b->ru_stime.tv_sec -
			a->ru_stime.tv_sec) +
	       (double)(b->ru_utime.tv_usec - a->ru_utime.tv_usec + b->ru_stime.tv_usec -
			a->ru_stime.tv_usec) /
		   1e6;
}

static void print_json(const struct workload *w, const struct run *r)
{
	double secs = r->t1 - r->t0, cpu = cpu_s(&r->ru0, &r->ru1);

	printf("{\"target\": \"%s\", \"test\": \"%s\", \"bs\": %u, \"qd\": %u, \"jobs\": %u, "
	       "\"direct\": %s, \"seconds\": %.3f, \"requests\": %llu, \"bytes\": %llu, "
	       "\"iops\": %.1f, \"mb_s\": %.2f, \"cpu_s\": %.3f, \"cpu_us_per_req\": %.3f, "
	       "\"kicks\": %llu, \"irqs\": %llu, \"errors\": %llu}\n",
	       w->target, w->test, w->bs, w->qd, w->jobs, w->direct ? "true" : "false", secs,
	       (unsigned long long)r->reqs, (unsigned long long)r->bytes, r->reqs / secs,
	       r->bytes / secs / 1e6, cpu, r->reqs ? cpu * 1e6 / r->reqs : 0.0,
	       (unsigned long long)r->kicks, (unsigned long long)r->irqs,
	       (unsigned long long)r->errors);
}

static noreturn_fn void usage(void)
{
	fprintf(stderr, "usage: blk_bench [--target device|file] [--test randread|randwrite|read|"
			"write] [--bs BYTES] [--qd N] [--jobs N] [--seconds S] [--ramp S] "
			"[--direct] [--seed N] IMAGE\n");
	exit(2);
}

static void parse_test(struct workload *w, const char *t)
{
	w->test = t;
	w->random = !strncmp(t, "rand", 4);
	if (!strcmp(t + (w->random ? 4 : 0), "write"))
		w->write = true;
	else if (strcmp(t + (w->random ? 4 : 0), "read"))
		usage();
}

static void parse_args(struct workload *w, int argc, char **argv)
{
	static const struct option opts[] = {{"target", 1, NULL, 't'}, {"test", 1, NULL, 'T'},
					     {"bs", 1, NULL, 'b'},     {"qd", 1, NULL, 'q'},
					     {"jobs", 1, NULL, 'j'},   {"seconds", 1, NULL, 's'},
					     {"ramp", 1, NULL, 'r'},   {"direct", 0, NULL, 'd'},
					     {"seed", 1, NULL, 'S'},   {NULL, 0, NULL, 0}};
	int c;

	*w = (struct workload){.target = "device",
			       .bs = 4096,
			       .qd = 32,
			       .jobs = 1,
			       .seconds = 2,
			       .ramp = 0.5,
			       .seed = 1};
	parse_test(w, "randread");
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			w->target = optarg;
			break;
		case 'T':
			parse_test(w, optarg);
			break;
		case 'b':
			w->bs = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'q':
			w->qd = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'j':
			w->jobs = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 's':
			w->seconds = strtod(optarg, NULL);
			break;
		case 'r':
			w->ramp = strtod(optarg, NULL);
			break;
		case 'd':
			w->direct = true;
			break;
		case 'S':
			w->seed = strtoull(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || (strcmp(w->target, "device") && strcmp(w->target, "file")) ||
	    w->bs < 512 || w->bs % 512 || w->bs > VIRTIO_BLK_SIZE_MAX || w->qd < 1 ||
	    w->qd * DESCS_PER_REQ > QUEUE_SIZE || w->jobs < 1 || w->jobs > MAX_JOBS ||
	    !(w->seconds > 0) || !(w->ramp >= 0))
		usage();
	w->image = argv[optind];
}

int main(int argc, char **argv)
{
	struct workload w;
	struct run r = {0};
	struct stat st;
	int ret;

	parse_args(&w, argc, argv);
	if (stat(w.image, &st) < 0 || st.st_size < (off_t)w.bs * w.jobs * 2) {
		fprintf(stderr, "blk_bench: %s: missing or too small\n", w.image);
		return 1;
	}
	w.size = (uint64_t)st.st_size / w.bs * w.bs;
	r.t_start = now_s();
	r.t_count = r.t_start + w.ramp;
	r.t_end = r.t_count + w.seconds;
	ret = strcmp(w.target, "file") ? run_device(&w, &r) : run_file(&w, &r);
	if (ret || !(r.t1 > r.t0))
		return 1;
	print_json(&w, &r);
	return r.errors ? 1 : 0;
}
