"""How many epochs a (model, bit-width) pair needs to reach the loss target (SPEC §1.2).

Paper eqs. (11)–(12): the starting loss is ``L0 = loss_a + gamma(a, q)``; each epoch lowers it. Two
curve forms: ``epochs`` (K given directly, as the paper's Tables VI–VII) and ``power_law``.
Partitioning does not change the loss trajectory (paper §II), so the outcome depends only on
(model, bits, estimator).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from jqodi_opt.finetune.instance import Instance, PowerLaw

Estimator = Literal["expected", "robust"]
ESTIMATORS: tuple[Estimator, ...] = ("expected", "robust")


@dataclass(frozen=True)
class LearningOutcome:
    """What fine-tuning one (model, bits) pair does under one estimator.

    Attributes
    ----------
    epochs
        ``K``: epochs needed to get the loss below the target; None when it cannot be reached.
    start_loss
        ``L0 = loss_a + gamma`` (eq. 12 before any epoch).
    final_loss
        Loss after ``K`` epochs (None when unreachable). In the ``epochs`` form it counts as just
        below the target, so the JQODI risk factor is 1.
    reason
        Why the pair cannot be chosen, or None when it can.
    """

    model: str
    bits: int
    estimator: Estimator
    epochs: int | None
    start_loss: float
    final_loss: float | None
    reason: str | None

    @property
    def reachable(self) -> bool:
        """True when the target can be reached."""
        return self.epochs is not None


def power_law_loss(start_loss: float, curve: PowerLaw, epochs: np.ndarray) -> np.ndarray:
    """``L(k) = floor + (L0 - floor) * (k + 1) ** -exponent`` for each ``k`` in ``epochs``."""
    k = np.asarray(epochs, dtype=float)
    return curve.floor + (start_loss - curve.floor) * (k + 1.0) ** (-curve.exponent)


def power_law_epochs(
    start_loss: float, curve: PowerLaw, loss_target: float, max_epochs: int
) -> int | None:
    """``K = min{k >= 1 : L(k) < loss_target}``; None if the floor is too high or K > max_epochs.

    Solved in closed form, ``(k + 1)^-e < (L_max - floor) / (L0 - floor)``, then checked against
    the curve itself so that floating-point rounding cannot move ``K`` by one.
    """
    if curve.floor >= loss_target:
        return None

    def loss(k: int) -> float:
        return float(power_law_loss(start_loss, curve, np.array([k]))[0])

    span = start_loss - curve.floor
    ratio = (loss_target - curve.floor) / span if span > 0 else math.inf
    if ratio > 1.0:
        return 1  # already below the target after one epoch (or the curve never rises above floor)
    log_bound = -math.log(ratio) / curve.exponent  # log of ratio^(-1/e)
    if log_bound > math.log(max_epochs + 2.0):
        return None
    k = max(1, math.floor(math.exp(log_bound)))
    while k > 1 and loss(k - 1) < loss_target:
        k -= 1
    while loss(k) >= loss_target:
        k += 1
    return k if k <= max_epochs else None


def learning_outcome(
    instance: Instance, model: str, bits: int, estimator: Estimator = "robust"
) -> LearningOutcome:
    """Epochs, starting loss and final loss of (``model``, ``bits``) under ``estimator``."""
    target = instance.limits.loss
    model_loss = instance.models[instance.model_index(model)].loss
    entry = instance.learning_of(model, bits)

    def excluded(start: float, reason: str) -> LearningOutcome:
        return LearningOutcome(model, bits, estimator, None, start, None, reason)

    if entry is None:
        return excluded(model_loss, "no learning entry")
    start = model_loss + entry.gamma_of(estimator)
    if entry.infeasible:
        return excluded(math.inf, "marked infeasible (gamma = inf)")
    if entry.epochs is not None:
        epochs = int(getattr(entry.epochs, estimator))
        if epochs > instance.max_epochs:
            return excluded(start, f"needs {epochs} epochs > max_epochs {instance.max_epochs}")
        final = float(np.nextafter(target, 0.0))
        return LearningOutcome(model, bits, estimator, epochs, start, final, None)
    assert entry.power_law is not None
    curve: PowerLaw = getattr(entry.power_law, estimator)
    if curve.floor >= target:
        return excluded(start, f"loss floor {curve.floor:g} >= target {target:g} ({estimator})")
    k = power_law_epochs(start, curve, target, instance.max_epochs)
    if k is None:
        return excluded(
            start, f"needs more than max_epochs {instance.max_epochs} epochs ({estimator})"
        )
    final = float(power_law_loss(start, curve, np.array([k]))[0])
    return LearningOutcome(model, bits, estimator, k, start, final, None)


def loss_trajectory(
    instance: Instance, model: str, bits: int, epochs: int, estimator: Estimator = "robust"
) -> np.ndarray:
    """Loss after each of epochs ``0..epochs`` (index 0 is the starting loss ``L0``).

    For the ``power_law`` form this is the curve itself. The ``epochs`` form gives no curve, only
    ``K``; for display the loss is drawn as a straight line from ``L0`` to the target at ``K``.
    """
    entry = instance.learning_of(model, bits)
    if entry is None or entry.infeasible:
        raise ValueError(f"({model}, {bits}) has no usable learning entry")
    outcome = learning_outcome(instance, model, bits, estimator)
    k = np.arange(epochs + 1)
    if entry.power_law is not None:
        curve: PowerLaw = getattr(entry.power_law, estimator)
        losses = power_law_loss(outcome.start_loss, curve, k)
        losses[0] = outcome.start_loss
        return losses
    total = outcome.epochs or 1
    target = instance.limits.loss
    return outcome.start_loss + (target - outcome.start_loss) * np.minimum(k / total, 1.0)
