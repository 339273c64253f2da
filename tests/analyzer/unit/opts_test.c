/* opts_test.c — unit tests of opts.c: the command line (options, values, messages).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "opts.h"

void suite_opts(void)
{
    opts o;
    char err[256];

    CHECK(parse(&o, "a.pcap", err, sizeof err) == 0, "plain file: %s", err);
    CHECK(o.nfiles == 1 && !strcmp(o.files[0], "a.pcap") && o.format == FMT_TEXT && o.slowest == 10
              && o.fail_on == 0 && o.detect && fcs_opts_port_listed(&o, 9000) && !fcs_opts_port_listed(&o, 9001),
          "defaults");
    fcs_opts_free(&o);

    CHECK(parse(&o, "-p 9000,9001-9003 -f json --param HTTP_HOST --param=X --slowest 3 "
                    "--fail-on warning -o out.json -q -v -v a.pcap b.pcapng", err, sizeof err) == 0,
          "all options: %s", err);
    CHECK(o.nports == 2 && fcs_opts_port_listed(&o, 9002) && !fcs_opts_port_listed(&o, 9004)
              && !fcs_opts_port_listed(&o, 8999),
          "port list");
    CHECK(o.format == FMT_JSON && o.nparams == 2 && !strcmp(o.params[1], "X") && o.slowest == 3
              && o.fail_on == 2 && !strcmp(o.output, "out.json") && o.quiet && o.verbose == 2
              && o.nfiles == 2,
          "values");
    fcs_opts_free(&o);

    CHECK(parse(&o, "-fcsv -p9001 x", err, sizeof err) == 0 && o.format == FMT_CSV
              && fcs_opts_port_listed(&o, 9001),
          "attached short values");
    fcs_opts_free(&o);
    CHECK(parse(&o, "-qv x", err, sizeof err) == 0 && o.quiet && o.verbose == 1, "bundled flags");
    fcs_opts_free(&o);

    CHECK(parse(&o, "-i lo tcp port 9000", err, sizeof err) == 0 && !strcmp(o.iface, "lo")
              && o.filter && !strcmp(o.filter, "tcp port 9000") && o.nfiles == 0,
          "live with a filter: %s", o.filter ? o.filter : "(null)");
    fcs_opts_free(&o);
    CHECK(parse(&o, "-i lo -c 5 --duration 2.5", err, sizeof err) == 0 && o.count == 5
              && o.duration == 2.5 && !o.filter,
          "live limits");
    fcs_opts_free(&o);

    CHECK(parse(&o, "--unix /run/php/x.sock -c 3 --duration 2", err, sizeof err) == 0
              && o.unix_path && !strcmp(o.unix_path, "/run/php/x.sock") && o.count == 3
              && o.duration == 2 && !o.iface && o.nfiles == 0,
          "--unix with live limits: %s", err);
    fcs_opts_free(&o);
    CHECK(parse(&o, "--relay /run/php/r.sock --to /run/php/x.sock -c 3 -w o.pcap", err, sizeof err) == 0
              && o.relay_path && !strcmp(o.relay_path, "/run/php/r.sock") && o.relay_to
              && !strcmp(o.relay_to, "/run/php/x.sock") && o.count == 3 && o.write_file
              && !o.unix_path && !o.iface && o.nfiles == 0,
          "--relay --to with live options: %s", err);
    fcs_opts_free(&o);
    CHECK(parse(&o, "-i lo -B 4096 --immediate tcp port 9000", err, sizeof err) == 0
              && o.buffer_kib == 4096 && o.immediate && o.filter && !strcmp(o.filter, "tcp port 9000"),
          "-B and --immediate with -i: %s", err);
    fcs_opts_free(&o);
    CHECK(parse(&o, "-i lo --buffer-size=256", err, sizeof err) == 0 && o.buffer_kib == 256
              && !o.immediate,
          "--buffer-size= at its minimum: %s", err);
    fcs_opts_free(&o);
    CHECK(parse(&o, "-i lo", err, sizeof err) == 0 && o.buffer_kib == 0 && !o.immediate,
          "-i: the default buffer, no immediate mode");
    fcs_opts_free(&o);
    CHECK(parse(&o, "-i lo -w out.pcap", err, sizeof err) == 0 && o.write_file
              && !strcmp(o.write_file, "out.pcap"),
          "-w with -i: %s", err);
    fcs_opts_free(&o);

    CHECK(parse(&o, "--max-flows 5000 --max-pending=7 a", err, sizeof err) == 0 && o.max_flows == 5000
              && o.max_pending == 7,
          "memory caps: %s", err);
    fcs_opts_free(&o);
    CHECK(parse(&o, "a", err, sizeof err) == 0 && o.read_ahead, "read-ahead on by default");
    fcs_opts_free(&o);
    CHECK(parse(&o, "--no-read-ahead a", err, sizeof err) == 0 && !o.read_ahead && o.nfiles == 1,
          "--no-read-ahead: %s", err);
    fcs_opts_free(&o);

    static const struct { const char *line, *msg; } bad[] = {
        {"", "no capture file"},
        {"--unix /s -i lo", "--unix takes no -i"},
        {"--unix /s x.pcap", "--unix takes no -i"},
        {"--unix=", "--unix: empty path"},
        {"--relay /r", "--relay needs --to"},
        {"--to /s", "--to is for --relay"},
        {"--relay /r --to /s -i lo", "--relay takes no"},
        {"--relay /r --to /s --unix /s", "--relay takes no"},
        {"--relay /r --to /s x.pcap", "--relay takes no"},
        {"--relay= --to /s", "--relay: empty path"},
        {"--relay /r --to=", "--to: empty path"},
        {"-w x.pcap a.pcap", "-w/--write is for live capture"},
        {"-B 4096 a.pcap", "-B/--buffer-size is for live capture"},
        {"--immediate a.pcap", "--immediate is for live capture"},
        {"--unix /s -B 4096", "-B/--buffer-size and --immediate are for -i"},
        {"--relay /r --to /s --immediate", "-B/--buffer-size and --immediate are for -i"},
        {"-i lo -B 255", "--buffer-size: want KiB 256..2097151"},
        {"-i lo -B 2097152", "--buffer-size: want KiB"},
        {"-i lo --buffer-size=4k", "--buffer-size: want KiB"},
        {"-f xml a", "--format"},
        {"--fail-on fatal a", "--fail-on"},
        {"-p 0 a", "port 0"},
        {"-p 70000 a", "--port"},
        {"-p 9000- a", "--port"},
        {"-p 9005-9001 a", "--port"},
        {"-p 9000, a", "trailing comma"},
        {"--slowest -1 a", "--slowest"},
        {"--slowest x a", "--slowest"},
        {"--max-flows 0 a", "--max-flows"},
        {"--max-flows 100000001 a", "--max-flows"},
        {"--bogus a", "unknown option --bogus"},
        {"-Z a", "unknown option -Z"},
        {"-o", "needs a value"},
        {"--quiet=1 a", "takes no value"},
        {"-c 5 a", "live capture"},
        {"--duration 3 a", "live capture"},
        {"-i lo --duration 0", "--duration"},
        {"-i lo -c 0", "--count"},
        {"- -", "once"},
        {"-i lo -r a.pcap", "cannot be combined"},
        {"--max-header 0 a", "--max-header"},
        {"--max-header x a", "--max-header"},
        {"--max-header -5 a", "--max-header"},
        {"--max-header 1048577 a", "--max-header"},
        {"--max-header", "needs a value"},
        {"--upstream-timeout 0 a", "--upstream-timeout"},
        {"--upstream-timeout -1 a", "--upstream-timeout"},
        {"--upstream-timeout 1s a", "--upstream-timeout"},
        {"--upstream-timeout nan a", "--upstream-timeout"},
        {"--upstream-timeout 86401 a", "--upstream-timeout"},
        {"--upstream-timeout 0.0004 a", "--upstream-timeout"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = parse(&o, bad[i].line, err, sizeof err);
        CHECK(rc == -1 && strstr(err, bad[i].msg), "\"%s\" -> rc %d, \"%s\" (want \"%s\")",
              bad[i].line, rc, err, bad[i].msg);
        fcs_opts_free(&o);
    }
    /* usage errors carry no hint of their own: main adds one "Try 'fcgiscope --help'" */
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        parse(&o, bad[i].line, err, sizeof err);
        CHECK(!strstr(err, "help"), "\"%s\" -> \"%s\" names --help itself", bad[i].line, err);
        fcs_opts_free(&o);
    }
    /* --max-header / --upstream-timeout reach the decoder's limits */
    fsd_limits lim;
    CHECK(parse(&o, "a.pcap", err, sizeof err) == 0, "%s", err);
    fsd_limits_default(&lim);
    fsd_limits def = lim;
    fcs_opts_set_limits(&o, &lim);
    CHECK(!memcmp(&lim, &def, sizeof lim) && o.max_header == 0 && o.upstream_timeout_ms == 0,
          "no option: the decoder's defaults stay");
    fcs_opts_free(&o);
    CHECK(parse(&o, "--max-header 8192 --upstream-timeout 1.5 a.pcap", err, sizeof err) == 0, "%s", err);
    fsd_limits_default(&lim);
    fcs_opts_set_limits(&o, &lim);
    CHECK(o.max_header == 8192 && o.upstream_timeout_ms == 1500 && lim.web_server_header_bytes == 8192
              && lim.upstream_timeout_ms == 1500 && lim.max_cgi_header_bytes == def.max_cgi_header_bytes,
          "--max-header 8192 --upstream-timeout 1.5: %u %u -> limits %u %u %u", o.max_header,
          o.upstream_timeout_ms, lim.web_server_header_bytes, lim.upstream_timeout_ms,
          lim.max_cgi_header_bytes);
    fcs_opts_free(&o);
    CHECK(parse(&o, "--max-header=65536 --upstream-timeout=60 a.pcap", err, sizeof err) == 0, "%s", err);
    fsd_limits_default(&lim);
    fcs_opts_set_limits(&o, &lim);
    CHECK(lim.web_server_header_bytes == 65536 && lim.max_cgi_header_bytes == 65537
              && lim.upstream_timeout_ms == 60000,
          "--max-header above the decoder's cap raises the cap: %u %u %u", lim.web_server_header_bytes,
          lim.max_cgi_header_bytes, lim.upstream_timeout_ms);
    fcs_opts_free(&o);
    CHECK(strstr(opts_usage, "--max-header BYTES") && strstr(opts_usage, "--upstream-timeout SECS"),
          "usage names --max-header and --upstream-timeout");
    {
        size_t col = 0, widest = 0;
        for (const char *q = opts_usage; *q; q++) {
            col = *q == '\n' ? 0 : col + 1;
            if (col > widest)
                widest = col;
        }
        CHECK(widest <= 80, "--help is %zu columns wide", widest);
    }
    CHECK(parse(&o, "--help", err, sizeof err) == 0 && o.help, "--help without files");
    fcs_opts_free(&o);
    CHECK(parse(&o, "-- -weird-name.pcap", err, sizeof err) == 0 && o.nfiles == 1
              && !strcmp(o.files[0], "-weird-name.pcap"),
          "-- ends options");
    fcs_opts_free(&o);
    CHECK(parse(&o, "-r - ", err, sizeof err) == 0 && o.nfiles == 1 && !strcmp(o.files[0], "-"),
          "-r - (stdin)");
    fcs_opts_free(&o);
    CHECK(strstr(opts_usage, "--fail-on") && strstr(opts_usage, "--param")
              && strstr(opts_usage, "--slowest") && strstr(opts_usage, "-i IFACE")
              && strstr(opts_usage, "--max-flows") && strstr(opts_usage, "--no-read-ahead"),
          "usage mentions the contract options");
}
