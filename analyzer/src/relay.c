/* relay.c — fcgiscope --relay: forward a Unix socket's connections and hand their bytes to the analysis as synthetic TCP flows.
 *
 * Normative reference: see relay.h.
 *
 * Two threads. The relay thread (relay_main) owns every socket: an epoll
 * loop, non-blocking, one buffer of BUF bytes per direction of a connection;
 * a side is read only while its buffer has room (backpressure: a slow
 * reader slows its writer, nothing piles up here), and what was read is
 * written to the other side at once. Each read is also pushed, with its
 * stream offset and CLOCK_REALTIME, onto the event queue; the analysis
 * thread (src_next, called by fcs_cap_next) pops events and turns them into
 * frames with synflow.c. A full queue drops the bytes for the analysis only
 * (counted; their offsets make the gap).
 *
 * af_unix has no abortive close: SO_LINGER is ignored, and a close(2) with
 * bytes still unread in the closing socket is what resets the peer (its next
 * read gets ECONNRESET); a close without unread bytes is an end-of-file.
 * So a reset on one side (ECONNRESET from a read) is passed on by closing
 * the other side at once without reading what it still sent: it gets
 * ECONNRESET if it had sent anything unread, end-of-file otherwise, and
 * EPIPE on its next write either way.
 */
#define _GNU_SOURCE 1

#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "synflow.h"

#define BUF (64 * 1024)                 /* per direction of a connection */
#define QUEUE_BYTES (64ull << 20)       /* event queue, payload bytes */
#define WAIT_MS 250                     /* FCS_CAP_TIMEOUT after that long without a frame */
#define NCOMM 16                        /* process names remembered */
#define POLL_MS 5                       /* the analysis takes the event queue that often */

/* ---- events: relay thread -> analysis ---- */

enum { EV_OPEN, EV_REFUSED, EV_DATA, EV_FIN, EV_RST, EV_CLOSE };

typedef struct rev {
    struct rev *next;
    uint8_t type, dir;
    uint64_t conn;
    uint64_t off;                       /* stream offset (DATA: of the first byte; FIN/RST: the end) */
    uint32_t len;
    int64_t ts;
    uint32_t pid[2];                    /* OPEN/REFUSED: client, server */
    char comm[2][16];
    uint8_t data[];
} rev;

/* ---- connections (relay thread) ---- */

typedef struct rconn rconn;
typedef struct rside {
    rconn *c;
    int d;
} rside;

struct rconn {
    uint64_t id;
    int fd[2];                          /* [0] the web server (accepted), [1] PATH (connected) */
    uint8_t *buf[2];                    /* buf[d]: read from side d, for side d^1 */
    size_t pos[2], len[2];              /* bytes buf[d][pos..len) wait to be written */
    uint64_t off[2];                    /* bytes read from side d so far */
    bool eof[2];                        /* side d ended its stream (read 0) */
    bool reset[2];                      /* side d reset (a read failed) */
    bool shut[2];                       /* shutdown(fd[d], SHUT_WR) done */
    bool dead[2];                       /* writing to side d failed: it is gone */
    bool fin_sent[2];
    uint32_t want[2];                   /* epoll interest registered (0: not in the set) */
    bool closed;                        /* in the grave: freed after the batch */
    rside side[2];
    rconn *prev, *next;
};

typedef struct relay {
    char listen_path[PATH_MAX];
    char to_path[PATH_MAX];
    struct sockaddr_un to_addr;
    socklen_t to_len;
    dev_t listen_dev;
    ino_t listen_ino;
    bool quiet;
    int lfd, epfd, cfd;                 /* listener, epoll, control eventfd */
    pthread_t th;
    bool th_started;
    rconn *conns;
    size_t nconns;
    rconn *grave;                       /* closed, freed after the event batch */
    uint64_t next_id;
    int64_t accept_pause_until;         /* EMFILE: accept again after (monotonic ns) */
    int64_t last_note;
    uint32_t comm_pid[NCOMM];           /* peer(): recent pids' names */
    int64_t comm_at[NCOMM];
    char comm[NCOMM][16];
    unsigned comm_next;
    /* control (any thread, signal handlers) */
    atomic_int stop_accept;             /* drain asked */
    atomic_int quit;                    /* close asked */
    atomic_int done;                    /* relay thread finished */
    /* event queue */
    pthread_mutex_t mu;
    rev *qhead, *qtail;
    uint64_t qbytes, qlimit;
    uint64_t received, dropped;
    int qfd;                            /* eventfd: events arrived / stop */
    /* analysis side */
    fcs_sf sf;
    volatile sig_atomic_t stop;
    volatile sig_atomic_t draining;
    char err[256];
} relay;

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void kick(int fd)
{
    uint64_t one = 1;
    ssize_t r = write(fd, &one, sizeof one);
    (void)r;
}

