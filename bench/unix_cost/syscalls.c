/* syscalls.c — CPU time per syscall of a process, before and after it holds a watched Unix socket (bench/unix_syscall_cost.sh).
 *
 *   syscalls PATH N GO
 *
 * Listens on PATH, prints "listening" and waits for the file GO to exist
 * (start fcgiscope --unix PATH, then create GO); a child forked before the
 * listening socket existed (so fcgiscope's start-up scan, which marks the
 * processes holding the listener, does not mark it: watched by nobody)
 * times N write+read pairs of 1 byte on a socketpair and N getppid calls;
 * then this process (watched since the scan: it holds the listener)
 * connects to PATH and accepts; times N pairs on the socketpair again ("other": a
 * watched process on a socket it does not watch) and on the connection
 * ("conn": both ends of a watched connection). Prints ns per syscall of
 * CPU time (CLOCK_PROCESS_CPUTIME_ID: another process's load adds no time),
 * the best of 3 runs of each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static double pairs(int w, int r, long n)
{
    double best = 1e18;
    for (int k = 0; k < 3; k++) {
        char b = 'x';
        double t0 = cpu_ns();
        for (long i = 0; i < n; i++)
            if (write(w, &b, 1) != 1 || read(r, &b, 1) != 1) {
                perror("write/read");
                exit(1);
            }
        double t = (cpu_ns() - t0) / (2.0 * n);
        if (t < best)
            best = t;
    }
    return best;
}

static double getppids(long n)
{
    double best = 1e18;
    for (int k = 0; k < 3; k++) {
        double t0 = cpu_ns();
        for (long i = 0; i < n; i++)
            syscall(SYS_getppid);
        double t = (cpu_ns() - t0) / n;
        if (t < best)
            best = t;
    }
    return best;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: syscalls PATH N GO\n");
        return 2;
    }
    const char *path = argv[1];
    long n = atol(argv[2]);
    /* the unwatched figures: a child that never holds the listener */
    int res[2];
    if (pipe(res)) {
        perror("pipe");
        return 1;
    }
    pid_t kid = fork();
    if (kid < 0) {
        perror("fork");
        return 1;
    }
    if (kid == 0) {
        int pv[2];
        close(res[0]);
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, pv)) {
            perror("socketpair");
            _exit(1);
        }
        for (int i = 0; access(argv[3], F_OK) != 0; i++) {
            if (i == 6000)
                _exit(1);
            usleep(10000);
        }
        double r[2] = { pairs(pv[0], pv[1], n), getppids(n) };
        _exit(write(res[1], r, sizeof r) == (ssize_t)sizeof r ? 0 : 1);
    }
    close(res[1]);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int l = socket(AF_UNIX, SOCK_STREAM, 0), sv[2];
    unlink(path);
    if (l < 0 || bind(l, (void *)&a, sizeof a) || listen(l, 8) ||
        socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
        perror(path);
        return 1;
    }
    printf("listening\n");
    fflush(stdout);
    for (int i = 0; access(argv[3], F_OK) != 0; i++) {
        if (i == 6000) {
            fprintf(stderr, "%s: not there after 60 s\n", argv[3]);
            return 1;
        }
        usleep(10000);
    }
    double r[2] = { 0, 0 };
    if (read(res[0], r, sizeof r) != (ssize_t)sizeof r) {
        fprintf(stderr, "the unwatched child failed\n");
        return 1;
    }
    waitpid(kid, NULL, 0);
    double unw = r[0], ppid = r[1];
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(c, (void *)&a, sizeof a)) {
        perror("connect");
        return 1;
    }
    int s = accept(l, NULL, NULL);
    double other = pairs(sv[0], sv[1], n), conn = pairs(c, s, n);
    printf("unwatched %.1f getppid %.1f other %.1f conn %.1f\n", unw, ppid, other, conn);
    close(c);
    close(s);
    unlink(path);
    return 0;
}
