/* capbench.c — measures capture reading and reassembly speed against a bare pcap_next_ex loop.
 *
 * Normative reference: analyzer/src/capture.h, tcp.h; pcap file format.
 *
 *   capbench gen FILE MB [FLOWS]   write a pcap of MB megabytes: FLOWS concurrent
 *                                   FastCGI connections to port 9000 sending
 *                                   1448-byte segments (Ethernet/IPv4), with ACKs
 *   capbench bare FILE              pcap_next_ex over the file (libpcap's own speed)
 *   capbench read FILE              fcs_cap_next only
 *   capbench flows FILE             fcs_cap_next + link + flow table + reassembly
 * Prints seconds, packets and MB/s of file bytes.
 */
#define _GNU_SOURCE
#include "capture.h"
#include "tcp.h"
#include "testutil.h"

#include <pcap/pcap.h>
#include <sys/stat.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t delivered;
static void on_data(void *ud, fcs_flow *f, fsd_dir d, const uint8_t *p, size_t n, int64_t ts, uint64_t fr)
{
    (void)ud; (void)f; (void)d; (void)p; (void)ts; (void)fr;
    delivered += n;
}

static int gen(const char *path, double mb, int nflows)
{
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); return 1; }
    static uint8_t pay[1448], ip[2000], fr[2100];
    for (size_t i = 0; i < sizeof pay; i++) pay[i] = (uint8_t)i;
    pcap_write_header(f, false, false, 1, 262144);
    uint64_t target = (uint64_t)(mb * 1e6), written = 24;
    uint32_t *seq = calloc((size_t)nflows, sizeof *seq);
    uint32_t sec = 1700000000, usec = 0;
    for (uint64_t k = 0; written < target; k++) {
        int fl = (int)(k % (uint64_t)nflows);
        tseg s = { 0 };
        s.family = 4;
        s.src[0] = 10; s.src[1] = (uint8_t)(fl >> 8); s.src[2] = (uint8_t)fl; s.src[3] = 1;
        s.dst[0] = 10; s.dst[3] = 2;
        s.sport = (uint16_t)(20000 + fl % 40000);
        s.dport = 9000;
        s.seq = seq[fl];
        s.flags = FCS_TH_ACK | FCS_TH_PSH;
        s.payload = pay;
        s.len = sizeof pay;
        if (k % 2 == 1) {   /* an ACK from the server every other packet */
            tseg a = s;
            memcpy(a.src, s.dst, 4);
            memcpy(a.dst, s.src, 4);
            a.sport = 9000;
            a.dport = s.sport;
            a.seq = 1;
            a.ack = seq[fl];
            a.flags = FCS_TH_ACK;
            a.len = 0;
            size_t n = wrap_eth(fr, ip, build_ip(ip, &a), 4, NULL, 0);
            pcap_write_packet(f, false, sec, usec, fr, (uint32_t)n, (uint32_t)n);
            written += 16 + n;
        }
        size_t n = wrap_eth(fr, ip, build_ip(ip, &s), 4, NULL, 0);
        pcap_write_packet(f, false, sec, usec, fr, (uint32_t)n, (uint32_t)n);
        written += 16 + n;
        seq[fl] += sizeof pay;
        if (++usec == 1000000) { usec = 0; sec++; }
    }
    free(seq);
    fclose(f);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "gen"))
        return gen(argv[2], atof(argv[3]), argc > 4 ? atoi(argv[4]) : 100);
    if (argc != 3) {
        fprintf(stderr, "usage: capbench gen FILE MB [FLOWS] | bare FILE | read FILE | flows FILE\n");
        return 2;
    }
    struct stat sb;
    if (stat(argv[2], &sb) != 0) { perror(argv[2]); return 2; }
    double t0 = now();
    uint64_t pk = 0;
    if (!strcmp(argv[1], "bare")) {
        char eb[PCAP_ERRBUF_SIZE];
        pcap_t *p = pcap_open_offline_with_tstamp_precision(argv[2], PCAP_TSTAMP_PRECISION_NANO, eb);
        if (!p) { fprintf(stderr, "%s\n", eb); return 2; }
        struct pcap_pkthdr *h;
        const u_char *d;
        uint64_t sum = 0;
        while (pcap_next_ex(p, &h, &d) == 1) { pk++; sum += d[h->caplen - 1]; }
        pcap_close(p);
        if (sum == 1) printf(" ");
    } else {
        char err[FCS_CAP_ERRMAX];
        const char *files[] = { argv[2] };
        fcs_capture *c = fcs_cap_open_files(files, 1, err, sizeof err);
        if (!c) { fprintf(stderr, "%s\n", err); return 2; }
        if (!strcmp(argv[1], "read")) {
            fcs_packet p;
            while (fcs_cap_next(c, &p) == FCS_CAP_PACKET) pk++;
        } else {
            static const uint16_t port = 9000;
            fcs_tcp_config cfg = { .server_ports = &port, .nserver_ports = 1 };
            fcs_tcp_callbacks cb = { 0 };
            cb.flow_data = on_data;
            fcs_tcp *t = fcs_tcp_new(&cfg, &cb, NULL);
            fcs_cap_feed(c, t, 0);
            fcs_tcp_stats st;
            fcs_tcp_get_stats(t, &st);
            pk = st.packets;
            fcs_tcp_finish(t, 0, 0);
            fcs_tcp_free(t);
            printf("delivered %.1f MB of stream, %llu gaps\n", (double)delivered / 1e6, (unsigned long long)st.gaps);
        }
        fcs_cap_close(c);
    }
    double dt = now() - t0;
    printf("%s: %.3f s, %llu packets, %.0f MB/s\n", argv[1], dt, (unsigned long long)pk,
           (double)sb.st_size / 1e6 / dt);
    return 0;
}
