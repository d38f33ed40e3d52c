"""The four objectives of SPEC §7.3 on top of any exact :class:`~.core.Session`.

``latency``, ``energy``, ``device-energy``
    one solve with that measure's weight 1.
``weighted`` (Nicosanti et al., min–max normalised)
    ``w_L (T - T*) / (T^N - T*) + w_E (E - E*) / (E^N - E*)`` with ``w_L + w_E = 1`` (the weights
    as written are scaled to sum 1, as Nicosanti et al.'s code does). The **payoff table** comes
    from two *lexicographic* solves: min latency, then min energy among the latency-optimal plans
    (``T*``, ``E^N``), and min energy, then min latency among the energy-optimal plans (``E*``,
    ``T^N``). The second stage makes ``T^N`` and ``E^N`` well defined (several plans may share the
    first optimum; their other measure differs), so every exact backend normalises alike. When
    ``T^N = T*`` (the energy-optimal plan is also fastest) the latency denominator is taken as 1 s
    (any positive value gives the same optimum: the ideal point is reachable), likewise 1 J for
    energy. Nicosanti et al. add 1e-9 to the denominators instead.

A lexicographic second stage is solved as ``min second s.t. first <= first(plan of stage 1)``:
always feasible, and exact whenever stage 1 is.

Every stage runs before one deadline; a stage that is not proven makes the whole answer
``feasible`` (or ``time_limit``) with the reason, never ``optimal``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jqodi_opt.exceptions import OptionError
from jqodi_opt.inference.solvers.core import CoreOutput, Session
from jqodi_opt.inference.solvers.network import DEVICE_ENERGY, ENERGY, LATENCY, Network
from jqodi_opt.result import Status

OBJECTIVES = ("latency", "energy", "device-energy", "weighted")
MEASURE_OF = {"latency": LATENCY, "energy": ENERGY, "device-energy": DEVICE_ENERGY}


@dataclass(frozen=True)
class Objective:
    """An objective of SPEC §7.3: its kind and, for ``weighted``, the two weights."""

    kind: str
    latency_weight: float = 0.0
    energy_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in OBJECTIVES:
            raise ValueError(f"objective {self.kind!r} not understood ({', '.join(OBJECTIVES)}).")
        if self.kind == "weighted":
            if min(self.latency_weight, self.energy_weight) < 0 or not (
                self.latency_weight + self.energy_weight > 0
            ):
                raise ValueError("weighted objective: weights must be >= 0 and not both 0.")

    @property
    def label(self) -> str:
        """``latency``, ..., or ``weighted(0.5, 0.5)``."""
        if self.kind != "weighted":
            return self.kind
        return f"weighted({self.latency_weight:g}, {self.energy_weight:g})"


@dataclass(frozen=True)
class Payoff:
    """Nicosanti et al.'s payoff table: the ideal (``T*``, ``E*``) and nadir-ish (``T^N``,
    ``E^N``) values, and whether all four are proven."""

    latency_s: float
    energy_j: float
    latency_nadir_s: float
    energy_nadir_j: float
    proven: bool

    def scales(self) -> tuple[float, float]:
        """The denominators ``T^N - T*`` and ``E^N - E*`` (1 where zero)."""
        d_t = self.latency_nadir_s - self.latency_s
        d_e = self.energy_nadir_j - self.energy_j
        return (d_t if d_t > 0 else 1.0), (d_e if d_e > 0 else 1.0)


def coerce_payoff(value: Any) -> Payoff | None:
    """The ``payoff`` option: None, a :class:`~.objectives.Payoff`, or a mapping with its four
    values (``latency_s``, ``energy_j``, ``latency_nadir_s``, ``energy_nadir_j``; ``proven``
    False when absent) — the ``stats["payoff"]`` of an exact solver's result.

    Raises
    ------
    OptionError
        For anything else, or values that are not finite numbers.
    """
    if value is None or isinstance(value, Payoff):
        payoff = value
    elif isinstance(value, dict):
        keys = ("latency_s", "energy_j", "latency_nadir_s", "energy_nadir_j")
        try:
            t_star, e_star, t_nadir, e_nadir = (float(value[k]) for k in keys)
        except (KeyError, TypeError, ValueError):
            raise OptionError(
                f"payoff: a mapping needs numbers {', '.join(keys)}; "
                f"got keys {sorted(map(str, value))[:6]}."
            ) from None
        payoff = Payoff(t_star, e_star, t_nadir, e_nadir, bool(value.get("proven", False)))
    else:
        raise OptionError(
            f"payoff {type(value).__name__} not understood (a Payoff or a mapping of its values)."
        )
    if payoff is not None:
        numbers = [payoff.latency_s, payoff.energy_j, payoff.latency_nadir_s, payoff.energy_nadir_j]
        if not all(math.isfinite(x) for x in numbers):
            raise OptionError(f"payoff {numbers} not understood (four finite numbers).")
    return payoff


@dataclass
class ObjectiveOutput:
    """The outcome of :func:`optimise`.

    Attributes
    ----------
    status
        ``optimal`` only when every stage was proven.
    choices
        The plan (choice per node), or None.
    objective_weights
        The weights on (latency, energy, device energy) of the final solve.
    offset
        Subtracted from ``weights . cost`` to give the objective's value (weighted only).
    bound
        Lower bound on the objective's value, where known.
    payoff
        The payoff table (weighted only).
    stats, message
        Per stage statistics; why the result is not proven, when it is not.
    """

    status: Status
    choices: np.ndarray | None
    objective_weights: np.ndarray
    offset: float = 0.0
    bound: float | None = None
    payoff: Payoff | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    def value(self, cost: np.ndarray) -> float:
        """The objective's value for measures ``cost`` (latency, energy, device energy)."""
        return float(np.dot(self.objective_weights, cost)) - self.offset


