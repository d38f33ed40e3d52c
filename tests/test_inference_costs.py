"""The inference cost model (SPEC §7.1–7.2): hand-computed cases, through both the compiled arrays
(:mod:`jqodi_opt.inference.costs`) and the independent :func:`evaluate_inference`."""

from __future__ import annotations

import copy
import itertools
import math
from typing import Any

import numpy as np
import pytest

from jqodi_opt.inference.accuracy import accuracy_drop
from jqodi_opt.inference.costs import assignment_costs
from jqodi_opt.inference.evaluate import evaluate_inference
from jqodi_opt.inference.instance import InferenceInstance
from jqodi_opt.inference.plan import InferencePlan, LayerChoice, assignment_of
from jqodi_opt.inference.problem import (
    Assignment,
    assignment_violations,
    compile_inference,
)
from jqodi_opt.inference.read import build_inference, read_inference

from .conftest import DATA

# dev: 1 GFLOP/s at 2 W; edge: 10 GFLOP/s at 50 W; 1 Mbit/s, 10 ms, 0.1 µJ/bit.
# input 1000 B; a: 1e8 FLOP -> 4000 B; b: 2e8 FLOP -> 500 B; c: 1e7 FLOP -> 40 B.
CHAIN: dict[str, Any] = {
    "format": "jqodi-inference/1",
    "name": "chain",
    "servers": [
        {"name": "dev", "tier": "device", "speed_flops": 1.0e9, "power_w": 2.0},
        {"name": "edge", "tier": "edge", "speed_flops": 1.0e10, "power_w": 50.0},
    ],
    "links": [
        {"between": ["dev", "edge"], "rate_bps": 1.0e6, "latency_s": 0.01, "energy_per_bit": 1e-7}
    ],
    "model": {
        "name": "chain",
        "input_bytes": 1000,
        "layers": [
            {"name": "a", "flops": 1.0e8, "params": 1000, "output_bytes": 4000},
            {"name": "b", "flops": 2.0e8, "params": 50000, "output_bytes": 500},
            {"name": "c", "flops": 1.0e7, "params": 2000, "output_bytes": 40},
        ],
    },
}

# Compute (s, J): dev a .1/.2, b .2/.4, c .01/.02; edge a .01/.5, b .02/1.0, c .001/.05.
# Sends (s, J): input 8000 bit .018/8e-4, a 32000 bit .042/3.2e-3, b 4000 bit .014/4e-4,
# c (returned) 320 bit .01032/3.2e-5.
HAND = {  # placement of (a, b, c): (latency s, energy J, device energy J)
    "DDD": (0.1 + 0.2 + 0.01, 0.2 + 0.4 + 0.02, 0.2 + 0.4 + 0.02),
    "DDE": (0.1 + 0.2 + 0.014 + 0.001 + 0.01032, 0.6 + 4e-4 + 0.05 + 3.2e-5, 0.6 + 4e-4),
    "DED": (
        0.1 + 0.042 + 0.02 + 0.014 + 0.01,
        0.2 + 3.2e-3 + 1.0 + 4e-4 + 0.02,
        0.2 + 3.2e-3 + 0.02,
    ),
    "DEE": (0.1 + 0.042 + 0.02 + 0.001 + 0.01032, 0.2 + 3.2e-3 + 1.05 + 3.2e-5, 0.2 + 3.2e-3),
    "EDD": (0.018 + 0.01 + 0.042 + 0.2 + 0.01, 8e-4 + 0.5 + 3.2e-3 + 0.42, 8e-4 + 0.42),
    "EDE": (
        0.018 + 0.01 + 0.042 + 0.2 + 0.014 + 0.001 + 0.01032,
        8e-4 + 0.5 + 3.2e-3 + 0.4 + 4e-4 + 0.05 + 3.2e-5,
        8e-4 + 0.4 + 4e-4,
    ),
    "EED": (0.018 + 0.03 + 0.014 + 0.01, 8e-4 + 1.5 + 4e-4 + 0.02, 8e-4 + 0.02),
    "EEE": (0.018 + 0.031 + 0.01032, 8e-4 + 1.55 + 3.2e-5, 8e-4),
}


