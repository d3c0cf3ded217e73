/*
 * The split virtqueue, device side: virtio 1.x section 2.7 "Split
 * Virtqueues" (2.7.5 descriptor table, 2.7.5.3 indirect descriptors, 2.7.6
 * available ring, 2.7.8 used ring, 2.7.7 and 2.7.10 notification
 * suppression). Every ring rule Cove enforces lives here; see virtq.h for
 * the contract.
 *
 * Memory model. The guest writes the descriptor table and the available ring
 * while we read them. Every guest field is read exactly once into a host
 * local before it is validated (load16() for ring fields, desc_fetch() for
 * descriptors), so nothing the guest changes afterwards can slip between a
 * check and a use. avail->idx is read once and followed by an acquire fence
 * before the ring entries it covers are read. The used element is written
 * before a release store of used->idx. The suppression fields the guest
 * writes (used_event, avail->flags) and avail->idx after re-arming are read
 * after a full fence, which orders them after our own stores (the driver
 * does the mirror image), so no kick and no interrupt can be lost.
 *
 * Byte order: rings are little-endian (VERSION_1); the le*toh() calls are
 * free on the little-endian hosts Cove runs on.
 */
#include "virtio/virtq.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <linux/virtio_ring.h>
#include <string.h>

#include "base/log.h"

/* A descriptor as copied out of guest memory, in host byte order. */
struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* State of one chain walk. */
struct walk {
	const struct virtq *vq;
	struct virtq_chain *chain;
	unsigned int count; /* descriptors counted toward the queue-size bound */
	bool seen_write;    /* a device-writable descriptor came already */
	uint64_t out_len, in_len;
};

#define DESC_SIZE sizeof(struct vring_desc)

/* Area sizes; the trailing used_event/avail_event is only there with EVENT_IDX. */
static uint64_t avail_bytes(uint16_t size, bool event_idx)
{
	return sizeof(struct vring_avail) + 2ULL * size + (event_idx ? 2 : 0);
}

static uint64_t used_bytes(uint16_t size, bool event_idx)
{
	return sizeof(struct vring_used) + sizeof(struct vring_used_elem) * (uint64_t)size +
	       (event_idx ? 2 : 0);
}

static uint16_t load16(const uint16_t *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static void store16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELAXED);
}

static struct vring_avail *avail_ring(const struct virtq *vq)
{
	return vq->avail;
}

static struct vring_used *used_ring(const struct virtq *vq)
{
	return vq->used;
}

/* used_event sits after the avail ring's entries, avail_event after the used ring's. */
static uint16_t *used_event_field(const struct virtq *vq)
{
	return &avail_ring(vq)->ring[vq->size];
}

static uint16_t *avail_event_field(const struct virtq *vq)
{
	return (uint16_t *)(void *)&used_ring(vq)->ring[vq->size];
}

void virtq_init(struct virtq *vq, const struct guest_mem *mem)
{
	memset(vq, 0, sizeof(*vq));
	vq->mem = mem;
}

void virtq_reset(struct virtq *vq)
{
	virtq_init(vq, vq->mem);
}

/* Maps one ring area: aligned, and wholly inside one RAM region. */
static void *map_area(const struct virtq *vq, uint64_t gpa, uint64_t len, uint64_t align)
{
	if (gpa & (align - 1))
		return NULL;
	return guest_mem_ptr(vq->mem, gpa, len);
}

int virtq_enable(struct virtq *vq, const struct virtq_layout *layout, bool event_idx, bool indirect)
{
	/* Guest-controlled: the whole layout (queue size and the three addresses). */
	uint16_t size = layout->size;
	void *desc, *avail, *used;

	vq->enabled = false;
	if (size == 0 || size > VIRTQ_MAX_SIZE || (size & (size - 1))) {
		log_guest_once("virtq: queue size %u is not a power of two <= %u", size,
			       VIRTQ_MAX_SIZE);
		return -EINVAL;
	}
	desc = map_area(vq, layout->desc, DESC_SIZE * size, VRING_DESC_ALIGN_SIZE);
	avail = map_area(vq, layout->avail, avail_bytes(size, event_idx), VRING_AVAIL_ALIGN_SIZE);
	used = map_area(vq, layout->used, used_bytes(size, event_idx), VRING_USED_ALIGN_SIZE);
	if (!desc || !avail || !used) {
		log_guest_once("virtq: ring areas desc %#llx avail %#llx used %#llx (size %u) "
			       "misaligned or outside RAM",
			       (unsigned long long)layout->desc, (unsigned long long)layout->avail,
			       (unsigned long long)layout->used, size);
		return -EINVAL;
	}
	virtq_init(vq, vq->mem);
	vq->size = size;
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->event_idx = event_idx;
	vq->indirect = indirect;
	vq->enabled = true;
	return 0;
}

