/* link.c — link-layer, IPv4/IPv6 and TCP header decoding with bounds-checked reads.
 *
 * Normative references: tcpdump.org LINKTYPE list, IEEE 802.1Q/802.1ad,
 * RFC 791, RFC 8200 §4 (extension headers), RFC 4302 §2 (AH length in 4-byte
 * units minus 2), RFC 9293 §3.1 (TCP header).
 *
 * Layouts used:
 *   Ethernet:   dst(6) src(6) type(2) [ 0x8100/0x88a8/0x9100: TCI(2) type(2) ]...
 *   LINUX_SLL:  pkttype(2) hatype(2) halen(2) addr(8) protocol(2)          = 16
 *   LINUX_SLL2: protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1)
 *               halen(1) addr(8)                                           = 20
 *   NULL/LOOP:  family(4)
 *   TCP:        sport(2) dport(2) seq(4) ack(4) off/flags(2) win(2) csum(2) urg(2)
 */
#include "link.h"

#include <string.h>

/* Bounds-checked big-endian getters: the caller checked off + n <= len. */
static inline uint16_t be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

enum { ETH_IPV4 = 0x0800, ETH_IPV6 = 0x86dd, ETH_8021Q = 0x8100, ETH_QINQ = 0x88a8,
       ETH_QINQ_OLD = 0x9100 };

enum { DLT_NULL_ = 0, DLT_EN10MB_ = 1, DLT_RAW_12 = 12, DLT_RAW_14 = 14, DLT_RAW_ = 101,
       DLT_LOOP_ = 108, DLT_SLL_ = 113, DLT_IPV4_ = 228, DLT_IPV6_ = 229, DLT_SLL2_ = 276 };

bool fcs_link_supported(int dlt)
{
    return fcs_link_name(dlt) != NULL;
}

const char *fcs_link_name(int dlt)
{
    switch (dlt) {
    case DLT_NULL_: return "NULL";
    case DLT_EN10MB_: return "EN10MB";
    case DLT_RAW_12: case DLT_RAW_14: case DLT_RAW_: return "RAW";
    case DLT_LOOP_: return "LOOP";
    case DLT_SLL_: return "LINUX_SLL";
    case DLT_IPV4_: return "IPV4";
    case DLT_IPV6_: return "IPV6";
    case DLT_SLL2_: return "LINUX_SLL2";
    default: return NULL;
    }
}

const char *fcs_link_result_name(fcs_link_result r)
{
    switch (r) {
    case FCS_LINK_TCP: return "tcp";
    case FCS_LINK_FRAGMENT: return "fragment";
    case FCS_LINK_NOT_TCP: return "not tcp";
    case FCS_LINK_NOT_IP: return "not ip";
    case FCS_LINK_SHORT: return "short";
    case FCS_LINK_MALFORMED: return "malformed";
    case FCS_LINK_UNSUPPORTED: return "unsupported link type";
    }
    return "unknown";
}

/* Network-layer kind found by the link decoder. */
enum { NET_NONE = 0, NET_V4 = 4, NET_V6 = 6, NET_BY_VERSION = 1 };

/* Address family values of the BSD loopback header: 2 = AF_INET everywhere;
 * AF_INET6 is 10 (Linux), 24 (OpenBSD/NetBSD), 28 (FreeBSD), 30 (macOS). */
static int af_to_net(uint32_t af)
{
    if (af == 2) return NET_V4;
    if (af == 10 || af == 24 || af == 28 || af == 30) return NET_V6;
    return NET_NONE;
}

/* TCP header at data[off..end). end is the IP datagram's end within the capture,
 * wire_end its end on the wire (both relative to data). */