def plan_of(placement: dict[str, str], **choices: dict[str, Any]) -> InferencePlan:
    layers = []
    for name, server in placement.items():
        extra = {key: values[name] for key, values in choices.items() if name in values}
        layers.append(LayerChoice(layer=name, server=server, **extra))
    return InferencePlan(layers=layers, input_compression=choices.get("input", {}).get("c", 1.0))


def both(instance: InferenceInstance, plan: InferencePlan) -> tuple[Any, Any]:
    """The evaluation of ``plan`` and the costs of its assignment from the compiled arrays."""
    problem = compile_inference(instance)
    return evaluate_inference(instance, plan), assignment_costs(
        problem, assignment_of(problem, plan)
    )


@pytest.mark.parametrize("code", sorted(HAND))
def test_chain_every_placement_by_hand(code: str) -> None:
    instance = build_inference(CHAIN)
    servers = {"D": "dev", "E": "edge"}
    plan = plan_of({name: servers[s] for name, s in zip("abc", code, strict=True)})
    check, arrays = both(instance, plan)
    latency, energy, device_energy = HAND[code]
    assert check.feasible
    assert check.latency_s == pytest.approx(latency, rel=1e-12)
    assert check.energy_j == pytest.approx(energy, rel=1e-12)
    assert check.device_energy_j == pytest.approx(device_energy, rel=1e-12)
    assert arrays.latency_s == pytest.approx(latency, rel=1e-12)
    assert arrays.energy_j == pytest.approx(energy, rel=1e-12)
    assert arrays.device_energy_j == pytest.approx(device_energy, rel=1e-12)


def test_outputs_not_returned_when_return_output_is_false() -> None:
    instance = build_inference({**CHAIN, "return_output": False})
    check, arrays = both(instance, plan_of({"a": "dev", "b": "dev", "c": "edge"}))
    assert check.latency_s == pytest.approx(0.1 + 0.2 + 0.014 + 0.001)
    assert arrays.latency_s == pytest.approx(check.latency_s)
    assert [(s.tensor, s.source, s.target) for s in check.sends] == [("b", "dev", "edge")]


def dag_instance(extra: dict[str, Any] | None = None) -> InferenceInstance:
    """input -> a; a feeds b and c; d consumes b and c. Three servers, every pair linked."""
    link = {"rate_bps": 1.0e6, "latency_s": 0.0, "energy_per_bit": 1.0e-6}
    doc = {
        "format": "jqodi-inference/1",
        "name": "dag",
        "servers": [
            {"name": "dev", "tier": "device", "speed_flops": 1.0e9, "power_w": 1.0},
            {"name": "e1", "tier": "edge", "speed_flops": 1.0e9, "power_w": 1.0},
            {"name": "e2", "tier": "edge", "speed_flops": 1.0e9, "power_w": 1.0},
        ],
        "links": [
            {"between": ["dev", "e1"], **link},
            {"between": ["dev", "e2"], **link},
            {"between": ["e1", "e2"], **link},
        ],
        "model": {
            "name": "dag",
            "input_bytes": 1,
            "layers": [
                {"name": "a", "flops": 0, "params": 0, "output_bytes": 1000},
                {"name": "b", "flops": 0, "params": 0, "output_bytes": 10, "inputs": ["a"]},
                {"name": "c", "flops": 0, "params": 0, "output_bytes": 20, "inputs": ["a"]},
                {"name": "d", "flops": 0, "params": 0, "output_bytes": 1, "inputs": ["b", "c"]},
            ],
        },
        **(extra or {}),
    }
    return build_inference(doc)


def test_dag_tensor_sent_once_per_consuming_server() -> None:
    instance = dag_instance()
    # a's 8000 bits go to e1 and to e2 (twice); c goes e2 -> e1; d's output e1 -> dev.
    check, arrays = both(instance, plan_of({"a": "dev", "b": "e1", "c": "e2", "d": "e1"}))
    assert [(s.tensor, s.source, s.target) for s in check.sends] == [
        ("a", "dev", "e1"),
        ("a", "dev", "e2"),
        ("c", "e2", "e1"),
        ("d", "e1", "dev"),
    ]
    assert check.latency_s == pytest.approx((8000 + 8000 + 160 + 8) / 1e6)
    assert check.device_energy_j == pytest.approx((8000 + 8000) * 1e-6)
    assert arrays.latency_s == pytest.approx(check.latency_s)
    assert len(arrays.sends) == 4


