/*
 * virtio-rng (virtio 1.x section 5.4, "Entropy Device"); see virtio_rng.h.
 */
#include "devices/virtio_rng/virtio_rng.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/log.h"
#include "devices/registry.h"
#include "vm/vm.h"

static struct virtio_rng *to_rng(struct virtio_device *vdev)
{
	return container_of(vdev, struct virtio_rng, vdev);
}

static ssize_t host_getrandom(void *buf, size_t len, unsigned int flags)
{
	return getrandom(buf, len, flags);
}

/*
 * Fills the chain's writable segments, at most VIRTIO_RNG_MAX_FILL bytes
 * (Guest-controlled: the chain may be gigabytes long; a short answer is
 * valid and keeps the loop responsive). Returns the bytes written (short if
 * the source ran dry part way), or -EAGAIN if it gave nothing at all.
 */
static ssize_t fill(struct virtio_rng *rng)
{
	const struct virtq_chain *c = &rng->chain;
	size_t done = 0;

	for (unsigned int i = c->n_out; i < c->n_out + c->n_in && done < VIRTIO_RNG_MAX_FILL; i++) {
		uint8_t *base = c->iov[i].iov_base;
		size_t len = MIN(c->iov[i].iov_len, VIRTIO_RNG_MAX_FILL - done), off = 0;

		while (off < len) {
			ssize_t n = rng->source(base + off, len - off, GRND_NONBLOCK);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				if (n < 0 && errno != EAGAIN)
					log_warn("%s: getrandom failed: %s", rng->vdev.name,
						 strerror(errno));
				return done ? (ssize_t)done : -EAGAIN;
			}
			off += (size_t)n;
			done += (size_t)n;
		}
	}
	return (ssize_t)done;
}

static void arm_retry(struct virtio_rng *rng)
{
	struct itimerspec t = { .it_value.tv_nsec = VIRTIO_RNG_RETRY_MS * 1000000L };

	if (rng->timer_watched && timerfd_settime(rng->timer_fd, 0, &t, NULL) < 0)
		log_warn("%s: cannot arm the retry timer: %s", rng->vdev.name, strerror(errno));
}

static void serve(struct virtio_rng *rng)
{
	struct virtq *vq = &rng->vdev.queues[0];
	bool pushed = false;

	for (;;) {
		ssize_t n;

		if (!rng->busy) {
			int r = virtq_pop(vq, &rng->chain);

			if (r < 0)
				virtio_dev_set_needs_reset(&rng->vdev, "broken request queue");
			if (r <= 0)
				break;
			rng->busy = true;
		}
		n = fill(rng); /* a chain without writable segments gets 0 */
		if (n == -EAGAIN) {
			arm_retry(rng);
			break;
		}
		virtq_push(vq, rng->chain.head, (uint32_t)n);
		rng->busy = false;
		pushed = true;
	}
	if (pushed)
		virtio_dev_notify(&rng->vdev, 0);
}

static void on_retry(void *opaque, uint32_t events)
{
	struct virtio_rng *rng = opaque;
	uint64_t expirations;

	(void)events;
	if (read(rng->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_warn("%s: retry timer: %s", rng->vdev.name, strerror(errno));
	pthread_mutex_lock(&rng->vdev.lock);
	if (rng->busy && virtio_dev_running(&rng->vdev))
		serve(rng);
	pthread_mutex_unlock(&rng->vdev.lock);
}

static void config_read(struct virtio_device *vdev, uint32_t offset, void *data, uint32_t len)
{
	(void)vdev;
	(void)offset;
	memset(data, 0, len); /* no configuration space */
}

static void reset(struct virtio_device *vdev)
{
	to_rng(vdev)->busy = false; /* the popped chain is abandoned */
}

static void queue_notify(struct virtio_device *vdev, unsigned int q)
{
	if (q == 0)
		serve(to_rng(vdev));
}

static void destroy(struct virtio_device *vdev)
{
	struct virtio_rng *rng = to_rng(vdev);

	if (rng->timer_watched)
		event_loop_remove(vdev->loop, rng->timer_fd);
	if (rng->timer_fd >= 0)
		close(rng->timer_fd);
	virtio_dev_destroy(vdev);
	free(rng);
}

static const struct virtio_dev_ops rng_ops = {
	.config_read = config_read,
	.reset = reset,
	.queue_notify = queue_notify,
	.destroy = destroy,
};

static int watch_timer(struct virtio_rng *rng, struct event_loop *loop)
{
	int err;

	rng->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (rng->timer_fd < 0)
		return -errno;
	err = event_loop_add(loop, rng->timer_fd, EPOLLIN, on_retry, rng);
	if (err)
		return err;
	rng->timer_watched = true;
	return 0;
}

int virtio_rng_new(const struct guest_mem *mem, struct event_loop *loop, struct virtio_rng **out)
{
	struct virtio_rng *rng = calloc(1, sizeof(*rng));
	int err;

	if (!rng)
		return -ENOMEM;
	err = virtio_dev_init(&rng->vdev, &rng_ops, "virtio-rng", VIRTIO_ID_RNG, 0, 0, 1,
			      VIRTIO_RNG_QUEUE_SIZE, mem, loop);
	if (err) {
		free(rng);
		return err;
	}
	rng->source = host_getrandom;
	rng->timer_fd = -1;
	err = loop ? watch_timer(rng, loop) : 0;
	if (err) {
		destroy(&rng->vdev);
		return err;
	}
	*out = rng;
	return 0;
}

void virtio_rng_destroy(struct virtio_rng *rng)
{
	destroy(&rng->vdev);
}

int virtio_rng_create_all(struct vm *vm)
{
	struct virtio_rng *rng;
	int err;

	if (vm->cfg->no_rng)
		return 0;
	err = virtio_rng_new(&vm->mem, &vm->loop, &rng);
	if (err) {
		log_error("cannot create virtio-rng: %s", strerror(-err));
		return err;
	}
	err = vm_attach_virtio(vm, &rng->vdev);
	if (err)
		virtio_rng_destroy(rng);
	return err;
}
