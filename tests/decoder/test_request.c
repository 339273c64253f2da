/* test_request.c — unit tests of request reconstruction (request.c): lingering requests, id reuse, table limits, params at scale, transactions.
 *
 * Normative reference: FastCGI Specification 1.0 §3.3, §6; docs/PROTOCOL.md (php-fpm early answer, duplicates, timing).
 */
#include "build.h"
#include "check.h"
#include "fsd/fsd.h"

#include <time.h>

typedef struct rec_log {
    int tx, anomalies[FSD_A_COUNT];
    fsd_transaction last;
    char method[32], script[64], cl[32];
    size_t nparams;
    int sev_dup_error, sev_dup_warning;
    char full_detail[FSD_DETAIL_MAX]; /* request_table_full: the first detail */
    int full_ids[8], nfull;           /* ... and the ids, in order */
    int full_detail_differs;
    uint32_t p_nl[8], p_vl[8], p_ns[8], p_vs[8]; /* the last transaction's first params */
} rec_log;

static void copy_span(char *dst, size_t cap, fsd_span s)
{
    size_t n = s.ptr ? (s.len < cap - 1 ? s.len : cap - 1) : 0;
    if (n)
        memcpy(dst, s.ptr, n);
    dst[n] = 0;
}

static void l_anom(void *ud, const fsd_anomaly_event *ev)
{
    rec_log *l = ud;
    l->anomalies[ev->id]++;
    if (ev->id == FSD_A_request_table_full) {
        if (l->nfull == 0)
            snprintf(l->full_detail, sizeof l->full_detail, "%s", ev->detail);
        else if (strcmp(l->full_detail, ev->detail) != 0)
            l->full_detail_differs++;
        if (l->nfull < 8)
            l->full_ids[l->nfull] = ev->request_id;
        l->nfull++;
    }
    if (ev->id == FSD_A_duplicate_param) {
        if (ev->severity == FSD_SEV_ERROR)
            l->sev_dup_error++;
        else
            l->sev_dup_warning++;
    }
}

static void l_tx(void *ud, const fsd_transaction *tx)
{
    rec_log *l = ud;
    l->tx++;
    l->last = *tx;
    l->last.params = NULL;
    l->last.anomalies = NULL;
    copy_span(l->method, sizeof l->method, tx->method);
    copy_span(l->script, sizeof l->script, tx->script);
    copy_span(l->cl, sizeof l->cl, tx->content_length);
    l->nparams = tx->nparams;
    for (size_t i = 0; i < tx->nparams && i < 8; i++) {
        l->p_nl[i] = tx->params[i].name_len;
        l->p_vl[i] = tx->params[i].value_len;
        l->p_ns[i] = (uint32_t)tx->params[i].name.len;
        l->p_vs[i] = (uint32_t)tx->params[i].value.len;
    }
}

static const fsd_callbacks CB = { NULL, NULL, NULL, NULL, l_anom, l_tx };

static fsd_conn *mk(rec_log *l, const fsd_limits *lim)
{
    fsd_conn_config cfg;
    memset(&cfg, 0, sizeof cfg);
    memset(l, 0, sizeof *l);
    cfg.cb = &CB;
    cfg.ud = l;
    if (lim)
        cfg.limits = *lim;
    return fsd_conn_new(&cfg);
}

static void feed(fsd_conn *x, fsd_dir d, wbuf *w, int64_t tag)
{
    CHECK_EQ(fsd_conn_feed(x, d, w->b, w->len, tag * 1000, (uint64_t)tag), FSD_OK);
    w->len = 0;
}