def test_dag_consumers_on_one_server_get_the_tensor_once() -> None:
    instance = dag_instance()
    check, arrays = both(instance, plan_of({"a": "dev", "b": "e1", "c": "e1", "d": "e1"}))
    assert [(s.tensor, s.source, s.target) for s in check.sends] == [
        ("a", "dev", "e1"),
        ("d", "e1", "dev"),
    ]
    assert check.latency_s == pytest.approx((8000 + 8) / 1e6)
    assert arrays.latency_s == pytest.approx(check.latency_s)


def test_missing_link_is_a_violation_and_infinite_latency() -> None:
    doc = copy.deepcopy(CHAIN)
    doc["servers"].append({"name": "cloud", "tier": "cloud", "speed_flops": 1e12, "power_w": 1})
    doc["links"].append({"between": ["edge", "cloud"], "rate_bps": 1e9, "energy_per_bit": 0})
    instance = build_inference(doc)
    plan = plan_of({"a": "dev", "b": "cloud", "c": "edge"})  # dev -> cloud has no link
    check, arrays = both(instance, plan)
    assert not check.feasible
    assert "tensor 'a' must go from 'dev' to 'cloud', which have no link" in check.violations
    assert math.isinf(check.latency_s) and math.isinf(arrays.latency_s)
    problem = compile_inference(instance)
    assert any("no link" in r for r in assignment_violations(problem, assignment_of(problem, plan)))


def test_compression_counts_only_on_sent_tensors() -> None:
    instance = read_inference(DATA / "inference" / "chain3.json")
    problem = compile_inference(instance)
    local = plan_of({"a": "dev", "b": "dev", "c": "dev"}, compression={"a": 0.25})
    plain = plan_of({"a": "dev", "b": "dev", "c": "dev"})
    for plan in (local, plain):
        check = evaluate_inference(instance, plan)
        assert check.sends == [] and check.accuracy_drop == 0.0
        assert accuracy_drop(problem, assignment_of(problem, plan)) == 0.0
    # sent: payload 8 * 4000 * 0.25 bits, and the compression term (0.01) counts
    sent = plan_of({"a": "dev", "b": "edge", "c": "edge"}, compression={"a": 0.25})
    check = evaluate_inference(instance, sent)
    assert check.sends[0].bits == pytest.approx(8 * 4000 * 0.25)
    assert check.accuracy_drop == pytest.approx(0.01)
    assert accuracy_drop(problem, assignment_of(problem, sent)) == pytest.approx(0.01)
    # a ratio the instance does not offer is fine on a tensor that stays, a violation once sent
    odd = plan_of({"a": "dev", "b": "dev", "c": "dev"}, compression={"a": 0.5})
    assert evaluate_inference(instance, odd).feasible
    odd_sent = plan_of({"a": "dev", "b": "edge", "c": "edge"}, compression={"a": 0.5})
    assert "tensor 'a' is sent and cannot take compression 0.5" in (
        evaluate_inference(instance, odd_sent).violations
    )


def test_memory_of_quantized_and_pruned_layers() -> None:
    instance = read_inference(DATA / "inference" / "chain3.json")  # dev memory 1e6 B
    plan = plan_of(
        {"a": "dev", "b": "dev", "c": "edge"},
        bits={"a": 8, "b": 8},
        pruning={"b": 0.5},
    )
    check, arrays = both(instance, plan)
    # 4 * params * b/32 * (1 - r): a 4 * 1000 * 8/32; b 4 * 50000 * 8/32 * 0.5; c 4 * 2000
    assert check.memory_bytes == {"dev": pytest.approx(1000 + 25000), "edge": pytest.approx(8000)}
    assert arrays.memory_bytes.tolist() == pytest.approx([26000, 8000])
    # full precision, unpruned b needs 4 * 50000 = 2e5 B and a 4000 B: still under 1e6 B
    assert evaluate_inference(instance, plan_of({"a": "dev", "b": "dev", "c": "dev"})).feasible
    small = build_inference(
        {**read_doc(), "servers": [
            {**read_doc()["servers"][0], "memory_bytes": 20000.0}, read_doc()["servers"][1]
        ]}
    )  # fmt: skip
    violations = evaluate_inference(small, plan).violations
    assert violations == ["memory on 'dev': 26000 B exceeds 20000 B"]