static inline fcs_link_result decode_tcp(const uint8_t *data, uint32_t off, uint32_t cap_end,
                                  uint64_t wire_end, fcs_segment *seg)
{
    /* off <= cap_end is guaranteed by the callers. */
    if (cap_end - off < 20)
        return FCS_LINK_SHORT;
    const uint8_t *th = data + off;
    seg->sport = be16(th);
    seg->dport = be16(th + 2);
    seg->seq = be32(th + 4);
    seg->ack = be32(th + 8);
    uint32_t hlen = (uint32_t)(th[12] >> 4) * 4u;
    seg->flags = th[13] & 0x3f;
    seg->window = be16(th + 14);
    if (hlen < 20)
        return FCS_LINK_MALFORMED;
    /* Payload on the wire: wire_end - off - hlen (wire_end >= off checked by callers). */
    if (wire_end < (uint64_t)off + hlen)
        return FCS_LINK_MALFORMED;
    uint64_t wire_pay = wire_end - off - hlen;
    if (wire_pay > 0xffffffffu)
        return FCS_LINK_MALFORMED;
    seg->payload_len = (uint32_t)wire_pay;
    if ((uint64_t)off + hlen >= cap_end) {
        seg->payload = NULL;              /* options or payload cut by the snaplen */
        seg->cap_payload_len = 0;
    } else {
        seg->payload = th + hlen;
        uint32_t capp = cap_end - off - hlen;
        seg->cap_payload_len = capp < seg->payload_len ? capp : seg->payload_len;
    }
    return FCS_LINK_TCP;
}

/* IPv4 at data[off..caplen); wirelen is the frame's length on the wire. */
static inline fcs_link_result decode_ipv4(const uint8_t *data, uint32_t off, uint32_t caplen,
                                   uint32_t wirelen, fcs_segment *seg)
{
    if (caplen - off < 20)
        return FCS_LINK_SHORT;
    const uint8_t *ip = data + off;
    if ((ip[0] >> 4) != 4)
        return FCS_LINK_MALFORMED;
    uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4u;
    if (ihl < 20)
        return FCS_LINK_MALFORMED;
    uint32_t tot = be16(ip + 2);
    /* Frame bytes after the link header on the wire; wirelen < off only for
     * nonsense headers, treated as "as captured". */
    uint64_t wire_avail = wirelen > off ? (uint64_t)wirelen - off : (uint64_t)caplen - off;
    if (tot == 0) {
        /* TSO/GSO packets captured on the sending host carry 0: use the frame. */
        tot = wire_avail > 0xffffffffu ? 0xffffffffu : (uint32_t)wire_avail;
    }
    if (tot < ihl)
        return FCS_LINK_MALFORMED;
    /* A datagram longer than the frame on the wire cannot be (when the pcap
     * lengths themselves are sane). */
    if (wirelen >= caplen && tot > wire_avail)
        return FCS_LINK_MALFORMED;
    seg->family = 4;
    /* src and dst are zero already (fcs_link_decode clears seg) */
    memcpy(seg->src, ip + 12, 4);
    memcpy(seg->dst, ip + 16, 4);
    uint16_t fragw = be16(ip + 6);
    bool mf = (fragw & 0x2000) != 0;
    uint32_t frag_off = fragw & 0x1fff;
    uint8_t proto = ip[9];
    if (proto != 6)
        return FCS_LINK_NOT_TCP;
    /* The datagram ends at off + tot (Ethernet padding beyond it is ignored);
     * within the capture at most caplen. */
    uint64_t wire_end = (uint64_t)off + tot;
    uint32_t cap_end = wire_end < caplen ? (uint32_t)wire_end : caplen;
    if ((uint64_t)off + ihl > cap_end)
        return FCS_LINK_SHORT;
    if (mf || frag_off) {
        seg->fragment = true;
        if (frag_off != 0)
            return FCS_LINK_FRAGMENT;
        seg->first_fragment = true;
        if (decode_tcp(data, off + ihl, cap_end, wire_end, seg) == FCS_LINK_TCP) {
            seg->payload = NULL;
            seg->cap_payload_len = 0;
        } else {
            seg->first_fragment = false;
        }
        return FCS_LINK_FRAGMENT;
    }
    return decode_tcp(data, off + ihl, cap_end, wire_end, seg);
}

