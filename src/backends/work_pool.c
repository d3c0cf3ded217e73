/*
 * Worker threads behind a FIFO of work items; see work_pool.h.
 */
#include "backends/work_pool.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void *worker(void *arg)
{
	struct work_pool *p = arg;
	unsigned int id;

	pthread_mutex_lock(&p->lock);
	id = p->next_id++;
	for (;;) {
		struct work_item *item;

		while (!p->head && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		if (!p->head)
			break; /* stopping, and nothing left to do */
		item = p->head;
		p->head = item->next;
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->lock);
		item->fn(item, id);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Creates one thread with every signal blocked (it inherits the mask). */
static int spawn(struct work_pool *p, pthread_t *t, const char *name)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(t, NULL, worker, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!err)
		pthread_setname_np(*t, name);
	return -err;
}

int work_pool_start(struct work_pool *p, unsigned int n, const char *name)
{
	int err;

	memset(p, 0, sizeof(*p));
	p->threads = calloc(n, sizeof(*p->threads));
	if (!p->threads)
		return -ENOMEM;
	err = -pthread_mutex_init(&p->lock, NULL);
	if (!err && (err = -pthread_cond_init(&p->cond, NULL)))
		pthread_mutex_destroy(&p->lock);
	if (err) {
		free(p->threads);
		return err;
	}
	for (; p->n < n; p->n++) {
		err = spawn(p, &p->threads[p->n], name);
		if (err) {
			work_pool_stop(p);
			return err;
		}
	}
	return 0;
}

void work_pool_submit(struct work_pool *p, struct work_item *item)
{
	item->next = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = item;
	else
		p->head = item;
	p->tail = item;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void work_pool_stop(struct work_pool *p)
{
	if (!p->threads)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (unsigned int i = 0; i < p->n; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
	p->threads = NULL;
	p->n = 0;
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
}