/* php-fpm answers before the empty STDIN: the request lingers, the id is free again. */
static void test_lingering(void)
{
    rec_log l;
    wbuf c = { 0 }, s = { 0 }, p = { 0 };
    fsd_conn *x = mk(&l, NULL);
    wb_nv(&p, "REQUEST_METHOD", 14, "POST", 4);
    wb_nv(&p, "SCRIPT_FILENAME", 15, "/a.php", 6);
    wb_nv(&p, "CONTENT_LENGTH", 14, "3", 1);
    wb_begin(&c, 1, 1, 1);
    wb_params(&c, 1, &p);
    wb_rec(&c, 5, 1, "abc", 3, 5);
    feed(x, FSD_DIR_CLIENT, &c, 1);
    wb_rec(&s, 6, 1, "\r\nok", 4, 4);
    wb_end(&s, 1, 0, 0);
    feed(x, FSD_DIR_SERVER, &s, 2);
    CHECK_EQ(l.tx, 0);
    {
        fsd_conn_stats st;
        fsd_conn_get_stats(x, &st);
        CHECK_EQ(st.active_requests, 0); /* lingering requests are not active */
    }
    wb_rec(&c, 5, 1, NULL, 0, 0);
    feed(x, FSD_DIR_CLIENT, &c, 3);
    CHECK_EQ(l.tx, 1);
    CHECK(l.last.end_reason == FSD_END_COMPLETE && l.last.has_end);
    CHECK_EQ(l.last.t_request_sent.tag, 3);
    CHECK_EQ(l.last.t_end.tag, 2);
    CHECK_EQ(l.anomalies[FSD_A_stream_not_terminated], 0);
    CHECK_EQ(l.anomalies[FSD_A_inactive_request], 0);
    CHECK_EQ(l.anomalies[FSD_A_end_without_stdout_eos], 1);
    CHECK_EQ(l.anomalies[FSD_A_content_length_mismatch], 0);

    /* lingering, then the same id begins again: the old one is delivered with stream_not_terminated */
    wb_begin(&c, 1, 1, 1);
    wb_params(&c, 1, &p);
    feed(x, FSD_DIR_CLIENT, &c, 4);
    wb_end(&s, 1, 0, 0);
    feed(x, FSD_DIR_SERVER, &s, 5);
    CHECK_EQ(l.tx, 1);
    wb_begin(&c, 1, 1, 1);
    feed(x, FSD_DIR_CLIENT, &c, 6);
    CHECK_EQ(l.tx, 2);
    CHECK_EQ(l.anomalies[FSD_A_stream_not_terminated], 1);
    CHECK_EQ(l.anomalies[FSD_A_duplicate_begin], 0);
    CHECK_EQ(l.anomalies[FSD_A_multiplexed], 0);
    /* the new request is delivered incomplete when the connection resets */
    CHECK_EQ(fsd_conn_close(x, FSD_DIR_CLIENT, FSD_CLOSE_RST, 7000, 7), FSD_OK);
    CHECK_EQ(l.tx, 3);
    CHECK(l.last.end_reason != FSD_END_COMPLETE && !l.last.has_end);
    CHECK_EQ(l.last.end_reason, FSD_END_RESET);
    CHECK_EQ(l.anomalies[FSD_A_incomplete_request], 1);
    CHECK_EQ(l.anomalies[FSD_A_keep_conn_violation], 0); /* the client reset it: fine */
    fsd_conn_free(x);
    free(c.b);
    free(s.b);
    free(p.b);
}

/* The table cap: lingering requests are delivered early to make room. */
static void test_table_cap(void)
{
    rec_log l;
    fsd_conn_stats st;
    wbuf c = { 0 }, s = { 0 };
    fsd_limits lim;
    fsd_conn *x;
    memset(&lim, 0, sizeof lim);
    lim.max_active_requests = 4;
    x = mk(&l, &lim);
    for (uint16_t id = 1; id <= 6; id++) {
        wb_begin(&c, id, 1, 1);
        wb_end(&s, id, 0, 0); /* no client streams: each lingers */
    }
    feed(x, FSD_DIR_CLIENT, &c, 1);
    CHECK_EQ(l.anomalies[FSD_A_request_table_full], 2);
    CHECK_EQ(l.anomalies[FSD_A_multiplexed], 3);
    /* one event per refused BEGIN_REQUEST, the id in the event, one detail for all */
    CHECK_EQ(l.nfull, 2);
    CHECK_EQ(l.full_ids[0], 5);
    CHECK_EQ(l.full_ids[1], 6);
    CHECK_EQ(l.full_detail_differs, 0);
    CHECK_STR(l.full_detail, "table full (4 requests); not tracked");
    fsd_conn_get_stats(x, &st);
    CHECK_EQ(st.untracked_requests, 2);
    CHECK_EQ(st.untracked_records, 0);
    feed(x, FSD_DIR_SERVER, &s, 2);
    CHECK_EQ(l.tx, 0);
    CHECK_EQ(l.anomalies[FSD_A_inactive_request], 0); /* ids 5 and 6 were refused, not unknown */
    fsd_conn_get_stats(x, &st);
    CHECK_EQ(st.untracked_records, 2); /* ... and their END_REQUESTs counted */
    CHECK_EQ(st.untracked_bytes, 16); /* 8 content bytes each */
    for (uint16_t id = 7; id <= 9; id++)
        wb_begin(&c, id, 1, 1);
    feed(x, FSD_DIR_CLIENT, &c, 3);
    CHECK_EQ(l.tx, 3); /* three lingering ones made room */
    CHECK_EQ(l.anomalies[FSD_A_request_table_full], 2);
    fsd_conn_get_stats(x, &st);
    CHECK_EQ(st.untracked_requests, 2); /* counts stay: refusals of the connection's life */
    fsd_conn_finish(x, 4000, 4);
    CHECK_EQ(l.tx, 7); /* 4 (lingering) and 7, 8, 9 (incomplete) */
    CHECK_EQ(l.anomalies[FSD_A_incomplete_request], 3);
    fsd_conn_free(x);
    free(c.b);
    free(s.b);
}