/* IPv6 with extension headers at data[off..caplen). */
static fcs_link_result decode_ipv6(const uint8_t *data, uint32_t off, uint32_t caplen,
                                   uint32_t wirelen, fcs_segment *seg)
{
    if (caplen - off < 40)
        return FCS_LINK_SHORT;
    const uint8_t *ip = data + off;
    if ((ip[0] >> 4) != 6)
        return FCS_LINK_MALFORMED;
    uint64_t plen = be16(ip + 4);
    uint64_t wire_avail = wirelen > off ? (uint64_t)wirelen - off : (uint64_t)caplen - off;
    if (plen == 0) {
        /* Jumbogram or TSO: take the frame's length. */
        plen = wire_avail >= 40 ? wire_avail - 40 : 0;
    }
    if (wirelen >= caplen && plen + 40 > wire_avail)
        return FCS_LINK_MALFORMED;
    seg->family = 6;
    memcpy(seg->src, ip + 8, 16);
    memcpy(seg->dst, ip + 24, 16);
    uint64_t wire_end = (uint64_t)off + 40 + plen;
    uint32_t cap_end = wire_end < caplen ? (uint32_t)wire_end : caplen;
    uint8_t nh = ip[6];
    uint32_t p = off + 40;
    bool frag = false, first_frag = false;
    /* At most a handful of extension headers; bound the walk anyway. */
    for (int n = 0; n < 16; n++) {
        switch (nh) {
        case 6: /* TCP */
            if (frag) {
                seg->fragment = true;
                if (!first_frag)
                    return FCS_LINK_FRAGMENT;
                seg->first_fragment = true;
                if (p > cap_end || decode_tcp(data, p, cap_end, wire_end, seg) != FCS_LINK_TCP)
                    seg->first_fragment = false;
                seg->payload = NULL;
                seg->cap_payload_len = 0;
                return FCS_LINK_FRAGMENT;
            }
            if (p > cap_end)
                return FCS_LINK_SHORT;
            return decode_tcp(data, p, cap_end, wire_end, seg);
        case 0:   /* hop-by-hop */
        case 43:  /* routing */
        case 60:  /* destination options */
        case 135: /* mobility */
            if (p > cap_end || cap_end - p < 8)
                return FCS_LINK_SHORT;
            nh = data[p];
            p += 8u + (uint32_t)data[p + 1] * 8u;
            break;
        case 44:  /* fragment: next(1) res(1) offset/flags(2) id(4) */
            if (p > cap_end || cap_end - p < 8)
                return FCS_LINK_SHORT;
            nh = data[p];
            {
                uint16_t ofl = be16(data + p + 2);
                uint32_t fo = ofl >> 3;
                bool m = (ofl & 1) != 0;
                if (fo != 0 || m) {
                    frag = true;
                    first_frag = (fo == 0);
                }
            }
            p += 8;
            break;
        case 51:  /* AH: length in 4-byte units minus 2 */
            if (p > cap_end || cap_end - p < 8)
                return FCS_LINK_SHORT;
            nh = data[p];
            p += ((uint32_t)data[p + 1] + 2u) * 4u;
            break;
        default:  /* 59 no next header, ESP, ICMPv6, UDP, ... */
            return FCS_LINK_NOT_TCP;
        }
        if ((uint64_t)p > wire_end)
            return FCS_LINK_MALFORMED;
    }
    return FCS_LINK_MALFORMED;
}

/* The common frame, decoded without the general path's steps: Ethernet
 * without VLAN tags, IPv4 without options, not fragmented, a nonzero total
 * length that fits the frame, TCP with a sane data offset, 20 TCP bytes
 * captured. It gives exactly what the general path gives (test_link compares
 * the two on mutated frames). false: not such a frame, seg untouched. */
static inline bool decode_ether_ipv4_tcp(const uint8_t *data, uint32_t caplen, uint32_t wirelen,
                                         fcs_segment *seg)
{
    const uint8_t *ip = data + 14;
    uint32_t tot = be16(ip + 2);
    uint32_t wire_avail = wirelen > 14 ? wirelen - 14 : caplen - 14;
    const uint8_t *th = ip + 20;
    uint32_t hlen = (uint32_t)(th[12] >> 4) * 4u;
    if (!(data[12] == 0x08 && data[13] == 0x00 && ip[0] == 0x45 && ip[9] == 6 &&
          (be16(ip + 6) & 0x3fff) == 0 && tot >= 40 && !(wirelen >= caplen && tot > wire_avail) &&
          hlen >= 20 && tot >= 20 + hlen))
        return false;
    seg->family = 4;
    memcpy(seg->src, ip + 12, 4);
    memcpy(seg->dst, ip + 16, 4);
    seg->sport = be16(th);
    seg->dport = be16(th + 2);
    seg->seq = be32(th + 4);
    seg->ack = be32(th + 8);
    seg->flags = th[13] & 0x3f;
    seg->window = be16(th + 14);
    uint32_t cap_end = 14 + tot < caplen ? 14 + tot : caplen; /* >= 54 */
    seg->payload_len = tot - 20 - hlen;
    if (34 + hlen < cap_end) {
        seg->payload = th + hlen;
        uint32_t capp = cap_end - 34 - hlen;
        seg->cap_payload_len = capp < seg->payload_len ? capp : seg->payload_len;
    }
    return true;
}

