/* readahead.h — a second thread that read()s a file or pipe into a ring of
 * buffers while the analysis runs (used by capbytes.c; bench/README.md
 * "Capture reader history" has the measurements behind it).
 *
 * The ring is RING_CHUNKS chunks of `chunk` bytes, page-aligned. The reader
 * thread owns the free part, the consumer the filled part; bytes, then the
 * end of file or the read error (errno), reach the consumer in file order,
 * so what it sees is what reading the descriptor directly would give. The
 * thread starts with every signal blocked (SIGINT, SIGTERM and SIGALRM stay
 * with the analysis thread); the consumer's waits are timed (100 ms) so a
 * stop flag set by a signal handler is seen; stopping wakes a thread waiting
 * in poll() on a pipe through a wake-up pipe and joins it.
 */
#ifndef FCS_READAHEAD_H
#define FCS_READAHEAD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FCS_RING_CHUNK (1024 * 1024) /* largest read() and view */
#define FCS_RING_CHUNKS 4            /* the ring: FCS_RING_CHUNKS * chunk bytes */
#define FCS_IDLE_MS 200              /* streams: the idle hook's period while no byte comes */

/* fcs_cap_set_idle(): what a stream reader calls instead of waiting blind. */
typedef struct fcs_idle_hook {
    void (*fn)(void *ud);
    void *ud;
} fcs_idle_hook;

typedef struct fcs_readahead fcs_readahead;

/* A page-aligned buffer (free() it): read() into a destination 16 bytes
 * past a 64-byte boundary, where malloc puts large blocks, is slower. */
uint8_t *fcs_page_alloc(size_t n);

int64_t fcs_mono_ns(void); /* CLOCK_MONOTONIC in nanoseconds */

/* Start reading fd (regular: a regular file; otherwise waits in poll()) in
 * chunks of `chunk` bytes (0: FCS_RING_CHUNK). NULL: no memory or no thread
 * (the caller reads directly). */
fcs_readahead *fcs_readahead_start(int fd, bool regular, size_t chunk);

/* The next piece of the ring, releasing the previous one (the caller is done
 * with it); waits for bytes, calling `hook` (not for regular files) at once
 * and then every FCS_IDLE_MS while none come. 1: *p and *n set (at most one
 * chunk, never across a chunk end); 0: end of file; -1: read error, errno
 * set (the same on later calls); -2: *stop was set (errno EINTR). */
int fcs_readahead_view(fcs_readahead *r, const uint8_t **p, size_t *n,
                       volatile sig_atomic_t *stop, const fcs_idle_hook *hook);

/* Stop the thread, join it, free the ring. */
void fcs_readahead_stop(fcs_readahead *r);

#endif
