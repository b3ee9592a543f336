/* cell_queue: the plumbing of Item 58's pipeline (pipeline.c), kept out of
 * the lesson's path: the item one cell carries through the queues, putting
 * it, taking every result back (the fan-in), and starting a stage's workers. */
#ifndef ITEM56_60_CELL_QUEUE_H
#define ITEM56_60_CELL_QUEUE_H

#include "error.h"
#include "game.h"
#include "queue.h"
#include "worker.h"

/* One cell's trip through the pipeline. The book sends tuples:
 * (y, x, state, neighbors) or (y, x, state, get) in, (y, x, next_state) out,
 * where next_state may be the exception. Here one struct per cell makes the
 * whole trip and each stage fills in its part. */
struct cell_item {
    long y, x;
    char state;
    struct getter get; /* --phased: count_neighbors runs in a worker */
    int neighbors;
    char next_state;
    struct error *error; /* the exception a stage caught, instead of a result */
};

/* in_queue.put(item): the queue is open and unbounded, so this cannot fail. */
void put_item(struct queue *q, struct cell_item *item);

/* The fan-in: take all `cells` results off out_queue and set each new state
 * through set. Returns SimulationError(y, x) from the first error, or NULL.
 * After an error it still takes every result, so the queue is empty for the
 * next generation or for a clean stop. */
struct error *fan_in(struct queue *out_queue, long cells, struct setter set);

/* start_threads(count, func, in_queue, out_queue), or exit 1 naming it. */
void start_workers(struct worker_threads *threads, long count, worker_fn *func,
                   struct queue *in_queue, struct queue *out_queue);

#endif