/* No wake-up per event: the analysis takes the queue every POLL_MS (a
 * wake-up per read cost more than the forwarding itself). */
static void push(relay *r, rev *e)
{
    pthread_mutex_lock(&r->mu);
    e->next = NULL;
    if (r->qtail)
        r->qtail->next = e;
    else
        r->qhead = e;
    r->qtail = e;
    r->qbytes += e->len;
    r->received++;
    pthread_mutex_unlock(&r->mu);
}

static void push_ctl(relay *r, int type, const rconn *c, int dir, uint64_t off)
{
    rev *e = calloc(1, sizeof *e);
    if (!e) {
        pthread_mutex_lock(&r->mu);
        r->dropped++;
        pthread_mutex_unlock(&r->mu);
        return;
    }
    e->type = (uint8_t)type;
    e->dir = (uint8_t)dir;
    e->conn = c->id;
    e->off = off;
    e->ts = clock_ns(CLOCK_REALTIME);
    push(r, e);
}

/* Bytes read from side dir: for the analysis, unless the queue is full. */
static void push_data(relay *r, const rconn *c, int dir, uint64_t off, const uint8_t *p, size_t n,
                      int64_t ts)
{
    pthread_mutex_lock(&r->mu);
    bool fits = r->qbytes + n <= r->qlimit;
    if (!fits)
        r->dropped++;
    pthread_mutex_unlock(&r->mu);
    if (!fits)
        return;
    rev *e = malloc(sizeof *e + n);
    if (!e) {
        pthread_mutex_lock(&r->mu);
        r->dropped++;
        pthread_mutex_unlock(&r->mu);
        return;
    }
    memset(e, 0, sizeof *e);
    e->type = EV_DATA;
    e->dir = (uint8_t)dir;
    e->conn = c->id;
    e->off = off;
    e->len = (uint32_t)n;
    e->ts = ts;
    memcpy(e->data, p, n);
    push(r, e);
}

static void note(relay *r, const char *fmt, const char *what, int e)
{
    if (r->quiet)
        return;
    int64_t now = clock_ns(CLOCK_MONOTONIC);
    if (r->last_note && now - r->last_note < 10000000000ll)
        return;      /* at most one in 10 s */
    r->last_note = now;
    fprintf(stderr, fmt, what, strerror(e));
}

/* The pid at the other end of fd and its name (/proc/PID/comm; the last
 * few are remembered: the same web server workers and php-fpm master
 * connect again and again). */
static void peer(relay *r, int fd, uint32_t *pid, char comm[16])
{
    struct ucred cr;
    socklen_t l = sizeof cr;
    *pid = 0;
    comm[0] = '\0';
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) != 0 || cr.pid <= 0)
        return;
    *pid = (uint32_t)cr.pid;
    int64_t now = clock_ns(CLOCK_MONOTONIC);
    for (int i = 0; i < NCOMM; i++)
        if (r->comm_pid[i] == *pid && now - r->comm_at[i] < 1000000000ll) {
            memcpy(comm, r->comm[i], 16);
            return;
        }
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/comm", (int)cr.pid);
    int f = open(p, O_RDONLY | O_CLOEXEC);
    if (f < 0)
        return;
    ssize_t n = read(f, comm, 15);
    close(f);
    if (n < 0)
        n = 0;
    while (n > 0 && (comm[n - 1] == '\n'))
        n--;
    comm[n] = '\0';
    int k = r->comm_next++ % NCOMM;     /* (a pid reused within 1 s: its old name) */
    r->comm_pid[k] = *pid;
    r->comm_at[k] = now;
    memcpy(r->comm[k], comm, 16);
}

