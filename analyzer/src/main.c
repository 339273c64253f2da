/* main.c — fcgiscope: FastCGI traffic analysis of pcap/pcapng files and live captures.
 *
 * The options, outputs and exit statuses are described in analyzer/README.md
 * (live capture on a production host: privileges, drop counters, there too).
 * main() runs named steps: parse the command line, open the input, -w's
 * file and the output, leave root, install the signal handlers, analyze
 * (run.c), report write errors. The pieces: opts (command line),
 * capture/tcp (input, reassembly), anz (one decoder per flow, ordering),
 * stats (summary), out (reports).
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

#include <pcap/pcap.h>

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

/* ---- the steps of a run ---- */

/* What main opened, closed again by session_close. */
typedef struct session {
    opts o;
    bool live;                /* -i, --unix or --relay */
    bool utf8;                /* the locale's charset */
    fcs_capture *cap;
    pcapw *dump;              /* -w */
    FILE *out;                /* -o, or stdout */
    fcs_metrics *metrics;     /* --metrics */
    char err[FCS_CAP_ERRMAX];
} session;

/* Write errors are reported by session_finish; this only releases. */
static void session_close(session *ss)
{
    fcs_metrics_close(ss->metrics);
    ss->metrics = NULL;
    fcs_pcapw_close(ss->dump, ss->err, sizeof ss->err);
    if (ss->cap)
        fcs_cap_close(ss->cap);
    if (ss->out && ss->out != stdout)
        fclose(ss->out);
    fcs_opts_free(&ss->o);
}

/* The Wireshark version the plugin of this build was compiled against: the
 * top-level CMakeLists passes pkg-config's version of wireshark, or nothing
 * when the plugin is not built. */
#ifndef FCGISCOPE_WIRESHARK_VERSION
#define FCGISCOPE_WIRESHARK_VERSION NULL
#endif

static void print_version(void)
{
    const char *ws = FCGISCOPE_WIRESHARK_VERSION;
    printf("fcgiscope %s\n", FSD_VERSION_STRING);
    printf("decoder: libfsd %s\n", FSD_VERSION_STRING);
    printf("capture: %s\n", pcap_lib_version());
    if (ws)
        printf("Wireshark plugin: built for Wireshark %s\n", ws);
    else
        printf("Wireshark plugin: not built\n");
}

/* The command line: -1 to go on, else the exit status (usage error 2,
 * --help and --version 0). */
static int parse_command_line(session *ss, int argc, char **argv)
{
    opts *o = &ss->o;
    if (fcs_opts_parse(o, argc, argv, ss->err, sizeof ss->err) != 0) {
        fprintf(stderr, "fcgiscope: %s\nTry 'fcgiscope --help'.\n", ss->err);
        return 2;
    }
    if (o->help) {
        fputs(opts_usage, stdout);
        return 0;
    }
    if (o->version) {
        print_version();
        return 0;
    }
    ss->live = o->iface != NULL || o->unix_path != NULL || o->relay_path != NULL;
    return -1;
}

static bool locale_is_utf8(void)
{
    setlocale(LC_CTYPE, "");
    const char *cs = nl_langinfo(CODESET);
    return cs && (!strcmp(cs, "UTF-8") || !strcmp(cs, "utf8"));
}

/* The input, opened first: an unreadable capture must not leave an empty -o
 * file. Several files: an unreadable one is named and skipped, the others
 * analyzed (the exit status is 2 at the end). */
static bool open_input(session *ss)
{
    const opts *o = &ss->o;
    if (o->relay_path) {
        ss->cap = fcs_relay_open(o->relay_path, o->relay_to, o->quiet, ss->err, sizeof ss->err);
    } else if (o->unix_path) {
        ss->cap = fcs_unix_open(o->unix_path, ss->err, sizeof ss->err);
    } else if (ss->live) {
        fcs_live_options lo;
        memset(&lo, 0, sizeof lo);
        lo.filter = o->filter;
        lo.snaplen = o->snaplen;
        lo.buffer_bytes = (int)(o->buffer_kib * 1024u);
        lo.immediate = o->immediate;
        ss->cap = fcs_cap_open_live(o->iface, &lo, ss->err, sizeof ss->err);
    } else {
        fcs_cap_set_read_ahead(o->read_ahead);
        ss->cap = fcs_cap_open_files(o->files, o->nfiles, ss->err, sizeof ss->err);
    }
    if (!ss->cap) { /* one line per file that could not be read */
        for (char *line = ss->err, *nl; line; line = nl) {
            nl = strchr(line, '\n');
            if (nl)
                *nl++ = '\0';
            fprintf(stderr, "fcgiscope: %s\n", line);
        }
        return false;
    }
    for (size_t i = 0; !ss->live && i < fcs_cap_file_count(ss->cap); i++) {
        fcs_cap_file_info fi;
        if (fcs_cap_get_file_info(ss->cap, i, &fi) && fi.unreadable)
            fprintf(stderr, "fcgiscope: %s (skipped; the other files are analyzed)\n", fi.error);
    }
    return true;
}