def unit(measure: int) -> np.ndarray:
    """Weights selecting one measure."""
    weights = np.zeros(3)
    weights[measure] = 1.0
    return weights


def lexicographic(
    session: Session,
    network: Network,
    first: int,
    second: int,
    limits: np.ndarray,
    deadline: float | None,
) -> tuple[CoreOutput, CoreOutput | None]:
    """``min first``, then ``min second`` subject to ``first <= first(plan of stage 1)``.

    Returns both stages' outputs (the second is None when stage 1 has no plan).
    """
    stage1 = session.solve(unit(first), limits, deadline)
    if stage1.choices is None:
        return stage1, None
    achieved = network.measure(stage1.choices).cost[first]
    tightened = np.array(limits, dtype=float)
    tightened[first] = min(tightened[first], achieved)
    stage2 = session.solve(unit(second), tightened, deadline)
    if stage2.choices is None:  # cannot happen unless stage 2 ran out of time
        stage2 = CoreOutput(Status.FEASIBLE, stage1.choices, None, stage2.stats, stage2.message)
    return stage1, stage2


def _worst(*statuses: Status) -> Status:
    order = [Status.ERROR, Status.TIME_LIMIT, Status.INFEASIBLE, Status.FEASIBLE, Status.OPTIMAL]
    return min(statuses, key=order.index)


@dataclass
class PayoffOutput:
    """The payoff table of :func:`payoff_table` and how its four stages went.

    Attributes
    ----------
    payoff
        The table, or None when the first stage found no plan.
    status
        The worst status of the stages (``optimal`` only when all four were proven).
    stats, message
        Per stage statistics; why there is no table (or it is not proven), when so.
    plan
        The lexicographic (latency, energy) optimum's choices: a plan to fall back on when a
        later stage runs out of time without one.
    solver
        The exact backend that computed it, when the caller says (``instance_payoff``).
    """

    payoff: Payoff | None
    status: Status
    stats: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    plan: np.ndarray | None = None
    solver: str = ""


