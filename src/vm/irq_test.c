/* Unit tests for irq_line_set: the test hook and the hypervisor path. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/log.h"
#include "hv/hv.h"
#include "vm/irq.h"

struct calls {
	unsigned int n;
	uint32_t gsi;
	bool level;
	int ret;
};

static struct calls hv_calls;

static int fake_set_irq_line(struct hv_vm *vm, uint32_t gsi, bool level)
{
	(void)vm;
	hv_calls.n++;
	hv_calls.gsi = gsi;
	hv_calls.level = level;
	return hv_calls.ret;
}

static const struct hv_vm_ops fake_vm_ops = { .set_irq_line = fake_set_irq_line };

static void hook(void *opaque, uint32_t gsi, bool level)
{
	struct calls *c = opaque;

	c->n++;
	c->gsi = gsi;
	c->level = level;
}

static void test_hook_wins(void **state)
{
	struct hv_vm vm = { .ops = &fake_vm_ops };
	struct calls c = { 0 };
	struct irq_line line = { .vm = &vm, .gsi = 4, .set_fn = hook, .opaque = &c };

	(void)state;
	hv_calls = (struct calls){ 0 };
	irq_line_set(&line, true);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.gsi, 4);
	assert_true(c.level);
	assert_int_equal(hv_calls.n, 0);
}

static void test_hypervisor_path(void **state)
{
	struct hv_vm vm = { .ops = &fake_vm_ops };
	struct irq_line line = { .vm = &vm, .gsi = 3 };

	(void)state;
	hv_calls = (struct calls){ 0 };
	irq_line_set(&line, true);
	irq_line_set(&line, false);
	assert_int_equal(hv_calls.n, 2);
	assert_int_equal(hv_calls.gsi, 3);
	assert_false(hv_calls.level);
	/* Failures are logged (once) and otherwise survived. */
	hv_calls.ret = -EINVAL;
	irq_line_set(&line, true);
	irq_line_set(&line, true);
	assert_int_equal(hv_calls.n, 4);
}

static void test_unconnected_line_is_a_no_op(void **state)
{
	struct irq_line line = { .vm = NULL, .gsi = 8 };

	(void)state;
	hv_calls = (struct calls){ 0 };
	irq_line_set(&line, true);
	assert_int_equal(hv_calls.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hook_wins),
		cmocka_unit_test(test_hypervisor_path),
		cmocka_unit_test(test_unconnected_line_is_a_no_op),
	};

	log_set_level(LOG_LEVEL_OFF);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
