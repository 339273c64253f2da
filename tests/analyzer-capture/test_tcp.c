/* test_tcp.c — unit tests for tcp.c: flow table, classification and per-direction reassembly, driven with in-memory segments.
 *
 * Normative reference: RFC 9293 (sequence space, SYN/FIN/RST), RFC 1982.
 *
 * Each test records the callbacks into a log ("open", "gap", "close", "end",
 * "anomaly" lines) and the reassembled streams per direction (gaps written as
 * "[gap N]"), then compares them with the expected text.
 */
#include "tcp.h"
#include "testutil.h"

#include <inttypes.h>

typedef struct rec {
    char log[8192];
    char stream[2][65536];
    size_t slen[2];
    int opens, ends;
    uint64_t last_data_frame[2];
    char order[256];                /* "c"/"s" per data event, "g" per gap */
} rec;

static void app(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void app(char *buf, size_t cap, const char *fmt, ...)
{
    size_t l = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + l, cap - l, fmt, ap);
    va_end(ap);
}

static const char *dn(fsd_dir d) { return d == FSD_DIR_CLIENT ? "c" : "s"; }

static void r_open(void *ud, fcs_flow *f)
{
    rec *r = ud;
    r->opens++;
    char c[64], s[64];
    app(r->log, sizeof r->log, "open %" PRIu64 " %s>%s m%u %s @%" PRIu64 "\n", f->id,
        fcs_endpoint_format(&f->client, c, sizeof c), fcs_endpoint_format(&f->server, s, sizeof s),
        f->midstream, f->by_port ? "port" : "content", f->first_frame);
}

static void r_data(void *ud, fcs_flow *f, fsd_dir d, const uint8_t *p, size_t n, int64_t ts,
                   uint64_t frame)
{
    rec *r = ud;
    (void)f;
    (void)ts;
    if (r->slen[d] + n < sizeof r->stream[d]) {
        memcpy(r->stream[d] + r->slen[d], p, n);
        r->slen[d] += n;
        r->stream[d][r->slen[d]] = 0;
    }
    r->last_data_frame[d] = frame;
    app(r->order, sizeof r->order, "%s", d == FSD_DIR_CLIENT ? "c" : "s");
}

static void r_gap(void *ud, fcs_flow *f, fsd_dir d, uint64_t n, int64_t ts, uint64_t frame)
{
    rec *r = ud;
    (void)ts;
    app(r->log, sizeof r->log, "gap %" PRIu64 " %s %" PRIu64 " @%" PRIu64 "\n", f->id, dn(d), n, frame);
    app(r->order, sizeof r->order, "g");
    char g[32];
    int k = snprintf(g, sizeof g, "[gap %" PRIu64 "]", n);
    if (r->slen[d] + (size_t)k < sizeof r->stream[d]) {
        memcpy(r->stream[d] + r->slen[d], g, (size_t)k + 1);
        r->slen[d] += (size_t)k;
    }
}

static void r_close(void *ud, fcs_flow *f, fsd_dir d, fsd_close_kind k, int64_t ts, uint64_t frame)
{
    rec *r = ud;
    (void)ts;
    app(r->log, sizeof r->log, "close %" PRIu64 " %s %s @%" PRIu64 "\n", f->id, dn(d),
        k == FSD_CLOSE_RST ? "rst" : "fin", frame);
}

static void r_end(void *ud, fcs_flow *f, fcs_flow_end_reason why, int64_t ts, uint64_t frame)
{
    rec *r = ud;
    (void)ts;
    r->ends++;
    app(r->log, sizeof r->log, "end %" PRIu64 " %s @%" PRIu64 "\n", f->id, fcs_flow_end_reason_name(why), frame);
}

static const char *const anames[] = {
#define FSD_ANOMALY(id, sev, maxsev, summary) #id,
#include "fsd/anomalies.def"
#undef FSD_ANOMALY
};

static void r_anom(void *ud, fsd_anomaly_id id, fcs_flow *f, uint64_t frame, int64_t ts, const char *d)
{
    rec *r = ud;
    (void)ts;
    (void)d;
    app(r->log, sizeof r->log, "anomaly %s %s @%" PRIu64 "\n", anames[id], f ? "flow" : "-", frame);
}

static void r_conn(void *ud, const fcs_flow *f, fcs_conn_event e, int64_t ts, uint64_t frame)
{
    rec *r = ud;
    char c[64], s[64];
    (void)ts;
    app(r->log, sizeof r->log, "conn %s %s>%s syns %u%s @%" PRIu64 "\n", fcs_conn_event_name(e),
        fcs_endpoint_format(&f->client, c, sizeof c), fcs_endpoint_format(&f->server, s, sizeof s),
        (unsigned)f->syns, f->server_port ? " port" : "", frame);
}

static const fcs_tcp_callbacks CB = { r_open, r_data, r_gap, r_close, r_end, r_anom, r_conn };

/* A test connection: side 0 = 10.0.0.1:40000 (client), side 1 = 10.0.0.2:9000. */
typedef struct conn {
    fcs_tcp *t;
    uint16_t cport, sport;
    uint8_t last_octet;
    uint64_t frame;
    int64_t ts;
} conn;

static uint64_t g_frame;
static int64_t g_ts;

static void send_seg(conn *c, int side, uint32_t seq, uint32_t ack, uint8_t flags, const char *data)
{
    fcs_segment s;
    memset(&s, 0, sizeof s);
    s.family = 4;
    uint8_t a[4] = { 10, 0, 0, c->last_octet ? c->last_octet : 1 }, b[4] = { 10, 0, 0, 2 };
    memcpy(side ? s.dst : s.src, a, 4);
    memcpy(side ? s.src : s.dst, b, 4);
    s.sport = side ? c->sport : c->cport;
    s.dport = side ? c->cport : c->sport;
    s.seq = seq;
    s.ack = ack;
    s.flags = flags;
    s.payload = (const uint8_t *)data;
    s.payload_len = s.cap_payload_len = data ? (uint32_t)strlen(data) : 0;
    g_ts += 1000;
    fcs_tcp_segment(c->t, &s, g_ts, ++g_frame, 60 + s.payload_len);
}

#define A FCS_TH_ACK
#define S FCS_TH_SYN
#define F FCS_TH_FIN
#define R FCS_TH_RST
#define P (FCS_TH_PSH | FCS_TH_ACK)

