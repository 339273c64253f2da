/* activeq.h — the active BEGIN_REQUESTs: the earliest one at hand, any one removable (a binary min-heap whose nodes know their place).
 *
 * anz.c notes every BEGIN_REQUEST the decoder tracks here, under its first
 * packet (timestamp, then frame number), and removes it when its request is
 * delivered: no line may be written before the earliest active one (its
 * request is still to come and sorts first). The nodes are the caller's,
 * embedded in its own struct; the heap holds pointers and keeps each node's
 * idx up to date, so removal needs no search.
 */
#ifndef FCGISCOPE_ACTIVEQ_H
#define FCGISCOPE_ACTIVEQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct activeq_node {
    int64_t ns;               /* start: timestamp, */
    uint64_t tag;             /* then frame number */
    size_t idx;               /* its place in the heap (the heap's to set) */
} activeq_node;

typedef struct activeq {
    activeq_node **h;         /* h[0] is the earliest */
    size_t n, cap;
} activeq;

/* Does x start before y? */
static inline bool fcs_activeq_less(const activeq_node *x, const activeq_node *y)
{
    return x->ns < y->ns || (x->ns == y->ns && x->tag < y->tag);
}

/* Note nd (ns and tag set). false: out of memory, not noted. A zeroed
 * activeq is empty. */
bool fcs_activeq_push(activeq *q, activeq_node *nd);

/* Remove nd, which is in q. */
void fcs_activeq_remove(activeq *q, activeq_node *nd);

/* The earliest, NULL when none is active. */
static inline const activeq_node *fcs_activeq_min(const activeq *q)
{
    return q->n ? q->h[0] : NULL;
}

/* The array (the nodes are the caller's). */
void fcs_activeq_free(activeq *q);

#endif
