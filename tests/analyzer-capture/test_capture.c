/* test_capture.c — unit tests for capture.c: pcap/pcapng reading, precision, frame numbering over files, damage, errors, read-ahead.
 *
 * Normative references: draft-ietf-opsawg-pcap, draft-ietf-opsawg-pcapng.
 * The capture files are written by testutil.h into a temporary directory.
 */
#define _GNU_SOURCE
#include "capture.h"
#include "tcp.h"
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[64];

static const char *path(const char *name)
{
    static char buf[4][128];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* A frame: Ethernet/IPv4/TCP to port 9000 with payload of n bytes 'a'+i. */
static size_t frame(uint8_t *out, uint32_t seq, uint8_t flags, uint32_t n)
{
    uint8_t ip[2000], pay[1500];
    for (uint32_t i = 0; i < n; i++) pay[i] = (uint8_t)('a' + i % 26);
    tseg s = { 0 };
    s.family = 4;
    s.src[0] = 127; s.src[3] = 1;
    s.dst[0] = 127; s.dst[3] = 2;
    s.sport = 40000;
    s.dport = 9000;
    s.seq = seq;
    s.flags = flags;
    s.payload = pay;
    s.len = n;
    size_t il = build_ip(ip, &s);
    return wrap_eth(out, ip, il, 4, NULL, 0);
}

static void write_pcap(const char *name, bool ns, bool big, uint32_t dlt, int npk, uint32_t sec0)
{
    FILE *f = fopen(path(name), "wb");
    pcap_write_header(f, ns, big, dlt, 65535);
    uint8_t fr[2100];
    for (int i = 0; i < npk; i++) {
        size_t n = frame(fr, 100 + (uint32_t)i * 10, i == 0 ? FCS_TH_SYN : (FCS_TH_ACK | FCS_TH_PSH), i ? 10 : 0);
        pcap_write_packet(f, big, sec0 + (uint32_t)i, ns ? 123456789u : 123456u, fr, (uint32_t)n, (uint32_t)n);
    }
    fclose(f);
}

static void test_formats(void)
{
    write_pcap("us_le.pcap", false, false, 1, 3, 1000);
    write_pcap("ns_be.pcap", true, true, 1, 2, 2000);
    /* pcapng, nanosecond interface */
    FILE *f = fopen(path("ns.pcapng"), "wb");
    pcapng_write_header(f, 1, 9);
    uint8_t fr[2100];
    size_t n = frame(fr, 100, FCS_TH_SYN, 0);
    pcapng_write_packet(f, 3000ull * 1000000000ull + 5, fr, (uint32_t)n, (uint32_t)n);
    fclose(f);
    /* pcapng, default resolution (microseconds) */
    f = fopen(path("us.pcapng"), "wb");
    pcapng_write_header(f, 1, 0);
    pcapng_write_packet(f, 4000ull * 1000000ull + 7, fr, (uint32_t)n, (uint32_t)n);
    fclose(f);

    const char *files[] = { path("us_le.pcap"), path("ns_be.pcap"), path("ns.pcapng"), path("us.pcapng") };
    char err[FCS_CAP_ERRMAX] = "";
    fcs_capture *c = fcs_cap_open_files(files, 4, err, sizeof err);
    CHECK(c != NULL);
    if (!c) {
        fprintf(stderr, "  %s\n", err);
        return;
    }
    fcs_packet p;
    int64_t want_ts[] = { 1000123456000ll, 1001123456000ll, 1002123456000ll,
                          2000123456789ll, 2001123456789ll, 3000000000005ll, 4000000007000ll };
    for (int i = 0; i < 7; i++) {
        int r = fcs_cap_next(c, &p);
        CHECK_EQ_U(r, FCS_CAP_PACKET);
        CHECK_EQ_U(p.frame, (uint64_t)i + 1);
        CHECK_EQ_U(p.ts_ns, want_ts[i]);
        CHECK_EQ_U(p.dlt, 1);
        CHECK(p.caplen == p.len && p.caplen >= 54);
    }
    CHECK_EQ_U(fcs_cap_next(c, &p), FCS_CAP_EOF);
    CHECK_EQ_U(fcs_cap_next(c, &p), FCS_CAP_EOF);
    fcs_cap_file_info fi;
    const int prec[] = { FCS_PREC_US, FCS_PREC_NS, FCS_PREC_NS, FCS_PREC_US };
    const int fmt[] = { FCS_FMT_PCAP, FCS_FMT_PCAP, FCS_FMT_PCAPNG, FCS_FMT_PCAPNG };
    const uint64_t first[] = { 1, 4, 6, 7 };
    for (size_t i = 0; i < 4; i++) {
        CHECK(fcs_cap_get_file_info(c, i, &fi));
        CHECK_EQ_U(fi.precision, prec[i]);
        CHECK_EQ_U(fi.format, fmt[i]);
        CHECK_EQ_U(fi.first_frame, first[i]);
        CHECK(!fi.damaged);
    }
    CHECK_EQ_U(fcs_cap_precision(c), FCS_PREC_NS);
    fcs_cap_close(c);
    /* fcs_cap_breakloop() stops a file timeline too (not just the current file). */
    c = fcs_cap_open_files(files, 4, err, sizeof err);
    CHECK(c != NULL);
    if (!c) return;
    CHECK_EQ_U(fcs_cap_next(c, &p), FCS_CAP_PACKET);
    fcs_cap_breakloop(c);
    CHECK_EQ_U(fcs_cap_next(c, &p), FCS_CAP_EOF);
    CHECK_EQ_U(fcs_cap_next(c, &p), FCS_CAP_EOF);
    fcs_cap_close(c);
    c = fcs_cap_open_files(files, 4, err, sizeof err);
    for (int i = 0; i < 7; i++)
        fcs_cap_next(c, &p);
    uint64_t done, total;
    fcs_cap_progress(c, &done, &total);
    CHECK(total > 0 && done == total);
    fcs_cap_close(c);
}

static void test_damage(void)
{
    /* 3 packets, the third cut in the middle of its data */
    write_pcap("full.pcap", false, false, 1, 3, 1000);
    FILE *f = fopen(path("full.pcap"), "rb");
    uint8_t buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    f = fopen(path("cut.pcap"), "wb");
    fwrite(buf, 1, n - 20, f);
    fclose(f);
    write_pcap("after.pcap", false, false, 1, 2, 5000);
    const char *files[] = { path("cut.pcap"), path("after.pcap") };
    char err[FCS_CAP_ERRMAX];
    fcs_capture *c = fcs_cap_open_files(files, 2, err, sizeof err);
    CHECK(c != NULL);
    if (!c) return;
    fcs_packet p;
    CHECK_EQ_U(fcs_cap_next(c, &p), FCS_CAP_PACKET);
    CHECK_EQ_U(fcs_cap_next(c, &p), FCS_CAP_PACKET);
    CHECK_EQ_U(p.frame, 2);
    CHECK_EQ_U(fcs_cap_next(c, &p), FCS_CAP_DAMAGED);
    CHECK_EQ_U(fcs_cap_damage_frame(c), 3);
    CHECK(strstr(fcs_cap_error(c), "cut.pcap: truncated or corrupt at frame 3") != NULL);
    CHECK(strchr(fcs_cap_error(c), '\n') == NULL);
    CHECK_EQ_U(fcs_cap_next(c, &p), FCS_CAP_PACKET);
    /* the damaged packet keeps number 3 (cut.pcap's): after.pcap starts at 4 */
    CHECK_EQ_U(p.frame, 4);
    CHECK_EQ_U(p.ts_ns, 5000123456000ll);
    {
        size_t fidx = 9;
        uint64_t local = 0;
        CHECK(fcs_cap_frame_locate(c, 3, &fidx, &local) && fidx == 0 && local == 3);
        CHECK(fcs_cap_frame_locate(c, 4, &fidx, &local) && fidx == 1 && local == 1);
        CHECK(!fcs_cap_frame_locate(c, 0, &fidx, &local));
    }
    CHECK_EQ_U(fcs_cap_next(c, &p), FCS_CAP_PACKET);
    CHECK_EQ_U(fcs_cap_next(c, &p), FCS_CAP_EOF);
    fcs_cap_file_info fi;
    fcs_cap_get_file_info(c, 0, &fi);
    CHECK(fi.damaged);
    fcs_cap_close(c);

    /* A record header cut short, through fcs_cap_feed: capture_truncated raised once. */
    f = fopen(path("cuthdr.pcap"), "wb");
    fwrite(buf, 1, n - (n - 24) % 1 - 0, f);   /* whole file */
    fwrite(buf + 24, 1, 7, f);                  /* 7 bytes of a next record header */
    fclose(f);
    const char *one[] = { path("cuthdr.pcap") };
    c = fcs_cap_open_files(one, 1, err, sizeof err);
    CHECK(c != NULL);
    if (!c) return;
    static int anomalies;
    static uint64_t aframe;
    struct cbx { int dummy; };
    fcs_tcp_callbacks cb = { 0 };
    cb.anomaly = NULL;
    fcs_tcp *t = fcs_tcp_new(NULL, &cb, NULL);
    CHECK_EQ_U(fcs_cap_feed(c, t, 0), FCS_CAP_EOF);
    fcs_tcp_stats st;
    fcs_tcp_get_stats(t, &st);
    CHECK_EQ_U(st.packets, 3);
    CHECK_EQ_U(st.anomalies, 1);
    CHECK_EQ_U(fcs_cap_damage_frame(c), 4);
    (void)anomalies;
    (void)aframe;
    fcs_tcp_finish(t, 0, 0);
    fcs_tcp_free(t);
    fcs_cap_close(c);
}

static void expect_open_error(const char *const *files, size_t n, const char *substr)
{
    char err[FCS_CAP_ERRMAX] = "";
    fcs_capture *c = fcs_cap_open_files(files, n, err, sizeof err);
    CHECK(c == NULL);
    if (c) fcs_cap_close(c);
    if (!strstr(err, substr)) {
        g_failures++;
        fprintf(stderr, "error \"%s\" lacks \"%s\"\n", err, substr);
    }
    g_checks++;
    CHECK(strchr(err, '\n') == NULL);
}

static void test_errors(void)
{
    FILE *f = fopen(path("text.txt"), "w");
    fputs("this is not a capture file at all\n", f);
    fclose(f);
    f = fopen(path("empty.pcap"), "w");
    fclose(f);
    write_pcap("user0.pcap", false, false, 147, 1, 1);
    write_pcap("good.pcap", false, false, 1, 1, 1);
    const char *a[] = { path("text.txt") };
    expect_open_error(a, 1, "text.txt: not a pcap or pcapng capture");
    const char *b[] = { path("missing.pcap") };
    expect_open_error(b, 1, "missing.pcap: cannot open: No such file or directory");
    const char *c[] = { path("user0.pcap") };
    expect_open_error(c, 1, "user0.pcap: unsupported link type 147");
    const char *d[] = { path("empty.pcap") };
    expect_open_error(d, 1, "empty.pcap: not a pcap or pcapng capture");
    /* The second file is checked before anything is read: skipped, said so
     * in its info; the first is read. All of them bad: one line each. */
    const char *e[] = { path("good.pcap"), path("text.txt") };
    {
        char err[FCS_CAP_ERRMAX] = "";
        fcs_capture *cx = fcs_cap_open_files(e, 2, err, sizeof err);
        CHECK(cx != NULL);
        if (cx) {
            fcs_cap_file_info fi;
            CHECK(fcs_cap_get_file_info(cx, 1, &fi) && fi.unreadable && fi.error &&
                  strstr(fi.error, "text.txt: not a pcap or pcapng capture"));
            CHECK(fcs_cap_get_file_info(cx, 0, &fi) && !fi.unreadable && !fi.error);
            fcs_packet p;
            CHECK_EQ_U(fcs_cap_next(cx, &p), FCS_CAP_PACKET);
            size_t fidx = 9;
            uint64_t local = 0;
            CHECK(fcs_cap_frame_locate(cx, p.frame, &fidx, &local) && fidx == 0 && local == 1);
            CHECK_EQ_U(fcs_cap_next(cx, &p), FCS_CAP_EOF);
            fcs_cap_close(cx);
        }
        const char *e2[] = { path("text.txt"), path("missing.pcap") };
        cx = fcs_cap_open_files(e2, 2, err, sizeof err);
        CHECK(cx == NULL);
        CHECK(strstr(err, "text.txt: not a pcap") && strchr(err, '\n') && strstr(err, "missing.pcap: cannot open"));
    }
    const char *g[] = { dir };
    expect_open_error(g, 1, "is a directory");
    /* pcapng with interfaces of two link types: libpcap cannot read it; a
     * clear fatal error at open. The same link type twice is fine. */
    for (int same = 0; same < 3; same++) {
        f = fopen(path("twoif.pcapng"), "wb");
        pcapng_write_header(f, 1, 6);
        uint8_t idb[20];
        put32le(idb, 1);
        put32le(idb + 4, 20);
        idb[8] = same ? 1 : 101; idb[9] = 0; idb[10] = idb[11] = 0;
        put32le(idb + 12, same == 2 ? 65535 : 262144);
        put32le(idb + 16, 20);
        fwrite(idb, 1, 20, f);
        uint8_t fr[2100];
        size_t n = frame(fr, 1, FCS_TH_SYN, 0);
        pcapng_write_packet(f, 1000000, fr, (uint32_t)n, (uint32_t)n);
        fclose(f);
        const char *two[] = { path("twoif.pcapng") };
        if (same == 2) {
            expect_open_error(two, 1, "twoif.pcapng: interfaces with different snapshot lengths (262144 and 65535)");
        } else if (same) {
            char err[FCS_CAP_ERRMAX];
            fcs_capture *cp = fcs_cap_open_files(two, 1, err, sizeof err);
            CHECK(cp != NULL);
            fcs_packet p;
            if (cp) {
                int rr = fcs_cap_next(cp, &p);
                CHECK_EQ_U(rr, FCS_CAP_PACKET);
                if (rr != FCS_CAP_PACKET) fprintf(stderr, "  %s\n", fcs_cap_error(cp));
                fcs_cap_close(cp);
            }
        } else {
            expect_open_error(two, 1, "twoif.pcapng: interfaces with different link types (1 EN10MB and 101 RAW)");
        }
    }
    /* A pcap magic followed by garbage: libpcap refuses the header. */
    f = fopen(path("badhdr.pcap"), "wb");
    fwrite("\xd4\xc3\xb2\xa1\x09\x00\x09\x00", 1, 8, f);
    fclose(f);
    const char *h[] = { path("badhdr.pcap") };
    expect_open_error(h, 1, "badhdr.pcap: ");
}

static void test_memory_and_stdin(void)
{
    write_pcap("mem.pcap", true, false, 113 /* SLL, content is Ethernet: not decoded as TCP */, 4, 10);
    FILE *f = fopen(path("mem.pcap"), "rb");
    static uint8_t buf[8192];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    char err[FCS_CAP_ERRMAX];
    fcs_capture *c = fcs_cap_open_memory(buf, n, "mem", err, sizeof err);
    CHECK(c != NULL);
    if (c) {
        fcs_packet p;
        int k = 0;
        while (fcs_cap_next(c, &p) == FCS_CAP_PACKET) {
            k++;
            CHECK_EQ_U(p.dlt, 113);
        }
        CHECK_EQ_U(k, 4);
        fcs_cap_close(c);
    }
    /* every truncation of the memory image: no crash, packets then EOF or damage */
    for (size_t cut = 0; cut < n; cut += 3) {
        c = fcs_cap_open_memory(buf, cut, "mem", err, sizeof err);
        if (!c) continue;
        fcs_packet p;
        int r, guard = 0;
        while ((r = fcs_cap_next(c, &p)) == FCS_CAP_PACKET && guard++ < 10) {}
        CHECK(r == FCS_CAP_EOF || r == FCS_CAP_DAMAGED);
        fcs_cap_close(c);
    }
    /* stdin ("-") */
    write_pcap("stdin.pcap", false, false, 1, 5, 1);
    if (freopen(path("stdin.pcap"), "rb", stdin)) {
        const char *files[] = { "-" };
        c = fcs_cap_open_files(files, 1, err, sizeof err);
        CHECK(c != NULL);
        if (c) {
            fcs_packet p;
            int k = 0;
            while (fcs_cap_next(c, &p) == FCS_CAP_PACKET) k++;
            CHECK_EQ_U(k, 5);
            fcs_cap_file_info fi;
            fcs_cap_get_file_info(c, 0, &fi);
            CHECK_STR(fi.name, "-");
            fcs_cap_close(c);
        }
    }
    const char *two[] = { "-", "-" };
    expect_open_error(two, 2, "more than once");
}

/* The records fcs_cap_next returns for a file must be libpcap's, packet for
 * packet, also across our own block reading of classic pcap files (pcapfast.c
 * reads their records itself and hands the rest back to libpcap at the first
 * record libpcap would change, or at damage). */
static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* fcs reads fcs_name (the file itself or "-" fed from it), libpcap the file. */
static void compare_with_libpcap_as(const char *file, const char *fcs_name, bool expect_damage)
{
    char ebuf[PCAP_ERRBUF_SIZE];
    pcap_t *lp = pcap_open_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, ebuf);
    CHECK(lp != NULL);
    if (!lp) return;
    const char *files[] = { fcs_name };
    char err[FCS_CAP_ERRMAX];
    fcs_capture *c = fcs_cap_open_files(files, 1, err, sizeof err);
    CHECK(c != NULL);
    if (!c) { pcap_close(lp); return; }
    uint64_t k = 0;
    for (;;) {
        struct pcap_pkthdr *h;
        const u_char *d;
        int lr = pcap_next_ex(lp, &h, &d);
        fcs_packet p;
        int r = fcs_cap_next(c, &p);
        if (lr != 1) {
            CHECK_EQ_U(r, lr == PCAP_ERROR_BREAK ? FCS_CAP_EOF : FCS_CAP_DAMAGED);
            CHECK_EQ_U(lr == PCAP_ERROR, expect_damage);
            if (r == FCS_CAP_DAMAGED) {
                CHECK_EQ_U(fcs_cap_damage_frame(c), k + 1);
                CHECK(strstr(fcs_cap_error(c), pcap_geterr(lp)) != NULL);
                CHECK_EQ_U(fcs_cap_next(c, &p), FCS_CAP_EOF);
            }
            break;
        }
        k++;
        CHECK_EQ_U(r, FCS_CAP_PACKET);
        if (r != FCS_CAP_PACKET) break;
        CHECK_EQ_U(p.frame, k);
        CHECK_EQ_U(p.caplen, h->caplen);
        CHECK_EQ_U(p.len, h->len);
        CHECK_EQ_U(p.ts_ns, (int64_t)h->ts.tv_sec * 1000000000ll + h->ts.tv_usec);
        CHECK_EQ_U(fnv(p.data, p.caplen), fnv(d, h->caplen));
    }
    CHECK(k > 0);
    fcs_cap_close(c);
    pcap_close(lp);
}

