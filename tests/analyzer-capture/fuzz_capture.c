/* fuzz_capture.c — libFuzzer target over the analyzer's capture path: capture bytes in memory -> libpcap -> link/IP/TCP -> flow table.
 *
 * Normative reference: analyzer/src/capture.h, tcp.h. Built as a libFuzzer
 * target with -DFCGISCOPE_FUZZ=ON (clang), and as a replay program
 * (fuzz_capture_replay FILE...) for the normal test run: every delivered span
 * is read in full (ASan catches a bad span), every flow that opens must end,
 * and stream/gap byte counts must add up. Differential: the same bytes read
 * as a file (a memfd) through the read-ahead thread with a chunk size taken
 * from the input, or without it, must give the same packets, result codes,
 * damage frames and messages as the memory image.
 */
#define _GNU_SOURCE
#include "capture.h"
#include "tcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static uint64_t fnv_add(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* Read everything; a digest of what fcs_cap_next returned, in order. */
static uint64_t digest(fcs_capture *c, uint64_t *npk)
{
    uint64_t h = 1469598103934665603ull;
    fcs_packet p;
    *npk = 0;
    for (int guard = 0; guard < 2000000; guard++) {
        int r = fcs_cap_next(c, &p);
        int32_t rr = r;
        h = fnv_add(h, (const uint8_t *)&rr, sizeof rr);
        if (r == FCS_CAP_PACKET) {
            (*npk)++;
            uint64_t v[4] = { p.frame, p.caplen, p.len, (uint64_t)p.ts_ns };
            h = fnv_add(h, (const uint8_t *)v, sizeof v);
            h = fnv_add(h, p.data, p.caplen);
        } else if (r == FCS_CAP_DAMAGED) {
            uint64_t fr = fcs_cap_damage_frame(c);
            h = fnv_add(h, (const uint8_t *)&fr, sizeof fr);
            h = fnv_add(h, (const uint8_t *)fcs_cap_error(c), strlen(fcs_cap_error(c)));
        } else {
            break;
        }
    }
    return h;
}

static void differential(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz_capture", MFD_CLOEXEC);
    if (fd < 0)
        return;
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) { close(fd); return; }
        off += (size_t)w;
    }
    char path[64], chunk[16];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    char err[FCS_CAP_ERRMAX], err2[FCS_CAP_ERRMAX];
    fcs_capture *m = fcs_cap_open_memory(size ? data : NULL, size, path, err, sizeof err);
    unsigned sel = size ? data[size / 2] : 0;
    setenv("FCGISCOPE_READ_THREAD", sel & 1 ? "1" : "0", 1);
    snprintf(chunk, sizeof chunk, "%u", 1 + (sel * 2654435761u) % 70000u);
    setenv("FCGISCOPE_READ_CHUNK", chunk, 1);
    const char *files[] = { path };
    fcs_capture *f = fcs_cap_open_files(files, 1, err2, sizeof err2);
    unsetenv("FCGISCOPE_READ_THREAD");
    unsetenv("FCGISCOPE_READ_CHUNK");
    if (!m != !f) {
        fprintf(stderr, "fuzz_capture: memory %s, file %s\n", m ? "opens" : err, f ? "opens" : err2);
        abort();
    }
    if (m && f) {
        uint64_t n1, n2;
        uint64_t h1 = digest(m, &n1), h2 = digest(f, &n2);
        if (h1 != h2 || n1 != n2) {
            fprintf(stderr, "fuzz_capture: memory image and file (thread %c, chunk %s) differ: "
                    "%llu vs %llu packets\n", sel & 1 ? '1' : '0', chunk,
                    (unsigned long long)n1, (unsigned long long)n2);
            abort();
        }
    } else if (strcmp(err, err2) != 0) {
        fprintf(stderr, "fuzz_capture: open errors differ: %s / %s\n", err, err2);
        abort();
    }
    fcs_cap_close(m);
    fcs_cap_close(f);
    close(fd);
}

typedef struct fz {
    uint64_t opens, ends, sum;
} fz;