/* Network-layer kind of an EtherType (Ethernet, Linux cooked captures). */
static inline int ethertype_net(uint16_t type)
{
    if (type == ETH_IPV4) return NET_V4;
    if (type == ETH_IPV6) return NET_V6;
    return NET_NONE;
}

/* The link-layer header of link type dlt: where the network header starts
 * (*off) and what it is (*net; NET_BY_VERSION: from its first nibble).
 * FCS_LINK_TCP when found (the network header is yet to be decoded),
 * otherwise why not. */
static fcs_link_result link_header(int dlt, const uint8_t *data, uint32_t caplen,
                                   uint32_t *off, int *net)
{
    *off = 0;
    *net = NET_NONE;
    switch (dlt) {
    case DLT_EN10MB_: {
        if (caplen < 14)
            return FCS_LINK_SHORT;
        uint16_t type = be16(data + 12);
        *off = 14;
        /* Stacked VLAN tags (bounded: a frame of tags only ends at caplen). */
        while (type == ETH_8021Q || type == ETH_QINQ || type == ETH_QINQ_OLD) {
            if (caplen - *off < 4)
                return FCS_LINK_SHORT;
            type = be16(data + *off + 2);
            *off += 4;
        }
        *net = ethertype_net(type);
        break;
    }
    case DLT_SLL_:
        if (caplen < 16)
            return FCS_LINK_SHORT;
        *off = 16;
        *net = ethertype_net(be16(data + 14));
        break;
    case DLT_SLL2_:
        if (caplen < 20)
            return FCS_LINK_SHORT;
        *off = 20;
        *net = ethertype_net(be16(data));
        break;
    case DLT_NULL_:
    case DLT_LOOP_: {
        if (caplen < 4)
            return FCS_LINK_SHORT;
        uint32_t be = be32(data);
        uint32_t le = (uint32_t)data[0] | ((uint32_t)data[1] << 8) | ((uint32_t)data[2] << 16) |
                      ((uint32_t)data[3] << 24);
        /* NULL is in the capturing host's order, LOOP in network order; a
         * family value fits one byte, so whichever order gives a known value wins. */
        *net = af_to_net(dlt == DLT_LOOP_ ? be : le);
        if (*net == NET_NONE)
            *net = af_to_net(dlt == DLT_LOOP_ ? le : be);
        *off = 4;
        break;
    }
    case DLT_RAW_:
    case DLT_RAW_12:
    case DLT_RAW_14:
        *net = NET_BY_VERSION;
        break;
    case DLT_IPV4_:
        *net = NET_V4;
        break;
    case DLT_IPV6_:
        *net = NET_V6;
        break;
    default:
        return FCS_LINK_UNSUPPORTED;
    }
    return *net == NET_NONE ? FCS_LINK_NOT_IP : FCS_LINK_TCP;
}

fcs_link_result fcs_link_decode(int dlt, const uint8_t *data, uint32_t caplen,
                                uint32_t wirelen, fcs_segment *seg)
{
    memset(seg, 0, sizeof *seg);
    if (!data)
        caplen = 0;
    if (dlt == DLT_EN10MB_ && caplen >= 14 + 20 + 20 &&
        decode_ether_ipv4_tcp(data, caplen, wirelen, seg))
        return FCS_LINK_TCP;
    uint32_t off;
    int net;
    fcs_link_result r = link_header(dlt, data, caplen, &off, &net);
    if (r != FCS_LINK_TCP)
        return r;
    if (off >= caplen)
        return FCS_LINK_SHORT;
    if (net == NET_BY_VERSION) {
        unsigned v = data[off] >> 4;
        if (v == 4) net = NET_V4;
        else if (v == 6) net = NET_V6;
        else return FCS_LINK_MALFORMED;
    }
    if (net == NET_V4)
        return decode_ipv4(data, off, caplen, wirelen, seg);
    return decode_ipv6(data, off, caplen, wirelen, seg);
}
