/*
 * The architecture half of the KVM backend (kvm_x86.c on x86): the ioctls
 * whose structures differ between architectures. Used only by kvm.c.
 */
#ifndef COVE_HV_KVM_KVM_H
#define COVE_HV_KVM_KVM_H

#include <linux/kvm.h>

#include "hv/hv.h"

/* What KVM offers this architecture's vCPUs (x86: KVM_GET_SUPPORTED_CPUID). */
must_check int kvm_arch_caps(int kvm_fd, struct hv_arch_caps *caps);
/* TSS and identity-map addresses, in-kernel IOAPIC/PIC/LAPIC and PIT. */
must_check int kvm_arch_vm_setup(int vm_fd, const struct hv_arch_vm_init *init);
/* CPUID, MSRs, FPU, LAPIC LVTs and (boot vCPU only) the entry registers. */
must_check int kvm_arch_vcpu_setup(int vcpu_fd, const struct hv_arch_vcpu_init *init);

/*
 * The routes KVM sets up by itself with the in-kernel irqchip (x86: GSIs
 * 0-15 to the PIC and IOAPIC, 16-23 to the IOAPIC): KVM_SET_GSI_ROUTING
 * replaces the whole table, so Cove's table starts with these. Returns how
 * many were written (at most `max`).
 */
unsigned int kvm_arch_default_routes(struct kvm_irq_routing_entry *out, unsigned int max);

/* The vCPU's instruction pointer (x86: RIP). */
must_check int kvm_arch_get_ip(int vcpu_fd, uint64_t *ip);

#endif
