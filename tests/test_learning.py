"""Epochs to the loss target (SPEC §1.2, paper eqs. 11–12)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jqodi_opt import learning_outcome
from jqodi_opt.finetune.instance import PowerLaw
from jqodi_opt.finetune.learning import loss_trajectory, power_law_epochs, power_law_loss
from jqodi_opt.read import build_instance, instance_to_dict


def test_power_law_epochs_by_hand(tiny) -> None:
    # m1@4 robust: L0 = 0.0186 + 0.005 = 0.0236, floor 0.011, exponent 0.55, target 0.0186.
    # L(1) = 0.011 + 0.0126 * 2^-0.55 = 0.011 + 0.0126 * 0.68302 = 0.019606  >= 0.0186
    # L(2) = 0.011 + 0.0126 * 3^-0.55 = 0.011 + 0.0126 * 0.54646 = 0.017885  <  0.0186  -> K = 2
    robust = learning_outcome(tiny, "m1", 4, "robust")
    assert robust.epochs == 2
    assert robust.start_loss == pytest.approx(0.0236)
    assert robust.final_loss == pytest.approx(0.011 + 0.0126 * 3**-0.55)
    # m1@4 expected: L0 = 0.0226, floor 0.010, exponent 0.6.
    # L(1) = 0.010 + 0.0126 * 2^-0.6 = 0.010 + 0.0126 * 0.65975 = 0.018313 < 0.0186  -> K = 1
    assert learning_outcome(tiny, "m1", 4, "expected").epochs == 1


def test_epochs_form_gives_k_directly(tiny) -> None:
    assert learning_outcome(tiny, "m1", 8, "robust").epochs == 29
    assert learning_outcome(tiny, "m1", 8, "expected").epochs == 26
    # The final loss counts as just below the target, in both estimators (risk factor 1).
    outcome = learning_outcome(tiny, "m1", 8, "robust")
    assert outcome.final_loss is not None and outcome.final_loss < 0.0186
    assert outcome.final_loss == pytest.approx(0.0186)


def test_infeasible_and_missing_entries(tiny) -> None:
    assert learning_outcome(tiny, "m1", 32).reason == "marked infeasible (gamma = inf)"
    doc = instance_to_dict(tiny)
    doc["learning"] = doc["learning"][:2]
    assert learning_outcome(build_instance(doc), "m1", 32).reason == "no learning entry"


def test_floor_at_or_above_target_is_unreachable() -> None:
    curve = PowerLaw(floor=0.02, exponent=0.5)
    assert power_law_epochs(0.05, curve, loss_target=0.02, max_epochs=10_000) is None


def test_max_epochs_bounds_the_search() -> None:
    # L0 = 0.0236, floor 0.0185, exponent 0.1, target 0.0186:
    # (k+1)^-0.1 < 0.0001 / 0.0051 = 0.019608  <=>  k + 1 > 0.019608^-10 = 8.4e16  -> unreachable.
    curve = PowerLaw(floor=0.0185, exponent=0.1)
    assert power_law_epochs(0.0236, curve, 0.0186, max_epochs=10_000) is None
    # With exponent 1: k + 1 > 51  ->  K = 51, allowed by max_epochs 51 but not by 50.
    curve = PowerLaw(floor=0.0185, exponent=1.0)
    assert power_law_epochs(0.0236, curve, 0.0186, max_epochs=51) == 51
    assert power_law_epochs(0.0236, curve, 0.0186, max_epochs=50) is None


def test_exact_boundary_is_not_below_target() -> None:
    # floor 0, exponent 1, L0 = 1, target 0.25: L(3) = 1/4 is not < 0.25, L(4) = 1/5 is.
    curve = PowerLaw(floor=0.0, exponent=1.0)
    assert power_law_epochs(1.0, curve, 0.25, max_epochs=100) == 4


@given(
    start=st.floats(0.011, 1.0),
    floor=st.floats(0.0, 0.0099),
    exponent=st.floats(0.05, 3.0),
)
def test_closed_form_matches_a_plain_search(start: float, floor: float, exponent: float) -> None:
    curve = PowerLaw(floor=floor, exponent=exponent)
    target, cap = 0.01, 5_000
    losses = power_law_loss(start, curve, np.arange(1, cap + 1))
    below = np.flatnonzero(losses < target)
    expected = int(below[0]) + 1 if below.size else None
    assert power_law_epochs(start, curve, target, max_epochs=cap) == expected


def test_trajectory_starts_at_l0_and_ends_below_target(tiny) -> None:
    losses = loss_trajectory(tiny, "m1", 4, epochs=2)
    assert losses[0] == pytest.approx(0.0236)
    assert losses[-1] < 0.0186 <= losses[-2]
    linear = loss_trajectory(tiny, "m1", 8, epochs=29)
    assert linear[0] == pytest.approx(0.0186 + 0.0012)
    assert linear[-1] == pytest.approx(0.0186)
