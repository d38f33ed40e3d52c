"""Reductions shared by the MILP and CP-SAT models; both keep the optimum (SPEC §1.3).

- A candidate whose fastest plan (``tau_c`` plus ``K_c`` epochs of its fastest option) exceeds
  ``T_max`` can never be chosen: dropped.
- An option that is no faster and no cheaper than another option of the same candidate is never
  needed: swapping every epoch that uses it for the other keeps the plan feasible and no dearer
  (:meth:`~jqodi_opt.problem.Candidate.pareto_options`). Removed.

The exhaustive search applies neither to options (it is the reference).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jqodi_opt.problem import TIME_TOLERANCE, Candidate, Problem


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
    """

    candidates: tuple[int, ...]
    options: tuple[np.ndarray, ...]
    options_removed: int
    candidates_dropped: int

    def pairs(self, problem: Problem) -> int:
        """Epoch-option pairs left: the size of the per-epoch model."""
        return sum(
            problem.candidates[c].epochs * len(opts)
            for c, opts in zip(self.candidates, self.options, strict=True)
        )

    def stats(self) -> dict[str, int]:
        """The counts for a solver's statistics."""
        return {
            "options_removed": self.options_removed,
            "candidates_dropped": self.candidates_dropped,
        }


def can_meet_time_limit(candidate: Candidate, time_limit_s: float) -> bool:
    """True when the candidate's fastest plan fits ``T_max`` (with the SPEC's tolerance)."""
    return candidate.min_time_s <= time_limit_s * (1 + TIME_TOLERANCE)


def reduce_problem(problem: Problem, dominance: bool = True) -> Reduction:
    """Drops candidates that cannot meet ``T_max`` and (with ``dominance``) dominated options."""
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
    return Reduction(
        candidates=tuple(kept),
        options=tuple(options),
        options_removed=removed,
        candidates_dropped=len(problem.candidates) - len(kept),
    )


def relaxation_bound(candidate: Candidate, options: np.ndarray) -> float:
    """The LP relaxation of one candidate: ``E_c + K_c phi(budget_c / K_c)``, ``phi`` the lower
    convex envelope of the options' (time, energy) points; a lower bound on its best plan."""
    time, energy = candidate.option_time_s[options], candidate.option_energy_j[options]
    order = np.lexsort((energy, time))
    hull: list[tuple[float, float]] = []  # lower convex hull, by increasing time
    for t, e in zip(time[order].tolist(), energy[order].tolist(), strict=True):
        if hull and e >= hull[-1][1]:  # no cheaper than a faster point
            continue
        while len(hull) >= 2:
            (t1, e1), (t2, e2) = hull[-2], hull[-1]
            if (e2 - e1) * (t - t1) < (e - e1) * (t2 - t1):  # middle point below the chord
                break
            hull.pop()
        hull.append((t, e))
    times, energies = zip(*hull, strict=True)
    per_epoch = max(candidate.budget_s, 0.0) / candidate.epochs
    envelope = float(np.interp(per_epoch, times, energies))  # flat beyond either end
    return candidate.quantize_energy_j + candidate.epochs * envelope


def energy_lower_bound(problem: Problem, reduction: Reduction) -> float:
    """The LP relaxation of the whole model, ``min_c`` of :func:`relaxation_bound` over the kept
    candidates: a lower bound on the optimum, usually within a fraction of a percent of it."""
    return min(
        relaxation_bound(problem.candidates[c], opts)
        for c, opts in zip(reduction.candidates, reduction.options, strict=True)
    )
