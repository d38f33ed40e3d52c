"""What every solver returns: :class:`Result` (and, inside a backend, :class:`SolverOutput`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from jqodi_opt.finetune.plan import FORMAT as PLAN_FORMAT

#: Slack on the optimality gap when checking an ``optimal`` claim against the evaluated objective:
#: CP-SAT's scaling (about 1e-9 relative) and HiGHS's feasibility tolerance (5e-10) move a bound by
#: far less than this.
BOUND_SLACK = 1e-8


class Status(str, Enum):
    """Outcome of a solve (SPEC §2). ``OPTIMAL`` is reported only with a proof."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    TIME_LIMIT = "time_limit"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


@dataclass
class SolverOutput:
    """What a backend hands back to :func:`jqodi_opt.solve.solve`, in the problem's index space.

    Attributes
    ----------
    status
        Translated from the backend's native status through an explicit table.
    candidate
        Index of the chosen candidate, or None when there is no plan.
    option_epochs
        Epochs per option of that candidate (sums to ``K_c``), or None.
    bound
        Best lower bound on the energy, where the backend has one.
    build_time_s, solve_time_s
        Time to build the model and to solve it.
    stats
        Backend statistics (variables, constraints, nodes, native status, ...).
    message
        A human-readable note (e.g. why there is no plan).
    reasons
        For ``infeasible`` from a solver that is not exact (a baseline's restriction, a heuristic
        that found nothing): why, one line each. Exact solvers leave it empty; their reasons come
        from :meth:`~jqodi_opt.finetune.problem.Problem.infeasibility_reasons`.
    """

    status: Status
    candidate: int | None = None
    option_epochs: np.ndarray | None = None
    bound: float | None = None
    build_time_s: float = 0.0
    solve_time_s: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    reasons: list[str] = field(default_factory=list)


@dataclass
class Result:
    """The outcome of :func:`jqodi_opt.solve.solve`, the same for every solver.

    Attributes
    ----------
    solver
        Solver name.
    status
        See :class:`Status`.
    plan
        The best plan found (None when none), already checked by ``evaluate``: a fine-tuning
        :class:`~jqodi_opt.finetune.plan.Plan` or an inference
        :class:`~jqodi_opt.inference.plan.InferencePlan` (see ``family``).
    objective
        The objective's value for the plan as recomputed by ``evaluate``: total energy (J) for
        fine-tuning; the instance's objective (latency s, energy J, device energy J or the
        normalised weighted value) for inference.
    bound
        Best lower bound on the objective, where the solver has one.
    gap
        ``(objective - bound) / objective`` where both exist.
    build_time_s, solve_time_s
        Model build and solve time; ``runtime_s`` is their sum.
    stats
        Solver statistics.
    reasons
        For ``infeasible``: why each candidate fails. Otherwise messages from the solver.
    family
        ``"finetune"`` or ``"inference"``: which problem family the plan belongs to.
    """

    solver: str
    status: Status
    plan: Any = None
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    build_time_s: float = 0.0
    solve_time_s: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    instance_name: str = ""
    family: str = "finetune"

    @property
    def runtime_s(self) -> float:
        """Build plus solve time."""
        return self.build_time_s + self.solve_time_s

    def is_feasible(self) -> bool:
        """True when a plan was found."""
        return self.plan is not None

    def to_plan_document(self) -> dict[str, Any]:
        """The ``jqodi-plan/1`` document for ``solve --json`` / ``--out`` (SPEC §3.2, §4); for an
        inference result the ``jqodi-inference-plan/1`` document (SPEC §7.5)."""
        if self.family == "inference":
            from jqodi_opt.inference.solvers.finish import no_plan_document

            return no_plan_document(self) if self.plan is None else self.plan.to_dict()
        if self.plan is None:
            doc: dict[str, Any] = {
                "format": PLAN_FORMAT,
                "instance": self.instance_name,
                "solver": self.solver,
                "status": str(self.status),
                "reasons": list(self.reasons),
                "runtime_s": self.runtime_s,
            }
            if self.bound is not None and math.isfinite(self.bound):
                doc["bound_j"] = self.bound
            return doc
        document: dict[str, Any] = self.plan.to_dict()  # stamped once, by solve.finish
        return document

    def summary(self) -> str:
        """One line: status, energy, time, solver, runtime."""
        if self.plan is None:
            return f"{self.solver}: {self.status} (no plan) in {self.runtime_s:.3f} s"
        if self.family == "inference":
            gap = f", gap {self.gap:.2%}" if self.gap is not None else ""
            return (
                f"{self.solver}: {self.status}, {self.plan.objective} {self.objective:.6g}, "
                f"{self.plan.latency_s:.6g} s, {self.plan.energy_j:.6g} J{gap}, "
                f"in {self.runtime_s:.3f} s"
            )
        gap = f", gap {self.gap:.2%}" if self.gap is not None else ""
        return (
            f"{self.solver}: {self.status}, {self.plan.model}@{self.plan.bits}, "
            f"{self.objective:.6g} J, {self.plan.time_s:.6g} s{gap}, in {self.runtime_s:.3f} s"
        )


def settle_proof(
    result: Result,
    value: float,
    bound: float | None,
    claimed_optimal: bool,
    *,
    gap_limit: float,
    floor: float = 1e-12,
    unit: str = "",
) -> None:
    """Sets ``result``'s bound and gap from the evaluated objective ``value``, and downgrades an
    ``optimal`` claim to ``feasible`` (with the reason) when the bound is not within
    ``gap_limit`` (+ :data:`BOUND_SLACK`): never optimal without proof. Shared by both families.

    Parameters
    ----------
    result
        Its ``status`` is the backend's; ``bound``, ``gap``, ``status`` and ``reasons`` are set.
    value
        The plan's objective as recomputed by the family's ``evaluate``.
    bound
        The backend's lower bound, if any.
    claimed_optimal
        Whether the backend reported ``optimal`` (then a missing bound is the value itself).
    gap_limit
        The relative gap that counts as proven (``OPTIMALITY_GAP``).
    floor
        Smallest denominator of the relative gap.
    unit
        Appended to numbers in the reason (``" J"``).
    """
    if bound is not None and math.isfinite(bound):
        result.bound = float(bound)
        result.gap = max(0.0, (value - result.bound) / max(abs(value), floor))
    elif claimed_optimal:
        result.bound, result.gap = value, 0.0
    if result.status is Status.OPTIMAL and (result.gap or 0.0) > gap_limit + BOUND_SLACK:
        result.status = Status.FEASIBLE
        result.reasons.append(
            f"solver reported optimal, but its bound {result.bound:.10g}{unit} is "
            f"{result.gap:.3g} below the plan's {value:.10g}{unit} (more than {gap_limit:g})"
        )
