"""Several solvers on one instance, side by side — in the spirit of the paper's Fig. 7.

For each solver and baseline: the chosen model and bits, the schedule, the planned energy and time,
the gap to the exact optimum, and — where the instance has ``truth`` curves — what the plan realises
when run against them (:mod:`jqodi_opt.finetune.simulate`), with whether the target and the time
limit were
met, and the runtime.

The exact optimum is the first exact solver in the list (``milp`` by default) that proves
optimality; gaps are ``(energy - optimum) / optimum``. A baseline whose restriction has no feasible
plan is reported as ``infeasible`` with its reasons.

**A row that cannot meet ``T_max``** (status ``infeasible`` while some pair of its option set can
learn) also gets an :class:`Overrun`: the plan the paper would draw for it. The paper reports such a
strategy by the plan its brute force picks with the time limit dropped and energy still the
objective: its Data 1 *Full Model* is the full-precision VGG-like at partition point 1 on the
RTX 4090, "19091 J and 330.86 s, much longer than our acceptable range" (§V-C, Fig. 7c), and the
fastest placement would have been partition point 0. So the overrun plan is the **least-energy
plan of the row's own option set without the time limit** (ties: the faster one), with
``time_s / T_max``; the least time any plan of that set needs is given too, as a lower bound on the
overrun. Without the time constraint the problem of SPEC §1.3 separates by epoch, so the exact
optimum is ``E_c + K_c * min_o e(c, o)`` per candidate, minimised over candidates: computed in
closed form (:func:`least_energy_ignoring_time`), no solver needed. A row whose option set has no
pair that can learn (the paper's Data 1 *Minimal Model*, "fails to reach the target loss") has no
overrun plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jqodi_opt.exceptions import SolverRefused
from jqodi_opt.finetune.instance import Instance
from jqodi_opt.finetune.learning import Estimator
from jqodi_opt.finetune.plan import Plan, make_plan
from jqodi_opt.finetune.problem import TIME_TOLERANCE, Problem, compile_problem
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


@dataclass(frozen=True)
class Overrun:
    """The least-energy plan of a row's option set when no plan of it meets ``T_max``.

    Attributes
    ----------
    plan
        The least-energy plan without the time limit (ties: least time), in full-problem terms.
    time_limit_s
        ``T_max`` it was measured against.
    fastest_time_s
        The least time any plan of the same option set needs (quantization included).
    """

    plan: Plan
    time_limit_s: float
    fastest_time_s: float

    @property
    def energy_j(self) -> float:
        """Energy of the plan (J)."""
        assert self.plan.energy_j is not None
        return self.plan.energy_j

    @property
    def time_s(self) -> float:
        """Time of the plan (s)."""
        assert self.plan.time_s is not None
        return self.plan.time_s

    @property
    def time_ratio(self) -> float:
        """``time_s / T_max``: by how much the plan overruns (> 1)."""
        return self.time_s / self.time_limit_s

    @property
    def fastest_ratio(self) -> float:
        """``fastest_time_s / T_max``: the least overrun of any plan of the option set (> 1)."""
        return self.fastest_time_s / self.time_limit_s

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (the ``overrun`` field of a ``jqodi compare --json`` row)."""
        return {
            "model": self.plan.model,
            "bits": self.plan.bits,
            "schedule": self.plan.summary(),
            "epochs": self.plan.num_epochs,
            "energy_j": self.energy_j,
            "time_s": self.time_s,
            "time_ratio": self.time_ratio,
            "fastest_time_s": self.fastest_time_s,
            "fastest_ratio": self.fastest_ratio,
            "time_limit_met": False,
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
    overrun
        For a row with no plan within ``T_max`` although some pair of its option set can learn:
        its least-energy plan without the time limit (see the module docstring).
    overrun_gap
        ``(overrun energy - optimum) / optimum`` when both exist.
    """

    solver: str
    label: str
    result: Result
    gap: float | None = None
    simulation: Simulation | None = None
    note: str = ""
    overrun: Overrun | None = None
    overrun_gap: float | None = None

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
            "overrun": self.overrun.to_dict() if self.overrun else None,
            "overrun_gap": self.overrun_gap,
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
            if result.status is Status.INFEASIBLE:
                row.overrun = least_energy_ignoring_time(problem, name)
                if row.overrun is not None:
                    row.note = "no plan within T_max"
        elif not has_truth(instance, result.plan.model, result.plan.bits):
            row.note = f"no truth curve for {result.plan.model}@{result.plan.bits}"
        else:
            row.simulation = simulate(instance, result.plan)
        comparison.rows.append(row)
    if comparison.optimum_j is not None:
        for row in comparison.rows:
            if row.result.objective is not None:
                row.gap = relative_gap(row.result.objective, comparison.optimum_j)
            if row.overrun is not None:
                row.overrun_gap = relative_gap(row.overrun.energy_j, comparison.optimum_j)
    return comparison


def option_set(problem: Problem, solver: str) -> tuple[Problem, list[int], list[np.ndarray]]:
    """The option set a solver chooses from: the baseline's restriction, or the whole problem.

    Returns the (restricted) problem and, per restricted candidate, its index in ``problem`` and
    the full-problem indices of its options. ``static`` chooses one option of the whole problem,
    which without a time limit is no restriction on the least-energy plan (that plan uses one
    option for every epoch anyway).
    """
    from jqodi_opt.finetune.solvers.baselines import RESTRICTIONS

    if solver in RESTRICTIONS:
        restriction = RESTRICTIONS[solver](problem)
        return restriction.problem, list(restriction.candidates), list(restriction.options)
    every = [np.arange(c.num_options) for c in problem.candidates]
    return problem, list(range(len(problem.candidates))), every


def least_energy_ignoring_time(problem: Problem, solver: str) -> Overrun | None:
    """The exact least-energy plan of ``solver``'s option set with the time limit dropped.

    Without ``sum_k t(c, o_k) <= T_max`` the objective ``E_c + sum_k e(c, o_k)`` of SPEC §1.3
    separates by epoch, so every epoch takes the least-energy option ``o*`` of its candidate
    (ties: the faster one, then the lower index) and the candidate with the least
    ``E_c + K_c * e(c, o*)`` wins (ties: less time, then the earlier candidate). None when the
    option set has no candidate (no pair in it can learn) or when some plan of it meets
    ``T_max`` (then there is no overrun to report).
    """
    sub, originals, options = option_set(problem, solver)
    if not sub.candidates:
        return None
    fastest = min(cand.min_time_s for cand in sub.candidates)
    if fastest <= problem.time_limit_s * (1 + TIME_TOLERANCE):
        return None
    best: tuple[float, float, int, int] | None = None
    for c, cand in enumerate(sub.candidates):
        # least energy, then least time, then lowest index (np.lexsort: last key is primary)
        o = int(np.lexsort((np.arange(cand.num_options), cand.option_time_s,
                            cand.option_energy_j))[0])  # fmt: skip
        energy = cand.quantize_energy_j + cand.epochs * float(cand.option_energy_j[o])
        time_s = cand.quantize_time_s + cand.epochs * float(cand.option_time_s[o])
        if best is None or (energy, time_s) < (best[0], best[1]):
            best = (energy, time_s, c, o)
    assert best is not None
    _, _, c, o = best
    full = originals[c]
    counts = np.zeros(problem.candidates[full].num_options, dtype=np.int64)
    counts[options[c][o]] = sub.candidates[c].epochs
    plan = make_plan(problem, full, counts, solver=solver, status="over_time_limit")
    return Overrun(plan, problem.time_limit_s, fastest)


def relative_gap(energy_j: float, optimum_j: float) -> float | None:
    """``(energy - optimum) / optimum``; 0 for equal values, None when the optimum is 0 alone."""
    if energy_j == optimum_j:
        return 0.0
    return (energy_j - optimum_j) / optimum_j if optimum_j > 0 else None
