"""The vectorised costs of the compiled problem against the independent ``evaluate_inference`` on
random instances and random plans (hypothesis), and the command line on inference files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jqodi_opt.cli import main
from jqodi_opt.inference.accuracy import accuracy_drop
from jqodi_opt.inference.costs import assignment_costs
from jqodi_opt.inference.evaluate import evaluate_inference
from jqodi_opt.inference.plan import make_inference_plan, write_inference_plan
from jqodi_opt.inference.problem import Assignment, assignment_violations, compile_inference
from jqodi_opt.inference.read import build_inference

from .conftest import DATA
from .test_inference_read import BROKEN, EXPECTED

positive = st.floats(1e-3, 1e3)


@st.composite
def instances_and_assignments(draw: st.DrawFn) -> tuple[Any, Assignment]:
    """A random DAG on 1-3 servers with random choice sets, and a random assignment of it."""
    n = draw(st.integers(1, 6))
    layers = []
    for i in range(n):
        earlier = ["input", *(f"l{j}" for j in range(i))]
        inputs = draw(st.lists(st.sampled_from(earlier), min_size=1, max_size=3, unique=True))
        layers.append(
            {
                "name": f"l{i}",
                "flops": draw(st.floats(0, 1e9)),
                "params": draw(st.integers(0, 10**6)),
                "output_bytes": draw(st.floats(0, 1e6)),
                "inputs": inputs,
            }
        )
    k = draw(st.integers(1, 3))
    tiers = ["device", "edge", "cloud"]
    servers = [
        {
            "name": f"s{j}",
            "tier": tiers[j],
            "speed_flops": draw(positive) * 1e9,
            "power_w": draw(st.floats(0, 300)),
            "speedup": {"8": draw(st.floats(1, 4)), "4": draw(st.floats(1, 8))},
        }
        for j in range(k)
    ]
    # a path s0 - s1 - s2 keeps everything reachable; s0 - s2 may or may not exist
    pairs = [(j, j + 1) for j in range(k - 1)]
    if k == 3 and draw(st.booleans()):
        pairs.append((0, 2))
    links = [
        {
            "between": [f"s{a}", f"s{b}"],
            "rate_bps": draw(positive) * 1e6,
            "latency_s": draw(st.floats(0, 0.1)),
            "energy_per_bit": draw(st.floats(0, 1e-6)),
        }
        for a, b in pairs
    ]
    bits = draw(st.lists(st.sampled_from([4, 8, 16, 32]), min_size=1, max_size=3, unique=True))
    names = [x["name"] for x in layers]
    quantized = draw(st.lists(st.sampled_from(names), unique=True))
    ratios = draw(st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75]), min_size=1, unique=True))
    kept = draw(st.lists(st.sampled_from([1.0, 0.5, 0.1]), min_size=1, unique=True))
    terms = []
    for name in names:
        if name in quantized and draw(st.booleans()):
            terms.append({"layer": name, "bits": draw(st.sampled_from(bits)), "drop": 0.01})
        if draw(st.booleans()):
            terms.append({"layer": name, "pruning": draw(st.sampled_from(ratios)), "drop": 0.02})
        if draw(st.booleans()):
            tensor = draw(st.sampled_from(["input", name]))
            terms.append(
                {"tensor": tensor, "compression": draw(st.sampled_from(kept)), "drop": 0.03}
            )
    # distinct choices only (the reader rejects a second term for the same choice)
    unique_terms = list(
        {json.dumps({k: v for k, v in t.items() if k != "drop"}): t for t in terms}.values()
    )
    interactions = []
    if len(unique_terms) >= 2:
        interactions = [{"of": [0, len(unique_terms) - 1], "drop": -0.005}]
    doc = {
        "format": "jqodi-inference/1",
        "name": "random",
        "servers": servers,
        "links": links,
        "model": {"name": "m", "input_bytes": draw(st.floats(1, 1e6)), "layers": layers},
        "quantization": {"bits": bits, "layers": quantized},
        "pruning": {"ratios": ratios},
        "compression": {"ratios": kept},
        "accuracy": {"max_drop": 0.05, "terms": unique_terms, "interactions": interactions},
        "return_output": draw(st.booleans()),
    }
    instance = build_inference(doc)
    problem = compile_inference(instance)
    # any choice, also ones a layer may not take: evaluate must flag exactly those
    assignment = Assignment(
        server=np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))),
        bits=np.array(
            draw(st.lists(st.integers(0, len(problem.bits) - 1), min_size=n, max_size=n))
        ),
        pruning=np.array(
            draw(st.lists(st.integers(0, len(problem.pruning) - 1), min_size=n, max_size=n))
        ),
        compression=np.array(
            draw(
                st.lists(
                    st.integers(0, len(problem.compression) - 1), min_size=n + 1, max_size=n + 1
                )
            )
        ),
    )
    return instance, assignment


def close(a: float, b: float) -> bool:
    return (np.isinf(a) and np.isinf(b)) or bool(np.isclose(a, b, rtol=1e-9, atol=1e-12))


@settings(max_examples=100)
@given(instances_and_assignments())
def test_vectorised_costs_equal_evaluate(case: tuple[Any, Assignment]) -> None:
    instance, assignment = case
    problem = compile_inference(instance)
    costs = assignment_costs(problem, assignment)
    plan = make_inference_plan(problem, assignment)
    check = evaluate_inference(instance, plan)
    assert close(costs.latency_s, check.latency_s)
    assert close(costs.energy_j, check.energy_j)
    assert close(costs.device_energy_j, check.device_energy_j)
    assert costs.memory_bytes == pytest.approx(list(check.memory_bytes.values()), rel=1e-12)
    assert accuracy_drop(problem, assignment) == pytest.approx(check.accuracy_drop, abs=1e-12)
    assert len(costs.sends) == len(check.sends)
    assert (not assignment_violations(problem, assignment)) == check.feasible


# --------------------------------------------------------------------------------------------------
# command line


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_validate_broken_inference_files_one_line_each(capsys) -> None:
    files = sorted(str(p) for p in BROKEN.iterdir())
    code, out, err = run(capsys, "validate", *files)
    assert code == 2
    assert out == ""
    assert err.splitlines() == [f"{f}: {EXPECTED[Path(f).name]}" for f in files]


def test_validate_mixes_both_families(capsys) -> None:
    chain3 = str(DATA / "inference" / "chain3.json")
    code, _, err = run(capsys, "validate", chain3, str(DATA / "tiny.json"))
    assert code == 0
    assert err.splitlines()[0] == f"{chain3}: ok (3 layers, 2 servers, 1 links)"


HAND_PLAN = {
    "format": "jqodi-inference-plan/1",
    "instance": "chain3",
    "layers": [
        {"layer": "a", "server": "dev", "bits": 8, "compression": 0.25},
        {"layer": "b", "server": "edge"},
        {"layer": "c", "server": "edge"},
    ],
}


def test_evaluate_hand_written_plan(capsys, tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(HAND_PLAN))
    code, out, _ = run(
        capsys, "evaluate", str(DATA / "inference" / "chain3.json"), str(path), "--json"
    )
    assert code == 0
    report = json.loads(out)
    # a on dev at 8 bits with speed-up 2: 0.05 s; a sent at 8 bits, compressed: 2000 bit -> 0.012 s;
    # b, c on edge: 0.02 + 0.001 s; c returned: 320 bit -> 0.01032 s
    assert report["latency_s"] == pytest.approx(0.05 + 0.012 + 0.02 + 0.001 + 0.01032)
    assert report["accuracy_drop"] == pytest.approx(0.01 + 0.003)
    assert report["feasible"] is True
    assert report["violations"] == []


def test_evaluate_infeasible_plan_exits_1(capsys, tmp_path: Path) -> None:
    doc = json.loads(json.dumps(HAND_PLAN))
    doc["layers"][1]["pruning"] = 0.5  # b pruned too: 0.013 + 0.006 + interaction 0.004 > 0.02
    doc["layers"][0]["server"] = "moon"
    path = tmp_path / "plan.json"
    write_inference_plan(doc, path)
    code, out, _ = run(capsys, "evaluate", str(DATA / "inference" / "chain3.json"), str(path))
    assert code == 1
    assert "layers[0]: unknown server 'moon'" in out
    doc["layers"][0]["server"] = "dev"
    write_inference_plan(doc, path)
    code, out, _ = run(capsys, "evaluate", str(DATA / "inference" / "chain3.json"), str(path))
    assert code == 1
    assert "accuracy drop 0.023 exceeds max_drop 0.02" in out


def test_evaluate_broken_plan_exits_2(capsys, tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({**HAND_PLAN, "latency": 3}))
    code, _, err = run(capsys, "evaluate", str(DATA / "inference" / "chain3.json"), str(path))
    assert code == 2
    assert err.strip() == f"{path}: latency: unknown field"