/* -w FILE: the frames written again, with the capture's link type. */
static bool open_dump(session *ss)
{
    if (!ss->o.write_file)
        return true;
    fcs_cap_file_info fi;
    memset(&fi, 0, sizeof fi);
    fcs_cap_get_file_info(ss->cap, 0, &fi);
    ss->dump = fcs_pcapw_open(ss->o.write_file, fi.dlt, fi.snaplen, ss->err, sizeof ss->err);
    if (!ss->dump)
        fprintf(stderr, "fcgiscope: %s\n", ss->err);
    return ss->dump != NULL;
}

/* -o FILE ("-": standard output). */
static bool open_output(session *ss)
{
    const char *name = ss->o.output;
    ss->out = stdout;
    if (!name || !strcmp(name, "-"))
        return true;
    ss->out = fopen(name, "w");
    if (!ss->out)
        fprintf(stderr, "fcgiscope: %s: cannot write: %s\n", name, strerror(errno));
    return ss->out != NULL;
}

/* --metrics: the socket is bound while still root (a port below 1024
 * works), served only after root is given up (start_metrics). */
static bool open_metrics(session *ss)
{
    if (!ss->o.metrics)
        return true;
    ss->metrics = fcs_metrics_open(ss->o.metrics, ss->o.metrics_scripts, ss->err, sizeof ss->err);
    if (!ss->metrics)
        fprintf(stderr, "fcgiscope: %s\n", ss->err);
    return ss->metrics != NULL;
}

static bool start_metrics(session *ss)
{
    if (!ss->metrics)
        return true;
    if (fcs_metrics_start(ss->metrics, ss->err, sizeof ss->err) != 0) {
        fprintf(stderr, "fcgiscope: %s\n", ss->err);
        return false;
    }
    if (!ss->o.quiet)
        fprintf(stderr, "fcgiscope: metrics on http://%s/metrics\n",
                fcs_metrics_address(ss->metrics));
    return true;
}

/* Live: root is given up once the device is open. --unix stays root unless
 * --user says otherwise: bytes that sendfile(2) moved are read back through
 * /proc/PID/fd of the sending process; --relay too: it connects to --to for
 * every connection, and removes LISTEN_PATH at the end. */
static bool leave_root(const session *ss)
{
    const opts *o = &ss->o;
    bool keep_root = o->unix_path || o->relay_path;
    if (!ss->live || (keep_root && !o->user))
        return true;
    return drop_privileges(o->user, o->user != NULL) == 0;
}

/* --color, else on a terminal unless NO_COLOR or TERM=dumb; text only. */
static bool use_color(const session *ss)
{
    const opts *o = &ss->o;
    if (o->format != FMT_TEXT)
        return false;
    if (o->color >= 0)
        return o->color;
    const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
    return isatty(fileno(ss->out)) && !(nc && *nc) && !(term && !strcmp(term, "dumb"));
}

/* SIGINT, SIGTERM (and live SIGHUP) stop the capture and print the summary;
 * --duration arms a timer. */
static void install_signals(const session *ss)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    g_cap = ss->cap;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (ss->live)
        sigaction(SIGHUP, &sa, NULL);
    double secs = ss->o.duration;
    if (!ss->live || secs <= 0)
        return;
    struct sigaction al;
    memset(&al, 0, sizeof al);
    al.sa_handler = on_alarm;
    sigemptyset(&al.sa_mask);
    sigaction(SIGALRM, &al, NULL);
    struct itimerval it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_sec = (time_t)secs;
    it.it_value.tv_usec = (suseconds_t)((secs - (double)(time_t)secs) * 1e6);
    if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0)
        it.it_value.tv_usec = 1;
    setitimer(ITIMER_REAL, &it, NULL);
}

