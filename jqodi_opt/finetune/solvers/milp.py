"""The MCK MILP of SPEC §1.3 in Pyomo, solved by HiGHS (``solver="milp"``).

Two formulations of the same model, over the candidates and options left by
:func:`~jqodi_opt.finetune.solvers.reduce.reduce_problem`:

``"epochs"`` (paper eq. 16, per epoch)
    binary ``z[c]`` picks one candidate (``sum_c z[c] = 1``); binary ``y[c,k,o]`` picks option
    ``o`` for epoch ``k = 1..K_c`` (``sum_o y[c,k,o] = z[c]``).
``"counts"`` (the default)
    integer ``n[c,o] >= 0`` epochs of candidate ``c`` on option ``o`` (``sum_o n[c,o] = K_c z[c]``).
    Epochs are interchangeable (cost and time do not depend on ``k``), so this is the same model
    without the symmetry between epochs; the plan lays each option's epochs out consecutively.
    It is the default because it proves what the per-epoch model cannot: on the gap suite's 80
    strongly correlated instances (K = 20, 12 options) the per-epoch model ran out its 20 s limit
    on 40, and at 1e5-1e9 epoch-option pairs it stays small (one column per option) where the
    per-epoch model grows with ``K`` (see ``benchmarks/README.md``).

Both have one time constraint per candidate, ``sum_o t[c,o] * (epochs on o) <= (T_max - tau_c)
z[c]`` (summing them over ``c`` gives the aggregated ``tau + sum t <= T_max``; per candidate is the
tighter LP relaxation), and the objective ``sum_c E_c z[c] + sum e[c,o] * (epochs on o)``.

Reductions (:mod:`jqodi_opt.finetune.solvers.reduce`): too-slow candidates and dominated options are
removed, candidates whose LP bound exceeds a rounded-and-polished LP plan are dropped, and that plan
is HiGHS's starting solution.

Numerics. Times enter in units of ``T_max`` and energies in units of the LP relaxation bound, and
HiGHS runs with ``mip_feasibility_tolerance`` 5e-10: a row may be violated by at most 5e-10 of
``T_max`` (the SPEC accepts 1e-9). ``optimal`` means proven to
:data:`~jqodi_opt.finetune.problem.OPTIMALITY_GAP` = 1e-7 relative: HiGHS stops when
``(incumbent - bound) / incumbent <= 1e-7`` and this backend reports ``optimal`` only when HiGHS
says so *and* its final gap is at most 1e-7; ``Result.gap`` says how close the proof came.
``mip_rel_gap`` (default 0, i.e. that tolerance) loosens the stop; the status is then ``feasible``
unless the gap is within 1e-7 anyway.

The Pyomo model is built with :func:`build_milp` (variables, then constraints, then objective) and
handed to ``highspy`` by :func:`jqodi_opt.pyomo_highs.to_highs`, a direct writer for linear models
(Pyomo's persistent HiGHS interface costs ~17 s per million variables).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression

from jqodi_opt.finetune.problem import OPTIMALITY_GAP, Problem
from jqodi_opt.finetune.solvers import options as checks
from jqodi_opt.finetune.solvers.interrupt import run_interruptible
from jqodi_opt.finetune.solvers.reduce import (
    Reduction,
    best_bound,
    check_formulation,
    energy_lower_bound,
    prepare,
    reduce_problem,
    start_values,
)
from jqodi_opt.pyomo_highs import check_highs_options, to_highs
from jqodi_opt.pyomo_highs import new_highs as new_highs  # re-exported: the inference MILP uses it
from jqodi_opt.result import SolverOutput, Status

FORMULATIONS = ("counts", "epochs")

#: HiGHS ``mip_feasibility_tolerance``: rows, integrality and node pruning, in model units.
FEASIBILITY_TOLERANCE = 5e-10


#: Per-epoch models with at least this many columns run with HiGHS's presolve off: its probing
#: goes through the binaries at ~40 per millisecond here (t1e5: an estimated hour), while the root
#: LP with the starting solution usually closes the gap at once (1e6 binaries: 14 s).
PRESOLVE_OFF_COLUMNS = 50_000

#: HiGHS presolve rules switched off (``presolve_rule_off`` bits): 13, parallel rows and columns,
#: and 14, sparsify. With the tight :data:`FEASIBILITY_TOLERANCE`, HiGHS 1.16's presolve cycled
#: between the two on a 69-row per-epoch model (``generate_document("paper-like", seed=6,
#: tightness=0.5)``), never returning and ignoring the time limit; with both off it solves in 0.3 s.
#: Over 80 generated instances the solve times with and without them matched (41 s vs 39 s in all).
PRESOLVE_RULES_OFF = (1 << 13) | (1 << 14)

#: HiGHS model status (by name) -> status; anything else is an error.
HIGHS_STATUS: dict[str, Status] = {
    "kOptimal": Status.OPTIMAL,
    "kInfeasible": Status.INFEASIBLE,
    "kTimeLimit": Status.TIME_LIMIT,
    # limits this backend never sets: a solution is feasible, no proof
    "kIterationLimit": Status.FEASIBLE,
    "kSolutionLimit": Status.FEASIBLE,
    "kObjectiveBound": Status.FEASIBLE,
    "kObjectiveTarget": Status.FEASIBLE,
    # cannot happen for this bounded model, or HiGHS failed
    "kUnbounded": Status.ERROR,
    "kUnboundedOrInfeasible": Status.ERROR,
    "kInterrupt": Status.ERROR,
    "kHighsInterrupt": Status.ERROR,
    "kMemoryLimit": Status.ERROR,
    "kNotset": Status.ERROR,
    "kLoadError": Status.ERROR,
    "kModelError": Status.ERROR,
    "kPresolveError": Status.ERROR,
    "kSolveError": Status.ERROR,
    "kPostsolveError": Status.ERROR,
    "kModelEmpty": Status.ERROR,
    "kUnknown": Status.ERROR,
}


def translate_status(native: str) -> Status:
    """The status for a HiGHS model status name; unknown names are errors."""
    return HIGHS_STATUS.get(native, Status.ERROR)


@dataclass
class MilpModel:
    """A built MILP: the Pyomo model and how to read a plan back from it.

    Attributes
    ----------
    model
        The Pyomo ``ConcreteModel`` (``z``, ``y`` or ``n``, constraints, ``energy``).
    formulation
        ``"epochs"`` or ``"counts"``.
    reduction
        Candidates and options the model covers.
    time_unit_s, energy_unit_j
        Times and energies enter the model divided by these.
    z
        ``z[c]`` of each kept candidate, in reduction order.
    blocks
        Per kept candidate: its epoch variables (``y`` or ``n``) in a flat list, and for each
        of them the index of its option in ``problem.candidates[c]``.
    """

    model: pyo.ConcreteModel
    formulation: str
    reduction: Reduction
    time_unit_s: float
    energy_unit_j: float
    z: list[Any] = field(default_factory=list)
    blocks: list[tuple[list[Any], np.ndarray]] = field(default_factory=list)


def _linear(coefs: Sequence[float], variables: Sequence[Any]) -> LinearExpression:
    return LinearExpression(constant=0.0, linear_coefs=list(coefs), linear_vars=list(variables))


def _sum_minus(variables: Sequence[Any], minus: Any, times: float = 1.0) -> LinearExpression:
    """``sum(variables) - times * minus`` (unit terms as bare variables: cheaper to build)."""
    return LinearExpression([*variables, MonomialTermExpression((-float(times), minus))])


def build_milp(
    problem: Problem,
    formulation: str = "counts",
    *,
    symmetry_breaking: bool = False,
    reduction: Reduction | None = None,
) -> MilpModel:
    """Builds the Pyomo model: variables, then constraints, then the objective.

    Parameters
    ----------
    problem
        The compiled problem.
    formulation
        ``"epochs"`` (binary ``y[c,k,o]``) or ``"counts"`` (integer ``n[c,o]``).
    symmetry_breaking
        Epochs formulation only: ``sum_o r_o y[c,k,o] <= sum_o r_o y[c,k+1,o]`` with ``r_o`` the
        option's rank by time, i.e. the options run in order of increasing time. Any plan can be
        reordered so, so no cost is lost; it removes the ``K!`` equivalent orderings. Off by
        default: HiGHS detects the symmetry itself (orbitopes), and these rows slowed its
        presolve more than they helped on the instances measured.
    reduction
        Reductions to build over (default: :func:`reduce_problem`). Must keep a candidate.
    """
    with PauseGC():  # millions of small objects: the cyclic collector would triple the time
        return _build_milp(problem, formulation, symmetry_breaking, reduction)


def _build_milp(
    problem: Problem,
    formulation: str,
    symmetry_breaking: bool,
    reduction: Reduction | None,
) -> MilpModel:
    check_formulation(formulation, FORMULATIONS)
    reduction = reduction if reduction is not None else reduce_problem(problem)
    if not reduction.candidates:
        raise ValueError("no candidate can meet T_max: nothing to build.")
    time_unit = problem.time_limit_s
    energy_unit = energy_lower_bound(problem, reduction)
    kept = reduction.candidates
    cands = [problem.candidates[c] for c in kept]

    m = pyo.ConcreteModel(name=f"jqodi-{formulation}-{problem.name}")
    milp = MilpModel(m, formulation, reduction, time_unit, energy_unit)

    # ---- variables
    m.z = pyo.Var(list(kept), domain=pyo.Binary, doc="candidate c is chosen")
    milp.z = [m.z[c] for c in kept]
    if formulation == "counts":
        index = [(c, int(o)) for c, opts in zip(kept, reduction.options, strict=True) for o in opts]
        bounds = {c: (0, cand.epochs) for c, cand in zip(kept, cands, strict=True)}
        m.n = pyo.Var(
            index,
            domain=pyo.NonNegativeIntegers,
            bounds=lambda _, c, o: bounds[c],
            doc="epochs of candidate c on option o",
        )
        flat = list(m.n.values())
        start = 0
        for opts in reduction.options:
            milp.blocks.append((flat[start : start + len(opts)], opts))
            start += len(opts)
    else:
        index3 = [
            (c, k, int(o))
            for c, cand, opts in zip(kept, cands, reduction.options, strict=True)
            for k in range(1, cand.epochs + 1)
            for o in opts
        ]
        m.y = pyo.Var(index3, domain=pyo.Binary, doc="epoch k of candidate c runs option o")
        flat = list(m.y.values())
        start = 0
        for cand, opts in zip(cands, reduction.options, strict=True):
            size = cand.epochs * len(opts)
            milp.blocks.append((flat[start : start + size], np.tile(opts, cand.epochs)))
            start += size

    # ---- constraints
    position = {c: i for i, c in enumerate(kept)}
    m.one_candidate = pyo.Constraint(expr=LinearExpression(list(milp.z)) == 1)
    time_coefs = []
    for cand, opts in zip(cands, reduction.options, strict=True):
        time_coefs.append((cand.option_time_s[opts] / time_unit).tolist())
    if formulation == "counts":
        m.all_epochs = pyo.Constraint(
            list(kept),
            rule=lambda _, c: (
                _sum_minus(milp.blocks[position[c]][0], m.z[c], problem.candidates[c].epochs) == 0
            ),
            doc="sum_o n[c,o] = K_c z[c]",
        )
    else:
        epoch_index = [
            (c, k) for c, cand in zip(kept, cands, strict=True) for k in range(1, cand.epochs + 1)
        ]

        def one_option(_: Any, c: int, k: int) -> Any:
            i = position[c]
            width = len(reduction.options[i])
            ys = milp.blocks[i][0][(k - 1) * width : k * width]
            return _sum_minus(ys, m.z[c]) == 0

        m.one_option = pyo.Constraint(epoch_index, rule=one_option, doc="sum_o y[c,k,o] = z[c]")
        if symmetry_breaking:
            order_index = [(c, k) for c, k in epoch_index if k < problem.candidates[c].epochs]

            def in_order(_: Any, c: int, k: int) -> Any:
                i = position[c]
                width = len(reduction.options[i])
                ys = milp.blocks[i][0][(k - 1) * width : (k + 1) * width]
                rank = [float(r) for r in range(width)]
                return _linear(rank + [-r for r in rank], ys) <= 0

            m.in_order = pyo.Constraint(
                order_index, rule=in_order, doc="epoch k's option ranks no later than epoch k+1's"
            )

    def time_limit(_: Any, c: int) -> Any:
        i = position[c]
        cand = cands[i]
        variables, _opts = milp.blocks[i]
        reps = 1 if formulation == "counts" else cand.epochs
        coefs = time_coefs[i] * reps + [-cand.budget_s / time_unit]
        return _linear(coefs, [*variables, m.z[c]]) <= 0

    m.time_limit = pyo.Constraint(
        list(kept), rule=time_limit, doc="sum t[c,o] (epochs on o) <= (T_max - tau_c) z[c]"
    )

    # ---- objective
    coefs: list[float] = []
    variables: list[Any] = []
    for i, (cand, opts) in enumerate(zip(cands, reduction.options, strict=True)):
        coefs.append(cand.quantize_energy_j / energy_unit)
        variables.append(milp.z[i])
        reps = 1 if formulation == "counts" else cand.epochs
        coefs.extend((cand.option_energy_j[opts] / energy_unit).tolist() * reps)
        variables.extend(milp.blocks[i][0])
    m.energy = pyo.Objective(expr=_linear(coefs, variables), sense=pyo.minimize)
    return milp


def set_start(highs: Any, column: dict[int, int], milp: MilpModel, problem: Problem) -> None:
    """Hands the reduction's incumbent (rounded LP plan) to HiGHS as a starting solution."""
    incumbent = milp.reduction.incumbent
    assert incumbent is not None
    i = milp.reduction.candidates.index(incumbent.candidate)
    variables, _ = milp.blocks[i]
    values = start_values(
        incumbent.option_epochs,
        milp.reduction.options[i],
        problem.candidates[incumbent.candidate].epochs,
        per_epoch=milp.formulation == "epochs",
    )
    index = np.asarray(
        [column[id(v)] for v in milp.z] + [column[id(v)] for v in variables], dtype=np.int32
    )
    start = np.concatenate([np.eye(len(milp.z))[i], values])
    highs.setSolution(len(index), index, start)