/* ---- the forwarding loop ---- */

static void set_interest(relay *r, rconn *c)
{
    for (int d = 0; d < 2; d++) {
        int o = d ^ 1;
        uint32_t w = 0;
        if (c->fd[d] < 0)
            continue;
        if (!c->eof[d] && !c->reset[d] && !c->dead[o] && c->len[d] < BUF)
            w |= EPOLLIN;
        if (c->pos[o] < c->len[o] && !c->dead[d])
            w |= EPOLLOUT;
        if (w == c->want[d])
            continue;
        struct epoll_event ev;
        ev.events = w;
        ev.data.ptr = &c->side[d];
        int op = !w ? EPOLL_CTL_DEL : c->want[d] ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (epoll_ctl(r->epfd, op, c->fd[d], &ev) == 0 || op == EPOLL_CTL_DEL)
            c->want[d] = w;
    }
}

/* Write what buf[d] holds to side d^1 (as much as it takes now). */
static void flush(rconn *c, int d)
{
    int o = d ^ 1;
    while (c->pos[d] < c->len[d] && !c->dead[o]) {
        ssize_t w = send(c->fd[o], c->buf[d] + c->pos[d], c->len[d] - c->pos[d],
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            c->pos[d] += (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            c->dead[o] = true;   /* EPIPE, ECONNRESET: side o is gone */
        }
    }
    if (c->dead[o])
        c->pos[d] = c->len[d];   /* nobody to take them */
    if (c->pos[d] == c->len[d])
        c->pos[d] = c->len[d] = 0;
}

/* Move bytes from side d to side d^1: read while there is room, write at once. */
static void pump(relay *r, rconn *c, int d)
{
    int o = d ^ 1;
    for (;;) {
        flush(c, d);
        if (c->eof[d] || c->reset[d] || c->dead[o])
            break;
        if (c->len[d] == BUF && c->pos[d] > 0) {
            memmove(c->buf[d], c->buf[d] + c->pos[d], c->len[d] - c->pos[d]);
            c->len[d] -= c->pos[d];
            c->pos[d] = 0;
        }
        if (c->len[d] == BUF)
            break;       /* backpressure: side o does not take them now */
        size_t room = BUF - c->len[d];
        ssize_t n = recv(c->fd[d], c->buf[d] + c->len[d], room, MSG_DONTWAIT);
        if (n > 0) {
            push_data(r, c, d, c->off[d], c->buf[d] + c->len[d], (size_t)n,
                      clock_ns(CLOCK_REALTIME));
            c->off[d] += (uint64_t)n;
            c->len[d] += (size_t)n;
            if ((size_t)n < room) {
                /* it had no more: write them; epoll says when more come
                 * (no recv just to hear EAGAIN) */
                flush(c, d);
                break;
            }
            continue;
        }
        if (n == 0) {
            c->eof[d] = true;
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        c->reset[d] = true;      /* ECONNRESET (or another error): side d broke off */
        break;
    }
    if (c->eof[d] && !c->fin_sent[d]) {
        c->fin_sent[d] = true;
        push_ctl(r, EV_FIN, c, d, c->off[d]);
    }
    /* its end of stream passes on once every byte before it did */
    if (c->eof[d] && c->len[d] == 0 && !c->shut[o] && !c->dead[o]) {
        shutdown(c->fd[o], SHUT_WR);
        c->shut[o] = true;
    }
}

static void conn_close(relay *r, rconn *c)
{
    for (int d = 0; d < 2; d++) {
        if (c->fd[d] >= 0)
            close(c->fd[d]);       /* (leaves the epoll set by itself) */
        free(c->buf[d]);
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        r->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    r->nconns--;
    c->closed = true;
    c->next = r->grave;
    r->grave = c;
}

/* Free the connections closed (events of the last batch may name them). */
static void bury(relay *r)
{
    while (r->grave) {
        rconn *c = r->grave;
        r->grave = c->next;
        free(c);
    }
}

/* After events ev on side `side` of c (side -1: a new connection, both
 * ways): move the bytes, then end it when it is over. */
static void service(relay *r, rconn *c, int side, uint32_t ev)
{
    if (side < 0) {
        pump(r, c, 0);
        pump(r, c, 1);
    } else {
        if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
            pump(r, c, side);         /* its bytes, its end of stream, its reset */
        if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
            pump(r, c, side ^ 1);     /* room again for what goes to it */
    }
    for (int d = 0; d < 2; d++)
        if (c->reset[d]) {
            /* pass the reset on: close the other side without reading it */
            push_ctl(r, EV_RST, c, d, c->off[d]);
            conn_close(r, c);
            return;
        }
    bool over = true;
    for (int d = 0; d < 2; d++) {
        int o = d ^ 1;
        bool in_done = c->eof[d] && c->len[d] == 0;
        /* side o is gone and side d ended or has nowhere to send */
        bool refused = c->dead[o] && (c->eof[o] || c->reset[o] || c->dead[d]);
        if (!in_done && !refused)
            over = false;
    }
    if (over) {
        /* a side that could no longer take bytes while the other still had
         * some: as TCP would, it answered with a reset */
        for (int d = 0; d < 2; d++)
            if (c->dead[d] && !(c->eof[d ^ 1] && c->len[d ^ 1] == 0)) {
                push_ctl(r, EV_RST, c, d, c->off[d]);
                conn_close(r, c);
                return;
            }
        push_ctl(r, EV_CLOSE, c, 0, 0);
        conn_close(r, c);
        return;
    }
    set_interest(r, c);
}

static void accept_one(relay *r, int cl)
{
    rconn *c = calloc(1, sizeof *c);
    if (!c) {
        close(cl);
        return;
    }
    c->id = r->next_id++;
    c->fd[0] = cl;
    c->fd[1] = -1;
    c->side[0].c = c->side[1].c = c;
    c->side[0].d = 0;
    c->side[1].d = 1;
    rev *e = calloc(1, sizeof *e);
    if (e) {
        e->conn = c->id;
        e->ts = clock_ns(CLOCK_REALTIME);
        peer(r, cl, &e->pid[0], e->comm[0]);
    }
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int ce = 0;
    if (s < 0)
        ce = errno;
    else if (connect(s, (struct sockaddr *)&r->to_addr, r->to_len) != 0)
        ce = errno;
    if (ce) {
        /* as a direct connect would have failed: the web server's
         * connection ends before a byte (it reports a 502) */
        if (s >= 0)
            close(s);
        close(cl);
        note(r, "fcgiscope: --relay: connecting to %s: %s (the web server's connection was "
             "closed)\n", r->to_path, ce);
        if (e) {
            e->type = EV_REFUSED;
            push(r, e);
        }
        free(c);
        return;
    }
    c->fd[1] = s;
    c->buf[0] = malloc(BUF);
    c->buf[1] = malloc(BUF);
    if (e) {
        peer(r, s, &e->pid[1], e->comm[1]);
        e->type = EV_OPEN;
    }
    if (!c->buf[0] || !c->buf[1]) {
        free(c->buf[0]);
        free(c->buf[1]);
        free(e);
        close(s);
        close(cl);
        free(c);
        return;
    }
    if (e)
        push(r, e);
    c->next = r->conns;
    if (r->conns)
        r->conns->prev = c;
    r->conns = c;
    r->nconns++;
    service(r, c, -1, 0);
}

static void accept_all(relay *r)
{
    for (;;) {
        int cl = accept4(r->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cl >= 0) {
            accept_one(r, cl);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            /* out of descriptors: the web server waits in the backlog */
            note(r, "fcgiscope: --relay: accepting on %s: %s (retrying)\n", r->listen_path, errno);
            epoll_ctl(r->epfd, EPOLL_CTL_DEL, r->lfd, NULL);
            r->accept_pause_until = clock_ns(CLOCK_MONOTONIC) + 100000000;
        }
        return;
    }
}

/* Stop listening: LISTEN_PATH goes (if it is still ours). */
static void stop_listening(relay *r)
{
    if (r->lfd < 0)
        return;
    struct stat st;
    if (lstat(r->listen_path, &st) == 0 && st.st_dev == r->listen_dev && st.st_ino == r->listen_ino)
        unlink(r->listen_path);
    epoll_ctl(r->epfd, EPOLL_CTL_DEL, r->lfd, NULL);
    close(r->lfd);
    r->lfd = -1;
}

static void *relay_main(void *arg)
{
    relay *r = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);   /* signals go to the analysis thread */
    int64_t deadline = 0;
    struct epoll_event evs[64];
    while (!atomic_load(&r->quit)) {
        int64_t now = clock_ns(CLOCK_MONOTONIC);
        if (atomic_load(&r->stop_accept) && r->lfd >= 0) {
            stop_listening(r);
            deadline = now + (int64_t)RELAY_DRAIN_S * 1000000000;
        }
        if (deadline && (!r->conns || now >= deadline)) {
            size_t left = r->nconns;
            while (r->conns) {
                push_ctl(r, EV_RST, r->conns, 1, r->conns->off[1]);
                conn_close(r, r->conns);
            }
            if (left && !r->quiet)
                fprintf(stderr, "fcgiscope: --relay: closed %zu connection%s still open %d s after "
                        "the stop\n", left, left == 1 ? "" : "s", RELAY_DRAIN_S);
            break;
        }
        if (r->accept_pause_until && now >= r->accept_pause_until && r->lfd >= 0) {
            struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
            epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->lfd, &ev);
            r->accept_pause_until = 0;
        }
        int timeout = -1;
        if (deadline)
            timeout = (int)((deadline - now) / 1000000) + 1;
        if (r->accept_pause_until)
            timeout = 100;
        int n = epoll_wait(r->epfd, evs, 64, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            snprintf(r->err, sizeof r->err, "epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == NULL) {
                if (r->lfd >= 0)
                    accept_all(r);
            } else if (p == (void *)r) {
                uint64_t v;
                ssize_t k = read(r->cfd, &v, sizeof v);
                (void)k;
            } else {
                /* a connection closed earlier in this batch waits in the
                 * grave until the batch is done: its events are skipped */
                rside *sd = p;
                if (!sd->c->closed)
                    service(r, sd->c, sd->d, evs[i].events);
            }
        }
        bury(r);
    }
    /* quit: every connection still open goes */
    while (r->conns)
        conn_close(r, r->conns);
    bury(r);
    stop_listening(r);
    atomic_store(&r->done, 1);
    kick(r->qfd);
    return NULL;
}

/* ---- the capture source (analysis thread) ---- */

static void apply(relay *r, rev *e)
{
    fcs_sf *sf = &r->sf;
    fcs_sf_conn *c = fcs_sf_conn_find(sf, e->conn);
    int d = e->dir & 1;
    switch (e->type) {
    case EV_OPEN:
    case EV_REFUSED: {
        if (c)
            fcs_sf_conn_drop(sf, c);
        if (!(c = fcs_sf_conn_new(sf, e->conn)))
            break;
        fcs_unix_who *w = fcs_sf_who(c);
        w->client_pid = e->pid[0];
        memcpy(w->client_comm, e->comm[0], sizeof w->client_comm);
        w->server_pid = e->pid[1];
        memcpy(w->server_comm, e->comm[1], sizeof w->server_comm);
        if (e->type == EV_OPEN) {
            fcs_sf_handshake(sf, c, e->ts);
            break;
        }
        /* the connect to PATH failed: a SYN answered by a reset */
        c->next[0] = c->next[1] = 0;
        fcs_sf_emit(sf, c, FCS_SF_CLIENT, FCS_TH_SYN, 0, NULL, 0, 0, e->ts);
        fcs_sf_emit(sf, c, FCS_SF_SERVER, FCS_TH_RST | FCS_TH_ACK, 0, NULL, 0, 0, e->ts);
        fcs_sf_conn_drop(sf, c);
        break;
    }
    case EV_DATA:
        /* (its OPEN dropped: joined mid-stream) */
        if (!c && !(c = fcs_sf_conn_new(sf, e->conn)))
            break;
        fcs_sf_data(sf, c, d, e->off, e->data, e->len, e->ts);
        break;
    case EV_FIN:
    case EV_RST:
        if (!c)
            break;
        fcs_sf_catch_up(sf, c, d, e->off, e->ts);
        if (e->type == EV_RST) {
            fcs_sf_emit(sf, c, d, FCS_TH_RST | FCS_TH_ACK,
                        c->next[d] == UINT64_MAX ? 0 : c->next[d], NULL, 0, 0, e->ts);
            fcs_sf_conn_drop(sf, c);
        } else if (!c->fin[d] && c->next[d] != UINT64_MAX) {
            fcs_sf_emit(sf, c, d, FCS_TH_FIN | FCS_TH_ACK, c->next[d], NULL, 0, 0, e->ts);
            c->fin[d] = true;
        }
        break;
    case EV_CLOSE:
        if (c)
            fcs_sf_conn_drop(sf, c);
        break;
    }
}

/* Take the queued events and make their frames; true when there were any. */
static bool take(relay *r)
{
    pthread_mutex_lock(&r->mu);
    rev *e = r->qhead;
    r->qhead = r->qtail = NULL;
    r->qbytes = 0;
    pthread_mutex_unlock(&r->mu);
    if (!e)
        return false;
    while (e) {
        rev *n = e->next;
        apply(r, e);
        free(e);
        e = n;
    }
    return true;
}

static int src_next(void *ud, fcs_packet *pkt)
{
    relay *r = ud;
    int64_t start = clock_ns(CLOCK_MONOTONIC);
    for (;;) {
        if (fcs_sf_pop(&r->sf, pkt))
            return FCS_CAP_PACKET;
        if (r->stop)
            return FCS_CAP_EOF;
        bool done = atomic_load(&r->done);   /* before take(): nothing comes after */
        if (take(r))
            continue;
        if (done) {
            if (r->err[0])
                return FCS_CAP_ERROR;
            return FCS_CAP_EOF;
        }
        int64_t now = clock_ns(CLOCK_MONOTONIC);
        int waited = (int)((now - start) / 1000000);
        /* draining: no timeouts, the stop's loop wants packets or the end */
        if (!r->draining && waited >= WAIT_MS)
            return FCS_CAP_TIMEOUT;
        /* qfd: only the stop and the relay thread's end wake this early */
        struct pollfd pf = { r->qfd, POLLIN, 0 };
        int pr = poll(&pf, 1, POLL_MS);
        if (pr > 0) {
            uint64_t v;
            ssize_t k = read(r->qfd, &v, sizeof v);
            (void)k;
        }
    }
}

static const char *src_error(void *ud)
{
    return ((relay *)ud)->err;
}

static bool src_stats(void *ud, uint64_t *received, uint64_t *dropped)
{
    relay *r = ud;
    pthread_mutex_lock(&r->mu);
    if (received)
        *received = r->received + r->dropped;
    if (dropped)
        *dropped = r->dropped;
    pthread_mutex_unlock(&r->mu);
    return true;
}

/* async-signal-safe: flags and eventfd writes */
static void src_breakloop(void *ud)
{
    relay *r = ud;
    r->stop = 1;
    kick(r->qfd);
}

static void src_drain(void *ud)
{
    relay *r = ud;
    r->stop = 0;
    r->draining = 1;
    atomic_store(&r->stop_accept, 1);
    kick(r->cfd);
}

static void relay_free(relay *r)
{
    if (r->th_started) {
        atomic_store(&r->quit, 1);
        kick(r->cfd);
        pthread_join(r->th, NULL);
    } else {
        stop_listening(r);
    }
    rev *e = r->qhead;
    while (e) {
        rev *n = e->next;
        free(e);
        e = n;
    }
    fcs_sf_free(&r->sf);
    if (r->epfd >= 0)
        close(r->epfd);
    if (r->cfd >= 0)
        close(r->cfd);
    if (r->qfd >= 0)
        close(r->qfd);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static void src_close(void *ud)
{
    if (ud)
        relay_free(ud);
}

/* ---- opening ---- */

static bool set_addr(struct sockaddr_un *a, socklen_t *len, const char *path)
{
    size_t n = strlen(path);
    if (n >= sizeof a->sun_path)
        return false;
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path, path, n + 1);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    return true;
}

/* Does something accept connections at path? 1 yes, 0 no (refused: stale),
 * -1 cannot tell (errno). */
static int listening(const char *path)
{
    struct sockaddr_un a;
    socklen_t l;
    if (!set_addr(&a, &l, path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0)
        return -1;
    int r = connect(s, (struct sockaddr *)&a, l);
    int e = errno;
    close(s);
    if (r == 0 || e == EAGAIN)   /* EAGAIN: its backlog is full, it listens */
        return 1;
    if (e == ECONNREFUSED)
        return 0;
    errno = e;
    return -1;
}

/* --to: a Unix socket (stat in *st). */
static bool check_to(const char *to_path, struct stat *st, char *err, size_t errlen)
{
    if (stat(to_path, st) != 0) {
        snprintf(err, errlen, "--to %s: %s (give the path the FastCGI server listens on, e.g. "
                 "/run/php/php8.2-fpm.sock)", to_path, strerror(errno));
        return false;
    }
    if (!S_ISSOCK(st->st_mode)) {
        snprintf(err, errlen, "--to %s: not a Unix socket (give the path the FastCGI server "
                 "listens on, e.g. /run/php/php8.2-fpm.sock)", to_path);
        return false;
    }
    return true;
}

/* The relay's state, its --to address set and something listening there.
 * NULL: message in err. */
static relay *relay_new(const char *listen_path, const char *to_path, bool quiet, char *err,
                        size_t errlen)
{
    relay *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->lfd = r->epfd = r->cfd = r->qfd = -1;
    r->quiet = quiet;
    pthread_mutex_init(&r->mu, NULL);
    snprintf(r->to_path, sizeof r->to_path, "%s", to_path);
    snprintf(r->listen_path, sizeof r->listen_path, "%s", listen_path);
    if (!set_addr(&r->to_addr, &r->to_len, to_path)) {
        snprintf(err, errlen, "--to %s: path too long for a Unix socket (at most %zu bytes)",
                 to_path, sizeof r->to_addr.sun_path - 1);
        relay_free(r);
        return NULL;
    }
    int lst = listening(to_path);
    if (lst != 1) {
        int e = lst == 0 ? ECONNREFUSED : errno;
        snprintf(err, errlen, "--to %s: cannot connect: %s%s", to_path, strerror(e),
                 e == ECONNREFUSED ? " (nothing listens there: is the FastCGI server running?)"
                 : e == EACCES || e == EPERM ? " (run as root or as the web server's user)" : "");
        relay_free(r);
        return NULL;
    }
    return r;
}

/* LISTEN_PATH: new, or a stale socket nobody listens on (removed); never
 * another file, a socket in use or the --to socket (st) itself. */
static bool free_listen_path(const char *listen_path, const struct stat *st, char *err,
                             size_t errlen)
{
    struct stat ls;
    if (lstat(listen_path, &ls) != 0)
        return true;
    if (!S_ISSOCK(ls.st_mode)) {
        snprintf(err, errlen, "--relay %s: exists and is not a socket (refusing to replace "
                 "it: give a new path)", listen_path);
        return false;
    }
    if (ls.st_dev == st->st_dev && ls.st_ino == st->st_ino) {
        snprintf(err, errlen, "--relay %s: is the --to socket itself (give a new path for "
                 "the web server)", listen_path);
        return false;
    }
    int l = listening(listen_path);
    if (l == 1) {
        snprintf(err, errlen, "--relay %s: in use (something listens on it: give a new path)",
                 listen_path);
        return false;
    }
    if (l < 0) {
        snprintf(err, errlen, "--relay %s: cannot tell whether it is in use: %s", listen_path,
                 strerror(errno));
        return false;
    }
    if (unlink(listen_path) != 0) {
        snprintf(err, errlen, "--relay %s: cannot remove the stale socket: %s", listen_path,
                 strerror(errno));
        return false;
    }
    return true;
}

/* The socket the web server connects to, at la: created private, then given
 * --to's (st) owner, group and mode, so whoever may connect to the real
 * socket may connect here, nobody else; listening. */
static bool make_listener(relay *r, const struct sockaddr_un *la, socklen_t ll,
                          const struct stat *st, char *err, size_t errlen)
{
    const char *listen_path = r->listen_path;
    r->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (r->lfd < 0) {
        snprintf(err, errlen, "--relay: socket: %s", strerror(errno));
        return false;
    }
    mode_t um = umask(0177);
    int br = bind(r->lfd, (const struct sockaddr *)la, ll);
    int be = errno;
    umask(um);
    if (br != 0) {
        close(r->lfd);
        r->lfd = -1;
        snprintf(err, errlen, "--relay %s: cannot create the socket: %s%s", listen_path,
                 strerror(be), be == EACCES ? " (no permission in its folder)" : "");
        return false;
    }
    struct stat mine;
    memset(&mine, 0, sizeof mine);
    if (lstat(listen_path, &mine) == 0) {
        r->listen_dev = mine.st_dev;
        r->listen_ino = mine.st_ino;
    }
    bool owner_ok = mine.st_uid == st->st_uid && mine.st_gid == st->st_gid;
    if (!owner_ok && chown(listen_path, st->st_uid, st->st_gid) == 0)
        owner_ok = true;
    if (!owner_ok && chown(listen_path, (uid_t)-1, st->st_gid) == 0 && mine.st_uid == st->st_uid)
        owner_ok = true;
    if (chmod(listen_path, st->st_mode & 07777) != 0) {
        snprintf(err, errlen, "--relay %s: chmod: %s", listen_path, strerror(errno));
        return false;
    }
    if (!owner_ok && !r->quiet)
        fprintf(stderr, "fcgiscope: note: --relay %s: cannot give it the owner of %s "
                "(uid %u, gid %u; not root): it has that mode (%04o) but our owner\n",
                listen_path, r->to_path, (unsigned)st->st_uid, (unsigned)st->st_gid,
                (unsigned)(st->st_mode & 07777));
    if (listen(r->lfd, SOMAXCONN) != 0) {
        snprintf(err, errlen, "--relay %s: listen: %s", listen_path, strerror(errno));
        return false;
    }
    return true;
}

/* The relay thread and what it waits on: the listener, the wake-up and
 * queue eventfds in one epoll set; descriptors raised to the hard limit
 * (one per side of every connection); the queue bound. */
static bool start_relay(relay *r, char *err, size_t errlen)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    r->qlimit = QUEUE_BYTES;
    const char *qk = getenv("FCGISCOPE_RELAY_QUEUE_KB");
    if (qk && *qk) {
        unsigned long kb = strtoul(qk, NULL, 10);
        if (kb >= 1 && kb <= (1ul << 30))
            r->qlimit = (uint64_t)kb * 1024;
    }
    r->epfd = epoll_create1(EPOLL_CLOEXEC);
    r->cfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    r->qfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
    struct epoll_event cev = { .events = EPOLLIN, .data.ptr = r };
    if (r->epfd < 0 || r->cfd < 0 || r->qfd < 0 ||
        epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->lfd, &lev) != 0 ||
        epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->cfd, &cev) != 0) {
        snprintf(err, errlen, "--relay: epoll/eventfd: %s", strerror(errno));
        return false;
    }
    int pe = pthread_create(&r->th, NULL, relay_main, r);
    if (pe != 0) {
        snprintf(err, errlen, "--relay: cannot start the relay thread: %s", strerror(pe));
        return false;
    }
    r->th_started = true;
    return true;
}