static void compare_with_libpcap(const char *file, bool expect_damage)
{
    compare_with_libpcap_as(file, file, expect_damage);
}

static void test_block_reading(void)
{
    /* ~3.5 MB: several 512 KiB blocks; packet sizes vary so records straddle
     * the block ends */
    for (int v = 0; v < 3; v++) {
        const char *name = v == 0 ? "big_us.pcap" : v == 1 ? "big_ns.pcap" : "big_be.pcap";
        FILE *f = fopen(path(name), "wb");
        pcap_write_header(f, v == 1, v == 2, 1, 65535);
        uint8_t fr[2100];
        for (int i = 0; i < 4000; i++) {
            size_t n = frame(fr, 100 + (uint32_t)i * 10, FCS_TH_ACK, (uint32_t)(i * 37 % 1400));
            pcap_write_packet(f, v == 2, 1000 + (uint32_t)i, v == 1 ? 999999999u - (uint32_t)i : 999999u - (uint32_t)i,
                              fr, (uint32_t)n, (uint32_t)n + 4);
            if (i == 3000) {
                /* caplen above the snapshot length: libpcap cuts it to 65535 */
                static uint8_t huge[70000];
                memcpy(huge, fr, n);
                pcap_write_packet(f, v == 2, 5000, 1, huge, sizeof huge, sizeof huge);
            }
        }
        fclose(f);
        compare_with_libpcap(path(name), false);
    }
    /* the same cut in the middle of a record, at a header, after the first block */
    FILE *f = fopen(path("big_us.pcap"), "rb");
    static uint8_t buf[4 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    size_t cuts[] = { 700000, 700000 + 7, 24 + 100, 1500000 };
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        if (cuts[i] >= n) continue;
        f = fopen(path("big_cut.pcap"), "wb");
        fwrite(buf, 1, cuts[i], f);
        fclose(f);
        compare_with_libpcap(path("big_cut.pcap"), true);
    }
    /* a record of absurd length (> 256 KiB): libpcap's error */
    f = fopen(path("big_bad.pcap"), "wb");
    fwrite(buf, 1, 600000, f);
    uint8_t h[16] = { 0 };
    uint32_t bad = 300000;
    memcpy(h + 8, &bad, 4);
    memcpy(h + 12, &bad, 4);
    fwrite(h, 1, 16, f);
    fwrite(buf, 1, 400000, f);
    fclose(f);
    compare_with_libpcap(path("big_bad.pcap"), true);
}

