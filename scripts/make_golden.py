#!/usr/bin/env python3
"""Regression goldens from a committed reference run (stdlib only).

    scripts/make_golden.py results/reference/<experiment>/<tier>/runs.csv > golden/<experiment>.<tier>.toml

One entry per configuration (group + config) and metric: `expected` is the mean over the
reference seeds, `tolerance` three standard deviations of that spread (sample std), at least
`--floor` of the mean's magnitude (so a configuration whose seeds agree closely still allows
rounding-level drift). `--bound` lines add the paper's claims as inequalities, e.g.
`--bound 'test_soma_rmse:group=branch-elm<group=elm-simplest'` (several keys joined by `&`); a
`~m` suffix allows a margin m ("at least level with": `acc:group=a>group=b~0.02`).
"""
import argparse
import csv
import statistics
import sys
from collections import OrderedDict

parser = argparse.ArgumentParser()
parser.add_argument("runs_csv")
parser.add_argument("--metrics", default="test_auc,test_soma_rmse,valid_soma_rmse")
parser.add_argument("--floor", type=float, default=0.01)
parser.add_argument("--sigmas", type=float, default=3.0)
parser.add_argument("--bound", action="append", default=[])
parser.add_argument("--provenance", required=True)
args = parser.parse_args()

rows = [r for r in csv.DictReader(open(args.runs_csv)) if r["status"] == "ok"]
if not rows:
    sys.exit(f"{args.runs_csv}: no finished runs")
groups = OrderedDict()
for r in rows:
    groups.setdefault((r["group"], r["config"]), []).append(r)

def toml_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

first = rows[0]
print(f"# Regression goldens for {first['experiment']} at tier {first['tier']}, made by scripts/make_golden.py")
print(f"# from {args.runs_csv} ({len(rows)} finished runs; data: {first['data_source']}).")
print(f"# expected = mean over seeds; tolerance = max({args.sigmas} x sample std, {args.floor} x |mean|).")
print(f"# Provenance: {args.provenance}\n")
for (group, config), rs in groups.items():
    seeds = len(rs)
    for metric in args.metrics.split(","):
        values = [float(r[metric]) for r in rs if r[metric] != ""]
        if not values:
            continue
        mean = statistics.fmean(values)
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        tol = max(args.sigmas * std, args.floor * abs(mean))
        print("[[entry]]")
        print(f"selector = {{ group = {toml_str(group)}, config = {toml_str(config)} }}")
        print(f"metric = {toml_str(metric)}")
        print(f"expected = {mean:.6f}")
        print(f"tolerance = {tol:.6f}")
        print(f"provenance = {toml_str(f'{args.provenance}; {seeds} seeds, std {std:.6f}')}\n")
for bound in args.bound:
    metric, rest = bound.split(":", 1)
    margin = None
    if "~" in rest:
        rest, margin = rest.rsplit("~", 1)
    op = "<" if "<" in rest else ">"
    left, right = rest.split(op)
    sel = lambda text: "{ " + ", ".join(f"{k} = {toml_str(v)}" for k, v in (kv.split("=", 1) for kv in text.split("&"))) + " }"
    print("[[entry]]")
    print(f"selector = {sel(left)}")
    print(f"metric = {toml_str(metric)}")
    print(f"{'less_than' if op == '<' else 'greater_than'} = {sel(right)}")
    if margin is not None:
        print(f"margin = {float(margin)}")
    print(f"provenance = {toml_str('claim of the paper: ' + bound)}\n")
