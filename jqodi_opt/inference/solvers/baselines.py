"""Inference baselines (SPEC §7.4): the exact problem restricted to a seed's option set, each solved
to its own optimum over that set.

Every baseline here is a **single cut**: layers ``0..c-1`` of the model's topological order run on
the device and layers ``c..L-1`` on one other server ``s`` (``c = L``: all on the device, ``c = 0``:
all on ``s``). On a chain that is the classic partition point; on a DAG it is a topological prefix
on the device, in the order of the model file (other prefixes of the same DAG are not tried — that
is what ``dads`` is for). Bit-widths are never changed (32 everywhere). The sets:

- ``all-local``: ``c = L`` only (Mu et al. *All_Local*); nothing free.
- ``all-server``: ``c = 0`` on the best single server (Mu et al. *All_Server*); nothing free (the
  input is sent uncompressed).
- ``neurosurgeon``: every ``c`` and server (Kang et al. 2017, as Mu et al. use it); nothing free.
- ``prune-partition``: every ``c`` and server (Mu et al.); each layer's pruning ratio free.
- ``bottlenet``: every ``c`` and server (Mu et al.; BottleNet++); each sent tensor's compression
  ratio free.

Each minimises the instance's objective (``latency``, ``energy``, ``device-energy``; ``weighted``
with the payoff table of the full problem, given by the caller) subject to every constraint of the
instance: memory, accuracy budget, latency and device-energy limits, links. "Original model"
choices must be allowed by the instance: a layer that may not take 32 bits or no pruning, or a
sent tensor when ratio 1 is not offered, makes that plan infeasible, with the reason.

How the optimum over the set is found, exactly: for every server ``s`` the three measures of every
cut are computed at once from the compiled arrays (prefix sums of device compute, suffix sums of
server compute, and difference arrays for the tensors crossing each cut — tensor ``t`` is sent
device → ``s`` for ``t <= c <= m(t)``, ``m(t)`` its last consumer, and a returned output produced
on ``s`` goes back for ``c <= t - 1``). With the free choices at their cheapest value this gives a
lower bound per ``(s, c)`` (exact when nothing is free); plans are then solved in increasing bound
order — a fixed plan is checked against every rule, a plan with free choices is a small MILP over
them (:func:`solve_fixed_placement`, HiGHS through ``scipy.optimize.milp``: one-hot choices, the
accuracy polynomial with its interactions linearised, limits and memory as rows) — and the search
stops when the next bound is no better than the best plan found; once a plan is found, a
placement whose MILP's LP relaxation cannot beat it is passed over without branching. The result
is that plan, reported ``feasible`` for the full problem (it is optimal only over its set:
``stats["restricted_status"]`` is ``optimal``, or ``time_limit`` when the search was cut short), or
``infeasible`` with why.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from jqodi_opt.exceptions import OptionError
from jqodi_opt.inference.accuracy import KIND_COMPRESSION, KIND_PRUNING, active_terms
from jqodi_opt.inference.costs import assignment_costs, tensor_destinations
from jqodi_opt.inference.problem import (
    LIMIT_TOLERANCE,
    Assignment,
    InferenceProblem,
    assignment_violations,
)
from jqodi_opt.inference.solvers.objectives import Payoff, coerce_payoff
from jqodi_opt.pyomo_highs import stdout_silenced
from jqodi_opt.result import Status

if TYPE_CHECKING:
    from jqodi_opt.inference.solvers.core import InferenceOutput
    from jqodi_opt.inference.solvers.objectives import PayoffOutput

#: Indices of the three additive measures.
LATENCY, ENERGY, DEVICE_ENERGY = 0, 1, 2

#: Relative tolerance when comparing a bound with the best value found.
BOUND_TOLERANCE = 1e-12

#: Every constraint row of the subproblem MILP is scaled so its largest number is about this large,
#: so that HiGHS's absolute feasibility tolerance (1e-7) is far inside the package's relative
#: limit tolerance (1e-9).
ROW_SCALE = 1e3


@dataclass
class PlanOutput:
    """What an inference heuristic or baseline hands back, in the problem's index space.

    Attributes
    ----------
    status
        ``feasible`` (a plan; optimal at most over the method's own set), ``infeasible`` (with
        ``reasons``), ``time_limit`` (no plan in time) or ``error``.
    assignment
        The plan, or None.
    value
        The objective value of the plan as the method computed it (the caller re-evaluates).
    reasons
        For ``infeasible``: why, one line each.
    stats
        Method statistics (``restricted_status``, plans examined, ...).
    """

    status: Status
    assignment: Assignment | None = None
    value: float | None = None
    reasons: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------
# objective
# --------------------------------------------------------------------------------------------------


def objective_weights(
    problem: InferenceProblem, payoff: Payoff | None = None
) -> tuple[np.ndarray, float]:
    """Weights on (latency, energy, device energy) and offset of the instance's objective.

    For ``weighted`` (SPEC §7.3, Nicosanti et al.) ``payoff`` is the full problem's payoff table
    ``(T*, E*, T^N, E^N)``: ``w_L (T - T*)/(T^N - T*) + w_E (E - E*)/(E^N - E*)`` is linear in
    ``(T, E)``; a zero denominator is taken as 1 (:meth:`Payoff.scales`, as the exact solvers do).

    Raises
    ------
    OptionError
        For ``weighted`` without a payoff table.
    """
    weights = np.zeros(3)
    if problem.objective == "latency":
        weights[LATENCY] = 1.0
    elif problem.objective == "energy":
        weights[ENERGY] = 1.0
    elif problem.objective == "device-energy":
        weights[DEVICE_ENERGY] = 1.0
    else:
        if payoff is None or problem.weights is None:
            raise OptionError(
                "the weighted objective needs the full problem's payoff table (T*, E*, T^N, E^N)"
            )
        w_l, w_e = problem.weights
        total = w_l + w_e
        d_t, d_e = payoff.scales()
        # SPEC §7.3: w_L (T - T*) / (T^N - T*) + w_E (E - E*) / (E^N - E*)
        weights[LATENCY] = w_l / total / d_t
        weights[ENERGY] = w_e / total / d_e
        offset = (w_l / total) * payoff.latency_s / d_t + (w_e / total) * payoff.energy_j / d_e
        return weights, offset
    return weights, 0.0


def measures(problem: InferenceProblem, assignment: Assignment) -> np.ndarray:
    """(latency, energy, device energy) of ``assignment`` from the compiled arrays (``inf`` where a
    needed link is missing)."""
    costs = assignment_costs(problem, assignment)
    return np.array([costs.latency_s, costs.energy_j, costs.device_energy_j])


# --------------------------------------------------------------------------------------------------
# the single-cut set
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CutSet:
    """A single-cut baseline's set of plans.

    Attributes
    ----------
    name
        The baseline's name.
    cuts
        ``"local"`` (``c = L`` only), ``"server"`` (``c = 0`` only) or ``"any"``.
    free
        ``""`` (original model), ``"pruning"`` (each layer's ratio) or ``"compression"`` (each
        sent tensor's ratio).
    """

    name: str
    cuts: str
    free: str = ""


SETS = {
    "all-local": CutSet("all-local", "local"),
    "all-server": CutSet("all-server", "server"),
    "neurosurgeon": CutSet("neurosurgeon", "any"),
    "prune-partition": CutSet("prune-partition", "any", "pruning"),
    "bottlenet": CutSet("bottlenet", "any", "compression"),
}


def index_of(values: np.ndarray, value: float) -> int | None:
    """Index of ``value`` in a sorted choice array, or None."""
    hits = np.flatnonzero(np.isclose(values, value, rtol=0.0, atol=1e-12))
    return int(hits[0]) if len(hits) else None


def cut_placement(problem: InferenceProblem, server: int, cut: int) -> np.ndarray:
    """``(L,)`` servers: layers ``< cut`` on the device, the others on ``server``."""
    placement = np.full(problem.num_layers, server, dtype=np.int64)
    placement[:cut] = problem.device
    return placement


def base_assignment(problem: InferenceProblem, placement: np.ndarray) -> Assignment:
    """The original model at ``placement``: 32 bits, no pruning, ratio 1 (index 0 if not offered;
    such a plan is then refused by the checks wherever a tensor is sent)."""
    prune0 = index_of(problem.pruning, 0.0)
    comp1 = index_of(problem.compression, 1.0)
    n = problem.num_layers
    return Assignment(
        server=np.asarray(placement, dtype=np.int64),
        bits=np.full(n, problem.bits32, dtype=np.int64),
        pruning=np.full(n, 0 if prune0 is None else prune0, dtype=np.int64),
        compression=np.full(problem.num_tensors, 0 if comp1 is None else comp1, dtype=np.int64),
    )


def last_consumer(problem: InferenceProblem) -> np.ndarray:
    """``(T,)``: the largest layer index consuming each tensor (-1 when none)."""
    return np.array(
        [int(c.max()) if len(c) else -1 for c in problem.tensor_consumers], dtype=np.int64
    )


@dataclass(frozen=True)
class CutBounds:
    """Per cut ``c = 0..L`` to one server: measures and memory with every free choice at its
    cheapest (exact when nothing is free), and the objective bound."""

    server: int
    measures: np.ndarray  # (L + 1, 3)
    device_memory: np.ndarray  # (L + 1,)
    server_memory: np.ndarray  # (L + 1,)
    bound: np.ndarray  # (L + 1,)


def cut_bounds(
    problem: InferenceProblem, server: int, cut_set: CutSet, weights: np.ndarray
) -> CutBounds:
    """Measures of every cut to ``server`` at once (module docstring), vectorised.

    With free choices, each element takes its cheapest allowed value for each quantity separately,
    so every entry is a lower bound; the objective bound takes the cheapest value of
    ``weights . measures`` per element.
    """
    n, dev = problem.num_layers, problem.device
    layers = np.arange(n)
    b32 = problem.bits32
    prune0 = index_of(problem.pruning, 0.0)
    comp1 = index_of(problem.compression, 1.0)

    # per layer and side: (L, R') measures over the pruning ratios the set lets it take
    if cut_set.free == "pruning":
        ratios = problem.layer_pruning_allowed  # (L, R)
    else:
        ratios = np.zeros((n, len(problem.pruning)), dtype=bool)
        ratios[:, 0 if prune0 is None else prune0] = True

    def layer_side(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t = problem.compute_time_s[layers, k, b32, :]  # (L, R)
        e = problem.compute_energy_j[layers, k, b32, :]
        d = e if k == dev else np.zeros_like(e)
        m = np.stack([t, e, d], axis=-1)  # (L, R, 3)
        masked = np.where(ratios[:, :, None], m, np.inf)
        per = masked.min(axis=1)  # (L, 3) cheapest per measure
        objective = np.where(ratios, m @ weights, np.inf).min(axis=1)  # (L,)
        memory = np.where(ratios, problem.memory_bytes[layers, b32, :], np.inf).min(axis=1)
        return per, objective, memory

    dev_m, dev_obj, dev_mem = layer_side(dev)
    srv_m, srv_obj, srv_mem = layer_side(server)

    def prefix(x: np.ndarray) -> np.ndarray:
        return np.concatenate([np.zeros((1, *x.shape[1:])), np.cumsum(x, axis=0)])

    def suffix(x: np.ndarray) -> np.ndarray:
        total = np.concatenate([np.cumsum(x[::-1], axis=0)[::-1], np.zeros((1, *x.shape[1:]))])
        return total

    meas = prefix(dev_m) + suffix(srv_m)  # (L+1, 3)
    bound = prefix(dev_obj) + suffix(srv_obj)
    device_memory = prefix(dev_mem)
    server_memory = suffix(srv_mem)

    # transfers: tensor t goes device -> server for t <= c <= m(t); a returned output of layer
    # t - 1 on the server goes back for c <= t - 1
    if cut_set.free == "compression":
        allowed = problem.tensor_compression_allowed  # (T, C)
    else:
        allowed = np.zeros((problem.num_tensors, len(problem.compression)), dtype=bool)
        if comp1 is not None:
            allowed[:, comp1] = True
    tensors = np.arange(problem.num_tensors)

    def send(src: int, dst: int) -> tuple[np.ndarray, np.ndarray]:
        if not problem.linked[src, dst]:
            inf = np.full((problem.num_tensors, 3), np.inf)
            return inf, np.full(problem.num_tensors, np.inf)
        t = problem.send_time_s[tensors, src, dst, b32, :]  # (T, C)
        e = problem.send_energy_j[tensors, src, dst, b32, :]
        d = e if src == dev else np.zeros_like(e)
        m = np.stack([t, e, d], axis=-1)
        per = np.where(allowed[:, :, None], m, np.inf).min(axis=1)  # (T, 3)
        objective = np.where(allowed, m @ weights, np.inf).min(axis=1)
        return per, objective

    fwd_m, fwd_obj = send(dev, server)
    back_m, back_obj = send(server, dev)
    last = last_consumer(problem)
    ranges: list[tuple[int, int, np.ndarray]] = []
    for t in np.flatnonzero(last >= tensors):  # consumed by a later layer: crosses for t <= c <= m
        ranges.append((int(t), int(last[t]), np.append(fwd_m[t], fwd_obj[t])))
    for t in np.flatnonzero(problem.tensor_returns):
        if t >= 1:  # produced by layer t - 1, which is on the server for c <= t - 1
            ranges.append((0, int(t) - 1, np.append(back_m[t], back_obj[t])))
    crossing = range_sums(n + 1, ranges)
    return CutBounds(
        server, meas + crossing[:, :3], device_memory, server_memory, bound + crossing[:, 3]
    )


def range_sums(size: int, ranges: list[tuple[int, int, np.ndarray]]) -> np.ndarray:
    """``(size, d)``: entry ``c`` is the sum of the vectors of every range ``lo <= c <= hi``.

    A difference array for the finite parts and a count of infinite ones (``inf - inf`` would
    poison the running sum)."""
    width = len(ranges[0][2]) if ranges else 1
    finite = np.zeros((size + 1, width))
    infinite = np.zeros((size + 1, width))
    for lo, hi, vector in ranges:
        is_inf = ~np.isfinite(vector)
        finite[lo] += np.where(is_inf, 0.0, vector)
        finite[hi + 1] -= np.where(is_inf, 0.0, vector)
        infinite[lo] += is_inf
        infinite[hi + 1] -= is_inf
    total = np.cumsum(finite, axis=0)[:size]
    return np.where(np.cumsum(infinite, axis=0)[:size] > 0, np.inf, total)


# --------------------------------------------------------------------------------------------------
# one placement, free choices: a small exact MILP
# --------------------------------------------------------------------------------------------------


@dataclass
class FixedResult:
    """The optimum over the free choices at one placement."""

    status: Status  # OPTIMAL, INFEASIBLE or TIME_LIMIT (then possibly with a plan)
    assignment: Assignment | None = None
    value: float | None = None
    reasons: list[str] = field(default_factory=list)
    pruned: bool = False  # no better than the cutoff (by its LP relaxation)


@dataclass(frozen=True)
class Slot:
    """One free choice: a layer's pruning ratio or a sent tensor's compression ratio."""

    kind: int  # KIND_PRUNING or KIND_COMPRESSION
    target: int  # layer index or tensor index
    options: np.ndarray  # choice indices it may take
    measures: np.ndarray  # (options, 3)
    memory: np.ndarray  # (options,) bytes on its server (0 for compression)
    server: int


def _slots(problem: InferenceProblem, base: Assignment, free: str) -> tuple[Assignment, list[Slot]]:
    """The free choices at ``base``'s placement; elements with one allowed value are fixed to it."""
    dev, b32 = problem.device, problem.bits32
    pruning, compression = base.pruning.copy(), base.compression.copy()
    slots: list[Slot] = []
    if free == "pruning":
        for i in range(problem.num_layers):
            options = np.flatnonzero(problem.layer_pruning_allowed[i])
            k = int(base.server[i])
            if len(options):
                pruning[i] = options[0]  # a slot starts at its first option
            if len(options) > 1:
                t = problem.compute_time_s[i, k, b32, options]
                e = problem.compute_energy_j[i, k, b32, options]
                d = e if k == dev else np.zeros_like(e)
                memory = problem.memory_bytes[i, b32, options]
                slots.append(Slot(KIND_PRUNING, i, options, np.stack([t, e, d], 1), memory, k))
    elif free == "compression":
        destinations = tensor_destinations(problem, base.server)
        producer = problem.tensor_server(base.server)
        for t in np.flatnonzero(destinations.any(axis=1)):
            options = np.flatnonzero(problem.tensor_compression_allowed[t])
            src = int(producer[t])
            if len(options):
                compression[t] = options[0]
            if len(options) > 1:
                m = np.zeros((len(options), 3))
                for h in np.flatnonzero(destinations[t]):
                    m[:, 0] += problem.send_time_s[t, src, h, b32, options]
                    m[:, 1] += problem.send_energy_j[t, src, h, b32, options]
                    if src == dev:
                        m[:, 2] += problem.send_energy_j[t, src, h, b32, options]
                slots.append(
                    Slot(KIND_COMPRESSION, int(t), options, m, np.zeros(len(options)), src)
                )
    fixed = Assignment(base.server, base.bits, pruning, compression)
    return fixed, slots


def solve_fixed_placement(
    problem: InferenceProblem,
    placement: np.ndarray,
    free: str,
    weights: np.ndarray,
    deadline: float | None = None,
    cutoff: float | None = None,
) -> FixedResult:
    """The best plan at ``placement`` (original model except the ``free`` choices), exactly.

    Without free choices this checks the one plan. Otherwise it solves a MILP over one-hot choice
    binaries ``y``: minimise ``weights . measures`` subject to the latency and device-energy
    limits, memory, and the accuracy budget (SPEC §7.2: first-order terms linear in ``y``; an
    interaction of two free choices through ``z <= y_a``, ``z <= y_b``, ``z >= y_a + y_b - 1``).
    The plan it returns has passed :func:`~jqodi_opt.inference.problem.assignment_violations`.
    With a ``cutoff`` (the best value found elsewhere), a placement whose LP relaxation is no
    better is reported ``pruned`` without a plan.
    """
    base, slots = _slots(problem, base_assignment(problem, placement), free)
    if not slots:
        reasons = assignment_violations(problem, base)
        if reasons:
            return FixedResult(Status.INFEASIBLE, reasons=reasons)
        return FixedResult(Status.OPTIMAL, base, float(weights @ measures(problem, base)))
    # the plan's choices besides the slots are fixed; they must be allowed on their own
    fixed_reasons = [r for r in problem.allowed(base) if not _about_slot(r, problem, slots)]
    if fixed_reasons:
        return FixedResult(Status.INFEASIBLE, reasons=fixed_reasons)
    return _milp(problem, base, slots, weights, deadline, cutoff)


def _about_slot(reason: str, problem: InferenceProblem, slots: list[Slot]) -> bool:
    names = {
        problem.layers[s.target] if s.kind == KIND_PRUNING else problem.tensors[s.target]
        for s in slots
    }
    return any(f"{kind} {name!r}" in reason for name in names for kind in ("layer", "tensor"))


def _milp(
    problem: InferenceProblem,
    base: Assignment,
    slots: list[Slot],
    weights: np.ndarray,
    deadline: float | None,
    cutoff: float | None,
) -> FixedResult:
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_array

    offsets = np.cumsum([0] + [len(s.options) for s in slots])
    num_y = int(offsets[-1])
    # the fixed part: the base plan minus what its slots contribute at their base values
    base_total = measures(problem, base)
    base_memory = assignment_costs(problem, base).memory_bytes
    for s in slots:  # every slot starts at its first option (see _slots)
        base_total = base_total - s.measures[0]
        base_memory[s.server] -= s.memory[0]
    y_measures = np.concatenate([s.measures for s in slots])  # (num_y, 3)

    # accuracy: each term is a constant 0/1 or one y variable
    terms = problem.accuracy
    constant_active = active_terms(terms, base, assignment_costs(problem, base).tensor_sent)
    slot_of = {(s.kind, s.target): j for j, s in enumerate(slots)}
    term_var: list[int | None] = []
    term_const = np.zeros(terms.num_terms)
    for a in range(terms.num_terms):
        j = slot_of.get((int(terms.kind[a]), int(terms.target[a])))
        if j is None:
            term_var.append(None)
            term_const[a] = float(constant_active[a])
        else:
            hit = np.flatnonzero(slots[j].options == terms.choice[a])
            term_var.append(int(offsets[j] + hit[0]) if len(hit) else None)
    accuracy_y = np.zeros(num_y)
    accuracy_const = float(terms.drop @ term_const) if terms.num_terms else 0.0
    for a, var in enumerate(term_var):
        if var is not None:
            accuracy_y[var] += terms.drop[a]
    pairs: list[tuple[int, int, float]] = []  # (y_a, y_b, weight) needing a product variable
    for (a, b), w in zip(terms.pairs, terms.pair_drop, strict=True):
        va, vb = term_var[a], term_var[b]
        if va is None and vb is None:
            accuracy_const += w * term_const[a] * term_const[b]
        elif va is None or vb is None:
            var, const = (vb, term_const[a]) if va is None else (va, term_const[b])
            assert var is not None
            accuracy_y[var] += w * const
        elif va == vb:
            accuracy_y[va] += w
        elif _slot_index(va, offsets) != _slot_index(vb, offsets):
            pairs.append((va, vb, float(w)))
        # two values of one slot are never both taken: the product is 0
    num = num_y + len(pairs)

    # constraint rows as a sparse matrix: (row, column, value) triplets
    row_of: list[int] = []
    col_of: list[int] = []
    val_of: list[float] = []
    lower: list[float] = []
    upper: list[float] = []

    def add(columns: np.ndarray, values: np.ndarray, lo: float, hi: float) -> None:
        row = len(lower)
        row_of.extend([row] * len(columns))
        col_of.extend(int(c) for c in columns)
        val_of.extend(float(v) for v in values)
        lower.append(lo)
        upper.append(hi)

    for j in range(len(slots)):  # one value per slot
        columns = np.arange(offsets[j], offsets[j + 1])
        add(columns, np.ones(len(columns)), 1.0, 1.0)

    def add_limit(coefficients: np.ndarray, rhs: float) -> None:
        size = max(abs(rhs), float(np.abs(coefficients).max(initial=0.0)))
        scale = ROW_SCALE / size if size > 0 else 1.0
        columns = np.flatnonzero(coefficients)
        add(columns, coefficients[columns] * scale, -np.inf, rhs * scale)

    if math.isfinite(problem.latency_limit_s):
        add_limit(y_measures[:, LATENCY], problem.latency_limit_s - base_total[LATENCY])
    if math.isfinite(problem.device_energy_limit_j):
        rhs = problem.device_energy_limit_j - base_total[DEVICE_ENERGY]
        add_limit(y_measures[:, DEVICE_ENERGY], rhs)
    for k in range(problem.num_servers):
        if math.isfinite(problem.server_memory_bytes[k]):
            coefficients = np.concatenate([np.where(s.server == k, s.memory, 0.0) for s in slots])
            if coefficients.any():
                add_limit(coefficients, problem.server_memory_bytes[k] - base_memory[k])
    if math.isfinite(problem.max_drop) and terms.num_terms:
        coefficients = np.concatenate([accuracy_y, [w for _, _, w in pairs]])
        add_limit(coefficients, problem.max_drop - accuracy_const)
    for p, (va, vb, _) in enumerate(pairs):  # z = y_a y_b
        z = num_y + p
        for v in (va, vb):
            add(np.array([z, v]), np.array([1.0, -1.0]), -np.inf, 0.0)
        add(np.array([va, vb, z]), np.array([1.0, 1.0, -1.0]), -np.inf, 1.0)

    matrix = coo_array((val_of, (row_of, col_of)), shape=(len(lower), num)).tocsr()
    constraints = LinearConstraint(matrix, np.array(lower), np.array(upper))
    cost = np.concatenate([y_measures @ weights, np.zeros(len(pairs))])
    options: dict[str, Any] = {"disp": False, "mip_rel_gap": 1e-9}
    if cutoff is not None:
        # the LP relaxation first: a placement whose relaxation cannot beat the best plan so far
        # is passed over without branching
        with stdout_silenced():
            relaxed = milp(cost, integrality=np.zeros(num), bounds=Bounds(0.0, 1.0),
                           constraints=constraints, options=dict(options))  # fmt: skip
        if relaxed.status == 2:
            return FixedResult(Status.INFEASIBLE, reasons=["no choice of the free values fits"])
        if relaxed.fun is not None and relaxed.fun >= cutoff - BOUND_TOLERANCE * abs(cutoff):
            return FixedResult(Status.OPTIMAL, pruned=True)
    integrality = np.concatenate([np.ones(num_y), np.zeros(len(pairs))])
    if deadline is not None:
        options["time_limit"] = max(deadline - time.perf_counter(), 1e-3)
    with stdout_silenced():
        result = milp(cost, integrality=integrality, bounds=Bounds(0.0, 1.0),
                      constraints=constraints, options=options)  # fmt: skip
    if result.x is None:
        if result.status == 2:
            return FixedResult(Status.INFEASIBLE, reasons=["no choice of the free values fits"])
        return FixedResult(Status.TIME_LIMIT, reasons=[str(result.message)])
    chosen = np.round(result.x[:num_y]).astype(np.int64)
    pruning, compression = base.pruning.copy(), base.compression.copy()
    for j, s in enumerate(slots):
        pick = s.options[int(np.argmax(chosen[offsets[j] : offsets[j + 1]]))]
        if s.kind == KIND_PRUNING:
            pruning[s.target] = pick
        else:
            compression[s.target] = pick
    plan = Assignment(base.server, base.bits, pruning, compression)
    reasons = assignment_violations(problem, plan)
    if reasons:  # beyond HiGHS's tolerance despite the row scaling
        return FixedResult(Status.INFEASIBLE, reasons=[f"MILP plan rejected: {reasons[0]}"])
    status = Status.OPTIMAL if result.status == 0 else Status.TIME_LIMIT
    return FixedResult(status, plan, float(weights @ measures(problem, plan)))


def _slot_index(var: int, offsets: np.ndarray) -> int:
    return int(np.searchsorted(offsets, var, side="right") - 1)


# --------------------------------------------------------------------------------------------------
# the search over cuts and servers
# --------------------------------------------------------------------------------------------------


def describe_cut(problem: InferenceProblem, server: int | None, cut: int) -> str:
    """``all on the device``, ``all on 'p100'`` or ``cut after 'conv3' to 'p100'``."""
    if server is None or cut == problem.num_layers:
        return "all on the device"
    if cut == 0:
        return f"all on {problem.servers[server]!r}"
    return f"cut after {problem.layers[cut - 1]!r} to {problem.servers[server]!r}"


def solve_cut_set(
    problem: InferenceProblem,
    cut_set: CutSet,
    time_limit: float | None = None,
    payoff: Payoff | None = None,
) -> PlanOutput:
    """The optimum of ``problem``'s objective over ``cut_set`` (module docstring)."""
    start = time.perf_counter()
    deadline = None if time_limit is None else start + time_limit
    weights, offset = objective_weights(problem, payoff)
    n, dev = problem.num_layers, problem.device
    servers = [
        k for k in range(problem.num_servers)
        if k != dev and problem.linked[dev, k] and problem.linked[k, dev]
    ]  # fmt: skip
    # (bound, server or None for all-local, cut)
    plans: list[tuple[float, int | None, int]] = []
    discarded: list[tuple[float, int | None, int]] = []

    def screen(cb: CutBounds, server: int | None, cuts: range) -> None:
        tol = 1 + LIMIT_TOLERANCE
        srv = dev if server is None else server
        for c in cuts:
            m = cb.measures[c]
            ok = (
                m[LATENCY] <= problem.latency_limit_s * tol
                and m[DEVICE_ENERGY] <= problem.device_energy_limit_j * tol
                and cb.device_memory[c] <= problem.server_memory_bytes[dev] * tol
                and (srv == dev or cb.server_memory[c] <= problem.server_memory_bytes[srv] * tol)
                and np.isfinite(cb.bound[c])
            )
            (plans if ok else discarded).append((float(cb.bound[c]), server, c))

    if cut_set.cuts in ("local", "any"):
        screen(cut_bounds(problem, dev, cut_set, weights), None, range(n, n + 1))
    if cut_set.cuts in ("server", "any"):
        for s in servers:
            cuts = range(0, 1) if cut_set.cuts == "server" else range(0, n)
            screen(cut_bounds(problem, s, cut_set, weights), s, cuts)
    plans.sort(key=lambda p: (p[0], -1 if p[1] is None else p[1], p[2]))

    best: tuple[float, Assignment] | None = None
    examined = 0
    restricted = Status.OPTIMAL
    for bound, server, cut in plans:
        if best is not None and bound >= best[0] - BOUND_TOLERANCE * abs(best[0]):
            break  # no later plan can beat the best one
        if deadline is not None and time.perf_counter() > deadline:
            restricted = Status.TIME_LIMIT
            break
        placement = cut_placement(problem, dev if server is None else server, cut)
        cutoff = None if best is None else best[0]
        found = solve_fixed_placement(problem, placement, cut_set.free, weights, deadline, cutoff)
        examined += 1
        if found.status is Status.TIME_LIMIT:
            restricted = Status.TIME_LIMIT
        if found.assignment is not None and found.value is not None:
            if best is None or found.value < best[0]:
                best = (found.value, found.assignment)
    stats = {
        "plans": len(plans) + len(discarded),
        "screened_out": len(discarded),
        "examined": examined,
        "restricted_status": str(restricted if best is not None else Status.INFEASIBLE),
    }
    if best is None:
        if restricted is Status.TIME_LIMIT:
            return PlanOutput(Status.TIME_LIMIT, reasons=["time limit"], stats=stats)
        reasons = _why_infeasible(problem, cut_set, servers, plans + discarded)
        return PlanOutput(
            Status.INFEASIBLE, reasons=reasons,
            stats=stats,
        )  # fmt: skip
    return PlanOutput(Status.FEASIBLE, best[1], best[0] - offset, stats=stats)


def _why_infeasible(
    problem: InferenceProblem,
    cut_set: CutSet,
    servers: list[int],
    plans: list[tuple[float, int | None, int]],
) -> list[str]:
    """Why no plan of the set is feasible: the count, then the rules the most promising one
    (lowest bound) breaks with the set's own choices."""
    if cut_set.cuts == "server" and not servers:
        return [f"{cut_set.name}: no server is linked to the device"]
    if not plans:
        return [f"{cut_set.name}: no plan in the set"]
    _, server, cut = min(plans, key=lambda p: (p[0], p[2]))
    placement = cut_placement(problem, problem.device if server is None else server, cut)
    base = base_assignment(problem, placement)
    what = "free choices at the cheapest" if cut_set.free else "the original model"
    where = f"{describe_cut(problem, server, cut)} ({what})"
    if len(plans) == 1:
        lines = [f"{cut_set.name}: its only plan, {where}, breaks:"]
    else:
        lines = [
            f"{cut_set.name}: none of its {len(plans)} plans is feasible; the most promising, "
            f"{where}, breaks:"
        ]
    lines.extend(f"  {r}" for r in assignment_violations(problem, base)[:5])
    return lines


# --------------------------------------------------------------------------------------------------
# the registry's entry points: InferenceOutput for jqodi_opt.solve
# --------------------------------------------------------------------------------------------------


def instance_payoff(
    problem: InferenceProblem, time_limit: float | None = None, num_workers: int | None = None
) -> PayoffOutput:
    """The payoff table ``(T*, E*, T^N, E^N)`` of the full problem (SPEC §7.3), from four
    lexicographic single-objective stages (:func:`~.objectives.payoff_table`) on the exact backend
    ``auto`` picks (:mod:`.sessions`: ``dp`` on a chain, ``dag-dp`` on a graph on up to three
    servers, ``milp`` otherwise; ``num_workers`` goes to ``milp``).

    It is a property of the instance, not of a method: every restriction of the ``weighted``
    objective (a baseline, ``qio``) is normalised by it, so their values compare with the exact
    solvers'. ``jqodi compare`` computes it once and hands it to every solver (``payoff=``).
    """
    from jqodi_opt.inference.solvers.network import build_network
    from jqodi_opt.inference.solvers.objectives import payoff_table
    from jqodi_opt.inference.solvers.sessions import AUTO, open_session

    start = time.perf_counter()
    deadline = None if time_limit is None else start + time_limit
    network = build_network(problem)
    name, session = open_session(network, AUTO, num_workers=num_workers)
    table = payoff_table(session, network, deadline)
    table.solver = getattr(session, "name", name)  # auto may have handed over to milp
    return table


def as_inference_output(
    problem: InferenceProblem,
    run: Callable[[Payoff | None, float | None], PlanOutput],
    time_limit: float | None,
    payoff: Payoff | None = None,
) -> InferenceOutput:
    """Runs a heuristic or baseline (``run(payoff, time_limit)``) and packs its answer for
    :func:`jqodi_opt.solve.solve`, which re-evaluates the plan.

    For the ``weighted`` objective the full problem's payoff table is ``payoff`` when the caller
    gives it (``jqodi compare`` does, once for all solvers), else it is computed first
    (:func:`instance_payoff`), its time counting against ``time_limit``: a restriction is
    normalised by the same ``T*, E*, T^N, E^N`` as the exact solvers, so the values compare.
    ``stats["payoff_proven"]`` says whether the table was proven.
    """
    from jqodi_opt.inference.solvers.core import InferenceOutput

    start = time.perf_counter()
    extra: dict[str, Any] = {}
    if problem.objective == "weighted":
        if payoff is None:
            table = instance_payoff(problem, time_limit)
            if table.payoff is None:
                status = (
                    Status.TIME_LIMIT if table.status is Status.TIME_LIMIT else Status.INFEASIBLE
                )
                return InferenceOutput(
                    status,
                    solve_time_s=time.perf_counter() - start,
                    reasons=["the full problem's payoff table (milp) has no plan: "
                             + (table.message or str(table.status))],
                )  # fmt: skip
            payoff = table.payoff
            extra["payoff_seconds"] = time.perf_counter() - start
            if time_limit is not None:
                time_limit = max(time_limit - (time.perf_counter() - start), 1e-3)
        else:
            extra["payoff_given"] = True
        extra["payoff_proven"] = payoff.proven
    weights, offset = objective_weights(problem, payoff)
    out = run(payoff, time_limit)
    cost = None if out.assignment is None else measures(problem, out.assignment)
    return InferenceOutput(
        out.status,
        assignment=out.assignment,
        objective_weights=weights,
        offset=offset,
        cost=cost,
        payoff=None if payoff is None or problem.objective != "weighted" else asdict(payoff),
        solve_time_s=time.perf_counter() - start,
        stats={**out.stats, **extra},
        reasons=list(out.reasons),
    )


def _solve(
    name: str, problem: InferenceProblem, time_limit: float | None, payoff: Any
) -> InferenceOutput:
    cut_set = SETS[name]
    return as_inference_output(
        problem,
        lambda table, limit: solve_cut_set(problem, cut_set, limit, table),
        time_limit,
        coerce_payoff(payoff),
    )


def solve_all_local(
    problem: InferenceProblem, time_limit: float | None = None, payoff: Any = None
) -> InferenceOutput:
    """Mu et al.'s *All_Local*: the whole original model on the device."""
    return _solve("all-local", problem, time_limit, payoff)


def solve_all_server(
    problem: InferenceProblem, time_limit: float | None = None, payoff: Any = None
) -> InferenceOutput:
    """Mu et al.'s *All_Server*: the whole original model on the best single server."""
    return _solve("all-server", problem, time_limit, payoff)


def solve_neurosurgeon(
    problem: InferenceProblem, time_limit: float | None = None, payoff: Any = None
) -> InferenceOutput:
    """Neurosurgeon (Kang et al. 2017): the best single cut and server, original model."""
    return _solve("neurosurgeon", problem, time_limit, payoff)


def solve_prune_partition(
    problem: InferenceProblem, time_limit: float | None = None, payoff: Any = None
) -> InferenceOutput:
    """Mu et al.'s *Prune_Partition*: the best single cut with per-layer pruning only."""
    return _solve("prune-partition", problem, time_limit, payoff)


def solve_bottlenet(
    problem: InferenceProblem, time_limit: float | None = None, payoff: Any = None
) -> InferenceOutput:
    """BottleNet++ as Mu et al. use it: the best single cut with feature compression only."""
    return _solve("bottlenet", problem, time_limit, payoff)