/* ---- read-ahead thread (readahead.c reads files and pipes on a second thread) ---- */

/* FCGISCOPE_READ_THREAD: "0" off, "1" on for every file and pipe;
 * FCGISCOPE_READ_CHUNK: the ring's chunk size (small: many chunk ends). */
static const char *const modes[][2] = {
    { "0", NULL }, { "1", NULL }, { "1", "97" }, { "1", "4096" }, { "1", "65537" },
};
#define NMODES (sizeof modes / sizeof *modes)

static void set_mode(size_t m)
{
    setenv("FCGISCOPE_READ_THREAD", modes[m][0], 1);
    if (modes[m][1])
        setenv("FCGISCOPE_READ_CHUNK", modes[m][1], 1);
    else
        unsetenv("FCGISCOPE_READ_CHUNK");
}

static void clear_mode(void)
{
    unsetenv("FCGISCOPE_READ_THREAD");
    unsetenv("FCGISCOPE_READ_CHUNK");
}

static int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A child writes the file to a pipe on our stdin in irregular pieces, then
 * keeps the pipe open for `hold` seconds without writing after `limit`
 * bytes. Returns the child's pid; *done (if given) becomes readable (end of
 * file) once the child has written all it will write. */
static pid_t feed_stdin(const char *file, size_t limit, int hold, int *done)
{
    int pfd[2], dfd[2];
    if (pipe(pfd) != 0) return -1;
    if (pipe(dfd) != 0) return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        close(dfd[0]);
        signal(SIGPIPE, SIG_DFL);
        FILE *f = fopen(file, "rb");
        static uint8_t b[70000];
        size_t total = 0, piece = 1;
        while (f && total < limit) {
            piece = piece * 7 % 65521 + 1;
            size_t want = piece < limit - total ? piece : limit - total;
            size_t n = fread(b, 1, want, f);
            if (n == 0) break;
            if (write(pfd[1], b, n) != (ssize_t)n) break;
            total += n;
            if (piece % 5 == 0) usleep(200);
        }
        close(dfd[1]);
        if (hold) sleep((unsigned)hold);
        _exit(0);
    }
    close(dfd[1]);
    if (done)
        *done = dfd[0];
    else
        close(dfd[0]);
    close(pfd[1]);
    dup2(pfd[0], 0);
    close(pfd[0]);
    return pid;
}