/*
 * Copies one descriptor out of guest memory (which may be unaligned for an
 * indirect table). The compiler barrier makes every later use read the copy:
 * the compiler may not go back to guest memory for a field it validated.
 */
static void desc_fetch(const uint8_t *src, struct desc *d)
{
	struct vring_desc raw;

	memcpy(&raw, src, sizeof(raw));
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	d->addr = le64toh(raw.addr);
	d->len = le32toh(raw.len);
	d->flags = le16toh(raw.flags);
	d->next = le16toh(raw.next);
}

/* Counts one descriptor toward the bound: total <= queue size (this also stops loops). */
static int count_desc(struct walk *w)
{
	if (++w->count > w->vq->size) {
		log_guest_once("virtq: descriptor chain longer than the queue size %u (a loop?)",
			       w->vq->size);
		return -EINVAL;
	}
	return 0;
}

/* Adds one validated descriptor to the chain as a host iovec. */
static int add_segment(struct walk *w, const struct desc *d)
{
	struct virtq_chain *c = w->chain;
	bool writable = d->flags & VRING_DESC_F_WRITE;
	void *hva;

	if (writable) {
		w->seen_write = true;
	} else if (w->seen_write) {
		log_guest_once("virtq: device-readable descriptor after a writable one");
		return -EINVAL;
	}
	if (d->len == 0)
		return 0; /* legal, and nothing to transfer */
	hva = guest_mem_ptr(w->vq->mem, d->addr, d->len);
	if (!hva) {
		log_guest_once("virtq: buffer %#llx+%u outside guest RAM",
			       (unsigned long long)d->addr, d->len);
		return -EINVAL;
	}
	if (writable)
		w->in_len += d->len;
	else
		w->out_len += d->len;
	if (w->in_len > UINT32_MAX || w->out_len > UINT32_MAX) {
		log_guest_once("virtq: descriptor chain totals more than 4 GiB");
		return -EINVAL;
	}
	/* count_desc() bounds the segments by the queue size, hence by the array. */
	assert(c->n_out + c->n_in < VIRTQ_MAX_SIZE);
	c->iov[c->n_out + c->n_in] = (struct iovec){.iov_base = hva, .iov_len = d->len};
	if (writable)
		c->n_in++;
	else
		c->n_out++;
	return 0;
}

/* Checks the descriptor that points at an indirect table and maps the table. */
static const uint8_t *map_indirect(const struct walk *w, const struct desc *ind,
				   unsigned int *entries)
{
	const uint8_t *table;

	if (!w->vq->indirect) {
		log_guest_once("virtq: indirect descriptor without VIRTIO_F_INDIRECT_DESC");
		return NULL;
	}
	if (ind->flags & VRING_DESC_F_NEXT) {
		log_guest_once("virtq: descriptor with both INDIRECT and NEXT");
		return NULL;
	}
	if (ind->len == 0 || ind->len % DESC_SIZE || ind->len / DESC_SIZE > w->vq->size) {
		log_guest_once("virtq: indirect table of %u bytes (queue size %u)", ind->len,
			       w->vq->size);
		return NULL;
	}
	table = guest_mem_ptr(w->vq->mem, ind->addr, ind->len);
	if (!table)
		log_guest_once("virtq: indirect table %#llx+%u outside guest RAM",
			       (unsigned long long)ind->addr, ind->len);
	*entries = ind->len / DESC_SIZE;
	return table;
}

