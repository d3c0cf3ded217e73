/* CPUID topology for Cove's vCPUs; see cpuid.h. */
#include "arch/x86/cpuid.h"

#include <string.h>

#define LEAF1_ECX_HYPERVISOR (1u << 31)
#define LEAF1_EDX_HTT (1u << 28)
#define LEAF_B_TYPE_SMT 1u
#define LEAF_B_TYPE_CORE 2u

/* Bits needed to number `n` things (0 for 1). */
static uint32_t id_bits(uint32_t n)
{
	uint32_t bits = 0;

	while ((1u << bits) < n)
		bits++;
	return bits;
}

static void leaf_1(struct hv_x86_cpuid_entry *e, uint32_t id, uint32_t n)
{
	e->ebx = (e->ebx & 0x0000ffffu) | (id << 24) | (MIN(n, 255u) << 16);
	e->ecx |= LEAF1_ECX_HYPERVISOR;
	if (n > 1)
		e->edx |= LEAF1_EDX_HTT;
	else
		e->edx &= ~LEAF1_EDX_HTT;
}

/* Deterministic cache parameters: cores per package, and who shares each cache. */
static void leaf_4(struct hv_x86_cpuid_entry *e, uint32_t n)
{
	uint32_t level = (e->eax >> 5) & 0x7;
	uint32_t sharing = level >= 3 ? n - 1 : 0;

	if ((e->eax & 0x1f) == 0) /* no more caches */
		return;
	e->eax = (e->eax & 0x3fffu) | (sharing << 14) | ((n - 1) << 26);
}

/* Extended topology: level 0 threads (1 per core), level 1 cores (n). */
static void leaf_b(struct hv_x86_cpuid_entry *e, uint32_t id, uint32_t n)
{
	switch (e->index) {
	case 0:
		e->eax = 0;
		e->ebx = 1;
		e->ecx = (LEAF_B_TYPE_SMT << 8) | 0;
		break;
	case 1:
		e->eax = id_bits(n);
		e->ebx = n;
		e->ecx = (LEAF_B_TYPE_CORE << 8) | 1;
		break;
	default:
		e->eax = e->ebx = 0;
		e->ecx = e->index;
		break;
	}
	e->edx = id;
}

static void patch_entry(struct hv_x86_cpuid_entry *e, uint32_t id, uint32_t n)
{
	switch (e->function) {
	case 0x1:
		leaf_1(e, id, n);
		break;
	case 0x4:
		leaf_4(e, n);
		break;
	case 0xb:
		leaf_b(e, id, n);
		break;
	case 0x80000008: /* AMD: NC = cores - 1, ApicIdCoreIdSize */
		e->ecx = (e->ecx & ~0xf0ffu) | (id_bits(n) << 12) | (n - 1);
		break;
	case 0x8000001e: /* AMD: extended APIC ID, one thread per compute unit */
		e->eax = id;
		e->ebx = (e->ebx & ~0xffffu) | (id & 0xff);
		e->ecx = 0;
		break;
	default:
		break;
	}
}

void x86_cpuid_for_vcpu(const struct hv_x86_cpuid *supported, uint32_t id, uint32_t num_cpus,
			struct hv_x86_cpuid *out)
{
	*out = *supported;
	for (unsigned int i = 0; i < out->count; i++)
		patch_entry(&out->entries[i], id, num_cpus);
}
