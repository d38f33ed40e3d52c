"""Brute force, the paper's *Optimum* (``solver="exhaustive"``): every candidate, every multiset.

Epochs are interchangeable (an epoch's time and energy depend only on its option), so a plan of
candidate ``c`` is a multiset of ``K_c`` options: ``C(K_c + O_c - 1, O_c - 1)`` of them. All are
enumerated, none pruned by dominance (this is the reference the other solvers are checked against);
only candidates whose fastest plan already exceeds ``T_max`` are skipped, as none of their plans
can fit. A plan fits when ``tau_c + sum t <= T_max (1 + 1e-9)``, the rule ``evaluate`` applies.

Enumeration is vectorised: for the last ``r`` options of a candidate a table holds the time and
energy of every multiset of each size ``0..K``; a Python loop runs over the counts of the other
options and adds them to a whole slice of the table at once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import numpy as np

from jqodi_opt.problem import TIME_TOLERANCE, Candidate, Problem
from jqodi_opt.result import SolverOutput, Status
from jqodi_opt.solvers.reduce import can_meet_time_limit

#: Default size guard: multisets over all candidates (refused above this, about a minute).
MAX_MULTISETS = 300_000_000

#: Entries of the vectorised table of suffix multisets (two float64 arrays).
TABLE_ENTRIES = 4_000_000


def count_multisets(epochs: int, options: int) -> int:
    """``C(K + O - 1, O - 1)``: multisets of ``K`` epochs over ``O`` options."""
    return math.comb(epochs + options - 1, options - 1)


class _SuffixTable:
    """Time and energy of every multiset of each size ``0..K`` over some options.

    ``time[k]``/``energy[k]`` hold the multisets of size ``k``; entry order is fixed by
    construction (blocks by the count of the last option added), which :meth:`counts` inverts.
    """

    def __init__(self, times: np.ndarray, energies: np.ndarray, max_size: int) -> None:
        self.times = times
        self.energies = energies
        self.max_size = max_size
        time_k: list[np.ndarray] = [np.zeros(1)] + [np.zeros(0)] * max_size
        energy_k: list[np.ndarray] = [np.zeros(1)] + [np.zeros(0)] * max_size
        for t, e in zip(times.tolist(), energies.tolist(), strict=True):
            # size k with the new option: none of it (old table), or one more than size k - 1
            for k in range(1, max_size + 1):
                time_k[k] = np.concatenate([time_k[k], time_k[k - 1] + t])
                energy_k[k] = np.concatenate([energy_k[k], energy_k[k - 1] + e])
        self.time = time_k
        self.energy = energy_k

    def counts(self, size: int, index: int) -> np.ndarray:
        """The option counts of entry ``index`` among the multisets of ``size``."""
        counts = np.zeros(len(self.times), dtype=np.int64)
        for i in range(len(self.times), 0, -1):  # undo the last option added first
            for m in range(size + 1):
                block = count_multisets(size - m, i - 1) if i > 1 else int(size - m == 0)
                if index < block:
                    counts[i - 1] = m
                    size -= m
                    break
                index -= block
        return counts


def _prefixes(options: int, max_total: int) -> Iterator[tuple[int, ...]]:
    """Every tuple of ``options`` non-negative counts summing to at most ``max_total``."""
    if options == 0:
        yield ()
        return
    for first in range(max_total + 1):
        for rest in _prefixes(options - 1, max_total - first):
            yield (first, *rest)


def _suffix_size(epochs: int, options: int) -> int:
    """Most options whose multiset table of sizes ``0..K`` stays within :data:`TABLE_ENTRIES`."""
    size = 1
    while size < options and math.comb(epochs + size + 1, size + 1) <= TABLE_ENTRIES:
        size += 1
    return size


def solve_exhaustive(
    problem: Problem, time_limit: float | None = None, *, max_multisets: int = MAX_MULTISETS
) -> SolverOutput:
    """Enumerates every plan of every candidate.

    Parameters
    ----------
    problem
        The compiled problem.
    time_limit
        Wall-clock seconds (None: none). When reached, the best plan so far is returned with
        status ``time_limit`` (none if no plan was found yet).
    max_multisets
        Refuse instances with more multisets than this over all candidates.

    Raises
    ------
    ValueError
        When the instance has more than ``max_multisets`` multisets to enumerate.
    """
    start = time.perf_counter()
    deadline = math.inf if time_limit is None else start + time_limit
    limit = problem.time_limit_s * (1 + TIME_TOLERANCE)
    usable = [
        i for i, c in enumerate(problem.candidates) if can_meet_time_limit(c, problem.time_limit_s)
    ]
    total = sum(
        count_multisets(problem.candidates[i].epochs, problem.candidates[i].num_options)
        for i in usable
    )
    if total > max_multisets:
        raise ValueError(
            f"exhaustive: {total:,} multisets of options to enumerate exceed the limit "
            f"{max_multisets:,} (about a minute); use milp or cpsat, or raise max_multisets."
        )
    stats: dict[str, object] = {
        "multisets": total,
        "candidates_skipped": len(problem.candidates) - len(usable),
    }
    if not usable:
        return SolverOutput(
            Status.INFEASIBLE,
            solve_time_s=time.perf_counter() - start,
            stats=stats,
            message="no candidate's fastest plan fits T_max",
        )

    best_energy = math.inf
    best: tuple[int, np.ndarray] | None = None
    enumerated = 0
    stopped = False
    for index in usable:
        cand = problem.candidates[index]
        found = _best_of_candidate(cand, limit, deadline)
        enumerated += found.enumerated
        if found.stopped:
            stopped = True
        if found.counts is not None and found.energy < best_energy:
            best_energy, best = found.energy, (index, found.counts)
        if stopped:
            break
    stats["enumerated"] = enumerated
    elapsed = time.perf_counter() - start
    if stopped:
        output = SolverOutput(Status.TIME_LIMIT, solve_time_s=elapsed, stats=stats)
    elif best is None:
        return SolverOutput(
            Status.INFEASIBLE,
            solve_time_s=elapsed,
            stats=stats,
            message="no plan of any candidate fits T_max",
        )
    else:
        output = SolverOutput(Status.OPTIMAL, bound=best_energy, solve_time_s=elapsed, stats=stats)
    if best is not None:
        output.candidate, output.option_epochs = best
    return output


class _Found:
    """Best plan of one candidate (``counts`` None when none fits)."""

    def __init__(self) -> None:
        self.energy = math.inf
        self.counts: np.ndarray | None = None
        self.enumerated = 0
        self.stopped = False


def _best_of_candidate(cand: Candidate, limit_s: float, deadline: float) -> _Found:
    found = _Found()
    epochs, options = cand.epochs, cand.num_options
    suffix = _suffix_size(epochs, options)
    prefix = options - suffix
    if time.perf_counter() >= deadline:
        found.stopped = True
        return found
    table = _SuffixTable(cand.option_time_s[prefix:], cand.option_energy_j[prefix:], epochs)
    prefix_time = cand.option_time_s[:prefix]
    prefix_energy = cand.option_energy_j[:prefix]
    budget = limit_s - cand.quantize_time_s
    for head in _prefixes(prefix, epochs):
        if time.perf_counter() >= deadline:
            found.stopped = True
            return found
        rest = epochs - sum(head)
        head_counts = np.asarray(head, dtype=np.int64)
        head_time = float(head_counts @ prefix_time) if prefix else 0.0
        head_energy = float(head_counts @ prefix_energy) if prefix else 0.0
        times = table.time[rest] + head_time
        energies = table.energy[rest] + head_energy
        found.enumerated += len(times)
        energies = np.where(times <= budget, energies, np.inf)
        best = int(np.argmin(energies))
        energy = float(energies[best]) + cand.quantize_energy_j
        if energies[best] < np.inf and energy < found.energy:
            found.energy = energy
            found.counts = np.concatenate([head_counts, table.counts(rest, best)])
    return found
