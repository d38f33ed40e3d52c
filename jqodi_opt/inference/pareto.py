"""The exact latency–energy Pareto front of an inference instance (SPEC §7.3, ``jqodi pareto``).

**Backend.** Any exact backend; ``auto`` (the default) takes ``dp`` on a chain, ``dag-dp`` on a
graph on up to five servers (three when a device-energy limit or binding memory rules out its
one-pass front), ``milp`` otherwise (:mod:`~jqodi_opt.inference.solvers.sessions`).
``dag-dp`` answers the whole front in **one pass** (:meth:`~.dagdp.DagDpSession.front`: its
labels non-dominated in latency and energy, exact by dominance, read off at ``resolution`` in the
order below), unless a device-energy limit or binding memory needs the method below. The tests
check that both ways give the same front.

**Method: epsilon-constraint with a lexicographic second stage**, on the other backends (``milp``:
one HiGHS model re-solved with new bounds and costs):

1. ``P_1``: min latency; then min energy among plans of that latency (``T <= T_1``).
2. Given ``P_k = (T_k, E_k)``: min latency among plans with ``E <= E_k (1 - delta)``, giving
   ``T_{k+1}``; then min energy among plans with ``T <= T_{k+1}`` and ``E <= E_k (1 - delta)``,
   giving ``E_{k+1}``. Stop when the first stage is infeasible.

**Why the front is complete.** Take any plan ``Q`` with ``E_Q <= E_k (1 - delta)``. Stage 1 gives
``T_Q >= T_{k+1}``; if ``T_Q = T_{k+1}``, stage 2 gives ``E_Q >= E_{k+1}``. So ``Q`` is dominated by
or equal to ``P_{k+1}``, or has ``E_Q < E_{k+1}`` (and is considered by a later iteration). Every
non-dominated point therefore appears, in order of increasing latency and decreasing energy, and
no reported point is weakly dominated (the second stage removes ties in latency, the strict energy
step removes ties in energy). The loop ends because energies strictly decrease over a finite set of
plans; the last point is the lexicographic (energy, latency) optimum. ``complete`` is True when
every stage was proven (``optimal`` to :data:`~jqodi_opt.finetune.problem.OPTIMALITY_GAP`, or
``infeasible``) and no point or time limit cut the loop short.

``delta`` (:data:`RESOLUTION`, 1e-6 relative, by default) is the front's resolution: two plans
whose energies differ by less are one point (the faster). It is ten times the optimality gap, so a
stage proven to that gap cannot skip a point.

**A coarser front, proven.** ``resolution=delta`` larger than the default gives fewer points and
fewer solves, with a proven guarantee instead of every point: for every non-dominated plan ``Q``
there is a reported point ``P`` with ``T_P <= T_Q`` and ``E_P <= E_Q / (1 - delta)`` (an
``delta``-Pareto set in energy, exact in latency). Proof: ``Q`` skipped after ``P_k`` means
``E_k (1 - delta) < E_Q``; ``E_Q <= E_{k-1} (1 - delta)`` made ``Q`` feasible for the stage that
found ``P_k``, so ``T_k <= T_Q``, and ``E_k < E_Q / (1 - delta)``.

**Progress and interruption.** ``progress`` (a callable taking one line of text) hears of every
point as it is proven; Ctrl-C (:class:`KeyboardInterrupt`) stops the search and returns the points
proven so far, with ``interrupted`` set and ``complete`` False.

**Weighted sums** (Nicosanti et al.'s scalarisation, SPEC §7.3) are solved for ``w_L`` on a grid
strictly inside (0, 1), ``w_E = 1 - w_L``, min–max normalised with the front's end points (its
payoff table); every distinct plan found is reported. A weighted sum can only find *supported*
points (on the lower-left convex hull of the front); the others are reported as
``supported: false`` on the front. **When the front is complete** (and at the default
resolution), the sweep is read off it instead of solved: a weighted sum with positive weights is
minimised by a non-dominated plan (any plan dominating it would be better), so its optimum is the
least weighted value over the front's points — the same answers as solving it, without the solves
(which on a large DAG are mixed-integer programs: 99 of them cost minutes on YOLO11n).
``solve_sweep=True`` solves them anyway; the tests check both ways agree.

Every plan goes through :func:`~jqodi_opt.inference.evaluate.evaluate_inference`; the front's
numbers are ``evaluate``'s.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jqodi_opt.inference.evaluate import evaluate_inference
from jqodi_opt.inference.plan import InferencePlan, make_inference_plan
from jqodi_opt.inference.problem import LIMIT_TOLERANCE, InferenceProblem
from jqodi_opt.inference.solvers.core import CoreOutput, expired
from jqodi_opt.inference.solvers.network import (
    ENERGY,
    LATENCY,
    Network,
    build_network,
    to_assignment,
)
from jqodi_opt.inference.solvers.objectives import Payoff, lexicographic
from jqodi_opt.inference.solvers.sessions import AUTO, BACKENDS, open_session
from jqodi_opt.result import Status

#: Relative energy step between consecutive front points (the default, exact front).
RESOLUTION = 1e-6

#: The largest resolution accepted (a 50 % energy step).
MAX_RESOLUTION = 0.5

#: Weights ``w_L`` of the default weighted-sum sweep (strictly inside (0, 1)).
SWEEP = np.linspace(0.0, 1.0, 101)[1:-1]


@dataclass
class FrontPoint:
    """One plan of the front (or of the weighted-sum sweep), priced by ``evaluate``."""

    latency_s: float
    energy_j: float
    device_energy_j: float
    plan: InferencePlan
    supported: bool | None = None
    weights: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """``{"latency_s", "energy_j", "device_energy_j", "plan", ...}``."""
        doc: dict[str, Any] = {
            "latency_s": self.latency_s,
            "energy_j": self.energy_j,
            "device_energy_j": self.device_energy_j,
        }
        if self.supported is not None:
            doc["supported"] = self.supported
        if self.weights:
            doc["latency_weights"] = self.weights
        doc["plan"] = self.plan.to_dict()
        return doc


@dataclass
class Front:
    """The result of :func:`pareto_front`.

    Attributes
    ----------
    front
        The non-dominated points by increasing latency.
    weighted_sum
        The distinct points the weighted-sum sweep found, by increasing latency.
    complete
        Whether the front is proven complete (module docstring).
    solver
        The exact backend used.
    runtime_s
        Wall-clock time.
    solves
        How many single-objective solves ran.
    reasons
        Why the front is not complete, or why there is none.
    infeasible
        Whether no plan exists, proven (an empty front that is not proven infeasible ran out of
        time or hit a solver failure).
    resolution
        The relative energy step (module docstring); :data:`RESOLUTION` for the exact front.
    interrupted
        Whether Ctrl-C stopped the search (the points are those proven before it).
    sweep_source
        ``front`` when the weighted sums were read off the complete front, ``solves`` when each
        was solved, ``none`` without a sweep.
    """

    front: list[FrontPoint]
    weighted_sum: list[FrontPoint]
    complete: bool
    solver: str
    runtime_s: float
    solves: int
    reasons: list[str] = field(default_factory=list)
    infeasible: bool = False
    resolution: float = RESOLUTION
    interrupted: bool = False
    sweep_source: str = "none"

    def payoff(self) -> Payoff | None:
        """Nicosanti et al.'s payoff table read off a complete front (its first point is the
        lexicographic (latency, energy) optimum, its last the (energy, latency) one), proven; None
        when the front is not complete."""
        if not self.complete or not self.front:
            return None
        fast, lean = self.front[0], self.front[-1]
        return Payoff(fast.latency_s, lean.energy_j, lean.latency_s, fast.energy_j, True)

    def to_dict(self) -> dict[str, Any]:
        """The ``jqodi pareto --json`` document (SPEC §9)."""
        return {
            "front": [p.to_dict() for p in self.front],
            "weighted_sum": [p.to_dict() for p in self.weighted_sum],
            "complete": self.complete,
            "resolution": self.resolution,
            "interrupted": self.interrupted,
            "weighted_sum_source": self.sweep_source,
            "solver": self.solver,
            "runtime_s": self.runtime_s,
            "solves": self.solves,
            "reasons": list(self.reasons),
        }


class _Pricer:
    """Turns a session's choices into evaluated :class:`FrontPoint` objects."""

    def __init__(self, problem: InferenceProblem, network: Network, solver: str) -> None:
        self.problem = problem
        self.network = network
        self.solver = solver

    def point(self, choices: np.ndarray, status: str) -> FrontPoint:
        assignment = to_assignment(self.network, choices)
        plan = make_inference_plan(self.problem, assignment, solver=self.solver, status=status)
        assert self.problem.instance is not None
        check = evaluate_inference(self.problem.instance, plan)
        if not check.feasible:
            raise RuntimeError(f"plan rejected by evaluate: {'; '.join(check.violations)}")
        plan = plan.model_copy(
            update={
                "latency_s": check.latency_s,
                "energy_j": check.energy_j,
                "device_energy_j": check.device_energy_j,
                "accuracy_drop": check.accuracy_drop,
                "objective": None,
            }
        )
        return FrontPoint(check.latency_s, check.energy_j, check.device_energy_j, plan)


