/* orderq.c — the ordering queue: lines waiting to be written in start order.
 *
 * See orderq.h (push, pop and top are inline there); here what is not on
 * the hot path: growing the array and freeing it.
 */
#include "orderq.h"

#include <stdlib.h>

bool fcs_orderq_grow(orderq *q)
{
    size_t cap = q->cap ? q->cap * 2 : 256;
    orderq_ent *p = realloc(q->e, cap * sizeof *p);
    if (!p)
        return false;
    q->e = p;
    q->cap = cap;
    return true;
}

void fcs_orderq_free(orderq *q)
{
    free(q->e);
    q->e = NULL;
    q->n = q->cap = 0;
}
