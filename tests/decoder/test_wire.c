/* test_wire.c — unit tests of the stateless wire layer: headers, bodies, plausibility, name-value pairs, names.
 *
 * Normative reference: FastCGI Specification 1.0 §3.3, §3.4, §5.
 * Inputs are placed at the very end of a page followed by a PROT_NONE guard
 * page (as picohttpparser's tests do), so any over-read crashes.
 */
#define _DEFAULT_SOURCE
#include "check.h"
#include "fsd/fsd.h"

#include <sys/mman.h>
#include <unistd.h>

static uint8_t *guard_base;
static size_t page;

/* Copy len bytes so that they end exactly at the guard page. */
static const uint8_t *guarded(const void *data, size_t len)
{
    uint8_t *dst = guard_base + page - len;
    memcpy(dst, data, len);
    return dst;
}

static void test_header(void)
{
    static const uint8_t b[8] = { 1, 6, 0x12, 0x34, 0xff, 0xfe, 7, 9 };
    fsd_header h;
    fsd_header_unpack(&h, guarded(b, 8));
    CHECK_EQ(h.version, 1);
    CHECK_EQ(h.type, FSD_STDOUT);
    CHECK_EQ(h.request_id, 0x1234);
    CHECK_EQ(h.content_length, 0xfffe);
    CHECK_EQ(h.padding_length, 7);
    CHECK_EQ(h.reserved, 9);
    CHECK_EQ(fsd_header_record_len(&h), 8 + 0xfffe + 7);
    {
        static const uint8_t m[8] = { 1, 5, 0, 1, 0xff, 0xff, 0xff, 0 };
        fsd_header_unpack(&h, guarded(m, 8));
        CHECK_EQ(fsd_header_record_len(&h), FSD_MAX_RECORD_LEN); /* no 16-bit roll-over */
    }
}

static fsd_header mk(uint8_t ver, uint8_t type, uint16_t id, uint16_t cl)
{
    fsd_header h = { ver, type, id, cl, 0, 0 };
    return h;
}

static void test_plausible(void)
{
    fsd_header h;
    h = mk(1, FSD_BEGIN_REQUEST, 1, 8);
    CHECK(fsd_header_plausible(&h));
    h = mk(2, FSD_BEGIN_REQUEST, 1, 8);
    CHECK(!fsd_header_plausible(&h));
    h = mk(1, FSD_BEGIN_REQUEST, 1, 9);
    CHECK(!fsd_header_plausible(&h));
    h = mk(1, FSD_BEGIN_REQUEST, 0, 8);
    CHECK(!fsd_header_plausible(&h));
    h = mk(1, FSD_ABORT_REQUEST, 3, 0);
    CHECK(fsd_header_plausible(&h));
    h = mk(1, FSD_ABORT_REQUEST, 3, 1);
    CHECK(!fsd_header_plausible(&h));
    h = mk(1, FSD_GET_VALUES, 0, 30);
    CHECK(fsd_header_plausible(&h));
    h = mk(1, FSD_GET_VALUES, 1, 30);
    CHECK(!fsd_header_plausible(&h));
    h = mk(1, FSD_UNKNOWN_TYPE, 0, 8);
    CHECK(fsd_header_plausible(&h));
    h = mk(1, 0, 1, 0);
    CHECK(!fsd_header_plausible(&h));
    h = mk(1, 12, 1, 0);
    CHECK(!fsd_header_plausible(&h));
    h = mk(1, FSD_STDOUT, 1, 65535);
    CHECK(fsd_header_plausible(&h));
    CHECK(!fsd_header_plausible(NULL));
}

static void test_looks_like(void)
{
    static const uint8_t nginx[] = { 1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 4, 0, 1, 0, 0, 0, 0 };
    static const uint8_t http[] = "GET / HTTP/1.1\r\n";
    static const uint8_t server[] = { 1, 6, 0, 1, 0, 2, 6, 0, 'h', 'i', 0, 0, 0, 0, 0, 0 };
    CHECK_EQ(fsd_looks_like_fastcgi(guarded(nginx, sizeof nginx), sizeof nginx, FSD_DIR_CLIENT), 1);
    CHECK_EQ(fsd_looks_like_fastcgi(guarded(nginx, sizeof nginx), sizeof nginx, FSD_DIR_SERVER), 0);
    CHECK_EQ(fsd_looks_like_fastcgi(guarded(nginx, 5), 5, FSD_DIR_CLIENT), -1);
    CHECK_EQ(fsd_looks_like_fastcgi(guarded(nginx, 12), 12, FSD_DIR_CLIENT), 1); /* one complete header */
    CHECK_EQ(fsd_looks_like_fastcgi(guarded(http, 16), 16, FSD_DIR_CLIENT), 0);
    CHECK_EQ(fsd_looks_like_fastcgi(guarded(http, 1), 1, FSD_DIR_CLIENT), 0);
    CHECK_EQ(fsd_looks_like_fastcgi(guarded(server, sizeof server), sizeof server, FSD_DIR_SERVER), 1);
    CHECK_EQ(fsd_looks_like_fastcgi(guarded(server, sizeof server), sizeof server, FSD_DIR_UNKNOWN), 1);
    CHECK_EQ(fsd_looks_like_fastcgi(guarded(server, sizeof server), sizeof server, (fsd_dir)7), 1);
    {
        uint8_t bad[24];
        memcpy(bad, nginx, sizeof bad);
        bad[17] = 0x63; /* second header: unknown type */
        CHECK_EQ(fsd_looks_like_fastcgi(guarded(bad, sizeof bad), sizeof bad, FSD_DIR_CLIENT), 0);
        bad[1] = 0x63;
        CHECK_EQ(fsd_looks_like_fastcgi(guarded(bad, 3), 3, FSD_DIR_CLIENT), 0);
    }
    CHECK_EQ(fsd_looks_like_fastcgi(NULL, 0, FSD_DIR_CLIENT), -1);
}

