/* orderq.h — the ordering queue: lines waiting to be written in start order (a binary min-heap).
 *
 * anz.c queues every request and anomaly line under its start (the packet
 * of its BEGIN_REQUEST: timestamp, then frame number) and writes the least
 * once nothing still to come can sort before it. seq (the order queued)
 * breaks ties, so lines with the same start keep the order they came in.
 * Each entry carries its sort key itself: sifting compares neighbouring
 * entries without visiting the items (cache misses).
 */
#ifndef FCGISCOPE_ORDERQ_H
#define FCGISCOPE_ORDERQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct orderq_ent {
    int64_t ns;               /* start: timestamp, */
    uint64_t tag;             /* then frame number, */
    uint64_t seq;             /* then the order queued */
    void *item;               /* the caller's (not used by the queue) */
} orderq_ent;

typedef struct orderq {
    orderq_ent *e;            /* e[0] is the least */
    size_t n, cap;
} orderq;

/* Does x sort before y? */
static inline bool orderq_less(const orderq_ent *x, const orderq_ent *y)
{
    if (x->ns != y->ns)
        return x->ns < y->ns;
    if (x->tag != y->tag)
        return x->tag < y->tag;
    return x->seq < y->seq;
}

/* Queue e. false: out of memory, nothing queued. A zeroed orderq is empty. */
bool orderq_push(orderq *q, orderq_ent e);

/* Take the least entry out and return its item (q->n > 0). */
void *orderq_pop(orderq *q);

/* The least entry, NULL when empty. */
static inline const orderq_ent *orderq_top(const orderq *q)
{
    return q->n ? &q->e[0] : NULL;
}

/* The array (the items are the caller's). */
void orderq_free(orderq *q);

#endif
