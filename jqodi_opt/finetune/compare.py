"""Several solvers on one instance, side by side — in the spirit of the paper's Fig. 7.

For each solver and baseline: the chosen model and bits, the schedule, the planned energy and time,
the gap to the exact optimum, and — where the instance has ``truth`` curves — what the plan realises
when run against them (:mod:`jqodi_opt.finetune.simulate`), with whether the target and the time
limit were
met, and the runtime.

The exact optimum is the first exact solver in the list (``milp`` by default) that proves
optimality; gaps are ``(energy - optimum) / optimum``. A baseline whose restriction has no feasible
plan is reported as ``infeasible`` with its reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jqodi_opt.exceptions import SolverRefused
from jqodi_opt.finetune.instance import Instance
from jqodi_opt.finetune.learning import Estimator
from jqodi_opt.finetune.problem import compile_problem
from jqodi_opt.finetune.simulate import Simulation, has_truth, simulate
from jqodi_opt.result import Result, Status

#: The paper's line-up: Optimum, JQODI and the baselines.
DEFAULT_SOLVERS: tuple[str, ...] = (
    "milp",
    "jqodi",
    "full-model",
    "minimal-model",
    "all-local",
    "all-server",
    "static",
)

#: Names as the paper's figures use them.
LABELS: dict[str, str] = {
    "milp": "Optimum",
    "cpsat": "Optimum (CP-SAT)",
    "exhaustive": "Optimum (brute force)",
    "jqodi": "JQODI",
    "full-model": "Full Model",
    "minimal-model": "Minimal Model",
    "all-local": "All local",
    "all-server": "All server",
    "static": "Static",
}


@dataclass
class Row:
    """One solver's line of the comparison.

    Attributes
    ----------
    solver, label
        Registry name and display name.
    result
        What ``solve`` returned.
    gap
        ``(energy - optimum) / optimum`` when both exist.
    simulation
        The plan run against the truth curves, when the instance has one for the chosen pair.
    note
        Why there is no simulation (no plan, no truth curve).
    """

    solver: str
    label: str
    result: Result
    gap: float | None = None
    simulation: Simulation | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (one row of ``jqodi compare --json``)."""
        plan = self.result.plan
        sim = self.simulation
        return {
            "solver": self.solver,
            "label": self.label,
            "status": str(self.result.status),
            "model": plan.model if plan else None,
            "bits": plan.bits if plan else None,
            "schedule": plan.summary() if plan else None,
            "epochs": plan.num_epochs if plan else None,
            "energy_j": self.result.objective,
            "time_s": plan.time_s if plan else None,
            "final_loss": plan.final_loss if plan else None,
            "gap": self.gap,
            "sim_energy_j": sim.energy_j if sim else None,
            "sim_time_s": sim.time_s if sim else None,
            "sim_final_loss": sim.final_loss if sim else None,
            "sim_epochs": sim.epochs_run if sim else None,
            "target_met": sim.target_met if sim else None,
            "time_limit_met": sim.time_limit_met if sim else None,
            "runtime_s": self.result.runtime_s,
            "reasons": list(self.result.reasons),
            "note": self.note,
        }


@dataclass
class Comparison:
    """The rows of one comparison and the optimum they are measured against."""

    instance: str
    time_limit_s: float
    loss_limit: float
    rows: list[Row] = field(default_factory=list)
    reference: str | None = None
    optimum_j: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (``jqodi compare --json``)."""
        return {
            "instance": self.instance,
            "time_limit_s": self.time_limit_s,
            "loss_limit": self.loss_limit,
            "reference": self.reference,
            "optimum_j": self.optimum_j,
            "rows": [row.to_dict() for row in self.rows],
        }


def compare(
    instance: Instance,
    solvers: tuple[str, ...] | list[str] = DEFAULT_SOLVERS,
    time_limit: float | None = None,
    estimator: Estimator = "robust",
    exact: str = "milp",
    options: dict[str, dict[str, Any]] | None = None,
) -> Comparison:
    """Runs ``solvers`` on ``instance`` and simulates their plans against the truth curves.

    Parameters
    ----------
    instance
        The validated instance.
    solvers
        Registry names, in display order.
    time_limit
        Per-solver time limit (s).
    estimator
        Estimator that fixes the epoch counts.
    exact
        Exact solver the baselines use on their restricted problems.
    options
        Extra options per solver name, e.g. ``{"jqodi": {"time_buckets": 2000}}``.

    Raises
    ------
    ValueError
        For an unknown solver name.
    """
    from jqodi_opt.finetune.solvers.baselines import RESTRICTIONS
    from jqodi_opt.solve import SOLVERS, solve

    unknown = [name for name in solvers if name not in SOLVERS]
    if unknown:
        raise ValueError(
            f"unknown solver(s) {', '.join(unknown)}; choose from {', '.join(SOLVERS)}."
        )
    options = options or {}
    problem = compile_problem(instance, estimator)
    comparison = Comparison(instance.name, instance.limits.time_s, instance.limits.loss)
    for name in solvers:
        extra = dict(options.get(name, {}))
        try:
            if name in RESTRICTIONS:
                extra.setdefault("exact", exact)
            result = solve(problem, name, time_limit, **extra)
        except ImportError as exc:  # a backend (or its library) that is not installed
            result = Result(name, Status.ERROR, reasons=[f"not available: {exc}"],
                            instance_name=problem.name)  # fmt: skip
        except SolverRefused as exc:  # exhaustive above its size limit: a row, not an abort
            result = Result(name, Status.ERROR, reasons=[f"refused: {exc}"],
                            instance_name=problem.name)  # fmt: skip
        row = Row(name, LABELS.get(name, name), result)
        if (
            comparison.reference is None
            and SOLVERS[name].exact
            and result.status is Status.OPTIMAL
            and result.objective is not None
        ):
            comparison.reference, comparison.optimum_j = name, result.objective
        if result.plan is None:
            row.note = "no plan"
        elif not has_truth(instance, result.plan.model, result.plan.bits):
            row.note = f"no truth curve for {result.plan.model}@{result.plan.bits}"
        else:
            row.simulation = simulate(instance, result.plan)
        comparison.rows.append(row)
    if comparison.optimum_j is not None:
        for row in comparison.rows:
            if row.result.objective is not None:
                row.gap = relative_gap(row.result.objective, comparison.optimum_j)
    return comparison


def relative_gap(energy_j: float, optimum_j: float) -> float | None:
    """``(energy - optimum) / optimum``; 0 for equal values, None when the optimum is 0 alone."""
    if energy_j == optimum_j:
        return 0.0
    return (energy_j - optimum_j) / optimum_j if optimum_j > 0 else None
