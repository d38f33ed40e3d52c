"""Run a plan against a learning curve — by default the real one, the learning entry's ``truth``.

A plan is made with an estimator (robust by default): it runs ``K`` epochs because the estimator
says the loss is below ``L_max`` after ``K``. The real curve may need more epochs or fewer.
:func:`simulate` runs epochs until the real loss is below ``L_max``: the plan's epochs in order,
repeating its last ``(edge server, cut)`` if the plan runs out, stopping early when the target is
reached before the plan ends. It reports the realised energy, time and loss, and whether the target
and the time limit were met.

The curve of the ``truth`` entry has the shape of an estimator (SPEC §3.1):

- ``epochs`` form: ``truth`` is the real ``K``; the target is reached after exactly ``K`` epochs.
  There is no loss curve, so for display the loss is drawn as a straight line from ``L0`` to
  ``L_max`` (as :func:`jqodi_opt.finetune.learning.loss_trajectory` does) and counts as just below
  ``L_max``
  at ``K``. Only ``K`` decides when the target is met; the line is a drawing (it even rises when
  ``L0`` is below ``L_max``, which the paper's Table VI has for ResNet20 without a ``gamma``).
- ``power_law`` form: ``truth`` is ``{floor, exponent}``; the loss after epoch ``k`` is
  ``floor + (L0 - floor) * (k + 1) ** -exponent`` with ``L0 = loss_a + gamma``. The format has no
  real ``gamma``; the **expected** one is used (the estimators' unbiased guess of the quantization
  jump, while the robust one is a pessimistic bound; ``gamma=`` chooses). If the real curve never
  gets below ``L_max`` (its floor is too high, or it needs more than ``max_epochs``), the plan's own
  epochs are run and the target is reported as missed.

Costs are recomputed from the instance with :func:`jqodi_opt.finetune.evaluate.epoch_cost`, the
same plain
per-epoch formulas the independent check uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from jqodi_opt.exceptions import SimulationError
from jqodi_opt.finetune.evaluate import epoch_cost, evaluate
from jqodi_opt.finetune.instance import Instance, PowerLaw
from jqodi_opt.finetune.learning import Estimator, power_law_epochs, power_law_loss
from jqodi_opt.finetune.plan import Plan
from jqodi_opt.finetune.problem import TIME_TOLERANCE

__all__ = ["Simulation", "SimulationError", "has_truth", "simulate"]

Curve = Literal["truth", "expected", "robust"]


@dataclass(frozen=True)
class Simulation:
    """What running a plan against a learning curve gives.

    Attributes
    ----------
    model, bits
        The plan's candidate.
    curve
        ``truth``, or the estimator simulated against.
    epochs_planned
        Epochs in the plan.
    epochs_needed
        Epochs the curve needs to get the loss below ``L_max`` (None: never).
    epochs_run
        Epochs simulated: ``epochs_needed``, or the plan's epochs when the curve never reaches the
        target.
    energy_j, time_s, final_loss
        Realised totals (quantization included) and the loss after the last epoch run.
    planned_energy_j, planned_time_s
        The plan's own totals, recomputed by ``evaluate``.
    target_met
        The loss got below ``L_max``.
    time_limit_met
        ``time_s <= T_max`` (with the tolerance of SPEC §1.3).
    time_limit_s, loss_limit
        ``T_max`` and ``L_max``.
    cumulative_time_s, cumulative_energy_j, loss
        Per epoch ``k = 0..epochs_run``: elapsed time, energy so far and loss after epoch ``k``
        (index 0: after quantization, before any epoch).
    epoch_options
        ``(edge server, cut)`` of every epoch run.
    notes
        What happened, in words (extra epochs, early stop, unreachable target).
    """

    instance: str
    model: str
    bits: int
    curve: Curve
    epochs_planned: int
    epochs_needed: int | None
    epochs_run: int
    energy_j: float
    time_s: float
    final_loss: float
    planned_energy_j: float
    planned_time_s: float
    target_met: bool
    time_limit_met: bool
    time_limit_s: float
    loss_limit: float
    cumulative_time_s: np.ndarray = field(repr=False)
    cumulative_energy_j: np.ndarray = field(repr=False)
    loss: np.ndarray = field(repr=False)
    epoch_options: list[tuple[str, int]] = field(repr=False)
    notes: list[str] = field(default_factory=list)

    @property
    def extra_epochs(self) -> int:
        """Epochs run beyond the plan (its last option repeated)."""
        return max(0, self.epochs_run - self.epochs_planned)

    @property
    def unused_epochs(self) -> int:
        """Planned epochs not run because the target was reached earlier."""
        return max(0, self.epochs_planned - self.epochs_run)

    def to_dict(self, trajectory: bool = False) -> dict[str, Any]:
        """JSON-ready mapping (``jqodi simulate --json``); per-epoch arrays with ``trajectory``."""
        doc: dict[str, Any] = {
            "instance": self.instance,
            "model": self.model,
            "bits": self.bits,
            "curve": self.curve,
            "epochs_planned": self.epochs_planned,
            "epochs_needed": self.epochs_needed,
            "epochs_run": self.epochs_run,
            "extra_epochs": self.extra_epochs,
            "unused_epochs": self.unused_epochs,
            "energy_j": self.energy_j,
            "time_s": self.time_s,
            "final_loss": self.final_loss,
            "planned_energy_j": self.planned_energy_j,
            "planned_time_s": self.planned_time_s,
            "target_met": self.target_met,
            "time_limit_met": self.time_limit_met,
            "time_limit_s": self.time_limit_s,
            "loss_limit": self.loss_limit,
            "notes": list(self.notes),
        }
        if trajectory:
            doc["cumulative_time_s"] = self.cumulative_time_s.tolist()
            doc["cumulative_energy_j"] = self.cumulative_energy_j.tolist()
            doc["loss"] = self.loss.tolist()
        return doc


def _curve_losses(
    instance: Instance, plan: Plan, curve: Curve, gamma: Estimator
) -> tuple[int | None, Any]:
    """``(K, loss_of)``: epochs the curve needs (None: never) and the loss after epochs ``k``."""
    entry = instance.learning_of(plan.model, plan.bits)
    name = f"{plan.model}@{plan.bits}"
    if entry is None or entry.infeasible or entry.form is None:
        raise SimulationError(f"{name} has no usable learning entry to simulate against.")
    target = instance.limits.loss
    model_loss = instance.models[instance.model_index(plan.model)].loss
    start = model_loss + entry.gamma_of(gamma if curve == "truth" else curve)
    if curve == "truth" and entry.truth is None:
        index = instance.learning.index(entry)
        raise SimulationError(
            f"{name} has no truth curve (learning[{index}].truth); add one to simulate the plan."
        )
    if entry.form == "epochs":
        assert entry.epochs is not None
        needed = int(entry.truth) if curve == "truth" else int(getattr(entry.epochs, curve))

        def linear(k: np.ndarray) -> np.ndarray:
            losses = start + (target - start) * np.minimum(k / needed, 1.0)
            return np.where(k >= needed, np.nextafter(target, 0.0), losses)

        return needed, linear
    assert entry.power_law is not None
    law = (
        PowerLaw.model_validate(entry.truth)
        if curve == "truth"
        else getattr(entry.power_law, curve)
    )
    needed_or_none = power_law_epochs(start, law, target, instance.max_epochs)

    def power(k: np.ndarray) -> np.ndarray:
        losses = power_law_loss(start, law, k)
        return np.where(k == 0, start, losses)

    return needed_or_none, power


def simulate(
    instance: Instance, plan: Plan, curve: Curve = "truth", gamma: Estimator = "expected"
) -> Simulation:
    """Runs ``plan`` against a learning curve (see the module docstring).

    Parameters
    ----------
    instance
        The validated instance.
    plan
        The plan to run; only its model, bits and schedule are used.
    curve
        ``"truth"`` (default: the learning entry's real curve) or an estimator, ``"expected"`` or
        ``"robust"`` (the curve a plan was made with: what the planner expected to happen).
    gamma
        Which estimator's quantization jump ``gamma`` starts the real curve (power-law form).

    Raises
    ------
    SimulationError
        When the pair has no truth curve (for ``curve="truth"``) or the plan names a model,
        bit-width, edge server or cut the instance does not offer.
    """
    if curve not in ("truth", "expected", "robust"):
        raise SimulationError(f"curve {curve!r} not understood (truth, expected or robust).")
    if plan.num_epochs > instance.max_epochs:  # before anything is expanded epoch by epoch
        raise SimulationError(
            f"the plan has {plan.num_epochs:,} epochs, more than max_epochs "
            f"{instance.max_epochs:,} of {instance.name}"
        )
    check = evaluate(instance, plan)
    if math.isnan(check.energy_j):
        raise SimulationError("cannot run the plan: " + "; ".join(check.violations))
    needed, loss_of = _curve_losses(instance, plan, curve, gamma)
    planned = plan.epoch_options()
    notes: list[str] = []
    run = needed if needed is not None else len(planned)
    if needed is None:
        notes.append(f"the {curve} curve never gets below L_max {instance.limits.loss:g}")
    elif needed > len(planned):
        last = planned[-1]
        notes.append(
            f"the plan runs out after {len(planned)} epochs; {needed - len(planned)} more of "
            f"{last[0]}/cut{last[1]} to reach the target"
        )
    elif needed < len(planned):
        notes.append(f"target reached after {needed} of {len(planned)} planned epochs")
    options = [planned[min(k, len(planned) - 1)] for k in range(run)]

    costs: dict[tuple[str, int], tuple[float, float]] = {}
    times = np.empty(run)
    energies = np.empty(run)
    for k, (server, cut) in enumerate(options):
        if (server, cut) not in costs:
            costs[server, cut] = epoch_cost(instance, plan.model, plan.bits, server, cut)
        times[k], energies[k] = costs[server, cut]
    model = instance.models[instance.model_index(plan.model)]
    quantized = plan.bits != 32
    tau = model.quantize_work_flops / instance.cloud.speed_flops if quantized else 0.0
    quantize_energy = (
        model.quantize_work_flops * instance.cloud.energy_per_flop if quantized else 0.0
    )
    cumulative_time = tau + np.concatenate([[0.0], np.cumsum(times)])
    cumulative_energy = quantize_energy + np.concatenate([[0.0], np.cumsum(energies)])
    loss = np.asarray(loss_of(np.arange(run + 1)), dtype=float)
    limit = instance.limits.time_s
    time_s = float(cumulative_time[-1])
    time_met = time_s <= limit * (1 + TIME_TOLERANCE)
    if not time_met:
        notes.append(f"time {time_s:.6g} s exceeds T_max {limit:.6g} s")
    return Simulation(
        instance=instance.name,
        model=plan.model,
        bits=plan.bits,
        curve=curve,
        epochs_planned=len(planned),
        epochs_needed=needed,
        epochs_run=run,
        energy_j=float(cumulative_energy[-1]),
        time_s=time_s,
        final_loss=float(loss[-1]),
        planned_energy_j=check.energy_j,
        planned_time_s=check.time_s,
        target_met=needed is not None,
        time_limit_met=time_met,
        time_limit_s=limit,
        loss_limit=instance.limits.loss,
        cumulative_time_s=cumulative_time,
        cumulative_energy_j=cumulative_energy,
        loss=loss,
        epoch_options=options,
        notes=notes,
    )


def has_truth(instance: Instance, model: str, bits: int) -> bool:
    """True when (``model``, ``bits``) has a learning entry with a ``truth`` curve."""
    entry = instance.learning_of(model, bits)
    return entry is not None and entry.truth is not None
