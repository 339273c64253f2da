/* capdump.c — test driver: reads captures through capture.c/link.c/tcp.c and prints the flow events.
 *
 * Normative reference: analyzer/src/capture.h and tcp.h (the interface it exercises).
 *
 * usage: capdump [-p PORTS] [-a] [-s] [-t SECONDS] FILE...   |   capdump -i DEV [-f FILTER] [-n COUNT]
 *   -p 9000,9001  FastCGI server ports (default 9000; "-p none" for none)
 *   -a            recognise FastCGI on other ports (needs the decoder's
 *                 fsd_looks_like_fastcgi; built in when libfsd is)
 *   -s            summary only: one line per flow with per-direction byte
 *                 counts, gaps and an FNV-1a hash of each reassembled stream
 *   -t SECONDS    idle timeout
 * Output lines (stdout), in event order:
 *   file N name=... format=pcap|pcapng precision=us|ns linktype=NAME
 *   open F client=IP:PORT server=IP:PORT midstream=M by=port|content frame=N
 *   data F client|server LEN frame=N ts=NS
 *   gap F client|server LEN frame=N
 *   close F client|server fin|rst frame=N
 *   end F closed|reset|idle|reused|capture frame=N
 *   anomaly ID flow=F|- frame=N detail
 *   stats packets=... (last line)
 * Exit status: 0, or 2 when the capture cannot be opened (message on stderr).
 */
#include "capture.h"
#include "tcp.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const anomaly_names[] = {
#define FSD_ANOMALY(id, sev, maxsev, summary) #id,
#include "fsd/anomalies.def"
#undef FSD_ANOMALY
};

typedef struct fstate {
    uint64_t hash[2];
} fstate;

static bool summary_only;

static const char *dn(fsd_dir d) { return d == FSD_DIR_CLIENT ? "client" : "server"; }

static void on_open(void *ud, fcs_flow *f)
{
    (void)ud;
    char c[64], s[64];
    fstate *st = calloc(1, sizeof *st);
    st->hash[0] = st->hash[1] = 0xcbf29ce484222325ull;
    f->user = st;
    if (!summary_only)
        printf("open %" PRIu64 " client=%s server=%s midstream=%u by=%s frame=%" PRIu64 "\n", f->id,
               fcs_endpoint_format(&f->client, c, sizeof c), fcs_endpoint_format(&f->server, s, sizeof s),
               f->midstream, f->by_port ? "port" : "content", f->first_frame);
}

static void on_data(void *ud, fcs_flow *f, fsd_dir d, const uint8_t *p, size_t n, int64_t ts,
                    uint64_t frame)
{
    (void)ud;
    fstate *st = f->user;
    for (size_t i = 0; i < n; i++) {
        st->hash[d] ^= p[i];
        st->hash[d] *= 0x100000001b3ull;
    }
    if (!summary_only)
        printf("data %" PRIu64 " %s %zu frame=%" PRIu64 " ts=%" PRId64 "\n", f->id, dn(d), n, frame, ts);
}

static void on_gap(void *ud, fcs_flow *f, fsd_dir d, uint64_t n, int64_t ts, uint64_t frame)
{
    (void)ud;
    (void)ts;
    if (!summary_only)
        printf("gap %" PRIu64 " %s %" PRIu64 " frame=%" PRIu64 "\n", f->id, dn(d), n, frame);
}

static void on_close(void *ud, fcs_flow *f, fsd_dir d, fsd_close_kind k, int64_t ts, uint64_t frame)
{
    (void)ud;
    (void)ts;
    if (!summary_only)
        printf("close %" PRIu64 " %s %s frame=%" PRIu64 "\n", f->id, dn(d),
               k == FSD_CLOSE_RST ? "rst" : "fin", frame);
}

static void on_end(void *ud, fcs_flow *f, fcs_flow_end_reason r, int64_t ts, uint64_t frame)
{
    (void)ud;
    (void)ts;
    fstate *st = f->user;
    if (summary_only) {
        char c[64], s[64];
        printf("flow %" PRIu64 " %s -> %s client=%" PRIu64 "/%016" PRIx64 " server=%" PRIu64
               "/%016" PRIx64 " gaps=%" PRIu64 "/%" PRIu64 " end=%s\n",
               f->id, fcs_endpoint_format(&f->client, c, sizeof c),
               fcs_endpoint_format(&f->server, s, sizeof s), f->bytes[0], st->hash[0],
               f->bytes[1], st->hash[1], f->gap_bytes[0], f->gap_bytes[1],
               fcs_flow_end_reason_name(r));
    } else {
        printf("end %" PRIu64 " %s frame=%" PRIu64 "\n", f->id, fcs_flow_end_reason_name(r), frame);
    }
    free(st);
    f->user = NULL;
}

static void on_anomaly(void *ud, fsd_anomaly_id id, fcs_flow *f, uint64_t frame, int64_t ts,
                       const char *detail)
{
    (void)ud;
    (void)ts;
    const char *name = (unsigned)id < sizeof anomaly_names / sizeof *anomaly_names ? anomaly_names[id] : "?";
    if (f)
        printf("anomaly %s flow=%" PRIu64 " frame=%" PRIu64 " %s\n", name, f->id, frame, detail);
    else
        printf("anomaly %s flow=- frame=%" PRIu64 " %s\n", name, frame, detail);
}

