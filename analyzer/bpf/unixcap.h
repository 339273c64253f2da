/* unixcap.h — events from unixcap.bpf.c to unixcap.c (shared by both sides).
 *
 * One event per ring-buffer record: a fixed header, then (UC_EV_DATA) up to
 * UC_CHUNK payload bytes. conn is the kernel address of the app end's struct
 * sock (the accepted socket, which shares the listener's path): both ends of
 * one connection map to it. off is the stream offset of the first byte (per
 * direction, counted in the kernel for every byte written, delivered or not,
 * so a lost record shows as a jump).
 */
#ifndef FCS_UNIXCAP_EV_H
#define FCS_UNIXCAP_EV_H

#define UC_CHUNK 16384u        /* payload bytes per record */
#define UC_MAX_CHUNKS 4096     /* per syscall: 64 MiB (bpf_loop bound) */
#define UC_PID_WORDS 65536     /* the watched bitmap: a bit per tgid below PID_MAX_LIMIT (4M) */

enum uc_ev_type {
    UC_EV_CONNECT = 1,         /* client end connected (connect(2) returned 0) */
    UC_EV_ACCEPT = 2,          /* app end accepted (accept/accept4 returned) */
    UC_EV_DATA = 3,            /* len bytes written by dir's end at off */
    UC_EV_SKIP = 4,            /* len bytes written but not copied (sendfile source
                                  unreadable in the kernel): aux = in_fd, aux2 = file offset */
    UC_EV_CLOSE = 5,           /* dir's end closed (last reference); flags UC_F_RST */
    UC_EV_SHUTDOWN = 6,        /* dir's end shut down writing */
    UC_EV_PICKUP = 7           /* the app end's first read of a turn (its first read on the
                                  connection, or the first after it last wrote) returned
                                  bytes: ts = aux = that read's exit (reads are seen at
                                  exit only: their entry is not known), len = bytes read */
};

enum { UC_DIR_CLIENT = 0, UC_DIR_SERVER = 1 };   /* who wrote / closed */
enum { UC_F_RST = 1, UC_F_SENDFILE = 2, UC_F_NOOFF = 4,
       UC_F_READ = 8 /* DATA read by the app end (fills sendfile ranges), not written */ };

struct uc_event {
    unsigned int type;
    unsigned int dir;
    unsigned int flags;
    unsigned int len;           /* payload bytes following (DATA) or skipped (SKIP) */
    unsigned long long conn;
    unsigned long long off;     /* stream offset of the first byte (DATA/SKIP), or the
                                   direction's total at CLOSE/SHUTDOWN */
    unsigned long long ts;      /* CLOCK_MONOTONIC ns at syscall entry */
    unsigned long long aux, aux2;
    unsigned int pid, tgid;
    char comm[16];
};

#endif
