"""Per-epoch time and energy (SPEC §1.1, paper eqs. 1–10), checked against hand computation."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings

from jqodi_opt import cost_table, model_costs
from jqodi_opt.finetune.costs import link_rate_bps
from jqodi_opt.finetune.evaluate import epoch_cost
from jqodi_opt.read import build_instance

from .strategies import small_instances

# Two blocks with round numbers, so every term below can be checked with pencil and paper.
HAND = {
    "format": "jqodi-instance/1",
    "name": "hand",
    "training_factor": 1.0,
    "cloud": {"speed_flops": 1e12, "energy_per_flop": 1e-11},
    "edge_servers": [
        {"name": "es", "speed_flops": 1e10, "energy_per_flop": 1e-10,
         "cloud_rate_bps": 1e8, "cloud_energy_per_bit": 1e-8}
    ],
    "device": {"name": "sd", "speed_flops": 1e9, "energy_per_flop": 1e-9, "train_samples": 1000},
    "links": [{"edge_server": "es", "rate_bps": 1e6, "energy_per_bit": 1e-7}],
    "bitwidths": [{"bits": 8}, {"bits": 32}],
    "models": [
        {"name": "m", "loss": 0.01, "cloud_flops": 1e9, "quantize_flops": 2e9,
         "blocks": [{"name": "b1", "flops": 1e6, "params": 1000},
                    {"name": "b2", "flops": 4e6, "params": 2000}]}
    ],
    "learning": [{"model": "m", "bits": 8, "epochs": {"expected": 5, "robust": 6}}],
    "limits": {"time_s": 10.0, "loss": 0.02},
}  # fmt: skip

# At 8 bits (compute_scale 8/32 = 0.25), 1000 samples, training factor 1:
#   d1 = 1000 * 1e6 * 0.25 = 2.5e8 FLOP,  d2 = 1000 * 4e6 * 0.25 = 1e9 FLOP
#   g1 = 1000 * 8 = 8000 bit,  g2 = 2000 * 8 = 16000 bit,  G = 24000 bit
# Every cut pays the cloud update F/v_cs = 1e9/1e12 = 0.001 s, F*eps_cs = 0.01 J,
# and the CS<->ES transfer 2*G/r_cx = 2*24000/1e8 = 0.00048 s, 2*G*eps_cx = 0.00048 J.
#
# cut 0 (all on ES):  t = 1.25e9/1e10 + 0.001 + 0.00048                       = 0.12648 s
#                     e = 1.25e9*1e-10 + 0.01 + 0.00048                        = 0.13548 J
# cut 1:              t = 2.5e8/1e9 + 1e9/1e10 + 0.001 + 0.00048 + 2*8000/1e6  = 0.36748 s
#                     e = 2.5e8*1e-9 + 1e9*1e-10 + 0.01 + 0.00048 + 2*8000*1e-7 = 0.36208 J
# cut 2 (all on SD):  t = 1.25e9/1e9 + 0.001 + 0.00048 + 2*24000/1e6          = 1.29948 s
#                     e = 1.25e9*1e-9 + 0.01 + 0.00048 + 2*24000*1e-7          = 1.26528 J
HAND_TIME_S = [0.12648, 0.36748, 1.29948]
HAND_ENERGY_J = [0.13548, 0.36208, 1.26528]


def test_hand_computed_two_block_epoch() -> None:
    costs = model_costs(build_instance(HAND), 0)
    assert costs.cuts.tolist() == [0, 1, 2]
    np.testing.assert_allclose(costs.epoch_time_s[0, 0], HAND_TIME_S, rtol=1e-12)
    np.testing.assert_allclose(costs.epoch_energy_j[0, 0], HAND_ENERGY_J, rtol=1e-12)


def test_hand_computed_epoch_in_the_evaluator() -> None:
    instance = build_instance(HAND)
    for cut, (t, e) in enumerate(zip(HAND_TIME_S, HAND_ENERGY_J, strict=True)):
        assert epoch_cost(instance, "m", 8, "es", cut) == pytest.approx((t, e), rel=1e-12)


def test_quantization_is_paid_once_and_not_at_32_bits() -> None:
    costs = model_costs(build_instance(HAND), 0)
    # tau = Q_a / v_cs = 2e9 / 1e12 = 0.002 s; E = Q_a * eps_cs = 2e9 * 1e-11 = 0.02 J.
    assert costs.quantize_time_s.tolist() == pytest.approx([0.002, 0.0])
    assert costs.quantize_energy_j.tolist() == pytest.approx([0.02, 0.0])


def test_full_precision_costs_scale_with_bits() -> None:
    costs = model_costs(build_instance(HAND), 0)
    # At 32 bits the compute is 4x and the bits are 4x those of 8 bits; F_a is not scaled.
    # cut 2: t = 4 * (1.25 + 0.00048 + 0.048) + 0.001 = 5.19292 s
    assert costs.epoch_time_s[1, 0, 2] == pytest.approx(4 * (1.25 + 0.00048 + 0.048) + 0.001)


def test_shannon_rate(tiny) -> None:
    # SPEC §1.1: r = B * log2(1 + 10^(snr_db/10)); 20 dB is a ratio of 100.
    assert link_rate_bps(tiny.links[0]) == pytest.approx(2e7 * math.log2(101.0), rel=1e-15)


def test_edge_server_without_link_is_left_out() -> None:
    doc: dict[str, Any] = dict(HAND)
    servers: list[dict[str, Any]] = doc["edge_servers"]
    doc["edge_servers"] = [*servers, {**servers[0], "name": "lonely"}]
    instance = build_instance(doc)
    assert np.isinf(model_costs(instance, 0).epoch_time_s[:, 1, :]).all()
    assert "lonely" not in set(cost_table(instance).edge_server)


def test_cost_table_has_one_row_per_option(tiny) -> None:
    table = cost_table(tiny)
    assert len(table) == 3 * 1 * 3  # bits x servers x cuts
    assert list(table.columns) == [
        "model", "bits", "edge_server", "cut", "epoch_time_s", "epoch_energy_j",
        "quantize_time_s", "quantize_energy_j",
    ]  # fmt: skip


@settings(max_examples=60)
@given(small_instances())
def test_vectorised_costs_match_the_evaluator(instance) -> None:
    """The solvers' numpy costs and evaluate's per-block loop are two implementations of eqs.
    7–10; they must agree on every option."""
    for row in cost_table(instance).to_dict(orient="records"):
        t, e = epoch_cost(
            instance, str(row["model"]), int(row["bits"]), str(row["edge_server"]), int(row["cut"])
        )
        assert row["epoch_time_s"] == pytest.approx(t, rel=1e-12)
        assert row["epoch_energy_j"] == pytest.approx(e, rel=1e-12)
