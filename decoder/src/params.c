/* params.c — a request's parameter store: the pairs' bytes in one arena, a table of the stored pairs, duplicate names, and the last occurrence of the names a transaction reports.
 *
 * Normative reference: FastCGI Specification 1.0 §3.4 (name-value pairs);
 * docs/ANOMALIES.md (duplicate_param, param_cap_exceeded).
 *
 * One store path (fsd_params_add, inline in params.h: it runs for
 * every pair) for every pair, whatever parsed it. The store does not fire
 * anomalies: it says whether a pair was stored and whether its name was
 * stored before; request.c reports.
 *
 * A stored pair: name at arena + off, its value right after. Its declared
 * lengths are the stored ones, except for a pair cut to max_pair_bytes
 * (FSD_SLOT_CUT in hash): then they follow the value in the arena (2 x
 * uint32_t). Every pair costs its stored bytes + 16 against max_params_bytes
 * (bookkeeping counts too: empty pairs are bounded).
 */
#include "params.h"

#include <string.h>

void fsd_params_init(fsd_params *s)
{
    memset(s, 0, sizeof *s);
    for (int k = 0; k < FSD_LAST_COUNT; k++)
        s->last[k] = -1;
}

void fsd_params_release(fsd_conn *c, fsd_params *s)
{
    if (s->arena)
        fsd_mem_free(c, s->arena, s->arena_cap);
    if (s->slot)
        fsd_mem_free(c, s->slot, s->slot_cap * sizeof *s->slot);
    if (s->hash)
        fsd_mem_free(c, s->hash, s->hash_cap * sizeof *s->hash);
    fsd_params_init(s);
}

/* Declared value length of a stored pair. */
static inline uint32_t declared_value_len(const fsd_params *s, const fsd_param_slot *p)
{
    uint32_t v = p->value_stored;
    if (p->hash & FSD_SLOT_CUT)
        memcpy(&v, s->arena + p->off + p->name_stored + p->value_stored + sizeof v, sizeof v);
    return v;
}

static void slot_param(const fsd_params *s, size_t i, fsd_param *out)
{
    static const uint8_t empty[1] = { 0 }; /* present but empty: a non-NULL span */
    const fsd_param_slot *p = &s->slot[i];
    const uint8_t *base = s->arena ? s->arena : empty;
    out->name.ptr = base + p->off;
    out->name.len = p->name_stored;
    out->value.ptr = base + p->off + p->name_stored;
    out->value.len = p->value_stored;
    out->name_len = fsd_params_declared_name_len(s, p);
    out->value_len = declared_value_len(s, p);
}

void fsd_params_list(const fsd_params *s, fsd_param *out)
{
    for (size_t i = 0; i < s->n; i++)
        slot_param(s, i, &out[i]);
}

bool fsd_params_last(const fsd_params *s, fsd_last_name which, fsd_span *value)
{
    fsd_param p;
    if (s->last[which] < 0)
        return false;
    slot_param(s, (size_t)s->last[which], &p);
    *value = p.value;
    return true;
}

bool fsd_params_hash_grow(fsd_conn *c, fsd_params *s)
{
    size_t ncap = s->hash_cap * 2;
    if (ncap == 0) /* first: at most half full with every pair still to come in the
                      pair table (the record's pairs, usually) */
        for (ncap = 8; ncap < 2 * (s->slot_cap - s->n); ncap *= 2)
            ;
    uint32_t *nh = fsd_mem_alloc(c, ncap * sizeof *nh);
    if (nh == NULL)
        return false;
    memset(nh, 0, ncap * sizeof *nh);
    for (size_t i = 0; i < s->hash_cap; i++) {
        if (s->hash[i]) {
            size_t j = (s->slot[s->hash[i] - 1].hash >> 1) & (ncap - 1);
            while (nh[j])
                j = (j + 1) & (ncap - 1);
            nh[j] = s->hash[i];
        }
    }
    if (s->hash)
        fsd_mem_free(c, s->hash, s->hash_cap * sizeof *s->hash);
    s->hash = nh;
    s->hash_cap = (uint32_t)ncap;
    return true;
}

/* Pairs that start in p[0..n): counted by their lengths, when the parser is
 * between pairs at p. */
static size_t count_pairs(const uint8_t *p, size_t n)
{
    size_t i = 0, k = 0;
    while (i < n) {
        uint64_t l[2];
        if (n - i >= 2 && !((p[i] | p[i + 1]) & 0x80)) { /* 1-byte lengths: the usual */
            i += 2 + (size_t)p[i] + p[i + 1];
            k++;
            continue;
        }
        for (int j = 0; j < 2; j++) {
            if (i < n && !(p[i] & 0x80)) {
                l[j] = p[i++];
            } else if (n - i >= 4) {
                l[j] = ((uint32_t)(p[i] & 0x7f) << 24) | ((uint32_t)p[i + 1] << 16) | ((uint32_t)p[i + 2] << 8) |
                       p[i + 3];
                i += 4;
            } else {
                i = n;
                l[j] = 0;
            }
        }
        k++;
        i = l[0] + l[1] < n - i ? i + l[0] + l[1] : n;
    }
    return k;
}

void fsd_params_reserve(fsd_conn *c, fsd_params *s, uint32_t len, const uint8_t *p, size_t n, bool between_pairs)
{
    size_t want, room, k;
    if (s->dropped > 0 || len == 0 || s->cost >= c->lim.max_params_bytes)
        return;
    room = c->lim.max_params_bytes - s->cost;
    want = s->arena_used + (len < room ? len : room);
    if (want > s->arena_cap) {
        if (s->arena == NULL) {
            s->arena = fsd_mem_alloc(c, want);
            if (s->arena != NULL)
                s->arena_cap = want;
        } else {
            (void)fsd_mem_grow(c, (void **)&s->arena, &s->arena_cap, want, 1);
        }
    }
    if (!between_pairs)
        return;
    k = count_pairs(p, n < len ? n : len);
    if (k > room / FSD_PAIR_OVERHEAD + 1) /* each stored pair costs at least FSD_PAIR_OVERHEAD */
        k = room / FSD_PAIR_OVERHEAD + 1;
    want = s->n + k;
    if (want <= s->slot_cap)
        return;
    if (s->slot == NULL) {
        s->slot = fsd_mem_alloc(c, want * sizeof *s->slot);
        if (s->slot != NULL)
            s->slot_cap = want;
    } else {
        (void)fsd_mem_grow(c, (void **)&s->slot, &s->slot_cap, want, sizeof *s->slot);
    }
}
