/* main.c — fcgiscope: FastCGI traffic analysis of pcap/pcapng files and live captures.
 *
 * Normative reference: issue 4 (interface, exit statuses, outputs) and issue 7
 * (live capture on a production host: privileges, drop counters). The
 * pieces: opts (command line), capture/tcp (input, reassembly), anz (one
 * decoder per flow, ordering), stats (summary), out (reports).
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE 1

#include <errno.h>
#include <grp.h>
#include <langinfo.h>
#include <locale.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "opts.h"
#include "out.h"
#include "relay.h"
#include "run.h"
#include "unixcap.h"

static volatile sig_atomic_t g_stop;
static volatile sig_atomic_t g_alarm;
static fcs_capture *volatile g_cap;

static void on_signal(int sig)
{
    g_stop = sig;
    fcs_capture *cap = g_cap;
    if (cap)
        fcs_cap_breakloop(cap);
}

/* --duration: libpcap may block while no packet comes, so a timer breaks
 * the loop (SIGALRM) rather than a clock check between packets. */
static void on_alarm(int sig)
{
    (void)sig;
    g_alarm = 1;
    fcs_capture *cap = g_cap;
    if (cap)
        fcs_cap_breakloop(cap);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}


/* ---- progress bar ---- */

typedef struct progress {
    bool on;
    bool shown;
    bool utf8;
    int64_t start, last;
} progress;

static void progress_draw(void *ud, fcs_capture *cap, uint64_t requests)
{
    progress *p = ud;
    bool utf8 = p->utf8;
    int64_t now = mono_ns();
    /* only for long files: nothing in the first second, then 4 times a second */
    if (now - p->start < 1000000000 || now - p->last < 250000000)
        return;
    p->last = now;
    uint64_t done, total;
    fcs_cap_progress(cap, &done, &total);
    if (total == 0)
        return;
    double f = (double)done / (double)total;
    if (f > 1)
        f = 1;
    char bar[200];
    size_t k = 0;
    int width = 30, fill = (int)(f * width + 0.5);
    for (int i = 0; i < width; i++) {
        const char *s = i < fill ? (utf8 ? "\xe2\x96\x88" : "#") : (utf8 ? "\xc2\xb7" : ".");
        size_t n = strlen(s);
        memcpy(bar + k, s, n);
        k += n;
    }
    bar[k] = '\0';
    char a[32], b[32], r[32];
    fmt_bytes(a, sizeof a, done);
    fmt_bytes(b, sizeof b, total);
    fmt_count(r, sizeof r, requests);
    double el = (double)(now - p->start) / 1e9;
    double eta = f > 0.01 ? el / f - el : -1;
    if (eta >= 0)
        fprintf(stderr, "\r\033[K%s %3.0f%%  %s / %s  %s requests  ~%.0fs left", bar, f * 100, a, b, r, eta);
    else
        fprintf(stderr, "\r\033[K%s %3.0f%%  %s / %s  %s requests", bar, f * 100, a, b, r);
    fflush(stderr);
    p->shown = true;
}

static void progress_clear(void *ud)
{
    progress *p = ud;
    if (p->shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        p->shown = false;
    }
}

/* ---- privileges (live) ---- */

