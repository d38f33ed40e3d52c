"""Serving a fine-tuned model: the inference problem of a ``jqodi-instance/1`` (SPEC §8) and the
JQODI paper's inference evaluation (Zhou et al. 2026, §V-C, Figs. 9–10).

:func:`serving_instance` builds the ``jqodi-inference/1`` instance of one model at one bit-width on
the fine-tuning instance's own hardware:

- servers: the device (tier ``device``), the chosen edge servers (``edge``) and, if asked, the
  cloud;
  ``power_w = energy_per_flop * speed_flops`` (SPEC §8);
- links: the device–edge links of §3.1 (their rate and energy per bit, no latency) and, with the
  cloud, the edge–cloud links (``cloud_rate_bps``, ``cloud_energy_per_bit``);
- the model: its blocks as a chain of layers, with the blocks' ``output_bytes`` and the model's
  ``input_bytes`` (both required here);
- every layer at the fine-tuned bit-width ``q``, activations too (§7.1's ``b_i / 32`` on tensors);
- the speed-up at ``q`` is ``1 / compute_scale(q)`` (default ``32 / q``): the same hardware runs a
  ``q``-bit forward pass at the rate the fine-tuning cost model (§1.1) already assumes. This is our
  choice; SPEC §8 says only "at its bit-width ``q``". With speed-up 1, quantization would save only
  traffic, and the paper's observation that the 6-bit JQODI plan infers faster than the 8-bit
  optimum (§V-C 3) could not hold on the device alone.

:func:`best_single_cut` enumerates the model's cuts (blocks ``1..j`` on the device, the rest on one
edge server, results returned to the device) and keeps the best by energy or latency: an exact
answer, by enumeration, costed by the independent :func:`evaluate_inference`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from jqodi_opt.finetune.costs import link_rate_bps as finetune_rate_bps
from jqodi_opt.finetune.instance import Instance
from jqodi_opt.graph import ModelGraph
from jqodi_opt.inference.evaluate import InferenceEvaluation, evaluate_inference
from jqodi_opt.inference.instance import InferenceInstance
from jqodi_opt.inference.plan import InferencePlan, LayerChoice
from jqodi_opt.inference.read import build_inference

CutObjective = Literal["energy", "latency"]


def serving_graph(instance: Instance, model: str) -> ModelGraph:
    """The model's blocks as a ``jqodi-model/1`` chain.

    Raises
    ------
    ValueError
        When the model has no ``input_bytes`` or a block has no ``output_bytes``.
    """
    spec = instance.models[instance.model_index(model)]
    missing = [b.name for b in spec.blocks if b.output_bytes is None]
    if spec.input_bytes is None or missing:
        what = "input_bytes" if spec.input_bytes is None else f"output_bytes of {missing[0]!r}"
        raise ValueError(f"model {model!r} has no {what}: inference needs the tensor sizes")
    layers = [
        {"name": b.name, "flops": b.flops, "params": int(b.params), "output_bytes": b.output_bytes}
        for b in spec.blocks
    ]
    return ModelGraph.model_validate(
        {"name": model, "input_bytes": spec.input_bytes, "layers": layers}
    )


def serving_instance(
    instance: Instance,
    model: str,
    bits: int,
    edge_servers: Sequence[str] | None = None,
    include_cloud: bool = False,
    return_output: bool = True,
) -> InferenceInstance:
    """The ``jqodi-inference/1`` instance of ``model`` at ``bits`` on ``instance``'s hardware.

    Parameters
    ----------
    instance
        A fine-tuning instance whose model has block ``output_bytes`` and ``input_bytes``.
    model, bits
        The fine-tuned model and its bit-width (must be one of the instance's bit-widths).
    edge_servers
        Which edge servers to include (default: every one with a link to the device).
    include_cloud
        Add the cloud server, linked to each included edge server.
    return_output
        Whether the result goes back to the device.
    """
    bitwidth = next((b for b in instance.bitwidths if b.bits == bits), None)
    if bitwidth is None:
        raise ValueError(f"bit-width {bits} is not in the instance")
    speedup = {str(bits): 1.0 / bitwidth.scale}  # q-bit forward pass: compute_scale(q) of §1.1
    device = instance.device
    servers: list[dict[str, Any]] = [
        {
            "name": device.name,
            "tier": "device",
            "speed_flops": device.speed_flops,
            "power_w": device.energy_per_flop * device.speed_flops,
            "speedup": speedup,
        }
    ]
    links: list[dict[str, Any]] = []
    names = (
        [e.name for e in instance.edge_servers if instance.link_of(e.name) is not None]
        if edge_servers is None
        else list(edge_servers)
    )
    for name in names:
        edge = instance.edge_servers[instance.edge_server_index(name)]
        link = instance.link_of(name)
        if link is None:
            raise ValueError(f"edge server {name!r} has no link to the device")
        servers.append(
            {
                "name": edge.name,
                "tier": "edge",
                "speed_flops": edge.speed_flops,
                "power_w": edge.energy_per_flop * edge.speed_flops,
                "speedup": speedup,
            }
        )
        links.append(
            {
                "between": [device.name, edge.name],
                "rate_bps": finetune_rate_bps(link),
                "energy_per_bit": link.energy_per_bit,
            }
        )
    if include_cloud:
        cloud = instance.cloud
        servers.append(
            {
                "name": "cloud",
                "tier": "cloud",
                "speed_flops": cloud.speed_flops,
                "power_w": cloud.energy_per_flop * cloud.speed_flops,
                "speedup": speedup,
            }
        )
        for name in names:
            edge = instance.edge_servers[instance.edge_server_index(name)]
            links.append(
                {
                    "between": [edge.name, "cloud"],
                    "rate_bps": edge.cloud_rate_bps,
                    "energy_per_bit": edge.cloud_energy_per_bit,
                }
            )
    graph = serving_graph(instance, model)
    document = {
        "format": "jqodi-inference/1",
        "name": f"{instance.name}:{model}@{bits}",
        "servers": servers,
        "links": links,
        "model": graph.to_dict(),
        "quantization": {"bits": [bits]},
        "return_output": return_output,
    }
    return build_inference(document, source=f"<serving {model}@{bits}>")


def cut_plan(serving: InferenceInstance, cut: int, edge_server: str | None) -> InferencePlan:
    """Blocks ``1..cut`` on the device, the rest on ``edge_server`` (None: all on the device)."""
    bits = serving.bit_choices[0]
    device = serving.device.name
    names = serving.graph.names
    if edge_server is None and cut != len(names):
        raise ValueError("without an edge server every block runs on the device")
    return InferencePlan(
        layers=[
            LayerChoice(layer=name, server=device if i < cut else str(edge_server), bits=bits)
            for i, name in enumerate(names)
        ]
    )


@dataclass(frozen=True)
class CutChoice:
    """The best single cut for one setting.

    Attributes
    ----------
    setting
        ``device`` alone, or ``device+EDGE``.
    edge_server
        The edge server (None for the device alone).
    cut
        Blocks ``1..cut`` run on the device.
    evaluation
        The independent evaluation of that plan.
    device, num_blocks
        The device's name and the model's number of blocks ``n``.
    """

    setting: str
    edge_server: str | None
    cut: int
    evaluation: InferenceEvaluation
    device: str
    num_blocks: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping: latency and energy split by where they are spent."""
        e = self.evaluation
        used = {self.device: self.cut > 0}
        if self.edge_server is not None:
            used[self.edge_server] = self.cut < self.num_blocks
        return {
            "setting": self.setting,
            "edge_server": self.edge_server,
            "cut": self.cut,
            "latency_s": e.latency_s,
            "energy_j": e.energy_j,
            "device_energy_j": e.device_energy_j,
            # compute per server that runs at least one block (Fig. 10's split)
            "compute_time_s": {k: v for k, v in e.compute_time_s.items() if used.get(k)},
            "compute_energy_j": {k: v for k, v in e.compute_energy_j.items() if used.get(k)},
            "transfer_time_s": e.transfer_time_s,
            "transfer_energy_j": e.transfer_energy_j,
        }


def best_single_cut(
    serving: InferenceInstance,
    edge_server: str | None,
    objective: CutObjective = "energy",
    split: bool = False,
) -> CutChoice:
    """The best cut between the device and ``edge_server`` (None: the device alone), exactly.

    Every cut ``0..n`` is evaluated (with ``split``: only ``1..n-1``, so both sides run at least
    one block — the paper's "shallow layers on the device, deep layers on the server"); the least
    ``objective`` wins, ties broken by the other quantity and then by the larger cut.
    """
    n = len(serving.graph.names)
    if edge_server is None:
        cuts: Sequence[int] = [n]
    else:
        cuts = range(1, n) if split else range(n + 1)
    if not cuts:
        raise ValueError("a one-block model cannot be split")
    scored = []
    for cut in cuts:
        check = evaluate_inference(serving, cut_plan(serving, cut, edge_server))
        primary = check.energy_j if objective == "energy" else check.latency_s
        secondary = check.latency_s if objective == "energy" else check.energy_j
        scored.append((primary, secondary, -cut, cut, check))
    _, _, _, cut, check = min(scored, key=lambda x: x[:3])
    setting = "device" if edge_server is None else f"device+{edge_server}"
    label = setting + (" split" if split else "")
    return CutChoice(label, edge_server, cut, check, serving.device.name, n)


def inference_settings(
    instance: Instance, model: str, bits: int, objective: CutObjective = "energy"
) -> list[CutChoice]:
    """The paper's Fig. 9 settings for one (model, bits): the device alone, then for each linked
    edge server the best single cut over ``0..n`` and the best split over ``1..n-1``."""
    serving = serving_instance(instance, model, bits)
    choices = [best_single_cut(serving, None, objective)]
    for server in serving.servers:
        if server.tier == "edge":
            choices.append(best_single_cut(serving, server.name, objective))
            if len(serving.graph.names) > 1:
                choices.append(best_single_cut(serving, server.name, objective, split=True))
    return choices


@dataclass(frozen=True)
class StrategyInference:
    """One fine-tuning strategy's model served in one setting (a row of the paper's Fig. 9).

    Attributes
    ----------
    strategy
        The strategy's label (e.g. ``Optimum``, ``JQODI``).
    model, bits
        The model it fine-tuned and its bit-width.
    within_limit
        False when the strategy has no plan within ``T_max`` and its least-energy plan without
        the limit stands in (as the paper draws *Full Model*).
    least_energy, least_latency
        The setting's best single cut under each criterion.
    """

    strategy: str
    model: str
    bits: int
    within_limit: bool
    least_energy: CutChoice
    least_latency: CutChoice

    @property
    def setting(self) -> str:
        """``device``, ``device+EDGE`` or ``device+EDGE split``."""
        return self.least_energy.setting

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (one entry of ``jqodi compare --inference --json``)."""
        return {
            "strategy": self.strategy,
            "model": self.model,
            "bits": self.bits,
            "within_limit": self.within_limit,
            "setting": self.setting,
            "least_energy": self.least_energy.to_dict(),
            "least_latency": self.least_latency.to_dict(),
        }


def strategies_inference(
    instance: Instance, strategies: Sequence[tuple[str, str, int, bool]]
) -> list[StrategyInference]:
    """Fig. 9 of the paper for each ``(label, model, bits, within_limit)``: every setting of
    :func:`inference_settings`, under the least-energy and the least-latency cut."""
    rows: list[StrategyInference] = []
    for label, model, bits, within in strategies:
        by_energy = inference_settings(instance, model, bits, "energy")
        by_latency = inference_settings(instance, model, bits, "latency")
        for e, t in zip(by_energy, by_latency, strict=True):
            rows.append(StrategyInference(label, model, bits, within, e, t))
    return rows
