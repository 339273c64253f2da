/* check.h — minimal assertion helpers for the decoder unit tests.
 *
 * Normative reference: none (test scaffolding).
 */
#ifndef FSD_TEST_CHECK_H
#define FSD_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        check_count++;                                                                \
        if (!(cond)) {                                                                \
            check_failures++;                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);  \
        }                                                                             \
    } while (0)

#define CHECK_EQ(a, b)                                                                           \
    do {                                                                                         \
        long long _a = (long long)(a), _b = (long long)(b);                                      \
        check_count++;                                                                           \
        if (_a != _b) {                                                                          \
            check_failures++;                                                                    \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n", __FILE__, __LINE__, \
                    #a, _a, #b, _b);                                                             \
        }                                                                                        \
    } while (0)

#define CHECK_STR(a, b)                                                                        \
    do {                                                                                       \
        const char *_a = (a), *_b = (b);                                                       \
        check_count++;                                                                         \
        if (_a == NULL || _b == NULL || strcmp(_a, _b) != 0) {                                 \
            check_failures++;                                                                  \
            fprintf(stderr, "%s:%d: CHECK_STR failed: \"%s\" vs \"%s\"\n", __FILE__, __LINE__, \
                    _a ? _a : "(null)", _b ? _b : "(null)");                                   \
        }                                                                                      \
    } while (0)

static int check_done(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif
