"""Serving a fine-tuned model (SPEC §8) and the paper's inference evaluation (Figs. 9–10)."""

from __future__ import annotations

import json

import pytest

from jqodi_opt.cli import main
from jqodi_opt.finetune.costs import link_rate_bps
from jqodi_opt.inference.evaluate import evaluate_inference
from jqodi_opt.inference.serving import (
    best_single_cut,
    cut_plan,
    inference_settings,
    serving_instance,
)
from jqodi_opt.read import build_instance, instance_to_dict, read_instance

from .conftest import DATA, ROOT

DATA1 = ROOT / "instances" / "paper" / "data1.json"


def sized_tiny(tiny):
    """tiny.json with tensor sizes: input 400 B; b1 -> 2000 B, b2 -> 40 B."""
    doc = instance_to_dict(tiny)
    doc["models"][0]["input_bytes"] = 400.0
    doc["models"][0]["blocks"][0]["output_bytes"] = 2000.0
    doc["models"][0]["blocks"][1]["output_bytes"] = 40.0
    return build_instance(doc)


def test_every_cut_of_tiny_by_hand(tiny) -> None:
    instance = sized_tiny(tiny)
    serving = serving_instance(instance, "m1", 8)
    device, edge = instance.device, instance.edge_servers[0]
    rate = link_rate_bps(instance.links[0])  # 20 MHz, 20 dB: 2e7 log2(101) bit/s
    per_bit = instance.links[0].energy_per_bit
    f1, f2 = 3.5e6, 3.8e7
    speedup = 32 / 8  # 1 / compute_scale(8)
    v_sd, v_es = device.speed_flops * speedup, edge.speed_flops * speedup
    p_sd = device.energy_per_flop * device.speed_flops
    p_es = edge.energy_per_flop * edge.speed_flops
    # the input tensor is always 32-bit; block outputs at 8 bits
    input_bits, b1_bits, b2_bits = 8 * 400, 8 * 2000 * 8 / 32, 8 * 40 * 8 / 32
    expected = {  # cut: (latency, energy, device energy)
        0: (
            input_bits / rate + (f1 + f2) / v_es + b2_bits / rate,
            input_bits * per_bit + p_es * (f1 + f2) / v_es + b2_bits * per_bit,
            input_bits * per_bit,
        ),
        1: (
            f1 / v_sd + b1_bits / rate + f2 / v_es + b2_bits / rate,
            p_sd * f1 / v_sd + b1_bits * per_bit + p_es * f2 / v_es + b2_bits * per_bit,
            p_sd * f1 / v_sd + b1_bits * per_bit,
        ),
        2: ((f1 + f2) / v_sd, p_sd * (f1 + f2) / v_sd, p_sd * (f1 + f2) / v_sd),
    }
    for cut, (latency, energy, device_energy) in expected.items():
        check = evaluate_inference(serving, cut_plan(serving, cut, "es1"))
        assert check.feasible
        assert check.latency_s == pytest.approx(latency, rel=1e-12)
        assert check.energy_j == pytest.approx(energy, rel=1e-12)
        assert check.device_energy_j == pytest.approx(device_energy, rel=1e-12)
    best = best_single_cut(serving, "es1", "latency")
    assert best.cut == min(expected, key=lambda c: expected[c][0])
    best = best_single_cut(serving, "es1", "energy")
    assert best.cut == min(expected, key=lambda c: expected[c][1])
    assert best_single_cut(serving, "es1", "energy", split=True).cut == 1
    assert best_single_cut(serving, None).cut == 2


def test_serving_instance_uses_the_fine_tuning_hardware(tiny) -> None:
    instance = sized_tiny(tiny)
    serving = serving_instance(instance, "m1", 4, include_cloud=True)
    assert [(s.name, s.tier) for s in serving.servers] == [
        ("sd", "device"),
        ("es1", "edge"),
        ("cloud", "cloud"),
    ]
    assert serving.servers[0].power_w == pytest.approx(3.0e-10 * 2.0e10)
    assert serving.servers[1].speedup_of(4) == pytest.approx(8.0)
    cloud_link = serving.link_between("es1", "cloud")
    assert cloud_link is not None and cloud_link.rate_bps == 1.0e9
    assert serving.layer_bits("b1") == [4]


def test_missing_sizes_are_named(tiny) -> None:
    with pytest.raises(ValueError, match="model 'm1' has no input_bytes"):
        serving_instance(tiny, "m1", 8)


def test_paper_device_alone_is_total_flops_over_speed() -> None:
    instance = read_instance(DATA1)
    lenet = instance.models[instance.model_index("lenet-like")]
    total = sum(b.flops for b in lenet.blocks)
    device = inference_settings(instance, "lenet-like", 8)[0]
    assert device.setting == "device" and device.cut == len(lenet.blocks)
    # pi5: 1.2e10 FLOP/s, 8 bits: 4x; 12 W
    assert device.evaluation.latency_s == pytest.approx(total / (1.2e10 * 4))
    assert device.evaluation.energy_j == pytest.approx(12.0 * total / (1.2e10 * 4))


def test_paper_blocks_have_their_tensor_sizes() -> None:
    instance = read_instance(DATA1)
    lenet = instance.models[instance.model_index("lenet-like")]
    # 32x32x3 input; 64C3-MP2 -> 16x16x64; 128C3-MP2 -> 8x8x128; -> 4x4x128; 1024FC; 10 classes
    assert lenet.input_bytes == 4 * 32 * 32 * 3
    assert [b.output_bytes for b in lenet.blocks] == [
        4 * 16 * 16 * 64,
        4 * 8 * 8 * 128,
        4 * 4 * 4 * 128,
        4 * 1024,
        4 * 10,
    ]


def test_compare_inference_json(capsys) -> None:
    code = main(["compare", str(DATA1), "--solvers", "milp,full-model", "--inference", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    rows = report["inference"]
    assert {r["strategy"] for r in rows} == {row["label"] for row in report["rows"]}
    settings = [r["setting"] for r in rows if r["strategy"] == rows[0]["strategy"]]
    assert settings == [
        "device",
        "device+rtx3090",
        "device+rtx3090 split",
        "device+rtx4090",
        "device+rtx4090 split",
    ]
    for strategy in {r["strategy"] for r in rows}:
        mine = {r["setting"]: r for r in rows if r["strategy"] == strategy}
        for edge in ("rtx3090", "rtx4090"):
            # cuts 0..n: all on the server (0), every split (1..n-1), the device alone (n)
            best, split = mine[f"device+{edge}"], mine[f"device+{edge} split"]
            for criterion, key in (("least_energy", "energy_j"), ("least_latency", "latency_s")):
                others = (mine["device"][criterion][key], split[criterion][key])
                if best[criterion]["cut"] == 0:
                    assert best[criterion][key] <= min(others)
                else:
                    assert best[criterion][key] == pytest.approx(min(others))
            assert split["least_energy"]["cut"] not in (0, mine["device"]["least_energy"]["cut"])


def test_compare_inference_needs_sizes(capsys) -> None:
    code = main(["compare", str(DATA / "tiny.json"), "--solvers", "milp", "--inference"])
    assert code == 2
    assert "--inference: model 'm1' has no input_bytes" in capsys.readouterr().err
