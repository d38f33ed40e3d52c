"""Dynamic programme over a DAG's frontier (``solver="dag-dp"``), exact on any model graph whose
frontier stays narrow.

**The frontier.** Nodes are taken in topological order (the network's). After node ``v`` the
*frontier* is the set of tensors already produced that still have a consumer to come (YOLO11n's
is at most 7 tensors wide, RegNetX's 2). The future of a partial plan depends on its past only
through, for each frontier tensor, its **state** ``u`` (server, bits, compression: the price of a
send) and its **holders** ``H`` (the servers it has already reached: its own, the device if it is
a returned output, and those of consumers placed elsewhere). So a *frontier state* — the tuple of
``(u, H)`` over the frontier, packed into one integer — is a DP state, and placing node ``v`` on
server ``s`` with choice ``j``:

* sends each input tensor whose holders lack ``s`` (its send cost from ``u`` to ``s``; ``H`` gains
  ``s``; a ``{tensor, compression}`` accuracy term becomes active at the tensor's first send),
* pays ``j``'s compute cost, and the return of a model output to the device at once,
* drops the inputs that ``v`` was the last consumer of, and adds ``v``'s tensor when it has
  consumers.

A tensor reaches each server at most once, sent from its producer, exactly as SPEC §7.1 prices it,
so every path of this DP is a plan at its exact cost and every plan is a path. Like the chain
:mod:`dp`, it is a **label-setting** DP: each frontier state keeps the labels ``(value,
resources...)`` that no other label of that state dominates, with the side constraints of the
session (latency and device-energy limits, memory that can bind, the accuracy budget) as
resources; a label that cannot meet a limit even with the least still to come is dropped.
Dominance never removes the optimum, so the answer is exact.

**Bounding.** The frontier states are many (YOLO11n: up to 600,000 for one objective), so a
**narrow pass** first keeps only the :data:`BEAM` best labels per node: a good plan, found fast.
The exact pass then drops every label whose value plus the least compute still to come (the
cheapest choice of every later node; sends cost nothing less than 0) exceeds that plan's value —
3,600 labels at most on YOLO11n instead of 565,000. The exact pass alone decides optimality.

**The whole front in one pass.** :meth:`DagDpSession.front` keeps, per frontier state and
accumulated accuracy drop, the labels non-dominated in (latency, energy), and drops a label whose
best conceivable completion (its latency and energy plus the least of each still to come) a known
plan dominates, strictly in one measure — the known plans coming from narrow passes of a few
weighted sums. The surviving final labels and those plans hold every non-dominated point
(:mod:`jqodi_opt.inference.pareto` reads them off instead of one epsilon-constraint solve per
point).

**When it refuses.** The state space grows with the frontier: the packed key must fit in 62 bits,
and ``max_labels`` (per node, default 2,000,000) or :data:`MAX_CANDIDATES` (labels times choices
expanded at one node, which bounds memory) stops a run — with the narrow pass's plan, unproven,
when there is one (``feasible``), else with an ``error``. Accuracy
interaction terms that can bind are refused as by :mod:`dp` (use ``milp`` or ``cpsat``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jqodi_opt.exceptions import OptionError, SolverRefused
from jqodi_opt.inference.problem import DROP_TOLERANCE, LIMIT_TOLERANCE, InferenceProblem
from jqodi_opt.inference.solvers.core import CoreOutput, InferenceOutput, expired
from jqodi_opt.inference.solvers.dp import (
    nondominated,
    nondominated_1d,
    refuse_binding_interactions,
)
from jqodi_opt.inference.solvers.exact import solve_exact
from jqodi_opt.inference.solvers.network import DEVICE_ENERGY, ENERGY, LATENCY, Network
from jqodi_opt.result import Status

#: Default cap on the labels one node may hold.
MAX_LABELS = 2_000_000

#: Cap on the candidate labels (labels x choices) one node may expand, which bounds memory.
MAX_CANDIDATES = 4_000_000

#: Labels per node of the narrow pass that finds the first plan (its value bounds the exact pass).
BEAM = 1000

#: Latency weights of the normalised weighted sums whose narrow passes give the front's first plans.
INCUMBENT_WEIGHTS = (0.2, 0.4, 0.6, 0.8)

#: Largest packed frontier key (keys are int64; one bit of headroom).
MAX_KEY = 1 << 62


@dataclass(frozen=True)
class _Step:
    """What processing one node needs: its inputs' frontier positions and the new frontier."""

    inputs: tuple[int, ...]  # producers of the node's inputs
    positions: tuple[int, ...]  # their positions in the frontier before the node
    keep: tuple[int, ...]  # frontier positions that stay (some consumer still to come)
    multipliers: np.ndarray  # radix multiplier of each position of the new frontier
    opens: bool  # the node's tensor joins the frontier


