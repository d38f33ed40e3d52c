"""What an exact inference backend does: minimise a weighted sum of the three measures under limits.

Every exact backend (``milp``, ``cpsat``, ``dp``, ``exhaustive``) opens a :class:`Session` on a
:class:`~jqodi_opt.inference.solvers.network.Network` and answers

    min   weights . (latency, energy, device energy)
    s.t.  (latency, energy, device energy) <= limits,  memory,  accuracy budget

as often as asked, with different weights and limits (the objectives, the payoff table and the
Pareto front of :mod:`jqodi_opt.inference.solvers.objectives` and :mod:`jqodi_opt.inference.pareto`
are sequences of such solves). A backend that can keep its model between solves (HiGHS) does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from jqodi_opt.inference.problem import Assignment
from jqodi_opt.result import Status


@dataclass
class CoreOutput:
    """One solve of a session.

    Attributes
    ----------
    status
        ``optimal`` only when proven to the package's optimality gap.
    choices
        Choice index per node, or None without a plan.
    bound
        Lower bound on ``weights . cost`` (None where the backend has none).
    stats
        Backend statistics.
    message
        Why there is no plan or no proof, when it is worth saying.
    """

    status: Status
    choices: np.ndarray | None = None
    bound: float | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    message: str = ""


class Session(Protocol):
    """An exact backend opened on one network."""

    def solve(
        self, weights: np.ndarray, limits: np.ndarray, deadline: float | None
    ) -> CoreOutput:  # pragma: no cover - a protocol
        """Minimises ``weights . cost`` subject to ``cost <= limits`` (elementwise, on top of the
        network's own limits) and every other constraint, before ``deadline``
        (``time.perf_counter()`` seconds; None: none)."""
        ...


def remaining(deadline: float | None) -> float | None:
    """Seconds left before ``deadline`` (None: no deadline), at least 1 ms."""
    if deadline is None:
        return None
    return max(deadline - time.perf_counter(), 1e-3)


def expired(deadline: float | None) -> bool:
    """Whether ``deadline`` has passed."""
    return deadline is not None and time.perf_counter() >= deadline


@dataclass
class InferenceOutput:
    """What an inference backend hands back to :func:`jqodi_opt.solve.solve`.

    Attributes
    ----------
    status
        ``optimal`` only with a proof.
    assignment
        The plan in index form, or None.
    objective_weights, offset
        The instance's objective as ``weights . (latency, energy, device energy) - offset``
        (``offset`` is 0 except for the normalised ``weighted`` objective).
    bound
        Lower bound on the objective's value, where the backend has one.
    cost
        The backend's own pricing of its plan (latency, energy, device energy), compared with
        ``evaluate``'s.
    payoff
        The payoff table of the ``weighted`` objective (``T*``, ``E*``, ``T^N``, ``E^N``).
    build_time_s, solve_time_s
        Time to build the model (network, formulation) and to solve it.
    stats
        Backend statistics.
    message
        Why there is no plan or no proof.
    reasons
        For ``infeasible`` from a restriction (a baseline): why.
    """

    status: Status
    assignment: Assignment | None = None
    objective_weights: np.ndarray = field(default_factory=lambda: np.zeros(3))
    offset: float = 0.0
    bound: float | None = None
    cost: np.ndarray | None = None
    payoff: dict[str, float] | None = None
    build_time_s: float = 0.0
    solve_time_s: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    reasons: list[str] = field(default_factory=list)
