#!/usr/bin/env python3
"""table.py — turns run.sh's raw measurements into the benchmark table (medians, rates, ratios, targets).

Normative reference: issue 6 (what the table shows and the targets);
bench/run.sh (the results.tsv lines: label, tool, "benchrun: wall=..").
"""
import argparse
import json
import statistics
import sys

TOOLS = ["bare", "bare+buf", "json", "text", "tshark", "ws-fcgi", "ws-plugin", "ws-plugin-whole"]
NAMES = {
    "bare": "bare pcap_next_ex loop",
    "bare+buf": "bare loop, 64 KiB stdio buffer",
    "json": "fcgiscope -f json",
    "text": "fcgiscope (text report)",
    "tshark": "tshark fcgi io,stat",
    "ws-fcgi": "tshark -Y fcgi (built-in)",
    "ws-plugin": "tshark -Y fastcgi (plugin)",
    "ws-plugin-whole": "tshark -Y fastcgi, reassemble_streams on",
}


def parse_line(s):
    kv = {}
    for tok in s.split()[1:]:
        k, v = tok.split("=", 1)
        kv[k] = float(v)
    return kv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--markdown")
    ap.add_argument("--load-before", default="")
    ap.add_argument("--load-after", default="")
    ap.add_argument("--date", default="")
    ap.add_argument("--reps", default="")
    ap.add_argument("--rev", default="")
    ap.add_argument("--command", default="")
    ap.add_argument("captures", nargs="*", help="LABEL=SUMMARY.json")
    a = ap.parse_args()

    runs = {}
    failed = []
    with open(a.results) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3 or not parts[2].startswith("benchrun:"):
                failed.append(line.strip())
                continue
            kv = parse_line(parts[2])
            if kv.get("exit", 1) != 0:
                failed.append(line.strip())
                continue
            runs.setdefault((parts[0], parts[1]), []).append(kv)

    def med(label, tool, key):
        v = runs.get((label, tool))
        return statistics.median(r[key] for r in v) if v else None

    caps = []
    for c in a.captures:
        label, path = c.split("=", 1)
        with open(path) as f:
            caps.append((label, json.load(f)))

    head = ["capture", "tool", "wall s", "cpu s", "MB/s", "packets/s", "requests/s", "peak RSS",
            "x bare", "x bare cpu", "tshark/fcgiscope"]
    rows = []
    verdicts = []
    rss_by_mss = {}
    for label, g in caps:
        mb = g["file_bytes"] / 1e6
        bare = [med(label, t, "wall") for t in ("bare", "bare+buf")]
        bare = [b for b in bare if b is not None]
        best_bare = min(bare) if bare else None
        fj = med(label, "json", "wall")
        cpu_of = lambda t: (statistics.median(r["user"] + r["sys"] for r in runs[(label, t)])
                            if (label, t) in runs else None)
        bare_cpu = [c for c in (cpu_of("bare"), cpu_of("bare+buf")) if c is not None]
        best_bare_cpu = min(bare_cpu) if bare_cpu else None
        for tool in TOOLS:
            w = med(label, tool, "wall")
            if w is None:
                continue
            cpu = statistics.median(r["user"] + r["sys"] for r in runs[(label, tool)])
            rss = med(label, tool, "maxrss_kb") / 1024
            xb = xc = ""
            if tool in ("json", "text") and best_bare:
                xb = "%.2fx" % (w / best_bare)
            if tool in ("json", "text") and best_bare_cpu:
                xc = "%.2fx" % (cpu / best_bare_cpu)
            ts = ""
            if tool in ("tshark", "ws-fcgi", "ws-plugin", "ws-plugin-whole") and fj:
                ts = "%.1fx" % (w / fj)
            desc = "%.0f MB, %s B segs, %s" % (mb, g["mss"], "ns" if g["precision"] == "nanosecond" else "us")
            rows.append([desc, NAMES[tool], "%.3f" % w, "%.3f" % cpu, "%.0f" % (mb / w),
                         "%.3g" % (g["packets"] / w), "%.3g" % (g["requests"] / w),
                         "%.1f MB" % rss, xb, xc, ts])
            if tool in ("json", "text"):
                rss_by_mss.setdefault((g["mss"], tool), []).append((label, g["file_bytes"], rss))
        if fj and best_bare:
            verdicts.append((label, g, fj / best_bare, med(label, "text", "wall") / best_bare,
                             (med(label, "tshark", "wall") or 0) / fj if med(label, "tshark", "wall") else None,
                             (cpu_of("json") / best_bare_cpu, cpu_of("text") / best_bare_cpu) if best_bare_cpu else None,
                             cpu_of("tshark") / cpu_of("json") if cpu_of("tshark") and cpu_of("json") else None))

    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]

    def fmt(r):
        out = []
        for i, c in enumerate(r):
            out.append(c.ljust(widths[i]) if i < 2 else c.rjust(widths[i]))
        return "  ".join(out).rstrip()

    lines = [fmt(head), fmt(["-" * w for w in widths])]
    prev = None
    for r in rows:
        if prev is not None and r[0] != prev:
            lines.append("")
        prev = r[0]
        lines.append(fmt(r))
    su_f = med("startup", "json", "wall")
    su_b = med("startup", "bare", "wall")
    extra = []
    if su_f is not None:
        extra.append("start-up (empty capture, median of %d): fcgiscope %.1f ms, bare loop %.1f ms" % (
            len(runs[("startup", "json")]), su_f * 1000, (su_b or 0) * 1000))
    # targets
    largest = max((g["target_bytes"] for _, g in caps), default=0)
    for label, g, xj, xt, ts, xcpu, tscpu in verdicts:
        parts = ["%s: fcgiscope/bare wall %.2fx json, %.2fx text" % (label, xj, xt)]
        if xcpu:
            parts.append("(cpu %.2fx, %.2fx)" % xcpu)
        if g["target_bytes"] == largest:
            parts.append("(target <= 2x wall: %s)" % ("met" if max(xj, xt) <= 2 else "MISSED"))
        if ts is not None:
            parts.append("; tshark/fcgiscope wall %.1fx" % ts)
            if tscpu:
                parts.append("(cpu %.1fx)" % tscpu)
            if g["mss"] == 1448:
                parts.append("(target >= 20x: %s)" % ("met" if ts >= 20 else "MISSED"))
        extra.append(" ".join(parts))
    for (mss, tool), v in sorted(rss_by_mss.items()):
        if tool != "json" or len(v) < 1:
            continue
        rs = [x[2] for x in v]
        extra.append("peak RSS fcgiscope json, %s-byte segments: %s (target <= 32 MB: %s; same at every size: %s)" % (
            mss, ", ".join("%s %.1f MB" % (x[0], x[2]) for x in v),
            "met" if max(rs) <= 32 else "MISSED",
            "met" if max(rs) - min(rs) <= 1 else "MISSED (%.1f MB more)" % (max(rs) - min(rs))))
    if a.load_before:
        extra.append("load average (1, 5, 15 min) before: %s; after: %s" % (a.load_before, a.load_after))
    for fl in failed:
        extra.append("failed run: " + fl)
    print("\n".join(lines))
    print()
    print("\n".join(extra))

    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write("Run of %s (tree at %s), median of %s runs each, interleaved; command: `%s`\n\n" % (
                a.date, a.rev, a.reps, a.command))
            f.write("| " + " | ".join(head) + " |\n")
            f.write("|" + "|".join("---" if i < 2 else "---:" for i in range(len(head))) + "|\n")
            for r in rows:
                f.write("| " + " | ".join(r) + " |\n")
            f.write("\n")
            for e in extra:
                f.write("- " + e + "\n")


if __name__ == "__main__":
    sys.exit(main())
