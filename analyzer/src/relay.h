/* relay.h — fcgiscope --relay LISTEN_PATH --to PATH: a forwarding Unix socket whose traffic is analysed, for hosts where eBPF cannot load.
 *
 * Normative references: analyzer/README.md "Relay" (what it promises: accept
 * on a new socket, forward byte-exact to the real one, half-close and errors
 * passed through, no added buffering delay beyond a copy, analyse and record
 * what passes);
 * unix(7) (SO_PEERCRED, what a close with unread bytes does); synflow.h (the
 * synthetic IPv4/TCP flows the analysis sees, the same as --unix).
 *
 * fcs_relay_open() checks PATH (a listening Unix socket: it connects once),
 * creates LISTEN_PATH (a stale socket file nobody listens on is replaced;
 * anything else there is refused), gives it PATH's owner, group and mode,
 * and starts the forwarding thread. It returns a live capture (capture.h,
 * fcs_cap_open_source) of LINKTYPE_RAW frames: each accepted connection is
 * one flow, exactly as --unix writes them (client 127.1.H.L:P, server
 * 127.0.0.2:9000, handshake when the relay's connect to PATH succeeded, a
 * refused connection when it failed, sequence numbers = stream offsets,
 * FIN when a side ended its stream, RST when it reset), timestamped with
 * CLOCK_REALTIME (ns) when the relay read the bytes.
 *
 * Forwarding never waits for the analysis: the thread hands what it read to
 * a bounded queue (64 MiB; FCGISCOPE_RELAY_QUEUE_KB sets it, for tests);
 * bytes that do not fit are not analysed but still forwarded: counted as
 * capture drops, and a gap of exactly their length in their stream.
 *
 * Stopping (fcs_cap_drain(): a signal, -c, --duration): the listening socket
 * is closed and LISTEN_PATH removed at once; open connections go on being
 * forwarded (and analysed) until they end, at most RELAY_DRAIN_S (5 s);
 * those still open then are closed (their flows end with a server RST).
 * A second signal (fcs_cap_breakloop() after the drain began) ends at once.
 *
 * fcs_unix_who_get() (unixcap.h) gives each flow's processes: client_pid
 * from SO_PEERCRED of the accepted socket (the web server's worker),
 * server_pid from SO_PEERCRED of the relay's connection to PATH (the process
 * that called listen(2) on PATH: php-fpm's master, not the worker that
 * serves the request).
 *
 * Errors (one line each, for exit status 2): PATH missing, not a socket,
 * nobody listening (connection refused), no permission; LISTEN_PATH exists
 * and is not a socket, or a socket something listens on; no permission to
 * create it.
 */
#ifndef FCS_RELAY_H
#define FCS_RELAY_H

#include <stdbool.h>
#include <stddef.h>

#include "capture.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RELAY_DRAIN_S 5

/* Relay listen_path -> to_path and capture what passes. quiet: no notes
 * on stderr (connects that failed, connections closed at the stop). NULL
 * with a one-line message in err. */
fcs_capture *fcs_relay_open(const char *listen_path, const char *to_path, bool quiet, char *err,
                            size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
