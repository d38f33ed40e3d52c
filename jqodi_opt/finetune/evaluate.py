"""Independent check of a plan against the instance alone (SPEC §3.2).

No number in the plan is trusted: energy, time and final loss are recomputed from the instance
with a plain per-epoch loop over paper eqs. (1)–(10), written out here on purpose, apart from
the vectorised :mod:`jqodi_opt.finetune.costs` that the solvers use: no solver grades its own
homework.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from jqodi_opt.finetune.costs import link_rate_bps
from jqodi_opt.finetune.instance import Instance
from jqodi_opt.finetune.learning import Estimator, learning_outcome
from jqodi_opt.finetune.plan import Plan
from jqodi_opt.finetune.problem import TIME_TOLERANCE


@dataclass(frozen=True)
class Evaluation:
    """What a plan really costs and whether it is feasible.

    Attributes
    ----------
    feasible
        True when there are no violations.
    energy_j, time_s
        Total energy and time, quantization included (nan when the plan cannot be costed).
    final_loss
        Loss after the plan's epochs under the estimator (nan when unknown).
    violations
        One sentence per violated rule.
    """

    feasible: bool
    energy_j: float
    time_s: float
    final_loss: float
    violations: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready mapping (``jqodi evaluate --json``)."""
        return {
            "feasible": self.feasible,
            "energy_j": None if math.isnan(self.energy_j) else self.energy_j,
            "time_s": None if math.isnan(self.time_s) else self.time_s,
            "final_loss": None if math.isnan(self.final_loss) else self.final_loss,
            "violations": list(self.violations),
        }


def epoch_cost(
    instance: Instance, model_name: str, bits: int, edge_server: str, cut: int
) -> tuple[float, float]:
    """``(t, e)`` of one epoch: paper eqs. (7)–(10), one block at a time."""
    model = instance.models[instance.model_index(model_name)]
    bitwidth = next(b for b in instance.bitwidths if b.bits == bits)
    server = instance.edge_servers[instance.edge_server_index(edge_server)]
    link = instance.link_of(edge_server)
    assert link is not None
    cloud, device = instance.cloud, instance.device
    device_flop = server_flop = all_bits = shallow_bits = 0.0
    for i, block in enumerate(model.blocks, start=1):
        work = device.train_samples * instance.training_factor * block.flops * bitwidth.scale
        size = block.params * bits
        all_bits += size
        if i <= cut:
            device_flop += work
            shallow_bits += size
        else:
            server_flop += work
    rate = link_rate_bps(link)
    time = (
        device_flop / device.speed_flops
        + server_flop / server.speed_flops
        + model.cloud_flops / cloud.speed_flops
        + 2 * all_bits / server.cloud_rate_bps
        + 2 * shallow_bits / rate
    )
    energy = (
        device_flop * device.energy_per_flop
        + server_flop * server.energy_per_flop
        + model.cloud_flops * cloud.energy_per_flop
        + 2 * all_bits * server.cloud_energy_per_bit
        + 2 * shallow_bits * link.energy_per_bit
    )
    return time, energy


def evaluate(instance: Instance, plan: Plan, estimator: Estimator | None = None) -> Evaluation:
    """Recomputes a plan's energy, time and final loss; lists every violated rule.

    Parameters
    ----------
    instance
        The validated instance the plan is for.
    plan
        The plan to check; its own numbers are ignored.
    estimator
        Learning estimator that fixes the required epoch count (default: the plan's own).
    """
    estimator = estimator or plan.estimator
    nan = math.nan
    violations: list[str] = []
    model_names = [m.name for m in instance.models]
    if plan.model not in model_names:
        return Evaluation(False, nan, nan, nan, [f"unknown model {plan.model!r}"])
    model = instance.models[model_names.index(plan.model)]
    if plan.bits not in [b.bits for b in instance.bitwidths]:
        return Evaluation(False, nan, nan, nan, [f"bit-width {plan.bits} is not in the instance"])

    server_names = [e.name for e in instance.edge_servers]
    for i, entry in enumerate(plan.schedule):
        where = f"schedule[{i}]"
        if entry.edge_server not in server_names:
            violations.append(f"{where}: unknown edge server {entry.edge_server!r}")
        elif instance.link_of(entry.edge_server) is None:
            violations.append(
                f"{where}: edge server {entry.edge_server!r} has no link to the device"
            )
        if entry.cut not in model.cut_points:
            violations.append(
                f"{where}: cut {entry.cut} is not offered by {model.name} (cuts {model.cut_points})"
            )
    if violations:
        return Evaluation(False, nan, nan, nan, violations)

    outcome = learning_outcome(instance, plan.model, plan.bits, estimator)
    quantized = plan.bits != 32
    time = model.quantize_work_flops / instance.cloud.speed_flops if quantized else 0.0
    energy = model.quantize_work_flops * instance.cloud.energy_per_flop if quantized else 0.0
    for entry in plan.schedule:
        t, e = epoch_cost(instance, plan.model, plan.bits, entry.edge_server, entry.cut)
        time += entry.epochs * t
        energy += entry.epochs * e

    if outcome.epochs is None:
        violations.append(
            f"{plan.model}@{plan.bits} cannot reach the loss target: {outcome.reason}"
        )
        final_loss = nan
    else:
        final_loss = outcome.final_loss if outcome.final_loss is not None else nan
        if plan.num_epochs != outcome.epochs:
            violations.append(
                f"schedule has {plan.num_epochs} epochs; {plan.model}@{plan.bits} needs exactly "
                f"{outcome.epochs} to reach loss {instance.limits.loss:g} ({estimator} estimator)"
            )
    limit = instance.limits.time_s
    if time > limit * (1 + TIME_TOLERANCE):
        violations.append(f"time {time:.6g} s exceeds T_max {limit:.6g} s")
    return Evaluation(not violations, energy, time, final_loss, violations)
