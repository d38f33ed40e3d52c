"""The choice network every exact inference solver reads (SPEC §7.1–7.3), in numbers only.

A plan chooses, for every **node** — node 0 is the model's input tensor, nodes ``1..n`` the layers
in topological order — one **choice** ``(server, bits, pruning, compression)``: where the layer
runs, at which bit-width and pruning ratio, and the compression ratio of its output tensor should
that tensor be sent. The input node's choices differ only in compression (it lives on the device
at 32 bits). A choice fixes the node's **tensor state** ``u = (server, bits, compression)``: all a
consumer needs to know to price receiving the tensor.

Costs (SPEC §7.1), all additive because execution is sequential:

- choosing ``j`` for node ``v`` costs ``time_s[j]``, ``energy_j[j]``, ``device_energy_j[j]`` and
  occupies ``memory_bytes[j]`` on its server:
  ``tau = flops (1 - r) / (speed_k speedup_k(b))``, ``energy = power_k tau``,
  ``memory = 4 params (b / 32) (1 - r)``;
- the tensor of ``v`` in state ``u`` is **sent** from ``server(u)`` to every distinct server ``h !=
  server(u)`` that hosts one of its consumers, or that is the device when ``v`` is a model output and
  outputs return: ``bits = 8 output_bytes (b / 32) c``, time ``bits / rate + latency``, energy
  ``bits * energy_per_bit`` (``send_time_s[u, h]`` etc.; ``inf`` where no link joins them).

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

#: Indices of the three additive measures in a cost vector.
LATENCY, ENERGY, DEVICE_ENERGY = 0, 1, 2
MEASURES = ("latency_s", "energy_j", "device_energy_j")

#: Relative slack on every limit (latency, energy, device energy, memory, accuracy budget): a plan
#: may exceed a limit by this fraction of it (floating-point sums in another order).
LIMIT_TOLERANCE = 1e-9


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
        Per choice: its server index, bit-width, pruning ratio and output compression ratio.
    state
        Per choice: the index of its tensor state.
    time_s, energy_j, device_energy_j, memory_bytes
        Per choice: compute time, compute energy, compute energy on the device (0 elsewhere) and
        weight memory on its server.
    state_server, state_bits, state_compression
        Per tensor state ``u``: where the tensor is, its bit-width and its compression ratio.
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
            ok &= measures.drop <= self.max_drop + abs(self.max_drop) * LIMIT_TOLERANCE + 1e-15
        return ok

    def canonical(self, choices: np.ndarray) -> np.ndarray:
        """The same plan with every unsent tensor at its least compression (largest ratio, i.e.
        1 when allowed): a tensor that stays local is never compressed (SPEC §7), and this keeps
        every cost and active term."""
        choices = np.array(choices, dtype=np.int64)
        sent = self.measure(choices).sent
        for v, node in enumerate(self.nodes):
            if sent[v]:
                continue
            j = choices[v]
            same = (
                (node.server == node.server[j])
                & (node.bits == node.bits[j])
                & (node.pruning == node.pruning[j])
            )
            candidates = np.flatnonzero(same)
            choices[v] = candidates[np.argmax(node.compression[candidates])]
        return choices


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
# building


@dataclass(frozen=True)
class Layout:
    """Plain arrays a :class:`Network` is built from (what a compiled problem knows).

    Attributes
    ----------
    name
        Instance name.
    server_names, device
        Servers and the device's index.
    speed_flops, power_w, memory_bytes
        Per server.
    speedup
        Per server: ``{bits: factor}`` (missing: 1).
    rate_bps, link_latency_s, energy_per_bit
        ``(servers, servers)``; ``rate_bps`` 0 where no link joins two servers.
    layer_names, flops, params, output_bytes
        Per layer, in topological order.
    inputs
        Per layer: the node indices it consumes (0 = the model's input, ``i + 1`` = layer ``i``).
    input_bytes
        Size of the model's input tensor (FP32).
    outputs_return
        Per layer: whether its output is sent back to the device.
    bits, pruning, compression
        The instance's sets; ``quantizable[i]`` / ``prunable[i]`` say whether layer ``i`` may take
        the non-default ones (the default bit-width is 32, the default pruning 0).
    limits, max_drop
        As in :class:`Network`.
    terms
        ``(kind, node, value, drop)`` with kind ``"bits"``, ``"pruning"`` or ``"compression"``.
    interactions
        ``(s, t, drop)``.
    """

    name: str
    server_names: tuple[str, ...]
    device: int
    speed_flops: np.ndarray
    power_w: np.ndarray
    memory_bytes: np.ndarray
    speedup: tuple[dict[int, float], ...]
    rate_bps: np.ndarray
    link_latency_s: np.ndarray
    energy_per_bit: np.ndarray
    layer_names: tuple[str, ...]
    flops: np.ndarray
    params: np.ndarray
    output_bytes: np.ndarray
    inputs: tuple[tuple[int, ...], ...]
    input_bytes: float
    outputs_return: np.ndarray
    bits: tuple[int, ...]
    pruning: tuple[float, ...]
    compression: tuple[float, ...]
    quantizable: np.ndarray
    prunable: np.ndarray
    limits: np.ndarray
    max_drop: float | None
    terms: tuple[tuple[str, int, float, float], ...]
    interactions: tuple[tuple[int, int, float], ...]


def _send_tables(
    layout: Layout, state_server: np.ndarray, state_bits: np.ndarray, state_comp: np.ndarray,
    tensor_bytes: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """SPEC §7.1: ``bits = 8 output_bytes (b / 32) c``; time ``bits / rate + latency``; energy
    ``bits * energy_per_bit``; device energy when sent from the device."""
    num = len(layout.server_names)
    size_bits = 8.0 * tensor_bytes * (state_bits / 32.0) * state_comp  # (U,)
    rate = layout.rate_bps[state_server]  # (U, S)
    with np.errstate(divide="ignore", invalid="ignore"):
        time = np.where(rate > 0, size_bits[:, None] / rate + layout.link_latency_s[state_server],
                        np.inf)  # fmt: skip
    energy = np.where(rate > 0, size_bits[:, None] * layout.energy_per_bit[state_server], 0.0)
    own = state_server[:, None] == np.arange(num)[None, :]
    time = np.where(own, 0.0, time)
    energy = np.where(own, 0.0, energy)
    device = np.where((state_server == layout.device)[:, None], energy, 0.0)
    return time, energy, device


def build_network(layout: Layout) -> Network:
    """The :class:`Network` of a layout: every node's choices, tensor states and costs."""
    num_servers = len(layout.server_names)
    comp = np.asarray(layout.compression, dtype=float)
    consumers: list[list[int]] = [[] for _ in range(len(layout.layer_names) + 1)]
    for i, sources in enumerate(layout.inputs):
        for source in sources:
            consumers[source].append(i + 1)

    nodes: list[Node] = []
    # node 0: the input tensor, on the device at 32 bits; only its compression is chosen
    st_server = np.full(len(comp), layout.device)
    st_bits = np.full(len(comp), 32)
    time, energy, device = _send_tables(layout, st_server, st_bits, comp, layout.input_bytes)
    zeros = np.zeros(len(comp))
    nodes.append(
        Node("input", tuple(consumers[0]), False, st_server.copy(), st_bits.copy(), zeros.copy(),
             comp.copy(), np.arange(len(comp)), zeros.copy(), zeros.copy(), zeros.copy(),
             zeros.copy(), st_server, st_bits, comp.copy(), time, energy, device)
    )  # fmt: skip
    for i, name in enumerate(layout.layer_names):
        bits = layout.bits if layout.quantizable[i] else (32,)
        ratios = layout.pruning if layout.prunable[i] else (0.0,)
        states = [(k, b, c) for k in range(num_servers) for b in bits for c in comp]
        state_index = {s: u for u, s in enumerate(states)}
        rows = [(k, b, r, c) for k in range(num_servers) for b in bits for r in ratios for c in comp]
        server = np.array([row[0] for row in rows], dtype=np.int64)
        bit = np.array([row[1] for row in rows], dtype=np.int64)
        prune = np.array([row[2] for row in rows], dtype=float)
        compress = np.array([row[3] for row in rows], dtype=float)
        speedup = np.array([layout.speedup[k].get(int(b), 1.0) for k, b in zip(server, bit)])
        tau = layout.flops[i] * (1 - prune) / (layout.speed_flops[server] * speedup)  # §7.1
        energy_c = layout.power_w[server] * tau
        memory = 4.0 * layout.params[i] * (bit / 32.0) * (1 - prune)
        st = np.array([state_index[(k, b, c)] for k, b, _, c in rows], dtype=np.int64)
        s_server = np.array([s[0] for s in states], dtype=np.int64)
        s_bits = np.array([s[1] for s in states], dtype=np.int64)
        s_comp = np.array([s[2] for s in states], dtype=float)
        time, energy, device = _send_tables(layout, s_server, s_bits, s_comp,
                                            float(layout.output_bytes[i]))  # fmt: skip
        nodes.append(
            Node(name, tuple(consumers[i + 1]), bool(layout.outputs_return[i]), server, bit, prune,
                 compress, st, tau, energy_c, np.where(server == layout.device, energy_c, 0.0),
                 memory, s_server, s_bits, s_comp, time, energy, device)
        )  # fmt: skip

    terms = []
    for kind, v, value, drop in layout.terms:
        node = nodes[v]
        if kind == "bits":
            terms.append(Term(v, "choice", node.bits == value, drop, f"{node.name}@{value}b"))
        elif kind == "pruning":
            mask = np.isclose(node.pruning, value)
            terms.append(Term(v, "choice", mask, drop, f"{node.name} pruned {value:g}"))
        else:
            mask = np.isclose(node.state_compression, value)
            terms.append(Term(v, "sent", mask, drop, f"{node.name} compressed {value:g}"))
    chain = all(inp == (i,) for i, inp in enumerate(layout.inputs))
    chain = chain and not any(layout.outputs_return[:-1])
    return Network(
        name=layout.name,
        server_names=layout.server_names,
        device=layout.device,
        nodes=tuple(nodes),
        memory_limit_bytes=np.asarray(layout.memory_bytes, dtype=float),
        limits=np.asarray(layout.limits, dtype=float),
        max_drop=layout.max_drop,
        terms=tuple(terms),
        interactions=tuple(layout.interactions),
        chain=chain,
    )
