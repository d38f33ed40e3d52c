"""Every plan of a tiny instance (``solver="exhaustive"``): the reference the others are checked
against.

Plans are enumerated in blocks (the product of every node's choices, :data:`BLOCK` plans at a time)
and priced by :meth:`~jqodi_opt.inference.solvers.network.Network.measure` — the same arithmetic as
SPEC §7.1–7.2 written plan by plan, with no model, no linearisation and no dominance argument.
Instances with more than ``max_plans`` plans (default :data:`MAX_PLANS`) are refused before any
work.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from jqodi_opt.exceptions import OptionError, SolverRefused
from jqodi_opt.inference.problem import InferenceProblem
from jqodi_opt.inference.solvers.core import CoreOutput, InferenceOutput, expired
from jqodi_opt.inference.solvers.exact import solve_exact
from jqodi_opt.inference.solvers.network import Network, objective_value
from jqodi_opt.result import Status

#: Default size guard: plans enumerated at most (about 1 s per million here).
MAX_PLANS = 2_000_000

#: Plans priced per numpy pass.
BLOCK = 65_536


class ExhaustiveSession:
    """Brute force over every plan.

    Parameters
    ----------
    network
        The network.
    max_plans
        Refuse above this many plans.
    """

    def __init__(self, network: Network, *, max_plans: int = MAX_PLANS) -> None:
        if network.num_plans > max_plans:
            raise SolverRefused(
                f"exhaustive refuses {network.name!r}: {network.num_plans:.3g} plans exceed "
                f"max_plans {max_plans:,} (use milp, cpsat, dp or dag-dp)."
            )
        self.network = network
        self.sizes = np.array([node.num_choices for node in network.nodes], dtype=np.int64)

    def _block(self, first: int, count: int) -> np.ndarray:
        """Plans ``first .. first + count - 1`` in mixed radix (last node fastest)."""
        index = np.arange(first, first + count, dtype=np.int64)
        choices = np.zeros((count, len(self.sizes)), dtype=np.int64)
        for v in range(len(self.sizes) - 1, -1, -1):
            choices[:, v] = index % self.sizes[v]
            index //= self.sizes[v]
        return choices

    def solve(self, weights: np.ndarray, limits: np.ndarray, deadline: float | None) -> CoreOutput:
        """The best plan over all plans (ties: the first in enumeration order)."""
        start = time.perf_counter()
        net = self.network
        total = int(np.prod(self.sizes))
        limits = np.minimum(np.asarray(limits, dtype=float), net.limits)
        capped = Network(**{**net.__dict__, "limits": limits})
        best_value, best_plan = np.inf, None
        for first in range(0, total, BLOCK):
            if expired(deadline):
                status = Status.TIME_LIMIT
                return CoreOutput(
                    status,
                    best_plan,
                    None,
                    {"plans": first},
                    "time limit before every plan was priced",
                )
            choices = self._block(first, min(BLOCK, total - first))
            measures = net.measure(choices)
            ok = capped.feasible(measures)
            if not ok.any():
                continue
            values = objective_value(measures.cost[ok], weights)
            i = int(np.argmin(values))
            if values[i] < best_value:
                best_value, best_plan = float(values[i]), choices[ok][i]
        stats = {"plans": total, "seconds": time.perf_counter() - start}
        if best_plan is None:
            return CoreOutput(Status.INFEASIBLE, stats=stats)
        return CoreOutput(Status.OPTIMAL, best_plan, bound=best_value, stats=stats)


def solve_exhaustive(
    problem: InferenceProblem,
    time_limit: float | None = None,
    *,
    max_plans: int = MAX_PLANS,
    payoff: Any = None,
) -> InferenceOutput:
    """Solves the instance's objective by pricing every plan.

    ``payoff``: the ``weighted`` objective's payoff table when the caller has it
    (:func:`~.objectives.coerce_payoff`; None: computed here).

    Raises
    ------
    SolverRefused
        Above ``max_plans`` plans.
    """
    if max_plans < 1:
        raise OptionError(f"max_plans {max_plans} not understood (>= 1).")
    return solve_exact(
        problem,
        time_limit,
        lambda net: ExhaustiveSession(net, max_plans=max_plans),
        payoff=payoff,
    )
