/* test_vectors.c — replays each .vec file of tests/vectors whole, one byte at a time, record by record and cut at every split point; all logs must equal the expected one.
 *
 * Normative reference: tests/vectors/README.md.
 *
 * Usage: test_vectors [--update] FILE.vec...
 *   --update rewrites each file's expected log from the whole-input replay
 *   (review the diff before committing: the expected logs are the test).
 */
#include "vecfile.h"

#include <stdlib.h>
#include <string.h>

static void first_diff(const char *a, const char *b, const char *what, const char *name)
{
    int line = 1;
    while (*a && *a == *b) {
        if (*a == '\n')
            line++;
        a++;
        b++;
    }
    {
        const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
        fprintf(stderr, "%s: %s differs at line %d\n  expected: %.*s\n  got:      %.*s\n", name, what, line,
                (int)(ea ? ea - a : (long)strlen(a)), a, (int)(eb ? eb - b : (long)strlen(b)), b);
    }
}

int main(int argc, char **argv)
{
    int update = 0, fails = 0, files = 0;
    for (int i = 1; i < argc; i++) {
        vec *v;
        sbuf whole = { 0 };
        size_t maxlen = 0;
        if (strcmp(argv[i], "--update") == 0) {
            update = 1;
            continue;
        }
        v = vec_load(argv[i]);
        files++;
        if (!v) {
            fails++;
            continue;
        }
        if (vec_run(v, SPLIT_WHOLE, &whole)) {
            fprintf(stderr, "%s: harness check failed (see the log markers)\n", v->name);
            fails++;
        }
        if (update) {
            FILE *f = fopen(argv[i], "wb");
            if (!f || fprintf(f, "%sexpect\n%s", v->head, whole.s ? whole.s : "") < 0) {
                fprintf(stderr, "%s: cannot write\n", argv[i]);
                fails++;
            }
            if (f)
                fclose(f);
        } else if (strcmp(v->expect, whole.s ? whole.s : "") != 0) {
            first_diff(v->expect, whole.s ? whole.s : "", "whole-input log vs expected", v->name);
            fails++;
        }
        for (size_t k = 0; k < v->nsteps; k++)
            if (v->steps[k].len > maxlen)
                maxlen = v->steps[k].len;
        {
            sbuf recs = { 0 };
            vec_run(v, SPLIT_RECORDS, &recs);
            if (strcmp(whole.s ? whole.s : "", recs.s ? recs.s : "") != 0) {
                first_diff(whole.s, recs.s, "record-at-a-time (fsd_conn_feed_record) log vs whole", v->name);
                fails++;
            }
            sb_free(&recs);
        }
        {
            sbuf bytes = { 0 };
            vec_run(v, SPLIT_BYTES, &bytes);
            if (strcmp(whole.s ? whole.s : "", bytes.s ? bytes.s : "") != 0) {
                first_diff(whole.s, bytes.s, "byte-at-a-time log vs whole", v->name);
                fails++;
            }
            sb_free(&bytes);
        }
        {
            /* lean callbacks (only on_anomaly and on_transaction, as a request-level
             * report): whole, byte at a time and cut at every 7th point */
            sbuf want = { 0 };
            vec_lean_lines(whole.s, &want);
            for (size_t s = 0; s < maxlen + 2; s = s == 0 ? 1 : s + 7) {
                sbuf lean = { 0 };
                size_t split = s == 0 ? SPLIT_WHOLE : s == 1 ? SPLIT_BYTES : s;
                vec_run_cb(v, split, &lean, 1);
                if (strcmp(want.s ? want.s : "", lean.s ? lean.s : "") != 0) {
                    char what[96];
                    snprintf(what, sizeof what, "lean-callback log (split %zu) vs whole", s);
                    first_diff(want.s ? want.s : "", lean.s ? lean.s : "", what, v->name);
                    fails++;
                    sb_free(&lean);
                    break;
                }
                sb_free(&lean);
                if (s > 512)
                    s += 54;
            }
            sb_free(&want);
        }
        /* every split point up to 512, then every 61st (big records stay affordable) */
        for (size_t s = 1; s < maxlen; s += s < 512 ? 1 : 61) {
            sbuf cut = { 0 };
            vec_run(v, s, &cut);
            if (strcmp(whole.s ? whole.s : "", cut.s ? cut.s : "") != 0) {
                char what[64];
                snprintf(what, sizeof what, "log with packets cut at %zu vs whole", s);
                first_diff(whole.s, cut.s, what, v->name);
                fails++;
                sb_free(&cut);
                break;
            }
            sb_free(&cut);
        }
        printf("%s %s (%zu split points)\n", fails ? "..." : "ok", v->name, maxlen ? maxlen - 1 : 0);
        sb_free(&whole);
        vec_free(v);
    }
    if (files == 0) {
        fprintf(stderr, "no vector files given\n");
        return 1;
    }
    printf("%d file(s), %d failure(s)\n", files, fails);
    return fails ? 1 : 0;
}