static fcs_tcp *mk(rec *r, const fcs_tcp_config *cfg0)
{
    static const uint16_t ports[] = { 9000 };
    fcs_tcp_config cfg = { 0 };
    if (cfg0)
        cfg = *cfg0;
    if (!cfg.server_ports) {
        cfg.server_ports = ports;
        cfg.nserver_ports = 1;
    }
    memset(r, 0, sizeof *r);
    g_frame = 0;
    g_ts = 1000000000;
    return fcs_tcp_new(&cfg, &CB, r);
}

static void done(fcs_tcp *t)
{
    fcs_tcp_stats st;
    fcs_tcp_finish(t, g_ts, g_frame);
    fcs_tcp_get_stats(t, &st);
    CHECK_EQ_U(st.ooo_bytes_now, 0);
    CHECK_EQ_U(st.flows_now, 0);
    fcs_tcp_free(t);
}

static void test_in_order(void)
{
    rec r;
    fcs_tcp *t = mk(&r, NULL);
    conn c = { t, 40000, 9000, 1, 0, 0 };
    send_seg(&c, 0, 100, 0, S, NULL);            /* 1 */
    send_seg(&c, 1, 500, 101, S | A, NULL);      /* 2 */
    send_seg(&c, 0, 101, 501, A, NULL);          /* 3 */
    send_seg(&c, 0, 101, 501, P, "AB");          /* 4 */
    send_seg(&c, 0, 103, 501, P, "CD");          /* 5 */
    send_seg(&c, 1, 501, 105, P, "xyz");         /* 6 */
    send_seg(&c, 0, 105, 504, F | A, NULL);      /* 7 */
    send_seg(&c, 1, 504, 106, F | A, NULL);      /* 8 */
    send_seg(&c, 0, 106, 505, A, NULL);          /* 9: late ACK, no new flow */
    send_seg(&c, 1, 501, 106, P, "xyz");         /* 10: late retransmission */
    CHECK_STR(r.stream[0], "ABCD");
    CHECK_STR(r.stream[1], "xyz");
    CHECK_STR(r.log, "open 1 10.0.0.1:40000>10.0.0.2:9000 m0 port @1\n"
                     "close 1 c fin @7\nclose 1 s fin @8\nend 1 closed @8\n");
    CHECK_EQ_U(r.last_data_frame[0], 5);
    fcs_tcp_stats st;
    fcs_tcp_get_stats(t, &st);
    CHECK_EQ_U(st.flows_seen, 1);
    CHECK_EQ_U(st.flows_now, 1);   /* lingering closed */
    done(t);
    CHECK_EQ_U(r.ends, 1);
}

static void test_ooo_retrans_overlap(void)
{
    rec r;
    fcs_tcp *t = mk(&r, NULL);
    conn c = { t, 40000, 9000, 1, 0, 0 };
    send_seg(&c, 0, 100, 0, S, NULL);
    send_seg(&c, 1, 500, 101, S | A, NULL);
    send_seg(&c, 0, 103, 501, P, "CD");          /* 3: out of order */
    send_seg(&c, 0, 101, 501, P, "AB");          /* 4: fills */
    send_seg(&c, 0, 101, 501, P, "AB");          /* 5: retransmission */
    send_seg(&c, 0, 104, 501, P, "DEF");         /* 6: overlap by 1 */
    send_seg(&c, 0, 110, 501, P, "XY");          /* 7: buffered at 110..111 */
    send_seg(&c, 0, 112, 501, P, "Z");           /* 8: buffered */
    send_seg(&c, 0, 107, 501, P, "ghijklm");     /* 9: 107..113: XY and Z win */
    CHECK_STR(r.stream[0], "ABCDEFghiXYZm");
    fcs_tcp_stats st;
    fcs_tcp_get_stats(t, &st);
    CHECK_EQ_U(st.retransmitted_segments, 1);
    CHECK_EQ_U(st.ooo_segments, 3);
    CHECK_EQ_U(st.overlap_bytes, 4);   /* D, and jkl under XYZ */
    /* Out-of-order overlaps among buffered pieces: first copy wins. */
    send_seg(&c, 0, 120, 501, P, "1234");        /* 10 */
    send_seg(&c, 0, 118, 501, P, "qr567890");    /* 11: 118..125 -> 118,119 and 124,125 new */
    send_seg(&c, 0, 114, 501, P, "nop");         /* 12: 114..116 */
    send_seg(&c, 0, 117, 501, P, "Q");           /* 13: fills */
    CHECK_STR(r.stream[0], "ABCDEFghiXYZmnopQqr123490");
    done(t);
    CHECK_STR(r.log, "open 1 10.0.0.1:40000>10.0.0.2:9000 m0 port @1\nend 1 capture @13\n");
}

static void test_wraparound(void)
{
    rec r;
    fcs_tcp *t = mk(&r, NULL);
    conn c = { t, 40000, 9000, 1, 0, 0 };
    uint32_t isn = 0xfffffff0u;
    send_seg(&c, 0, isn, 0, S, NULL);
    send_seg(&c, 1, 7, isn + 1, S | A, NULL);
    send_seg(&c, 0, isn + 1, 8, P, "0123456789");      /* f1 .. fa */
    send_seg(&c, 0, isn + 21, 8, P, "KLMNOPQRST");     /* 0x5 .. : after the wrap, ooo */
    send_seg(&c, 0, isn + 11, 8, P, "abcdefghij");     /* crosses 2^32 */
    send_seg(&c, 0, isn + 11, 8, P, "abcde");          /* retransmit across the wrap */
    send_seg(&c, 0, isn + 31, 8, F | A, NULL);
    send_seg(&c, 1, 8, isn + 32, F | A, NULL);
    CHECK_STR(r.stream[0], "0123456789abcdefghijKLMNOPQRST");
    CHECK_STR(r.log, "open 1 10.0.0.1:40000>10.0.0.2:9000 m0 port @1\n"
                     "close 1 c fin @7\nclose 1 s fin @8\nend 1 closed @8\n");
    done(t);
}

