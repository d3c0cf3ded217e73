/*
 * The split virtqueue, device side (virtio 1.x, section 2.7 "Split
 * Virtqueues"). Every ring rule lives in virtq.c: devices never index the
 * descriptor table or the rings themselves, they pop whole descriptor chains
 * as host iovecs and push them back with the number of bytes written.
 *
 * Guest-controlled: everything in the rings and descriptor tables. virtq.c
 * validates it all (addresses through guest_mem_ptr, `next` < size, chain
 * length bounded by the queue size (every descriptor that describes a
 * buffer counts, zero-length ones and an indirect table's entries included;
 * the descriptor pointing at the table does not), indirect tables,
 * overflow-checked sums, readable segments before writable ones, avail idx
 * at most `size` ahead of the device); a violation makes virtq_pop()
 * return -EINVAL, after which the device must stop using the queue and the
 * transport sets DEVICE_NEEDS_RESET. Cove itself never aborts on guest data.
 *
 * Threading: a virtq has no lock of its own; its owner (struct
 * virtio_device) serialises every call with the device lock.
 */
#ifndef COVE_VIRTIO_VIRTQ_H
#define COVE_VIRTIO_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "base/compiler.h"
#include "vm/guest_mem.h"

/* Largest queue size a Cove device offers (spec maximum is 32768). */
#define VIRTQ_MAX_SIZE 1024

/*
 * One descriptor chain, popped from the available ring. iov[0..n_out) are the
 * device-readable segments in order, iov[n_out..n_out+n_in) the
 * device-writable ones. The iovecs point straight into guest memory and stay
 * valid until the chain is pushed back (guest RAM is never unmapped while the
 * VM runs). Total sizes are precomputed and cannot overflow (a chain whose
 * sum exceeds UINT32_MAX is rejected).
 */
struct virtq_chain {
	uint16_t head;	   /* id to give back to virtq_push() */
	uint16_t n_out;	   /* device-readable segments */
	uint16_t n_in;	   /* device-writable segments */
	uint32_t out_len;  /* total readable bytes */
	uint32_t in_len;   /* total writable bytes */
	struct iovec iov[VIRTQ_MAX_SIZE];
};

/* The guest-programmed queue layout, as the transport collected it. */
struct virtq_layout {
	uint16_t size;	  /* power of two, 1..VIRTQ_MAX_SIZE (checked by virtq_enable) */
	uint64_t desc;	  /* descriptor table: 16 * size bytes, 16-aligned */
	uint64_t avail;	  /* driver area: 6 + 2 * size bytes, 2-aligned */
	uint64_t used;	  /* device area: 6 + 8 * size bytes, 4-aligned */
};

struct virtq {
	const struct guest_mem *mem;
	bool enabled;
	bool event_idx;	      /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;	      /* VIRTIO_F_INDIRECT_DESC negotiated */
	uint16_t size;
	/* Host views of the three areas, validated once by virtq_enable(). */
	void *desc;
	void *avail;
	void *used;
	uint16_t last_avail;  /* next available-ring slot to consume */
	uint16_t used_idx;    /* next used-ring slot to fill (our copy) */
	uint16_t signalled_used; /* used_idx at the last interrupt (EVENT_IDX) */
	bool signalled_used_valid;
};

/* Zeroes the queue: disabled, no memory yet. */
void virtq_init(struct virtq *vq, const struct guest_mem *mem);

/*
 * Validates `layout` (size a power of two within VIRTQ_MAX_SIZE, alignments,
 * every area inside one guest RAM region) and enables the queue with the
 * negotiated ring features. Indices start at 0 (queue reset state).
 * Returns 0 or -EINVAL (the queue stays disabled).
 */
must_check int virtq_enable(struct virtq *vq, const struct virtq_layout *layout,
			    bool event_idx, bool indirect);

/* Back to the reset state (disabled, indices 0); no guest memory is touched. */
void virtq_reset(struct virtq *vq);

/*
 * Pops the next available chain into `chain`. Returns 1 with a chain, 0 when
 * the ring is empty (or the queue is disabled), -EINVAL when the guest broke
 * a ring rule (the caller must stop using the queue: device NEEDS_RESET).
 * An empty ring re-arms notifications as virtq_enable_notify() does (and
 * re-checks), so a device that pops until 0 on every kick never loses one;
 * a device that stops before 0 must make progress by itself.
 */
must_check int virtq_pop(struct virtq *vq, struct virtq_chain *chain);

/*
 * Returns chain `head` to the guest as used with `len` bytes written into
 * its writable segments; publishes the new used index (release ordering).
 * Preconditions (asserted): the queue is enabled and `head` came from
 * virtq_pop(); `len` should not exceed the chain's in_len.
 */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t len);

/*
 * Returns `n` chains at once: their used entries are written first and
 * published by a single index update, so the driver sees all of them or
 * none (the chains of one mergeable virtio-net frame are read as one: a
 * driver that saw only the first would find the others missing).
 * Preconditions as for virtq_push(), for each entry; n <= the queue size.
 */
void virtq_push_batch(struct virtq *vq, const uint16_t *heads, const uint32_t *lens,
		      unsigned int n);

/*
 * True if the driver wants an interrupt for what was pushed since the
 * previous call: EVENT_IDX's used_event rule, else the NO_INTERRUPT flag;
 * false if nothing was pushed since that call. With EVENT_IDX, the first call
 * after virtq_enable() and a call after 65536 pushes without one answer true
 * (the window is unknown; a spare interrupt is harmless, a lost one is not).
 * Call after a batch of pushes; if it says true, raise the queue interrupt.
 */
bool virtq_should_notify(struct virtq *vq);

/*
 * Notification suppression while the device is draining the queue:
 * virtq_disable_notify() asks the driver not to kick; virtq_enable_notify()
 * asks again for kicks and returns true if buffers arrived meanwhile (the
 * caller must then pop again, or a kick would be lost). Without EVENT_IDX
 * they set and clear used->flags NO_NOTIFY; with it, disabling leaves
 * avail_event alone (the driver kicks at most once more) and enabling sets
 * avail_event to the next entry the device will consume.
 */
void virtq_disable_notify(struct virtq *vq);
must_check bool virtq_enable_notify(struct virtq *vq);

/*
 * Serves a kick: with the driver's kicks suppressed, pops every available
 * chain into `chain` and hands it to `take(opaque, chain)`, then asks for
 * kicks again and repeats if buffers arrived meanwhile. `take` returns false
 * to stop at once (the device needs a reset, or must make progress by
 * itself: notifications stay suppressed). Returns 1 when the ring was
 * drained and notifications are armed, 0 when `take` stopped, -EINVAL when
 * the guest broke a ring rule (the caller sets NEEDS_RESET, as after
 * virtq_pop()).
 */
must_check int virtq_drain(struct virtq *vq, struct virtq_chain *chain,
			   bool (*take)(void *opaque, const struct virtq_chain *chain),
			   void *opaque);

/* Copies up to `len` bytes out of the chain's readable segments, from byte
 * `offset`; returns the number copied. */
size_t virtq_chain_read(const struct virtq_chain *chain, size_t offset, void *dst, size_t len);
/* Copies up to `len` bytes into the chain's writable segments, from byte
 * `offset` of the writable part; returns the number copied. */
size_t virtq_chain_write(const struct virtq_chain *chain, size_t offset, const void *src,
			 size_t len);

#endif
