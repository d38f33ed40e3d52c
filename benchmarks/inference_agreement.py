"""The exact inference solvers against each other and ``exhaustive`` on many random small instances.

The test suite runs the same cross-check under hypothesis with a few dozen examples; this script
runs it at scale for the published figure (issue 11): ``N`` seeds, each knob (bits, pruning,
compression, accuracy budget, interactions, memory, limits, chain or DAG, sparse links) and the
objective drawn from the seed, every exact backend solved, and each compared with ``exhaustive``:
same status, and optimal values equal to 1e-6 relative. Run from the repository root::

    python benchmarks/inference_agreement.py 300 --out benchmarks/results/inference-agreement.csv
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jqodi_opt.exceptions import SolverRefused
from jqodi_opt.inference import build_inference, compile_inference
from jqodi_opt.result import Status
from jqodi_opt.solve import solve
from tests.inference_random import random_inference

EXACT = ("milp", "cpsat", "dp", "dag-dp")
OBJECTIVES: list[Any] = [
    "latency",
    "energy",
    "device-energy",
    {"weighted": {"latency": 1.0, "energy": 2.0}},
]
KNOBS = ("bits", "pruning", "compression", "accuracy", "interactions", "memory", "limits")


def draw(seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The instance document of ``seed`` and the switches it was drawn with."""
    rng = np.random.default_rng(10_000 + seed)
    knobs = {name: bool(rng.integers(2)) for name in KNOBS}
    dag = bool(rng.integers(2))
    sparse = bool(rng.integers(4) == 0)
    objective = OBJECTIVES[int(rng.integers(len(OBJECTIVES)))]
    document = random_inference(
        seed,
        layers=3 if dag else int(rng.integers(2, 4)),
        servers=3,
        dag=dag,
        objective=objective,
        sparse_links=sparse,
        **knobs,
    )
    label = {"dag": dag, "sparse_links": sparse, "objective": str(objective), **knobs}
    return document, label


def agree(a: float, b: float, floor: float) -> bool:
    """Equal to 1e-6 relative (``floor`` keeps values near 0 from dividing by 0)."""
    return abs(a - b) <= 1e-6 * max(abs(a), abs(b), floor)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, nargs="?", default=300)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rows = []
    agreed = {name: 0 for name in EXACT}
    compared = {name: 0 for name in EXACT}
    start = time.perf_counter()
    for seed in range(args.count):
        document, label = draw(seed)
        problem = compile_inference(build_inference(document))
        reference = solve(problem, "exhaustive")
        floor = 1.0 if label["objective"].startswith("{") else 1e-12
        row: dict[str, Any] = {"seed": seed, **label, "exhaustive": str(reference.status)}
        for name in EXACT:
            try:
                result = solve(problem, name)
            except SolverRefused:
                row[name] = "refused"
                continue
            same = result.status is reference.status
            if same and reference.status is Status.OPTIMAL:
                assert result.objective is not None and reference.objective is not None
                same = agree(result.objective, reference.objective, floor)
            compared[name] += 1
            agreed[name] += int(same)
            row[name] = "agrees" if same else f"DIFFERS {result.status} {result.objective}"
        rows.append(row)
    seconds = time.perf_counter() - start
    infeasible = sum(r["exhaustive"] == "infeasible" for r in rows)
    for name in EXACT:
        print(f"{name}: agrees with exhaustive on {agreed[name]} of {compared[name]} instances")
    print(f"{len(rows)} instances ({infeasible} infeasible by exhaustive) in {seconds:.0f} s")
    if args.out is not None:
        with args.out.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    if any(agreed[n] != compared[n] for n in EXACT):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