static void test_gaps(void)
{
    rec r;
    fcs_tcp *t = mk(&r, NULL);
    conn c = { t, 40000, 9000, 1, 0, 0 };
    /* Lost segment, closed by the peer's ACK. */
    send_seg(&c, 0, 100, 0, S, NULL);
    send_seg(&c, 1, 500, 101, S | A, NULL);
    send_seg(&c, 0, 101, 501, P, "AB");
    send_seg(&c, 0, 105, 501, P, "EF");          /* 4: CD lost */
    send_seg(&c, 1, 501, 107, A, NULL);          /* 5: ACK beyond the hole */
    CHECK_STR(r.stream[0], "AB[gap 2]EF");
    /* Lost tail (nothing buffered), ACKed. */
    send_seg(&c, 0, 107, 501, P, "GH");
    send_seg(&c, 1, 501, 112, A, NULL);          /* 7: IJK lost */
    CHECK_STR(r.stream[0], "AB[gap 2]EFGH[gap 3]");
    /* Lost before a FIN: pending FIN closes after the gap when ACKed. */
    send_seg(&c, 1, 501, 112, P, "resp");        /* 8 */
    send_seg(&c, 1, 510, 112, F | A, NULL);      /* 9: 505..509 lost */
    send_seg(&c, 0, 112, 511, A, NULL);          /* 10: ACKs the FIN */
    CHECK_STR(r.stream[1], "resp[gap 5]");
    /* A hole still open at the end of the capture. */
    send_seg(&c, 0, 114, 511, P, "MN");          /* 11: 112,113 lost */
    done(t);
    CHECK_STR(r.stream[0], "AB[gap 2]EFGH[gap 3][gap 2]MN");
    CHECK_STR(r.log, "open 1 10.0.0.1:40000>10.0.0.2:9000 m0 port @1\n"
                     "gap 1 c 2 @5\ngap 1 c 3 @7\ngap 1 s 5 @10\nclose 1 s fin @10\n"
                     "gap 1 c 2 @11\nend 1 capture @11\n");
}

/* A segment whose ACK closes a hole in the other direction: the other
 * direction's held data (and the gap) come before this segment's data. */
static void test_ack_order(void)
{
    rec r;
    fcs_tcp *t = mk(&r, NULL);
    conn c = { t, 40000, 9000, 1, 0, 0 };
    send_seg(&c, 0, 100, 0, S, NULL);
    send_seg(&c, 1, 500, 101, S | A, NULL);
    send_seg(&c, 0, 101, 501, P, "AB");          /* c */
    send_seg(&c, 0, 105, 501, P, "EF");          /* buffered: CD lost */
    send_seg(&c, 1, 501, 107, P, "resp");        /* ACKs EF: gap, EF, then resp */
    CHECK_STR(r.order, "cgcs");
    CHECK_STR(r.stream[0], "AB[gap 2]EF");
    CHECK_STR(r.stream[1], "resp");
    done(t);
}

static void test_fin_rst(void)
{
    rec r;
    fcs_tcp *t = mk(&r, NULL);
    conn c = { t, 40000, 9000, 1, 0, 0 };
    send_seg(&c, 0, 100, 0, S, NULL);
    send_seg(&c, 1, 500, 101, S | A, NULL);
    send_seg(&c, 0, 101, 501, P | F, "AB");      /* 3: data + FIN */
    send_seg(&c, 0, 104, 501, P, "late");        /* 4: after FIN: ignored */
    send_seg(&c, 1, 501, 104, P, "r1");          /* 5 */
    send_seg(&c, 1, 505, 104, P, "r3");          /* 6: ooo (503,504 missing) */
    send_seg(&c, 1, 507, 104, R, NULL);          /* 7: reset */
    send_seg(&c, 1, 507, 104, P, "zz");          /* 8: after the reset: nothing */
    CHECK_STR(r.stream[0], "AB");
    CHECK_STR(r.stream[1], "r1[gap 2]r3");
    CHECK_STR(r.log, "open 1 10.0.0.1:40000>10.0.0.2:9000 m0 port @1\n"
                     "close 1 c fin @3\ngap 1 s 2 @7\nclose 1 s rst @7\nend 1 reset @7\n");
    done(t);
}

static void test_port_reuse(void)
{
    rec r;
    fcs_tcp *t = mk(&r, NULL);
    conn c = { t, 40000, 9000, 1, 0, 0 };
    send_seg(&c, 0, 100, 0, S, NULL);            /* 1 */
    send_seg(&c, 1, 500, 101, S | A, NULL);
    send_seg(&c, 0, 101, 501, P, "one");
    send_seg(&c, 0, 100, 0, S, NULL);            /* 4: retransmitted SYN: same ISN */
    send_seg(&c, 0, 9000, 0, S, NULL);           /* 5: new ISN on an open flow */
    send_seg(&c, 1, 7000, 9001, S | A, NULL);
    send_seg(&c, 0, 9001, 7001, P, "two");
    send_seg(&c, 0, 9004, 7001, F | A, NULL);    /* 8 */
    send_seg(&c, 1, 7001, 9005, F | A, NULL);    /* 9 */
    send_seg(&c, 0, 20000, 0, S, NULL);          /* 10: new SYN on the closed 4-tuple */
    send_seg(&c, 0, 20001, 0, P, "three");
    CHECK_STR(r.stream[0], "onetwothree");
    CHECK_STR(r.log, "open 1 10.0.0.1:40000>10.0.0.2:9000 m0 port @1\n"
                     "end 1 reused @5\n"
                     "open 2 10.0.0.1:40000>10.0.0.2:9000 m0 port @5\n"
                     "close 2 c fin @8\nclose 2 s fin @9\nend 2 closed @9\n"
                     "open 3 10.0.0.1:40000>10.0.0.2:9000 m0 port @10\n");
    done(t);
}

static void test_midstream_and_sides(void)
{
    rec r;
    fcs_tcp *t = mk(&r, NULL);
    conn c = { t, 40000, 9000, 1, 0, 0 };
    /* The server speaks first in the capture (no SYN): still the server by port. */
    send_seg(&c, 1, 7777, 3333, P, "out");
    send_seg(&c, 0, 3333, 7780, P, "in");
    CHECK_STR(r.stream[0], "in");
    CHECK_STR(r.stream[1], "out");
    CHECK_STR(r.log, "open 1 10.0.0.1:40000>10.0.0.2:9000 m3 port @1\n");
    done(t);

    /* IPv6 endpoints are bracketed. */
    t = mk(&r, NULL);
    fcs_segment s = { 0 };
    s.family = 6;
    s.src[15] = 1;
    s.dst[0] = 0x20; s.dst[1] = 0x01; s.dst[2] = 0x0d; s.dst[3] = 0xb8; s.dst[15] = 9;
    s.sport = 5555;
    s.dport = 9000;
    s.flags = S;
    s.seq = 1;
    fcs_tcp_segment(t, &s, 1, 1, 60);
    CHECK_STR(r.log, "open 1 [::1]:5555>[2001:db8::9]:9000 m0 port @1\n");
    done(t);
}

/* A late SYN-ACK from a direction that already has data (and buffered
 * pieces) does not move its stream back (found by fuzzing: over-read). */