# --------------------------------------------------------------------------------------------------
# solve
# --------------------------------------------------------------------------------------------------


def _objective_consistent(highs: Any) -> bool:
    """Whether HiGHS's reported objective is the objective of the solution it returns (to 1e-9 in
    model units, where the optimum is about 1); True when there is no solution to check."""
    info = highs.getInfo()
    if info.primal_solution_status != 2:
        return True
    lp = highs.getLp()
    values = np.asarray(highs.getSolution().col_value)
    recomputed = float(np.dot(np.asarray(lp.col_cost_), values)) + float(lp.offset_)
    reported = float(info.objective_function_value)
    return abs(recomputed - reported) <= 1e-9 * max(1.0, abs(recomputed))


def solve_milp(
    problem: Problem,
    time_limit: float | None = None,
    *,
    formulation: str = "counts",
    mip_rel_gap: float = 0.0,
    num_workers: int | None = None,
    symmetry_breaking: bool = False,
    display: bool = False,
    highs_options: dict[str, Any] | None = None,
    threads: int | None = None,
) -> SolverOutput:
    """Solves the MILP with HiGHS.

    Parameters
    ----------
    problem
        The compiled problem.
    time_limit
        Wall-clock seconds for build and solve together (None: none). A time limit returns HiGHS's
        incumbent, if any, with status ``time_limit``.
    formulation
        ``"counts"`` (epochs per option; default) or ``"epochs"`` (per epoch, paper eq. 16).
    mip_rel_gap
        Relative gap at which HiGHS may stop (default 0: prove the optimum, to
        :data:`OPTIMALITY_GAP`). With a larger gap the status is ``feasible`` unless the final gap
        is within :data:`OPTIMALITY_GAP`.
    num_workers
        HiGHS threads (None: HiGHS's default).
    symmetry_breaking
        Order the epochs' options (epochs formulation only, default off; see :func:`build_milp`).
    display
        Print HiGHS's log.
    highs_options
        Further HiGHS options by name (e.g. ``{"presolve": "on"}``), set last. Per-epoch models
        of :data:`PRESOLVE_OFF_COLUMNS` columns or more run with presolve off unless this sets it.
    threads
        Deprecated alias of ``num_workers`` (see :mod:`.options`).

    Raises
    ------
    OptionError
        For an option value it cannot take (HiGHS options included), before any work.
    KeyboardInterrupt
        On Ctrl-C during the search, after stopping it (see :mod:`.interrupt`).
    """
    check_formulation(formulation, FORMULATIONS)
    mip_rel_gap = checks.real_number("mip_rel_gap", mip_rel_gap, 0.0, 1.0, high_open=True)
    threads_used = checks.num_workers(num_workers, "threads", threads)
    symmetry_breaking = checks.flag("symmetry_breaking", symmetry_breaking)
    display = checks.flag("display", display)
    check_highs_options(highs_options)
    start = time.perf_counter()
    reduction, stats, infeasible = prepare(problem, formulation, start)
    if infeasible is not None:
        return infeasible
    milp = build_milp(
        problem, formulation, symmetry_breaking=symmetry_breaking, reduction=reduction
    )
    highs, column = to_highs(milp.model)
    if reduction.incumbent is not None:
        set_start(highs, column, milp, problem)
        stats["start_energy_j"] = reduction.incumbent.energy_j
    build_time = time.perf_counter() - start
    stats["variables"] = highs.getNumCol()
    stats["constraints"] = highs.getNumRow()
    stats["nonzeros"] = highs.getNumNz()
    if time_limit is not None and build_time >= time_limit:
        stats["native_status"] = "not run: time limit reached while building"
        bound = best_bound(None, reduction, stats)
        return SolverOutput(Status.TIME_LIMIT, bound=bound, build_time_s=build_time, stats=stats)

    import highspy

    if threads_used is not None:
        highspy.Highs.resetGlobalScheduler(True)
        highs.setOptionValue("threads", threads_used)
    highs.setOptionValue("output_flag", display)
    highs.setOptionValue("mip_rel_gap", max(float(mip_rel_gap), OPTIMALITY_GAP))
    highs.setOptionValue("mip_abs_gap", 0.0)
    highs.setOptionValue("mip_feasibility_tolerance", FEASIBILITY_TOLERANCE)
    if time_limit is not None:
        highs.setOptionValue("time_limit", float(time_limit - build_time))
    highs.setOptionValue("presolve_rule_off", PRESOLVE_RULES_OFF)
    if (
        formulation == "epochs"
        and highs.getNumCol() >= PRESOLVE_OFF_COLUMNS
        and "presolve" not in (highs_options or {})
    ):
        highs.setOptionValue("presolve", "off")
        stats["presolve"] = "off"
    for name, value in (highs_options or {}).items():
        highs.setOptionValue(name, value)  # checked by check_highs_options
    highs.HandleUserInterrupt = True  # lets run_interruptible stop the search on Ctrl-C
    solve_start = time.perf_counter()
    run_interruptible(highs.run, highs.cancelSolve)
    if reduction.incumbent is not None and not _objective_consistent(highs):
        # HiGHS 1.16 with a starting solution and presolve on can lose presolve's objective
        # offset: it reports the start as optimal at an objective the start does not have
        # (seen on a 49-column per-epoch model: "optimal" 819 J for a 3,101 J plan; the optimum
        # is 3,069 J). Solve again from scratch, without the start, in the time left.
        stats["start_discarded"] = True
        highs.clearSolver()
        if time_limit is not None:
            left = time_limit - build_time - (time.perf_counter() - solve_start)
            highs.setOptionValue("time_limit", max(left, 1e-3))
        run_interruptible(highs.run, highs.cancelSolve)
    solve_time = time.perf_counter() - solve_start

    native = highs.getModelStatus().name
    info = highs.getInfo()
    stats["native_status"] = native
    stats["nodes"] = int(info.mip_node_count)
    status = translate_status(native)
    has_solution = info.primal_solution_status == 2 and status is not Status.INFEASIBLE
    bound = None
    if math.isfinite(info.mip_dual_bound):
        bound = info.mip_dual_bound * milp.energy_unit_j
    elif status is Status.OPTIMAL and has_solution:
        bound = info.objective_function_value * milp.energy_unit_j
    if status is Status.OPTIMAL and not info.mip_gap <= OPTIMALITY_GAP:
        status = Status.FEASIBLE  # stopped within the requested gap, not at a proven optimum
    bound = best_bound(bound, reduction, stats)
    output = SolverOutput(
        status, bound=bound, build_time_s=build_time, solve_time_s=solve_time, stats=stats
    )
    if not has_solution:
        return output

    values = np.asarray(highs.getSolution().col_value)
    z_values = values[[column[id(v)] for v in milp.z]]
    chosen = int(np.argmax(z_values))
    variables, options = milp.blocks[chosen]
    counts_per_var = np.rint(values[[column[id(v)] for v in variables]]).astype(np.int64)
    candidate = milp.reduction.candidates[chosen]
    option_epochs = np.zeros(problem.candidates[candidate].num_options, dtype=np.int64)
    np.add.at(option_epochs, options, counts_per_var)
    output.candidate = candidate
    output.option_epochs = option_epochs
    return output
