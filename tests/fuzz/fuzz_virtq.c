/*
 * Fuzz target for the split virtqueue (src/virtio/virtq.c): the input is a
 * queue layout plus an image of guest memory, so the fuzzer controls every
 * ring field and descriptor a hostile guest could write. The harness plays a
 * device that enables the queue, then pops, reads, writes and pushes chains
 * until the ring is empty or broken, asking about notifications on the way.
 * virtq must never crash, read or write outside guest RAM, or hand out a
 * chain that breaks its own contract (checked here, abort() on violation).
 *
 * Input layout (little-endian):
 *   0  u16 queue size (virtq_enable validates it)
 *   2  u8  ring features: bit 0 EVENT_IDX, bit 1 INDIRECT_DESC
 *   3  u8  device script: bit 0 disable notifications while draining,
 *          bit 1 decide on notification after every push (else per batch),
 *          bit 2 push 0 bytes (else what was written)
 *   4  u32 descriptor table gpa
 *   8  u32 avail ring gpa
 *  12  u32 used ring gpa
 *  16  guest memory image, loaded at the start of both RAM regions:
 *      RAM A [0, 0x10000) and RAM B [0x11000, 0x15000) (a copy of its first
 *      16 KiB, so that small inputs reach both); the rest of RAM is zero. The
 *      page between them is a gap, and nothing above 0x15000 is RAM.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/log.h"
#include "fuzz.h"
#include "virtio/virtq.h"
#include "vm/guest_mem.h"

#define RAM_A_GPA 0x0
#define RAM_A_SIZE 0x10000
#define RAM_B_GPA 0x11000
#define RAM_B_SIZE 0x4000
#define HEADER 16
#define SCRATCH 4096

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * Host memory for one RAM region between wide PROT_NONE guards, so that any
 * host access outside guest RAM (beyond a region, or a descriptor table read
 * past its end) faults at once: sanitizers do not watch mmap'd memory.
 */
static uint8_t *guarded(size_t size)
{
	const size_t guard = 2 * MiB; /* more than a 65536-entry descriptor table */
	uint8_t *p = mmap(NULL, size + 2 * guard, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED || mprotect(p + guard, size, PROT_READ | PROT_WRITE))
		abort();
	return p + guard;
}

/* Guest RAM is mapped once (built by hand, for the guards) and cleared for every input. */
static struct guest_mem *fuzz_mem(void)
{
	static struct guest_mem gm;

	if (gm.count == 0) {
		guest_mem_init(&gm);
		gm.regions[0] =
		    (struct guest_mem_region){RAM_A_GPA, RAM_A_SIZE, guarded(RAM_A_SIZE)};
		gm.regions[1] =
		    (struct guest_mem_region){RAM_B_GPA, RAM_B_SIZE, guarded(RAM_B_SIZE)};
		gm.count = 2;
		log_set_level(LOG_LEVEL_OFF);
	}
	return &gm;
}

static void load_image(struct guest_mem *gm, const uint8_t *img, size_t len)
{
	uint8_t *a = guest_mem_ptr(gm, RAM_A_GPA, RAM_A_SIZE);
	uint8_t *b = guest_mem_ptr(gm, RAM_B_GPA, RAM_B_SIZE);

	memset(a, 0, RAM_A_SIZE);
	memset(b, 0, RAM_B_SIZE);
	memcpy(a, img, len < RAM_A_SIZE ? len : RAM_A_SIZE);
	memcpy(b, img, len < RAM_B_SIZE ? len : RAM_B_SIZE);
}

/* The chain must keep virtq.h's promises: checked, not trusted. */
static void check_chain(const struct guest_mem *gm, const struct virtq *vq,
			const struct virtq_chain *c)
{
	uint64_t out = 0, in = 0;

	if (c->head >= vq->size || c->n_out + c->n_in > vq->size)
		abort();
	for (unsigned int i = 0; i < (unsigned int)c->n_out + c->n_in; i++) {
		const struct iovec *v = &c->iov[i];
		bool in_ram = false;

		for (unsigned int r = 0; r < gm->count; r++) {
			const uint8_t *base = gm->regions[r].hva;
			const uint8_t *p = v->iov_base;

			if (p >= base && v->iov_len <= gm->regions[r].size &&
			    (size_t)(p - base) <= gm->regions[r].size - v->iov_len)
				in_ram = true;
		}
		if (!in_ram || v->iov_len == 0)
			abort();
		*(i < c->n_out ? &out : &in) += v->iov_len;
	}
	if (out != c->out_len || in != c->in_len)
		abort();
}

/* What a device does with a chain: read the request, write a reply. */
static uint32_t serve(const struct virtq_chain *c, uint8_t script)
{
	static uint8_t scratch[SCRATCH];
	size_t wrote;

	virtq_chain_read(c, 0, scratch, sizeof(scratch));
	if (c->out_len > 1 && virtq_chain_read(c, c->out_len - 1, scratch, sizeof(scratch)) != 1)
		abort();
	memset(scratch, 0xa5, sizeof(scratch));
	wrote = virtq_chain_write(c, 0, scratch, sizeof(scratch));
	if (wrote != (c->in_len < SCRATCH ? c->in_len : SCRATCH))
		abort();
	if (c->in_len > SCRATCH && virtq_chain_write(c, c->in_len - 1, scratch, 8) != 1)
		abort();
	return script & 4 ? 0 : (uint32_t)wrote;
}

static void drain(const struct guest_mem *gm, struct virtq *vq, uint8_t script)
{
	static struct virtq_chain chain;

	if (script & 1)
		virtq_disable_notify(vq);
	/* The guest does not move during one input, so this ends; bound it anyway. */
	for (unsigned int n = 0; n < 2u * vq->size + 2; n++) {
		int rc = virtq_pop(vq, &chain);

		if (rc < 0)
			break; /* the device would now enter NEEDS_RESET */
		if (rc == 0) {
			if (!virtq_enable_notify(vq))
				break;
			continue;
		}
		check_chain(gm, vq, &chain);
		virtq_push(vq, chain.head, serve(&chain, script));
		if (script & 2)
			(void)virtq_should_notify(vq);
	}
	(void)virtq_should_notify(vq);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem *gm = fuzz_mem();
	struct virtq_layout layout;
	struct virtq vq;

	if (size < HEADER)
		return 0;
	layout.size = (uint16_t)(data[0] | data[1] << 8);
	layout.desc = le32(data + 4);
	layout.avail = le32(data + 8);
	layout.used = le32(data + 12);
	load_image(gm, data + HEADER, size - HEADER);
	virtq_init(&vq, gm);
	if (virtq_enable(&vq, &layout, data[2] & 1, data[2] & 2) == 0)
		drain(gm, &vq, data[3]);
	virtq_reset(&vq);
	return 0;
}