static void test_late_synack(void)
{
    rec r;
    fcs_tcp *t = mk(&r, NULL);
    conn c = { t, 40000, 9000, 1, 0, 0 };
    send_seg(&c, 1, 1000, 50, P, "ab");          /* server data, midstream */
    send_seg(&c, 1, 1010, 50, P, "zz");          /* buffered */
    send_seg(&c, 1, 5000, 50, S | A, NULL);      /* bogus late SYN-ACK */
    send_seg(&c, 1, 1002, 50, P, "cdefghijklmn"); /* 1002..1013 over the piece */
    CHECK_STR(r.stream[1], "abcdefghijzzmn");
    done(t);
}

/* TCP Fast Open: data on the SYN starts at ISN+1. */
static void test_syn_data(void)
{
    rec r;
    fcs_tcp *t = mk(&r, NULL);
    conn c = { t, 40000, 9000, 1, 0, 0 };
    send_seg(&c, 0, 100, 0, S, "AB");
    send_seg(&c, 1, 500, 103, S | A, NULL);
    send_seg(&c, 0, 103, 501, P, "CD");
    send_seg(&c, 0, 105, 501, F | R | A, NULL);
    CHECK_STR(r.stream[0], "ABCD");
    CHECK_STR(r.log, "open 1 10.0.0.1:40000>10.0.0.2:9000 m0 port @1\n"
                     "close 1 c rst @4\nend 1 reset @4\n");
    done(t);
}

static void test_expiry(void)
{
    rec r;
    fcs_tcp_config cfg = { .idle_timeout_ns = 10ll * 1000000000ll };
    fcs_tcp *t = mk(&r, &cfg);
    conn a = { t, 40000, 9000, 1, 0, 0 }, b = { t, 40001, 9000, 1, 0, 0 };
    send_seg(&a, 0, 100, 0, P, "a1");            /* 1 */
    g_ts += 5ll * 1000000000ll;
    send_seg(&b, 0, 200, 0, P, "b1");            /* 2 */
    g_ts += 6ll * 1000000000ll;
    send_seg(&b, 0, 202, 0, P, "b2");            /* 3: a idle 11 s -> ended */
    fcs_tcp_stats st;
    fcs_tcp_get_stats(t, &st);
    CHECK_EQ_U(st.flows_expired, 1);
    CHECK_EQ_U(st.flows_now, 1);
    send_seg(&a, 0, 102, 0, P, "a2");            /* 4: a new midstream flow */
    CHECK_STR(r.log, "open 1 10.0.0.1:40000>10.0.0.2:9000 m3 port @1\n"
                     "open 2 10.0.0.1:40001>10.0.0.2:9000 m3 port @2\n"
                     "end 1 idle @3\n"
                     "open 3 10.0.0.1:40000>10.0.0.2:9000 m3 port @4\n");
    done(t);
}

static void test_ooo_cap(void)
{
    rec r;
    fcs_tcp_config cfg = { .ooo_max_segments = 3 };
    fcs_tcp *t = mk(&r, &cfg);
    conn c = { t, 40000, 9000, 1, 0, 0 };
    send_seg(&c, 0, 100, 0, S, NULL);
    send_seg(&c, 0, 101, 0, P, "A");             /* 2 */
    send_seg(&c, 0, 103, 0, P, "C");             /* 3: hole at 102 */
    send_seg(&c, 0, 105, 0, P, "E");
    send_seg(&c, 0, 107, 0, P, "G");             /* 5: 3 buffered */
    send_seg(&c, 0, 109, 0, P, "I");             /* 6: cap hit */
    CHECK_STR(r.stream[0], "A[gap 1]C[gap 1]E[gap 1]G[gap 1]I");
    fcs_tcp_stats st;
    fcs_tcp_get_stats(t, &st);
    CHECK_EQ_U(st.ooo_cap_hits, 1);
    CHECK_EQ_U(st.ooo_bytes_now, 0);
    send_seg(&c, 0, 102, 0, P, "B");             /* 7: too late: retransmission */
    CHECK_STR(r.stream[0], "A[gap 1]C[gap 1]E[gap 1]G[gap 1]I");
    CHECK(strstr(r.log, "anomaly tcp_ooo_cap flow @6\n") != NULL);
    done(t);

    /* Byte cap, and the global cap across flows. */
    fcs_tcp_config cfg2 = { .ooo_max_bytes = 10, .ooo_max_total = 1000 };
    t = mk(&r, &cfg2);
    c.t = t;
    send_seg(&c, 0, 100, 0, S, NULL);
    send_seg(&c, 0, 111, 0, P, "0123456789");    /* 10 bytes buffered (hole 101..110) */
    send_seg(&c, 0, 121, 0, P, "x");             /* 3: over the byte cap */
    CHECK_STR(r.stream[0], "[gap 10]0123456789x");
    done(t);

    fcs_tcp_config cfg3 = { .ooo_max_total = 12 };
    t = mk(&r, &cfg3);
    conn d = { t, 40000, 9000, 1, 0, 0 }, e = { t, 40002, 9000, 1, 0, 0 };
    send_seg(&d, 0, 100, 0, S, NULL);
    send_seg(&e, 0, 300, 0, S, NULL);
    send_seg(&d, 0, 111, 0, P, "0123456789");    /* 3: d buffers 10 */
    send_seg(&e, 0, 311, 0, P, "abcde");         /* 4: e would exceed the total: e flushes */
    CHECK(strstr(r.log, "anomaly tcp_ooo_cap flow @4\n") != NULL);
    done(t);
}

static void test_flow_table_cap(void)
{
    rec r;
    fcs_tcp_config cfg = { .max_flows = 2 };
    fcs_tcp *t = mk(&r, &cfg);
    conn a = { t, 40000, 9000, 1, 0, 0 }, b = { t, 40001, 9000, 1, 0, 0 }, c = { t, 40002, 9000, 1, 0, 0 };
    send_seg(&a, 0, 100, 0, S, NULL);            /* 1 */
    send_seg(&b, 0, 100, 0, S, NULL);            /* 2 */
    send_seg(&c, 0, 100, 0, S, NULL);            /* 3: rejected */
    send_seg(&c, 0, 101, 0, P, "x");             /* 4: rejected, reported once */
    send_seg(&a, 0, 101, 0, R, NULL);            /* 5: a reset: lingers, evictable */
    send_seg(&c, 0, 102, 0, P, "y");             /* 6: accepted now */
    fcs_tcp_stats st;
    fcs_tcp_get_stats(t, &st);
    CHECK_EQ_U(st.flows_rejected, 2);
    CHECK_EQ_U(st.untracked_packets, 2);          /* c's SYN and its first data */
    CHECK_EQ_U(st.untracked_flows, 1);            /* counted once */
    CHECK_EQ_U(st.untracked_port_flows, 1);
    CHECK_EQ_U(st.table_full_events, 1);
    CHECK_EQ_U(st.untracked_bytes, 60 + 61);
    CHECK_STR(r.log, "open 1 10.0.0.1:40000>10.0.0.2:9000 m0 port @1\n"
                     "open 2 10.0.0.1:40001>10.0.0.2:9000 m0 port @2\n"
                     "anomaly flow_table_full - @3\n"
                     "close 1 c rst @5\nend 1 reset @5\n"
                     "open 3 10.0.0.1:40002>10.0.0.2:9000 m3 port @6\n");
    done(t);
}

