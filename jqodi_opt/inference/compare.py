"""Every inference solver and baseline side by side on one instance (``jqodi compare`` on a
``jqodi-inference/1`` file, SPEC §9).

Each row is one :func:`jqodi_opt.solve.solve` (so every plan has been through ``evaluate``): the
placement (layers per server, the tensors sent between servers), the bit-widths, pruning and
compression taken, latency, energy, device energy, accuracy drop, the instance's objective and its
gap to the **proven optimum** — the best objective among exact solvers that proved it (``optimal``).
A solver that declines the instance (``dp`` on a DAG, ``exhaustive`` above its size limit) gets a
row saying why.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jqodi_opt.exceptions import SolverRefused
from jqodi_opt.inference.problem import InferenceProblem
from jqodi_opt.result import Result, Status


@dataclass
class ComparisonRow:
    """One solver's outcome on the instance."""

    solver: str
    exact: bool
    status: str
    result: Result | None = None
    gap_to_optimum: float | None = None
    note: str = ""

    def to_dict(self, problem: InferenceProblem) -> dict[str, Any]:
        """JSON-ready row (``compare --json``)."""
        doc: dict[str, Any] = {"solver": self.solver, "exact": self.exact, "status": self.status}
        if self.note:
            doc["note"] = self.note
        if self.result is not None:
            doc["runtime_s"] = self.result.runtime_s
            plan = self.result.plan
            if plan is not None:
                doc.update(placement_summary(problem, plan))
                doc.update(
                    objective=self.result.objective,
                    latency_s=plan.latency_s,
                    energy_j=plan.energy_j,
                    device_energy_j=plan.device_energy_j,
                    accuracy_drop=plan.accuracy_drop,
                    gap_to_optimum=self.gap_to_optimum,
                    plan=plan.to_dict(),
                )
            else:
                doc["reasons"] = list(self.result.reasons)
        return doc


@dataclass
class InferenceComparison:
    """All rows and the proven optimum they are measured against."""

    instance: str
    objective: str
    rows: list[ComparisonRow] = field(default_factory=list)
    optimum: float | None = None
    optimum_solver: str | None = None

    def to_dict(self, problem: InferenceProblem) -> dict[str, Any]:
        """The ``compare --json`` document."""
        return {
            "instance": self.instance,
            "objective": self.objective,
            "optimum": self.optimum,
            "optimum_solver": self.optimum_solver,
            "rows": [row.to_dict(problem) for row in self.rows],
        }


def placement_summary(problem: InferenceProblem, plan: Any) -> dict[str, Any]:
    """Layers per server, the tensors sent (cut tensors), and how many layers take each bit-width,
    pruning ratio and (sent) compression ratio."""
    from jqodi_opt.inference.costs import tensor_destinations
    from jqodi_opt.inference.plan import assignment_of

    assignment = assignment_of(problem, plan)
    sent = np.asarray(tensor_destinations(problem, assignment.server).any(axis=1), dtype=bool)
    per_server = Counter(c.server for c in plan.layers)
    compression: Counter[float] = Counter()
    for t in range(problem.num_tensors):
        if sent[t]:
            ratio = plan.input_compression if t == 0 else plan.layers[t - 1].compression
            compression[ratio] += 1
    return {
        "layers_per_server": {s: per_server[s] for s in problem.servers if per_server[s]},
        "cut_tensors": [problem.tensors[t] for t in range(problem.num_tensors) if sent[t]],
        "bits": dict(sorted(Counter(c.bits for c in plan.layers).items())),
        "pruning": dict(sorted(Counter(c.pruning for c in plan.layers).items())),
        "compression": dict(sorted(compression.items())),
    }


def default_solvers() -> list[str]:
    """Every registered inference solver, exact ones first."""
    from jqodi_opt.solve import INFERENCE_SOLVERS

    exact = [n for n, info in INFERENCE_SOLVERS.items() if info.exact]
    return exact + [n for n, info in INFERENCE_SOLVERS.items() if not info.exact]


def compare_inference(
    problem: InferenceProblem, solvers: list[str] | None = None, time_limit: float | None = None
) -> InferenceComparison:
    """Runs ``solvers`` (default: all registered) on ``problem`` and measures each against the
    proven optimum."""
    from jqodi_opt.solve import INFERENCE_SOLVERS, solve

    names = solvers or default_solvers()
    comparison = InferenceComparison(problem.name, problem.objective)
    for name in names:
        info = INFERENCE_SOLVERS.get(name)
        exact = bool(info and info.exact)
        try:
            result = solve(problem, name, time_limit=time_limit)
        except SolverRefused as exc:
            comparison.rows.append(ComparisonRow(name, exact, "refused", note=str(exc)))
            continue
        comparison.rows.append(ComparisonRow(name, exact, str(result.status), result))
    proven = [
        (row.result.objective, row.solver)
        for row in comparison.rows
        if row.exact
        and row.result is not None
        and row.result.status is Status.OPTIMAL
        and row.result.objective is not None
    ]
    if proven:
        comparison.optimum, comparison.optimum_solver = min(proven)
        floor = 1.0 if problem.objective == "weighted" else 1e-12
        for row in comparison.rows:
            if row.result is not None and row.result.objective is not None:
                assert comparison.optimum is not None
                row.gap_to_optimum = (row.result.objective - comparison.optimum) / max(
                    abs(comparison.optimum), floor
                )
    return comparison
