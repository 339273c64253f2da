/* params.h — a request's parameter store (params.c), with its one store path inline (not installed).
 *
 * Normative reference: FastCGI Specification 1.0 §3.4 (name-value pairs);
 * docs/ANOMALIES.md (duplicate_param, param_cap_exceeded).
 *
 * Used by request.c only. The pairs' bytes go into one arena, a table of
 * slots describes them, names are checked for duplicates (a hash for names
 * the decoder does not know, a bit per name it knows) and the last
 * occurrence of the names a transaction reports is remembered.
 */
#ifndef FSD_PARAMS_H
#define FSD_PARAMS_H

#include "fsd_internal.h"

typedef struct fsd_param_slot {
    uint32_t off;             /* name at arena + off, the value right after */
    uint32_t hash;            /* bits 31..1: hash of the name (names the decoder does not
                                 know, FSD_PN_OTHER; 0 for the others); bit 0: FSD_SLOT_CUT */
    uint32_t name_stored, value_stored;
} fsd_param_slot;
#define FSD_SLOT_CUT 1u        /* cut to max_pair_bytes: the declared lengths follow the value */

/* The names whose last stored occurrence a transaction reports. */
typedef enum fsd_last_name {
    FSD_LAST_METHOD, FSD_LAST_URI, FSD_LAST_SCRIPT_NAME, FSD_LAST_SCRIPT_FILENAME, FSD_LAST_HTTP_HOST,
    FSD_LAST_SERVER_NAME, FSD_LAST_CONTENT_LENGTH, FSD_LAST_COUNT
} fsd_last_name;

typedef struct fsd_params {
    uint8_t *arena;           /* the stored names and values */
    size_t arena_cap, arena_used;
    fsd_param_slot *slot;     /* the stored pairs, in order */
    size_t n, slot_cap;
    size_t dropped;           /* pairs not stored: after the first (max_params_bytes
                                 passed, or no memory), every later one */
    uint64_t cost;            /* against max_params_bytes: stored bytes + 16 a pair */
    uint32_t *hash;           /* open addressing over slot (index + 1, 0 empty) */
    uint32_t hash_cap, nhashed; /* (32 bits: slots are bounded by max_params_bytes / 16) */
    uint16_t kind_seen;       /* names the decoder knows stored so far (bit = fsd_pname) */
    int32_t last[FSD_LAST_COUNT]; /* slot of the last occurrence, -1 none */
} fsd_params;

typedef enum fsd_params_added {
    FSD_PARAM_STORED,         /* a name not stored before */
    FSD_PARAM_STORED_AGAIN,   /* stored; the name was stored before (a duplicate) */
    FSD_PARAM_NOT_STORED      /* over max_params_bytes or no memory (counted in dropped) */
} fsd_params_added;

void fsd_params_init(fsd_params *s);
void fsd_params_release(fsd_conn *c, fsd_params *s);
/* The first n content bytes p of a PARAMS record of len bytes arrived:
 * reserve the arena for its names and values (at most len bytes) and, when
 * the pair parser is between pairs at p, the slots for the pairs that start
 * in p (counted by their lengths), at once: exactly on the first record,
 * doubling after. A failure is left to fsd_params_add, which reports it. */
void fsd_params_reserve(fsd_conn *c, fsd_params *s, uint32_t len, const uint8_t *p, size_t n, bool between_pairs);
/* The stored pairs as fsd_param (s->n of them into out). */
void fsd_params_list(const fsd_params *s, fsd_param *out);
/* The value of the last stored occurrence of which; false when none. */
bool fsd_params_last(const fsd_params *s, fsd_last_name which, fsd_span *value);

/* The name hash table (open addressing, index + 1 into slot, 0 empty, at
 * most half full; names the decoder does not know only): doubled, or made
 * for the pairs still to come in the slots. */
bool fsd_params_hash_grow(fsd_conn *c, fsd_params *s);

/* The one store path, inline (always: GCC would not on its own) because it
 * runs for every pair: as a call the analyzer ran 1% more instructions on a
 * 20 MB bench-gen capture (callgrind). Below: what it needs. */
#define FSD_PAIR_OVERHEAD 16 /* what a pair costs beyond its bytes (empty pairs are bounded) */

/* fsd_pname -> fsd_last_name (-1: not looked up): the first seven names of
 * fsd_pname, in the same order. */
static inline int fsd_last_of(unsigned kind)
{
    return kind >= FSD_PN_REQUEST_METHOD && kind <= FSD_PN_CONTENT_LENGTH ? (int)(kind - FSD_PN_REQUEST_METHOD) : -1;
}

/* Declared name length of a stored pair. */
static inline uint32_t fsd_params_declared_name_len(const fsd_params *s, const fsd_param_slot *p)
{
    uint32_t v = p->name_stored;
    if (p->hash & FSD_SLOT_CUT)
        memcpy(&v, s->arena + p->off + p->name_stored + p->value_stored, sizeof v);
    return v;
}

