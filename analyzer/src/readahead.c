/* readahead.c — the read-ahead thread and its ring (see readahead.h).
 *
 * Positions are stream offsets: the thread owns [wpos, rpos + size), the
 * consumer [rpos, wpos). No mmap: a file truncated while mapped would raise
 * SIGBUS.
 */
#define _GNU_SOURCE
#include "readahead.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct fcs_readahead {
    int fd;
    bool regular;
    int wake[2];            /* pipe: wakes the thread out of poll() at shutdown */
    uint8_t *buf;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv_data, cv_space;
    uint64_t wpos, rpos;    /* under mu */
    int err;                /* errno of a failed read (after the bytes before it) */
    bool eof, quit;
    bool cwait, pwait;      /* consumer / producer waiting on its condition */
    uint64_t cpos;          /* consumer only: end of its current view */
    size_t chunk, size;
};

uint8_t *fcs_page_alloc(size_t n)
{
    void *p = NULL;
    return posix_memalign(&p, 4096, n) == 0 ? p : NULL;
}

int64_t fcs_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The thread's read() of up to n bytes at ring offset off (EINTR retried);
 * on a pipe it first waits in poll(), and sets *quit when woken to stop. */
static ssize_t read_wait(fcs_readahead *r, size_t off, size_t n, bool *quit)
{
    for (;;) {
        if (!r->regular) {
            /* a pipe may block for ever: wait for data or shutdown */
            struct pollfd pf[2] = { { r->fd, POLLIN, 0 }, { r->wake[0], POLLIN, 0 } };
            int pr = poll(pf, 2, -1);
            if (pr < 0 && errno == EINTR)
                continue;
            if (pr > 0 && pf[1].revents) {
                *quit = true;
                return 0;
            }
        }
        ssize_t got = read(r->fd, r->buf + off, n);
        if (got < 0 && (errno == EINTR || (errno == EAGAIN && !r->regular)))
            continue;
        return got;
    }
}

static void *ring_main(void *arg)
{
    fcs_readahead *r = arg;
    const size_t size = r->size;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->quit && r->wpos - r->rpos >= size) {
            r->pwait = true;
            pthread_cond_wait(&r->cv_space, &r->mu);
            r->pwait = false;
        }
        if (r->quit)
            break;
        size_t off = (size_t)(r->wpos % size);
        size_t n = r->chunk - off % r->chunk;    /* to the chunk's end */
        size_t room = size - (size_t)(r->wpos - r->rpos);
        if (n > room)
            n = room;
        pthread_mutex_unlock(&r->mu);
        bool quit = false;
        ssize_t got = read_wait(r, off, n, &quit);
        int e = got < 0 ? errno : 0;
        pthread_mutex_lock(&r->mu);
        if (quit)
            break;
        if (got > 0)
            r->wpos += (uint64_t)got;
        else if (got == 0)
            r->eof = true;
        else
            r->err = e ? e : EIO;
        if (r->cwait)
            pthread_cond_signal(&r->cv_data);
        if (got <= 0)
            break;
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* Release a ring whose thread has ended or never started. */
static void ring_free(fcs_readahead *r)
{
    pthread_cond_destroy(&r->cv_space);
    pthread_cond_destroy(&r->cv_data);
    pthread_mutex_destroy(&r->mu);
    if (r->wake[0] >= 0) {
        close(r->wake[0]);
        close(r->wake[1]);
    }
    free(r->buf);
    free(r);
}

fcs_readahead *fcs_readahead_start(int fd, bool regular, size_t chunk)
{
    fcs_readahead *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->chunk = chunk ? chunk : FCS_RING_CHUNK;
    r->size = r->chunk * FCS_RING_CHUNKS;
    r->buf = fcs_page_alloc(r->size);
    r->fd = fd;
    r->regular = regular;
    r->wake[0] = r->wake[1] = -1;
    if (!r->buf || (!r->regular && pipe2(r->wake, O_CLOEXEC) != 0)) {
        free(r->buf);
        free(r);
        return NULL;
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv_data, NULL);
    pthread_cond_init(&r->cv_space, NULL);
    /* Signals (SIGINT, SIGTERM, SIGALRM for --duration) stay with the
     * analysis thread: the reader starts with all of them blocked. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&r->th, NULL, ring_main, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        ring_free(r);
        return NULL;
    }
    return r;
}

void fcs_readahead_stop(fcs_readahead *r)
{
    pthread_mutex_lock(&r->mu);
    r->quit = true;
    pthread_cond_signal(&r->cv_space);
    pthread_mutex_unlock(&r->mu);
    if (r->wake[1] >= 0) {
        ssize_t w;
        do
            w = write(r->wake[1], "q", 1);
        while (w < 0 && errno == EINTR);
    }
    pthread_join(r->th, NULL);
    ring_free(r);
}

/* Wait (r->mu held) until the thread has written past the consumer's
 * position, the file ended or failed. false: *stop was set (mu released). */
static bool wait_for_bytes(fcs_readahead *r, volatile sig_atomic_t *stop,
                           const fcs_idle_hook *hook)
{
    int64_t next_idle = 0; /* streams: call the idle hook at once, then every FCS_IDLE_MS */
    while (r->wpos == r->cpos && !r->eof && !r->err) {
        if (stop && *stop) {
            pthread_mutex_unlock(&r->mu);
            return false;
        }
        if (!r->regular && hook && hook->fn && fcs_mono_ns() >= next_idle) {
            pthread_mutex_unlock(&r->mu);
            hook->fn(hook->ud);
            next_idle = fcs_mono_ns() + FCS_IDLE_MS * 1000000ll;
            pthread_mutex_lock(&r->mu);
            continue;
        }
        /* timed: a signal handler only sets *stop, it cannot wake us */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        r->cwait = true;
        pthread_cond_timedwait(&r->cv_data, &r->mu, &ts);
        r->cwait = false;
    }
    return true;
}

int fcs_readahead_view(fcs_readahead *r, const uint8_t **p, size_t *n,
                       volatile sig_atomic_t *stop, const fcs_idle_hook *hook)
{
    const size_t size = r->size;
    pthread_mutex_lock(&r->mu);
    r->rpos = r->cpos;
    /* wake a waiting reader only once half the ring is free: it then reads
     * several chunks in a row instead of one per wake-up */
    if (r->pwait && r->size - (size_t)(r->wpos - r->rpos) >= r->size / 2)
        pthread_cond_signal(&r->cv_space);
    if (!wait_for_bytes(r, stop, hook)) {
        errno = EINTR;
        return -2;
    }
    uint64_t w = r->wpos;
    int err = r->err;
    pthread_mutex_unlock(&r->mu);
    if (w == r->cpos) {
        if (err) {
            errno = err;
            return -1;
        }
        return 0;
    }
    size_t off = (size_t)(r->cpos % size);
    size_t len = r->chunk - off % r->chunk;     /* views end at chunk ends */
    if (w - r->cpos < len)
        len = (size_t)(w - r->cpos);
    r->cpos += len;
    *p = r->buf + off;
    *n = len;
    return 1;
}
