/*
 * Test helper shared by the legacy device tests: a struct vm_events that
 * counts requests per exit status. Header-only; tests include it.
 */
#ifndef COVE_DEVICES_LEGACY_LEGACY_TEST_EVENTS_H
#define COVE_DEVICES_LEGACY_LEGACY_TEST_EVENTS_H

#include <string.h>

#include "vm/vm_events.h"

struct test_events {
	unsigned int poweroff, reset, panic, other, total;
	struct vm_events ev;
};

static inline void test_events_request(void *opaque, enum vm_exit_status status)
{
	struct test_events *t = opaque;

	t->total++;
	switch (status) {
	case VM_EXIT_POWEROFF:
		t->poweroff++;
		break;
	case VM_EXIT_RESET:
		t->reset++;
		break;
	case VM_EXIT_PANIC:
		t->panic++;
		break;
	default:
		t->other++;
		break;
	}
}

static inline void test_events_init(struct test_events *t)
{
	memset(t, 0, sizeof(*t));
	t->ev.request_exit = test_events_request;
	t->ev.opaque = t;
}

#endif
