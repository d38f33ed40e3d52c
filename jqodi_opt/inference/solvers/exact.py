"""The common frame of the exact inference backends: network, session, objective, output.

:func:`solve_exact` builds the :class:`~.network.Network` of the problem, opens the backend's
:class:`~.core.Session` on it, runs the instance's objective (:func:`~.objectives.optimise`, every
stage before one deadline) and translates the answer into an :class:`~.core.InferenceOutput` in the
problem's index space.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from jqodi_opt.inference.problem import InferenceProblem
from jqodi_opt.inference.solvers.core import InferenceOutput, Session
from jqodi_opt.inference.solvers.network import Network, build_network, to_assignment
from jqodi_opt.inference.solvers.objectives import Objective, coerce_payoff, optimise


def objective_of(problem: InferenceProblem, objective: str | None = None) -> Objective:
    """The problem's objective (or ``objective`` by name; ``weighted`` keeps the problem's weights,
    1 and 1 when it has none)."""
    kind = objective or problem.objective
    if kind == "weighted":
        w_l, w_e = problem.weights if problem.weights is not None else (1.0, 1.0)
        return Objective("weighted", w_l, w_e)
    return Objective(kind)


def solve_exact(
    problem: InferenceProblem,
    time_limit: float | None,
    open_session: Callable[[Network], Session],
    objective: str | None = None,
    payoff: Any = None,
) -> InferenceOutput:
    """Solves ``problem`` with the session ``open_session`` makes (see the module docstring).

    ``open_session`` may raise :class:`~jqodi_opt.exceptions.SolverRefused` (a DAG for ``dp``, too
    many plans for ``exhaustive``); it is let through. ``payoff``: the ``weighted`` objective's
    payoff table, when the caller has it (:func:`~.objectives.coerce_payoff`; checked before any
    work).
    """
    table = coerce_payoff(payoff)
    start = time.perf_counter()
    deadline = None if time_limit is None else start + time_limit
    network = build_network(problem)
    session = open_session(network)
    built = time.perf_counter()
    out = optimise(session, network, objective_of(problem, objective), deadline, table)
    solved = time.perf_counter()
    output = InferenceOutput(
        out.status,
        objective_weights=out.objective_weights,
        offset=out.offset,
        bound=out.bound,
        payoff=None if out.payoff is None else asdict(out.payoff),
        build_time_s=built - start,
        solve_time_s=solved - built,
        stats=out.stats,
        message=out.message,
    )
    if out.choices is not None:
        output.assignment = to_assignment(network, out.choices)
        output.cost = network.measure(out.choices).cost
    return output
