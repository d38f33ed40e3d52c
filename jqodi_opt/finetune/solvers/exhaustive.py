"""Brute force, the paper's *Optimum* (``solver="exhaustive"``): every candidate, every multiset.

Epochs are interchangeable (an epoch's time and energy depend only on its option), so a plan of
candidate ``c`` is a multiset of ``K_c`` options: ``C(K_c + O_c - 1, O_c - 1)`` of them. All are
enumerated, none pruned by dominance (this is the reference the other solvers are checked against);
only candidates whose fastest plan already exceeds ``T_max`` are skipped, as none of their plans
can fit. A plan fits when ``tau_c + sum t <= T_max (1 + 1e-9)``, the rule ``evaluate`` applies.

Enumeration is vectorised (meet in the middle): the options split into a middle and a tail group,
each with a table of the time and energy of every multiset of each size ``0..K`` over its options;
a multiset of ``K`` is one entry of each whose sizes add up to ``K``, so whole slices are combined
at once by an outer sum. When the tables would grow too big, a Python loop runs over the counts of
the remaining (head) options. Measured on one core: 1.8e8 to 3e8 multisets per second from 5e7
multisets up (K from 7 to 200, 6 to 40 options).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import numpy as np

from jqodi_opt.exceptions import SolverRefused
from jqodi_opt.finetune.problem import TIME_TOLERANCE, Candidate, Problem
from jqodi_opt.finetune.solvers.options import whole_number
from jqodi_opt.finetune.solvers.reduce import can_meet_time_limit
from jqodi_opt.result import SolverOutput, Status

#: Default size guard: multisets over all candidates (refused above this): 5e9 takes 15 to 30 s
#: at the 1.8e8 to 3e8 per second measured on one core, leaving room for slower machines.
MAX_MULTISETS = 5_000_000_000

#: Entries of one table of multisets (two float64 arrays each).
TABLE_ENTRIES = 4_000_000

#: Multisets evaluated at once (an outer sum of two table slices).
CHUNK_ENTRIES = 4_000_000


def count_multisets(epochs: int, options: int) -> int:
    """``C(K + O - 1, O - 1)``: multisets of ``K`` epochs over ``O`` options."""
    return math.comb(epochs + options - 1, options - 1)


class _Table:
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


def _table_size(epochs: int, total: int) -> int:
    """Most options (at most ``total``) whose multiset table of sizes ``0..K`` fits
    :data:`TABLE_ENTRIES` (``C(K + r, r)`` entries for ``r`` options)."""
    size = 1
    while size < total and math.comb(epochs + size + 1, size + 1) <= TABLE_ENTRIES:
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
    OptionError
        When ``max_multisets`` is not a whole number >= 1.
    SolverRefused
        When the instance has more than ``max_multisets`` multisets to enumerate.
    """
    max_multisets = whole_number("max_multisets", max_multisets)
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
        raise SolverRefused(
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
    """Best plan of one candidate. Options split into head | middle | tail: a table for the
    middle and one for the tail, every pair of their entries whose sizes add up to what the head
    leaves is one multiset (an outer sum, in chunks); a Python loop runs over the head's counts
    (usually there is no head)."""
    found = _Found()
    epochs, options = cand.epochs, cand.num_options
    tail = _table_size(epochs, options)
    middle = _table_size(epochs, options - tail) if tail < options else 0
    head = options - tail - middle
    if time.perf_counter() >= deadline:
        found.stopped = True
        return found
    time_s, energy_j = cand.option_time_s, cand.option_energy_j
    tail_table = _Table(time_s[options - tail :], energy_j[options - tail :], epochs)
    middle_table = _Table(time_s[head : head + middle], energy_j[head : head + middle], epochs)
    budget = limit_s - cand.quantize_time_s
    for head_counts_tuple in _prefixes(head, epochs):
        head_counts = np.asarray(head_counts_tuple, dtype=np.int64)
        head_time = float(head_counts @ time_s[:head]) if head else 0.0
        head_energy = float(head_counts @ energy_j[:head]) if head else 0.0
        left = epochs - int(head_counts.sum())
        for middle_size in range(left + 1):
            tail_size = left - middle_size
            tail_time = tail_table.time[tail_size] + head_time
            tail_energy = tail_table.energy[tail_size] + head_energy
            rows = middle_table.time[middle_size]
            step = max(1, CHUNK_ENTRIES // max(1, len(tail_time)))
            for first in range(0, len(rows), step):
                if time.perf_counter() >= deadline:
                    found.stopped = True
                    return found
                chunk = slice(first, first + step)
                times = middle_table.time[middle_size][chunk, None] + tail_time[None, :]
                energies = middle_table.energy[middle_size][chunk, None] + tail_energy[None, :]
                found.enumerated += times.size
                energies[times > budget] = np.inf
                best = int(np.argmin(energies))
                row, col = divmod(best, times.shape[1])
                energy = float(energies[row, col]) + cand.quantize_energy_j
                if math.isfinite(energy) and energy < found.energy:
                    found.energy = energy
                    found.counts = np.concatenate(
                        [
                            head_counts,
                            middle_table.counts(middle_size, first + row),
                            tail_table.counts(tail_size, col),
                        ]
                    )
    return found
