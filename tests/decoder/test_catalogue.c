/* test_catalogue.c — the anomaly catalogue stays in step with FASTCGI.md, docs/ANOMALIES.md and the vectors.
 *
 * Normative reference: the developer notes' anomaly catalogue (FASTCGI.md, outside
 * the repository: that check is skipped without it); docs/PROTOCOL.md "Anomaly ids";
 * decoder/include/fsd/anomalies.def; docs/ANOMALIES.md; tests/vectors/README.md.
 *
 *   test_catalogue fastcgi-md PATH       every catalogue row exists with the same severity
 *                                         (exit 77 = skipped when PATH is absent)
 *   test_catalogue anomalies-md PATH     every id has a "### `id`" section naming its severity
 *   test_catalogue vectors DEF FILE...   every decoder-level id of DEF fires in some vector's expected log
 *   test_catalogue clean FILE...          files with a "# clean: id..." line (all peer_* files must have
 *                                         one) fire no anomaly outside that list
 */
#define _POSIX_C_SOURCE 200809L
#include "fsd/fsd.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vecfile.h"

static char *trim(char *s)
{
    char *e;
    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

static int fastcgi_md(const char *path)
{
    char *text = vec_read_file(path), *line, *save = NULL;
    int rows = 0, bad = 0;
    if (!text) {
        printf("SKIP: %s not found (the shared docs are not next to this checkout)\n", path);
        return 77;
    }
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *cells[4] = { 0 }, *p = line, *sv = NULL;
        int n = 0;
        fsd_severity want;
        fsd_anomaly_id id;
        if (line[0] != '|')
            continue;
        for (char *c = strtok_r(p, "|", &sv); c && n < 4; c = strtok_r(NULL, "|", &sv))
            cells[n++] = trim(c);
        if (n < 3 || strlen(cells[1]) != 1 || !strchr("EWN", cells[1][0]))
            continue;
        rows++;
        want = cells[1][0] == 'E' ? FSD_SEV_ERROR : cells[1][0] == 'W' ? FSD_SEV_WARNING : FSD_SEV_NOTE;
        id = fsd_anomaly_from_name(cells[0]);
        if (id == FSD_A_COUNT) {
            printf("FASTCGI.md id \"%s\" missing from anomalies.def\n", cells[0]);
            bad++;
        } else if (fsd_anomaly_severity(id) != want) {
            printf("%s: FASTCGI.md says %s, anomalies.def says %s\n", cells[0], cells[1],
                   fsd_severity_name(fsd_anomaly_severity(id)));
            bad++;
        }
    }
    free(text);
    if (rows < 40) {
        printf("only %d catalogue rows found in %s: table format changed?\n", rows, path);
        return 1;
    }
    printf("%d catalogue rows checked, %d problem(s)\n", rows, bad);
    return bad ? 1 : 0;
}

static int anomalies_md(const char *path)
{
    char *text = vec_read_file(path);
    int bad = 0;
    if (!text) {
        printf("%s: cannot read\n", path);
        return 1;
    }
    for (int i = 0; i < (int)FSD_A_COUNT; i++) {
        char head[128];
        const char *h, *eol;
        snprintf(head, sizeof head, "### `%s`", fsd_anomaly_name((fsd_anomaly_id)i));
        h = strstr(text, head);
        if (!h || (h != text && h[-1] != '\n')) {
            printf("docs/ANOMALIES.md has no section \"%s\"\n", head);
            bad++;
            continue;
        }
        eol = strchr(h, '\n');
        if (!eol)
            eol = h + strlen(h);
        {
            const char *sev = fsd_severity_name(fsd_anomaly_severity((fsd_anomaly_id)i));
            const char *s = strstr(h, sev);
            if (!s || s > eol) {
                printf("docs/ANOMALIES.md: \"%s\" heading does not name its severity (%s)\n", head, sev);
                bad++;
            }
        }
    }
    free(text);
    printf("%d ids checked against %s, %d problem(s)\n", (int)FSD_A_COUNT, path, bad);
    return bad ? 1 : 0;
}

