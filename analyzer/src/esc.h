/* esc.h — escaping of traffic-derived bytes for the text, JSON and CSV reports.
 *
 * Normative references: RFC 8259 §7 (JSON strings), RFC 4180 §2 (CSV fields),
 * ECMA-48 §5 (C0/C1 control functions: what a terminal acts on); OWASP "CSV
 * injection" for the neutralised leading characters.
 *
 * Every byte that came off the wire is untrusted. The rules (README "Output
 * safety"):
 *  - text: printable ASCII as is; backslash doubled; C0 controls and DEL as
 *    \n \r \t or \xHH; bytes that are not valid UTF-8 as \xHH; valid UTF-8
 *    passes only when the output charset is UTF-8, and never the C1 controls
 *    (U+0080..U+009F), bidi overrides/isolates, or U+2028/U+2029, which are
 *    written \u{XXXX}.
 *  - JSON: always valid JSON text: " and \ escaped, C0 controls, DEL, C1
 *    controls, bidi controls and U+2028/2029 as \u00XX / \uXXXX; valid UTF-8
 *    passes; each byte that is not part of valid UTF-8 becomes \u00XX, the
 *    code point of the same number (as if the byte were Latin-1). Nothing is
 *    dropped.
 *  - CSV: a field is quoted when it contains , " CR or LF or is neutralised,
 *    with " doubled; a field starting with = + - @ TAB or CR gets a leading '
 *    so spreadsheets do not run it as a formula. The bytes are kept.
 */
#ifndef FCGISCOPE_ESC_H
#define FCGISCOPE_ESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A growable byte buffer. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

void fcs_sbuf_init(sbuf *b);
void fcs_sbuf_free(sbuf *b);
void fcs_sbuf_reset(sbuf *b);
/* Make room for extra more bytes plus the NUL (the slow path: grows). */
void fcs_sbuf_grow(sbuf *b, size_t extra);
static inline void fcs_sbuf_add(sbuf *b, const void *p, size_t n)
{
    if (b->cap - b->len <= n) /* cap >= len always; the NUL needs one more */
        fcs_sbuf_grow(b, n);
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}
static inline void fcs_sbuf_addc(sbuf *b, char c)
{
    if (b->cap - b->len <= 1)
        fcs_sbuf_grow(b, 1);
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
}
static inline void fcs_sbuf_adds(sbuf *b, const char *s)
{
    fcs_sbuf_add(b, s, strlen(s));
}
/* Decimal integers, as printf's %" PRIu64 " / %" PRId64 " writes them. */
void fcs_sbuf_add_u64(sbuf *b, uint64_t v);
void fcs_sbuf_add_i64(sbuf *b, int64_t v);
/* A string literal, its length known at compile time. */
#define SBUF_ADDL(b, lit) fcs_sbuf_add((b), "" lit, sizeof(lit) - 1)
void fcs_sbuf_printf(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* NUL-terminated view (the buffer keeps a NUL past len). */
const char *fcs_sbuf_str(sbuf *b);

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when s[0..n) does not
 * start with one (overlong forms, surrogates and > U+10FFFF are invalid).
 * *cp receives the code point. */
size_t utf8_decode(const unsigned char *s, size_t n, unsigned *cp);

/* Append s[0..n) escaped for a terminal / text file. utf8_out: the output
 * charset is UTF-8. max_cols > 0: stop after that many output columns and end
 * with "..." (columns count code points; escapes count their length).
 * Returns the columns written. */
size_t fcs_esc_text(sbuf *out, const void *s, size_t n, bool utf8_out, size_t max_cols);

/* Append a JSON string literal (with the quotes). */
void fcs_esc_json(sbuf *out, const void *s, size_t n);

/* Append one CSV field (quoted when needed, neutralised). */
void fcs_esc_csv(sbuf *out, const void *s, size_t n);

/* Code points that a terminal or an editor may act on although they are not
 * C0 controls: C1 controls, bidi embedding/override/isolate marks, line and
 * paragraph separators. */
bool fcs_esc_is_dangerous_cp(unsigned cp);

#endif