@dataclass
class _Labels:
    """The labels of one node: one row per partial plan."""

    value: np.ndarray  # (n,)
    res: np.ndarray  # (n, R) resources in dominance
    drop: np.ndarray  # (n,) accumulated accuracy drop
    key: np.ndarray  # (n,) packed frontier state
    slots: np.ndarray  # (n, width) per frontier tensor: state << K | holders

    @classmethod
    def none(cls, num_res: int, count: int = 0) -> _Labels:
        """``count`` labels of zero value on an empty frontier (1: the start; 0: no plan)."""
        return cls(
            np.zeros(count),
            np.zeros((count, num_res)),
            np.zeros(count),
            np.zeros(count, dtype=np.int64),
            np.zeros((count, 0), dtype=np.int64),
        )


class DagDpSession:
    """The frontier DP, opened once on a network and asked many times.

    Parameters
    ----------
    network
        Any network (chain or DAG) whose nodes are in topological order.
    max_labels
        Cap on the labels a node may hold.
    """

    def __init__(self, network: Network, *, max_labels: int = MAX_LABELS) -> None:
        refuse_binding_interactions(network, "dag-dp")
        self.network = network
        self.max_labels = max_labels
        self.beam = min(BEAM, max_labels)  # labels per node of the narrow passes
        nodes = network.nodes
        k = network.num_servers
        self.num_servers = k
        inputs: list[list[int]] = [[] for _ in nodes]
        for v, node in enumerate(nodes):
            for c in node.consumers:
                if c <= v:
                    raise SolverRefused(
                        f"dag-dp: {network.name!r}'s nodes are not in topological order."
                    )
                if v not in inputs[c]:  # a tensor read twice by one layer is one input
                    inputs[c].append(v)
        last_use = [max(node.consumers, default=-1) for node in nodes]
        radix = [node.num_states << k for node in nodes]
        steps: list[_Step] = []
        frontier: list[int] = []
        for v, node in enumerate(nodes):
            positions = tuple(frontier.index(i) for i in inputs[v])
            keep = tuple(p for p, i in enumerate(frontier) if last_use[i] > v)
            after = [frontier[p] for p in keep] + ([v] if node.consumers else [])
            multipliers = np.ones(len(after), dtype=np.int64)
            size = 1
            for q, i in enumerate(after):
                multipliers[q] = size
                size *= radix[i]
            if size > MAX_KEY:
                raise SolverRefused(
                    f"dag-dp: {network.name!r}'s frontier at {node.name!r} ({len(after)} tensors "
                    f"on {k} servers) is too wide for this backend (use milp or cpsat)."
                )
            steps.append(
                _Step(tuple(inputs[v]), positions, keep, multipliers, bool(node.consumers))
            )
            frontier = after
        self.steps = steps
        self.use_budget = network.budget_binds()
        self.choice_drop, self.sent_drop = network.first_order_drops()
        # the least accuracy drop still to come after each node (terms may be negative)
        # (a tensor's compression term may come as late as its last consumer)
        least = np.array([min(float(cd.min(initial=0.0)), 0.0) for cd in self.choice_drop])
        for i, sd in enumerate(self.sent_drop):
            least[max(i, last_use[i])] += min(float(sd.min(initial=0.0)), 0.0)
        self.drop_to_go = np.concatenate((np.cumsum(least[::-1])[::-1][1:], [0.0]))
        self.memory_servers = np.flatnonzero(network.memory_binds())

    # ---------------------------------------------------------------------------------------------
    # the two questions

    def solve(self, weights: np.ndarray, limits: np.ndarray, deadline: float | None) -> CoreOutput:
        """Minimises ``weights . cost`` under ``cost <= limits`` and the network's constraints.

        A narrow pass first (the :data:`BEAM` best labels per node) finds a good plan; its value
        bounds the exact pass, which drops every label that cannot beat it even with the least
        still to come. The exact pass alone decides optimality."""
        start = time.perf_counter()
        weights = np.asarray(weights, dtype=float)
        limits = np.minimum(np.asarray(limits, dtype=float), self.network.limits)
        columns = [
            (m, float(limits[m]) * (1 + LIMIT_TOLERANCE))
            for m in range(3)
            if np.isfinite(limits[m])
        ]
        narrow = self._run(weights, columns, keyed_drop=False, deadline=deadline, beam=self.beam)
        upper, incumbent = np.inf, None
        if narrow.status is None and len(narrow.labels.value):
            first = int(np.argmin(narrow.labels.value))
            upper, incumbent = float(narrow.labels.value[first]), self._backtrack(narrow, first)
        run = self._run(weights, columns, keyed_drop=False, deadline=deadline, upper=upper)
        stats = {
            "labels": run.most,
            "incumbent": None if incumbent is None else upper,
            "out_of_labels": run.out_of_labels,
            "seconds": time.perf_counter() - start,
        }
        if run.status is not None:  # out of time or labels: the narrow pass's plan, unproven
            if incumbent is None:
                return CoreOutput(run.status, stats=stats, message=run.message)
            status = Status.TIME_LIMIT if run.status is Status.TIME_LIMIT else Status.FEASIBLE
            return CoreOutput(status, incumbent, stats=stats, message=run.message)
        labels = run.labels
        if len(labels.value) and float(labels.value.min()) <= upper:
            best = int(np.argmin(labels.value))
            return CoreOutput(
                Status.OPTIMAL,
                self._backtrack(run, best),
                bound=float(labels.value[best]),
                stats=stats,
            )
        if incumbent is not None:  # nothing beats the narrow pass's plan
            return CoreOutput(Status.OPTIMAL, incumbent, bound=upper, stats=stats)
        return CoreOutput(Status.INFEASIBLE, stats=stats)

    def front(self, deadline: float | None, resolution: float) -> FrontAnswer | None:
        """The exact latency–energy front in one pass (module docstring), or None when the
        session's constraints need the epsilon-constraint method (a device-energy limit, or memory
        that can bind).

        First, narrow passes of a few weighted sums give plans (``stats["incumbents"]`` of them);
        the exact pass drops every label whose best conceivable completion (its latency and
        energy plus the least of each still to come) one of them dominates, strictly in one
        measure. What survives, with those plans, contains every non-dominated point; the points
        are then read off in the order of the epsilon-constraint method at ``resolution``
        (:mod:`jqodi_opt.inference.pareto`): the fastest plan, then the fastest of those at
        least a fraction ``resolution`` cheaper in energy than the last, and so on."""
        net = self.network
        if np.isfinite(net.limits[DEVICE_ENERGY]) or len(self.memory_servers):
            return None
        start = time.perf_counter()
        latency_cap = float(net.limits[LATENCY]) * (1 + LIMIT_TOLERANCE)
        columns = [(LATENCY, latency_cap)] if np.isfinite(latency_cap) else []
        plans: list[np.ndarray] = []  # the narrow passes' plans...
        plan_costs: list[np.ndarray] = []  # ...and their (latency, energy, device energy)

        def narrow(weights: np.ndarray) -> np.ndarray | None:
            run = self._run(weights, columns, keyed_drop=False, deadline=deadline, beam=self.beam)
            if run.status is not None or not len(run.labels.value):
                return None
            choices = self._backtrack(run, int(np.argmin(run.labels.value)))
            plans.append(choices)
            plan_costs.append(net.measure(choices[None, :]).cost[0])
            return plan_costs[-1]

        fastest = narrow(np.array([1.0, 0.0, 0.0]))
        cheapest = narrow(np.array([0.0, 1.0, 0.0]))
        if fastest is not None and cheapest is not None:
            span = np.maximum(np.abs(cheapest - fastest), 1e-300)
            for w in INCUMBENT_WEIGHTS:
                narrow(np.array([w / span[LATENCY], (1 - w) / span[ENERGY], 0.0]))
        known = np.array(plan_costs).reshape(-1, 3)
        stair = _Staircase(known[:, LATENCY], known[:, ENERGY])
        weights = np.array([1.0, 0.0, 0.0])
        run = self._run(
            weights,
            [(ENERGY, np.inf)],
            keyed_drop=True,
            deadline=deadline,
            value_cap=latency_cap,
            staircase=stair,
        )
        stats = {
            "labels": run.most,
            "incumbents": len(plans),
            "out_of_labels": run.out_of_labels,
            "seconds": 0.0,
        }
        found: list[np.ndarray] = []  # the exact pass's final labels no other beats in both
        if run.status is None:
            labels = run.labels
            by_latency = np.lexsort((labels.res[:, 0], labels.value))
            best = by_latency[nondominated(labels.res[by_latency])]
            found = [self._backtrack(run, int(i)) for i in best]
        candidates = plans + found
        cost = np.concatenate((known, net.measure(np.array(found)).cost)) if found else known
        order = np.lexsort((cost[:, ENERGY], cost[:, LATENCY]))
        points: list[np.ndarray] = []
        last_energy = np.inf
        for i in order:
            if cost[i, ENERGY] <= last_energy * (1 - resolution) or not points:
                points.append(candidates[i])
                last_energy = cost[i, ENERGY]
        stats["seconds"] = time.perf_counter() - start
        if run.status is not None:  # out of time or labels: the narrow passes' plans, unproven
            return FrontAnswer(run.status, points, stats, run.message)
        return FrontAnswer(Status.OPTIMAL, points, stats, "")

    # ---------------------------------------------------------------------------------------------
    # the pass

    def _run(
        self,
        weights: np.ndarray,
        columns: list[tuple[int, float]],
        *,
        keyed_drop: bool,
        deadline: float | None,
        value_cap: float = np.inf,
        upper: float = np.inf,
        beam: int | None = None,
        staircase: _Staircase | None = None,
    ) -> _Run:
        """One label-setting pass: value ``weights . cost``; resources the cost measures in
        ``columns`` (with their caps), memory of the servers where it can bind, and the drop
        (a resource, or part of the dominance group when ``keyed_drop``)."""
        net = self.network
        nodes = net.nodes
        k = self.num_servers
        full = (1 << k) - 1
        used = weights != 0
        cost_idx = [m for m, _ in columns]
        caps = [c for _, c in columns] + [
            float(net.memory_limit_bytes[s]) * (1 + LIMIT_TOLERANCE) for s in self.memory_servers
        ]
        drop_cap = np.inf
        if self.use_budget:
            assert net.max_drop is not None
            drop_cap = net.max_drop * (1 + LIMIT_TOLERANCE) + DROP_TOLERANCE
        cap = np.array(caps, dtype=float)
        num_res = len(caps)
        labels = _Labels.none(num_res, 1)
        run = _Run(labels)
        # the least value and cost resources still to come after each node (sends cost >= 0)
        choice_values = [node.choice_costs()[:, used] @ weights[used] for node in nodes]
        least = np.array(
            [
                [float(values.min())]
                + [float(node.choice_costs()[:, m].min()) for m in cost_idx]
                + [0.0] * len(self.memory_servers)
                for node, values in zip(nodes, choice_values, strict=True)
            ]
        )
        to_go = np.concatenate(
            (np.cumsum(least[::-1], axis=0)[::-1][1:], np.zeros((1, 1 + num_res)))
        )
        # a bound is relaxed by a hair so that rounding in the sums never cuts the optimum off
        value_limit = min(value_cap, upper + 1e-9 * abs(upper) + 1e-15)
        for v, (node, step) in enumerate(zip(nodes, self.steps, strict=True)):
            if expired(deadline):
                run.status, run.message = Status.TIME_LIMIT, "time limit in the frontier DP"
                return run
            choice_value = choice_values[v]
            choice_res = np.zeros((node.num_choices, num_res))
            for r, m in enumerate(cost_idx):
                choice_res[:, r] = node.choice_costs()[:, m]
            for r, memory_server in enumerate(self.memory_servers):
                choice_res[:, len(cost_idx) + r] = np.where(
                    node.server == memory_server, node.memory_bytes, 0.0
                )
            choice_drop = self.choice_drop[v].copy()
            own_holders = 1 << node.server
            if node.returns:  # the output goes back to the device at once
                back = node.state, np.full(node.num_choices, net.device)
                away = node.server != net.device
                sends = node.send_costs()[back]  # (choices, 3)
                choice_value = choice_value + np.where(away, sends[:, used] @ weights[used], 0.0)
                for r, m in enumerate(cost_idx):
                    choice_res[:, r] += np.where(away, sends[:, m], 0.0)
                choice_drop = choice_drop + np.where(away, self.sent_drop[v][node.state], 0.0)
                own_holders = own_holders | (1 << net.device)
                if not np.all(node.can_send()[back] | ~away):
                    choice_value = np.where(node.can_send()[back] | ~away, choice_value, np.inf)
            own_code = (node.state.astype(np.int64) << k) | own_holders
            candidates = len(labels.value) * int(np.isfinite(choice_value).sum())
            if beam is None and candidates > MAX_CANDIDATES:  # bounds memory (~150 B each)
                run.status, run.out_of_labels = Status.ERROR, True
                run.message = (
                    f"dag-dp: {candidates:,} candidate labels at layer {node.name!r} exceed "
                    f"{MAX_CANDIDATES:,}; use milp"
                )
                return run
            parts = []
            for s in range(k):
                on_s = np.flatnonzero((node.server == s) & np.isfinite(choice_value))
                if not len(on_s):
                    continue
                add_value = np.zeros(len(labels.value))
                add_res = np.zeros((len(labels.value), num_res))
                add_drop = np.zeros(len(labels.value))
                codes = labels.slots.copy()
                for i, p in zip(step.inputs, step.positions, strict=True):
                    producer = nodes[i]
                    code = labels.slots[:, p]
                    u = code >> k
                    holders = code & full
                    missing = ((holders >> s) & 1) == 0
                    sends = producer.send_costs()[u, s]  # (n, 3)
                    linked = producer.can_send()[u, s]
                    with np.errstate(invalid="ignore"):
                        price = np.where(linked, sends[:, used] @ weights[used], np.inf)
                    add_value += np.where(missing, price, 0.0)
                    for r, m in enumerate(cost_idx):
                        add_res[:, r] += np.where(missing, sends[:, m], 0.0)
                    first = missing & (holders == (1 << producer.state_server[u]))
                    add_drop += np.where(first, self.sent_drop[i][u], 0.0)
                    codes[:, p] = code | (1 << s)
                # labels x choices on s
                grid_value = labels.value + add_value
                grid_value = grid_value[:, None] + choice_value[on_s][None, :]
                li, cj = np.nonzero(np.isfinite(grid_value))
                if not len(li):
                    continue
                j = on_s[cj]
                parts.append(
                    (
                        grid_value[li, cj],
                        labels.res[li] + add_res[li] + choice_res[j],
                        labels.drop[li] + add_drop[li] + choice_drop[j],
                        li,
                        j,
                        codes,
                    )
                )
            if not parts:
                run.labels = _Labels.none(num_res)
                run.parents.append(np.zeros(0, dtype=np.int64))
                run.picks.append(np.zeros(0, dtype=np.int64))
                return run
            value = np.concatenate([p[0] for p in parts])
            res = np.concatenate([p[1] for p in parts])
            drop = np.concatenate([p[2] for p in parts])
            parent = np.concatenate([p[3] for p in parts])
            pick = np.concatenate([p[4] for p in parts])
            # the new frontier rows: the kept inputs' updated codes, then the node's own
            new_slots = np.empty((len(value), len(step.multipliers)), dtype=np.int64)
            offset = 0
            for _, _, _, li, _, codes in parts:
                block = codes[li][:, list(step.keep)]
                new_slots[offset : offset + len(li), : len(step.keep)] = block
                offset += len(li)
            if step.opens:
                new_slots[:, -1] = own_code[pick]
            key = (
                new_slots @ step.multipliers
                if new_slots.shape[1]
                else np.zeros(len(value), dtype=np.int64)
            )
            if staircase is not None:  # (front: value is latency, the first resource energy)
                beaten = staircase.dominates(value + to_go[v, 0], res[:, 0] + to_go[v, 1])
                value = np.where(beaten, np.inf, value)
            keep = self._prune(
                value + to_go[v, 0],
                res + to_go[v, 1:],
                drop + self.drop_to_go[v],
                key,
                cap,
                drop_cap,
                value_limit,
                keyed_drop,
            )
            if beam is not None and len(keep) > beam:
                keep = keep[np.argpartition(value[keep], beam)[:beam]]
            if len(keep) > self.max_labels:
                run.status, run.out_of_labels = Status.ERROR, True
                run.message = (
                    f"dag-dp: {len(keep):,} labels at layer {node.name!r} exceed max_labels "
                    f"{self.max_labels:,}; use milp"
                )
                return run
            labels = _Labels(value[keep], res[keep], drop[keep], key[keep], new_slots[keep])
            run.parents.append(parent[keep])
            run.picks.append(pick[keep])
            run.most = max(run.most, len(keep))
        run.labels = labels
        return run

    @staticmethod
    def _prune(
        value: np.ndarray,
        res: np.ndarray,
        drop: np.ndarray,
        key: np.ndarray,
        cap: np.ndarray,
        drop_cap: float,
        value_cap: float,
        keyed_drop: bool,
    ) -> np.ndarray:
        """Indices of the labels that can still meet every limit and that no other label of the
        same group (frontier state, and drop when ``keyed_drop``) dominates."""
        ok = np.isfinite(value) & (value <= value_cap) & (drop <= drop_cap)
        ok &= np.all(res <= cap, axis=1)
        idx = np.flatnonzero(ok)
        if len(idx) <= 1:
            return idx
        dims = res[idx]
        if not keyed_drop:
            dims = np.column_stack((dims, drop[idx]))
        # group id: the frontier state (and the drop)
        group_keys = (drop[idx], key[idx]) if keyed_drop else (key[idx],)
        order = np.lexsort((*dims.T[::-1], value[idx], *group_keys))
        idx, dims = idx[order], dims[order]
        change = np.zeros(len(idx), dtype=bool)
        for g in group_keys:
            gs = g[order]
            change[1:] |= gs[1:] != gs[:-1]
        group = np.cumsum(change)
        if not change[1:].size or change[1:].all():  # one label per group
            return idx
        if dims.shape[1] == 0:
            first = np.concatenate(([True], change[1:]))
            return idx[first]
        if dims.shape[1] == 1:
            return idx[nondominated_1d(group, dims[:, 0])]
        return idx[~_dominated_by_earlier(group, dims)]

    def _backtrack(self, run: _Run, label: int) -> np.ndarray:
        """The choice per node of final label ``label``."""
        nodes = self.network.nodes
        choices = np.zeros(len(nodes), dtype=np.int64)
        for v in range(len(nodes) - 1, -1, -1):
            choices[v] = run.picks[v][label]
            label = int(run.parents[v][label])
        return choices