def read_doc() -> dict[str, Any]:
    import json

    return json.loads((DATA / "inference" / "chain3.json").read_text())


def test_speedup_and_pruning_shrink_compute_time() -> None:
    instance = read_inference(DATA / "inference" / "chain3.json")  # dev speed-up 2 at 8 bits
    problem = compile_inference(instance)
    i8, i32 = list(problem.bits).index(8), list(problem.bits).index(32)
    half = list(problem.pruning).index(0.5)
    # tau = flops (1 - r) / (speed * speedup(b))
    assert problem.compute_time_s[0, 0, i8, 0] == pytest.approx(1e8 / 2e9)
    assert problem.compute_time_s[1, 0, i32, half] == pytest.approx(1e8 / 1e9)
    assert problem.compute_time_s[1, 1, i8, half] == pytest.approx(1e8 / 1e10)  # no speed-up
    assert problem.compute_energy_j[1, 1, i8, half] == pytest.approx(50 * 1e8 / 1e10)
    assert problem.layer_pruning_allowed.tolist() == [[True, False], [True, True], [True, False]]


def test_interaction_counts_when_both_terms_are_active() -> None:
    instance = read_inference(DATA / "inference" / "chain3.json")
    # terms: 0 b pruned 0.5 (0.006), 1 a compressed 0.25 (0.01), 2 a at 8 bits (0.003); 0 & 2: 0.004
    plan = plan_of({"a": "dev", "b": "dev", "c": "dev"}, bits={"a": 8}, pruning={"b": 0.5})
    check = evaluate_inference(instance, plan)
    assert check.accuracy_drop == pytest.approx(0.006 + 0.003 + 0.004)
    only = plan_of({"a": "dev", "b": "dev", "c": "dev"}, bits={"a": 8})
    assert evaluate_inference(instance, only).accuracy_drop == pytest.approx(0.003)


def test_compiled_shapes_and_links() -> None:
    problem = compile_inference(dag_instance())
    assert problem.tensors == ("input", "a", "b", "c", "d")
    assert [x.tolist() for x in problem.layer_inputs] == [[0], [1], [1], [2, 3]]
    assert [x.tolist() for x in problem.tensor_consumers] == [[0], [1, 2], [3], [3], []]
    assert problem.tensor_returns.tolist() == [False, False, False, False, True]
    assert not problem.is_chain
    assert problem.compute_time_s.shape == (4, 3, 1, 1)
    assert problem.send_time_s.shape == (5, 3, 3, 1, 1)
    assert np.all(problem.send_time_s[:, [0, 1, 2], [0, 1, 2]] == 0)
    assert not problem.linked.diagonal().any()
    assert np.isnan(problem.link_rate_bps.diagonal()).all()


def test_every_assignment_of_a_small_instance_agrees() -> None:
    instance = read_inference(DATA / "inference" / "chain3.json")
    problem = compile_inference(instance)
    for servers in itertools.product(range(2), repeat=3):
        for bits in itertools.product(range(2), repeat=3):
            assignment = Assignment(
                server=np.array(servers),
                bits=np.array(bits),
                pruning=np.array([0, 1, 0]),
                compression=np.array([0, 0, 1, 0]),
            )
            from jqodi_opt.inference.plan import make_inference_plan

            plan = make_inference_plan(problem, assignment)
            check = evaluate_inference(instance, plan)
            assert plan.latency_s == pytest.approx(check.latency_s, rel=1e-12)
            assert plan.energy_j == pytest.approx(check.energy_j, rel=1e-12)
            assert plan.accuracy_drop == pytest.approx(check.accuracy_drop, abs=1e-15)
            assert (not assignment_violations(problem, assignment)) == check.feasible