static int tclass(const uint8_t *b, size_t n, fsd_dir d);

/* A full table gives the place of a flow known not to be FastCGI. */
static void test_flow_table_evicts_ignored(void)
{
    rec r;
    static const uint16_t ports[] = { 9000 };
    fcs_tcp_config cfg = { .max_flows = 2, .server_ports = ports, .nserver_ports = 1, .classify = tclass };
    fcs_tcp *t = mk(&r, &cfg);
    conn h = { t, 40000, 80, 1, 0, 0 }, a = { t, 40001, 9000, 1, 0, 0 }, b = { t, 40002, 9000, 1, 0, 0 };
    send_seg(&h, 0, 100, 0, S, NULL);            /* 1: undecided */
    send_seg(&h, 0, 101, 0, P, "GET / HTTP/1.1");/* 2: ignored, still in the table */
    send_seg(&a, 0, 100, 0, S, NULL);            /* 3 */
    send_seg(&b, 0, 100, 0, S, NULL);            /* 4: takes the ignored flow's place */
    fcs_tcp_stats st;
    fcs_tcp_get_stats(t, &st);
    CHECK_EQ_U(st.flows_rejected, 0);
    CHECK_STR(r.log, "open 1 10.0.0.1:40001>10.0.0.2:9000 m0 port @3\n"
                     "open 2 10.0.0.1:40002>10.0.0.2:9000 m0 port @4\n");
    done(t);
}

/* Test classifier: client streams start "BEGN", server streams "RESP". */
static int tclass(const uint8_t *b, size_t n, fsd_dir d)
{
    const char *want = d == FSD_DIR_CLIENT ? "BEGN" : "RESP";
    size_t k = n < 4 ? n : 4;
    if (memcmp(b, want, k) != 0)
        return 0;
    return n >= 4 ? 1 : -1;
}

static void test_classify(void)
{
    rec r;
    static const uint16_t noports[] = { 1 };
    fcs_tcp_config cfg = { .server_ports = noports, .nserver_ports = 1, .classify = tclass,
                           .classify_max_bytes = 64 };
    fcs_tcp *t = mk(&r, &cfg);
    /* With a SYN: decided at the second data packet, held bytes replayed. */
    conn c = { t, 40000, 5000, 1, 0, 0 };
    send_seg(&c, 0, 100, 0, S, NULL);            /* 1 */
    send_seg(&c, 1, 500, 101, S | A, NULL);
    send_seg(&c, 0, 101, 501, P, "BE");          /* 3 */
    CHECK_EQ_U(r.opens, 0);
    send_seg(&c, 0, 103, 501, P, "GN-1");        /* 4 */
    send_seg(&c, 1, 501, 107, P, "RESP");        /* 5 */
    CHECK_STR(r.stream[0], "BEGN-1");
    CHECK_STR(r.stream[1], "RESP");
    CHECK_EQ_U(r.last_data_frame[0], 4);
    CHECK_STR(r.log, "open 1 10.0.0.1:40000>10.0.0.2:5000 m0 content @1\n");

    /* Not FastCGI: ignored, nothing reported. */
    conn h = { t, 40001, 80, 1, 0, 0 };
    send_seg(&h, 0, 100, 0, S, NULL);
    send_seg(&h, 0, 101, 0, P, "GET / HTTP/1.1\r\n");
    send_seg(&h, 0, 117, 0, P, "Host: x\r\n");
    /* Midstream, server speaks first: the other side is the client. */
    conn m = { t, 6000, 41000, 3, 0, 0 };        /* 10.0.0.3:6000 <-> 10.0.0.2:41000 */
    send_seg(&m, 1, 900, 50, P, "RESPONSE");     /* from 10.0.0.2:41000: it is the server */
    fcs_tcp_stats st;
    fcs_tcp_get_stats(t, &st);
    CHECK_EQ_U(st.flows_ignored, 1);
    CHECK_EQ_U(st.flows_fastcgi, 2);
    CHECK_STR(r.log, "open 1 10.0.0.1:40000>10.0.0.2:5000 m0 content @1\n"
                     "open 2 10.0.0.3:6000>10.0.0.2:41000 m3 content @9\n");
    /* A first segment larger than the classification buffer is classified
     * from its start and delivered whole. */
    conn big = { t, 40007, 5002, 1, 0, 0 };
    char large[200];
    memset(large, 'x', sizeof large - 1);
    memcpy(large, "BEGN", 4);
    large[sizeof large - 1] = 0;
    rec *rr = &r;
    size_t before = rr->slen[0];
    send_seg(&big, 0, 100, 0, S, NULL);
    send_seg(&big, 0, 101, 0, P, large);         /* 199 bytes > 64 held */
    CHECK_EQ_U(rr->slen[0] - before, 199);
    CHECK_EQ_U(r.opens, 3);
    /* Undecided at the end of the capture with too few bytes: dropped. */
    conn u = { t, 40005, 5001, 1, 0, 0 };
    send_seg(&u, 0, 100, 0, P, "BE");
    done(t);
    CHECK_EQ_U(r.opens, 3);
}

/* No room to hold bytes: flows are classified from their first segment. */
static void test_classify_no_hold(void)
{
    rec r;
    static const uint16_t noports[] = { 1 };
    fcs_tcp_config cfg = { .server_ports = noports, .nserver_ports = 1, .classify = tclass,
                           .classify_max_total = 1 };
    fcs_tcp *t = mk(&r, &cfg);
    conn a = { t, 40000, 5000, 1, 0, 0 }, b = { t, 40001, 5000, 1, 0, 0 };
    send_seg(&a, 0, 100, 0, S, NULL);
    send_seg(&a, 0, 101, 0, P, "BEGN-a");        /* decided at once */
    send_seg(&a, 0, 107, 0, P, "-more");
    send_seg(&b, 0, 100, 0, S, NULL);
    send_seg(&b, 0, 101, 0, P, "BE");            /* cannot wait: not FastCGI */
    send_seg(&b, 0, 103, 0, P, "GN");
    CHECK_STR(r.stream[0], "BEGN-a-more");
    CHECK_EQ_U(r.opens, 1);
    fcs_tcp_stats st;
    fcs_tcp_get_stats(t, &st);
    CHECK_EQ_U(st.flows_ignored, 1);
    done(t);
}

