/* unixcap.h — fcgiscope --unix PATH: the connections of a listening Unix socket, captured by eBPF, as synthetic TCP flows.
 *
 * Normative references: issue 11 (what to capture, how losses show, the
 * synthetic flows); analyzer/bpf/unixcap.bpf.c (the kernel side and its
 * events); RFC 791 / RFC 9293 (the IPv4/TCP headers written for each event).
 *
 * fcs_unix_open() loads and attaches the BPF programs and returns a live
 * capture (capture.h, fcs_cap_open_source) whose frames are raw IPv4/TCP
 * (LINKTYPE_RAW, 101), so the rest of the analyzer runs unchanged. Each
 * connection to PATH is one flow: client (the connecting end, e.g. nginx)
 * 127.1.H.L:P with H.L.P a running connection number (P = 10000 + n % 50000,
 * H.L = n / 50000), server 127.0.0.2:9000 (see fcs_unix_who() for the
 * processes behind an address). SYN/SYN-ACK/ACK at connect(2), the bytes
 * of every write, writev, sendto, sendmsg and sendfile in the order the calls
 * entered the kernel (timestamps: CLOCK_REALTIME, ns, taken at syscall entry),
 * FIN at close(2) or shutdown(2) of an end, RST when that end closed with
 * unread bytes (af_unix then resets the peer). Bytes the ring buffer lost, or
 * that sendfile(2) moved from a file that could not be read back, become a
 * sequence hole of the exact length that the peer acknowledges: the analyzer
 * reports a gap of that length (and the summary counts lost records as
 * capture drops).
 *
 * Errors (one line each, for exit status 2): PATH missing or not a socket,
 * no BTF, not permitted (not root), the kernel refusing the programs, and a
 * build without eBPF support.
 */
#ifndef FCS_UNIXCAP_H
#define FCS_UNIXCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Open a live capture of the Unix socket listening at path (symlinks
 * resolved). NULL with a one-line message in err. */
fcs_capture *fcs_unix_open(const char *path, char *err, size_t errlen);

/* Per FastCGI server process (php-fpm worker), from the requests reported:
 * fcs_unix_worker_note() for each request (out.c), fcs_unix_workers() for
 * the table, busiest first (valid until the next note). */
typedef struct fcs_unix_worker {
    uint32_t pid;
    char comm[16];
    uint64_t requests;
    uint64_t incomplete;          /* without a latency (not answered in the capture) */
    int64_t busy_ns;              /* sum of the run times (the latency when the read
                                     that took the request was not seen) */
    int64_t queued_ns;            /* sum of the queue times of its requests */
    uint64_t waited;              /* its requests that waited >= 1 ms to be taken */
    int64_t slowest_ns;
    char slowest_uri[256];        /* raw bytes (escape before printing) */
    size_t slowest_uri_len;
} fcs_unix_worker;
void fcs_unix_worker_note(const uint8_t client_addr[4], uint16_t client_port, bool has_latency,
                          int64_t latency_ns, bool has_queue, int64_t queue_ns, const char *uri,
                          size_t uri_len);
size_t fcs_unix_workers(const fcs_unix_worker **out);

/* When the app end took the request of a connection (the synthetic client
 * address names it) that began at t_begin_ns and ended at t_end_ns
 * (realtime ns): its first read returning bytes after its last write, the
 * earliest in [t_begin_ns, t_end_ns]. *taken_ns: that read returned (the
 * request had waited until then: in the listen backlog for a new
 * connection, or behind the worker's previous work on a kept-alive one),
 * *ready_ns: when the read was entered; reads are seen at their exit only
 * (unixcap.bpf.c leave_read), so it is *taken_ns. false when no such
 * read was seen (connections are remembered by number, the last 65,536, and
 * 8 reads each). */
bool fcs_unix_pickup(const uint8_t client_addr[4], uint16_t client_port, int64_t t_begin_ns,
                     int64_t t_end_ns, int64_t *taken_ns, int64_t *ready_ns);

/* A listening Unix socket of php-fpm on this host (/proc/net/unix: a
 * listening stream socket whose path names php or fpm, e.g.
 * /run/php/php8.2-fpm.sock), for the hint after a live -i capture that saw
 * no FastCGI. false when there is none. */
bool fcs_unix_fpm_socket(char *path, size_t len);

/* Is --unix available in this build? */
bool fcs_unix_supported(void);

/* The processes behind a synthetic client address (IPv4, network byte order,
 * port in host order) of the capture opened last: pids and names of the
 * client and server ends as first seen (0 / "" when unknown). false when the
 * address is not one of ours. The records outlive their connections. */
typedef struct fcs_unix_who {
    uint32_t client_pid, server_pid;
    char client_comm[16], server_comm[16];
} fcs_unix_who;
bool fcs_unix_who_get(const uint8_t client_addr[4], uint16_t client_port, fcs_unix_who *out);

#ifdef __cplusplus
}
#endif

#endif
