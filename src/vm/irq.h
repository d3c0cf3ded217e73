/*
 * Interrupt lines as devices see them: a GSI on the VM's in-kernel
 * interrupt controller. Devices hold a `struct irq_line` and never talk to
 * the hypervisor themselves.
 */
#ifndef COVE_VM_IRQ_H
#define COVE_VM_IRQ_H

#include <stdbool.h>
#include <stdint.h>

struct hv_vm;

struct irq_line {
	struct hv_vm *vm;   /* NULL: line not connected (unit tests may use set_fn) */
	uint32_t gsi;
	/* Test hook: when set, irq_line_set calls it instead of the hypervisor. */
	void (*set_fn)(void *opaque, uint32_t gsi, bool level);
	void *opaque;
};

/*
 * Drives the line to `level`. ISA devices (UART, RTC) are edge-triggered on
 * the IOAPIC: the rising edge delivers the interrupt, so devices keep the
 * line high while an interrupt is pending and drop it when it is cleared.
 */
void irq_line_set(const struct irq_line *line, bool level);

#endif
