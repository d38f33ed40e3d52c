"""The compiled inference problem: numbers only, the one thing every inference solver reads.

``compile_inference(instance)`` turns a validated ``jqodi-inference/1`` instance into an
:class:`InferenceProblem` of numpy arrays and index maps. The decision (SPEC §7) is, for every layer
``i``, a server ``k_i``, a bit-width ``b_i`` and a pruning ratio ``r_i``, and for every tensor
``t`` a compression ratio ``c_t`` (counted only where ``t`` is sent); in index form an
:class:`Assignment`.

Index conventions
-----------------
- ``L`` layers in the model's topological order (``layers``); a layer's inputs come before it.
- ``T = L + 1`` tensors: tensor 0 is the model's input (produced on the device, always 32-bit),
  tensor ``i + 1`` is the output of layer ``i``.
- ``K`` servers in instance order; ``device`` is the index of the one device.
- ``B`` bit-widths (``bits``), ``R`` pruning ratios (``pruning``), ``C`` compression ratios
  (``compression``): the union of every choice any layer or tensor may take, sorted. Which of them a
  given layer/tensor may take is in the ``*_allowed`` masks.
- ``E`` graph edges ``(edge_tensor[e], edge_layer[e])``: layer ``edge_layer[e]`` consumes tensor
  ``edge_tensor[e]``.

Sending (SPEC §7.1): tensor ``t`` produced on ``p`` goes once to every distinct server ``h != p``
among its consumers' servers, and to the device if ``tensor_returns[t]`` (a model output, with
``return_output``). No multi-hop routing: ``linked[p, h]`` must hold.

For a MILP with placement binaries ``x[i, k]`` and transfer binaries ``y[t, h]`` ("tensor ``t`` is
needed on ``h``"): ``y[t, h] >= x[l, h]`` for each edge ``(t, l)`` and ``y[t, device] = 1`` where
``tensor_returns[t]``; a send from ``p`` to ``h`` happens when ``y[t, h] * [t produced on p]`` and
``p != h``. A chain DP sees ``is_chain``: tensor ``i`` feeds exactly layer ``i``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jqodi_opt.inference.accuracy import AccuracyTerms, compile_terms
from jqodi_opt.inference.costs import compute_arrays, link_arrays, send_arrays
from jqodi_opt.inference.instance import InferenceInstance

#: Relative tolerance on the limits (latency, device energy, memory, accuracy budget); as SPEC §1.3.
LIMIT_TOLERANCE = 1e-9

#: Absolute slack on the accuracy budget (drops are sums of small signed weights).
DROP_TOLERANCE = 1e-12


@dataclass(frozen=True)
class Assignment:
    """One plan in index form.

    Attributes
    ----------
    server
        ``(L,)`` int: the server index of each layer.
    bits
        ``(L,)`` int: index into ``problem.bits`` of each layer's bit-width.
    pruning
        ``(L,)`` int: index into ``problem.pruning`` of each layer's pruning ratio.
    compression
        ``(T,)`` int: index into ``problem.compression`` of each tensor's ratio (entry 0: the
        model's input); meaningful only for tensors that are sent.
    """

    server: np.ndarray
    bits: np.ndarray
    pruning: np.ndarray
    compression: np.ndarray


@dataclass(frozen=True)
class InferenceProblem:
    """The numbers of one inference instance (see the module docstring for index conventions).

    Attributes
    ----------
    name
        The instance's name.
    objective
        ``latency``, ``energy``, ``device-energy`` or ``weighted``.
    weights
        ``(w_L, w_E)`` of the weighted objective (None otherwise). The weighted objective is
        min–max normalised from the single-objective optima (SPEC §7.3); solvers compute those.
    return_output
        Whether the model's outputs are sent back to the device.
    layers
        ``(L,)`` layer names, topological order.
    layer_flops, layer_params
        ``(L,)`` forward FLOPs (one sample) and parameter counts.
    tensors
        ``(T,)`` tensor names: ``"input"`` then the layer names.
    tensor_bytes
        ``(T,)`` FP32 bytes of each tensor (one sample).
    layer_inputs
        ``L`` int arrays: the tensor indices each layer consumes.
    tensor_consumers
        ``T`` int arrays: the layer indices that consume each tensor.
    edge_tensor, edge_layer
        ``(E,)`` int: the graph's edges (tensor consumed, consuming layer).
    tensor_returns
        ``(T,)`` bool: a model output that goes back to the device (``return_output``).
    is_chain
        True when layer ``i`` consumes exactly tensor ``i`` (the previous layer's output).
    servers, server_tier
        ``(K,)`` names and tiers (``device``, ``edge``, ``cloud``).
    device
        Index of the device server.
    server_speed_flops, server_power_w
        ``(K,)`` FLOP/s and W.
    server_memory_bytes
        ``(K,)`` bytes (``inf``: unlimited).
    server_speedup
        ``(K, B)`` speed-up at each bit-width (1 where not given).
    linked
        ``(K, K)`` bool: a direct link (False on the diagonal).
    link_rate_bps, link_latency_s, link_energy_per_bit
        ``(K, K)`` bit/s, s and J/bit; NaN where not ``linked``.
    bits
        ``(B,)`` int bit-widths, sorted; 32 is always among them (``bits32`` is its index).
    pruning
        ``(R,)`` float pruning ratios in ``[0, 1)``, sorted.
    compression
        ``(C,)`` float compression ratios in ``(0, 1]``, sorted.
    layer_bits_allowed
        ``(L, B)`` bool: bit-widths each layer may take.
    layer_pruning_allowed
        ``(L, R)`` bool: pruning ratios each layer may take.
    tensor_compression_allowed
        ``(T, C)`` bool: compression ratios a tensor may take when it is sent.
    compute_time_s, compute_energy_j
        ``(L, K, B, R)`` s and J of running layer ``i`` on ``k`` at ``b`` and ``r``.
    memory_bytes
        ``(L, B, R)`` bytes of the layer's weights at ``b`` and ``r``.
    payload_bits
        ``(T, B, C)`` bits sent for tensor ``t`` at its producer's bit-width and ratio ``c``
        (tensor 0 only at ``bits32``).
    send_time_s, send_energy_j
        ``(T, K, K, B, C)`` s and J of sending tensor ``t`` from ``k`` to ``h``: 0 for ``k == h``,
        ``inf`` where not ``linked``.
    accuracy
        The accuracy polynomial (:class:`~jqodi_opt.inference.accuracy.AccuracyTerms`).
    max_drop
        The accuracy budget (``inf``: none).
    latency_limit_s, device_energy_limit_j
        ``limits`` (``inf``: none).
    instance
        The instance this was compiled from, for the independent ``evaluate`` of every solver's
        plan in :func:`jqodi_opt.solve.solve`; solvers do not read it.
    """

    name: str
    objective: str
    weights: tuple[float, float] | None
    return_output: bool
    layers: tuple[str, ...]
    layer_flops: np.ndarray
    layer_params: np.ndarray
    tensors: tuple[str, ...]
    tensor_bytes: np.ndarray
    layer_inputs: tuple[np.ndarray, ...]
    tensor_consumers: tuple[np.ndarray, ...]
    edge_tensor: np.ndarray
    edge_layer: np.ndarray
    tensor_returns: np.ndarray
    is_chain: bool
    servers: tuple[str, ...]
    server_tier: tuple[str, ...]
    device: int
    server_speed_flops: np.ndarray
    server_power_w: np.ndarray
    server_memory_bytes: np.ndarray
    server_speedup: np.ndarray
    linked: np.ndarray
    link_rate_bps: np.ndarray
    link_latency_s: np.ndarray
    link_energy_per_bit: np.ndarray
    bits: np.ndarray
    bits32: int
    pruning: np.ndarray
    compression: np.ndarray
    layer_bits_allowed: np.ndarray
    layer_pruning_allowed: np.ndarray
    tensor_compression_allowed: np.ndarray
    compute_time_s: np.ndarray
    compute_energy_j: np.ndarray
    memory_bytes: np.ndarray
    payload_bits: np.ndarray
    send_time_s: np.ndarray
    send_energy_j: np.ndarray
    accuracy: AccuracyTerms
    max_drop: float
    latency_limit_s: float
    device_energy_limit_j: float
    instance: InferenceInstance | None = field(default=None, repr=False, compare=False)

    # ---------------------------------------------------------------------------------------------
    # sizes and small helpers

    @property
    def num_layers(self) -> int:
        """``L``."""
        return len(self.layers)

    @property
    def num_tensors(self) -> int:
        """``T = L + 1``."""
        return len(self.tensors)

    @property
    def num_servers(self) -> int:
        """``K``."""
        return len(self.servers)

    def tensor_server(self, server: np.ndarray) -> np.ndarray:
        """``(T,)``: where each tensor is produced, given the layers' servers ``(L,)``."""
        return np.concatenate(([self.device], np.asarray(server, dtype=np.int64)))

    def tensor_bits(self, bits: np.ndarray) -> np.ndarray:
        """``(T,)`` bit-width indices of the tensors, given the layers' ``(L,)`` (input: 32)."""
        return np.concatenate(([self.bits32], np.asarray(bits, dtype=np.int64)))

    def allowed(self, assignment: Assignment) -> list[str]:
        """Reasons why ``assignment`` takes a choice a layer or tensor may not take (empty: none).

        Compression is checked only on tensors that are sent.
        """
        from jqodi_opt.inference.costs import tensor_destinations

        reasons = []
        layers = np.arange(self.num_layers)
        for i in np.flatnonzero(~self.layer_bits_allowed[layers, assignment.bits]):
            reasons.append(
                f"layer {self.layers[i]!r} cannot take {self.bits[assignment.bits[i]]} bits"
            )
        for i in np.flatnonzero(~self.layer_pruning_allowed[layers, assignment.pruning]):
            ratio = self.pruning[assignment.pruning[i]]
            reasons.append(f"layer {self.layers[i]!r} cannot take pruning {ratio:g}")
        sent = tensor_destinations(self, assignment.server).any(axis=1)
        tensors = np.arange(self.num_tensors)
        bad = sent & ~self.tensor_compression_allowed[tensors, assignment.compression]
        for t in np.flatnonzero(bad):
            ratio = self.compression[assignment.compression[t]]
            reasons.append(f"tensor {self.tensors[t]!r} cannot take compression {ratio:g}")
        return reasons


def _sorted_unique(values: list[float]) -> np.ndarray:
    return np.array(sorted(set(values)), dtype=float)


def _allowed_rows(
    values: np.ndarray, names: tuple[str, ...], options: Callable[[str], list[Any]], width: int
) -> np.ndarray:
    """``(layers, values)`` bool: which of ``values`` each layer may take (``options(layer)``);
    one ``isin`` per distinct option list, as most layers share theirs."""
    rows: dict[tuple[Any, ...], np.ndarray] = {}
    out = np.zeros((len(names), width), dtype=bool)
    for i, name in enumerate(names):
        key = tuple(options(name))
        if key not in rows:
            rows[key] = np.isin(values, key)
        out[i] = rows[key]
    return out


def compile_inference(instance: InferenceInstance) -> InferenceProblem:
    """Compiles a validated instance (its model resolved) into an :class:`InferenceProblem`."""
    graph = instance.graph
    names = tuple(graph.names)
    index = graph.index
    n = len(names)
    # choices: everything any layer or tensor may take; 32 bits, ratio 0 always present
    bits = np.array(sorted(set(instance.bit_choices) | {32}), dtype=np.int64)
    pruning = _sorted_unique([*instance.pruning_choices, 0.0])
    compression = _sorted_unique(instance.compression_choices)
    layer_bits_allowed = _allowed_rows(bits, names, instance.layer_bits, len(bits))
    layer_pruning_allowed = _allowed_rows(pruning, names, instance.layer_pruning, len(pruning))
    tensor_compression_allowed = np.tile(
        np.isin(compression, instance.compression_choices), (n + 1, 1)
    )

    flops = np.array([layer.flops for layer in graph.layers], dtype=float)
    params = np.array([layer.params for layer in graph.layers], dtype=float)
    tensor_bytes = np.array(
        [graph.input_bytes, *(layer.output_bytes for layer in graph.layers)], dtype=float
    )
    layer_inputs = tuple(
        np.array([0 if src == "input" else index[src] + 1 for src in inputs], dtype=np.int64)
        for inputs in graph.layer_inputs
    )
    edge_tensor = np.concatenate(layer_inputs) if n else np.zeros(0, dtype=np.int64)
    edge_layer = np.repeat(np.arange(n), [len(x) for x in layer_inputs])
    by_tensor = np.argsort(edge_tensor, kind="stable")  # edges grouped by tensor, in edge order
    tensor_consumers = tuple(
        np.split(edge_layer[by_tensor], np.cumsum(np.bincount(edge_tensor, minlength=n + 1))[:-1])
    )
    outputs = np.zeros(n + 1, dtype=bool)
    outputs[[index[x] + 1 for x in graph.outputs]] = True

    servers = instance.servers
    speed = np.array([s.speed_flops for s in servers], dtype=float)
    power = np.array([s.power_w for s in servers], dtype=float)
    memory_cap = np.array(
        [np.inf if s.memory_bytes is None else s.memory_bytes for s in servers], dtype=float
    )
    speedup = np.array([[s.speedup_of(int(b)) for b in bits] for s in servers], dtype=float)
    links = link_arrays(instance)

    compute_t, compute_e, memory = compute_arrays(
        flops, params, speed, power, speedup, bits, pruning
    )
    payload, send_t, send_e = send_arrays(tensor_bytes, bits.astype(float), compression, links)
    weights = None
    if instance.objective_name == "weighted":
        w = instance.objective.weighted  # type: ignore[union-attr]
        weights = (float(w.latency), float(w.energy))
    return InferenceProblem(
        name=instance.name,
        objective=instance.objective_name,
        weights=weights,
        return_output=instance.return_output,
        layers=names,
        layer_flops=flops,
        layer_params=params,
        tensors=("input", *names),
        tensor_bytes=tensor_bytes,
        layer_inputs=layer_inputs,
        tensor_consumers=tensor_consumers,
        edge_tensor=edge_tensor,
        edge_layer=edge_layer,
        tensor_returns=outputs & instance.return_output,
        is_chain=graph.is_chain,
        servers=tuple(s.name for s in servers),
        server_tier=tuple(s.tier for s in servers),
        device=instance.server_index(instance.device.name),
        server_speed_flops=speed,
        server_power_w=power,
        server_memory_bytes=memory_cap,
        server_speedup=speedup,
        linked=links.linked,
        link_rate_bps=links.rate_bps,
        link_latency_s=links.latency_s,
        link_energy_per_bit=links.energy_per_bit,
        bits=bits,
        bits32=int(np.flatnonzero(bits == 32)[0]),
        pruning=pruning,
        compression=compression,
        layer_bits_allowed=layer_bits_allowed,
        layer_pruning_allowed=layer_pruning_allowed,
        tensor_compression_allowed=tensor_compression_allowed,
        compute_time_s=compute_t,
        compute_energy_j=compute_e,
        memory_bytes=memory,
        payload_bits=payload,
        send_time_s=send_t,
        send_energy_j=send_e,
        accuracy=compile_terms(instance, index, bits, pruning, compression),
        max_drop=instance.max_drop,
        latency_limit_s=instance.latency_limit_s,
        device_energy_limit_j=instance.device_energy_limit_j,
        instance=instance,
    )


def assignment_violations(problem: InferenceProblem, assignment: Assignment) -> list[str]:
    """Every rule ``assignment`` breaks, from the compiled arrays (empty: feasible).

    Choices a layer or sent tensor may not take, a transfer between servers without a link,
    memory, the accuracy budget and the latency and device-energy limits (with
    :data:`LIMIT_TOLERANCE`). :func:`jqodi_opt.inference.evaluate.evaluate_inference` is the
    independent check of the same rules from the instance.
    """
    from jqodi_opt.inference.accuracy import accuracy_drop
    from jqodi_opt.inference.costs import assignment_costs

    reasons = problem.allowed(assignment)
    costs = assignment_costs(problem, assignment)
    for t, k, h in costs.sends:
        if not problem.linked[k, h]:
            reasons.append(
                f"tensor {problem.tensors[t]!r} must go from {problem.servers[k]!r} to "
                f"{problem.servers[h]!r}, which have no link"
            )
    over = costs.memory_bytes > problem.server_memory_bytes * (1 + LIMIT_TOLERANCE)
    for server in np.flatnonzero(over):
        reasons.append(
            f"memory on {problem.servers[server]!r}: {costs.memory_bytes[server]:.6g} B exceeds "
            f"{problem.server_memory_bytes[server]:.6g} B"
        )
    drop = accuracy_drop(problem, assignment)
    if drop > problem.max_drop * (1 + LIMIT_TOLERANCE) + DROP_TOLERANCE:
        reasons.append(f"accuracy drop {drop:.6g} exceeds max_drop {problem.max_drop:.6g}")
    if costs.latency_s > problem.latency_limit_s * (1 + LIMIT_TOLERANCE):
        reasons.append(
            f"latency {costs.latency_s:.6g} s exceeds limits.latency_s "
            f"{problem.latency_limit_s:.6g} s"
        )
    if costs.device_energy_j > problem.device_energy_limit_j * (1 + LIMIT_TOLERANCE):
        reasons.append(
            f"device energy {costs.device_energy_j:.6g} J exceeds limits.device_energy_j "
            f"{problem.device_energy_limit_j:.6g} J"
        )
    return reasons
