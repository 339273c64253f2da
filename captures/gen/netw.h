/* netw.h — packet builder for crafted captures: link layers, IPv4/IPv6, TCP with checksums, a TCP connection model.
 *
 * Normative reference: RFC 791 (IPv4), RFC 8200 (IPv6 and extension headers),
 * RFC 9293 (TCP header, checksum, sequence space), IEEE 802.1Q (VLAN tag and
 * the 0x88a8 S-tag used for QinQ), and the link-layer headers of
 * https://www.tcpdump.org/linktypes.html (NULL, LOOP, LINUX_SLL, LINUX_SLL2,
 * RAW, IPV4, IPV6).
 *
 * Nothing here knows FastCGI; the library only builds bytes. Writing packets
 * to a file is pcapw's job.
 */
#ifndef FCGISCOPE_NETW_H
#define FCGISCOPE_NETW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum netw_link {
    NETW_LINK_ETHERNET = 0, /* Ethernet II */
    NETW_LINK_VLAN,         /* Ethernet + one 802.1Q tag (0x8100) */
    NETW_LINK_QINQ,         /* Ethernet + S-tag (0x88a8) + C-tag (0x8100) */
    NETW_LINK_SLL,          /* Linux cooked v1, 16 bytes */
    NETW_LINK_SLL2,         /* Linux cooked v2, 20 bytes */
    NETW_LINK_NULL,         /* BSD loopback: 4-byte AF in little-endian (as written on x86) */
    NETW_LINK_LOOP,         /* OpenBSD loopback: 4-byte AF in network byte order */
    NETW_LINK_RAW,          /* LINKTYPE_RAW 101: IPv4 or IPv6, no link header */
    NETW_LINK_IPV4,         /* LINKTYPE_IPV4 228 */
    NETW_LINK_IPV6          /* LINKTYPE_IPV6 229 */
} netw_link;

/* The LINKTYPE_* value a capture file of this link must carry. */
uint32_t netw_linktype(netw_link link);

typedef struct netw_link_opts {
    netw_link link;
    uint16_t vlan_outer;      /* VID of the only tag (VLAN) or the S-tag (QINQ) */
    uint16_t vlan_inner;      /* VID of the C-tag (QINQ) */
    uint32_t sll2_ifindex;    /* SLL2 interface index */
    uint8_t mac[2][6];        /* [0] client side, [1] server side; zero: 00:00:5e:00:53:01/02 */
} netw_link_opts;

typedef struct netw_addr {
    int family;               /* 4 or 6 */
    uint8_t ip[16];           /* IPv4 in ip[0..3] */
    uint16_t port;
} netw_addr;

/* Parse a numeric IPv4/IPv6 address. 0 on success, -1 otherwise. */
int netw_addr_parse(netw_addr *a, const char *ip, uint16_t port);
/* "192.0.2.1:40000" or "[2001:db8::1]:40000" (RFC 5952 text form). */
void netw_addr_format(const netw_addr *a, char *buf, size_t n);

typedef struct netw_ip_opts {
    uint8_t ttl;              /* TTL / hop limit; 0: 64 */
    bool dont_fragment;       /* IPv4 DF */
    uint16_t frag_offset;     /* IPv4 fragment offset in bytes (multiple of 8) */
    bool more_fragments;      /* IPv4 MF */
    uint8_t ext[4];           /* IPv6 extension headers in order, 8 bytes each: 0 (hop-by-hop) or
                                 60 (destination options) carry PadN; 44 is a Fragment header
                                 with frag_offset, more_fragments and frag_ident */
    size_t next;
    uint32_t frag_ident;      /* IPv6 Fragment header identification */
} netw_ip_opts;

/* Wrap an IP payload (protocol proto) in IP and link headers. dir 0: from the
 * client side, 1: from the server side (selects MACs and the SLL packet type).
 * ipv4_id is the IPv4 identification. Returns the frame length, or 0 when
 * cap is too small or an argument is invalid. */