/* Hash of a parameter name for duplicate detection, 8 bytes at a time; the
 * tail is the name's last 8 bytes (overlapping), shorter names are read in
 * two overlapping 4-byte or three single loads: every byte counts, no
 * variable-length copy (the values only need to be consistent within one
 * process). */
static inline uint32_t fsd_name_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n, w;
    if (n >= 8) {
        const uint8_t *e = p + n - 8;
        while (p < e) {
            memcpy(&w, p, 8);
            h = (h ^ w) * 0xff51afd7ed558ccdull;
            h ^= h >> 32;
            p += 8;
        }
        memcpy(&w, e, 8);
    } else if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + n - 4, 4);
        w = lo | (uint64_t)hi << 32;
    } else if (n > 0) {
        w = p[0] | (uint64_t)p[n / 2] << 8 | (uint64_t)p[n - 1] << 16;
    } else {
        w = 0;
    }
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    return (uint32_t)h;
}

/* Insert stored pair idx; true when its name was stored before. */
static FSD_ALWAYS_INLINE bool fsd_params_hash_insert(fsd_conn *c, fsd_params *s, size_t idx)
{
    const fsd_param_slot *np = &s->slot[idx];
    const uint8_t *name = s->arena + np->off;
    size_t j;
    if ((s->nhashed + 1) * 2 > s->hash_cap && !fsd_params_hash_grow(c, s)) {
        c->nomem = true;
        return false;
    }
    s->nhashed++;
    j = (np->hash >> 1) & (s->hash_cap - 1);
    while (s->hash[j]) {
        const fsd_param_slot *p = &s->slot[s->hash[j] - 1];
        if ((p->hash | FSD_SLOT_CUT) == (np->hash | FSD_SLOT_CUT) && p->name_stored == np->name_stored &&
            fsd_params_declared_name_len(s, p) == fsd_params_declared_name_len(s, np) &&
            memcmp(s->arena + p->off, name, np->name_stored) == 0) {
            s->hash[j] = (uint32_t)idx + 1; /* keep the latest */
            return true;
        }
        j = (j + 1) & (s->hash_cap - 1);
    }
    s->hash[j] = (uint32_t)idx + 1;
    return false;
}

/* Store pair p, its name of kind (fsd_pname). */
static FSD_ALWAYS_INLINE fsd_params_added fsd_params_add(fsd_conn *c, fsd_params *s, const fsd_pair *p, unsigned kind)
{
    uint32_t ns = p->name_stored, vs = p->value_stored;
    uint64_t cost = (uint64_t)ns + vs + FSD_PAIR_OVERHEAD;
    bool cut = p->name_len != ns || p->value_len != vs;
    size_t need = s->arena_used + ns + vs + (cut ? 2 * sizeof(uint32_t) : 0);
    fsd_param_slot *slot;
    bool dup;

    if (FSD_UNLIKELY(s->dropped > 0 || s->cost + cost > c->lim.max_params_bytes)) {
        s->dropped++;
        return FSD_PARAM_NOT_STORED;
    }
    if (FSD_UNLIKELY(!fsd_mem_reserve(c, (void **)&s->arena, &s->arena_cap, need ? need : 1, 1) ||
                     !fsd_mem_reserve(c, (void **)&s->slot, &s->slot_cap, s->n + 1, sizeof *s->slot))) {
        c->nomem = true;
        s->dropped++;
        return FSD_PARAM_NOT_STORED;
    }
    slot = &s->slot[s->n];
    slot->off = (uint32_t)s->arena_used;
    slot->hash = (kind == FSD_PN_OTHER ? fsd_name_hash(p->name, ns) & ~FSD_SLOT_CUT : 0) | (cut ? FSD_SLOT_CUT : 0);
    slot->name_stored = ns;
    slot->value_stored = vs;
    if (p->value == p->name + ns) { /* contiguous (always, today): one copy */
        if (ns + vs)
            memcpy(s->arena + s->arena_used, p->name, (size_t)ns + vs);
    } else {
        if (ns)
            memcpy(s->arena + s->arena_used, p->name, ns);
        if (vs)
            memcpy(s->arena + s->arena_used + ns, p->value, vs);
    }
    if (FSD_UNLIKELY(cut)) {
        memcpy(s->arena + s->arena_used + ns + vs, &p->name_len, sizeof p->name_len);
        memcpy(s->arena + s->arena_used + ns + vs + sizeof p->name_len, &p->value_len, sizeof p->value_len);
    }
    s->arena_used = need;
    s->cost += cost;
    /* duplicates: names the decoder knows are exact (a bit each), the rest by the hash */
    if (kind == FSD_PN_OTHER) {
        dup = fsd_params_hash_insert(c, s, s->n);
    } else {
        dup = (s->kind_seen >> kind) & 1;
        s->kind_seen |= (uint16_t)(1u << kind);
        if (fsd_last_of(kind) >= 0)
            s->last[fsd_last_of(kind)] = (int32_t)s->n;
    }
    s->n++;
    return dup ? FSD_PARAM_STORED_AGAIN : FSD_PARAM_STORED;
}

#endif
