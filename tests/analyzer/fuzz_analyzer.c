/* fuzz_analyzer.c — libFuzzer target over fcgiscope's whole path: capture bytes in memory -> libpcap -> link/IP/TCP -> decoder -> report.
 *
 * What is checked: analyzer/README.md "Output safety"; the path is
 * analyzer/src/run.h's.
 * The first input byte picks the format and options, the rest is the capture
 * file image. Oracles besides the sanitizers: the report never holds a raw
 * control byte (text without colour, JSON, and CSV outside quoted cells is
 * not checked), and JSON output is valid UTF-8 with one object per line.
 * Built as a libFuzzer target with -DFCGISCOPE_FUZZ=ON (clang), and as a
 * replay program (fuzz_analyzer_replay FILE...) that runs every format over
 * each file for the normal test run.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "esc.h"
#include "opts.h"
#include "run.h"

static void check_output(const char *buf, size_t len, out_format fmt)
{
    if (fmt == FMT_CSV)
        return; /* CSV keeps the traffic's bytes (quoted): documented */
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)buf[i];
        if ((c < 0x20 && c != '\n') || c == 0x7f) {
            fprintf(stderr, "raw control byte 0x%02x at offset %zu of the %s report\n", c, i,
                    fmt == FMT_JSON ? "json" : fmt == FMT_HTML ? "html" : "text");
            abort();
        }
        if (c < 0x80) {
            i++;
            continue;
        }
        unsigned cp;
        size_t l = utf8_decode((const unsigned char *)buf + i, len - i, &cp);
        if (l == 0 || fcs_esc_is_dangerous_cp(cp)) {
            fprintf(stderr, "invalid or dangerous UTF-8 at offset %zu of the report\n", i);
            abort();
        }
        i += l;
    }
    if (fmt == FMT_JSON) {
        /* one object per line, the summary last */
        if (len == 0 || buf[len - 1] != '\n')
            abort();
        for (size_t i = 0; i < len; i++)
            if ((i == 0 || buf[i - 1] == '\n') && buf[i] != '{')
                abort();
        const char *last = buf + len - 1;
        while (last > buf && last[-1] != '\n')
            last--;
        if (strncmp(last, "{\"type\":\"summary\"", 17) != 0)
            abort();
    }
}

static void one(const uint8_t *data, size_t size, unsigned sel)
{
    static const char *const fmts[] = {"json", "text", "csv", "html"};
    static const out_format fmtv[] = {FMT_JSON, FMT_TEXT, FMT_CSV, FMT_HTML};
    out_format fmt = fmtv[sel % 4];
    char *argv[] = {"fcgiscope", "-f", (char *)fmts[sel % 4], "--param", "REQUEST_URI",
                    "--param", "HTTP_HOST", "--slowest", "3", "-p", "9000,9123",
                    (sel & 4) ? "--no-detect" : "-v", "--max-pending", (sel & 8) ? "2" : "1000",
                    "fuzz", NULL};
    int argc = (int)(sizeof argv / sizeof *argv) - 1;
    opts o;
    char err[FCS_CAP_ERRMAX];
    if (fcs_opts_parse(&o, argc, argv, err, sizeof err) != 0) {
        fprintf(stderr, "options: %s\n", err);
        abort();
    }
    fcs_capture *cap = fcs_cap_open_memory(data, size, "fuzz", err, sizeof err);
    if (!cap) {
        fcs_opts_free(&o);
        return;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out)
        abort();
    run_params rp;
    memset(&rp, 0, sizeof rp);
    rp.o = &o;
    rp.cap = cap;
    rp.out = out;
    rp.utf8 = (sel & 16) != 0;
    int st = fcs_run_analysis(&rp);
    fclose(out);
    if (st < 0 || st > 2)
        abort();
    check_output(buf, len, fmt);
    free(buf);
    fcs_cap_close(cap);
    fcs_opts_free(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    one(data + 1, size - 1, data[0]);
    return 0;
}

#ifdef FUZZ_REPLAY
int main(int argc, char **argv)
{
    int files = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 1;
        }
        size_t cap = 1 << 20, n = 0;
        uint8_t *b = malloc(cap);
        size_t r;
        while (b && (r = fread(b + n, 1, cap - n, f)) > 0) {
            n += r;
            if (n == cap) {
                uint8_t *nb = realloc(b, cap *= 2);
                if (!nb) {
                    free(b);
                    b = NULL;
                }
                b = nb;
            }
        }
        fclose(f);
        if (!b)
            return 1;
        for (unsigned sel = 0; sel < 32; sel += 1) /* every format (sel % 4) x option set (bits 2-4) */
            one(b, n, sel);
        free(b);
        files++;
    }
    printf("replayed %d files x 32 option sets\n%d passed, 0 failed\n", files, files);
    return 0;
}
#endif