static void test_bodies(void)
{
    static const uint8_t bb[8] = { 0, 1, 1, 0, 0, 0, 0, 5 };
    static const uint8_t eb[8] = { 0x80, 0, 0, 2, 3, 0, 0, 0 };
    static const uint8_t ub[8] = { 42, 0, 0, 0, 0, 0, 0, 1 };
    fsd_begin_body b;
    fsd_end_body e;
    fsd_unknown_type_body u;
    CHECK(fsd_begin_body_unpack(&b, guarded(bb, 8), 8));
    CHECK_EQ(b.role, FSD_RESPONDER);
    CHECK_EQ(b.flags, FSD_FLAG_KEEP_CONN);
    CHECK_EQ(b.reserved[4], 5);
    CHECK(!fsd_begin_body_unpack(&b, guarded(bb, 7), 7));
    CHECK_EQ(b.role, 0);
    CHECK(fsd_end_body_unpack(&e, guarded(eb, 8), 8));
    CHECK_EQ(e.app_status, 0x80000002u);
    CHECK_EQ(e.protocol_status, FSD_UNKNOWN_ROLE);
    CHECK(!fsd_end_body_unpack(&e, guarded(eb, 3), 3));
    CHECK(fsd_unknown_type_body_unpack(&u, guarded(ub, 8), 8));
    CHECK_EQ(u.type, 42);
    CHECK_EQ(u.reserved[6], 1);
    CHECK(!fsd_unknown_type_body_unpack(&u, NULL, 8));
}

static void test_nv_next(void)
{
    /* "AB"="x", then a 4-byte value length of 130 */
    uint8_t buf[2 + 2 + 1 + 1 + 4 + 1 + 130];
    size_t pos = 0, n = 0;
    fsd_nv nv;
    const uint8_t *g;
    buf[n++] = 2;
    buf[n++] = 1;
    buf[n++] = 'A';
    buf[n++] = 'B';
    buf[n++] = 'x';
    buf[n++] = 1;
    buf[n++] = 0x80;
    buf[n++] = 0;
    buf[n++] = 0;
    buf[n++] = 130;
    buf[n++] = 'V';
    memset(buf + n, 'v', 130);
    n += 130;
    g = guarded(buf, n);
    CHECK_EQ(fsd_nv_next(g, n, &pos, &nv), 1);
    CHECK_EQ(nv.offset, 0);
    CHECK_EQ(nv.name_len, 2);
    CHECK_EQ(nv.value_len, 1);
    CHECK_EQ(nv.name_offset, 2);
    CHECK_EQ(nv.value_offset, 4);
    CHECK_EQ(nv.total_len, 5);
    CHECK_EQ(nv.name_len_bytes, 1);
    CHECK_EQ(pos, 5);
    CHECK_EQ(fsd_nv_next(g, n, &pos, &nv), 1);
    CHECK_EQ(nv.name_len, 1);
    CHECK_EQ(nv.name_len_bytes, 1);
    CHECK_EQ(nv.value_len, 130);
    CHECK_EQ(nv.name_offset, 10);
    CHECK_EQ(nv.value_offset, 11);
    CHECK_EQ(pos, n);
    CHECK_EQ(fsd_nv_next(g, n, &pos, &nv), 0);
    /* every truncation of the buffer gives -1 (never an over-read) */
    for (size_t cut = 1; cut < n; cut++) {
        size_t p = 5;
        int rc;
        g = guarded(buf, cut);
        if (cut <= 5)
            continue;
        rc = fsd_nv_next(g, cut, &p, &nv);
        CHECK_EQ(rc, -1);
        CHECK_EQ(p, 5);
    }
    /* a short name's length in the 4-byte form (legal, nginx never writes it) */
    {
        static const uint8_t four[] = { 0x80, 0, 0, 2, 1, 'A', 'B', 'x' };
        size_t p = 0;
        CHECK_EQ(fsd_nv_next(guarded(four, sizeof four), sizeof four, &p, &nv), 1);
        CHECK_EQ(nv.name_len, 2);
        CHECK_EQ(nv.name_len_bytes, 4);
        CHECK_EQ(nv.name_offset, 5);
        CHECK_EQ(nv.total_len, 8);
    }
    /* a huge 31-bit length must not wrap */
    {
        static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 'a' };
        size_t p = 0;
        CHECK_EQ(fsd_nv_next(guarded(huge, sizeof huge), sizeof huge, &p, &nv), -1);
        CHECK_EQ(nv.name_len, 0x7fffffff);
    }
}

