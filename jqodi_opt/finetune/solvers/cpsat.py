"""The model of SPEC §1.3 in OR-Tools CP-SAT (``solver="cpsat"``), on integer ticks.

Same formulations as :mod:`jqodi_opt.finetune.solvers.milp` (``"counts"``: integer ``n[c,o]``;
``"epochs"``:
boolean ``y[c,k,o]``, with the epochs' options in increasing-time order by default, which CP-SAT
needs: without it the per-epoch model ran into time limits where it now proves the optimum in
seconds), over the same reductions (:mod:`jqodi_opt.finetune.solvers.reduce`), with the rounded LP
plan
as a hint. CP-SAT needs integer coefficients, so:

Time. Every option's time is rounded *up* to whole ticks and the budget of each candidate,
``T_max (1 + 5e-10) - tau_c``, rounded *down*. The automatic tick is ``5e-10 T_max / (2 (K + 1))``
(``K`` the most epochs of any candidate). Hence

- every CP-SAT plan takes at most ``T_max (1 + 5e-10)``, inside the SPEC's ``T_max (1 + 1e-9)``;
- every plan that takes at most ``T_max`` fits the rounded budget (rounding up ``K`` epochs adds
  less than ``(K + 1)`` ticks, half the 5e-10 allowance), so no plan of the real model is cut off.

With a coarser ``tick_s`` of your own, plans within ``(K + 1) tick - 5e-10 T_max`` of ``T_max`` may
be cut off; ``stats["time_cutoff_s"]`` says how far, and a :class:`ScalingWarning` is raised.

Energy. Energies are rounded to the nearest multiple of a unit ``u = 1e-9 LB / (K + 1)``, ``LB`` a
lower bound on the optimum; a plan's scaled energy is then off by at most ``(K + 1) u / 2``, and the
true energy of CP-SAT's optimum exceeds the true optimum by at most ``(K + 1) u`` =
``stats["objective_error_bound_j"]`` (about 1e-9 relative). When the coefficients would overflow
CP-SAT's 64-bit arithmetic the unit is made coarser and a :class:`ScalingWarning` says how precise
the objective still is.

So ``optimal`` here means: CP-SAT proved the optimum of the scaled model to
:data:`~jqodi_opt.finetune.problem.OPTIMALITY_GAP` (1e-7 relative, CP-SAT's ``relative_gap_limit``,
as the
``milp`` backend), whose plan is feasible (within the SPEC tolerance) and whose true energy is
within that gap plus ``objective_error_bound_j`` of the true optimum. The bound reported is
CP-SAT's bound on the scaled model minus that error, a valid lower bound on the true optimum.
``evaluate`` gives the plan's true energy.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from jqodi_opt.exceptions import OptionError, ScalingWarning
from jqodi_opt.finetune.problem import OPTIMALITY_GAP, TIME_TOLERANCE, Problem
from jqodi_opt.finetune.solvers import options as checks
from jqodi_opt.finetune.solvers.interrupt import run_interruptible
from jqodi_opt.finetune.solvers.reduce import (
    Reduction,
    best_bound,
    check_formulation,
    energy_lower_bound,
    prepare,
    start_values,
)
from jqodi_opt.result import SolverOutput, Status

FORMULATIONS = ("counts", "epochs")

#: Relative precision the energy scaling aims for.
ENERGY_PRECISION = 1e-9

#: Part of the SPEC's time tolerance the rounded budget may use.
TIME_ALLOWANCE = 0.5 * TIME_TOLERANCE

#: Largest activity of a linear expression that CP-SAT accepts comfortably (it checks int64).
MAX_ACTIVITY = 2**60

#: CP-SAT status (by name) -> status, when no time limit was set.
CPSAT_STATUS: dict[str, Status] = {
    "OPTIMAL": Status.OPTIMAL,
    "FEASIBLE": Status.FEASIBLE,
    "INFEASIBLE": Status.INFEASIBLE,
    "UNKNOWN": Status.ERROR,
    "MODEL_INVALID": Status.ERROR,
}

#: ... and when one was: FEASIBLE or UNKNOWN then mean the search was stopped by it.
CPSAT_STATUS_AT_TIME_LIMIT: dict[str, Status] = {
    **CPSAT_STATUS,
    "FEASIBLE": Status.TIME_LIMIT,
    "UNKNOWN": Status.TIME_LIMIT,
}


def translate_status(native: str, time_limited: bool) -> Status:
    """The status for a CP-SAT status name; unknown names are errors."""
    table = CPSAT_STATUS_AT_TIME_LIMIT if time_limited else CPSAT_STATUS
    return table.get(native, Status.ERROR)


class Scaling:
    """Integer ticks for time and units for energy (see the module docstring).

    Attributes
    ----------
    tick_s
        Length of one time tick.
    energy_unit_j
        Energy of one unit.
    time_cutoff_s
        Plans taking more than ``T_max - time_cutoff_s`` may be cut off (0 with the automatic tick).
    objective_error_bound_j
        Most the true energy of CP-SAT's optimum can exceed the true optimum.
    relative_error_bound
        ``objective_error_bound_j`` over the energy lower bound.
    """

    def __init__(self, problem: Problem, reduction: Reduction, tick_s: float | None) -> None:
        cands = [problem.candidates[c] for c in reduction.candidates]
        max_epochs = max(c.epochs for c in cands)
        t_max = problem.time_limit_s
        allowance = TIME_ALLOWANCE * t_max
        auto_tick = allowance / (2 * (max_epochs + 1))
        if tick_s is not None and not tick_s > 0:
            raise OptionError(f"tick_s {tick_s} not understood (must be > 0 seconds).")
        self.tick_s = auto_tick if tick_s is None else float(tick_s)
        self.time_cutoff_s = max(0.0, (max_epochs + 1) * self.tick_s - allowance)
        self.budget = [
            math.floor((t_max + allowance - c.quantize_time_s) / self.tick_s) for c in cands
        ]
        self.option_time = [
            np.ceil(c.option_time_s[opts] / self.tick_s).astype(np.int64)
            for c, opts in zip(cands, reduction.options, strict=True)
        ]
        # an option slower than the whole budget can never be used
        self.max_uses = [
            np.minimum(c.epochs, budget // np.maximum(times, 1))
            for c, budget, times in zip(cands, self.budget, self.option_time, strict=True)
        ]

        lower = energy_lower_bound(problem, reduction)
        unit = ENERGY_PRECISION * lower / (max_epochs + 1)
        energies = [
            c.option_energy_j[opts] for c, opts in zip(cands, reduction.options, strict=True)
        ]
        activity = sum(
            c.quantize_energy_j + float(e @ uses)
            for c, e, uses in zip(cands, energies, self.max_uses, strict=True)
        )
        if activity / unit > MAX_ACTIVITY:
            unit = activity / MAX_ACTIVITY
        self.energy_unit_j = unit
        self.quantize_energy = [round(c.quantize_energy_j / unit) for c in cands]
        self.option_energy = [np.rint(e / unit).astype(np.int64) for e in energies]
        self.objective_error_bound_j = (max_epochs + 1) * unit
        self.relative_error_bound = self.objective_error_bound_j / lower

    def warn(self) -> None:
        """Raises a :class:`ScalingWarning` when the scaling is less precise than promised."""
        if self.relative_error_bound > ENERGY_PRECISION * (1 + 1e-6):
            warnings.warn(
                f"CP-SAT energy scaling: objective exact to {self.relative_error_bound:.2g} "
                f"relative only (coefficients capped to avoid overflow).",
                ScalingWarning,
                stacklevel=3,
            )
        if self.time_cutoff_s > 0:
            warnings.warn(
                f"CP-SAT tick {self.tick_s:.3g} s: plans within {self.time_cutoff_s:.3g} s of "
                f"T_max may be cut off.",
                ScalingWarning,
                stacklevel=3,
            )

    def stats(self) -> dict[str, float]:
        """The scaling for a solver's statistics."""
        return {
            "tick_s": self.tick_s,
            "time_cutoff_s": self.time_cutoff_s,
            "energy_unit_j": self.energy_unit_j,
            "objective_error_bound_j": self.objective_error_bound_j,
            "relative_error_bound": self.relative_error_bound,
        }