def pareto_front(
    problem: InferenceProblem,
    solver: str = AUTO,
    time_limit: float | None = None,
    *,
    sweep: np.ndarray | None = None,
    max_points: int = 10_000,
    resolution: float = RESOLUTION,
    progress: Callable[[str], None] | None = None,
    solve_sweep: bool = False,
) -> Front:
    """The exact latency–energy front and the weighted-sum points (module docstring).

    Parameters
    ----------
    problem
        The compiled inference problem (its objective is ignored; its limits, memory and accuracy
        budget hold).
    solver
        An exact backend: ``milp``, ``cpsat``, ``dp`` (chains), ``dag-dp`` or ``exhaustive``, or
        ``auto`` (default: the fastest that accepts the instance,
        :mod:`~jqodi_opt.inference.solvers.sessions`). The front's ``solver`` names the one used.
    time_limit
        Wall-clock seconds for the front and the sweep together (None: none).
    sweep
        Latency weights ``w_L`` of the weighted-sum sweep (default :data:`SWEEP`, 99 weights);
        an empty array skips the sweep.
    max_points
        Stop after this many front points (the front is then not complete).
    resolution
        Relative energy step between points, in [:data:`RESOLUTION`, :data:`MAX_RESOLUTION`]:
        the default gives every non-dominated point; a coarser one a proven
        ``resolution``-Pareto set (module docstring).
    progress
        Called with one line of text as each point is proven and as the sweep advances.
    solve_sweep
        Solve every weighted sum even when the complete front gives its answer.

    Raises
    ------
    ValueError
        ``resolution`` outside its range, or ``solver`` not an exact backend.
    """
    if not RESOLUTION <= resolution <= MAX_RESOLUTION:
        raise ValueError(
            f"resolution {resolution:g} not understood ({RESOLUTION:g} to {MAX_RESOLUTION:g})."
        )
    tell = progress if progress is not None else (lambda line: None)
    start = time.perf_counter()
    deadline = None if time_limit is None else start + time_limit
    if solver != AUTO and solver not in BACKENDS:
        raise ValueError(
            f"pareto needs an exact solver ({AUTO}, {', '.join(BACKENDS)}), not {solver!r}."
        )
    network = build_network(problem)
    solver, session = open_session(network, solver, front=True)
    pricer = _Pricer(problem, network, solver)
    weights = SWEEP if sweep is None else np.asarray(sweep, dtype=float)
    solves = 0
    reasons: list[str] = []
    proven = True
    points: list[tuple[np.ndarray, np.ndarray]] = []  # (choices, network cost)
    limits = np.full(3, np.inf)

    def note(stage: CoreOutput | None, what: str) -> None:
        nonlocal proven
        if stage is not None and stage.status not in (Status.OPTIMAL, Status.INFEASIBLE):
            proven = False
            reasons.append(f"{what}: {stage.status} {stage.message}".strip())

    interrupted = False
    try:
        one_pass = getattr(session, "front", None)  # dag-dp: the whole front in one pass
        answer = one_pass(deadline, resolution) if one_pass is not None else None
        if answer is not None:
            solves += 1
            points = [(choices, network.measure(choices).cost) for choices in answer.plans]
            if answer.status is not Status.OPTIMAL:
                proven = False
                reasons.append(f"front: {answer.status} {answer.message}".strip())
            if len(points) > max_points:
                proven = False
                points = points[:max_points]
                reasons.append(f"stopped at max_points {max_points}")
            tell(f"front: {len(points)} points in one pass ({time.perf_counter() - start:.1f} s)")
        while answer is None:
            if expired(deadline):
                proven = False
                reasons.append("time limit reached before the front was complete")
                break
            if len(points) >= max_points:
                proven = False
                reasons.append(f"stopped at max_points {max_points}")
                break
            first, second = lexicographic(session, network, LATENCY, ENERGY, limits, deadline)
            solves += 1 if second is None else 2
            note(first, f"point {len(points) + 1}, min latency")
            note(second, f"point {len(points) + 1}, min energy")
            if second is None or second.choices is None:
                if first.status is not Status.INFEASIBLE:
                    proven = False
                    why = f"point {len(points) + 1}: {first.status} {first.message}"
                    reasons.append(why.strip())
                break
            cost = network.measure(second.choices).cost
            points.append((second.choices, cost))
            tell(
                f"front point {len(points)}: {cost[LATENCY]:.6g} s, {cost[ENERGY]:.6g} J "
                f"({solves} solves, {time.perf_counter() - start:.1f} s)"
            )
            # SPEC §7.3 epsilon constraint: strictly less energy than the last point
            limits = np.array([np.inf, cost[ENERGY] * (1 - resolution), np.inf])
    except KeyboardInterrupt:
        proven, interrupted = False, True
        reasons.append(f"interrupted after {len(points)} points")
    pricer.solver = getattr(session, "name", solver)  # auto: the backend that answered
    front = [pricer.point(choices, "optimal" if proven else "feasible") for choices, _ in points]
    front = _nondominated(front)
    if not front and proven:
        reasons.insert(0, "no plan meets memory, the accuracy budget and the limits")
    elif not front:  # the search stopped before a plan was found or proven not to exist
        reasons.insert(0, "no plan found (not proven infeasible)")

    sweep_points: list[FrontPoint] = []
    sweep_source = "none"
    if front and len(weights) and not interrupted:
        t_star, e_nadir = front[0].latency_s, front[0].energy_j
        t_nadir, e_star = front[-1].latency_s, front[-1].energy_j
        d_t = t_nadir - t_star if t_nadir > t_star else 1.0
        d_e = e_nadir - e_star if e_nadir > e_star else 1.0
        found: dict[tuple[float, float], FrontPoint] = {}
        if proven and (len(front) == 1 or (resolution == RESOLUTION and not solve_sweep)):
            # the front is complete: each weighted sum's optimum is its least value over the
            # front (module docstring), no solve needed; one point is best in both measures
            sweep_source = "front"
            for w, best in zip(weights, _least_weighted(front, weights, d_t, d_e), strict=True):
                p = front[best]
                key = (round(p.latency_s, 12), round(p.energy_j, 12))
                found.setdefault(
                    key, FrontPoint(p.latency_s, p.energy_j, p.device_energy_j, p.plan)
                ).weights.append(float(w))
        elif len(front) >= 2:
            sweep_source = "solves"
            try:
                for done, w in enumerate(weights):
                    if expired(deadline):
                        reasons.append("time limit reached during the weighted-sum sweep")
                        break
                    # SPEC §7.3: w_L (T - T*) / (T^N - T*) + w_E (E - E*) / (E^N - E*)
                    out = session.solve(
                        np.array([w / d_t, (1 - w) / d_e, 0.0]), np.full(3, np.inf), deadline
                    )
                    solves += 1
                    if out.choices is not None:
                        point = pricer.point(out.choices, str(out.status))
                        key = (round(point.latency_s, 12), round(point.energy_j, 12))
                        found.setdefault(key, point).weights.append(float(w))
                    tell(f"weighted sums: {done + 1} of {len(weights)}, {len(found)} distinct")
            except KeyboardInterrupt:
                interrupted = True
                reasons.append("interrupted during the weighted-sum sweep")
        sweep_points = sorted(found.values(), key=lambda p: p.latency_s)
        if sweep_source != "none":
            for p in front:
                p.supported = any(_same(p, q) for q in sweep_points)
            # the two ends are supported by definition (weights 1 and 0, lexicographically)
            front[0].supported = front[-1].supported = True
    return Front(
        front=front,
        weighted_sum=sweep_points,
        complete=proven and bool(front),
        solver=pricer.solver,
        runtime_s=time.perf_counter() - start,
        solves=solves,
        reasons=reasons,
        infeasible=proven and not front,
        resolution=resolution,
        interrupted=interrupted,
        sweep_source=sweep_source if sweep_points else "none",
    )