static void test_find_resync(void)
{
    /* 5 junk bytes, an empty STDIN record (8), an END_REQUEST record (16) */
    static const uint8_t b[] = { 0xde, 0xad, 0x02, 0x05, 0x00,
                                 1, 5, 0, 1, 0, 0, 0, 0,
                                 1, 3, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    size_t und = 99;
    const uint8_t *g;
    /* confirmed by the END_REQUEST header after the STDIN record */
    g = guarded(b, sizeof b);
    CHECK_EQ(fsd_find_resync(g, sizeof b, false, &und), 5);
    CHECK_EQ(fsd_find_resync(g, 21, false, NULL), 5); /* needs only the next 8 header bytes */
    /* the next header is incomplete: undecided at the candidate, unless at the end */
    g = guarded(b, 20);
    CHECK_EQ(fsd_find_resync(g, 20, false, &und), -1);
    CHECK_EQ(und, 5);
    CHECK_EQ(fsd_find_resync(g, 20, true, &und), -1); /* 13 + 7 bytes: no record ends at 20 */
    CHECK_EQ(und, 20);
    /* the last record ends exactly at the end of data */
    g = guarded(b + 5, sizeof b - 5);
    CHECK_EQ(fsd_find_resync(g, 8, true, &und), 0);
    CHECK_EQ(fsd_find_resync(g, 8, false, &und), -1);
    CHECK_EQ(und, 0);
    /* junk only: everything but the last 7 bytes is rejected */
    g = guarded("HTTP/1.1 200 OK\r\n", 17);
    CHECK_EQ(fsd_find_resync(g, 17, false, &und), -1);
    CHECK_EQ(und, 10);
    CHECK_EQ(fsd_find_resync(g, 17, true, &und), -1);
    CHECK_EQ(und, 17);
    /* a plausible-looking candidate with a long record holds the decision until its end arrives */
    {
        static const uint8_t j[] = { 0x01, 0x05, 0x00, 0x01, 0x05, 0x00, 0x00, 0x00, 1, 5, 0, 1, 0, 0, 0, 0 };
        g = guarded(j, sizeof j);
        CHECK_EQ(fsd_find_resync(g, sizeof j, false, &und), -1);
        CHECK_EQ(und, 0);
        CHECK_EQ(fsd_find_resync(g, sizeof j, true, &und), 8);
    }
    CHECK_EQ(fsd_find_resync(NULL, 0, true, &und), -1);
    CHECK_EQ(und, 0);
}

static void test_names(void)
{
    CHECK_STR(fsd_type_name(FSD_BEGIN_REQUEST), "BEGIN_REQUEST");
    CHECK_STR(fsd_type_name(FSD_UNKNOWN_TYPE), "UNKNOWN_TYPE");
    CHECK_STR(fsd_type_name(0), "UNKNOWN");
    CHECK_STR(fsd_type_name(12), "UNKNOWN");
    CHECK_STR(fsd_role_name(FSD_FILTER), "FILTER");
    CHECK_STR(fsd_role_name(0), "UNKNOWN");
    CHECK_STR(fsd_protocol_status_name(FSD_OVERLOADED), "OVERLOADED");
    CHECK_STR(fsd_protocol_status_name(9), "UNKNOWN");
    CHECK_STR(fsd_dir_name(FSD_DIR_SERVER), "server");
    CHECK_STR(fsd_dir_name(FSD_DIR_UNKNOWN), "UNKNOWN");
    CHECK_STR(fsd_dir_name((fsd_dir)5), "UNKNOWN");
    CHECK_STR(fsd_end_reason_name(FSD_END_CAPTURE), "capture_end");
    CHECK_STR(fsd_end_reason_name((fsd_end_reason)99), "UNKNOWN");
}

/* fsd_recognise: the one recognition rule of the analyzer and the plugin. */
static void test_recognise(void)
{
    /* a server stream caught inside a STDOUT record: 5 bytes of its tail,
     * then STDOUT (2 bytes + 6 padding), then END_REQUEST */
    static const uint8_t mid[] = { 'x', 'y', 'z', 0, 0,
                                   1, 6, 0, 1, 0, 2, 6, 0, 'h', 'i', 0, 0, 0, 0, 0, 0,
                                   1, 3, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    static const uint8_t nginx[] = { 1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 4, 0, 1, 0, 0, 0, 0 };
    fsd_dir who = FSD_DIR_CLIENT;
    size_t at = 99;
    CHECK_EQ(fsd_recognise(guarded(mid, sizeof mid), sizeof mid, 0, &who, &at), 1);
    CHECK_EQ(who, FSD_DIR_SERVER);
    CHECK_EQ(at, 5);
    /* the confirming header not there yet: more bytes could tell */
    CHECK_EQ(fsd_recognise(guarded(mid, 25), 25, 0, &who, &at), -1);
    /* ... no more bytes follow: the STDOUT alone does not end at 25 */
    CHECK_EQ(fsd_recognise(guarded(mid, 25), 25, FSD_RECOGNISE_AT_END, &who, &at), 0);
    /* ... a record ending exactly at the end is enough then */
    CHECK_EQ(fsd_recognise(guarded(mid, 21), 21, FSD_RECOGNISE_AT_END, &who, &at), 1);
    CHECK_EQ(at, 5);
    /* from the start: the first byte must be a record's */
    CHECK_EQ(fsd_recognise(guarded(mid, sizeof mid), sizeof mid, FSD_RECOGNISE_FROM_START, &who, &at), 0);
    CHECK_EQ(fsd_recognise(guarded(nginx, sizeof nginx), sizeof nginx, FSD_RECOGNISE_FROM_START, &who, &at), 1);
    CHECK_EQ(who, FSD_DIR_CLIENT);
    CHECK_EQ(at, 0);
    CHECK_EQ(fsd_recognise(guarded(nginx, 5), 5, FSD_RECOGNISE_FROM_START, &who, &at), -1);
    CHECK_EQ(fsd_recognise(guarded(nginx, 5), 5, FSD_RECOGNISE_FROM_START | FSD_RECOGNISE_AT_END, &who, &at), 0);
    /* two plausible headers of different senders: not taken (PARAMS then STDOUT) */
    {
        static const uint8_t mixed[] = { 1, 4, 0, 1, 0, 0, 0, 0, 1, 6, 0, 1, 0, 0, 0, 0 };
        CHECK_EQ(fsd_recognise(guarded(mixed, sizeof mixed), sizeof mixed, 0, &who, &at), -1);
        /* (at the end, the STDOUT alone ends exactly there: taken at 8) */
        CHECK_EQ(fsd_recognise(guarded(mixed, sizeof mixed), sizeof mixed, FSD_RECOGNISE_AT_END, &who, &at), 1);
        CHECK_EQ(at, 8);
        CHECK_EQ(who, FSD_DIR_SERVER);
        /* find_resync alone would take offset 0 */
        CHECK_EQ(fsd_find_resync(mixed, sizeof mixed, true, NULL), 0);
    }
    /* text never; no record boundary within a record's length: no */
    {
        static uint8_t text[FSD_RECOGNISE_WINDOW];
        memset(text, 'a', sizeof text);
        CHECK_EQ(fsd_recognise(text, 4000, 0, &who, &at), -1); /* the last 7 bytes could still start one */
        CHECK_EQ(fsd_recognise(text, FSD_MAX_RECORD_LEN + 8, 0, &who, &at), 0);
        /* a plausible STDOUT header claiming 65535 + 255 bytes near the start:
         * undecided until its record's end is in, then no */
        text[300] = 1; text[301] = 6; text[302] = 0; text[303] = 1; text[304] = 0xff; text[305] = 0xff;
        text[306] = 0xff; text[307] = 0;
        CHECK_EQ(fsd_recognise(text, FSD_MAX_RECORD_LEN + 8, 0, &who, &at), -1);
        CHECK_EQ(fsd_recognise(text, sizeof text, 0, &who, &at), 0);
    }
    CHECK_EQ(fsd_recognise(NULL, 0, 0, NULL, NULL), -1);
    CHECK_EQ(fsd_recognise(NULL, 0, FSD_RECOGNISE_AT_END, NULL, NULL), 0);
}

int main(void)
{
    page = (size_t)sysconf(_SC_PAGESIZE);
    guard_base = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (guard_base == MAP_FAILED || mprotect(guard_base + page, page, PROT_NONE) != 0) {
        perror("mmap");
        return 1;
    }
    test_header();
    test_plausible();
    test_looks_like();
    test_bodies();
    test_nv_next();
    test_find_resync();
    test_recognise();
    test_names();
    return check_done("test_wire");
}
