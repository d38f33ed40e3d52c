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
from typing import ClassVar, Literal

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

#: Plans x nodes x servers priced at once by :meth:`Network.measure` (bounds its temporaries).
MEASURE_ELEMENTS = 1 << 20


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
    flat: FlatNetwork | None = field(default=None, repr=False, compare=False)

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

    def first_order_drops(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The first-order accuracy terms summed per node: ``(choice_drop, sent_drop)``, per node
        an array over its choices (``{layer, bits}``, ``{layer, pruning}`` terms) and one over its
        tensor states (``{tensor, compression}`` terms, paid when the tensor is sent). All zero
        when the budget cannot bind (:meth:`budget_binds`): the DPs then ignore the terms."""
        choice_drop = [np.zeros(node.num_choices) for node in self.nodes]
        sent_drop = [np.zeros(node.num_states) for node in self.nodes]
        for term in self.terms if self.budget_binds() else ():
            target = choice_drop if term.kind == "choice" else sent_drop
            target[term.node] = target[term.node] + term.drop * term.mask
        return choice_drop, sent_drop

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
        indices. Unreachable sends give ``inf`` latency and make the plan infeasible.

        Vectorised over plans and nodes (:class:`FlatNetwork`); every sum is taken node by node
        in order (an accumulate, not a pairwise reduction), so a plan's price does not depend on
        how many plans are priced with it.
        """
        single = choices.ndim == 1
        choices = np.atleast_2d(np.asarray(choices, dtype=np.int64))
        flat = self.flat_view()
        # bound the (plans, nodes, servers, 3) temporaries
        step = max(1, MEASURE_ELEMENTS // max(1, len(self.nodes) * self.num_servers))
        parts = [
            self._measure_block(flat, choices[first : first + step])
            for first in range(0, max(choices.shape[0], 1), step)
        ]
        if len(parts) == 1:
            result = parts[0]
        else:
            result = PlanMeasures(
                *(np.concatenate([getattr(p, f) for p in parts]) for f in PlanMeasures.FIELDS)
            )
        return result.first() if single else result

    def _measure_block(self, flat: FlatNetwork, choices: np.ndarray) -> PlanMeasures:
        plans, count = choices.shape
        rows = np.arange(plans)[:, None]
        pick = choices + flat.choice_start  # (plans, nodes): global choice index
        servers = flat.choice_server[pick]
        state = flat.state_start + flat.choice_state[pick]  # global state index
        # where each node's tensor goes: its consumers' servers, the device for an output
        targets = np.zeros((plans, count, self.num_servers), dtype=bool)
        targets[rows, flat.edge_node[None, :], servers[:, flat.edge_consumer]] = True
        targets[:, flat.returns, self.device] = True
        targets[rows, np.arange(count)[None, :], flat.state_server[state]] = False
        with np.errstate(invalid="ignore"):
            send = np.where(targets[..., None], flat.send_cost[state], 0.0).sum(axis=2)
        # cost = choice(node 0) + send(node 0) + choice(node 1) + ..., summed in that order
        steps = np.empty((2 * count, plans, 3))
        steps[0::2] = flat.choice_cost[pick].transpose(1, 0, 2)
        steps[1::2] = send.transpose(1, 0, 2)
        cost = np.add.accumulate(steps, axis=0)[-1] if count else np.zeros((plans, 3))
        memory = np.zeros((plans, self.num_servers))
        np.add.at(
            memory,
            (np.broadcast_to(rows, pick.shape).T, servers.T),
            flat.choice_memory[pick].T,
        )
        sent = np.asarray(targets.any(axis=2))
        drop = np.zeros(plans)
        if len(flat.term_node):
            local = choices[:, flat.term_node]  # (plans, terms): the node's choice...
            is_sent = flat.term_sent[None, :]
            local = np.where(is_sent, flat.choice_state[pick[:, flat.term_node]], local)
            active = flat.term_mask[flat.term_start + local]  # ...or its tensor state
            active &= ~is_sent | sent[:, flat.term_node]
            # drop = sum of the active terms' weights, then of the active interactions, in order
            parts = [drop[None, :], (flat.term_drop[None, :] * active).T]
            if len(flat.pair_first):
                both = active[:, flat.pair_first] & active[:, flat.pair_second]
                parts.append((flat.pair_drop[None, :] * both).T)
            drop = np.add.accumulate(np.concatenate(parts), axis=0)[-1]
        return PlanMeasures(cost, memory, drop, sent)

    def flat_view(self) -> FlatNetwork:
        """The nodes' arrays concatenated (:class:`FlatNetwork`), built once per network."""
        if self.flat is None:
            object.__setattr__(self, "flat", FlatNetwork.of(self))
        assert self.flat is not None
        return self.flat

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

    FIELDS: ClassVar[tuple[str, ...]] = ("cost", "memory", "drop", "sent")

    def first(self) -> PlanMeasures:
        """The first plan's measures, without the leading axis."""
        return PlanMeasures(self.cost[0], self.memory[0], self.drop[0], self.sent[0])


@dataclass(frozen=True)
class FlatNetwork:
    """The nodes' arrays of a :class:`Network` concatenated, for pricing whole plans at once.

    Node ``v``'s choice ``j`` is global choice ``choice_start[v] + j``, its tensor state ``u``
    global state ``state_start[v] + u``; ``choice_state`` holds the local state of each global
    choice. ``edge_node[e]``'s tensor is consumed by node ``edge_consumer[e]``. Accuracy term
    ``a`` of node ``term_node[a]`` is active when ``term_mask[term_start[a] + x]`` holds for the
    node's local choice ``x`` (``term_sent[a]``: its local tensor state, and only when sent).
    """

    choice_start: np.ndarray
    choice_server: np.ndarray
    choice_state: np.ndarray
    choice_cost: np.ndarray
    choice_memory: np.ndarray
    state_start: np.ndarray
    state_server: np.ndarray
    send_cost: np.ndarray
    edge_node: np.ndarray
    edge_consumer: np.ndarray
    returns: np.ndarray
    term_node: np.ndarray
    term_sent: np.ndarray
    term_start: np.ndarray
    term_mask: np.ndarray
    term_drop: np.ndarray
    pair_first: np.ndarray
    pair_second: np.ndarray
    pair_drop: np.ndarray

    @classmethod
    def of(cls, network: Network) -> FlatNetwork:
        """The flat arrays of ``network``."""
        nodes = network.nodes

        def starts(sizes: list[int]) -> np.ndarray:
            return np.concatenate(([0], np.cumsum(sizes[:-1]))).astype(np.int64)

        choice_start = starts([node.num_choices for node in nodes])
        state_start = starts([node.num_states for node in nodes])
        masks = [np.asarray(term.mask, dtype=bool) for term in network.terms]
        pairs = np.array([(s, t) for s, t, _ in network.interactions], dtype=np.int64)
        return cls(
            choice_start=choice_start,
            choice_server=np.concatenate([node.server for node in nodes]),
            choice_state=np.concatenate([node.state for node in nodes]),
            choice_cost=np.concatenate([node.choice_costs() for node in nodes]),
            choice_memory=np.concatenate([node.memory_bytes for node in nodes]),
            state_start=state_start,
            state_server=np.concatenate([node.state_server for node in nodes]),
            send_cost=np.concatenate([node.send_costs() for node in nodes]),
            edge_node=np.repeat(np.arange(len(nodes)), [len(node.consumers) for node in nodes]),
            edge_consumer=np.array([w for node in nodes for w in node.consumers], dtype=np.int64),
            returns=np.array([node.returns for node in nodes], dtype=bool),
            term_node=np.array([term.node for term in network.terms], dtype=np.int64),
            term_sent=np.array([term.kind == "sent" for term in network.terms], dtype=bool),
            term_start=starts([len(mask) for mask in masks]) if masks else np.zeros(0, np.int64),
            term_mask=np.concatenate(masks) if masks else np.zeros(0, dtype=bool),
            term_drop=np.array([term.drop for term in network.terms], dtype=float),
            pair_first=pairs[:, 0] if len(pairs) else np.zeros(0, np.int64),
            pair_second=pairs[:, 1] if len(pairs) else np.zeros(0, np.int64),
            pair_drop=np.array([w for _, _, w in network.interactions], dtype=float),
        )


def objective_value(cost: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``cost @ weights`` with zero weights ignoring infinite measures."""
    used = weights != 0
    return np.asarray(cost[..., used] @ weights[used])


# -------------------------------------------------------------------------------------------------
# from the compiled problem


def _node_shapes(problem: InferenceProblem) -> tuple[list[tuple[np.ndarray, ...]], np.ndarray]:
    """The distinct choice grids of the nodes and each node's grid index.

    A node's choices are the grid ``servers x bits x pruning x compression`` of what it may take
    (the input node: the device, 32 bits, no pruning); nodes with the same grid — typically every
    layer of a model — share it, so :func:`build_network` gathers their costs in one vectorised
    read per grid instead of one per node.
    """
    servers = np.arange(problem.num_servers)
    seen: dict[tuple[bytes, ...], int] = {}
    grids: list[tuple[np.ndarray, ...]] = []
    of_node = np.zeros(problem.num_tensors, dtype=np.int64)
    comp_allowed = np.asarray(problem.tensor_compression_allowed, dtype=bool)
    sent_somewhere = np.array([len(c) > 0 for c in problem.tensor_consumers]) | np.asarray(
        problem.tensor_returns, dtype=bool
    )
    bits_allowed = np.asarray(problem.layer_bits_allowed, dtype=bool)
    pruning_allowed = np.asarray(problem.layer_pruning_allowed, dtype=bool)
    for t in range(problem.num_tensors):
        layer = t - 1
        allowed = bits_allowed[layer].tobytes() + pruning_allowed[layer].tobytes()
        key = (
            b"input" if t == 0 else allowed,
            comp_allowed[t].tobytes(),
            b"sent" if sent_somewhere[t] else b"kept",
        )
        if key not in seen:
            # a tensor that no layer consumes and that does not return is never sent: its
            # producer gets only one compression choice (the largest ratio)
            comp = np.flatnonzero(comp_allowed[t])
            if not sent_somewhere[t]:
                comp = comp[-1:]
            if t == 0:
                ks, bs, rs = np.array([problem.device]), np.array([problem.bits32]), np.array([0])
            else:
                ks = servers
                bs = np.flatnonzero(bits_allowed[layer])
                rs = np.flatnonzero(pruning_allowed[layer])
            seen[key] = len(grids)
            grids.append((ks, bs, rs, comp))
        of_node[t] = seen[key]
    return grids, of_node


def _frozen(array: np.ndarray) -> np.ndarray:
    """``array`` made read-only (it is shared by every node of one grid)."""
    array.flags.writeable = False
    return array


def build_network(problem: InferenceProblem) -> Network:
    """The :class:`Network` of a compiled problem: every node's choices, tensor states and costs,
    read from the problem's cost arrays (SPEC §7.1 is computed once, in
    :mod:`jqodi_opt.inference.costs`). Node ``t`` is tensor ``t`` of the problem (its producer).

    A tensor that no layer consumes and that does not return is never sent, so its producer gets
    only one compression choice (the largest ratio). Nodes with the same choice grid share its
    index arrays (read-only) and have their costs gathered together (:func:`_node_shapes`).
    """
    num_servers = problem.num_servers
    device = problem.device
    servers = np.arange(num_servers)
    grids, of_node = _node_shapes(problem)
    nodes: list[Node | None] = [None] * problem.num_tensors
    for g, (ks, bs, rs, comp) in enumerate(grids):
        members = np.flatnonzero(of_node == g)
        grid = np.array(np.meshgrid(ks, bs, rs, comp, indexing="ij")).reshape(4, -1)
        server, bits, pruning, compression = (_frozen(row.copy()) for row in grid)
        states = np.array(np.meshgrid(ks, bs, comp, indexing="ij")).reshape(3, -1)
        s_server, s_bits, s_comp = (_frozen(row.copy()) for row in states)
        # choice (k, b, r, c) -> state (k, b, c), both enumerated in that order
        ik, ib, _, ic = np.unravel_index(
            np.arange(server.size), (len(ks), len(bs), len(rs), len(comp))
        )
        state = _frozen((ik * len(bs) + ib) * len(comp) + ic)
        if g == of_node[0]:  # the input node (alone in its grid): no compute
            zeros = np.zeros((len(members), server.size))
            time_s, energy_j, memory = zeros, zeros, zeros
        else:
            layer = members[:, None] - 1
            time_s = problem.compute_time_s[layer, server, bits, pruning]
            energy_j = problem.compute_energy_j[layer, server, bits, pruning]
            memory = problem.memory_bytes[layer, bits, pruning]
        # (members, states, servers): send_time_s[t, k, h, b, c]
        at = (
            members[:, None, None],
            s_server[None, :, None],
            servers[None, None, :],
            s_bits[None, :, None],
            s_comp[None, :, None],
        )
        own = (s_server[:, None] == servers[None, :])[None, :, :]
        send_time = np.where(own, 0.0, problem.send_time_s[at])
        send_energy = np.where(own | ~np.isfinite(send_time), 0.0, problem.send_energy_j[at])
        device_energy = np.where(server == device, energy_j, 0.0)
        send_device = np.where((s_server == device)[None, :, None], send_energy, 0.0)
        choice_costs = np.stack([time_s, energy_j, device_energy], axis=2)
        send_costs = np.stack([send_time, send_energy, send_device], axis=3)
        can_send = np.isfinite(send_time)
        for m, t in enumerate(members):
            node = Node(
                name=problem.tensors[t],
                consumers=tuple(int(i) + 1 for i in problem.tensor_consumers[t]),
                returns=bool(problem.tensor_returns[t]),
                server=server,
                bits=bits,
                pruning=pruning,
                compression=compression,
                state=state,
                time_s=time_s[m],
                energy_j=energy_j[m],
                device_energy_j=device_energy[m],
                memory_bytes=memory[m],
                state_server=s_server,
                state_bits=s_bits,
                state_compression=s_comp,
                send_time_s=send_time[m],
                send_energy_j=send_energy[m],
                send_device_energy_j=send_device[m],
            )
            # the cached stacks, gathered for the whole grid at once
            node.__dict__.update(
                _choice_costs=choice_costs[m], _send_costs=send_costs[m], _can_send=can_send[m]
            )
            nodes[int(t)] = node
    built = tuple(node for node in nodes if node is not None)
    assert len(built) == problem.num_tensors

    acc = problem.accuracy
    terms = []
    for kind, target, choice, drop in zip(acc.kind, acc.target, acc.choice, acc.drop, strict=True):
        if kind == KIND_BITS:
            node = built[target + 1]
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
            node = built[target + 1]
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
            node = built[target]
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
        nodes=built,
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
