"""Baselines (SPEC §2): the exact problem restricted to a smaller option set, solved exactly.

- ``full-model``: 32-bit candidates only (paper §V-A, *Full Model*).
- ``minimal-model``: candidates of the smallest bit-width in the instance only (paper §V-A).
- ``all-local``: cut fixed at ``n``, all blocks on the device; the model must offer that cut
  (Mu et al. 2024).
- ``all-server``: cut fixed at ``0``, all blocks on the edge server (Mu et al. 2024).
- ``static``: one ``(edge server, cut)`` for every epoch (the paper's eq. 16 reading).

The first four are :meth:`Problem.restrict` with a candidate or option filter, solved by an exact
backend (``exact="milp"`` by default); the pairs a restriction leaves out are recorded in
``Problem.excluded`` with the reason, so an infeasible baseline says why. ``static`` is solved
exactly by enumeration: per candidate and option, the plan is feasible iff
``tau + K * t <= T_max``.

A baseline's plan is optimal over its restricted set only, so it is reported as ``feasible`` for the
full problem, with no bound; ``stats["restricted_status"]`` holds the exact solver's verdict on the
restriction. Infeasibility is decided exactly and before any solver runs: a restricted problem is
feasible iff some candidate's fastest plan fits ``T_max`` (:meth:`Problem.infeasibility_reasons`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from jqodi_opt.exceptions import OptionError
from jqodi_opt.finetune.problem import TIME_TOLERANCE, Candidate, Problem
from jqodi_opt.result import SolverOutput, Status


@dataclass(frozen=True)
class Restriction:
    """A baseline's sub-problem and how its indices map back to the full problem.

    Attributes
    ----------
    name
        The baseline.
    problem
        The restricted problem (what the exact solver sees).
    candidates
        For each restricted candidate, its index in the full problem.
    options
        For each restricted candidate, the full-problem indices of its options.
    bits
        The one bit-width a bit-width baseline keeps (None for the others).
    """

    name: str
    problem: Problem
    candidates: tuple[int, ...]
    options: tuple[np.ndarray, ...]
    bits: int | None = None

    def reasons(self) -> list[str]:
        """Why the restricted problem is infeasible (empty if it is not), the telling ones first:
        a kept candidate that is too slow, then pairs of the baseline's own bit-width that cannot
        learn, then other pairs that cannot, and last the pairs the restriction itself left out."""
        reasons = self.problem.infeasibility_reasons()
        kept = {c.name for c in self.problem.candidates}

        def rank(reason: str) -> int:
            pair = reason.split(":", 1)[0]
            if pair in kept:
                return 0
            if f"{self.name} baseline:" in reason:
                return 3
            own = self.bits is not None and pair.rsplit("@", 1)[-1] == str(self.bits)
            return 1 if own else 2

        return sorted(reasons, key=rank)

    def lift(
        self, candidate: int, option_epochs: np.ndarray, full: Problem
    ) -> tuple[int, np.ndarray]:
        """A restricted solution ``(candidate, epochs per option)`` in full-problem indices."""
        original = self.candidates[candidate]
        counts = np.zeros(full.candidates[original].num_options, dtype=np.int64)
        counts[self.options[candidate]] = np.rint(np.asarray(option_epochs)).astype(np.int64)
        return original, counts


def _restrict(
    problem: Problem,
    name: str,
    reason: str,
    candidate_filter: Callable[[Candidate], bool] | None = None,
    option_filter: Callable[[Candidate], np.ndarray] | None = None,
    bits: int | None = None,
) -> Restriction:
    """``problem.restrict(...)`` plus the index maps, from the same filters."""
    kept: list[int] = []
    options: list[np.ndarray] = []
    for c, cand in enumerate(problem.candidates):
        if candidate_filter is not None and not candidate_filter(cand):
            continue
        mask = (
            np.ones(cand.num_options, dtype=bool)
            if option_filter is None
            else np.asarray(option_filter(cand), dtype=bool)
        )
        if mask.any():
            kept.append(c)
            options.append(np.flatnonzero(mask))
    restricted = problem.restrict(candidate_filter, option_filter, reason=reason)
    assert len(restricted.candidates) == len(kept)
    return Restriction(name, restricted, tuple(kept), tuple(options), bits)


def _blocks(cand: Candidate) -> int:
    if cand.num_blocks is None:
        raise ValueError(f"{cand.name}: number of blocks unknown; compile with compile_problem.")
    return cand.num_blocks


def smallest_bits(problem: Problem) -> int | None:
    """The smallest bit-width in the instance: over candidates and excluded pairs alike."""
    bits = [c.bits for c in problem.candidates] + [e.bits for e in problem.excluded]
    return min(bits) if bits else None


def full_model_restriction(problem: Problem) -> Restriction:
    """32-bit candidates only (paper's *Full Model*)."""
    return _restrict(
        problem,
        "full-model",
        "full-model baseline: 32-bit candidates only",
        candidate_filter=lambda c: c.bits == 32,
        bits=32,
    )


def minimal_model_restriction(problem: Problem) -> Restriction:
    """Candidates of the instance's smallest bit-width only (paper's *Minimal Model*)."""
    bits = smallest_bits(problem)
    return _restrict(
        problem,
        "minimal-model",
        f"minimal-model baseline: {bits}-bit candidates only",
        candidate_filter=lambda c: c.bits == bits,
        bits=bits,
    )


def all_local_restriction(problem: Problem) -> Restriction:
    """Cut fixed at ``n``: every block on the device (Mu et al. 2024)."""
    return _restrict(
        problem,
        "all-local",
        "all-local baseline: the model does not offer cut n (all blocks on the device)",
        candidate_filter=lambda c: bool(np.any(c.option_cut == _blocks(c))),
        option_filter=lambda c: c.option_cut == _blocks(c),
    )


def all_server_restriction(problem: Problem) -> Restriction:
    """Cut fixed at ``0``: every block on the edge server (Mu et al. 2024)."""
    return _restrict(
        problem,
        "all-server",
        "all-server baseline: the model does not offer cut 0 (all blocks on the edge server)",
        candidate_filter=lambda c: bool(np.any(c.option_cut == 0)),
        option_filter=lambda c: c.option_cut == 0,
    )


#: The option-set restrictions, by baseline name (``static`` is not an option set; see below).
RESTRICTIONS: dict[str, Callable[[Problem], Restriction]] = {
    "full-model": full_model_restriction,
    "minimal-model": minimal_model_restriction,
    "all-local": all_local_restriction,
    "all-server": all_server_restriction,
}


def _check_exact(exact: str) -> None:
    from jqodi_opt.solve import SOLVERS

    if exact not in SOLVERS or not SOLVERS[exact].exact:
        names = ", ".join(n for n, info in SOLVERS.items() if info.exact)
        raise OptionError(f"exact solver {exact!r} not understood; choose from {names}.")


def solve_restriction(
    problem: Problem, restriction: Restriction, time_limit: float | None, exact: str = "milp"
) -> SolverOutput:
    """Solves ``restriction`` with the exact backend ``exact``; answers in ``problem``'s indices."""
    from jqodi_opt.solve import backend

    _check_exact(exact)
    started = time.perf_counter()
    sub = restriction.problem
    stats: dict[str, Any] = {
        "exact": exact,
        "candidates_kept": len(sub.candidates),
        "options_kept": int(sum(c.num_options for c in sub.candidates)),
    }
    reasons = restriction.reasons()
    if reasons:  # exact: the restriction is feasible iff some fastest plan fits
        stats["restricted_status"] = str(Status.INFEASIBLE)
        return SolverOutput(
            Status.INFEASIBLE,
            solve_time_s=time.perf_counter() - started,
            stats=stats,
            reasons=reasons,
        )
    out = backend(exact)(sub, time_limit)
    stats["restricted_status"] = str(out.status)
    if out.bound is not None:
        stats["restricted_bound_j"] = float(out.bound)
    stats.update({f"{exact}_{key}": value for key, value in out.stats.items()})
    own = time.perf_counter() - started - out.build_time_s - out.solve_time_s
    if out.candidate is None or out.option_epochs is None:
        status = out.status if out.status is not Status.OPTIMAL else Status.ERROR
        return SolverOutput(
            status,
            build_time_s=out.build_time_s + max(own, 0.0),
            solve_time_s=out.solve_time_s,
            stats=stats,
            message=out.message,
        )
    candidate, counts = restriction.lift(out.candidate, out.option_epochs, problem)
    # Optimal over the restriction only: a feasible plan of the full problem, no bound on it.
    status = Status.FEASIBLE if out.status is Status.OPTIMAL else out.status
    return SolverOutput(
        status,
        candidate,
        counts,
        build_time_s=out.build_time_s + max(own, 0.0),
        solve_time_s=out.solve_time_s,
        stats=stats,
        message=out.message,
    )


def solve_full_model(
    problem: Problem, time_limit: float | None, *, exact: str = "milp"
) -> SolverOutput:
    """*Full Model*: 32-bit candidates only, solved exactly with ``exact``."""
    return solve_restriction(problem, full_model_restriction(problem), time_limit, exact)


def solve_minimal_model(
    problem: Problem, time_limit: float | None, *, exact: str = "milp"
) -> SolverOutput:
    """*Minimal Model*: smallest bit-width only, solved exactly with ``exact``."""
    return solve_restriction(problem, minimal_model_restriction(problem), time_limit, exact)


def solve_all_local(
    problem: Problem, time_limit: float | None, *, exact: str = "milp"
) -> SolverOutput:
    """*All local*: cut ``n`` only, solved exactly with ``exact``."""
    return solve_restriction(problem, all_local_restriction(problem), time_limit, exact)


def solve_all_server(
    problem: Problem, time_limit: float | None, *, exact: str = "milp"
) -> SolverOutput:
    """*All server*: cut ``0`` only, solved exactly with ``exact``."""
    return solve_restriction(problem, all_server_restriction(problem), time_limit, exact)


def static_plans(problem: Problem) -> list[tuple[float, float, int, int]]:
    """Every static plan that fits ``T_max``: ``(energy, time, candidate, option)``, in index order.

    A static plan runs ``K_c`` epochs of one option: ``E_c + K_c * e_o`` joules and
    ``tau_c + K_c * t_o`` seconds (eq. 16 with the same ``(x, j)`` in every epoch).
    """
    limit = problem.time_limit_s * (1 + TIME_TOLERANCE)
    plans = []
    for c, cand in enumerate(problem.candidates):
        times = cand.quantize_time_s + cand.epochs * cand.option_time_s
        energies = cand.quantize_energy_j + cand.epochs * cand.option_energy_j
        for o in np.flatnonzero(times <= limit):
            plans.append((float(energies[o]), float(times[o]), c, int(o)))
    return plans


def solve_static(problem: Problem, time_limit: float | None) -> SolverOutput:
    """*Static*: one ``(edge server, cut)`` for all epochs, exact by enumeration.

    ``O(sum_c O_c)``. The static plan of a fastest option is the problem's fastest plan, so
    ``static`` is infeasible exactly when the problem is.
    """
    started = time.perf_counter()
    plans = static_plans(problem)
    stats: dict[str, Any] = {
        "static_plans_feasible": len(plans),
        "static_plans": int(sum(c.num_options for c in problem.candidates)),
    }
    if not plans:
        return SolverOutput(
            Status.INFEASIBLE,
            solve_time_s=time.perf_counter() - started,
            stats=stats,
            reasons=problem.infeasibility_reasons(),
        )
    energy, _, candidate, option = min(plans, key=lambda p: (p[0], p[2], p[3]))
    counts = np.zeros(problem.candidates[candidate].num_options, dtype=np.int64)
    counts[option] = problem.candidates[candidate].epochs
    stats["restricted_status"] = str(Status.OPTIMAL)
    stats["restricted_bound_j"] = energy
    return SolverOutput(
        Status.FEASIBLE, candidate, counts, solve_time_s=time.perf_counter() - started, stats=stats
    )


#: Every baseline name (the keys of the registry entries in :mod:`jqodi_opt.solve`).
BASELINES = ("full-model", "minimal-model", "all-local", "all-server", "static")
