/*
 * Interrupt lines (see irq.h): forwards a level change to the test hook or
 * to the hypervisor's in-kernel interrupt controller.
 */
#include "vm/irq.h"

#include <string.h>

#include "base/log.h"
#include "hv/hv.h"

void irq_line_set(const struct irq_line *line, bool level)
{
	static bool failure_logged;
	int ret;

	if (line->set_fn) {
		line->set_fn(line->opaque, line->gsi, level);
		return;
	}
	if (line->vm == NULL)
		return; /* not connected */

	ret = line->vm->ops->set_irq_line(line->vm, line->gsi, level);
	/* A host failure, but one that may repeat on every access: log once. */
	if (ret < 0 && !__atomic_exchange_n(&failure_logged, true, __ATOMIC_RELAXED))
		log_error("irq: setting GSI %u to %d failed: %s", line->gsi, level, strerror(-ret));
}