def build_cpsat(
    problem: Problem,
    reduction: Reduction,
    scaling: Scaling,
    formulation: str = "counts",
    symmetry_breaking: bool = True,
) -> tuple[cp_model.CpModel, list[Any], list[tuple[list[Any], np.ndarray]]]:
    """Builds the CP-SAT model: variables, then constraints, then the objective.

    Returns the model, ``z`` per kept candidate, and per kept candidate its epoch variables with
    the option index of each (as :class:`jqodi_opt.finetune.solvers.milp.MilpModel` does).
    """
    model = cp_model.CpModel()
    model.name = f"jqodi-{formulation}-{problem.name}"
    cands = [problem.candidates[c] for c in reduction.candidates]

    # ---- variables
    z = [model.new_bool_var(f"z[{c}]") for c in reduction.candidates]
    blocks: list[tuple[list[Any], np.ndarray]] = []
    for c, cand, opts, uses in zip(
        reduction.candidates, cands, reduction.options, scaling.max_uses, strict=True
    ):
        if formulation == "counts":
            variables = [
                model.new_int_var(0, int(u), f"n[{c},{o}]")
                for o, u in zip(opts.tolist(), uses, strict=True)
            ]
            blocks.append((variables, opts))
        else:
            variables = [
                model.new_bool_var(f"y[{c},{k},{o}]")
                for k in range(1, cand.epochs + 1)
                for o in opts.tolist()
            ]
            blocks.append((variables, np.tile(opts, cand.epochs)))

    # ---- constraints
    model.add_exactly_one(z)
    for i, cand in enumerate(cands):
        variables, _ = blocks[i]
        width = len(reduction.options[i])
        if formulation == "counts":
            model.add(cp_model.LinearExpr.sum(variables) == cand.epochs * z[i])
            times = scaling.option_time[i]
        else:
            for k in range(cand.epochs):
                model.add(cp_model.LinearExpr.sum(variables[k * width : (k + 1) * width]) == z[i])
            if symmetry_breaking:
                rank = list(range(width))
                for k in range(cand.epochs - 1):
                    here = variables[k * width : (k + 1) * width]
                    after = variables[(k + 1) * width : (k + 2) * width]
                    model.add(
                        cp_model.LinearExpr.weighted_sum(here, rank)
                        <= cp_model.LinearExpr.weighted_sum(after, rank)
                    )
            times = np.tile(scaling.option_time[i], cand.epochs)
        model.add(
            cp_model.LinearExpr.weighted_sum(variables, times.tolist()) <= scaling.budget[i] * z[i]
        )

    # ---- objective
    terms: list[Any] = list(z)
    coefs: list[int] = list(scaling.quantize_energy)
    for i, cand in enumerate(cands):
        reps = 1 if formulation == "counts" else cand.epochs
        terms.extend(blocks[i][0])
        coefs.extend(np.tile(scaling.option_energy[i], reps).tolist())
    model.minimize(cp_model.LinearExpr.weighted_sum(terms, coefs))
    return model, z, blocks


