/* pcapw.h — minimal capture-file writer: classic pcap (µs or ns magic, either byte order) and pcapng.
 *
 * Normative reference: draft-ietf-opsawg-pcap (classic pcap file format) and
 * draft-ietf-opsawg-pcapng (SHB, IDB with if_tsresol, EPB). Link types are the
 * LINKTYPE_* values of https://www.tcpdump.org/linktypes.html.
 *
 * The writer streams to a caller-owned FILE*; nothing is buffered beyond stdio,
 * so it can write large benchmark captures as well as tiny crafted ones.
 */
#ifndef FCGISCOPE_PCAPW_H
#define FCGISCOPE_PCAPW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum pcapw_format {
    PCAPW_PCAP = 0,     /* classic libpcap file */
    PCAPW_PCAPNG = 1    /* pcapng: one section, one interface */
} pcapw_format;

typedef struct pcapw_opts {
    pcapw_format format;
    bool ns;            /* nanosecond timestamps (classic: 0xa1b23c4d magic; pcapng: if_tsresol 9) */
    bool big_endian;    /* write the file in big-endian byte order (default: little-endian) */
    uint32_t linktype;  /* LINKTYPE_* value, written as is (any value, also unknown ones) */
    uint32_t snaplen;   /* 0: 262144 */
} pcapw_opts;

typedef struct pcapw pcapw;

/* Writes the file header (classic) or SHB + IDB (pcapng). NULL on failure
 * (allocation or write error). The FILE stays owned by the caller. */
pcapw *pcapw_open(FILE *f, const pcapw_opts *opts);

/* One packet: ts_ns nanoseconds since the Unix epoch (must be >= 0), the first
 * caplen bytes of data, orig_len its length on the wire (>= caplen).
 * For µs files ts_ns is truncated to the microsecond. Returns 0, or -1 on a
 * write error or bad argument. */
int pcapw_packet(pcapw *w, int64_t ts_ns, const uint8_t *data, size_t caplen, size_t orig_len);

/* Bytes written so far (file header included). */
uint64_t pcapw_offset(const pcapw *w);
/* Packets written so far. */
uint64_t pcapw_count(const pcapw *w);

/* Flushes and frees the writer (the FILE is not closed). 0, or -1 if any
 * write failed. */
int pcapw_close(pcapw *w);

/* Common link types. */
enum {
    PCAPW_LINKTYPE_NULL = 0,
    PCAPW_LINKTYPE_ETHERNET = 1,
    PCAPW_LINKTYPE_RAW = 101,
    PCAPW_LINKTYPE_LOOP = 108,
    PCAPW_LINKTYPE_LINUX_SLL = 113,
    PCAPW_LINKTYPE_IPV4 = 228,
    PCAPW_LINKTYPE_IPV6 = 229,
    PCAPW_LINKTYPE_LINUX_SLL2 = 276
};

#endif /* FCGISCOPE_PCAPW_H */