static void reap(pid_t pid)
{
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static fcs_capture *volatile g_break_cap;
static void on_alarm_break(int sig)
{
    (void)sig;
    if (g_break_cap)
        fcs_cap_breakloop(g_break_cap);
}

/* Open file, read 100 packets: `extra` more threads run (0 or 1, the reader);
 * after closing, none. */
static void check_reader_thread(const char *file, int extra)
{
    const char *files[] = { file };
    char err[FCS_CAP_ERRMAX];
    fcs_packet p;
    int before = thread_count();
    fcs_capture *c = fcs_cap_open_files(files, 1, err, sizeof err);
    CHECK(c != NULL);
    if (!c)
        return;
    for (int i = 0; i < 100; i++)
        CHECK_EQ_U(fcs_cap_next(c, &p), FCS_CAP_PACKET);
    CHECK_EQ_U(thread_count(), before + extra);
    fcs_cap_close(c);
    /* joined; /proc may list the finished thread a moment longer */
    for (int i = 0; i < 200 && thread_count() != before; i++)
        usleep(10000);
    CHECK_EQ_U(thread_count(), before);
}

static void test_read_thread(void)
{
    /* big_*.pcap and the cut copies come from test_block_reading */
    const char *whole[] = { "big_us.pcap", "big_ns.pcap", "big_be.pcap", "big_bad.pcap" };
    FILE *f = fopen(path("big_us.pcap"), "rb");
    static uint8_t buf[4 << 20];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    CHECK(n > 3000000);
    /* truncated mid-record, mid-header, at a record end, past the prefix */
    size_t cuts[] = { 700000, 700007, 24 + 100, 65536 + 3, 2500001 };
    for (size_t m = 0; m < NMODES; m++) {
        set_mode(m);
        for (size_t i = 0; i < 4; i++)
            compare_with_libpcap(path(whole[i]), i == 3);
        for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
            char name[32];
            snprintf(name, sizeof name, "rt_cut%zu.pcap", i);
            f = fopen(path(name), "wb");
            fwrite(buf, 1, cuts[i], f);
            fclose(f);
            compare_with_libpcap(path(name), true);
        }
        /* pipe on stdin, written in irregular pieces */
        pid_t pid = feed_stdin(path("big_us.pcap"), (size_t)-1, 0, NULL);
        compare_with_libpcap_as(path("big_us.pcap"), "-", false);
        reap(pid);
        pid = feed_stdin(path("rt_cut0.pcap"), (size_t)-1, 0, NULL);
        compare_with_libpcap_as(path("rt_cut0.pcap"), "-", true);
        reap(pid);
    }

    /* the thread runs when asked for (and only then) */
    const char *bigf[] = { path("big_us.pcap") };
    char err[FCS_CAP_ERRMAX];
    fcs_packet p;
    for (int on = 0; on <= 1; on++) {
        setenv("FCGISCOPE_READ_THREAD", on ? "1" : "0", 1);
        /* a ring smaller than the file: the reader is still there (waiting
         * for room) when we look, not done with the whole file */
        setenv("FCGISCOPE_READ_CHUNK", "4096", 1);
        check_reader_thread(bigf[0], on);
    }

    /* fcs_cap_set_read_ahead(false) (fcgiscope --no-read-ahead) wins over
     * FCGISCOPE_READ_THREAD=1, and only for files opened while it is set */
    setenv("FCGISCOPE_READ_THREAD", "1", 1);
    setenv("FCGISCOPE_READ_CHUNK", "4096", 1);
    for (int on = 0; on <= 1; on++) {
        fcs_cap_set_read_ahead(on);
        check_reader_thread(bigf[0], on);
    }

    /* by default: only for a classic pcap file read in place (>= 2 MiB), not
     * for libpcap's own reading (here: the other byte order) nor for pipes */
    clear_mode();
    setenv("FCGISCOPE_READ_CHUNK", "4096", 1); /* as above */
    const char *autof[][1] = { { path("big_us.pcap") }, { path("big_be.pcap") }, { "-" } };
    for (int i = 0; i < 3; i++) {
        pid_t pid = i == 2 ? feed_stdin(path("big_us.pcap"), (size_t)-1, 0, NULL) : 0;
        int before = thread_count();
        fcs_capture *c = fcs_cap_open_files(autof[i], 1, err, sizeof err);
        CHECK(c != NULL);
        if (c) {
            for (int k = 0; k < 1000; k++)
                CHECK_EQ_U(fcs_cap_next(c, &p), FCS_CAP_PACKET);
            CHECK_EQ_U(thread_count(), before + (i == 0));
            fcs_cap_close(c);
        }
        reap(pid);
    }

    /* early stop (-c): closing while the writer holds the pipe open and
     * sends nothing more must not wait for it */
    for (size_t m = 0; m < 3; m++) {
        set_mode(m);
        int done = -1;
        pid_t pid = feed_stdin(path("big_us.pcap"), 1000000, 30, &done);
        const char *in[] = { "-" };
        fcs_capture *c = fcs_cap_open_files(in, 1, err, sizeof err);
        CHECK(c != NULL);
        if (c) {
            for (int i = 0; i < 100; i++)
                CHECK_EQ_U(fcs_cap_next(c, &p), FCS_CAP_PACKET);
            /* the writer is idle now (without the thread it may still be
             * blocked in write(): nobody reads the pipe) */
            struct pollfd pd = { done, POLLIN, 0 };
            if (poll(&pd, 1, 2000) > 0)
                usleep(20000);
            double t0 = now_s();
            fcs_cap_close(c);
            CHECK(now_s() - t0 < 2.0);
        }
        close(done);
        reap(pid);
    }

    /* a signal (fcs_cap_breakloop) while waiting for a stalled pipe: EOF, not
     * damage, promptly */
    for (size_t m = 0; m < 3; m++) {
        set_mode(m);
        pid_t pid = feed_stdin(path("big_us.pcap"), 1000000, 30, NULL);
        const char *in[] = { "-" };
        fcs_capture *c = fcs_cap_open_files(in, 1, err, sizeof err);
        CHECK(c != NULL);
        if (c) {
            struct sigaction sa, old;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = on_alarm_break; /* no SA_RESTART, as fcgiscope's handlers */
            sigemptyset(&sa.sa_mask);
            sigaction(SIGALRM, &sa, &old);
            g_break_cap = c;
            struct itimerval it = { { 0, 0 }, { 0, 500000 } };
            double t0 = now_s();
            setitimer(ITIMER_REAL, &it, NULL);
            int r, k = 0;
            while ((r = fcs_cap_next(c, &p)) == FCS_CAP_PACKET)
                k++;
            CHECK_EQ_U(r, FCS_CAP_EOF);
            CHECK(k > 200);
            double dt = now_s() - t0;
            CHECK(dt >= 0.4 && dt < 3.0);
            g_break_cap = NULL;
            sigaction(SIGALRM, &old, NULL);
            t0 = now_s();
            fcs_cap_close(c); /* the reader waits for the stalled pipe */
            CHECK(now_s() - t0 < 2.0);
        }
        reap(pid);
    }

    /* a read error (EIO) after some records: the same records, then the same
     * damage message and frame with and without the thread. stdin reads
     * /proc/self/mem at a buffer that ends where an unmapped page begins. */
    long pg = sysconf(_SC_PAGESIZE);
    size_t imglen = 300000 + 17; /* ends inside a record */
    size_t L = (imglen + (size_t)pg - 1) / (size_t)pg * (size_t)pg;
    uint8_t *map = mmap(NULL, L + (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int memfd = open("/proc/self/mem", O_RDONLY);
    if (map == MAP_FAILED || memfd < 0) {
        fprintf(stderr, "test_capture: read-error case skipped (no /proc/self/mem)\n");
    } else {
        uint8_t *img = map + L - imglen;
        memcpy(img, buf, imglen);
        munmap(map + L, (size_t)pg);
        /* records wholly before the end */
        uint64_t whole_recs = 0;
        for (size_t o = 24; o + 16 <= imglen;) {
            uint32_t cl;
            memcpy(&cl, buf + o + 8, 4);
            if (o + 16 + cl > imglen) break;
            whole_recs++;
            o += 16 + cl;
        }
        char first_err[FCS_CAP_ERRMAX] = "";
        for (size_t m = 0; m < NMODES; m++) {
            set_mode(m);
            CHECK(lseek(memfd, (off_t)(uintptr_t)img, SEEK_SET) == (off_t)(uintptr_t)img);
            dup2(memfd, 0);
            const char *in[] = { "-" };
            fcs_capture *c = fcs_cap_open_files(in, 1, err, sizeof err);
            CHECK(c != NULL);
            if (!c) continue;
            int r;
            uint64_t k = 0;
            while ((r = fcs_cap_next(c, &p)) == FCS_CAP_PACKET)
                k++;
            CHECK_EQ_U(r, FCS_CAP_DAMAGED);
            CHECK_EQ_U(k, whole_recs);
            CHECK_EQ_U(fcs_cap_damage_frame(c), whole_recs + 1);
            CHECK(strstr(fcs_cap_error(c), "error reading dump file") != NULL);
            if (m == 0)
                snprintf(first_err, sizeof first_err, "%s", fcs_cap_error(c));
            else
                CHECK_STR(fcs_cap_error(c), first_err);
            CHECK_EQ_U(fcs_cap_next(c, &p), FCS_CAP_EOF);
            fcs_cap_close(c);
        }
        fprintf(stderr, "test_capture: read error case: %s\n", first_err);
    }
    if (memfd >= 0) close(memfd);
    if (map != MAP_FAILED) munmap(map, L);
    clear_mode();
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/fcs-captest-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_formats();
    test_damage();
    test_errors();
    test_memory_and_stdin();
    test_block_reading();
    test_read_thread();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) {}
    return test_summary("test_capture");
}