static void test_snaplen(void)
{
    rec r;
    fcs_tcp *t = mk(&r, NULL);
    fcs_segment s = { 0 };
    s.family = 4;
    s.src[0] = 10; s.src[3] = 1;
    s.dst[0] = 10; s.dst[3] = 2;
    s.sport = 40000;
    s.dport = 9000;
    s.seq = 100;
    s.flags = S;
    fcs_tcp_segment(t, &s, 1, 1, 60);
    s.flags = P;
    s.seq = 101;
    s.payload = (const uint8_t *)"abcdefghij";
    s.payload_len = 10;
    s.cap_payload_len = 3;
    fcs_tcp_segment(t, &s, 2, 2, 70);
    s.seq = 111;
    fcs_tcp_segment(t, &s, 3, 3, 70);
    CHECK_STR(r.stream[0], "abc[gap 7]abc[gap 7]");
    CHECK_STR(r.log, "open 1 10.0.0.1:40000>10.0.0.2:9000 m0 port @1\n"
                     "anomaly snaplen_truncated flow @2\ngap 1 c 7 @2\ngap 1 c 7 @3\n");
    done(t);
}

/* Random segmentation, reordering within a window, duplicates and overlaps:
 * the reassembled stream is always the original. */
static void test_property(void)
{
    static uint8_t data[6000];
    uint32_t x = 99;
    for (size_t i = 0; i < sizeof data; i++) {
        x = x * 1664525u + 1013904223u;
        data[i] = (uint8_t)('a' + (x >> 24) % 26);
    }
    for (int seed = 1; seed <= 200; seed++) {
        rec r;
        fcs_tcp *t = mk(&r, NULL);
        uint32_t isn = (uint32_t)(0xffffffffu - (uint32_t)seed * 37u);   /* wraps in the stream */
        x = (uint32_t)seed;
        /* cut into segments */
        struct { uint32_t off, len; } segs[800];
        int n = 0;
        for (uint32_t off = 0; off < sizeof data && n < 700;) {
            x = x * 1664525u + 1013904223u;
            uint32_t len = 1 + (x >> 20) % 120;
            if (off + len > sizeof data) len = (uint32_t)sizeof data - off;
            segs[n].off = off;
            segs[n].len = len;
            n++;
            off += len;
        }
        /* local shuffle + duplicates + overlapping resends */
        for (int i = 0; i < n; i++) {
            x = x * 1664525u + 1013904223u;
            int j = i + (int)((x >> 16) % 6);
            if (j < n) {
                __typeof__(segs[0]) tmp = segs[i];
                segs[i] = segs[j];
                segs[j] = tmp;
            }
        }
        int m = n;
        for (int i = 0; i < n && m < 800; i += 7) {
            x = x * 1664525u + 1013904223u;
            segs[m] = segs[i];
            if (x & 1) {   /* overlapping superset */
                uint32_t ext = (x >> 8) % 50;
                if (segs[m].off >= ext) { segs[m].off -= ext; segs[m].len += ext; }
            }
            m++;
        }
        char buf[200];
        conn c = { t, 40000, 9000, 1, 0, 0 };
        send_seg(&c, 0, isn, 0, S, NULL);
        /* Interleave the extra copies randomly: emit in order of the array with
         * the extras placed after their originals' neighbourhood. */
        for (int i = 0; i < m; i++) {
            uint32_t len = segs[i].len > 199 ? 199 : segs[i].len;
            memcpy(buf, data + segs[i].off, len);
            buf[len] = 0;
            send_seg(&c, 0, isn + 1 + segs[i].off, 0, P, buf);
        }
        send_seg(&c, 0, isn + 1 + (uint32_t)sizeof data, 0, F | A, NULL);
        int before = g_failures;
        CHECK_EQ_U(r.slen[0], sizeof data);
        CHECK(memcmp(r.stream[0], data, sizeof data) == 0);
        CHECK(strstr(r.log, "close 1 c fin") != NULL);
        CHECK(strstr(r.log, "gap") == NULL);
        done(t);
        if (g_failures != before) {
            fprintf(stderr, "  (property seed %d)\n", seed);
            break;
        }
    }
}

/* Many flows: memory follows open flows and the hash table grows. */
static void test_many_flows(void)
{
    rec r;
    fcs_tcp_config cfg = { .idle_timeout_ns = 1000000000ll };
    fcs_tcp *t = mk(&r, &cfg);
    for (int i = 0; i < 30000; i++) {
        conn c = { t, (uint16_t)(1024 + i % 60000), 9000, (uint8_t)(1 + i / 60000), 0, 0 };
        send_seg(&c, 0, 100, 0, S, NULL);
        send_seg(&c, 0, 101, 0, P, "x");
        if (i % 2)
            send_seg(&c, 0, 102, 0, R, NULL);
    }
    fcs_tcp_stats st;
    fcs_tcp_get_stats(t, &st);
    CHECK_EQ_U(st.flows_fastcgi, 30000);
    CHECK(st.flows_now <= 30000);
    g_ts += 120ll * 1000000000ll;
    fcs_tcp_expire(t, g_ts, g_frame);
    fcs_tcp_get_stats(t, &st);
    CHECK_EQ_U(st.flows_now, 0);
    CHECK_EQ_U(st.flows_expired, 15000);
    done(t);
}

/* Fragments on a FastCGI flow raise ip_fragment once. */
static void test_fragment(void)
{
    rec r;
    fcs_tcp *t = mk(&r, NULL);
    uint8_t ip[200];
    tseg s = { 0 };
    s.family = 4;
    s.src[0] = 10; s.src[3] = 1;
    s.dst[0] = 10; s.dst[3] = 2;
    s.sport = 40000;
    s.dport = 9000;
    s.seq = 100;
    s.flags = S;
    size_t n = build_ip(ip, &s);
    fcs_packet p = { ip, (uint32_t)n, (uint32_t)n, 1, 1, 228 };
    fcs_tcp_packet(t, &p);
    s.flags = P;
    s.seq = 101;
    s.payload = (const uint8_t *)"abcdefgh";
    s.len = 8;
    n = build_ip(ip, &s);
    put16(ip + 6, 0x2000);   /* MF */
    p = (fcs_packet){ ip, (uint32_t)n, (uint32_t)n, 2, 2, 228 };
    fcs_tcp_packet(t, &p);
    p.frame = 3;
    fcs_tcp_packet(t, &p);
    CHECK_STR(r.log, "open 1 10.0.0.1:40000>10.0.0.2:9000 m0 port @1\nanomaly ip_fragment flow @2\n");
    fcs_tcp_stats st;
    fcs_tcp_get_stats(t, &st);
    CHECK_EQ_U(st.fragments, 2);
    done(t);
}

