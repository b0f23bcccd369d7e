#!/usr/bin/env python3
"""Print the README's result tables from the committed reference runs (stdlib only).

    python3 scripts/readme_tables.py <experiment> <tier> [--metrics m1,m2] [--digits 3]

One row per configuration (group, config) of results/reference/<experiment>/<tier>/runs.csv, in
run order: params, seeds, mean +- sample std over seeds of each metric, and the runs' summed
wall time (the compute they took, not the elapsed time of a parallel sweep). The README's tables of
results are excerpts of these rows (tests/readme.rs checks the Figure 2 table against it).
"""
import argparse
import csv
import statistics
from collections import OrderedDict
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("experiment")
parser.add_argument("tier")
parser.add_argument("--metrics", default="test_auc,test_soma_rmse")
parser.add_argument("--digits", type=int, default=3)
parser.add_argument("--results", default=str(Path(__file__).resolve().parent.parent / "results" / "reference"))
args = parser.parse_args()

path = Path(args.results) / args.experiment / args.tier / "runs.csv"
rows = list(csv.DictReader(open(path)))
metrics = args.metrics.split(",")
configs = OrderedDict()
for r in rows:
    configs.setdefault((r["group"], r["config"]), []).append(r)

print(f"| group | config | params | seeds | {' | '.join(metrics)} | wall s |")
print("|---|---|---|---|" + "---|" * len(metrics) + "---|")
for (group, config), rs in configs.items():
    ok = [r for r in rs if r["status"] == "ok"]
    cells = []
    for m in metrics:
        values = [float(r[m]) for r in ok if r.get(m, "") != ""]
        if not values:
            cells.append("-")
            continue
        mean = statistics.fmean(values)
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        cells.append(f"{mean:.{args.digits}f} +- {std:.{args.digits}f}")
    wall = sum(float(r["wall_s"] or 0) for r in rs)
    print(f"| {group} | {config} | {int(rs[0]['params']):,} | {len(ok)} | {' | '.join(cells)} | {wall:.0f} |")
total = sum(float(r["wall_s"] or 0) for r in rows)
print(f"\n{len(rows)} runs, {total:.0f} s of training in all ({path})")
