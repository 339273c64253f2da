#!/usr/bin/env python3
"""table.py — turns run.sh's raw measurements into the benchmark table (medians, rates, ratios, targets).

Normative reference: issue 6 (what the table shows and the targets);
bench/run.sh (the results.tsv lines: label, tool, "benchrun: wall=..").
"""
import argparse
import json
import statistics
import sys

TOOLS = ["bare", "bare+buf", "json", "text", "tshark"]
NAMES = {
    "bare": "bare pcap_next_ex loop",
    "bare+buf": "bare loop, 64 KiB stdio buffer",
    "json": "fcgiscope -f json",
    "text": "fcgiscope (text report)",
    "tshark": "tshark fcgi io,stat",
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
            "x bare", "tshark/fcgiscope"]
    rows = []
    verdicts = []
    rss_by_mss = {}
    for label, g in caps:
        mb = g["file_bytes"] / 1e6
        bare = [med(label, t, "wall") for t in ("bare", "bare+buf")]
        bare = [b for b in bare if b is not None]
        best_bare = min(bare) if bare else None
        fj = med(label, "json", "wall")
        for tool in TOOLS:
            w = med(label, tool, "wall")
            if w is None:
                continue
            cpu = statistics.median(r["user"] + r["sys"] for r in runs[(label, tool)])
            rss = med(label, tool, "maxrss_kb") / 1024
            xb = ""
            if tool in ("json", "text") and best_bare:
                xb = "%.2fx" % (w / best_bare)
            ts = ""
            if tool == "tshark" and fj:
                ts = "%.1fx" % (w / fj)
            desc = "%.0f MB, %s B segs, %s" % (mb, g["mss"], "ns" if g["precision"] == "nanosecond" else "us")
            rows.append([desc, NAMES[tool], "%.3f" % w, "%.3f" % cpu, "%.0f" % (mb / w),
                         "%.3g" % (g["packets"] / w), "%.3g" % (g["requests"] / w),
                         "%.1f MB" % rss, xb, ts])
            if tool in ("json", "text"):
                rss_by_mss.setdefault((g["mss"], tool), []).append((label, g["file_bytes"], rss))
        if fj and best_bare:
            verdicts.append((label, g, fj / best_bare, med(label, "text", "wall") / best_bare,
                             (med(label, "tshark", "wall") or 0) / fj if med(label, "tshark", "wall") else None))

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
    largest = max((g["file_bytes"] for _, g in caps), default=0)
    for label, g, xj, xt, ts in verdicts:
        parts = ["%s: fcgiscope/bare %.2fx json, %.2fx text" % (label, xj, xt)]
        if g["file_bytes"] == largest:
            parts.append("(target <= 2x: %s)" % ("met" if max(xj, xt) <= 2 else "MISSED"))
        if ts is not None:
            parts.append("; tshark/fcgiscope %.1fx (target >= 20x: %s)" % (ts, "met" if ts >= 20 else "MISSED"))
        extra.append(" ".join(parts))
    for (mss, tool), v in sorted(rss_by_mss.items()):
        if tool != "json" or len(v) < 1:
            continue
        rs = [x[2] for x in v]
        extra.append("peak RSS fcgiscope json, %s-byte segments: %s (target <= 32 MB and size-independent: %s)" % (
            mss, ", ".join("%s %.1f MB" % (x[0], x[2]) for x in v),
            "met" if max(rs) <= 32 and max(rs) - min(rs) <= 2 else "MISSED"))
    if a.load_before:
        extra.append("load average (1, 5, 15 min) before: %s; after: %s" % (a.load_before, a.load_after))
    for fl in failed:
        extra.append("failed run: " + fl)
    print("\n".join(lines))
    print()
    print("\n".join(extra))

    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write("Run of %s, median of %s runs each, interleaved; command: `%s`\n\n" % (
                a.date, a.reps, a.command))
            f.write("| " + " | ".join(head) + " |\n")
            f.write("|" + "|".join("---" if i < 2 else "---:" for i in range(len(head))) + "|\n")
            for r in rows:
                f.write("| " + " | ".join(r) + " |\n")
            f.write("\n")
            for e in extra:
                f.write("- " + e + "\n")


if __name__ == "__main__":
    sys.exit(main())
