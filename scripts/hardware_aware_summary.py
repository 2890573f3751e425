#!/usr/bin/env python3
"""Collects the run records `prunekit plan --compare DIR` wrote into the markdown table of
docs/hardware-aware.md and a Pareto chart (quality vs measured latency, one SVG per model).

usage: python3 scripts/hardware_aware_summary.py RUNS_DIR [CHART_DIR]

Reads only the records (schema prunekit.run v1); `prunekit report` draws the same chart from them.
"""
import json
import os
import re
import sys

runs = sys.argv[1]
charts = sys.argv[2] if len(sys.argv) > 2 else runs
records = []
for name in sorted(os.listdir(runs)):
    if not name.endswith(".json"):
        continue
    with open(os.path.join(runs, name)) as f:
        r = json.load(f)
    if r.get("schema") != "prunekit.run":
        continue
    m = re.match(r"^(.*)-([0-9.]+x|lat[0-9.]+)-(.*)\.json$", name)
    model = m.group(1) if m else name
    quality = r["accuracy"]["top1"] if "accuracy" in r else r["fidelity"]["mean"]
    metric = "test acc" if "accuracy" in r else "fidelity"
    lat = r["latency"]["p50_milliseconds"]
    dense = r["dense"]["p50_milliseconds"]
    pred = r.get("prediction", {}).get("milliseconds")
    target = r["label"].split(" ")[-1]
    records.append(dict(model=model, method=r["recipe"]["method"], target=target, metric=metric,
                        quality=quality, ms=lat, dense=dense, pred=pred, notes=r.get("notes", [""])[0]))

order = {"latency-aware": 0, "sensitivity by sparsity": 1, "uniform magnitude": 2}
print("| model | target | method | measured ms (speed-up) | predicted ms (error) | quality |")
print("|---|---|---|---|---|---|")
for r in sorted(records, key=lambda r: (r["model"], float(r["target"].rstrip("x")), order.get(r["method"], 9))):
    speed = r["dense"] / r["ms"]
    pred = "—"
    if r["pred"]:
        pred = "%.4g (%+.1f%%)" % (r["pred"], 100 * (r["pred"] - r["ms"]) / r["ms"])
    q = "%.2f%%" % (100 * r["quality"]) if r["metric"] == "test acc" else "%.4f" % r["quality"]
    name = "**%s**" % r["method"] if r["method"] == "latency-aware" else r["method"]
    print("| %s | %s | %s | %.4g (%.2f×) | %s | %s %s |" % (r["model"], r["target"], name, r["ms"], speed, pred, r["metric"], q))

# Every plan tried (each re-measure attempt of every plan file beside RUNS_DIR): the cost table's
# predicted whole-model latency vs the measured one.
plans = os.path.dirname(os.path.abspath(runs))
tried = {}
for name in sorted(os.listdir(plans)):
    if not name.endswith(".json"):
        continue
    try:
        with open(os.path.join(plans, name)) as f:
            p = json.load(f)
    except (OSError, ValueError):
        continue
    if p.get("schema") != "prunekit.plan":
        continue
    m = re.match(r"^(.*?)-[0-9.]+\.json$", name)
    for a in p["attempts"]:
        e = (a["predicted_milliseconds"] - a["measured_milliseconds"]) / a["measured_milliseconds"]
        tried.setdefault(m.group(1) if m else name, []).append(e)
if tried:
    print("\n| model | plans tried | mean \\|error\\| | max \\|error\\| | mean signed |")
    print("|---|---|---|---|---|")
    for model, es in sorted(tried.items()):
        print("| %s | %d | %.1f%% | %.1f%% | %+.1f%% |" % (model, len(es), 100 * sum(abs(e) for e in es) / len(es),
                                                       100 * max(abs(e) for e in es), 100 * sum(es) / len(es)))

colours = {"latency-aware": "#e15759", "sensitivity by sparsity": "#4e79a7", "uniform magnitude": "#59a14f"}
for model in sorted({r["model"] for r in records}):
    rs = [r for r in records if r["model"] == model]
    xs = [r["ms"] for r in rs]
    ys = [r["quality"] for r in rs]
    x0, x1 = 0, max(xs + [rs[0]["dense"]]) * 1.05
    y0, y1 = min(ys) - 0.02 * (max(ys) - min(ys) + 1e-3), max(ys) + 0.02 * (max(ys) - min(ys) + 1e-3)
    W, H, L, B = 560, 340, 70, 40
    def px(x): return L + (x - x0) / (x1 - x0) * (W - L - 20)
    def py(y): return H - B - (y - y0) / (y1 - y0) * (H - B - 30)
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">' % (W, H + 60)]
    out.append('<text x="%d" y="16" font-weight="bold">%s: %s vs measured latency (lower right is worse)</text>' % (L, model, rs[0]["metric"]))
    out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>' % (L, H - B, W - 20, H - B))
    out.append('<line x1="%d" y1="30" x2="%d" y2="%d" stroke="#333"/>' % (L, L, H - B))
    for i in range(5):
        xv = x0 + (x1 - x0) * i / 4
        yv = y0 + (y1 - y0) * i / 4
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%.3g</text>' % (px(xv), H - B + 14, xv))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%.4g</text>' % (L - 4, py(yv) + 4, yv))
    out.append('<text x="%d" y="%d" text-anchor="middle">measured ms per run</text>' % ((L + W) // 2, H - 8))
    xd = rs[0]["dense"]
    out.append('<line x1="%.1f" y1="30" x2="%.1f" y2="%d" stroke="#999" stroke-dasharray="4"/>' % (px(xd), px(xd), H - B))
    out.append('<text x="%.1f" y="40" text-anchor="end">dense</text>' % (px(xd) - 3))
    for r in rs:
        c = colours.get(r["method"], "#333")
        out.append('<circle cx="%.1f" cy="%.1f" r="5" fill="%s"><title>%s %s</title></circle>' % (px(r["ms"]), py(r["quality"]), c, r["method"], r["target"]))
        out.append('<text x="%.1f" y="%.1f" fill="%s">%s</text>' % (px(r["ms"]) + 7, py(r["quality"]) + 4, c, r["target"]))
    for i, (m, c) in enumerate(colours.items()):
        out.append('<circle cx="%d" cy="%d" r="5" fill="%s"/><text x="%d" y="%d">%s</text>' % (L + 10 + 170 * i, H + 20, c, L + 18 + 170 * i, H + 24, m))
    out.append("</svg>")
    path = os.path.join(charts, "pareto-%s.svg" % model)
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    print("chart: %s" % path, file=sys.stderr)