def payoff_table(session: Session, network: Network, deadline: float | None) -> PayoffOutput:
    """Nicosanti et al.'s payoff table from two lexicographic solves (module docstring)."""
    no_limits = np.full(3, np.inf)
    fast1, fast2 = lexicographic(session, network, LATENCY, ENERGY, no_limits, deadline)
    if fast2 is None:
        return PayoffOutput(None, fast1.status, {"min_latency": fast1.stats}, fast1.message)
    lean1, lean2 = lexicographic(session, network, ENERGY, LATENCY, no_limits, deadline)
    fast = network.measure(fast2.choices).cost  # type: ignore[arg-type]
    stats = {"min_latency": fast1.stats, "min_energy": lean1.stats}
    if lean2 is None:
        # the min-energy stage found no plan (out of time, or a backend failure): a plan exists
        # (the fast one), so the table falls back on it as both ends, unproven
        payoff = Payoff(
            float(fast[LATENCY]),
            float(fast[ENERGY]),
            float(fast[LATENCY]),
            float(fast[ENERGY]),
            False,
        )
        message = f"the payoff table's min-energy stage found no plan ({lean1.status})"
        status = _worst(fast1.status, fast2.status, lean1.status, Status.FEASIBLE)
        return PayoffOutput(payoff, status, stats, message, plan=fast2.choices)
    lean = network.measure(lean2.choices).cost  # type: ignore[arg-type]
    stages = [fast1, fast2, lean1, lean2]
    proven = all(s.status is Status.OPTIMAL for s in stages)
    payoff = Payoff(
        float(fast[LATENCY]), float(lean[ENERGY]), float(lean[LATENCY]), float(fast[ENERGY]), proven
    )
    status = _worst(*(s.status for s in stages))
    return PayoffOutput(payoff, status, stats, plan=fast2.choices)


def optimise(
    session: Session,
    network: Network,
    objective: Objective,
    deadline: float | None,
    payoff: Payoff | None = None,
) -> ObjectiveOutput:
    """Solves ``objective`` with ``session`` (all stages before ``deadline``).

    For ``weighted``, a given ``payoff`` table is used as it is (the four single-objective stages
    are skipped); the answer is ``optimal`` only if that table is ``proven``.
    """
    no_limits = np.full(3, np.inf)
    if objective.kind != "weighted":
        weights = unit(MEASURE_OF[objective.kind])
        out = session.solve(weights, no_limits, deadline)
        return ObjectiveOutput(
            out.status,
            out.choices,
            weights,
            bound=out.bound,
            stats={"solve": out.stats},
            message=out.message,
        )

    fallback, fallback_message = None, ""
    if payoff is None:
        table = payoff_table(session, network, deadline)
        if table.payoff is None:
            return ObjectiveOutput(
                table.status, None, np.zeros(3), stats=table.stats, message=table.message
            )
        payoff, stage_status, stats = table.payoff, table.status, dict(table.stats)
        fallback, fallback_message = table.plan, table.message
    else:
        stage_status = Status.OPTIMAL if payoff.proven else Status.FEASIBLE
        stats = {"payoff_given": True}
    total = objective.latency_weight + objective.energy_weight
    w_l, w_e = objective.latency_weight / total, objective.energy_weight / total
    d_t, d_e = payoff.scales()
    # SPEC §7.3: w_L (T - T*) / (T^N - T*) + w_E (E - E*) / (E^N - E*)
    weights = np.array([w_l / d_t, w_e / d_e, 0.0])
    offset = w_l * payoff.latency_s / d_t + w_e * payoff.energy_j / d_e
    final = session.solve(weights, no_limits, deadline)
    if final.choices is None and fallback is not None and final.status is not Status.INFEASIBLE:
        # out of time in the weighted solve: the best plan so far is the payoff table's
        final = CoreOutput(final.status, fallback, None, final.stats, final.message)
    status = _worst(final.status, stage_status)
    message = final.message or fallback_message
    if status is not Status.OPTIMAL and final.choices is not None:
        if final.status is Status.OPTIMAL:
            status = Status.FEASIBLE
            message = "the payoff table is not proven (a single-objective stage was not optimal)"
        elif final.status is Status.TIME_LIMIT:
            status = Status.TIME_LIMIT
    bound = None if final.bound is None else final.bound - offset
    return ObjectiveOutput(
        status,
        final.choices,
        weights,
        offset=offset,
        bound=bound,
        payoff=payoff,
        stats={**stats, "weighted": final.stats},
        message=message,
    )
