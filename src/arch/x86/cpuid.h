/*
 * Per-vCPU CPUID: what the hypervisor supports, with the topology fields
 * rewritten so that N vCPUs look like one package of N single-thread cores
 * with APIC IDs 0..N-1 (Intel SDM CPUID leaves 1, 4, 0xB; AMD APM
 * 0x80000008, 0x8000001E), and the hypervisor bit set.
 */
#ifndef COVE_ARCH_X86_CPUID_H
#define COVE_ARCH_X86_CPUID_H

#include "hv/hv.h"

/* Writes into `out` the CPUID of vCPU `id` among `num_cpus`, from `supported`. */
void x86_cpuid_for_vcpu(const struct hv_x86_cpuid *supported, uint32_t id, uint32_t num_cpus,
			struct hv_x86_cpuid *out);

#endif