static int drop_privileges(const char *user, bool explicit_user)
{
    if (geteuid() != 0 || (user && !strcmp(user, "root")))
        return 0;
    const char *name = user ? user : "nobody";
    errno = 0;
    struct passwd *pw = getpwnam(name);
    if (!pw) {
        if (explicit_user) {
            fprintf(stderr, "fcgiscope: --user %s: no such user\n", name);
            return -1;
        }
        fprintf(stderr, "fcgiscope: warning: no user \"%s\": still running as root\n", name);
        return 0;
    }
    if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
        fprintf(stderr, "fcgiscope: cannot run as %s: %s\n", name, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0) { /* must not be able to get root back */
        fprintf(stderr, "fcgiscope: dropping root to %s did not stick\n", name);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    opts o;
    char err[FCS_CAP_ERRMAX];
    if (opts_parse(&o, argc, argv, err, sizeof err) != 0) {
        fprintf(stderr, "fcgiscope: %s\nTry 'fcgiscope --help'.\n", err);
        opts_free(&o);
        return 2;
    }
    if (o.help) {
        fputs(opts_usage, stdout);
        opts_free(&o);
        return 0;
    }
    if (o.version) {
        printf("fcgiscope %s (libfsd %s)\n", FSD_VERSION_STRING, FSD_VERSION_STRING);
        opts_free(&o);
        return 0;
    }

    setlocale(LC_CTYPE, "");
    const char *cs = nl_langinfo(CODESET);
    bool utf8 = cs && (!strcmp(cs, "UTF-8") || !strcmp(cs, "utf8"));
    bool live = o.iface != NULL || o.unix_path != NULL || o.relay_path != NULL;

    /* input first: an unreadable capture must not leave an empty -o file */
    fcs_capture *cap;
    if (o.relay_path) {
        cap = fcs_relay_open(o.relay_path, o.relay_to, o.quiet, err, sizeof err);
    } else if (o.unix_path) {
        cap = fcs_unix_open(o.unix_path, err, sizeof err);
    } else if (live) {
        fcs_live_options lo;
        memset(&lo, 0, sizeof lo);
        lo.filter = o.filter;
        lo.snaplen = o.snaplen;
        lo.buffer_bytes = (int)(o.buffer_kib * 1024u);
        lo.immediate = o.immediate;
        cap = fcs_cap_open_live(o.iface, &lo, err, sizeof err);
    } else {
        fcs_cap_set_read_ahead(o.read_ahead);
        cap = fcs_cap_open_files(o.files, o.nfiles, err, sizeof err);
    }
    if (!cap) {
        /* one line per file that could not be read */
        for (char *line = err, *nl; line; line = nl) {
            nl = strchr(line, '\n');
            if (nl)
                *nl++ = '\0';
            fprintf(stderr, "fcgiscope: %s\n", line);
        }
        opts_free(&o);
        return 2;
    }
    /* several files: an unreadable one is skipped, the others analyzed (the
     * exit status is 2 at the end) */
    for (size_t i = 0; !live && i < fcs_cap_file_count(cap); i++) {
        fcs_cap_file_info fi;
        if (fcs_cap_get_file_info(cap, i, &fi) && fi.unreadable)
            fprintf(stderr, "fcgiscope: %s (skipped; the other files are analyzed)\n", fi.error);
    }

    pcapw *dump = NULL;
    if (o.write_file) {
        fcs_cap_file_info fi;
        memset(&fi, 0, sizeof fi);
        fcs_cap_get_file_info(cap, 0, &fi);
        dump = pcapw_open(o.write_file, fi.dlt, fi.snaplen, err, sizeof err);
        if (!dump) {
            fprintf(stderr, "fcgiscope: %s\n", err);
            fcs_cap_close(cap);
            opts_free(&o);
            return 2;
        }
    }

    FILE *outf = stdout;
    if (o.output && strcmp(o.output, "-") != 0) {
        outf = fopen(o.output, "w");
        if (!outf) {
            fprintf(stderr, "fcgiscope: %s: cannot write: %s\n", o.output, strerror(errno));
            pcapw_close(dump, err, sizeof err);
            fcs_cap_close(cap);
            opts_free(&o);
            return 2;
        }
    }
    /* --unix stays root unless --user says otherwise: bytes that sendfile(2)
     * moved are read back through /proc/PID/fd of the sending process;
     * --relay too: it connects to --to for every connection, and removes
     * LISTEN_PATH at the end */
    bool keep_root = o.unix_path || o.relay_path;
    if (live && (!keep_root || o.user) && drop_privileges(o.user, o.user != NULL) != 0) {
        pcapw_close(dump, err, sizeof err);
        fcs_cap_close(cap);
        if (outf != stdout)
            fclose(outf);
        opts_free(&o);
        return 2;
    }

    bool color;
    if (o.color >= 0) {
        color = o.color;
    } else {
        const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
        color = isatty(fileno(outf)) && !(nc && *nc) && !(term && !strcmp(term, "dumb"));
    }
    if (o.format != FMT_TEXT)
        color = false;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    g_cap = cap;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (live)
        sigaction(SIGHUP, &sa, NULL);
    if (live && o.duration > 0) {
        struct sigaction al;
        memset(&al, 0, sizeof al);
        al.sa_handler = on_alarm;
        sigemptyset(&al.sa_mask);
        sigaction(SIGALRM, &al, NULL);
        struct itimerval it;
        memset(&it, 0, sizeof it);
        it.it_value.tv_sec = (time_t)o.duration;
        it.it_value.tv_usec = (suseconds_t)((o.duration - (double)(time_t)o.duration) * 1e6);
        if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0)
            it.it_value.tv_usec = 1;
        setitimer(ITIMER_REAL, &it, NULL);
    }

    progress pr;
    memset(&pr, 0, sizeof pr);
    pr.on = !live && !o.quiet && o.progress != 0 && (o.progress == 1 || isatty(2));
    pr.utf8 = utf8;
    pr.start = pr.last = mono_ns();

    if (o.relay_path && !o.quiet) {
        fprintf(stderr, "fcgiscope: relaying %s -> %s (--relay); Ctrl-C stops and prints the "
                "summary\n", o.relay_path, o.relay_to);
    } else if (o.unix_path && !o.quiet) {
        fprintf(stderr, "fcgiscope: capturing on unix socket %s (eBPF); Ctrl-C stops and prints "
                "the summary\n", o.unix_path);
    } else if (live && !o.quiet) {
        fprintf(stderr, "fcgiscope: capturing on %s%s%s; Ctrl-C stops and prints the summary\n",
                o.iface, o.filter ? " with filter " : "", o.filter ? o.filter : "");
    }

    run_params rp;
    memset(&rp, 0, sizeof rp);
    rp.o = &o;
    rp.cap = cap;
    rp.out = outf;
    rp.live = live;
    rp.dump = dump;
    rp.color = color;
    rp.utf8 = utf8;
    rp.stderr_notes = true;
    struct winsize ws;
    if (isatty(fileno(outf)) && ioctl(fileno(outf), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        rp.width = ws.ws_col;
    rp.stop = &g_stop;
    rp.alarm = &g_alarm;
    if (pr.on) {
        rp.progress = progress_draw;
        rp.progress_done = progress_clear;
        rp.ud = &pr;
    }
    uint64_t nreq = 0;
    rp.requests_out = &nreq;
    int status = run_analysis(&rp);
    char sock[256];
    /* (the text report has its own hint: out.c no_fastcgi_hint) */
    if (o.iface && !o.quiet && o.format != FMT_TEXT && nreq == 0 &&
        fcs_unix_fpm_socket(sock, sizeof sock))
        fprintf(stderr, "fcgiscope: no FastCGI on %s, but php-fpm listens on the Unix socket %s, "
                "which no interface carries: try fcgiscope --unix %s\n", o.iface, sock, sock);

    bool werr = ferror(outf) != 0;
    if (outf != stdout) {
        if (fclose(outf) != 0)
            werr = true;
    } else if (fflush(stdout) != 0) {
        werr = true;
    }
    if (werr) {
        fprintf(stderr, "fcgiscope: %s: write error: %s\n", o.output ? o.output : "stdout",
                strerror(errno));
        status = 2;
    }
    if (dump && pcapw_close(dump, err, sizeof err) != 0) {
        fprintf(stderr, "fcgiscope: %s\n", err);
        status = 2;
    }
    g_cap = NULL;
    fcs_cap_close(cap);
    opts_free(&o);
    return status;
}
