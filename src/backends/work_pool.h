/*
 * A fixed pool of worker threads for blocking host work (file system calls
 * of the 9P server), so that the event loop and the vCPUs never wait on a
 * disk. Items run in submission order, several at a time; each thread has
 * an index (0..n-1) so that owners can give it private scratch memory.
 *
 * Workers block every signal: process-directed signals (SIGTERM and the
 * like) stay with the thread that serves them through a signalfd.
 */
#ifndef COVE_BACKENDS_WORK_POOL_H
#define COVE_BACKENDS_WORK_POOL_H

#include <pthread.h>
#include <stdbool.h>

#include "base/compiler.h"

struct work_item {
	struct work_item *next;
	/* Runs on worker `worker`; the item belongs to the caller again when it returns. */
	void (*fn)(struct work_item *item, unsigned int worker);
};

struct work_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct work_item *head, *tail;
	pthread_t *threads;
	unsigned int n;	      /* threads running */
	unsigned int next_id; /* the index the next thread takes */
	bool stop;
};

/* Starts n threads named `name` (at most 15 characters). 0 or -errno. */
must_check int work_pool_start(struct work_pool *p, unsigned int n, const char *name);

/* Queues an item; a free worker picks it up. Callable from any thread. */
void work_pool_submit(struct work_pool *p, struct work_item *item);

/*
 * Lets the queued items finish, then stops and joins every thread. The
 * pool may be started again afterwards.
 */
void work_pool_stop(struct work_pool *p);

#endif