/* Live, without -q: what is captured and how to stop. */
static void announce(const session *ss)
{
    const opts *o = &ss->o;
    if (!ss->live || o->quiet)
        return;
    if (o->relay_path)
        fprintf(stderr, "fcgiscope: relaying %s -> %s (--relay); Ctrl-C stops and prints the "
                "summary\n", o->relay_path, o->relay_to);
    else if (o->unix_path)
        fprintf(stderr, "fcgiscope: capturing on unix socket %s (eBPF); Ctrl-C stops and prints "
                "the summary\n", o->unix_path);
    else
        fprintf(stderr, "fcgiscope: capturing on %s%s%s; Ctrl-C stops and prints the summary\n",
                o->iface, o->filter ? " with filter " : "", o->filter ? o->filter : "");
}

/* The analysis, with the progress bar (files, on a terminal or
 * --progress always). Returns fcs_run_analysis's exit status. */
static int analyze(const session *ss, uint64_t *requests)
{
    const opts *o = &ss->o;
    progress pr;
    memset(&pr, 0, sizeof pr);
    pr.on = !ss->live && !o->quiet && o->progress != 0 && (o->progress == 1 || isatty(2));
    pr.utf8 = ss->utf8;
    pr.start = pr.last = mono_ns();

    run_params rp;
    memset(&rp, 0, sizeof rp);
    rp.o = o;
    rp.cap = ss->cap;
    rp.out = ss->out;
    rp.live = ss->live;
    rp.dump = ss->dump;
    rp.metrics = ss->metrics;
    rp.color = use_color(ss);
    rp.utf8 = ss->utf8;
    rp.stderr_notes = true;
    struct winsize ws;
    if (isatty(fileno(ss->out)) && ioctl(fileno(ss->out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        rp.width = ws.ws_col;
    rp.stop = &g_stop;
    rp.alarm = &g_alarm;
    if (pr.on) {
        rp.progress = progress_draw;
        rp.progress_done = progress_clear;
        rp.ud = &pr;
    }
    rp.requests_out = requests;
    return fcs_run_analysis(&rp);
}

/* -i found no FastCGI, but php-fpm listens on a Unix socket: say so (the
 * text report has its own hint: out_text.c). */
static void hint_unix_socket(const session *ss, uint64_t requests)
{
    const opts *o = &ss->o;
    char sock[256];
    if (o->iface && !o->quiet && o->format != FMT_TEXT && requests == 0 &&
        fcs_unix_fpm_socket(sock, sizeof sock))
        fprintf(stderr, "fcgiscope: no FastCGI on %s, but php-fpm listens on the Unix socket %s, "
                "which no interface carries: try fcgiscope --unix %s\n", o->iface, sock, sock);
}

/* The report and -w's file reach their files: else exit status 2. */
static int session_finish(session *ss, int status)
{
    bool werr = ferror(ss->out) != 0;
    if (ss->out != stdout) {
        if (fclose(ss->out) != 0)
            werr = true;
        ss->out = NULL;
    } else if (fflush(stdout) != 0) {
        werr = true;
    }
    if (werr) {
        fprintf(stderr, "fcgiscope: %s: write error: %s\n", ss->o.output ? ss->o.output : "stdout",
                strerror(errno));
        status = 2;
    }
    if (ss->dump && fcs_pcapw_close(ss->dump, ss->err, sizeof ss->err) != 0) {
        fprintf(stderr, "fcgiscope: %s\n", ss->err);
        status = 2;
    }
    ss->dump = NULL;
    g_cap = NULL;
    return status;
}

int main(int argc, char **argv)
{
    static session ss;
    int status = parse_command_line(&ss, argc, argv);
    if (status >= 0) {
        fcs_opts_free(&ss.o);
        return status;
    }
    ss.utf8 = locale_is_utf8();
    if (!open_input(&ss) || !open_dump(&ss) || !open_output(&ss) || !open_metrics(&ss)
        || !leave_root(&ss) || !start_metrics(&ss)) {
        session_close(&ss);
        return 2;
    }
    install_signals(&ss);
    announce(&ss);
    uint64_t requests = 0;
    status = analyze(&ss, &requests);
    hint_unix_socket(&ss, requests);
    status = session_finish(&ss, status);
    session_close(&ss);
    return status;
}