def _least_weighted(
    front: list[FrontPoint], weights: np.ndarray, d_t: float, d_e: float
) -> np.ndarray:
    """Per weight ``w_L``: the index of the front point of least normalised weighted sum (SPEC
    §7.3; the fastest of equals)."""
    t = np.array([p.latency_s for p in front])
    e = np.array([p.energy_j for p in front])
    # w_L (T - T*) / (T^N - T*) + w_E (E - E*) / (E^N - E*); the constant terms do not matter
    values = np.outer(weights, t / d_t) + np.outer(1 - weights, e / d_e)
    return np.argmin(values, axis=1)


def _same(a: FrontPoint, b: FrontPoint) -> bool:
    """Same (latency, energy) to the front's resolution."""
    return bool(
        abs(a.latency_s - b.latency_s) <= RESOLUTION * max(abs(a.latency_s), 1e-300)
        and abs(a.energy_j - b.energy_j) <= RESOLUTION * max(abs(a.energy_j), 1e-300)
    )


def _nondominated(points: list[FrontPoint]) -> list[FrontPoint]:
    """The points no other point weakly dominates (a safety net: the method already ensures it),
    by increasing latency."""
    slack = 1 + LIMIT_TOLERANCE
    kept = []
    for p in points:
        dominated = any(
            q is not p
            and q.latency_s <= p.latency_s * slack
            and q.energy_j <= p.energy_j * slack
            and (q.latency_s < p.latency_s or q.energy_j < p.energy_j)
            and not _same(p, q)
            for q in points
        )
        if not dominated:
            kept.append(p)
    return sorted(kept, key=lambda p: p.latency_s)