/* n params, every name distinct (dups == 0) or all the same name (dups == 1). */
static double run_params(size_t n, int dups, rec_log *l)
{
    wbuf c = { 0 }, p = { 0 };
    fsd_limits lim;
    fsd_conn *x;
    clock_t t0;
    char name[32];
    memset(&lim, 0, sizeof lim);
    lim.max_params_bytes = 64u << 20;
    for (size_t i = 0; i < n; i++) {
        int k = dups ? snprintf(name, sizeof name, "HTTP_X") : snprintf(name, sizeof name, "HTTP_X_%zu", i);
        wb_nv(&p, name, (size_t)k, "v", 1);
    }
    wb_nv(&p, "REQUEST_METHOD", 14, "GET", 3);
    wb_nv(&p, "SCRIPT_FILENAME", 15, "/a", 2);
    wb_begin(&c, 1, 1, 0);
    wb_params(&c, 1, &p);
    wb_rec(&c, 5, 1, NULL, 0, 0);
    x = mk(l, &lim);
    t0 = clock();
    feed(x, FSD_DIR_CLIENT, &c, 1);
    fsd_conn_finish(x, 2000, 2);
    t0 = clock() - t0;
    fsd_conn_free(x);
    free(c.b);
    free(p.b);
    return (double)t0 / CLOCKS_PER_SEC;
}

static void test_many_params(void)
{
    rec_log l;
    double small = 1e9, big = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        double a = run_params(10000, 0, &l), b;
        CHECK_EQ(l.nparams, 10002);
        b = run_params(100000, 0, &l);
        CHECK_EQ(l.nparams, 100002);
        CHECK_EQ(l.anomalies[FSD_A_duplicate_param], 0);
        if (a < small)
            small = a;
        if (b < big)
            big = b;
    }
    printf("10k params %.4fs, 100k params %.4fs\n", small, big);
    CHECK(big < 0.05 || big < small * 30); /* near-linear (quadratic would be 100x) */
    run_params(100000, 1, &l);
    CHECK_EQ(l.sev_dup_warning, 99999);
    CHECK_EQ(l.sev_dup_error, 0);
    CHECK_EQ(l.tx, 1);
    /* dups, the pairs cut by the 65535-byte record boundaries, incomplete_request; 32 stored */
    CHECK(l.anomalies[FSD_A_nv_straddle] > 0);
    CHECK_EQ(l.last.anomalies_dropped, 99999 + l.anomalies[FSD_A_nv_straddle] + 1 - 32);
    CHECK_EQ(l.last.nanomalies, 32);
}

/* Duplicates: critical names are errors; the convenience fields take the last occurrence. */
static void test_duplicates(void)
{
    rec_log l;
    wbuf c = { 0 }, s = { 0 }, p = { 0 };
    fsd_conn *x = mk(&l, NULL);
    wb_nv(&p, "REQUEST_METHOD", 14, "GET", 3);
    wb_nv(&p, "REQUEST_METHOD", 14, "POST", 4);
    wb_nv(&p, "SCRIPT_FILENAME", 15, "/first", 6);
    wb_nv(&p, "SCRIPT_FILENAME", 15, "/second", 7);
    wb_nv(&p, "PHP_ADMIN_VALUE", 15, "x", 1);
    wb_nv(&p, "PHP_ADMIN_VALUE", 15, "y", 1);
    wb_nv(&p, "CONTENT_LENGTH", 14, "007", 3);
    wb_begin(&c, 1, 1, 0);
    wb_params(&c, 1, &p);
    wb_rec(&c, 5, 1, "abcdefg", 7, 1);
    wb_rec(&c, 5, 1, NULL, 0, 0);
    feed(x, FSD_DIR_CLIENT, &c, 1);
    wb_rec(&s, 6, 1, NULL, 0, 0);
    wb_end(&s, 1, 0, 0);
    feed(x, FSD_DIR_SERVER, &s, 2);
    CHECK_EQ(l.tx, 1);
    CHECK_STR(l.method, "POST");
    CHECK_STR(l.script, "/second");
    CHECK_STR(l.cl, "007");
    CHECK_EQ(l.last.content_length_value, 7);
    CHECK_EQ(l.sev_dup_warning, 1); /* REQUEST_METHOD */
    CHECK_EQ(l.sev_dup_error, 2);   /* SCRIPT_FILENAME, PHP_ADMIN_VALUE */
    CHECK_EQ(l.anomalies[FSD_A_php_ini_override], 2);
    CHECK_EQ(l.anomalies[FSD_A_content_length_mismatch], 0);
    CHECK_EQ(l.last.http_status, 0); /* STDOUT carried no bytes: no header block parsed */
    CHECK_EQ(l.anomalies[FSD_A_response_no_header], 0);
    fsd_conn_free(x);
    free(c.b);
    free(s.b);
    free(p.b);
}

