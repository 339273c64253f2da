/* orderq.c — the ordering queue: lines waiting to be written in start order.
 *
 * See orderq.h. A binary heap in one array; push sifts up, pop moves the
 * last entry down from the root (one comparison with the smaller child
 * per level).
 */
#include "orderq.h"

#include <stdlib.h>

bool orderq_push(orderq *q, orderq_ent e)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 256;
        orderq_ent *p = realloc(q->e, cap * sizeof *p);
        if (!p)
            return false;
        q->e = p;
        q->cap = cap;
    }
    size_t i = q->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!orderq_less(&e, &q->e[parent]))
            break;
        q->e[i] = q->e[parent];
        i = parent;
    }
    q->e[i] = e;
    return true;
}

void *orderq_pop(orderq *q)
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
        m = (r < n && orderq_less(&q->e[r], &q->e[l])) ? r : l;
        if (!orderq_less(&q->e[m], &e))
            break;
        q->e[i] = q->e[m];
        i = m;
    }
    q->e[i] = e;
    return top;
}

void orderq_free(orderq *q)
{
    free(q->e);
    q->e = NULL;
    q->n = q->cap = 0;
}