def plot_front(
    front: Front, ax: Any = None, baselines: dict[str, tuple[float, float]] | None = None
) -> Any:
    """Draws the front (line and points; non-supported points hollow), the weighted-sum points and
    the baselines' points on ``ax`` (a new figure's axes when None) and returns ``ax``."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 4.5))
    if front.front:
        t = [p.latency_s for p in front.front]
        e = [p.energy_j for p in front.front]
        ax.step(t, e, where="post", color="tab:blue", lw=1, alpha=0.6)
        supported = [p.supported is not False for p in front.front]
        ax.scatter(
            [x for x, s in zip(t, supported, strict=True) if s],
            [y for y, s in zip(e, supported, strict=True) if s],
            color="tab:blue",
            zorder=3,
            label=f"exact front ({len(t)} points)",
        )
        if not all(supported):
            ax.scatter(
                [x for x, s in zip(t, supported, strict=True) if not s],
                [y for y, s in zip(e, supported, strict=True) if not s],
                facecolors="none",
                edgecolors="tab:blue",
                zorder=3,
                label="non-supported (no weighted sum finds it)",
            )
    if front.weighted_sum:
        ax.scatter(
            [p.latency_s for p in front.weighted_sum],
            [p.energy_j for p in front.weighted_sum],
            marker="x",
            s=60,
            color="tab:red",
            zorder=4,
            label=f"weighted sums ({len(front.weighted_sum)} distinct)",
        )
    for i, (name, (t_b, e_b)) in enumerate((baselines or {}).items()):
        ax.scatter([t_b], [e_b], marker="^", color=f"C{(i + 2) % 10}", zorder=5, label=name)
    ax.set_xlabel("latency (s)")
    ax.set_ylabel("energy (J)")
    ax.set_title("latency–energy front" + ("" if front.complete else " (not proven complete)"))
    ax.legend(fontsize="small")
    return ax