/* Closed flows linger as tombstones, at most closed_max of them: a late ACK
 * of a remembered flow opens nothing, a new SYN on its 4-tuple is a reuse,
 * and the count cap forgets the oldest first (memory follows open flows). */
static void test_closed_linger_cap(void)
{
    rec r;
    fcs_tcp_config cfg = { .closed_max = 3 };
    fcs_tcp *t = mk(&r, &cfg);
    for (int i = 0; i < 5; i++) {
        conn c = { t, (uint16_t)(40000 + i), 9000, 1, 0, 0 };
        send_seg(&c, 0, 100, 0, S, NULL);
        send_seg(&c, 1, 500, 101, S | A, NULL);
        send_seg(&c, 0, 101, 501, P, "AB");
        send_seg(&c, 0, 103, 501, F | A, NULL);
        send_seg(&c, 1, 501, 104, F | A, NULL);
    }
    fcs_tcp_stats st;
    fcs_tcp_get_stats(t, &st);
    CHECK_EQ_U(st.flows_fastcgi, 5);
    CHECK_EQ_U(st.flows_now, 3);          /* tombstones of flows 3, 4, 5 */
    CHECK_EQ_U(st.flows_max, 4);          /* three tombstones + the open flow */
    /* flow 5 is remembered: its late ACK and retransmitted FIN open nothing */
    conn c5 = { t, 40004, 9000, 1, 0, 0 };
    send_seg(&c5, 0, 104, 502, A, NULL);
    send_seg(&c5, 1, 501, 104, F | A, NULL);
    CHECK_EQ_U(r.opens, 5);
    /* flow 1 was forgotten (cap): its late ACK starts a midstream flow */
    conn c1 = { t, 40000, 9000, 1, 0, 0 };
    send_seg(&c1, 0, 104, 502, A, NULL);
    CHECK_EQ_U(r.opens, 6);
    /* a new SYN on flow 4's 4-tuple: a new connection (reuse), not a late packet */
    conn c4 = { t, 40003, 9000, 1, 0, 0 };
    send_seg(&c4, 0, 9000, 0, S, NULL);
    CHECK_EQ_U(r.opens, 7);
    fcs_tcp_get_stats(t, &st);
    CHECK_EQ_U(st.flows_reused, 1);
    CHECK(st.flows_now <= 5);
    done(t);
    CHECK_EQ_U(r.ends, 7);
}

/* IPv4 endpoints are formatted by hand: the same text as inet_ntop + "%u". */
static void test_endpoint_format(void)
{
    static const uint8_t addrs[][4] = { {0, 0, 0, 0}, {10, 1, 0, 9}, {127, 0, 0, 1},
                                        {192, 168, 100, 200}, {255, 255, 255, 255} };
    static const uint16_t ports[] = { 0, 9, 80, 9000, 65535 };
    for (size_t i = 0; i < 5; i++) {
        for (size_t j = 0; j < 5; j++) {
            fcs_endpoint ep;
            memset(&ep, 0, sizeof ep);
            ep.family = 4;
            memcpy(ep.addr, addrs[i], 4);
            ep.port = ports[j];
            char want[64], got[64];
            snprintf(want, sizeof want, "%u.%u.%u.%u:%u", addrs[i][0], addrs[i][1], addrs[i][2],
                     addrs[i][3], (unsigned)ports[j]);
            fcs_endpoint_format(&ep, got, sizeof got);
            CHECK_STR(got, want);
            char small[8]; /* cut like snprintf: NUL-terminated */
            fcs_endpoint_format(&ep, small, sizeof small);
            want[sizeof small - 1] = '\0';
            CHECK_STR(small, want);
        }
    }
}

/* The handshake story (analyzer/README.md "Backend failures"): refused by RST,
 * unanswered (judged only FCS_SYN_WAIT_NS before the end), closed by the
 * server before the client sent a byte, retried SYNs; on a listed port and
 * on another one alike (the report layer decides which ports count). */
static void test_conn_events(void)
{
    rec r;
    fcs_tcp_config cfg = { .classify = tclass };      /* other ports: undecided until bytes */
    fcs_tcp *t = mk(&r, &cfg);
    conn a = { t, 40000, 9000, 1, 0, 0 };
    send_seg(&a, 0, 100, 0, S, NULL);                 /* 1 */
    send_seg(&a, 1, 0, 101, R | A, NULL);             /* 2: refused */
    conn b = { t, 40001, 7000, 1, 0, 0 };             /* another port */
    send_seg(&b, 0, 100, 0, S, NULL);                 /* 3 */
    g_ts += 1000000000;
    send_seg(&b, 0, 100, 0, S, NULL);                 /* 4: retransmitted */
    send_seg(&b, 1, 500, 101, S | A, NULL);           /* 5: retried, connected */
    send_seg(&b, 0, 101, 501, A, NULL);
    send_seg(&b, 1, 501, 101, F | A, NULL);           /* 7: closed before a byte */
    conn c = { t, 40002, 9000, 1, 0, 0 };             /* established, the client talks */
    send_seg(&c, 0, 100, 0, S, NULL);                 /* 8 */
    send_seg(&c, 1, 500, 101, S | A, NULL);
    send_seg(&c, 0, 101, 501, P, "x");
    send_seg(&c, 1, 501, 102, F | A, NULL);           /* 11: not early */
    conn d = { t, 40003, 9000, 1, 0, 0 };             /* the client closes first: not early */
    send_seg(&d, 0, 100, 0, S, NULL);
    send_seg(&d, 1, 500, 101, S | A, NULL);
    send_seg(&d, 0, 101, 501, F | A, NULL);
    send_seg(&d, 1, 501, 102, F | A, NULL);
    conn e = { t, 40004, 9000, 1, 0, 0 };             /* 16: never answered */
    send_seg(&e, 0, 100, 0, S, NULL);
    conn g = { t, 40005, 9000, 1, 0, 0 };             /* 17: reset after the handshake */
    send_seg(&g, 0, 100, 0, S, NULL);
    send_seg(&g, 1, 500, 101, S | A, NULL);
    send_seg(&g, 1, 501, 101, R | A, NULL);           /* 19 */
    g_ts += FCS_SYN_WAIT_NS;                          /* e's SYN is 3 s old at the end */
    conn h = { t, 40006, 9000, 1, 0, 0 };             /* 20: SYN in the last moments */
    send_seg(&h, 0, 100, 0, S, NULL);
    send_seg(&a, 0, 5, 5, A, NULL);                   /* 21: a late packet (tombstone) */
    CHECK_STR(r.log, "open 1 10.0.0.1:40000>10.0.0.2:9000 m0 port @1\n"
                     "conn refused 10.0.0.1:40000>10.0.0.2:9000 syns 1 port @2\n"
                     "close 1 s rst @2\n"
                     "end 1 reset @2\n"
                     "conn retried 10.0.0.1:40001>10.0.0.2:7000 syns 2 @5\n"
                     "conn closed_early 10.0.0.1:40001>10.0.0.2:7000 syns 2 @7\n"
                     "open 2 10.0.0.1:40002>10.0.0.2:9000 m0 port @8\n"
                     "close 2 s fin @11\n"
                     "open 3 10.0.0.1:40003>10.0.0.2:9000 m0 port @12\n"
                     "close 3 c fin @14\n"
                     "close 3 s fin @15\n"
                     "end 3 closed @15\n"
                     "open 4 10.0.0.1:40004>10.0.0.2:9000 m0 port @16\n"
                     "open 5 10.0.0.1:40005>10.0.0.2:9000 m0 port @17\n"
                     "conn closed_early 10.0.0.1:40005>10.0.0.2:9000 syns 1 port @19\n"
                     "close 5 s rst @19\n"
                     "end 5 reset @19\n"
                     "open 6 10.0.0.1:40006>10.0.0.2:9000 m0 port @20\n");
    r.log[0] = 0;
    fcs_tcp_finish(t, g_ts + 1000, g_frame);
    /* e: unanswered for 3 s at the end; h: too recent to say. Flows opened by
     * port (a, e, g, h) report open/end as before. */
    CHECK(strstr(r.log, "conn unanswered 10.0.0.1:40004>10.0.0.2:9000 syns 1 port @21\n") != NULL);
    CHECK(strstr(r.log, "conn unanswered 10.0.0.1:40006") == NULL);
    fcs_tcp_free(t);
}