#ifdef CAPDUMP_WITH_FSD
static int classify(const uint8_t *b, size_t n, fsd_dir d) { return fsd_looks_like_fastcgi(b, n, d); }
#endif

int main(int argc, char **argv)
{
    uint16_t ports[64];
    size_t nports = 1;
    ports[0] = 9000;
    bool autodetect = false;
    const char *dev = NULL, *filter = NULL;
    uint64_t count = 0;
    int64_t idle = 0;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-p") && i + 1 < argc) {
            nports = 0;
            char *s = argv[++i], *e;
            if (strcmp(s, "none") != 0) {
                while (*s && nports < 64) {
                    ports[nports++] = (uint16_t)strtoul(s, &e, 10);
                    s = *e == ',' ? e + 1 : e;
                    if (e == s && *s) break;
                }
            }
        } else if (!strcmp(a, "-a")) {
            autodetect = true;
        } else if (!strcmp(a, "-s")) {
            summary_only = true;
        } else if (!strcmp(a, "-t") && i + 1 < argc) {
            idle = (int64_t)(atof(argv[++i]) * 1e9);
        } else if (!strcmp(a, "-i") && i + 1 < argc) {
            dev = argv[++i];
        } else if (!strcmp(a, "-f") && i + 1 < argc) {
            filter = argv[++i];
        } else if (!strcmp(a, "-n") && i + 1 < argc) {
            count = strtoull(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: capdump [-p PORTS] [-a] [-s] [-t SEC] FILE... | -i DEV [-f FILTER] [-n COUNT]\n");
            return 2;
        }
    }
    char err[FCS_CAP_ERRMAX];
    fcs_capture *cap;
    if (dev) {
        fcs_live_options o = { .filter = filter };
        cap = fcs_cap_open_live(dev, &o, err, sizeof err);
    } else {
        if (i >= argc) {
            fprintf(stderr, "capdump: no capture file\n");
            return 2;
        }
        cap = fcs_cap_open_files((const char *const *)argv + i, (size_t)(argc - i), err, sizeof err);
    }
    if (!cap) {
        fprintf(stderr, "capdump: %s\n", err);
        return 2;
    }
    fcs_tcp_config cfg = { .server_ports = ports, .nserver_ports = nports, .idle_timeout_ns = idle };
#ifdef CAPDUMP_WITH_FSD
    if (autodetect)
        cfg.classify = classify;
#else
    if (autodetect)
        fprintf(stderr, "capdump: -a needs libfsd; ignored\n");
#endif
    fcs_tcp_callbacks cb = { on_open, on_data, on_gap, on_close, on_end, on_anomaly, NULL };
    fcs_tcp *t = fcs_tcp_new(&cfg, &cb, NULL);
    int rc = 0;
    uint64_t n = 0;
    for (;;) {
        /* Live: one packet at a time so -n is exact and the loop stays responsive. */
        int r = fcs_cap_feed(cap, t, dev ? 1 : 1024);
        if (r == FCS_CAP_EOF)
            break;
        if (r == FCS_CAP_ERROR) {
            fprintf(stderr, "capdump: %s\n", fcs_cap_error(cap));
            rc = 2;
            break;
        }
        if (dev && count) {
            fcs_tcp_stats s;
            fcs_tcp_get_stats(t, &s);
            n = s.packets;
            if (n >= count)
                break;
        }
    }
    if (dev)
        fcs_cap_report_drops(cap, t);
    for (size_t k = 0; k < fcs_cap_file_count(cap); k++) {
        fcs_cap_file_info fi;
        fcs_cap_get_file_info(cap, k, &fi);
        const char *ln = fcs_link_name(fi.dlt);
        printf("file %zu name=%s format=%s precision=%s linktype=%s first=%" PRIu64 " packets=%" PRIu64 "%s\n",
               k + 1, fi.name, fi.format == FCS_FMT_PCAP ? "pcap" : fi.format == FCS_FMT_PCAPNG ? "pcapng" : "live",
               fi.precision == FCS_PREC_NS ? "ns" : "us", ln ? ln : "?", fi.first_frame, fi.packets,
               fi.damaged ? " damaged" : "");
    }
    fcs_tcp_finish(t, fcs_cap_last_ts(cap), 0);
    fcs_tcp_stats s;
    fcs_tcp_get_stats(t, &s);
    printf("stats packets=%" PRIu64 " tcp=%" PRIu64 " fastcgi_segments=%" PRIu64 " flows=%" PRIu64
           " fastcgi_flows=%" PRIu64 " ignored=%" PRIu64 " retrans=%" PRIu64 " overlap=%" PRIu64
           " ooo=%" PRIu64 " gaps=%" PRIu64 "/%" PRIu64 " not_ip=%" PRIu64 " not_tcp=%" PRIu64
           " short=%" PRIu64 " malformed=%" PRIu64 " fragments=%" PRIu64 "\n",
           s.packets, s.tcp_segments, s.fastcgi_segments, s.flows_seen, s.flows_fastcgi,
           s.flows_ignored, s.retransmitted_segments, s.overlap_bytes, s.ooo_segments, s.gaps,
           s.gap_bytes, s.not_ip, s.not_tcp, s.short_frames, s.malformed, s.fragments);
    fcs_tcp_free(t);
    fcs_cap_close(cap);
    (void)n;
    return rc;
}
