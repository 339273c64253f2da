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
static inline bool fcs_orderq_less(const orderq_ent *x, const orderq_ent *y)
{
    if (x->ns != y->ns)
        return x->ns < y->ns;
    if (x->tag != y->tag)
        return x->tag < y->tag;
    return x->seq < y->seq;
}

/* Room for one more entry (the array doubled). false: out of memory. */
bool fcs_orderq_grow(orderq *q);

/* Queue e. false: out of memory, nothing queued. A zeroed orderq is empty.
 * (push and pop are inline: once per line written, in anz.c's hot path) */
static inline bool fcs_orderq_push(orderq *q, orderq_ent e)
{
    if (q->n == q->cap && !fcs_orderq_grow(q))
        return false;
    size_t i = q->n++;
    while (i > 0) { /* sift up */
        size_t parent = (i - 1) / 2;
        if (!fcs_orderq_less(&e, &q->e[parent]))
            break;
        q->e[i] = q->e[parent];
        i = parent;
    }
    q->e[i] = e;
    return true;
}

/* Take the least entry out and return its item (q->n > 0): the last entry
 * moves down from the root, one comparison with the smaller child a level. */
static inline void *fcs_orderq_pop(orderq *q)
{
    void *top = q->e[0].item;
    orderq_ent e = q->e[--q->n];
    size_t n = q->n, i = 0;
    if (n == 0)
        return top;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m;
        if (l >= n)
            break;
        m = (r < n && fcs_orderq_less(&q->e[r], &q->e[l])) ? r : l;
        if (!fcs_orderq_less(&q->e[m], &e))
            break;
        q->e[i] = q->e[m];
        i = m;
    }
    q->e[i] = e;
    return top;
}

/* The least entry, NULL when empty. */
static inline const orderq_ent *fcs_orderq_top(const orderq *q)
{
    return q->n ? &q->e[0] : NULL;
}

/* The array (the items are the caller's). */
void fcs_orderq_free(orderq *q);

#endif
