"""Every inference solver and baseline side by side on one instance (``jqodi compare`` on a
``jqodi-inference/1`` file, SPEC §9).

Each row is one :func:`jqodi_opt.solve.solve` (so every plan has been through ``evaluate``): the
placement (layers per server, the tensors sent between servers), the bit-widths, pruning and
compression taken, latency, energy, device energy, accuracy drop, the instance's objective and its
gap to the **proven optimum** — the best objective among exact solvers that proved it (``optimal``);
when none did in the time limit, to the best exact plan found, with the best bound shown.
A solver that declines the instance (``dp`` on a DAG, ``exhaustive`` above its size limit) gets a
row saying why.

**Time limit.** Every solver gets :data:`DEFAULT_TIME_LIMIT` seconds unless the caller says
otherwise (``jqodi compare --time-limit``): a backend that cannot prove its answer in that time
reports ``time_limit`` with the best plan it has, so the table is never held for minutes by one
slow backend. ``time_limit=None`` lets every solver run to its end.

**The payoff table.** For the ``weighted`` objective (SPEC §7.3) the min–max normalisation uses the
instance's payoff table ``T*, E*, T^N, E^N`` — a property of the instance, not of a method. It is
computed **once**, before the solvers, by ``milp``'s four lexicographic single-objective stages
(:func:`~jqodi_opt.inference.solvers.baselines.instance_payoff`, under the same per-solver time
limit), and handed to every solver (``payoff=``): the baselines and ``qio`` then cost what their
own restricted search costs, every row's objective is on the same scale, and an exact solver's
row is its final weighted solve (``optimal`` only if the table was proven). The table, whether it
was proven and its time are in :attr:`InferenceComparison.payoff`.
"""

from __future__ import annotations

import inspect
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from jqodi_opt.exceptions import SolverRefused
from jqodi_opt.inference.problem import InferenceProblem
from jqodi_opt.result import Result, Status

#: Seconds each solver (and the payoff table) may take in :func:`compare_inference` by default.
DEFAULT_TIME_LIMIT = 10.0


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
    """All rows and the proven optimum they are measured against.

    When no exact solver proved its answer (in the time limit), ``optimum`` is None and the rows'
    ``gap_to_optimum`` are measured against ``best``, the best exact plan found (by
    ``best_solver``); ``best_bound`` is the best lower bound the exact solvers proved.
    """

    instance: str
    objective: str
    rows: list[ComparisonRow] = field(default_factory=list)
    optimum: float | None = None
    optimum_solver: str | None = None
    best: float | None = None
    best_solver: str | None = None
    best_bound: float | None = None
    time_limit: float | None = None
    payoff: dict[str, Any] | None = None

    def to_dict(self, problem: InferenceProblem) -> dict[str, Any]:
        """The ``compare --json`` document."""
        return {
            "instance": self.instance,
            "objective": self.objective,
            "time_limit_s": self.time_limit,
            "payoff": self.payoff,
            "optimum": self.optimum,
            "optimum_solver": self.optimum_solver,
            "best": self.best,
            "best_solver": self.best_solver,
            "best_bound": self.best_bound,
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


def takes_payoff(name: str) -> bool:
    """Whether solver ``name``'s backend takes the ``payoff`` option."""
    from jqodi_opt.solve import backend

    return "payoff" in inspect.signature(backend(name, "inference")).parameters


def compare_inference(
    problem: InferenceProblem,
    solvers: list[str] | None = None,
    time_limit: float | None = DEFAULT_TIME_LIMIT,
) -> InferenceComparison:
    """Runs ``solvers`` (default: all registered) on ``problem``, each with ``time_limit`` seconds
    (None: no limit), and measures each against the proven optimum (module docstring)."""
    from jqodi_opt.inference.solvers.baselines import instance_payoff
    from jqodi_opt.solve import INFERENCE_SOLVERS, solve

    names = solvers or default_solvers()
    comparison = InferenceComparison(problem.name, problem.objective, time_limit=time_limit)
    payoff = None
    no_table: tuple[Status, str] | None = None  # the weighted objective without a payoff table
    if problem.objective == "weighted" and any(takes_payoff(name) for name in names):
        start = time.perf_counter()
        table = instance_payoff(problem, time_limit)
        payoff = table.payoff
        comparison.payoff = {
            **({} if payoff is None else asdict(payoff)),
            "status": str(table.status),
            "solver": table.solver,
            "runtime_s": time.perf_counter() - start,
        }
        if payoff is None:
            why = f"the payoff table ({table.solver}) has no plan: {table.message or table.status}"
            no_table = (table.status, why)
    for name in names:
        info = INFERENCE_SOLVERS.get(name)
        exact = bool(info and info.exact)
        options: dict[str, Any] = {}
        if payoff is not None and takes_payoff(name):
            options["payoff"] = payoff
        elif no_table is not None and not exact:  # nothing to normalise a restriction by
            status = Status.TIME_LIMIT if no_table[0] is Status.TIME_LIMIT else Status.INFEASIBLE
            comparison.rows.append(ComparisonRow(name, exact, str(status), note=no_table[1]))
            continue
        try:
            result = solve(problem, name, time_limit=time_limit, **options)
        except SolverRefused as exc:
            comparison.rows.append(ComparisonRow(name, exact, "refused", note=str(exc)))
            continue
        comparison.rows.append(ComparisonRow(name, exact, str(result.status), result))
    exact_plans = [
        (row.result.objective, row.solver, row.result.status is Status.OPTIMAL)
        for row in comparison.rows
        if row.exact and row.result is not None and row.result.objective is not None
    ]
    proven = [(value, name) for value, name, optimal in exact_plans if optimal]
    if proven:
        comparison.optimum, comparison.optimum_solver = min(proven)
        reference = comparison.optimum
    elif exact_plans:  # no proof in time: gaps are to the best exact plan found, its bound shown
        comparison.best, comparison.best_solver, _ = min(exact_plans)
        bounds = [
            row.result.bound
            for row in comparison.rows
            if row.exact and row.result is not None and row.result.bound is not None
        ]
        comparison.best_bound = max(bounds) if bounds else None
        reference = comparison.best
    else:
        return comparison
    floor = 1.0 if problem.objective == "weighted" else 1e-12
    for row in comparison.rows:
        if row.result is not None and row.result.objective is not None:
            row.gap_to_optimum = (row.result.objective - reference) / max(abs(reference), floor)
    return comparison
