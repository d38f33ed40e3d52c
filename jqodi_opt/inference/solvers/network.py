"""The choice network every exact inference solver reads (SPEC §7.1–7.3), in numbers only.

A plan chooses, for every **node** — node ``t`` is the producer of the problem's tensor ``t``:
node 0 the model's input, node ``i + 1`` layer ``i`` — one **choice** ``(server, bits, pruning,
compression)``: where the layer runs, at which bit-width and pruning ratio, and the compression
ratio of its output tensor should that tensor be sent. The input node's choices differ only in
compression (it lives on the device at 32 bits). A choice fixes the node's **tensor state**
``u = (server, bits, compression)``: all a consumer needs to know to price receiving the tensor.

Costs (SPEC §7.1), all additive because execution is sequential:

- choosing ``j`` for node ``v`` costs ``time_s[j]``, ``energy_j[j]``, ``device_energy_j[j]`` and
  occupies ``memory_bytes[j]`` on its server:
  ``tau = flops (1 - r) / (speed_k speedup_k(b))``, ``energy = power_k tau``,
  ``memory = 4 params (b / 32) (1 - r)``;
- the tensor of ``v`` in state ``u`` is **sent** from ``server(u)`` to every distinct server
  ``h != server(u)`` that hosts one of its consumers, or that is the device when ``v`` is a model
  output and outputs return: ``bits = 8 output_bytes (b / 32) c``, time
  ``bits / rate + latency``, energy ``bits * energy_per_bit`` (``send_time_s[u, h]`` etc.;
  ``inf`` where no link joins them).

Accuracy terms (SPEC §7.2) are indicator functions: a *choice* term is active when the node's choice
is in its mask (``{layer, bits}``, ``{layer, pruning}``); a *sent* term when the node's tensor state
is in its mask (``{tensor, compression}``) **and** the tensor is sent somewhere. Interactions
multiply two indicators.

:meth:`Network.measure` prices whole plans (vectorised over many), which :mod:`.exhaustive` uses and
every backend's answer is compared with; :mod:`jqodi_opt.inference.evaluate` is the independent
check from the instance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np

from jqodi_opt.inference.accuracy import KIND_BITS, KIND_PRUNING
from jqodi_opt.inference.problem import (
    DROP_TOLERANCE,
    LIMIT_TOLERANCE,
    Assignment,
    InferenceProblem,
)

#: Indices of the three additive measures in a cost vector.
LATENCY, ENERGY, DEVICE_ENERGY = 0, 1, 2
MEASURES = ("latency_s", "energy_j", "device_energy_j")


@dataclass(frozen=True)
class Node:
    """One node (the input tensor or a layer) with its choices and tensor states.

    Attributes
    ----------
    name
        ``"input"`` or the layer name.
    consumers
        Node indices of the layers that consume this node's output.
    returns
        True when this node's output is sent back to the device (a model output with
        ``return_output``).
    server, bits, pruning, compression
        Per choice: its server and the indices of its bit-width, pruning ratio and output
        compression ratio in the problem's ``bits``, ``pruning`` and ``compression`` arrays.
    state
        Per choice: the index of its tensor state.
    time_s, energy_j, device_energy_j, memory_bytes
        Per choice: compute time, compute energy, compute energy on the device (0 elsewhere) and
        weight memory on its server.
    state_server, state_bits, state_compression
        Per tensor state ``u``: where the tensor is, its bit-width and compression (indices).
    send_time_s, send_energy_j, send_device_energy_j
        ``(states, servers)``: cost of sending the tensor in state ``u`` to server ``h`` (``inf``
        time where no link joins them; 0 for ``h = server(u)``, which is no send).
    """

    name: str
    consumers: tuple[int, ...]
    returns: bool
    server: np.ndarray
    bits: np.ndarray
    pruning: np.ndarray
    compression: np.ndarray
    state: np.ndarray
    time_s: np.ndarray
    energy_j: np.ndarray
    device_energy_j: np.ndarray
    memory_bytes: np.ndarray
    state_server: np.ndarray
    state_bits: np.ndarray
    state_compression: np.ndarray
    send_time_s: np.ndarray
    send_energy_j: np.ndarray
    send_device_energy_j: np.ndarray

    @property
    def num_choices(self) -> int:
        """Number of choices."""
        return len(self.server)

    @property
    def num_states(self) -> int:
        """Number of tensor states."""
        return len(self.state_server)

    def choice_costs(self) -> np.ndarray:
        """``(choices, 3)``: latency, energy and device energy of each choice."""
        return self._choice_costs

    def send_costs(self) -> np.ndarray:
        """``(states, servers, 3)``: latency, energy and device energy of each send."""
        return self._send_costs

    def can_send(self) -> np.ndarray:
        """``(states, servers)``: True where the tensor can reach the server (own server too)."""
        return self._can_send

    @cached_property
    def _choice_costs(self) -> np.ndarray:
        return np.stack([self.time_s, self.energy_j, self.device_energy_j], axis=1)

    @cached_property
    def _send_costs(self) -> np.ndarray:
        return np.stack([self.send_time_s, self.send_energy_j, self.send_device_energy_j], axis=2)

    @cached_property
    def _can_send(self) -> np.ndarray:
        return np.isfinite(self.send_time_s)


@dataclass(frozen=True)
class Term:
    """One first-order accuracy term (SPEC §7.2).

    ``kind == "choice"``: active when node ``node``'s choice is in ``mask`` (over its choices);
    ``kind == "sent"``: active when its tensor state is in ``mask`` (over its states) and the
    tensor is sent to another server.
    """

    node: int
    kind: Literal["choice", "sent"]
    mask: np.ndarray
    drop: float
    label: str


@dataclass(frozen=True)
class Network:
    """The whole choice network of one inference problem.

    Attributes
    ----------
    name
        Instance name.
    server_names
        Server names by index; ``device`` is the device's index.
    nodes
        Node 0 is the input tensor, nodes ``1..n`` the layers in topological order.
    memory_limit_bytes
        Per server (``inf``: unlimited).
    limits
        Upper limits on (latency, energy, device energy); ``inf`` where none.
    max_drop
        The accuracy budget, or None.
    terms, interactions
        Accuracy terms and ``(s, t, drop)`` interactions between two of them.
    chain
        True when every layer consumes exactly the previous node and only the last layer is an
        output (what :mod:`.dp` needs).
    """

    name: str
    server_names: tuple[str, ...]
    device: int
    nodes: tuple[Node, ...]
    memory_limit_bytes: np.ndarray
    limits: np.ndarray = field(default_factory=lambda: np.full(3, np.inf))
    max_drop: float | None = None
    terms: tuple[Term, ...] = ()
    interactions: tuple[tuple[int, int, float], ...] = ()
    chain: bool = False

    @property
    def num_servers(self) -> int:
        """Number of servers."""
        return len(self.server_names)

    @property
    def num_plans(self) -> float:
        """Number of plans (product of the nodes' choice counts), as a float."""
        return float(np.prod([float(node.num_choices) for node in self.nodes]))

    def budget_binds(self) -> bool:
        """Whether the accuracy budget can ever bind: False when even the sum of every positive
        weight stays within it (then solvers may ignore the terms altogether)."""
        if self.max_drop is None:
            return False
        worst = sum(max(t.drop, 0.0) for t in self.terms)
        worst += sum(max(w, 0.0) for _, _, w in self.interactions)
        return worst > self.max_drop * (1 + LIMIT_TOLERANCE)

    def memory_binds(self) -> np.ndarray:
        """Per server: whether its memory limit can bind (the most every node could put there
        exceeds it)."""
        most = np.zeros(self.num_servers)
        for node in self.nodes:
            per_server = np.zeros(self.num_servers)
            np.maximum.at(per_server, node.server, node.memory_bytes)
            most += per_server
        return most > self.memory_limit_bytes * (1 + LIMIT_TOLERANCE)

    # ---------------------------------------------------------------------------------------------
    # pricing whole plans

    def measure(self, choices: np.ndarray) -> PlanMeasures:
        """Prices plans: ``choices`` is ``(plans, nodes)`` (or one plan, ``(nodes,)``) of choice
        indices. Unreachable sends give ``inf`` latency and make the plan infeasible."""
        single = choices.ndim == 1
        choices = np.atleast_2d(np.asarray(choices, dtype=np.int64))
        plans = choices.shape[0]
        cost = np.zeros((plans, 3))
        memory = np.zeros((plans, self.num_servers))
        rows = np.arange(plans)
        servers = np.stack(
            [node.server[choices[:, v]] for v, node in enumerate(self.nodes)], axis=1
        )
        sent = np.zeros((plans, len(self.nodes)), dtype=bool)
        for v, node in enumerate(self.nodes):
            pick = choices[:, v]
            cost += node.choice_costs()[pick]
            np.add.at(memory, (rows, node.server[pick]), node.memory_bytes[pick])
            state = node.state[pick]
            own = node.state_server[state]
            targets = np.zeros((plans, self.num_servers), dtype=bool)
            for w in node.consumers:
                targets[rows, servers[:, w]] = True
            if node.returns:
                targets[:, self.device] = True
            targets[rows, own] = False
            send = node.send_costs()[state]  # (plans, servers, 3)
            with np.errstate(invalid="ignore"):
                cost += np.where(targets[:, :, None], send, 0.0).sum(axis=1)
            sent[:, v] = targets.any(axis=1)
        drop = np.zeros(plans)
        active = []
        for term in self.terms:
            node = self.nodes[term.node]
            pick = choices[:, term.node]
            if term.kind == "choice":
                on = term.mask[pick]
            else:
                on = term.mask[node.state[pick]] & sent[:, term.node]
            active.append(on)
            drop += term.drop * on
        for s, t, weight in self.interactions:
            drop += weight * (active[s] & active[t])
        result = PlanMeasures(cost, memory, drop, sent)
        return result.first() if single else result

    def feasible(self, measures: PlanMeasures) -> np.ndarray:
        """Which plans meet every limit (to :data:`LIMIT_TOLERANCE`)."""
        slack = 1 + LIMIT_TOLERANCE
        ok = np.all(np.isfinite(measures.cost), axis=1)
        ok &= np.all(measures.cost <= self.limits * slack, axis=1)
        ok &= np.all(measures.memory <= self.memory_limit_bytes * slack, axis=1)
        if self.max_drop is not None:
            ok &= measures.drop <= self.max_drop * (1 + LIMIT_TOLERANCE) + DROP_TOLERANCE
        return ok


@dataclass(frozen=True)
class PlanMeasures:
    """What :meth:`Network.measure` finds for plans (leading axis: plans, unless single).

    Attributes
    ----------
    cost
        ``(plans, 3)``: latency (s), energy (J), device energy (J).
    memory
        ``(plans, servers)``: weight memory per server.
    drop
        Predicted accuracy drop.
    sent
        ``(plans, nodes)``: whether each node's tensor is sent to another server.
    """

    cost: np.ndarray
    memory: np.ndarray
    drop: np.ndarray
    sent: np.ndarray

    def first(self) -> PlanMeasures:
        """The first plan's measures, without the leading axis."""
        return PlanMeasures(self.cost[0], self.memory[0], self.drop[0], self.sent[0])


def objective_value(cost: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``cost @ weights`` with zero weights ignoring infinite measures."""
    used = weights != 0
    return np.asarray(cost[..., used] @ weights[used])


# -------------------------------------------------------------------------------------------------
# from the compiled problem


def build_network(problem: InferenceProblem) -> Network:
    """The :class:`Network` of a compiled problem: every node's choices, tensor states and costs,
    read from the problem's cost arrays (SPEC §7.1 is computed once, in
    :mod:`jqodi_opt.inference.costs`). Node ``t`` is tensor ``t`` of the problem (its producer).

    A tensor that no layer consumes and that does not return is never sent, so its producer gets
    only one compression choice (the largest ratio).
    """
    num_servers = problem.num_servers
    device = problem.device
    servers = np.arange(num_servers)
    nodes: list[Node] = []
    for t in range(problem.num_tensors):
        consumers = tuple(int(i) + 1 for i in problem.tensor_consumers[t])
        returns = bool(problem.tensor_returns[t])
        comp = np.flatnonzero(problem.tensor_compression_allowed[t])
        if not consumers and not returns:
            comp = comp[-1:]
        if t == 0:
            ks, bs, rs = np.array([device]), np.array([problem.bits32]), np.array([0])
        else:
            i = t - 1
            ks = servers
            bs = np.flatnonzero(problem.layer_bits_allowed[i])
            rs = np.flatnonzero(problem.layer_pruning_allowed[i])
        grid = np.array(np.meshgrid(ks, bs, rs, comp, indexing="ij")).reshape(4, -1)
        server, bits, pruning, compression = grid
        states = np.array(np.meshgrid(ks, bs, comp, indexing="ij")).reshape(3, -1)
        state_of = {(int(k), int(b), int(c)): u for u, (k, b, c) in enumerate(states.T)}
        state = np.array(
            [
                state_of[(int(k), int(b), int(c))]
                for k, b, c in zip(server, bits, compression, strict=True)
            ]
        )
        if t == 0:
            zeros = np.zeros(len(server))
            time_s, energy_j, memory = zeros, zeros, zeros
        else:
            time_s = problem.compute_time_s[t - 1, server, bits, pruning]
            energy_j = problem.compute_energy_j[t - 1, server, bits, pruning]
            memory = problem.memory_bytes[t - 1, bits, pruning]
        s_server, s_bits, s_comp = states
        # (states, servers): send_time_s[t, k, h, b, c]
        send_time = problem.send_time_s[
            t, s_server[:, None], servers[None, :], s_bits[:, None], s_comp[:, None]
        ]
        send_energy = problem.send_energy_j[
            t, s_server[:, None], servers[None, :], s_bits[:, None], s_comp[:, None]
        ]
        own = s_server[:, None] == servers[None, :]
        send_time = np.where(own, 0.0, send_time)
        send_energy = np.where(own | ~np.isfinite(send_time), 0.0, send_energy)
        nodes.append(
            Node(
                name=problem.tensors[t],
                consumers=consumers,
                returns=returns,
                server=server,
                bits=bits,
                pruning=pruning,
                compression=compression,
                state=state,
                time_s=time_s,
                energy_j=energy_j,
                device_energy_j=np.where(server == device, energy_j, 0.0),
                memory_bytes=memory,
                state_server=s_server,
                state_bits=s_bits,
                state_compression=s_comp,
                send_time_s=send_time,
                send_energy_j=send_energy,
                send_device_energy_j=np.where((s_server == device)[:, None], send_energy, 0.0),
            )
        )

    acc = problem.accuracy
    terms = []
    for kind, target, choice, drop in zip(acc.kind, acc.target, acc.choice, acc.drop, strict=True):
        if kind == KIND_BITS:
            node = nodes[target + 1]
            terms.append(
                Term(
                    int(target) + 1,
                    "choice",
                    node.bits == choice,
                    float(drop),
                    f"{node.name} at {problem.bits[choice]} bits",
                )
            )
        elif kind == KIND_PRUNING:
            node = nodes[target + 1]
            terms.append(
                Term(
                    int(target) + 1,
                    "choice",
                    node.pruning == choice,
                    float(drop),
                    f"{node.name} pruned {problem.pruning[choice]:g}",
                )
            )
        else:
            node = nodes[target]
            terms.append(
                Term(
                    int(target),
                    "sent",
                    node.state_compression == choice,
                    float(drop),
                    f"{node.name} compressed {problem.compression[choice]:g}",
                )
            )
    interactions = tuple(
        (int(a), int(b), float(w)) for (a, b), w in zip(acc.pairs, acc.pair_drop, strict=True)
    )
    chain = bool(problem.is_chain) and not problem.tensor_returns[:-1].any()
    return Network(
        name=problem.name,
        server_names=tuple(problem.servers),
        device=device,
        nodes=tuple(nodes),
        memory_limit_bytes=np.asarray(problem.server_memory_bytes, dtype=float),
        limits=np.array([problem.latency_limit_s, np.inf, problem.device_energy_limit_j]),
        max_drop=float(problem.max_drop) if np.isfinite(problem.max_drop) else None,
        terms=tuple(terms),
        interactions=interactions,
        chain=chain,
    )


def to_assignment(network: Network, choices: np.ndarray) -> Assignment:
    """The problem's :class:`~jqodi_opt.inference.problem.Assignment` of a plan given as one
    choice per node."""
    nodes = network.nodes
    layers = range(1, len(nodes))
    return Assignment(
        server=np.array([nodes[v].server[choices[v]] for v in layers], dtype=np.int64),
        bits=np.array([nodes[v].bits[choices[v]] for v in layers], dtype=np.int64),
        pruning=np.array([nodes[v].pruning[choices[v]] for v in layers], dtype=np.int64),
        compression=np.array(
            [node.compression[choices[v]] for v, node in enumerate(nodes)], dtype=np.int64
        ),
    )


def from_assignment(network: Network, assignment: Assignment) -> np.ndarray:
    """One choice per node for an assignment (an unsent tensor's compression may be any; the
    nearest available choice is taken)."""
    choices = np.zeros(len(network.nodes), dtype=np.int64)
    for v, node in enumerate(network.nodes):
        server = network.device if v == 0 else assignment.server[v - 1]
        match = node.server == server
        if v:
            match &= (node.bits == assignment.bits[v - 1]) & (
                node.pruning == assignment.pruning[v - 1]
            )
        exact = match & (node.compression == assignment.compression[v])
        hits = np.flatnonzero(exact if exact.any() else match)
        if not len(hits):
            raise ValueError(f"node {node.name!r}: the assignment takes a choice it does not have")
        choices[v] = hits[0]
    return choices