static int vectors(int argc, char **argv)
{
    char *def = vec_read_file(argv[0]), *line, *save = NULL;
    char *all = NULL;
    size_t all_len = 0;
    int ids = 0, bad = 0;
    if (!def) {
        printf("%s: cannot read\n", argv[0]);
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        char *t = vec_read_file(argv[i]), *e;
        if (!t) {
            printf("%s: cannot read\n", argv[i]);
            return 1;
        }
        e = strstr(t, "\nexpect\n");
        if (e) {
            size_t n = strlen(e);
            all = realloc(all, all_len + n + 1);
            memcpy(all + all_len, e, n + 1);
            all_len += n;
        }
        free(t);
    }
    if (!all) {
        printf("no expected logs\n");
        return 1;
    }
    for (line = strtok_r(def, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[64], pat[96];
        if (strstr(line, "capture-level"))
            break; /* raised by the front ends, exempt */
        if (sscanf(line, "FSD_ANOMALY(%63[a-z0-9_],", name) != 1)
            continue;
        ids++;
        if (fsd_anomaly_from_name(name) == FSD_A_COUNT) {
            printf("%s: in anomalies.def but not in the compiled table\n", name);
            bad++;
        }
        snprintf(pat, sizeof pat, " %s ", name);
        {
            int found = 0;
            for (const char *p = strstr(all, "\nanomaly "); p && !found; p = strstr(p + 1, "\nanomaly ")) {
                const char *eol = strchr(p + 1, '\n');
                const char *m = strstr(p, pat);
                if (m && (!eol || m < eol))
                    found = 1;
            }
            if (!found) {
                printf("%s: no vector fires it\n", name);
                bad++;
            }
        }
    }
    printf("%d decoder-level ids, %d without a vector\n", ids, bad);
    free(def);
    free(all);
    return bad || ids < 40 ? 1 : 0;
}

static int clean(int argc, char **argv)
{
    int bad = 0, checked = 0;
    for (int i = 0; i < argc; i++) {
        char *t = vec_read_file(argv[i]), *cl, *e;
        const char *base = strrchr(argv[i], '/');
        base = base ? base + 1 : argv[i];
        if (!t) {
            printf("%s: cannot read\n", argv[i]);
            return 1;
        }
        cl = strstr(t, "\n# clean:");
        e = strstr(t, "\nexpect\n");
        if (!cl || !e || cl > e) {
            if (strncmp(base, "peer_", 5) == 0) {
                printf("%s: peer vector without a \"# clean:\" line\n", base);
                bad++;
            }
            free(t);
            continue;
        }
        checked++;
        {
            char allowed[512];
            char *eol = strchr(cl + 1, '\n');
            size_t n = (size_t)(eol - (cl + 10));
            snprintf(allowed, sizeof allowed, " %.*s ", (int)(n < 500 ? n : 500), cl + 10);
            for (char *p = strstr(e, "\nanomaly "); p; p = strstr(p + 1, "\nanomaly ")) {
                char sev[16], id[64], pat[80];
                if (sscanf(p + 9, "%15s %63s", sev, id) != 2)
                    continue;
                snprintf(pat, sizeof pat, " %s ", id);
                if (!strstr(allowed, pat)) {
                    printf("%s: clean traffic fires %s (%s), allowed:%s\n", base, id, sev, allowed);
                    bad++;
                }
            }
        }
        free(t);
    }
    printf("%d clean vector(s) checked, %d problem(s)\n", checked, bad);
    return bad || checked == 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "fastcgi-md") == 0)
        return fastcgi_md(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "anomalies-md") == 0)
        return anomalies_md(argv[2]);
    if (argc >= 4 && strcmp(argv[1], "vectors") == 0)
        return vectors(argc - 2, argv + 2);
    if (argc >= 3 && strcmp(argv[1], "clean") == 0)
        return clean(argc - 2, argv + 2);
    fprintf(stderr, "usage: test_catalogue fastcgi-md PATH | anomalies-md PATH | vectors DEF FILE... | clean FILE...\n");
    return 2;
}
