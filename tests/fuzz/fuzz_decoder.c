/* fuzz_decoder.c — libFuzzer target over the connection decoder: both directions, chunking, gaps and closes chosen by the input.
 *
 * Normative reference: decoder/include/fsd/fsd.h (results identical however
 * input is chunked; bounded memory); tests/vectors/README.md (the event log).
 *
 * Input encoding (also produced from the vectors by fuzz_decoder_replay --write-seeds):
 *
 *   byte 0   bit 0 midstream client, bit 1 midstream server, bits 2-4 limits profile
 *   byte 1   split point k for the third replay
 *   then ops: 0x00|d  data of direction d: length (BE16), bytes
 *             0x02|d  gap of direction d: length (BE16)
 *             0x04|d  FIN from d        0x06|d  RST from d        0x08 finish
 *             (other op bytes are taken modulo 10)
 *
 * Each input is replayed whole, one byte at a time, cut at k and record by
 * record (fsd_conn_feed_record); the four event logs must be identical
 * (abort otherwise). Every anomaly must carry a
 * severity within its catalogue range.
 */
#include "fuzz_common.h"

#include <stdlib.h>
#include <string.h>

vec *fuzz_to_vec(const uint8_t *data, size_t size, size_t *split)
{
    vec *v = calloc(1, sizeof *v);
    size_t pos = 2;
    unsigned profile;
    if (!v)
        abort();
    v->name = NULL;
    v->expect = NULL;
    v->head = NULL;
    *split = 1;
    if (size < 2)
        return v;
    v->flags = data[0] & 3u;
    profile = (data[0] >> 2) & 7u;
    if (profile) {
        /* small caps so the fuzzer reaches them */
        v->limits.max_params_bytes = 64u << profile;
        v->limits.max_pair_bytes = 16u << profile;
        v->limits.max_cgi_header_bytes = 8u << profile;
        v->limits.max_active_requests = profile * 2;
        v->limits.max_request_anomalies = profile;
    }
    *split = data[1] ? data[1] : 1;
    while (pos < size && v->nsteps < 4096) {
        vec_step s;
        unsigned op = data[pos++] % 10u;
        memset(&s, 0, sizeof s);
        s.dir = (fsd_dir)(op & 1u);
        s.tag = v->nsteps + 1;
        s.ts = (int64_t)s.tag * 1000;
        switch (op >> 1) {
        case 0:
        case 1: {
            size_t n;
            if (pos + 2 > size)
                return v;
            n = (size_t)data[pos] << 8 | data[pos + 1];
            pos += 2;
            if (n > size - pos)
                n = size - pos;
            if ((op >> 1) == 0) {
                s.op = OP_DATA;
                s.data = malloc(n ? n : 1);
                if (!s.data)
                    abort();
                memcpy(s.data, data + pos, n);
                s.len = n;
                pos += n;
            } else {
                s.op = OP_GAP;
                s.gap = n;
            }
            break;
        }
        case 2: s.op = OP_FIN; break;
        case 3: s.op = OP_RST; break;
        default: s.op = OP_FINISH; break;
        }
        v->steps = realloc(v->steps, (v->nsteps + 1) * sizeof *v->steps);
        if (!v->steps)
            abort();
        v->steps[v->nsteps++] = s;
    }
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t split;
    vec *v = fuzz_to_vec(data, size, &split);
    sbuf whole = { 0 }, bytes = { 0 }, cut = { 0 }, recs = { 0 };
    int err = vec_run(v, SPLIT_WHOLE, &whole) | vec_run(v, SPLIT_BYTES, &bytes) | vec_run(v, split, &cut) |
              vec_run(v, SPLIT_RECORDS, &recs);
    if (strcmp(whole.s ? whole.s : "", bytes.s ? bytes.s : "") != 0 ||
        strcmp(whole.s ? whole.s : "", cut.s ? cut.s : "") != 0 ||
        strcmp(whole.s ? whole.s : "", recs.s ? recs.s : "") != 0) {
        fprintf(stderr, "chunking changed the event log (split %zu)\n--- whole\n%s\n--- bytes\n%s\n--- cut\n%s\n",
                split, whole.s ? whole.s : "", bytes.s ? bytes.s : "", cut.s ? cut.s : "");
        abort();
    }
    if (err) {
        fprintf(stderr, "harness check failed (VEC_ERR 0x%x)\n%s\n", (unsigned)err, whole.s ? whole.s : "");
        abort();
    }
    {
        /* lean callbacks (on_anomaly and on_transaction only: the decoder's fast
         * paths for request-level reports): same anomalies, transactions, stats */
        sbuf want = { 0 }, lean = { 0 }, lean_cut = { 0 };
        vec_lean_lines(whole.s, &want);
        vec_run_cb(v, SPLIT_WHOLE, &lean, 1);
        vec_run_cb(v, split, &lean_cut, 1);
        if (strcmp(want.s ? want.s : "", lean.s ? lean.s : "") != 0 ||
            strcmp(want.s ? want.s : "", lean_cut.s ? lean_cut.s : "") != 0) {
            fprintf(stderr, "lean callbacks changed the log (split %zu)\n--- want\n%s\n--- lean\n%s\n--- lean cut\n%s\n",
                    split, want.s ? want.s : "", lean.s ? lean.s : "", lean_cut.s ? lean_cut.s : "");
            abort();
        }
        sb_free(&want);
        sb_free(&lean);
        sb_free(&lean_cut);
    }
    sb_free(&whole);
    sb_free(&bytes);
    sb_free(&cut);
    sb_free(&recs);
    vec_free(v);
    return 0;
}
