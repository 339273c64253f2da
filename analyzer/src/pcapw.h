/* pcapw.h — fcgiscope -w FILE: what a live capture delivered, written as a classic pcap file while it is analysed.
 *
 * Normative reference: draft-ietf-opsawg-pcap (classic pcap: the
 * nanosecond-resolution magic 0xa1b23c4d, host byte order, record headers).
 *
 * Every frame the capture hands to the analysis is written unchanged (the
 * link type of the device, or LINKTYPE_RAW for --unix's synthetic IPv4/TCP
 * frames), with its nanosecond timestamp, so `fcgiscope FILE` and Wireshark
 * with the fastcgi plugin see what the live run saw. Buffered; fcs_pcapw_close()
 * reports a failed write.
 */
#ifndef FCS_PCAPW_H
#define FCS_PCAPW_H

#include <stdbool.h>
#include <stddef.h>

#include "link.h"

typedef struct pcapw pcapw;

/* Create (truncate) path; NULL with a one-line message in err. */
pcapw *fcs_pcapw_open(const char *path, int dlt, int snaplen, char *err, size_t errlen);
/* Append one frame; false after a write error (the rest is not written). */
bool fcs_pcapw_packet(pcapw *w, const fcs_packet *pkt);
/* Flush every 0.5 s or so of capture so the file can be followed (cheap). */
void fcs_pcapw_flush(pcapw *w);
/* Close; 0, or -1 with a message in err when any write failed. */
int fcs_pcapw_close(pcapw *w, char *err, size_t errlen);

#endif
