"""The inference MILP of SPEC §7, solved by HiGHS (``solver="milp"``).

The model is :func:`~jqodi_opt.inference.solvers.formulation.build_program` (placement x bits x
pruning x compression binaries, per-edge transportation rows linking transfers to placement, sends
once per destination, memory, the accuracy budget with its interactions linearised, and the three
measures as columns whose bounds are the limits); :func:`~.formulation.to_pyomo` gives it as a
Pyomo model. It goes to HiGHS as arrays (``highspy.HighsLp``): a Pyomo model of a 1,852-layer,
6-server chain took 8-12 s to build and write here, the arrays take a fraction of a second.

**LP first.** Each solve runs the LP relaxation first; when its optimum is integral (always on a
chain without side constraints, whose rows are a network matrix, and often otherwise) that is the
proven optimum and no branch and bound runs. Otherwise HiGHS's MIP solver runs with
``mip_rel_gap`` :data:`~jqodi_opt.finetune.problem.OPTIMALITY_GAP` and ``mip_feasibility_tolerance``
5e-10; ``optimal`` is reported only when HiGHS says so *and* its gap is within
:data:`OPTIMALITY_GAP`. A time limit returns HiGHS's incumbent with ``time_limit``.

One HiGHS object serves every stage of an objective (and the whole Pareto front): a stage changes
the costs and upper bounds of the three measure columns and runs again.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from jqodi_opt.finetune.problem import OPTIMALITY_GAP
from jqodi_opt.finetune.solvers import options as checks
from jqodi_opt.finetune.solvers.interrupt import run_interruptible
from jqodi_opt.finetune.solvers.milp import (
    FEASIBILITY_TOLERANCE,
    PRESOLVE_RULES_OFF,
    new_highs,
    translate_status,
)
from jqodi_opt.inference.problem import InferenceProblem
from jqodi_opt.inference.solvers.core import CoreOutput, InferenceOutput, remaining
from jqodi_opt.inference.solvers.exact import solve_exact
from jqodi_opt.inference.solvers.formulation import LinearProgram, build_program
from jqodi_opt.inference.solvers.network import Network
from jqodi_opt.result import Status

#: A relaxation value this close to 0 or 1 counts as integral.
INTEGRALITY_TOLERANCE = 1e-9


def to_highs(program: LinearProgram) -> Any:
    """A quiet ``highspy.Highs`` holding ``program`` (objective: zero until a solve sets it)."""
    import highspy

    lp = highspy.HighsLp()
    lp.num_col_ = program.num_cols
    lp.num_row_ = program.num_rows
    lp.col_cost_ = np.zeros(program.num_cols)
    lp.col_lower_ = program.col_lower
    lp.col_upper_ = np.where(np.isinf(program.col_upper), highspy.kHighsInf, program.col_upper)
    lp.row_lower_ = np.where(np.isinf(program.row_lower), -highspy.kHighsInf, program.row_lower)
    lp.row_upper_ = np.where(np.isinf(program.row_upper), highspy.kHighsInf, program.row_upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = program.num_cols
    lp.a_matrix_.num_row_ = program.num_rows
    lp.a_matrix_.start_ = program.start.astype(np.int32)
    lp.a_matrix_.index_ = program.index.astype(np.int32)
    lp.a_matrix_.value_ = program.value
    highs = new_highs()
    if highs.passModel(lp) == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS refused the model (passModel returned an error).")
    return highs


class MilpSession:
    """The program handed to HiGHS once; each :meth:`solve` changes the measures' costs and
    bounds and runs again.

    Parameters
    ----------
    network
        The network.
    threads
        HiGHS threads (None: HiGHS's default).
    display
        Print HiGHS's log.
    lp_first
        Solve the LP relaxation first and stop there when it is integral (default True).
    """

    def __init__(
        self,
        network: Network,
        *,
        threads: int | None = None,
        display: bool = False,
        lp_first: bool = True,
    ) -> None:
        import highspy

        start = time.perf_counter()
        self.network = network
        self.lp_first = lp_first
        self.program = build_program(network)
        self.highs = to_highs(self.program)
        highs = self.highs
        if threads is not None:
            highspy.Highs.resetGlobalScheduler(True)
            highs.setOptionValue("threads", int(threads))
        highs.setOptionValue("output_flag", bool(display))
        highs.setOptionValue("mip_rel_gap", OPTIMALITY_GAP)
        highs.setOptionValue("mip_abs_gap", 0.0)
        highs.setOptionValue("mip_feasibility_tolerance", FEASIBILITY_TOLERANCE)
        highs.setOptionValue("primal_feasibility_tolerance", FEASIBILITY_TOLERANCE)
        highs.setOptionValue("presolve_rule_off", PRESOLVE_RULES_OFF)
        # HiGHS 1.16's MIP restart (a second presolve after root reduced-cost fixing) cut off
        # the optimum on 9 Mu et al. instances (pruning and compression under a 2 % budget) and
        # it reported a plan up to 1.8e-4 above it as proven optimal; dp and cpsat found the
        # optimum. Without the restart the optimum is found and proven (regression test).
        highs.setOptionValue("mip_allow_restart", False)
        highs.HandleUserInterrupt = True  # lets run_interruptible stop the search on Ctrl-C
        self.integer_cols = np.flatnonzero(self.program.integer).astype(np.int32)
        # every column but the measures (the choices, flows, sends, terms: all in [0, 1])
        self.fixable_cols = np.setdiff1d(np.arange(self.program.num_cols), self.program.measure)
        self.fixable_cols = self.fixable_cols.astype(np.int32)
        # (measure, limits, LP value, reduced costs) of the last single-measure LP relaxation
        self.last_lp: tuple[int, np.ndarray, float, np.ndarray] | None = None
        self.build_time_s = time.perf_counter() - start
        self.size = {
            "variables": highs.getNumCol(),
            "constraints": highs.getNumRow(),
            "nonzeros": highs.getNumNz(),
        }

    def _set_integrality(self, integer: bool) -> None:
        import highspy

        kind = highspy.HighsVarType.kInteger if integer else highspy.HighsVarType.kContinuous
        cols = self.integer_cols
        self.highs.changeColsIntegrality(len(cols), cols, np.full(len(cols), kind))

    def _choices(self, values: np.ndarray) -> np.ndarray:
        return np.array([int(np.argmax(values[cols])) for cols in self.program.x])

    def solve(self, weights: np.ndarray, limits: np.ndarray, deadline: float | None) -> CoreOutput:
        """Minimises ``weights . cost`` under ``cost <= limits`` and the network's constraints."""
        highs = self.highs
        program = self.program
        units = program.units
        limits = np.minimum(np.asarray(limits, dtype=float), self.network.limits)
        cols = program.measure.astype(np.int32)
        highs.changeColsCost(3, cols, np.asarray(weights, dtype=float) * units)
        upper = np.where(np.isfinite(limits), limits / units, math.inf)
        highs.changeColsBounds(3, cols, np.zeros(3), upper)
        start = time.perf_counter()
        stats: dict[str, Any] = dict(self.size)
        fixed = self._fix_by_reduced_cost(limits)
        stats["fixed_by_reduced_cost"] = len(fixed)
        try:
            return self._solve(weights, limits, deadline, start, stats)
        finally:
            if len(fixed):
                highs.changeColsBounds(len(fixed), fixed, np.zeros(len(fixed)), np.ones(len(fixed)))

    def _fix_by_reduced_cost(self, limits: np.ndarray) -> np.ndarray:
        """Reduced-cost fixing from the last LP relaxation (Nemhauser and Wolsey's classic
        argument): if it minimised one measure ``m`` to ``z`` with reduced costs ``d`` under limits
        no looser than ``limits``, every plan feasible now has ``m >= z + sum_j d_j x_j``; with
        ``m <= limits[m]`` now, a column (choice, flow, send: all in [0, 1]) with
        ``d_j > limits[m] - z`` cannot be 1 in any plan that meets it, and is fixed to 0. This is
        what makes a lexicographic second stage (``m <= m*``) small: only the choices on some
        optimal path of the first stage stay free."""
        empty = np.zeros(0, dtype=np.int32)
        if self.last_lp is None:
            return empty
        measure, earlier, value, reduced = self.last_lp
        if not np.all(limits <= earlier) or not math.isfinite(limits[measure]):
            return empty
        slack = limits[measure] - value + 1e-7 * abs(limits[measure])
        fixed = self.fixable_cols[reduced[self.fixable_cols] > slack]
        if len(fixed):
            self.highs.changeColsBounds(
                len(fixed), fixed, np.zeros(len(fixed)), np.zeros(len(fixed))
            )
        return fixed.astype(np.int32)

    def _solve(
        self,
        weights: np.ndarray,
        limits: np.ndarray,
        deadline: float | None,
        start: float,
        stats: dict[str, Any],
    ) -> CoreOutput:
        highs = self.highs
        if self.lp_first:
            out = self._relaxation(deadline, stats, weights, limits)
            if out is not None:
                stats["seconds"] = time.perf_counter() - start
                return out
        self._set_integrality(True)
        left = remaining(deadline)
        highs.setOptionValue("time_limit", float(left) if left is not None else math.inf)
        highs.clearSolver()
        run_interruptible(highs.run, highs.cancelSolve)
        info = highs.getInfo()
        native = highs.getModelStatus().name
        status = translate_status(native)
        stats.update(
            native_status=native,
            nodes=int(info.mip_node_count),
            seconds=time.perf_counter() - start,
        )
        has_solution = info.primal_solution_status == 2 and status is not Status.INFEASIBLE
        bound = None
        if math.isfinite(info.mip_dual_bound):
            bound = float(info.mip_dual_bound)
        elif status is Status.OPTIMAL and has_solution:
            bound = float(info.objective_function_value)
        if status is Status.OPTIMAL and not info.mip_gap <= OPTIMALITY_GAP:
            status = Status.FEASIBLE
        if not has_solution:
            return CoreOutput(status, None, bound, stats)
        values = np.asarray(highs.getSolution().col_value)
        return CoreOutput(status, self._choices(values), bound, stats)

    def _relaxation(
        self, deadline: float | None, stats: dict[str, Any], weights: np.ndarray, limits: np.ndarray
    ) -> CoreOutput | None:
        """The LP relaxation: its optimum when integral (proven), infeasible when it is, else
        None (the MIP must run). Its reduced costs are kept for :meth:`_fix_by_reduced_cost` when
        it minimised a single measure with nothing fixed."""
        highs = self.highs
        self._set_integrality(False)
        left = remaining(deadline)
        highs.setOptionValue("time_limit", float(left) if left is not None else math.inf)
        highs.clearSolver()
        run_interruptible(highs.run, highs.cancelSolve)
        native = highs.getModelStatus().name
        stats["relaxation"] = native
        if native == "kInfeasible":
            return CoreOutput(Status.INFEASIBLE, stats={**stats, "native_status": native})
        if native != "kOptimal":
            return None
        solution = highs.getSolution()
        values = np.asarray(solution.col_value)
        single = np.flatnonzero(weights)
        if len(single) == 1 and weights[single[0]] == 1 and not stats["fixed_by_reduced_cost"]:
            self.last_lp = (
                int(single[0]),
                limits.copy(),
                float(highs.getInfo().objective_function_value),
                np.asarray(solution.col_dual),
            )
        binaries = values[self.integer_cols]
        if np.all(np.minimum(np.abs(binaries), np.abs(1 - binaries)) <= INTEGRALITY_TOLERANCE):
            value = float(highs.getInfo().objective_function_value)
            stats.update(native_status="kOptimal (integral relaxation)", nodes=0)
            return CoreOutput(Status.OPTIMAL, self._choices(values), value, stats)
        stats["relaxation_bound"] = float(highs.getInfo().objective_function_value)
        return None


def solve_milp(
    problem: InferenceProblem,
    time_limit: float | None = None,
    *,
    num_workers: int | None = None,
    display: bool = False,
    lp_first: bool = True,
    payoff: Any = None,
    threads: int | None = None,
) -> InferenceOutput:
    """Solves the instance's objective with the MILP and HiGHS.

    Parameters
    ----------
    problem
        The compiled problem.
    time_limit
        Wall-clock seconds for every stage together (None: none); a time limit returns the best
        plan so far with ``time_limit``.
    num_workers
        HiGHS threads (None: HiGHS's default).
    display
        Print HiGHS's log.
    lp_first
        Try the LP relaxation first (see the module docstring).
    payoff
        The ``weighted`` objective's payoff table when the caller has it
        (:func:`~.objectives.coerce_payoff`; None: computed here).
    threads
        Deprecated alias of ``num_workers`` (a ``DeprecationWarning``, as the fine-tuning ``milp``).
    """
    num_workers = checks.num_workers(num_workers, "threads", threads)
    return solve_exact(
        problem,
        time_limit,
        lambda net: MilpSession(net, threads=num_workers, display=display, lp_first=lp_first),
        payoff=payoff,
    )