/* Pairs cut to max_pair_bytes are stored with their declared lengths, and
 * duplicates compare declared name lengths (cut or not). */
static void test_cut_pairs(void)
{
    rec_log l;
    wbuf c = { 0 }, s = { 0 }, p = { 0 };
    fsd_limits lim;
    char v[64], n20[21];
    fsd_conn *x;
    memset(&lim, 0, sizeof lim);
    lim.max_pair_bytes = 16;
    x = mk(&l, &lim);
    memset(v, 'v', sizeof v);
    memset(n20, 'N', 20);
    n20[20] = 0;
    wb_nv(&p, "X_LONG_NAME_1234", 16, v, 40); /* 0: value cut away */
    wb_nv(&p, "X_LONG_NAME_1234", 16, v, 10); /* 1: duplicate of 0 */
    wb_nv(&p, "AB", 2, v, 30);                /* 2: value cut to 14 */
    wb_nv(&p, "AB", 2, "d", 1);               /* 3: not cut, duplicate of 2 */
    wb_nv(&p, n20, 20, "x", 1);               /* 4: name cut to 16 */
    wb_nv(&p, n20, 16, "y", 1);               /* 5: same 16 bytes, declared 16: not a duplicate (value cut) */
    wb_begin(&c, 1, 1, 0);
    wb_params(&c, 1, &p);
    wb_rec(&c, 5, 1, NULL, 0, 0);
    feed(x, FSD_DIR_CLIENT, &c, 1);
    wb_rec(&s, 6, 1, "\r\n", 2, 0);
    wb_rec(&s, 6, 1, NULL, 0, 0);
    wb_end(&s, 1, 0, 0);
    feed(x, FSD_DIR_SERVER, &s, 2);
    CHECK_EQ(l.tx, 1);
    CHECK_EQ(l.nparams, 6);
    CHECK_EQ(l.anomalies[FSD_A_param_cap_exceeded], 5); /* pairs 0, 1, 2, 4, 5 cut */
    CHECK_EQ(l.sev_dup_warning, 2);                      /* pairs 1 and 3 */
    CHECK_EQ(l.p_nl[0], 16);
    CHECK_EQ(l.p_vl[0], 40);
    CHECK_EQ(l.p_ns[0], 16);
    CHECK_EQ(l.p_vs[0], 0);
    CHECK_EQ(l.p_vl[1], 10);
    CHECK_EQ(l.p_nl[2], 2);
    CHECK_EQ(l.p_vl[2], 30);
    CHECK_EQ(l.p_vs[2], 14);
    CHECK_EQ(l.p_nl[3], 2);
    CHECK_EQ(l.p_vl[3], 1);
    CHECK_EQ(l.p_vs[3], 1);
    CHECK_EQ(l.p_nl[4], 20);
    CHECK_EQ(l.p_ns[4], 16);
    CHECK_EQ(l.p_vl[4], 1);
    CHECK_EQ(l.p_vs[4], 0);
    CHECK_EQ(l.p_nl[5], 16);
    CHECK_EQ(l.p_vl[5], 1);
    CHECK_EQ(l.p_vs[5], 0);
    fsd_conn_free(x);
    free(c.b);
    free(s.b);
    free(p.b);
}

/* No callbacks at all: the decoder still runs and counts. */
static void test_no_callbacks(void)
{
    wbuf c = { 0 };
    fsd_conn *x = fsd_conn_new(NULL);
    fsd_conn_stats st;
    wb_begin(&c, 1, 1, 0);
    wb_rec(&c, 4, 1, NULL, 0, 0);
    wb_rec(&c, 5, 1, NULL, 0, 0);
    wb_rec(&c, 6, 1, "x", 1, 0); /* wrong direction */
    CHECK_EQ(fsd_conn_feed(x, FSD_DIR_CLIENT, c.b, c.len, 1, 1), FSD_OK);
    CHECK_EQ(fsd_conn_finish(x, 2, 2), FSD_OK);
    fsd_conn_get_stats(x, &st);
    CHECK_EQ(st.transactions, 1);
    CHECK_EQ(st.anomalies[FSD_A_wrong_direction], 1);
    CHECK_EQ(st.anomalies[FSD_A_incomplete_request], 1);
    CHECK_EQ(st.anomalies[FSD_A_missing_required_param], 1);
    fsd_conn_free(x);
    free(c.b);
}

int main(void)
{
    test_lingering();
    test_table_cap();
    test_duplicates();
    test_cut_pairs();
    test_no_callbacks();
    test_many_params();
    return check_done("test_request");
}
