"""The exact backends' sessions by name, and which one ``auto`` picks.

Every exact backend answers the same question (:class:`~.core.Session`), so the Pareto front
(:mod:`jqodi_opt.inference.pareto`) and the payoff table of ``jqodi compare``
(:func:`~.baselines.instance_payoff`) can run on any of them. ``auto`` takes the first that accepts
the network, in the order measured fastest on this package's instances:

1. ``dp`` on a chain (a shortest path: milliseconds at 1,852 layers);
2. ``dag-dp`` on a graph with at most :data:`AUTO_DAG_DP_SERVERS` servers (YOLO11n on 3 servers:
   about 0.5 s per objective and 11–14 s for its 19-point front, against 2–4 s and 234–437 s for
   ``milp``; RegNetX-400MF on 2 servers: 0.2 s, where ``milp`` proves little within 30 s) — or
   :data:`AUTO_FRONT_SERVERS` for a Pareto front it can answer in one pass (no device-energy
   limit, no binding memory). The holder sets (2^K per frontier tensor) grow with the servers K:
   on a generated 702-node DAG, ``dag-dp`` took 1.0–2.2 s per objective on 4 and 5 servers
   (``milp`` 0.3–1.2 s) and 18 s and over 60 s for the weighted objective's five stages
   (``milp`` 1.2 and 2.2 s), but its complete front took 17 s and 47 s (7 and 17 points) where
   ``milp``'s took 57 s and did not finish in 120 s; on 6 servers a 1,142-node DAG took it
   99–167 s per objective against ``milp``'s 1.2–2.4 s;
3. ``milp`` otherwise.

A backend that refuses the network (:class:`~jqodi_opt.exceptions.SolverRefused`: ``dp`` or
``dag-dp`` with binding accuracy interactions) passes it to the next. A DP that runs out of
labels on a solve (its state space too large: ``dag-dp`` on a generated 42-layer DAG with every
knob on every layer, 36 choices per layer, ran out of memory in the gap suite) hands over to
``milp`` for that solve and every later one (:class:`AutoSession`; its ``name`` says which
backend answers now).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jqodi_opt.exceptions import SolverRefused
from jqodi_opt.inference.solvers.core import CoreOutput, Session
from jqodi_opt.inference.solvers.network import DEVICE_ENERGY, Network

#: The exact backends a session can be opened on, by name.
BACKENDS = ("milp", "cpsat", "dp", "dag-dp", "exhaustive")

#: The name that lets :func:`open_session` choose.
AUTO = "auto"

#: ``auto`` tries ``dag-dp`` on graphs with at most this many servers...
AUTO_DAG_DP_SERVERS = 3

#: ...and for a Pareto front it answers in one pass, on graphs with at most this many.
AUTO_FRONT_SERVERS = 5


def open_session(
    network: Network, solver: str, *, num_workers: int | None = None, front: bool = False
) -> tuple[str, Session]:
    """An exact session of backend ``solver`` (or of the one :data:`AUTO` picks) on ``network``,
    with the name of the backend opened.

    ``num_workers``: threads for ``milp`` and ``cpsat`` (None: the backend's default). ``front``:
    the session is for a Pareto front (``auto`` then allows ``dag-dp`` more servers when it can
    answer the front in one pass).

    Raises
    ------
    ValueError
        ``solver`` is not an exact backend.
    SolverRefused
        The named backend refuses the network.
    """
    if solver == AUTO:
        candidates = []
        if network.chain:
            candidates.append("dp")
        one_pass = (
            front
            and not np.isfinite(network.limits[DEVICE_ENERGY])
            and not network.memory_binds().any()
        )
        most = AUTO_FRONT_SERVERS if one_pass else AUTO_DAG_DP_SERVERS
        if network.num_servers <= most:
            candidates.append("dag-dp")
        for name in candidates:
            try:
                return name, AutoSession(
                    network, name, _open(network, name, num_workers), num_workers
                )
            except SolverRefused:
                continue
        return "milp", _open(network, "milp", num_workers)
    return solver, _open(network, solver, num_workers)


def _open(network: Network, solver: str, num_workers: int | None) -> Session:
    if solver == "milp":
        from jqodi_opt.inference.solvers.milp import MilpSession

        return MilpSession(network, threads=num_workers)
    if solver == "cpsat":
        from jqodi_opt.inference.solvers.cpsat import CpsatSession

        return CpsatSession(network, num_workers=num_workers)
    if solver == "dp":
        from jqodi_opt.inference.solvers.dp import DpSession

        return DpSession(network)
    if solver == "dag-dp":
        from jqodi_opt.inference.solvers.dagdp import DagDpSession

        return DagDpSession(network)
    if solver == "exhaustive":
        from jqodi_opt.inference.solvers.exhaustive import ExhaustiveSession

        return ExhaustiveSession(network)
    raise ValueError(f"an exact solver is needed ({AUTO}, {', '.join(BACKENDS)}), not {solver!r}.")


class AutoSession:
    """A DP session that hands over to ``milp`` for good once it runs out of labels.

    Parameters
    ----------
    network
        The network both sessions are opened on.
    name, first
        The DP backend tried first and its session.
    num_workers
        Threads for ``milp``.
    """

    def __init__(
        self, network: Network, name: str, first: Session, num_workers: int | None
    ) -> None:
        self.network = network
        self.name = name
        self.current = first
        self.num_workers = num_workers

    def _hand_over(self) -> None:
        self.name = "milp"
        self.current = _open(self.network, "milp", self.num_workers)

    def solve(self, weights: np.ndarray, limits: np.ndarray, deadline: float | None) -> CoreOutput:
        """The current backend's answer; after the hand-over, ``milp``'s."""
        out = self.current.solve(weights, limits, deadline)
        if self.name != "milp" and out.stats.get("out_of_labels"):
            self._hand_over()
            out = self.current.solve(weights, limits, deadline)
        return out

    def front(self, deadline: float | None, resolution: float) -> Any:
        """``dag-dp``'s one-pass front, or None (the epsilon-constraint method on the current
        backend) when it runs out of labels or the backend has none."""
        one_pass = getattr(self.current, "front", None)
        if one_pass is None:
            return None
        answer = one_pass(deadline, resolution)
        if answer is not None and answer.stats.get("out_of_labels"):
            self._hand_over()
            return None
        return answer