size_t netw_build_ip(uint8_t *out, size_t cap, const netw_link_opts *lk, int dir,
                     const netw_addr *src, const netw_addr *dst, uint8_t proto,
                     const netw_ip_opts *ip, uint16_t ipv4_id,
                     const uint8_t *payload, size_t len);

enum {
    NETW_FIN = 0x01, NETW_SYN = 0x02, NETW_RST = 0x04, NETW_PSH = 0x08, NETW_ACK = 0x10
};

/* Build a TCP segment (header + payload) with a correct checksum for
 * src -> dst. SYN segments carry an MSS option (1460). Returns its length or 0. */
size_t netw_build_tcp(uint8_t *out, size_t cap, const netw_addr *src, const netw_addr *dst,
                      uint32_t seq, uint32_t ack, uint8_t flags, uint16_t window,
                      const uint8_t *payload, size_t len);

/* Internet checksum helpers (RFC 1071). */
uint32_t netw_csum_add(uint32_t sum, const uint8_t *p, size_t n);
uint16_t netw_csum_fold(uint32_t sum);

/* ---- TCP connection model ---------------------------------------------- */

typedef struct netw_tcp {
    netw_link_opts link;
    netw_ip_opts ip;
    netw_addr ep[2];          /* [0] client, [1] server */
    uint32_t next_seq[2];     /* next sequence number each side sends */
    uint16_t ipv4_id[2];
    uint16_t window;
} netw_tcp;

/* isn[0] client ISN, isn[1] server ISN. */
void netw_tcp_init(netw_tcp *t, const netw_link_opts *lk, const netw_ip_opts *ip,
                   const netw_addr *client, const netw_addr *server,
                   uint32_t client_isn, uint32_t server_isn);

/* One packet from side dir (0 client, 1 server) at that side's next sequence
 * number, acknowledging everything the other side sent (when flags has ACK).
 * Advances the side's sequence by len, plus one for SYN and for FIN.
 * Returns the frame length (0 on error). */
size_t netw_tcp_packet(netw_tcp *t, int dir, uint8_t flags, const uint8_t *payload, size_t len,
                       uint8_t *out, size_t cap);

/* The same with an explicit sequence number; the model is not advanced
 * (retransmissions, overlapping segments). */
size_t netw_tcp_packet_at(netw_tcp *t, int dir, uint32_t seq, uint8_t flags,
                          const uint8_t *payload, size_t len, uint8_t *out, size_t cap);

/* The TCP segment bytes only (no IP/link), at an explicit sequence number,
 * for callers that fragment the IP payload themselves. */
size_t netw_tcp_segment_at(netw_tcp *t, int dir, uint32_t seq, uint8_t flags,
                           const uint8_t *payload, size_t len, uint8_t *out, size_t cap);

/* ---- Packet sequences through a caller's sink ------------------------- */

/* Receives each built frame (link header included) in order; the sink writes
 * it (with its own timestamp) and returns 0, or non-zero to stop. */
typedef int (*netw_emit_fn)(void *ud, const uint8_t *frame, size_t len);

/* SYN, SYN-ACK, ACK. Returns 0, or -1 when a frame could not be built or the
 * sink refused it. */
int netw_tcp_handshake(netw_tcp *t, netw_emit_fn emit, void *ud);

/* Data from side dir cut into segments of at most mss bytes (ACK, PSH on the
 * last). Returns the number of segments emitted, or -1. */
int netw_tcp_send(netw_tcp *t, int dir, const uint8_t *data, size_t len, size_t mss,
                  netw_emit_fn emit, void *ud);

/* Orderly close: FIN+ACK from first_dir, FIN+ACK from the other side, final ACK. */
int netw_tcp_close(netw_tcp *t, int first_dir, netw_emit_fn emit, void *ud);

/* RST+ACK from side dir. */
int netw_tcp_reset(netw_tcp *t, int dir, netw_emit_fn emit, void *ud);

#endif /* FCGISCOPE_NETW_H */