/* Walks an indirect table from its entry 0; it ends the chain. */
static int walk_indirect(struct walk *w, const struct desc *ind)
{
	unsigned int entries, i = 0, seen = 0;
	const uint8_t *table = map_indirect(w, ind, &entries);
	struct desc d;
	int rc;

	if (!table)
		return -EINVAL;
	for (;;) {
		if (++seen > entries) {
			log_guest_once("virtq: loop in an indirect table");
			return -EINVAL;
		}
		rc = count_desc(w);
		if (rc)
			return rc;
		/* Guest-controlled: the table entry. */
		desc_fetch(table + (size_t)i * DESC_SIZE, &d);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			log_guest_once("virtq: indirect descriptor inside an indirect table");
			return -EINVAL;
		}
		rc = add_segment(w, &d);
		if (rc || !(d.flags & VRING_DESC_F_NEXT))
			return rc;
		if (d.next >= entries) {
			log_guest_once("virtq: indirect next %u beyond the table's %u entries",
				       d.next, entries);
			return -EINVAL;
		}
		i = d.next;
	}
}

/*
 * Walks the chain from `head` (< size) in the descriptor table: zero or more
 * direct descriptors, optionally ending with one INDIRECT descriptor (which
 * itself is not counted: only the descriptors that describe buffers are).
 */
static int walk_chain(struct walk *w, uint16_t head)
{
	const uint8_t *table = w->vq->desc;
	uint16_t i = head;
	struct desc d;
	int rc;

	for (;;) {
		/* Guest-controlled: the descriptor. */
		desc_fetch(table + (size_t)i * DESC_SIZE, &d);
		if (d.flags & VRING_DESC_F_INDIRECT)
			return walk_indirect(w, &d);
		rc = count_desc(w);
		if (rc)
			return rc;
		rc = add_segment(w, &d);
		if (rc || !(d.flags & VRING_DESC_F_NEXT))
			return rc;
		if (d.next >= w->vq->size) {
			log_guest_once("virtq: next %u beyond the queue size %u", d.next,
				       w->vq->size);
			return -EINVAL;
		}
		i = d.next;
	}
}

/* Entries the driver made available beyond ours, or -EINVAL if more than a ring's worth. */
static int pending(const struct virtq *vq, uint16_t avail_idx)
{
	uint16_t n = avail_idx - vq->last_avail;

	if (n > vq->size) {
		log_guest_once("virtq: avail idx %u runs %u entries ahead of a queue of %u",
			       avail_idx, n, vq->size);
		return -EINVAL;
	}
	return n;
}

/*
 * Asks the driver to kick for the next buffer after last_avail (avail_event
 * with EVENT_IDX, else clear NO_NOTIFY), then returns avail->idx read after a
 * full fence: either the driver sees our request or we see its new buffers.
 */
static uint16_t rearm_notify(struct virtq *vq)
{
	if (vq->event_idx)
		store16(avail_event_field(vq), vq->last_avail);
	else
		store16(&used_ring(vq)->flags, 0);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* Guest-controlled: avail->idx. */
	return load16(&avail_ring(vq)->idx);
}

int virtq_pop(struct virtq *vq, struct virtq_chain *chain)
{
	struct walk w = {.vq = vq, .chain = chain};
	uint16_t head;
	int n, rc;

	if (!vq->enabled)
		return 0;
	/* Guest-controlled: avail->idx, read once. */
	n = pending(vq, load16(&avail_ring(vq)->idx));
	if (n == 0)
		n = pending(vq, rearm_notify(vq));
	if (n <= 0)
		return n;
	/* The ring entries (and descriptors) are read after the index that covers them. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	/* Guest-controlled: the head index. */
	head = load16(&avail_ring(vq)->ring[vq->last_avail & (vq->size - 1)]);
	if (head >= vq->size) {
		log_guest_once("virtq: head %u beyond the queue size %u", head, vq->size);
		return -EINVAL;
	}
	chain->head = head;
	chain->n_out = chain->n_in = 0;
	rc = walk_chain(&w, head);
	if (rc)
		return rc;
	chain->out_len = (uint32_t)w.out_len;
	chain->in_len = (uint32_t)w.in_len;
	vq->last_avail++;
	return 1;
}

void virtq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	struct vring_used *used = used_ring(vq);
	struct vring_used_elem *elem;

	assert(vq->enabled && head < vq->size);
	elem = &used->ring[vq->used_idx & (vq->size - 1)];
	__atomic_store_n(&elem->id, htole32(head), __ATOMIC_RELAXED);
	__atomic_store_n(&elem->len, htole32(len), __ATOMIC_RELAXED);
	vq->used_idx++;
	/* The element is visible before the index that publishes it. */
	__atomic_store_n(&used->idx, htole16(vq->used_idx), __ATOMIC_RELEASE);
	/* After 65536 pushes without a decision, signalled_used means nothing. */
	if (vq->used_idx == vq->signalled_used)
		vq->signalled_used_valid = false;
}

