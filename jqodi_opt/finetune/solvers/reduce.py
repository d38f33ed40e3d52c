"""Reductions shared by the MILP and CP-SAT models; each keeps the optimum (SPEC §1.3).

- **Too slow**: a candidate whose fastest plan (``tau_c`` plus ``K_c`` epochs of its fastest option)
  exceeds ``T_max`` can never be chosen: dropped.
- **Dominated options**: an option that is no faster and no cheaper than another option of the same
  candidate is never needed: swapping every epoch that uses it for the other keeps the plan feasible
  and no dearer (:meth:`~jqodi_opt.finetune.problem.Candidate.pareto_options`). Removed.
- **Bounding**: the LP relaxation of one candidate (``E_c + K_c phi(budget_c / K_c)``, ``phi`` the
  lower convex envelope of its options' (time, energy) points) is a lower bound on every plan of
  that candidate; rounding that LP solution down gives a feasible plan, an upper bound on the
  optimum. A candidate whose lower bound exceeds the best upper bound (by more than 1e-9 relative,
  the MILP's precision) cannot hold the optimum: dropped. The best rounded plan is handed to the
  solvers as a starting solution.

The exhaustive search applies none of these to options (it is the reference).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jqodi_opt.exceptions import OptionError
from jqodi_opt.finetune.problem import TIME_TOLERANCE, Candidate, Problem
from jqodi_opt.result import SolverOutput, Status

#: A candidate is bounded out when its LP bound exceeds the incumbent by more than this (relative).
BOUND_MARGIN = 1e-9


@dataclass(frozen=True)
class Incumbent:
    """A feasible plan found before solving: ``option_epochs[o]`` epochs on option ``o``."""

    candidate: int
    option_epochs: np.ndarray
    energy_j: float


@dataclass(frozen=True)
class Reduction:
    """What is left of a problem after the reductions.

    Attributes
    ----------
    candidates
        Indices into ``problem.candidates`` of the candidates kept.
    options
        For each kept candidate, the indices of its options kept (non-dominated, by increasing
        time and so decreasing energy).
    options_removed
        Dominated options removed, summed over the kept candidates.
    candidates_dropped
        Candidates dropped because their fastest plan exceeds ``T_max``.
    candidates_bounded
        Candidates dropped because their LP bound exceeds the incumbent's energy.
    lower_bound_j
        The LP relaxation of the whole model (``min`` over the candidates that can meet ``T_max``).
    incumbent
        The best rounded LP plan, if any.
    """

    candidates: tuple[int, ...]
    options: tuple[np.ndarray, ...]
    options_removed: int = 0
    candidates_dropped: int = 0
    candidates_bounded: int = 0
    lower_bound_j: float = math.nan
    incumbent: Incumbent | None = None

    def stats(self) -> dict[str, int]:
        """The counts for a solver's statistics."""
        return {
            "options_removed": self.options_removed,
            "candidates_dropped": self.candidates_dropped,
            "candidates_bounded": self.candidates_bounded,
        }


def can_meet_time_limit(candidate: Candidate, time_limit_s: float) -> bool:
    """True when the candidate's fastest plan fits ``T_max`` (with the SPEC's tolerance)."""
    return candidate.min_time_s <= time_limit_s * (1 + TIME_TOLERANCE)


def lower_envelope(candidate: Candidate, options: np.ndarray) -> np.ndarray:
    """The options on the lower convex envelope of the (time, energy) points, by increasing time."""
    time, energy = candidate.option_time_s[options], candidate.option_energy_j[options]
    hull: list[int] = []
    for i in np.lexsort((energy, time)).tolist():
        t, e = time[i], energy[i]
        if hull and e >= energy[hull[-1]]:  # no cheaper than a faster point
            continue
        while len(hull) >= 2:
            (t1, e1), (t2, e2) = (
                (time[hull[-2]], energy[hull[-2]]),
                (time[hull[-1]], energy[hull[-1]]),
            )
            if (e2 - e1) * (t - t1) < (e - e1) * (t2 - t1):  # middle point below the chord
                break
            hull.pop()
        hull.append(i)
    return options[np.asarray(hull, dtype=np.int64)]


def relaxation_bound(candidate: Candidate, options: np.ndarray) -> float:
    """The LP relaxation of one candidate, ``E_c + K_c phi(budget_c / K_c)``: a lower bound on its
    plans over ``options`` (``phi`` flat beyond the envelope's ends)."""
    hull = lower_envelope(candidate, options)
    per_epoch = max(candidate.budget_s, 0.0) / candidate.epochs
    envelope = np.interp(per_epoch, candidate.option_time_s[hull], candidate.option_energy_j[hull])
    return candidate.quantize_energy_j + candidate.epochs * float(envelope)