@dataclass
class FrontAnswer:
    """What :meth:`DagDpSession.front` found.

    Attributes
    ----------
    status
        ``optimal`` when the front is proven complete.
    plans
        Choice per node of each front point, by increasing latency.
    stats
        Labels, incumbents, seconds.
    message
        Why the front is not complete.
    """

    status: Status
    plans: list[np.ndarray]
    stats: dict[str, Any]
    message: str


class _Staircase:
    """The (latency, energy) points of known plans, asked whether one dominates a label's best
    conceivable completion ``(t, e)``, strictly in one measure."""

    def __init__(self, latency: np.ndarray, energy: np.ndarray) -> None:
        order = np.argsort(latency, kind="stable")
        self.latency = latency[order]
        self.least_energy = np.minimum.accumulate(energy[order])  # among plans no slower

    def dominates(self, t: np.ndarray, e: np.ndarray) -> np.ndarray:
        """True where a known plan is faster (by more than rounding) and no dearer, or no slower
        and cheaper (by more than rounding)."""
        if not len(self.latency):
            return np.zeros(len(t), dtype=bool)
        padded = np.append(np.inf, self.least_energy)  # index 0: no plan that fast
        faster = padded[np.searchsorted(self.latency, t - 1e-9 * np.abs(t), side="left")]
        no_slower = padded[np.searchsorted(self.latency, t, side="right")]
        return (faster <= e) | (no_slower < e - 1e-9 * np.abs(e))