def add_hint(
    model: cp_model.CpModel,
    z: list[Any],
    blocks: list[tuple[list[Any], np.ndarray]],
    reduction: Reduction,
    problem: Problem,
    per_epoch: bool,
) -> None:
    """Hints the reduction's incumbent (rounded LP plan) to CP-SAT, every variable."""
    incumbent = reduction.incumbent
    assert incumbent is not None
    chosen = reduction.candidates.index(incumbent.candidate)
    for i, (c, opts) in enumerate(zip(reduction.candidates, reduction.options, strict=True)):
        model.add_hint(z[i], i == chosen)
        variables, _ = blocks[i]
        if i == chosen:
            epochs = problem.candidates[c].epochs
            values = start_values(incumbent.option_epochs, opts, epochs, per_epoch)
        else:
            values = np.zeros(len(variables))
        for var, value in zip(variables, values.tolist(), strict=True):
            model.add_hint(var, int(value))


def solve_cpsat(
    problem: Problem,
    time_limit: float | None = None,
    *,
    formulation: str = "counts",
    num_workers: int | None = None,
    tick_s: float | None = None,
    symmetry_breaking: bool = True,
    display: bool = False,
    workers: int | None = None,
) -> SolverOutput:
    """Solves the model with CP-SAT on integer ticks (see the module docstring for "optimal").

    Parameters
    ----------
    problem
        The compiled problem.
    time_limit
        Wall-clock seconds for build and solve together (None: none).
    formulation
        ``"counts"`` (default) or ``"epochs"``.
    num_workers
        CP-SAT search workers (None: CP-SAT's default, one per core).
    tick_s
        Time tick in seconds (None: automatic, fine enough to cut off no plan).
    symmetry_breaking
        Epochs formulation only: options run in order of increasing time.
    display
        Print CP-SAT's search log.
    workers
        Deprecated alias of ``num_workers`` (see :mod:`.options`).

    Raises
    ------
    OptionError
        For an option value it cannot take, before any work.
    KeyboardInterrupt
        On Ctrl-C during the search, after stopping it (see :mod:`.interrupt`).
    """
    check_formulation(formulation, FORMULATIONS)
    workers_used = checks.num_workers(num_workers, "workers", workers)
    if tick_s is not None:
        tick_s = checks.real_number("tick_s", tick_s, low=0.0, low_open=True)
    symmetry_breaking = checks.flag("symmetry_breaking", symmetry_breaking)
    display = checks.flag("display", display)
    start = time.perf_counter()
    reduction, stats, infeasible = prepare(problem, formulation, start)
    if infeasible is not None:
        return infeasible
    scaling = Scaling(problem, reduction, tick_s)
    scaling.warn()
    stats.update(scaling.stats())
    model, z, blocks = build_cpsat(problem, reduction, scaling, formulation, symmetry_breaking)
    if reduction.incumbent is not None:
        add_hint(model, z, blocks, reduction, problem, per_epoch=formulation == "epochs")
        stats["start_energy_j"] = reduction.incumbent.energy_j
    build_time = time.perf_counter() - start
    proto = model.proto
    stats["variables"] = len(proto.variables)
    stats["constraints"] = len(proto.constraints)
    if time_limit is not None and build_time >= time_limit:
        stats["native_status"] = "not run: time limit reached while building"
        bound = best_bound(None, reduction, stats)
        return SolverOutput(Status.TIME_LIMIT, bound=bound, build_time_s=build_time, stats=stats)

    solver = cp_model.CpSolver()
    if time_limit is not None:
        solver.parameters.max_time_in_seconds = time_limit - build_time
    if workers_used is not None:
        solver.parameters.num_workers = workers_used
    solver.parameters.log_search_progress = display
    solver.parameters.relative_gap_limit = OPTIMALITY_GAP
    solver.parameters.catch_sigint_signal = False  # Ctrl-C is ours: see run_interruptible
    solve_start = time.perf_counter()
    native_code = run_interruptible(lambda: solver.solve(model), solver.stop_search)
    solve_time = time.perf_counter() - solve_start

    native = solver.status_name(native_code)
    # the time limit is the only limit set, so a search that stopped without proof hit it
    limit_reached = time_limit is not None
    status = translate_status(native, limit_reached)
    stats["native_status"] = native
    stats["nodes"] = int(solver.num_branches)
    stats["conflicts"] = int(solver.num_conflicts)
    has_solution = native_code in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    bound = None
    if has_solution:
        scaled = solver.best_objective_bound
        if math.isfinite(scaled):
            bound = max(0.0, scaled * scaling.energy_unit_j - scaling.objective_error_bound_j)
    if status is not Status.INFEASIBLE and status is not Status.ERROR:
        bound = best_bound(bound, reduction, stats)
    output = SolverOutput(
        status, bound=bound, build_time_s=build_time, solve_time_s=solve_time, stats=stats
    )
    if not has_solution or status is Status.INFEASIBLE:
        return output
    values = np.asarray(solver.response_proto.solution, dtype=np.int64)
    chosen = int(np.argmax([values[v.index] for v in z]))
    variables, options = blocks[chosen]
    counts_per_var = values[[v.index for v in variables]]
    candidate = reduction.candidates[chosen]
    option_epochs = np.zeros(problem.candidates[candidate].num_options, dtype=np.int64)
    np.add.at(option_epochs, options, counts_per_var)
    output.candidate = candidate
    output.option_epochs = option_epochs
    return output
