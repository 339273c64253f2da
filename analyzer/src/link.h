/* link.h — link layers, IPv4/IPv6 and the TCP header: one captured frame -> one TCP segment.
 *
 * Normative references: tcpdump.org LINKTYPE list (link-layer header types),
 * IEEE 802.3 / 802.1Q / 802.1ad, RFC 791 (IPv4), RFC 8200 (IPv6 and its
 * extension headers), RFC 4302 (AH), RFC 9293 (TCP header).
 *
 * Stateless and allocation free. Every read is bounds-checked against the
 * captured length; lengths in headers are never trusted beyond it.
 *
 * Supported link types (DLT_ / LINKTYPE_ numbers as in a pcap header):
 *   EN10MB (1)      Ethernet II, 802.1Q (0x8100), QinQ (0x88a8, 0x9100) tags, stacked
 *   LINUX_SLL (113) Linux cooked v1;  LINUX_SLL2 (276) cooked v2
 *   NULL (0)        BSD loopback, 4-byte AF in host order of the capturing machine
 *                   (accepted in either byte order: 2 = IPv4; 10, 24, 28, 30 = IPv6)
 *   LOOP (108)      OpenBSD loopback, AF in network byte order (same values)
 *   RAW (101) and the DLT_RAW values 12 and 14, IPV4 (228), IPV6 (229)
 */
#ifndef FCS_LINK_H
#define FCS_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One captured frame as the capture source delivers it. */
typedef struct fcs_packet {
    const uint8_t *data;   /* captured bytes, valid until the next read */
    uint32_t caplen;       /* bytes captured */
    uint32_t len;          /* bytes on the wire (>= caplen normally) */
    int64_t ts_ns;         /* capture timestamp, ns since the epoch */
    uint64_t frame;        /* 1-based frame number on the whole timeline */
    int dlt;               /* link type of the file / device it came from */
} fcs_packet;

/* TCP flag bits as in the header's 13th byte. */
enum {
    FCS_TH_FIN = 0x01, FCS_TH_SYN = 0x02, FCS_TH_RST = 0x04,
    FCS_TH_PSH = 0x08, FCS_TH_ACK = 0x10, FCS_TH_URG = 0x20
};

/* A decoded TCP segment (addresses in network byte order). */
typedef struct fcs_segment {
    uint8_t family;          /* 4 or 6 */
    uint8_t src[16], dst[16];/* IPv4 uses the first 4 bytes, the rest zero */
    uint16_t sport, dport;   /* host byte order */
    uint32_t seq, ack;
    uint8_t flags;           /* FCS_TH_* */
    uint16_t window;
    const uint8_t *payload;  /* captured payload (may be shorter than payload_len) */
    uint32_t cap_payload_len;/* payload bytes present in the capture */
    uint32_t payload_len;    /* payload bytes on the wire (from the IP length) */
    bool fragment;           /* IP fragment: only the first fragment decodes a TCP
                                header; payload is not usable (not reassembled) */
    bool first_fragment;     /* offset 0 with more fragments: ports are valid */
} fcs_segment;

/* Result of fcs_link_decode(). */
typedef enum fcs_link_result {
    FCS_LINK_TCP = 0,        /* *seg is a TCP segment */
    FCS_LINK_FRAGMENT,       /* IP fragment of a TCP datagram (any offset); addresses
                                set; ports/seq/flags set only when seg->first_fragment
                                (offset 0 and 20 TCP bytes captured); no payload */
    FCS_LINK_NOT_TCP,        /* IP but another protocol */
    FCS_LINK_NOT_IP,         /* ARP, LLDP, ... */
    FCS_LINK_SHORT,          /* captured too short to reach the TCP header's 20 bytes */
    FCS_LINK_MALFORMED,      /* a length or version field that cannot be right */
    FCS_LINK_UNSUPPORTED     /* link type not supported */
} fcs_link_result;

/* Decode link, IP and TCP headers. seg is fully written for FCS_LINK_TCP
 * (zeroed otherwise except as documented). Never reads beyond caplen. */
fcs_link_result fcs_link_decode(int dlt, const uint8_t *data, uint32_t caplen,
                                uint32_t wirelen, fcs_segment *seg);

/* Is this link type decoded? */
bool fcs_link_supported(int dlt);
/* A name for messages: "EN10MB", "LINUX_SLL", ...; NULL for unsupported. */
const char *fcs_link_name(int dlt);
/* "ok", "not TCP", ... for statistics and debugging. */
const char *fcs_link_result_name(fcs_link_result r);

#ifdef __cplusplus
}
#endif

#endif /* FCS_LINK_H */
