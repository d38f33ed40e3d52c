"""Headline figures for benchmarks/README.md from the results files (run from the repository root).

python benchmarks/headline.py benchmarks/results/gap.sqlite benchmarks/results/scaling.sqlite
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from jqodi_opt.bench.report import load


def gap_headline(path: str) -> None:
    runs = load(path)
    print(f"## gap: {len(runs)} runs, {runs['instance_hash'].nunique()} instances")
    proven = runs[runs["best_optimum"].notna()]["instance_hash"].nunique()
    print(f"instances with a proven optimum: {proven}")
    exact = runs[(runs["exact"] == 1) & (runs["status"] == "optimal")]
    spread = exact.groupby("instance_hash")["objective"].agg(lambda s: s.max() / s.min() - 1)
    print(f"largest disagreement between exact solvers' optima: {spread.max():.3g} (relative)")
    for entry, part in runs.groupby("entry"):
        gap = part["gap"].dropna() * 100
        if len(gap):
            print(
                f"{entry:14s} n={len(gap):4d} median {np.median(gap):.4f} % "
                f"p95 {np.quantile(gap, 0.95):.4f} % max {gap.max():.4f} % "
                f"(feasible {100 * part['has_plan'].mean():.1f} %)"
            )
    jq = runs[runs["entry"] == "jqodi"]
    worst = jq.sort_values("gap", ascending=False).head(3)
    print(worst[["instance_name", "gap", "objective", "best_optimum"]].to_string())


def scaling_headline(runs: pd.DataFrame) -> None:
    """Per sweep and solver entry: the largest sizes proved and finished, and median runtimes."""
    print(f"## scaling: {len(runs)} runs")
    for (sweep, entry), part in runs.groupby(["sweep", "entry"]):
        by_size = part.groupby("epoch_option_pairs")
        proven = [int(str(s)) for s, g in by_size if (g["status"] == "optimal").all()]
        done = [int(str(s)) for s, g in by_size if g["status"].isin(["optimal", "feasible"]).all()]
        median = by_size["time_s"].median()
        print(
            f"{sweep:11s} {entry:12s} largest all-optimal {max(proven) if proven else '-':>12} "
            f"largest all-finished {max(done) if done else '-':>12}  "
            + " ".join(f"{float(str(k)):.0e}:{v:.2f}s" for k, v in median.items())
        )
    for sweep in runs["sweep"].unique():
        part = runs[runs["sweep"] == sweep]
        table = part.pivot_table(
            index="epoch_option_pairs", columns="entry", values="time_s", aggfunc="median"
        )
        status = part.pivot_table(
            index="epoch_option_pairs",
            columns="entry",
            values="status",
            aggfunc=lambda s: ",".join(sorted(set(s))),
        )
        print(f"\n{sweep}\n{table.round(3).to_string()}\n{status.to_string()}")


def _cell(group: pd.DataFrame) -> str:
    """Median runtime of a size's seeds; ``(k/n)`` when only k of n finished (proved, for an exact
    solver), ``TL`` when none did."""
    done = group["status"] == ("optimal" if bool(group["exact"].iloc[0]) else "feasible")
    if not done.any():
        return "TL"
    median = f"{group['time_s'].median():.3g}"
    return median if done.all() else f"{median} ({int(done.sum())}/{len(group)})"


def scaling_markdown(runs: pd.DataFrame) -> None:
    """One markdown table per sweep: axis value, median pairs, then a cell per solver entry."""
    for sweep in runs["sweep"].unique():
        part = runs[runs["sweep"] == sweep]
        entries = sorted(part["entry"].unique())
        print(f"\n#### {sweep}\n")
        print("| size | pairs | " + " | ".join(entries) + " |")
        print("|---" * (len(entries) + 2) + "|")
        for _, row in part.groupby("axis_index"):
            label = str(row["axis_value"].iloc[0])
            pairs = f"{row['epoch_option_pairs'].median():.2g}"
            cells = [
                _cell(row[row["entry"] == entry]) if (row["entry"] == entry).any() else "–"
                for entry in entries
            ]
            print(f"| {label} | {pairs} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    gap_headline(sys.argv[1])
    if len(sys.argv) > 2:
        scaling = load(sys.argv[2])
        scaling_headline(scaling)
        scaling_markdown(scaling)