static void f_open(void *ud, fcs_flow *f) { ((fz *)ud)->opens++; f->user = ud; }
static void f_data(void *ud, fcs_flow *f, fsd_dir d, const uint8_t *p, size_t n, int64_t ts, uint64_t fr)
{
    fz *z = ud;
    (void)d; (void)ts; (void)fr;
    if (f->user != ud) abort();
    for (size_t i = 0; i < n; i++) z->sum += p[i];
}
static void f_gap(void *ud, fcs_flow *f, fsd_dir d, uint64_t n, int64_t ts, uint64_t fr)
{
    (void)ud; (void)d; (void)ts; (void)fr;
    if (f->user != ud || n == 0) abort();
}
static void f_close(void *ud, fcs_flow *f, fsd_dir d, fsd_close_kind k, int64_t ts, uint64_t fr)
{
    (void)d; (void)k; (void)ts; (void)fr;
    if (f->user != ud) abort();
}
static void f_end(void *ud, fcs_flow *f, fcs_flow_end_reason r, int64_t ts, uint64_t fr)
{
    (void)r; (void)ts; (void)fr;
    if (f->user != ud) abort();
    f->user = NULL;
    ((fz *)ud)->ends++;
}
static void f_anom(void *ud, fsd_anomaly_id id, fcs_flow *f, uint64_t fr, int64_t ts, const char *d)
{
    (void)ud; (void)f; (void)fr; (void)ts;
    if ((unsigned)id >= FSD_A_COUNT || !d || strlen(d) > 4096) abort();
}

/* Toy classifier so content recognition runs too. */
static int classify(const uint8_t *b, size_t n, fsd_dir d)
{
    if (n < 2) return -1;
    if (b[0] != 1) return 0;
    return (d == FSD_DIR_CLIENT) == (b[1] == 1 || b[1] == 9) ? 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    differential(data, size);
    char err[FCS_CAP_ERRMAX];
    fcs_capture *c = fcs_cap_open_memory(data, size, "fuzz", err, sizeof err);
    if (!c)
        return 0;
    static const uint16_t ports[] = { 9000, 80 };
    /* Small caps so they are hit. */
    fcs_tcp_config cfg = { .server_ports = ports, .nserver_ports = 2, .classify = classify,
                           .max_flows = 16, .ooo_max_segments = 8, .ooo_max_bytes = 4096,
                           .idle_timeout_ns = 5000000000ll, .classify_max_bytes = 64 };
    fcs_tcp_callbacks cb = { f_open, f_data, f_gap, f_close, f_end, f_anom, NULL };
    fz z = { 0, 0, 0 };
    fcs_tcp *t = fcs_tcp_new(&cfg, &cb, &z);
    if (t) {
        int r;
        for (int guard = 0; guard < 1000000; guard++) {
            r = fcs_cap_feed(c, t, 64);
            if (r != FCS_CAP_PACKET) break;
        }
        fcs_tcp_finish(t, fcs_cap_last_ts(c), 0);
        fcs_tcp_stats st;
        fcs_tcp_get_stats(t, &st);
        if (z.opens != z.ends || st.ooo_bytes_now != 0 || st.flows_now != 0)
            abort();
        fcs_tcp_free(t);
    }
    fcs_cap_close(c);
    return 0;
}

#ifdef FUZZ_REPLAY
/* Replay: each file as is, then 200 deterministic corruptions of it. */
int main(int argc, char **argv)
{
    unsigned long runs = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) { perror(argv[i]); return 1; }
        static uint8_t buf[4 << 20];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
        runs++;
        uint8_t *m = malloc(n ? n : 1);
        uint32_t x = 2463534242u ^ (uint32_t)i;
        for (int k = 0; k < 200 && n > 24; k++) {
            memcpy(m, buf, n);
            int edits = 1 + k % 8;
            for (int e = 0; e < edits; e++) {
                x ^= x << 13; x ^= x >> 17; x ^= x << 5;
                size_t pos = 24 + x % (n - 24);
                x ^= x << 13; x ^= x >> 17; x ^= x << 5;
                m[pos] = (uint8_t)x;
            }
            x ^= x << 13; x ^= x >> 17; x ^= x << 5;
            size_t len = (k % 5 == 0) ? 24 + x % (n - 24) : n;   /* also truncate */
            LLVMFuzzerTestOneInput(m, len);
            runs++;
        }
        free(m);
    }
    printf("fuzz_capture_replay: %lu runs over %d files\n", runs, argc - 1);
    return 0;
}
#endif
