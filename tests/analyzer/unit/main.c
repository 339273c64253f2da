/* main.c — test_analyzer_units SUITE: runs one unit suite (or "all") and prints "N passed, N failed".
 */
#include <string.h>

#include "unit.h"

static const struct {
    const char *name;
    void (*run)(void);
} suites[] = {
    {"esc", suite_esc},       /* esc_test.c */
    {"hist", suite_hist},     /* hist_test.c */
    {"opts", suite_opts},     /* opts_test.c */
    {"fmt", suite_fmt},       /* out_test.c */
    {"out", suite_out},       /* out_test.c */
    {"report", suite_report}, /* report_test.c */
    {"rec", suite_rec},       /* rec_test.c */
    {"stats", suite_stats},   /* stats_test.c */
    {"orderq", suite_orderq}, /* orderq_test.c */
    {"activeq", suite_activeq}, /* activeq_test.c */
    {"metrics", suite_metrics}, /* metrics_test.c */
};

int main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "all";
    bool all = !strcmp(which, "all");
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
        if (all || !strcmp(which, suites[i].name))
            suites[i].run();
    if (passed + failed == 0) {
        fprintf(stderr, "unknown suite %s\n", which);
        return 2;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