@dataclass
class _Run:
    """A pass's last labels, its back pointers per node, and why it stopped early (if it did)."""

    labels: _Labels
    parents: list[np.ndarray] = field(default_factory=list)
    picks: list[np.ndarray] = field(default_factory=list)
    most: int = 0
    status: Status | None = None
    message: str = ""
    out_of_labels: bool = False


def _dominated_by_earlier(group: np.ndarray, dims: np.ndarray, window: int = 64) -> np.ndarray:
    """Rows (sorted by group, then value) that an earlier row of their group — no worse in value —
    matches or beats in every column of ``dims``: compared with the ``window`` rows before,
    vectorised, and row by row in a group larger than that."""
    count = len(group)
    dominated = np.zeros(count, dtype=bool)
    sizes = np.bincount(group)
    for shift in range(1, min(int(sizes.max()), window + 1)):
        same = group[shift:] == group[:-shift]
        if not same.any():
            break
        dominated[shift:] |= same & np.all(dims[:-shift] <= dims[shift:], axis=1)
    starts = np.concatenate(([0], np.cumsum(sizes)))
    for g in np.flatnonzero(sizes > window + 1):
        a, b = int(starts[g]), int(starts[g + 1])
        keep = np.zeros(b - a, dtype=bool)
        keep[nondominated(dims[a:b])] = True
        dominated[a:b] = ~keep
    return dominated


def solve_dagdp(
    problem: InferenceProblem,
    time_limit: float | None = None,
    *,
    max_labels: int = MAX_LABELS,
    payoff: Any = None,
) -> InferenceOutput:
    """Solves the instance's objective by the frontier DP (module docstring).

    Raises
    ------
    SolverRefused
        A frontier too wide to pack, or a binding budget with interaction terms.
    """
    if max_labels < 1:
        raise OptionError(f"max_labels {max_labels} not understood (>= 1).")
    return solve_exact(
        problem, time_limit, lambda net: DagDpSession(net, max_labels=max_labels), payoff=payoff
    )
