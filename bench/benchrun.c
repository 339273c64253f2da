/* benchrun.c — fcgiscope-benchrun: run one command, report its wall time, CPU time and peak RSS.
 *
 * Normative reference: POSIX fork/execvp, wait4(2) and getrusage(2)
 * (ru_maxrss in KiB on Linux), clock_gettime(CLOCK_MONOTONIC); issue 6.
 *
 *   fcgiscope-benchrun [-o FILE] -- COMMAND [ARG...]
 *
 * The command's stdout goes to FILE when -o is given (e.g. /dev/null), else
 * it is inherited. One line goes to stderr at the end:
 *   benchrun: wall=S user=S sys=S maxrss_kb=N exit=N
 * (exit = the command's exit status, or 128+signal). benchrun exits 0 when
 * it could run the command, 2 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv(struct timeval t)
{
    return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    const char *out = NULL;
    int i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--")) {
            i++;
            break;
        } else
            break;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: fcgiscope-benchrun [-o FILE] -- COMMAND [ARG...]\n");
        return 2;
    }
    double t0 = now();
    pid_t pid = fork();
    if (pid < 0) {
        perror("fcgiscope-benchrun: fork");
        return 2;
    }
    if (pid == 0) {
        if (out) {
            int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd < 0 || dup2(fd, 1) < 0) {
                fprintf(stderr, "fcgiscope-benchrun: %s: %s\n", out, strerror(errno));
                _exit(127);
            }
            close(fd);
        }
        execvp(argv[i], argv + i);
        fprintf(stderr, "fcgiscope-benchrun: %s: %s\n", argv[i], strerror(errno));
        _exit(127);
    }
    int status;
    struct rusage ru;
    pid_t r;
    do
        r = wait4(pid, &status, 0, &ru);
    while (r < 0 && errno == EINTR);
    double t1 = now();
    if (r < 0) {
        perror("fcgiscope-benchrun: wait4");
        return 2;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    fprintf(stderr, "benchrun: wall=%.6f user=%.6f sys=%.6f maxrss_kb=%ld exit=%d\n", t1 - t0,
            tv(ru.ru_utime), tv(ru.ru_stime), ru.ru_maxrss, code);
    return 0;
}
