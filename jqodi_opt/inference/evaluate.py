"""Independent check of an inference plan against the instance alone (SPEC §7.1–7.2, §7.5).

No number in the plan is trusted. Latency, energy, device energy, memory per server and the
accuracy drop are recomputed from the instance with plain loops over layers and tensors, written
out here on purpose, apart from the vectorised arrays of :mod:`jqodi_opt.inference.costs` that the
solvers read: no solver grades its own homework.

A plan may list its layers in any order, but each layer exactly once. Violations (the plan is
infeasible, exit code 1 on the command line): an unknown or missing layer or server, a choice a
layer or a sent tensor may not take, two servers without a link that must exchange a tensor, memory
over a server's ``memory_bytes``, the accuracy drop over ``max_drop``, latency or device energy over
the limits."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from jqodi_opt.graph import INPUT
from jqodi_opt.inference.costs import BYTES_PER_PARAM, link_rate_bps
from jqodi_opt.inference.instance import InferenceInstance
from jqodi_opt.inference.plan import InferencePlan, LayerChoice
from jqodi_opt.inference.problem import DROP_TOLERANCE, LIMIT_TOLERANCE


@dataclass(frozen=True)
class Send:
    """One transfer: ``tensor`` from server ``source`` to ``target`` (``bits`` on the wire)."""

    tensor: str
    source: str
    target: str
    bits: float
    time_s: float
    energy_j: float


@dataclass(frozen=True)
class InferenceEvaluation:
    """What an inference plan really costs and whether it is feasible.

    Attributes
    ----------
    feasible
        True when there are no violations.
    latency_s, energy_j, device_energy_j
        SPEC §7.1 totals (nan when the plan cannot be costed; inf when a needed link is missing).
    memory_bytes
        Weight memory used on each server, by name.
    accuracy_drop
        The predicted drop of SPEC §7.2 (0 without an accuracy section).
    sends
        Every transfer, in tensor order.
    violations
        One sentence per violated rule.
    compute_time_s, compute_energy_j
        Compute time and energy on each server, by name (transfers are in ``sends``).
    """

    feasible: bool
    latency_s: float
    energy_j: float
    device_energy_j: float
    memory_bytes: dict[str, float]
    accuracy_drop: float
    sends: list[Send] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    compute_time_s: dict[str, float] = field(default_factory=dict)
    compute_energy_j: dict[str, float] = field(default_factory=dict)

    @property
    def transfer_time_s(self) -> float:
        """Time spent sending tensors."""
        return sum(s.time_s for s in self.sends)

    @property
    def transfer_energy_j(self) -> float:
        """Energy spent sending tensors."""
        return sum(s.energy_j for s in self.sends)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (``jqodi evaluate --json`` on an inference instance)."""

        def number(x: float) -> float | None:
            return x if math.isfinite(x) else None

        return {
            "feasible": self.feasible,
            "latency_s": number(self.latency_s),
            "energy_j": number(self.energy_j),
            "device_energy_j": number(self.device_energy_j),
            "accuracy_drop": number(self.accuracy_drop),
            "memory_bytes": dict(self.memory_bytes),
            "compute_time_s": dict(self.compute_time_s),
            "compute_energy_j": dict(self.compute_energy_j),
            "sends": [
                {"tensor": s.tensor, "from": s.source, "to": s.target, "bits": s.bits}
                for s in self.sends
            ],
            "violations": list(self.violations),
        }


def _structure(instance: InferenceInstance, plan: InferencePlan) -> list[str]:
    """Violations that prevent costing the plan: layers and servers it names."""
    graph = instance.graph
    violations = []
    servers = {s.name for s in instance.servers}
    seen: set[str] = set()
    for i, choice in enumerate(plan.layers):
        if choice.layer not in graph.index:
            violations.append(f"layers[{i}]: unknown layer {choice.layer!r}")
        elif choice.layer in seen:
            violations.append(f"layers[{i}]: layer {choice.layer!r} listed twice")
        seen.add(choice.layer)
        if choice.server not in servers:
            violations.append(f"layers[{i}]: unknown server {choice.server!r}")
    for name in graph.names:
        if name not in seen:
            violations.append(f"layer {name!r} has no server")
    return violations


