"""JQODI's gap and CPU time at every size of the scaling suite, without the suite's time limit.

    python benchmarks/jqodi_sizes.py benchmarks/scaling.toml benchmarks/results/scaling/runs.csv \
        --out benchmarks/results/scaling/jqodi_sizes.csv

Regenerates each instance of the suite's ``jqodi`` runs (the same bytes as the runner: same spec,
same SHA-256), solves it with ``jqodi`` (defaults, no time limit), and records the CPU time of the
solve (``time.process_time``: on a shared machine, wall-clock time measures the other processes as
much as this one) and the gap to the best optimum proven by an exact solver in the published
``runs.csv`` (matched by instance SHA-256), or, for an instance not there (the generator has moved
on since), proven here by ``milp`` (counts formulation; ``optimum_by`` says which). The 1e9-pair
target points are skipped: JQODI's tree there is about 1e12 expansions (100 candidates x 10,000
epochs x 1,000 cells x 1,000 options).
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from pathlib import Path

import pandas as pd

from jqodi_opt.bench import families
from jqodi_opt.bench.suite import load_suite
from jqodi_opt.finetune.solvers.jqodi_kernel import warm_up
from jqodi_opt.solve import solve

#: Sizes skipped (epoch-option pairs above this): see the module docstring.
MAX_PAIRS = 2e8


def main() -> None:
    """Runs the measurement; one CSV row per instance."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", type=Path)
    parser.add_argument("published", type=Path, help="runs.csv with the exact solvers' optima")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    best = (
        pd.read_csv(args.published)
        .dropna(subset=["best_optimum"])
        .groupby("instance_hash")["best_optimum"]
        .min()
    )
    suite = load_suite(args.suite)
    specs = {run.instance: run for run in suite.runs if run.entry == "jqodi"}
    warm_up()
    rows = []
    for spec, run in specs.items():
        document = families.generate(spec.family, **spec.kwargs())
        digest = families.document_hash(document)
        problem = families.compile_document(spec.family, document)
        pairs = problem.num_epoch_options
        row = {"sweep": run.sweep, "axis_value": run.axis_value, "family": spec.family,
               "seed": spec.seed, "pairs": pairs, "instance_hash": digest}  # fmt: skip
        optimum, optimum_by = best.get(digest, math.nan), "published"
        if pairs > MAX_PAIRS:
            rows.append(row | {"status": "skipped"})
            continue
        if math.isnan(optimum):
            exact = solve(problem, "milp", time_limit=60)
            if exact.status.value == "optimal" and exact.objective is not None:
                optimum, optimum_by = exact.objective, "milp"
            else:
                optimum_by = "none"  # not proven within the limit: no gap
        started = time.process_time()
        result = solve(problem, "jqodi")
        cpu = time.process_time() - started
        gap = (result.objective - optimum) / optimum if result.objective is not None else math.nan
        rows.append(row | {"status": str(result.status), "cpu_s": cpu, "optimum": optimum,
                           "optimum_by": optimum_by, "objective": result.objective, "gap": gap,
                           "time_buckets": result.stats.get("time_buckets")})  # fmt: skip
        print(f"{run.sweep} {run.axis_value} s{spec.seed}: {result.status} {cpu:.3f} s CPU, "
              f"gap {gap:.3%}", flush=True)  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="", encoding="utf-8") as handle:
        names = list(dict.fromkeys(key for row in rows for key in row))
        writer = csv.DictWriter(handle, fieldnames=names)
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
