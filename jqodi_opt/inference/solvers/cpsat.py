"""The inference model of SPEC §7 in OR-Tools CP-SAT (``solver="cpsat"``), on integer scales.

The same program as ``milp`` (:func:`~jqodi_opt.inference.solvers.formulation.build_program`):
every column is a Boolean (the placement-choice binaries, and the flow, send, term and interaction
columns, which are 0/1 at any integral plan), every row with integer coefficients is kept as it is,
and the three measure columns are replaced by the integer sums that define them. CP-SAT needs
integer coefficients, so:

Limits (latency, energy, device energy, memory, accuracy budget). Each measure ``i`` gets a scale
``S_i`` (a power of two putting its largest possible value at most 2^30); a row ``sum c x <= limit``
becomes ``sum ceil(c S_i) x <= floor(limit S_i (1 + 1e-9))``: usages are rounded **up** and the
limit by the package's 1e-9 tolerance, so every CP-SAT plan meets the instance's limits in floating
point (within that tolerance); a plan is cut off only when it lies within (number of active terms)
/ ``S_i`` of a limit. Memory and accuracy rows are scaled the same way, except a row whose
coefficients are short decimals (the bundled accuracy budgets: drops of 0.002 against 0.01): it is
multiplied by the least power of ten making every coefficient an integer (to within half the
tolerance), so it keeps its exact meaning — rounding each coefficient up cut off the YOLO11n
optimum, whose five 8-bit layers use the budget exactly, and CP-SAT then "proved" a plan 1.2 %
worse (in the normalised objective) optimal. (With rows scaled beyond
2^31, CP-SAT 9.15 proved "optimal" plans 2-40 % worse than the optimum on small random instances
whose optimum met every scaled row, so the scales stay below.) The
stage limits of a lexicographic second stage or an epsilon constraint come from a plan found
before and are raised to that plan's rounded-up usage, so a stage is never infeasible by rounding;
such a plan may exceed the stage limit by (active terms) / ``S_i``, which moves the stage's answer
by no more than that.

Objective. ``weights . measures`` is scaled to about 1e15 and rounded to the nearest integer per
column; ``stats["objective_error_bound"]`` is the most a plan's scaled objective can differ from its
true value (half a unit per column that can be active). The bound reported is CP-SAT's bound minus
that error (a valid bound on the true optimum), so ``optimal`` passes the package's check only when
CP-SAT proved its optimum to :data:`~jqodi_opt.finetune.problem.OPTIMALITY_GAP` and the error is
below it.

CP-SAT cannot change an objective in place, so every stage of an objective builds its model again
from the cached integer rows.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from jqodi_opt.finetune.problem import OPTIMALITY_GAP
from jqodi_opt.finetune.solvers import options as checks
from jqodi_opt.finetune.solvers.cpsat import translate_status
from jqodi_opt.inference.problem import DROP_TOLERANCE, LIMIT_TOLERANCE, InferenceProblem
from jqodi_opt.inference.solvers.core import CoreOutput, InferenceOutput, remaining
from jqodi_opt.inference.solvers.exact import solve_exact
from jqodi_opt.inference.solvers.formulation import build_program
from jqodi_opt.inference.solvers.network import Network

#: Largest scaled value of a measure or of the objective.
TARGET = 1e15

#: Largest scaled activity of any constraint row (limit, memory, accuracy): 2^30. With rows
#: scaled beyond 2^31 CP-SAT 9.15 proved "optimal" plans 2-40 % worse than the optimum on small
#: random instances (3 of 600 in the cross-check; the true optimum met every scaled row), and
#: never below.
LIMIT_TARGET = float(2**30)

ROW_TARGET = LIMIT_TARGET


def _power_of_two(scale: float) -> float:
    return float(2.0 ** math.floor(math.log2(scale)))


def _decimal_scale(vals: np.ndarray, error: float) -> float | None:
    """The least ``10^k`` (``k <= 12``) with ``sum |vals 10^k - round(vals 10^k)| / 10^k <= error``
    and the scaled row's activity within :data:`ROW_TARGET`, or None.

    A row whose coefficients are short decimals (an accuracy budget of 0.01 and drops of 0.002)
    then keeps its exact meaning: a plan whose drop sums to the budget exactly stays feasible,
    where rounding every coefficient up would cut it off.
    """
    most = float(np.abs(vals).sum())
    for k in range(13):
        scale = 10.0**k
        if most * scale > ROW_TARGET:
            return None
        scaled = vals * scale
        if float(np.abs(scaled - np.round(scaled)).sum()) / scale <= error:
            return scale
    return None


class CpsatSession:
    """The program's integer rows, cached; each :meth:`solve` builds and solves a CP-SAT model.

    Parameters
    ----------
    network
        The network.
    num_workers
        CP-SAT workers (None: CP-SAT's default).
    display
        Print CP-SAT's search log.
    """

    def __init__(
        self, network: Network, *, num_workers: int | None = None, display: bool = False
    ) -> None:
        self.network = network
        self.num_workers = num_workers
        self.display = display
        program = build_program(network)
        self.program = program
        measure = set(program.measure.tolist())
        self.num_cols = program.num_cols
        self.rows: list[tuple[np.ndarray, np.ndarray, float, float]] = []
        self.measure_rows: list[tuple[np.ndarray, np.ndarray]] = [None] * 3  # type: ignore[list-item]
        for r in range(program.num_rows):
            lo, hi = program.start[r], program.start[r + 1]
            cols, vals = program.index[lo:hi], program.value[lo:hi]
            hit = [c for c in cols if c in measure]
            if hit:  # measure_i = sum vals x, in units of program.units[i]
                i = int(np.flatnonzero(program.measure == hit[0])[0])
                keep = cols != hit[0]
                self.measure_rows[i] = (cols[keep], vals[keep] * program.units[i])
                continue
            self.rows.append((cols, vals, program.row_lower[r], program.row_upper[r]))
        self.found: list[tuple[np.ndarray, list[int]]] = []  # (float cost, integer usage)
        # scale per measure: a power of two with the largest possible value near LIMIT_TARGET
        self.scales = np.ones(3)
        for i, (_, vals) in enumerate(self.measure_rows):
            most = float(np.abs(vals).sum())
            self.scales[i] = _power_of_two(LIMIT_TARGET / most) if most > 0 else 1.0

    def _integer_row(
        self, cols: np.ndarray, vals: np.ndarray, lower: float, upper: float
    ) -> tuple[np.ndarray, float, float]:
        """Integer coefficients for a row: as they are when integral, else scaled conservatively
        (usage rounded up against an upper limit, down against a lower one)."""
        if np.all(vals == np.round(vals)):
            return vals.astype(np.int64), lower, upper
        if math.isfinite(upper) != math.isfinite(lower):
            bound = upper if math.isfinite(upper) else lower
            slack = abs(bound) * LIMIT_TOLERANCE + DROP_TOLERANCE
            exact = _decimal_scale(vals, slack / 2)
            if exact is not None:  # coefficients with few decimals (0.002): the row as it is
                coefs = np.round(vals * exact).astype(np.int64)
                if math.isfinite(upper):
                    return coefs, -math.inf, math.floor((upper + slack / 2) * exact)
                return coefs, math.ceil((lower - slack / 2) * exact), math.inf
        most = float(np.abs(vals).sum())
        scale = _power_of_two(ROW_TARGET / most)
        if math.isfinite(upper) and not math.isfinite(lower):
            slack = abs(upper) * LIMIT_TOLERANCE + DROP_TOLERANCE
            return (
                np.ceil(vals * scale).astype(np.int64),
                -math.inf,
                math.floor((upper + slack) * scale),
            )
        if math.isfinite(lower) and not math.isfinite(upper):
            slack = abs(lower) * LIMIT_TOLERANCE
            return (
                np.floor(vals * scale).astype(np.int64),
                math.ceil((lower - slack) * scale),
                math.inf,
            )
        raise ValueError("an equality row with fractional coefficients cannot be scaled safely")

    def _usage(self, i: int, values: np.ndarray) -> int:
        """Measure ``i`` of a plan (column values) in the rounded-up integer scale."""
        cols, vals = self.measure_rows[i]
        return int(np.dot(np.ceil(vals * self.scales[i]).astype(np.int64), values[cols]))

    def _limit_rhs(self, i: int, limit: float) -> int | None:
        """The integer limit on measure ``i`` for a solve with stage limit ``limit``.

        The instance's own limit is rounded conservatively (``floor(limit (1 + 1e-9) S)``). A stage
        limit (lexicographic second stage, epsilon constraint) is the measure of a plan found
        before, whose rounded-up usage may exceed that by a few units: it is raised to the usage
        of every recorded plan within it, so that plan stays feasible and a lexicographic stage
        is never infeasible by rounding.
        """
        rhs: int | None = None
        own = float(self.network.limits[i])
        if math.isfinite(own):
            rhs = math.floor(own * (1 + LIMIT_TOLERANCE) * self.scales[i])
        if math.isfinite(limit) and limit < own:
            stage = math.floor(limit * (1 + LIMIT_TOLERANCE) * self.scales[i])
            for cost, usage in self.found:
                if cost[i] <= limit * (1 + LIMIT_TOLERANCE):
                    stage = max(stage, usage[i])
            rhs = stage if rhs is None else min(rhs, stage)
        return rhs

    def solve(self, weights: np.ndarray, limits: np.ndarray, deadline: float | None) -> CoreOutput:
        """Minimises ``weights . cost`` under ``cost <= limits`` and the network's constraints."""
        start = time.perf_counter()
        limits = np.asarray(limits, dtype=float)
        model = cp_model.CpModel()
        col = [model.new_bool_var(f"c{j}") for j in range(self.num_cols)]

        def add(cols: np.ndarray, coefs: np.ndarray, lower: float, upper: float) -> None:
            expr = cp_model.LinearExpr.weighted_sum([col[c] for c in cols], coefs.tolist())
            if math.isfinite(lower) and math.isfinite(upper):
                model.add_linear_constraint(expr, int(lower), int(upper))
            elif math.isfinite(upper):
                model.add(expr <= int(upper))
            elif math.isfinite(lower):
                model.add(expr >= int(lower))

        for cols, vals, lower, upper in self.rows:
            coefs, lo, hi = self._integer_row(cols, vals, lower, upper)
            add(cols, coefs, lo, hi)
        for i in range(3):  # a limit on measure i: usage rounded up, limit by the tolerance
            rhs = self._limit_rhs(i, float(limits[i]))
            if rhs is not None:
                cols, vals = self.measure_rows[i]
                add(cols, np.ceil(vals * self.scales[i]).astype(np.int64), -math.inf, rhs)
        # the objective: weights . measures, per column, rounded to the nearest unit
        objective = np.zeros(self.num_cols)
        for i in range(3):
            if weights[i]:
                cols, vals = self.measure_rows[i]
                np.add.at(objective, cols, weights[i] * vals)
        used = np.flatnonzero(objective)
        most = float(np.abs(objective).sum())
        scale = _power_of_two(TARGET / most) if most > 0 else 1.0
        coefs = np.round(objective[used] * scale).astype(np.int64)
        error = 0.5 * len(used) / scale
        model.minimize(cp_model.LinearExpr.weighted_sum([col[c] for c in used], coefs.tolist()))

        solver = cp_model.CpSolver()
        left = remaining(deadline)
        if left is not None:
            solver.parameters.max_time_in_seconds = float(left)
        if self.num_workers is not None:
            solver.parameters.num_workers = int(self.num_workers)
        solver.parameters.log_search_progress = bool(self.display)
        solver.parameters.relative_gap_limit = OPTIMALITY_GAP
        code = solver.solve(model)
        native = solver.status_name(code)
        status = translate_status(native, deadline is not None)
        stats: dict[str, Any] = {
            "native_status": native,
            "variables": self.num_cols,
            "nodes": int(solver.num_branches),
            "objective_error_bound": error,
            "seconds": time.perf_counter() - start,
        }
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return CoreOutput(status, stats=stats)
        values = np.array([solver.value(c) for c in col], dtype=np.int64)
        choices = np.array([int(np.argmax(values[cols])) for cols in self.program.x])
        usage = [self._usage(i, values) for i in range(3)]
        self.found.append((self.network.measure(choices).cost, usage))
        bound = solver.best_objective_bound / scale - error
        return CoreOutput(status, choices, bound, stats)


def solve_cpsat(
    problem: InferenceProblem,
    time_limit: float | None = None,
    *,
    num_workers: int | None = None,
    display: bool = False,
    payoff: Any = None,
    workers: int | None = None,
) -> InferenceOutput:
    """Solves the instance's objective with CP-SAT (module docstring).

    Parameters
    ----------
    problem
        The compiled problem.
    time_limit
        Wall-clock seconds for every stage together (None: none).
    num_workers
        CP-SAT workers (None: CP-SAT's default).
    display
        Print CP-SAT's search log.
    payoff
        The ``weighted`` objective's payoff table when the caller has it
        (:func:`~.objectives.coerce_payoff`; None: computed here).
    workers
        Deprecated alias of ``num_workers`` (a ``DeprecationWarning``, as the fine-tuning
        ``cpsat``).
    """
    num_workers = checks.num_workers(num_workers, "workers", workers)
    display = checks.flag("display", display)
    return solve_exact(
        problem,
        time_limit,
        lambda net: CpsatSession(net, num_workers=num_workers, display=display),
        payoff=payoff,
    )