def evaluate_inference(instance: InferenceInstance, plan: InferencePlan) -> InferenceEvaluation:
    """Recomputes a plan's latency, energy, device energy, memory and accuracy drop; lists every
    violated rule.

    Parameters
    ----------
    instance
        The validated instance (its model resolved).
    plan
        The plan to check; its own numbers are ignored.
    """
    nan = math.nan
    violations = _structure(instance, plan)
    if violations:
        return InferenceEvaluation(False, nan, nan, nan, {}, nan, [], violations)
    graph = instance.graph
    choice: dict[str, LayerChoice] = {c.layer: c for c in plan.layers}
    server = {s.name: s for s in instance.servers}
    device = instance.device.name

    # the choices each layer and each sent tensor may take (SPEC §7)
    for name in graph.names:
        c = choice[name]
        if c.bits not in instance.layer_bits(name):
            violations.append(f"layer {name!r} cannot take {c.bits} bits")
        if not any(math.isclose(c.pruning, r, abs_tol=1e-12) for r in instance.layer_pruning(name)):
            violations.append(f"layer {name!r} cannot take pruning {c.pruning:g}")

    latency = energy = device_energy = 0.0
    memory = {s.name: 0.0 for s in instance.servers}
    busy = {s.name: 0.0 for s in instance.servers}
    spent = {s.name: 0.0 for s in instance.servers}
    # compute (SPEC §7.1): tau = flops (1 - r) / (speed * speedup(b)), energy = power * tau
    for layer in graph.layers:
        c = choice[layer.name]
        k = server[c.server]
        tau = layer.flops * (1.0 - c.pruning) / (k.speed_flops * k.speedup_of(c.bits))
        latency += tau
        energy += k.power_w * tau
        busy[c.server] += tau
        spent[c.server] += k.power_w * tau
        if c.server == device:
            device_energy += k.power_w * tau
        # memory (SPEC §7.1): 4 * params * (b / 32) * (1 - r)
        memory[c.server] += BYTES_PER_PARAM * layer.params * (c.bits / 32) * (1.0 - c.pruning)

    # transfers (SPEC §7.1): once per distinct other server that needs the tensor
    sends: list[Send] = []
    sent: set[str] = set()
    outputs = set(graph.outputs)
    for tensor in [INPUT, *graph.names]:
        if tensor == INPUT:
            source, size, bits, ratio = device, graph.input_bytes, 32, plan.input_compression
        else:
            c = choice[tensor]
            source = c.server
            size = graph.layers[graph.index[tensor]].output_bytes
            bits, ratio = c.bits, c.compression
        targets: list[str] = []
        for consumer in graph.consumers[tensor]:
            where = choice[consumer].server
            if where != source and where not in targets:
                targets.append(where)
        if tensor in outputs and instance.return_output and device != source:
            if device not in targets:
                targets.append(device)
        if not targets:
            continue
        sent.add(tensor)
        if not any(math.isclose(ratio, x, abs_tol=1e-12) for x in instance.compression_choices):
            violations.append(f"tensor {tensor!r} is sent and cannot take compression {ratio:g}")
        payload = 8.0 * size * (bits / 32) * ratio  # bits = 8 * output_bytes * (b/32) * c
        for target in targets:
            link = instance.link_between(source, target)
            if link is None:
                violations.append(
                    f"tensor {tensor!r} must go from {source!r} to {target!r}, which have no link"
                )
                time_s = energy_j = math.inf
            else:
                time_s = payload / link_rate_bps(link) + link.latency_s
                energy_j = payload * link.energy_per_bit
            sends.append(Send(tensor, source, target, payload, time_s, energy_j))
            latency += time_s
            energy += energy_j
            if source == device:
                device_energy += energy_j

    drop = _accuracy_drop(instance, plan, choice, sent)

    for name, used in memory.items():
        cap = server[name].memory_bytes
        if cap is not None and used > cap * (1 + LIMIT_TOLERANCE):
            violations.append(f"memory on {name!r}: {used:.6g} B exceeds {cap:.6g} B")
    if drop > instance.max_drop * (1 + LIMIT_TOLERANCE) + DROP_TOLERANCE:
        violations.append(f"accuracy drop {drop:.6g} exceeds max_drop {instance.max_drop:.6g}")
    limit = instance.latency_limit_s
    if latency > limit * (1 + LIMIT_TOLERANCE):
        violations.append(f"latency {latency:.6g} s exceeds limits.latency_s {limit:.6g} s")
    limit = instance.device_energy_limit_j
    if device_energy > limit * (1 + LIMIT_TOLERANCE):
        violations.append(
            f"device energy {device_energy:.6g} J exceeds limits.device_energy_j {limit:.6g} J"
        )
    return InferenceEvaluation(
        not violations, latency, energy, device_energy, memory, drop, sends, violations, busy, spent
    )


def _accuracy_drop(
    instance: InferenceInstance,
    plan: InferencePlan,
    choice: dict[str, LayerChoice],
    sent: set[str],
) -> float:
    """SPEC §7.2: ``sum_t w_t [t active] + sum_(s,t) w_st [s and t active]``."""
    if instance.accuracy is None:
        return 0.0
    active: list[bool] = []
    for term in instance.accuracy.terms:
        if term.kind == "bits":
            assert term.layer is not None
            on = choice[term.layer].bits == term.bits
        elif term.kind == "pruning":
            assert term.layer is not None and term.pruning is not None
            on = math.isclose(choice[term.layer].pruning, term.pruning, abs_tol=1e-12)
        else:
            assert term.tensor is not None and term.compression is not None
            ratio = (
                plan.input_compression if term.tensor == INPUT else choice[term.tensor].compression
            )
            # a compression term counts only where its tensor is sent
            on = term.tensor in sent and math.isclose(ratio, term.compression, abs_tol=1e-12)
        active.append(on)
    drop = sum(t.drop for t, on in zip(instance.accuracy.terms, active, strict=True) if on)
    for inter in instance.accuracy.interactions:
        if active[inter.of[0]] and active[inter.of[1]]:
            drop += inter.drop
    return drop