fcs_capture *fcs_relay_open(const char *listen_path, const char *to_path, bool quiet, char *err,
                            size_t errlen)
{
    struct stat st;
    if (!check_to(to_path, &st, err, errlen))
        return NULL;
    relay *r = relay_new(listen_path, to_path, quiet, err, errlen);
    if (!r)
        return NULL;
    struct sockaddr_un la;
    socklen_t ll;
    if (!set_addr(&la, &ll, listen_path)) {
        snprintf(err, errlen, "--relay %s: path too long for a Unix socket (at most %zu bytes)",
                 listen_path, sizeof la.sun_path - 1);
        relay_free(r);
        return NULL;
    }
    if (!free_listen_path(listen_path, &st, err, errlen) ||
        !make_listener(r, &la, ll, &st, err, errlen) || !start_relay(r, err, errlen)) {
        relay_free(r);
        return NULL;
    }
    const fcs_cap_source src = {
        .next = src_next, .error = src_error, .stats = src_stats, .breakloop = src_breakloop,
        .close = src_close, .drain = src_drain, .ud = r,
        .dlt = 101, /* LINKTYPE_RAW */
        .precision = FCS_PREC_NS,
    };
    char name[2 * PATH_MAX + 16];
    snprintf(name, sizeof name, "relay:%s", listen_path);
    return fcs_cap_open_source(name, &src, err, errlen);
}
