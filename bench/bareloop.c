/* bareloop.c — fcgiscope-bench-bareloop: the bare libpcap read loop, the practical speed limit of any libpcap tool.
 *
 * Normative reference: pcap(3PCAP), pcap_next_ex(3PCAP),
 * pcap_fopen_offline(3PCAP) (libpcap 1.10); issue 6 (benchmark).
 *
 *   fcgiscope-bench-bareloop [--stdio-buf] FILE
 *
 * Reads every packet with pcap_next_ex and touches nothing but the packet
 * header's caplen (summed, so the loop cannot be optimised away). Default:
 * pcap_open_offline (libpcap's own FILE, glibc's default 4 KiB buffer).
 * --stdio-buf: fopen + setvbuf(64 KiB) + pcap_fopen_offline, the way
 * fcgiscope opens files. Nanosecond files are opened with nanosecond
 * precision (no conversion). Prints one line:
 *   packets=N bytes=N caplen_bytes=N seconds=S
 */
#define _DEFAULT_SOURCE
#include <pcap/pcap.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    bool stdio_buf = false;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--stdio-buf"))
            stdio_buf = true;
        else if (!path && argv[i][0] != '-')
            path = argv[i];
        else {
            fprintf(stderr, "usage: fcgiscope-bench-bareloop [--stdio-buf] FILE\n");
            return 2;
        }
    }
    if (!path) {
        fprintf(stderr, "usage: fcgiscope-bench-bareloop [--stdio-buf] FILE\n");
        return 2;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "fcgiscope-bench-bareloop: %s: %s\n", path, strerror(errno));
        return 2;
    }
    double t0 = now();
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p;
    char *iobuf = NULL;
    if (stdio_buf) {
        FILE *f = fopen(path, "rb");
        if (!f) {
            fprintf(stderr, "fcgiscope-bench-bareloop: %s: %s\n", path, strerror(errno));
            return 2;
        }
        iobuf = malloc(65536);
        if (iobuf)
            setvbuf(f, iobuf, _IOFBF, 65536);
        p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, ebuf);
        if (!p)
            fclose(f);
    } else {
        p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, ebuf);
    }
    if (!p) {
        fprintf(stderr, "fcgiscope-bench-bareloop: %s: %s\n", path, ebuf);
        free(iobuf);
        return 2;
    }
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t packets = 0, caplen = 0;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        packets++;
        caplen += h->caplen;
    }
    if (rc == PCAP_ERROR)
        fprintf(stderr, "fcgiscope-bench-bareloop: %s: %s\n", path, pcap_geterr(p));
    pcap_close(p); /* closes the FILE too */
    free(iobuf);
    double t1 = now();
    printf("packets=%llu bytes=%llu caplen_bytes=%llu seconds=%.6f\n", (unsigned long long)packets,
           (unsigned long long)st.st_size, (unsigned long long)caplen, t1 - t0);
    return rc == PCAP_ERROR ? 1 : 0;
}
