/* Unit tests for the worker pool: every item runs once, on a worker with a valid index,
 * several at a time, with signals blocked; stop drains the queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "backends/work_pool.h"

#define WORKERS 4
#define ITEMS 1000

struct item {
	struct work_item w;
	atomic_int runs;
	unsigned int worker;
	bool signals_blocked;
};

static atomic_int running, peak;

static void run(struct work_item *w, unsigned int worker)
{
	struct item *it = (struct item *)w;
	sigset_t mask;
	int now = atomic_fetch_add(&running, 1) + 1;

	for (int p = atomic_load(&peak); now > p && !atomic_compare_exchange_weak(&peak, &p, now);)
		;
	pthread_sigmask(SIG_BLOCK, NULL, &mask);
	it->signals_blocked = sigismember(&mask, SIGTERM) && sigismember(&mask, SIGINT);
	it->worker = worker;
	usleep(100);
	atomic_fetch_add(&it->runs, 1);
	atomic_fetch_sub(&running, 1);
}

static void test_every_item_runs_once(void **state)
{
	static struct item items[ITEMS];
	struct work_pool pool;

	(void)state;
	assert_int_equal(work_pool_start(&pool, WORKERS, "test-pool"), 0);
	for (int i = 0; i < ITEMS; i++) {
		items[i].w.fn = run;
		work_pool_submit(&pool, &items[i].w);
	}
	work_pool_stop(&pool); /* lets the queue drain */
	for (int i = 0; i < ITEMS; i++) {
		assert_int_equal(atomic_load(&items[i].runs), 1);
		assert_true(items[i].worker < WORKERS);
		assert_true(items[i].signals_blocked);
	}
	assert_true(atomic_load(&peak) > 1); /* really concurrent */
	assert_true(atomic_load(&peak) <= WORKERS);
	/* and it can start again */
	assert_int_equal(work_pool_start(&pool, 1, "again"), 0);
	work_pool_stop(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_item_runs_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