void virtq_push_batch(struct virtq *vq, const uint16_t *heads, const uint32_t *lens,
		      unsigned int n)
{
	struct vring_used *used = used_ring(vq);

	assert(vq->enabled && n <= vq->size);
	for (unsigned int i = 0; i < n; i++) {
		struct vring_used_elem *elem = &used->ring[vq->used_idx & (vq->size - 1)];

		assert(heads[i] < vq->size);
		__atomic_store_n(&elem->id, htole32(heads[i]), __ATOMIC_RELAXED);
		__atomic_store_n(&elem->len, htole32(lens[i]), __ATOMIC_RELAXED);
		vq->used_idx++;
		if (vq->used_idx == vq->signalled_used)
			vq->signalled_used_valid = false;
	}
	/* Every element is visible before the one index update that publishes them. */
	__atomic_store_n(&used->idx, htole16(vq->used_idx), __ATOMIC_RELEASE);
}

bool virtq_should_notify(struct virtq *vq)
{
	uint16_t old = vq->signalled_used, new = vq->used_idx, event;
	bool valid = vq->signalled_used_valid;

	if (!vq->enabled)
		return false;
	vq->signalled_used = new;
	vq->signalled_used_valid = true;
	if (valid && old == new)
		return false; /* nothing pushed since the last decision */
	/* Our used->idx store comes before the read of the driver's suppression field. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(load16(&avail_ring(vq)->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	if (!valid)
		return true;
	/* Guest-controlled: used_event. Interrupt iff it lies in (old, new]. */
	event = load16(used_event_field(vq));
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

void virtq_disable_notify(struct virtq *vq)
{
	/* With EVENT_IDX, leaving avail_event where it is lets the driver kick at most once. */
	if (!vq->enabled || vq->event_idx)
		return;
	store16(&used_ring(vq)->flags, VRING_USED_F_NO_NOTIFY);
}

bool virtq_enable_notify(struct virtq *vq)
{
	if (!vq->enabled)
		return false;
	return rearm_notify(vq) != vq->last_avail;
}

int virtq_drain(struct virtq *vq, struct virtq_chain *chain,
		bool (*take)(void *opaque, const struct virtq_chain *chain), void *opaque)
{
	int ret;

	do {
		virtq_disable_notify(vq);
		while ((ret = virtq_pop(vq, chain)) > 0) {
			if (!take(opaque, chain))
				return 0;
		}
		if (ret < 0)
			return ret;
	} while (virtq_enable_notify(vq));
	return 1;
}

/*
 * Copies between `buf` and segments [first, first + count) of a chain,
 * starting `offset` bytes into them: into the guest when `to_guest`.
 */
static size_t chain_copy(const struct virtq_chain *chain, unsigned int first, unsigned int count,
			 size_t offset, void *buf, size_t len, bool to_guest)
{
	size_t done = 0;

	for (unsigned int i = first; i < first + count && done < len; i++) {
		const struct iovec *v = &chain->iov[i];
		uint8_t *guest, *host;
		size_t n;

		if (offset >= v->iov_len) {
			offset -= v->iov_len;
			continue;
		}
		guest = (uint8_t *)v->iov_base + offset;
		host = (uint8_t *)buf + done;
		n = MIN(v->iov_len - offset, len - done);
		memcpy(to_guest ? guest : host, to_guest ? host : guest, n);
		done += n;
		offset = 0;
	}
	return done;
}

size_t virtq_chain_read(const struct virtq_chain *chain, size_t offset, void *dst, size_t len)
{
	return chain_copy(chain, 0, chain->n_out, offset, dst, len, false);
}

size_t virtq_chain_write(const struct virtq_chain *chain, size_t offset, const void *src,
			 size_t len)
{
	/* The source is only read: chain_copy's buffer is not const for the other direction. */
	return chain_copy(chain, chain->n_out, chain->n_in, offset, (void *)(uintptr_t)src, len,
			  true);
}
