"""Dynamic programme over a chain's layers (``solver="dp"``), exact on chains.

A chain is a path through a layered network: node ``v``'s tensor state ``u`` (where its output is,
at which bits and compression) -> the server ``h`` that runs layer ``v + 1`` (a send when ``h !=
server(u)``) -> layer ``v + 1``'s choice on ``h`` -> its tensor state, and at the end the return of
the output to the device. Every cost is additive along the path (SPEC §7.1), so

* **without binding side constraints** the optimum is a shortest path: one backward-free forward
  pass, ``best[v+1, state] = min_{u, h} best[v, u] + send(u, h) + choice(v+1)``, vectorised over
  states and servers (a 1,852-layer chain on 6 servers takes milliseconds);
* **with side constraints** — a latency, energy or device-energy limit (which is also how the
  lexicographic and epsilon-constraint stages of the objectives and the Pareto front reach this
  backend), a memory limit that can bind, or an accuracy budget — it is a label-setting DP: every
  node keeps the labels ``(objective, resources...)`` that no other label dominates (no worse in the
  objective and in every resource), and drops labels that cannot stay within a limit even with the
  least resource still to come (a backward shortest path per resource). Dominance never removes
  the optimum, so the answer is exact; the number of labels can grow, and ``max_labels`` (per
  node and stage, default 200,000) stops the run with an ``error`` saying so.

**Accuracy budget.** Its first-order terms are resources like any other (a choice term on the
choice arc, a compression term on the send arc, which is where "active only when the tensor is
sent" is decided). Interaction terms couple two layers anywhere in the chain and are not
decomposable along the path, so this backend **refuses** an instance whose budget can bind and has
interaction terms (use ``milp`` or ``cpsat``). A budget that cannot bind (even every positive term
together stays within it) is ignored, interactions or not.

A DAG (a layer with two inputs, a tensor with two consumers) is refused in one line.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from jqodi_opt.exceptions import OptionError, SolverRefused
from jqodi_opt.inference.problem import DROP_TOLERANCE, LIMIT_TOLERANCE, InferenceProblem
from jqodi_opt.inference.solvers.core import CoreOutput, InferenceOutput, expired
from jqodi_opt.inference.solvers.exact import solve_exact
from jqodi_opt.inference.solvers.network import Network
from jqodi_opt.result import Status

#: Default cap on the labels one node may hold in the label-setting DP.
MAX_LABELS = 200_000


def check_chain(network: Network) -> None:
    """Refuses what this backend cannot solve exactly, in one line."""
    if not network.chain:
        raise SolverRefused(
            f"dp solves chains only; {network.name!r} is a DAG (use dag-dp, milp or cpsat)."
        )
    refuse_binding_interactions(network, "dp")


def refuse_binding_interactions(network: Network, backend: str) -> None:
    """Refuses, in one line, an accuracy budget that can bind and has interaction terms: they
    couple two layers anywhere in the graph, which a DP over the layers cannot price."""
    if network.budget_binds() and network.interactions:
        raise SolverRefused(
            f"{backend} does not handle accuracy interaction terms, and {network.name!r}'s budget "
            "can bind with them (use milp or cpsat)."
        )


@dataclass
class _Arcs:
    """The per-node arc data of the chain, precomputed once per session."""

    choice_cost: list[np.ndarray]  # per node: (choices, 3)
    send_cost: list[np.ndarray]  # per node: (states, servers, 3), inf time where no link
    choice_drop: list[np.ndarray]  # per node: (choices,) first-order choice terms
    send_drop: list[np.ndarray]  # per node: (states,) compression terms, paid when sent
    memory: list[np.ndarray]  # per node: (choices,)


class DpSession:
    """The chain DP, opened once on a network and asked many times.

    Parameters
    ----------
    network
        A chain (:func:`check_chain`).
    max_labels
        Cap on the labels a node may hold (label-setting only).
    """

    def __init__(self, network: Network, *, max_labels: int = MAX_LABELS) -> None:
        check_chain(network)
        self.network = network
        self.max_labels = max_labels
        nodes = network.nodes
        self.use_budget = network.budget_binds()
        choice_drop, send_drop = network.first_order_drops()
        self.arcs = _Arcs(
            [node.choice_costs() for node in nodes],
            [node.send_costs() for node in nodes],
            choice_drop,
            send_drop,
            [node.memory_bytes for node in nodes],
        )
        self.memory_servers = np.flatnonzero(network.memory_binds())
        flat = network.flat_view()
        self.can_send = np.isfinite(flat.send_cost[:, :, 0])
        ends = np.cumsum([[node.num_choices, node.num_states] for node in nodes], axis=0)
        self.choice_bounds = list(zip(flat.choice_start.tolist(), ends[:, 0].tolist(), strict=True))
        self.state_bounds = list(zip(flat.state_start.tolist(), ends[:, 1].tolist(), strict=True))
        tables: dict[int, np.ndarray] = {}  # nodes of one choice grid share their state array
        for node in nodes:
            if id(node.state) not in tables:
                tables[id(node.state)] = _state_choices(node.state, node.num_states)
        self.state_choices = [tables[id(node.state)] for node in nodes]
        # the tables without padding and one choice per state (the usual case)
        self.one_choice = [
            table.shape[1] == 1 and bool(np.all(table[:, 0] < node.num_choices))
            for node, table in zip(nodes, self.state_choices, strict=True)
        ]

    # ---------------------------------------------------------------------------------------------
    # the shortest path

    def solve(self, weights: np.ndarray, limits: np.ndarray, deadline: float | None) -> CoreOutput:
        """Minimises ``weights . cost`` under ``cost <= limits`` and the network's constraints."""
        start = time.perf_counter()
        net = self.network
        limits = np.minimum(np.asarray(limits, dtype=float), net.limits)
        resources = self._resources(limits)
        choices, value = self._shortest_path(weights)
        stats = {"labels": 0, "seconds": time.perf_counter() - start}
        if choices is None:
            return CoreOutput(Status.INFEASIBLE, stats=stats)
        if not resources or self._meets(choices, limits):
            # the shortest path ignoring the side constraints meets them: it is optimal
            return CoreOutput(Status.OPTIMAL, choices, bound=value, stats=stats)
        return self._label_setting(weights, limits, resources, deadline, start)

    def _meets(self, choices: np.ndarray, limits: np.ndarray) -> bool:
        """Whether a plan meets the network's constraints and ``limits``."""
        net = self.network
        capped = Network(**{**net.__dict__, "limits": limits})
        return bool(capped.feasible(net.measure(choices[None, :]))[0])

    def _resources(self, limits: np.ndarray) -> list[tuple[str, int, float]]:
        """The side constraints that can bind: ``(kind, index, limit)``."""
        out: list[tuple[str, int, float]] = []
        for m in range(3):
            if np.isfinite(limits[m]):
                out.append(("cost", m, float(limits[m]) * (1 + LIMIT_TOLERANCE)))
        for k in self.memory_servers:
            out.append(
                (
                    "memory",
                    int(k),
                    float(self.network.memory_limit_bytes[k]) * (1 + LIMIT_TOLERANCE),
                )
            )
        if self.use_budget:
            assert self.network.max_drop is not None
            limit = self.network.max_drop * (1 + LIMIT_TOLERANCE) + DROP_TOLERANCE
            out.append(("drop", 0, limit))
        return out

    def _per_choice(self, array: np.ndarray) -> list[np.ndarray]:
        """``array`` over the network's flat choices cut into one view per node."""
        return [array[a:b] for a, b in self.choice_bounds]

    def _per_state(self, array: np.ndarray) -> list[np.ndarray]:
        """``array`` over the network's flat tensor states cut into one view per node."""
        return [array[a:b] for a, b in self.state_bounds]

    def _arc_values(self, weights: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per node: the weighted choice cost and the weighted send cost ``(states, servers)``
        (``inf`` where no link)."""
        used = weights != 0
        flat = self.network.flat_view()
        choice = self._per_choice(flat.choice_cost[:, used] @ weights[used])
        send = np.where(self.can_send, flat.send_cost[:, :, used] @ weights[used], np.inf)
        return choice, self._per_state(send)

    def _shortest_path(self, weights: np.ndarray) -> tuple[np.ndarray | None, float]:
        """The plain DP: best value per tensor state, node by node, then backtrack.

        Ties go to the lowest index: the first previous state per server, the first choice per
        tensor state.
        """
        net = self.network
        nodes = net.nodes
        servers = np.arange(net.num_servers)
        choice_value, send_value = self._arc_values(weights)
        best, first_choice = _best_per_state(
            choice_value[0], self.state_choices[0], self.one_choice[0]
        )
        back_choice: list[np.ndarray] = []  # per node v >= 1: best choice leading to each state
        back_state: list[np.ndarray] = []  # per node v >= 1: best previous state per server
        for v in range(1, len(nodes)):
            arrive = best[:, None] + send_value[v - 1]  # (prev states, servers)
            prev = np.argmin(arrive, axis=0)
            value = arrive[prev, servers][nodes[v].server] + choice_value[v]  # (choices,)
            best, pick = _best_per_state(value, self.state_choices[v], self.one_choice[v])
            back_choice.append(pick)
            back_state.append(prev)
        last = nodes[-1]
        final = best.copy()
        if last.returns:
            final = final + send_value[-1][:, net.device]
        u = int(np.argmin(final))
        if not np.isfinite(final[u]):
            return None, np.inf
        choices = np.zeros(len(nodes), dtype=np.int64)
        picks = [p.tolist() for p in back_choice]
        prevs = [p.tolist() for p in back_state]
        node_servers = [node.server.tolist() for node in nodes]
        for v in range(len(nodes) - 1, 0, -1):
            j = picks[v - 1][u]
            choices[v] = j
            u = prevs[v - 1][node_servers[v][j]]
        choices[0] = first_choice[u]
        return choices, float(final.min())

    # ---------------------------------------------------------------------------------------------
    # label setting

    def _label_setting(
        self,
        weights: np.ndarray,
        limits: np.ndarray,
        resources: list[tuple[str, int, float]],
        deadline: float | None,
        start: float,
    ) -> CoreOutput:
        net = self.network
        nodes = net.nodes
        arcs = self.arcs
        num_res = len(resources)
        cap = np.array([limit for _, _, limit in resources])

        flat = net.flat_view()
        own = flat.state_server[:, None] == np.arange(net.num_servers)[None, :]
        choice_cols, send_cols = [], []
        for kind, index, _ in resources:
            if kind == "cost":
                choice_cols.append(flat.choice_cost[:, index])
                send_cols.append(np.where(self.can_send, flat.send_cost[:, :, index], np.inf))
            elif kind == "memory":
                choice_cols.append(np.where(flat.choice_server == index, flat.choice_memory, 0.0))
                send_cols.append(np.zeros(own.shape))
            else:
                choice_cols.append(np.concatenate(arcs.choice_drop))
                send_cols.append(np.where(own, 0.0, np.concatenate(arcs.send_drop)[:, None]))
        c_res = self._per_choice(np.stack(choice_cols, axis=1))
        s_res = self._per_state(np.stack(send_cols, axis=2))

        choice_value, send_value = self._arc_values(weights)
        to_go = self._least_to_go(c_res, s_res, num_res)

        # labels at node v: value, resources, state, parent label, choice
        value = choice_value[0]
        res = c_res[0]
        state = nodes[0].state.copy()
        keep = self._prune(value, res, state, to_go[0], cap)
        value, res, state = value[keep], res[keep], state[keep]
        parents: list[np.ndarray] = [np.full(len(keep), -1)]
        picks: list[np.ndarray] = [keep.copy()]
        most = len(keep)
        for v in range(1, len(nodes)):
            if expired(deadline):
                return CoreOutput(
                    Status.TIME_LIMIT,
                    stats={"labels": most},
                    message="time limit in the label-setting DP",
                )
            node = nodes[v]
            # send to the server of node v's choice: labels x choices
            to = (state[:, None], node.server[None, :])
            sv = send_value[v - 1][to]  # (labels, choices)
            new_value = value[:, None] + sv + choice_value[v][None, :]
            sr = s_res[v - 1][to]  # (labels, choices, R)
            new_res = res[:, None, :] + sr + c_res[v][None, :, :]
            label_idx, choice_idx = np.nonzero(np.isfinite(new_value))
            new_value = new_value[label_idx, choice_idx]
            new_res = new_res[label_idx, choice_idx]
            new_state = node.state[choice_idx]
            keep = self._prune(new_value, new_res, new_state, to_go[v], cap)
            if len(keep) > self.max_labels:
                return CoreOutput(
                    Status.ERROR,
                    stats={"labels": len(keep), "out_of_labels": True},
                    message=f"dp: {len(keep):,} labels at layer {node.name!r} exceed max_labels "
                    f"{self.max_labels:,}; use milp",
                )
            value, res, state = new_value[keep], new_res[keep], new_state[keep]
            parents.append(label_idx[keep])
            picks.append(choice_idx[keep])
            most = max(most, len(keep))
        last = nodes[-1]
        if last.returns:
            value = value + send_value[-1][state, net.device]
            res = res + s_res[-1][state, net.device, :]
        ok = np.all(res <= cap, axis=1) & np.isfinite(value)
        stats = {"labels": most, "seconds": time.perf_counter() - start}
        if not ok.any():
            return CoreOutput(Status.INFEASIBLE, stats=stats)
        best = int(np.flatnonzero(ok)[np.argmin(value[ok])])
        choices = np.zeros(len(nodes), dtype=np.int64)
        label = best
        for v in range(len(nodes) - 1, -1, -1):
            choices[v] = picks[v][label]
            label = parents[v][label]
        return CoreOutput(Status.OPTIMAL, choices, bound=float(value[best]), stats=stats)

    def _least_to_go(
        self, c_res: list[np.ndarray], s_res: list[np.ndarray], num_res: int
    ) -> list[np.ndarray]:
        """Per node and tensor state: the least of each resource still to come (sends after the
        node, later choices, the return), each minimised on its own."""
        nodes = self.network.nodes
        net = self.network
        out: list[np.ndarray] = [np.zeros((0, 0))] * len(nodes)
        last = nodes[-1]
        after = np.zeros((last.num_states, num_res))
        if last.returns:
            after = after + s_res[-1][:, net.device, :]
        out[-1] = after
        for v in range(len(nodes) - 1, 0, -1):
            node = nodes[v]
            # least from "arriving at server h for node v": best choice on h then what follows
            per_choice = c_res[v] + out[v][node.state]  # (choices, R)
            at_server = np.full((net.num_servers, num_res), np.inf)
            np.minimum.at(at_server, node.server, per_choice)
            prev = s_res[v - 1] + at_server[None, :, :]  # (prev states, servers, R)
            out[v - 1] = prev.min(axis=1)
        return out

    @staticmethod
    def _prune(
        value: np.ndarray, res: np.ndarray, state: np.ndarray, to_go: np.ndarray, cap: np.ndarray
    ) -> np.ndarray:
        """Indices of the labels that can still meet every limit and that no other label of the
        same tensor state dominates (no worse in value and every resource)."""
        ok = np.isfinite(value) & np.all(res + to_go[state] <= cap, axis=1)
        idx = np.flatnonzero(ok)
        if len(idx) <= 1:
            return idx
        # by state, then value, then each resource
        order = np.lexsort((*res[idx].T[::-1], value[idx], state[idx]))
        idx = idx[order]
        if not np.any(state[idx][1:] == state[idx][:-1]):  # one label per state: none dominated
            return idx
        if res.shape[1] == 1:
            return idx[nondominated_1d(state[idx], res[idx, 0])]
        kept: list[np.ndarray] = []
        groups = np.split(idx, np.flatnonzero(np.diff(state[idx])) + 1)
        for group in groups:
            kept.append(group[nondominated(res[group])])
        return np.concatenate(kept)


def nondominated_1d(state: np.ndarray, res: np.ndarray) -> np.ndarray:
    """:func:`nondominated` with one resource for every tensor state at once (rows sorted by
    state, then value): a row stays when its resource is below every earlier row's of its state."""
    count = len(state)
    starts = np.flatnonzero(np.concatenate(([True], state[1:] != state[:-1])))
    group = np.cumsum(np.concatenate(([0], state[1:] != state[:-1])))
    position = np.arange(count) - starts[group]
    table = np.full((len(starts), int(position.max()) + 1), np.inf)
    table[group, position] = res
    running = np.minimum.accumulate(table, axis=1)  # least resource so far in each state
    before = np.where(position > 0, running[group, np.maximum(position - 1, 0)], np.inf)
    keep = (position == 0) | (res < before)
    return np.flatnonzero(keep)


def _state_choices(state: np.ndarray, num_states: int) -> np.ndarray:
    """``(states, most choices per state)``: each tensor state's choices in increasing order,
    padded with ``len(state)`` (read as a choice of infinite value)."""
    order = np.argsort(state, kind="stable")
    counts = np.bincount(state, minlength=num_states)
    width = int(counts.max()) if len(counts) else 0
    table = np.full((num_states, width), len(state), dtype=np.int64)
    position = np.arange(len(state)) - np.repeat(np.cumsum(counts) - counts, counts)
    table[state[order], position] = order
    return table


def _best_per_state(
    value: np.ndarray, table: np.ndarray, one_choice: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Per tensor state: the least ``value`` of its choices and the first choice reaching it
    (:func:`_state_choices` gives ``table``; ``one_choice``: it is one column, unpadded)."""
    if one_choice:
        pick = table[:, 0]
        return value[pick], pick
    padded = np.append(value, np.inf)[table]
    first = np.argmin(padded, axis=1)
    rows = np.arange(len(table))
    pick = table[rows, first]
    return padded[rows, first], pick


def nondominated(res: np.ndarray) -> np.ndarray:
    """Positions of the rows not dominated by an *earlier* row (rows are sorted by value, so an
    earlier row is no worse in value): a later row is dropped when an earlier kept row is no worse
    in every resource."""
    count, dims = res.shape
    if dims == 0:
        return np.array([0])
    if dims == 1:
        running = np.minimum.accumulate(res[:, 0])
        keep = np.ones(count, dtype=bool)
        keep[1:] = res[1:, 0] < running[:-1]
        return np.flatnonzero(keep)
    kept = np.empty(count, dtype=np.int64)
    kept_res = np.empty((count, dims))  # the kept rows so far, in the first ``size`` rows
    size = 0
    for i in range(count):
        if size and np.any(np.all(kept_res[:size] <= res[i], axis=1)):
            continue
        kept[size] = i
        kept_res[size] = res[i]
        size += 1
    return kept[:size]


def solve_dp(
    problem: InferenceProblem,
    time_limit: float | None = None,
    *,
    max_labels: int = MAX_LABELS,
    payoff: Any = None,
) -> InferenceOutput:
    """Solves the instance's objective on a chain by dynamic programming (module docstring).

    ``payoff``: the ``weighted`` objective's payoff table when the caller has it
    (:func:`~.objectives.coerce_payoff`; None: computed here).

    Raises
    ------
    SolverRefused
        For a DAG, or an accuracy budget that can bind and has interaction terms.
    """
    if max_labels < 1:
        raise OptionError(f"max_labels {max_labels} not understood (>= 1).")
    return solve_exact(
        problem, time_limit, lambda net: DpSession(net, max_labels=max_labels), payoff=payoff
    )