/* Midstream recognition (analyzer/README.md "Recognising FastCGI on other
 * ports"): a flow without SYN on no listed
 * port is FastCGI when either side's bytes pass the recogniser's rule; its
 * held bytes (more than the 64 of a flow with a SYN) are replayed whole. */
static int trecog(const uint8_t *b, size_t n, unsigned flags, fsd_dir *sender, size_t *at)
{
    /* "<C>" anywhere: the client's record boundary; "<S>": the server's;
     * "NO" anywhere: no; else need more, unless at the end */
    (void)at;
    for (size_t i = 0; i + 3 <= n; i++) {
        if (!memcmp(b + i, "<C>", 3) || !memcmp(b + i, "<S>", 3)) {
            *sender = b[i + 1] == 'C' ? FSD_DIR_CLIENT : FSD_DIR_SERVER;
            return 1;
        }
    }
    for (size_t i = 0; i + 2 <= n; i++)
        if (!memcmp(b + i, "NO", 2))
            return 0;
    return (flags & FSD_RECOGNISE_AT_END) ? 0 : -1;
}

static void test_midstream_recognise(void)
{
    rec r;
    static const uint16_t noports[] = { 1 };
    fcs_tcp_config cfg = { .server_ports = noports, .nserver_ports = 1, .classify = tclass,
                           .classify_max_bytes = 64, .recognise = trecog,
                           .classify_midstream_bytes = 4096 };
    fcs_tcp *t = mk(&r, &cfg);
    conn m = { t, 40000, 5000, 1, 0, 0 };
    char tail[301];
    memset(tail, 'y', 300);
    tail[300] = 0;
    send_seg(&m, 1, 900, 100, P, tail);               /* 1: server's record tail, 300 B */
    send_seg(&m, 0, 100, 1200, P, "zz");              /* 2 */
    CHECK_EQ_U(r.opens, 0);
    send_seg(&m, 1, 1200, 102, P, "ab<S>cd");         /* 3: the server's boundary */
    CHECK_EQ_U(r.opens, 1);
    CHECK_STR(r.log, "open 1 10.0.0.1:40000>10.0.0.2:5000 m3 content @1\n");
    CHECK_EQ_U(r.slen[1], 307);                       /* all held bytes replayed */
    CHECK_STR(r.stream[0], "zz");
    CHECK_STR(r.order, "scs");
    /* Not FastCGI: one side says no, the other closes: ignored. */
    conn n = { t, 40001, 5001, 1, 0, 0 };
    send_seg(&n, 0, 100, 0, P, "hello NO");
    send_seg(&n, 1, 100, 0, P, "xx");
    send_seg(&n, 1, 102, 0, F | A, NULL);
    fcs_tcp_stats st;
    fcs_tcp_get_stats(t, &st);
    CHECK_EQ_U(st.flows_ignored, 1);
    /* Past the window with no answer: ignored. */
    conn w = { t, 40002, 5002, 1, 0, 0 };
    static char big[1500];
    memset(big, 'q', sizeof big - 1);
    for (uint32_t i = 0; i < 3; i++)
        send_seg(&w, 0, 100 + i * 1499, 0, P, big);
    fcs_tcp_get_stats(t, &st);
    CHECK_EQ_U(st.flows_ignored, 2);
    /* A flow with a SYN still uses classify from its first byte. */
    conn s2 = { t, 40003, 5003, 1, 0, 0 };
    send_seg(&s2, 0, 100, 0, S, NULL);
    send_seg(&s2, 0, 101, 0, P, "xx<C>");
    fcs_tcp_get_stats(t, &st);
    CHECK_EQ_U(st.flows_ignored, 3);
    CHECK_EQ_U(r.opens, 1);
    done(t);
}

int main(void)
{
    test_in_order();
    test_ooo_retrans_overlap();
    test_wraparound();
    test_gaps();
    test_ack_order();
    test_fin_rst();
    test_port_reuse();
    test_midstream_and_sides();
    test_late_synack();
    test_syn_data();
    test_expiry();
    test_ooo_cap();
    test_flow_table_cap();
    test_flow_table_evicts_ignored();
    test_classify();
    test_classify_no_hold();
    test_snaplen();
    test_property();
    test_many_flows();
    test_closed_linger_cap();
    test_endpoint_format();
    test_fragment();
    test_conn_events();
    test_midstream_recognise();
    return test_summary("test_tcp");
}