def rounded_relaxation_plan(candidate: Candidate, options: np.ndarray) -> np.ndarray | None:
    """The LP solution (two neighbouring envelope options) with the slower option's epochs rounded
    down: epochs per option, feasible in floating point, or None when none is found."""
    hull = lower_envelope(candidate, options)
    time = candidate.option_time_s
    epochs, budget = candidate.epochs, candidate.budget_s
    counts = np.zeros(candidate.num_options, dtype=np.int64)
    if epochs * time[hull[-1]] <= budget:
        counts[hull[-1]] = epochs  # the cheapest option fits every epoch
        return counts
    if epochs * time[hull[0]] > budget:
        return None
    i = int(np.searchsorted(time[hull], budget / epochs, side="right")) - 1
    fast, slow = hull[i], hull[i + 1]
    slow_epochs = int(min(epochs, (budget - epochs * time[fast]) // (time[slow] - time[fast])))
    while (
        slow_epochs > 0 and slow_epochs * time[slow] + (epochs - slow_epochs) * time[fast] > budget
    ):
        slow_epochs -= 1
    counts[slow], counts[fast] = slow_epochs, epochs - slow_epochs
    return counts if float(counts @ time) <= budget else None


def improve_plan(
    candidate: Candidate, options: np.ndarray, counts: np.ndarray, max_steps: int = 200
) -> np.ndarray:
    """Local search on a feasible plan: each step moves one epoch, or two, from used options to
    other options, keeping the total time within the budget, saving the most energy; stops when
    no step saves energy. Returns the improved epochs per option (feasible in floating point).

    Two moves at once matter when options trade time for energy along a line: one move frees time
    (to a faster option), the other spends it (to a slower one) and fills the budget closer.
    """
    time, energy = candidate.option_time_s, candidate.option_energy_j
    counts = counts.copy()
    for _ in range(max_steps):
        slack = candidate.budget_s - float(counts @ time)
        used = np.flatnonzero(counts)
        # every single move: one epoch from used[u] to options[o]
        extra = (time[options][None, :] - time[used][:, None]).ravel()
        saving = (energy[used][:, None] - energy[options][None, :]).ravel()
        source = np.repeat(used, len(options))
        target = np.tile(options, len(used))
        best_single = np.where(extra <= slack, saving, -np.inf)
        i = int(np.argmax(best_single))
        step: list[tuple[int, ...]] = [(i,)] if best_single[i] > 0 else []
        # best pair: sort moves by extra time, the best saving among those fitting what is left
        order = np.argsort(extra, kind="stable")
        sorted_extra, sorted_saving = extra[order], saving[order]
        prefix_best = np.maximum.accumulate(sorted_saving)
        prefix_arg = order[_running_argmax(sorted_saving)]
        fit = np.searchsorted(sorted_extra, slack - extra, side="right") - 1
        pair_saving = np.where(fit >= 0, saving + prefix_best[np.maximum(fit, 0)], -np.inf)
        j = int(np.argmax(pair_saving))
        if pair_saving[j] > max(0.0, best_single[i]):
            step = [(j, int(prefix_arg[fit[j]]))]
        if not step:
            break
        trial = counts.copy()
        for move in step[0]:
            trial[source[move]] -= 1
            trial[target[move]] += 1
        better = trial.min() >= 0 and float(trial @ energy) < float(counts @ energy)
        if not better or float(trial @ time) > candidate.budget_s:
            break
        counts = trial
    return counts


def _running_argmax(values: np.ndarray) -> np.ndarray:
    """For each position, the index of the largest value up to it."""
    index = np.arange(len(values))
    best = np.maximum.accumulate(values)
    is_new = values == best
    return np.maximum.accumulate(np.where(is_new, index, 0))


def reduce_problem(problem: Problem, dominance: bool = True, bounding: bool = True) -> Reduction:
    """Applies the reductions of the module docstring (``dominance``: remove dominated options;
    ``bounding``: drop candidates by LP bound)."""
    kept: list[int] = []
    options: list[np.ndarray] = []
    removed = 0
    for index, cand in enumerate(problem.candidates):
        if not can_meet_time_limit(cand, problem.time_limit_s):
            continue
        opts = cand.pareto_options() if dominance else np.arange(cand.num_options)
        removed += cand.num_options - len(opts)
        kept.append(index)
        options.append(opts)
    dropped = len(problem.candidates) - len(kept)
    if not kept:
        return Reduction((), (), removed, dropped)

    bounds = {
        c: relaxation_bound(problem.candidates[c], opts)
        for c, opts in zip(kept, options, strict=True)
    }
    plans: dict[int, np.ndarray] = {}
    for c, opts in zip(kept, options, strict=True):
        counts = rounded_relaxation_plan(problem.candidates[c], opts)
        if counts is not None:
            plans[c] = counts
    incumbent = _best(problem, plans)
    bounded = 0
    for improve in (False, True):
        if improve and incumbent is not None:  # polish the plans still in the race, then again
            for c, opts in zip(kept, options, strict=True):
                if c in plans:
                    plans[c] = improve_plan(problem.candidates[c], opts, plans[c])
            incumbent = _best(problem, plans)
        if bounding and incumbent is not None:
            limit = incumbent.energy_j * (1 + BOUND_MARGIN)
            keep = [i for i, c in enumerate(kept) if bounds[c] <= limit]
            bounded += len(kept) - len(keep)
            kept = [kept[i] for i in keep]
            options = [options[i] for i in keep]
            plans = {c: plans[c] for c in kept if c in plans}
    return Reduction(
        candidates=tuple(kept),
        options=tuple(options),
        options_removed=removed,
        candidates_dropped=dropped,
        candidates_bounded=bounded,
        lower_bound_j=min(bounds.values()),
        incumbent=incumbent,
    )


def _best(problem: Problem, plans: dict[int, np.ndarray]) -> Incumbent | None:
    best = None
    for c, counts in plans.items():
        cand = problem.candidates[c]
        energy = cand.quantize_energy_j + float(counts @ cand.option_energy_j)
        if best is None or energy < best.energy_j:
            best = Incumbent(c, counts, energy)
    return best


def energy_lower_bound(problem: Problem, reduction: Reduction) -> float:
    """The LP relaxation over the kept candidates: a lower bound on the optimum, usually within a
    fraction of a percent of it (the scale both models measure energy in)."""
    return min(
        relaxation_bound(problem.candidates[c], opts)
        for c, opts in zip(reduction.candidates, reduction.options, strict=True)
    )


def best_bound(
    solver_bound: float | None, reduction: Reduction, stats: dict[str, Any]
) -> float | None:
    """The best lower bound known: the solver's, or the LP relaxation of the reduction
    (:attr:`Reduction.lower_bound_j`, a bound on every plan) when that is higher — as when HiGHS
    stops on the per-epoch model before its root LP and reports a trivial bound. Records which in
    ``stats["bound_source"]``."""
    lp = reduction.lower_bound_j
    if not math.isfinite(lp) or (solver_bound is not None and solver_bound >= lp):
        if solver_bound is not None:
            stats["bound_source"] = "solver"
        return solver_bound
    stats["bound_source"] = "lp relaxation"
    return float(lp)


def start_values(
    counts: np.ndarray, options: np.ndarray, epochs: int, per_epoch: bool
) -> np.ndarray:
    """A plan's values for one candidate's epoch variables, in model order: ``n[c,o]`` for ``o`` in
    ``options``, or (``per_epoch``) ``y[c,k,o]`` for ``k = 1..K``, then ``o``, with the options run
    in ``options`` order (increasing time, as the symmetry breaking wants)."""
    used = counts[options]
    if not per_epoch:
        return used.astype(np.float64)
    width = len(options)
    values = np.zeros(epochs * width)
    positions = np.repeat(np.arange(width), used)
    values[np.arange(epochs) * width + positions] = 1.0
    return values


def check_formulation(formulation: str, formulations: Sequence[str]) -> None:
    """Refuses a formulation name the backend does not have (before any work is done)."""
    if formulation not in formulations:
        raise OptionError(
            f"formulation {formulation!r} not understood (choose from {', '.join(formulations)})."
        )


def prepare(
    problem: Problem, formulation: str, started: float
) -> tuple[Reduction, dict[str, Any], SolverOutput | None]:
    """The exact backends' first step: reduce, start the statistics, stop early if nothing is left.

    Returns the reduction, the statistics so far and, when no candidate's fastest plan fits
    ``T_max``, the ``infeasible`` output to return (None otherwise). ``started`` is the
    ``time.perf_counter()`` at which the backend began, for the build time.
    """
    reduction = reduce_problem(problem)
    stats: dict[str, Any] = {"formulation": formulation, **reduction.stats()}
    if reduction.candidates:
        return reduction, stats, None
    infeasible = SolverOutput(
        Status.INFEASIBLE,
        build_time_s=time.perf_counter() - started,
        stats=stats,
        message="no candidate's fastest plan fits T_max",
    )
    return reduction, stats, infeasible
