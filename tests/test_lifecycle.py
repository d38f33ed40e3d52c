"""The lifecycle problem (SPEC §8): hand-computed break-even, N = 0, serving limits, the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from jqodi_opt.cli import main
from jqodi_opt.exceptions import InstanceError
from jqodi_opt.finetune.problem import compile_problem
from jqodi_opt.inference.evaluate import evaluate_inference
from jqodi_opt.inference.problem import compile_inference as compile_inference_problem
from jqodi_opt.lifecycle import (
    lower_envelope,
    serving_instance,
    solve_lifecycle,
)
from jqodi_opt.read import build_instance, load_document, read_instance
from jqodi_opt.solve import solve

DATA = Path(__file__).parent / "data" / "lifecycle"
TWO = DATA / "two_models.json"

# Hand computation for two_models.json (all on the device is the only fine-tuning option; serving
# all-local, because any send costs >= 32,000 bits x 1e-3 J/bit):
#   per-epoch energy  = train_samples * 3 * flops * eps_sd + 2 * (params * 32 bits) * eps_link
#   big:   100 * 3 * 1e7 * 1e-9 + 2 * 320 * 1e-3 = 3.64 J, 2 epochs  -> E_ft = 7.28 J
#   small: 100 * 3 * 1e6 * 1e-9 + 0.64           = 0.94 J, 50 epochs -> E_ft = 47 J
#   one request all-local: flops * eps_sd -> 1e-2 J (big), 1e-3 J (small)
#   break-even N = (47 - 7.28) / (1e-2 - 1e-3) = 4413.33...
E_FT = {"big": 7.28, "small": 47.0}
E_INF = {"big": 1e-2, "small": 1e-3}
BREAK_EVEN = (47.0 - 7.28) / (1e-2 - 1e-3)


def document(path: Path = TWO) -> dict[str, Any]:
    loaded = load_document(path)
    assert isinstance(loaded, dict)
    return loaded


def test_hand_computed_lines_and_break_even() -> None:
    result = solve_lifecycle(read_instance(TWO))
    lines = {c.model: c for c in result.candidates}
    for model in ("big", "small"):
        assert lines[model].finetune_j == pytest.approx(E_FT[model], rel=1e-9)
        assert lines[model].inference_j == pytest.approx(E_INF[model], rel=1e-9)
    assert [(b.model, b.bits) for b in result.breakpoints] == [("big", 32), ("small", 32)]
    assert result.breakpoints[0].requests == 0.0
    assert result.breakpoints[1].requests == pytest.approx(BREAK_EVEN, rel=1e-9)
    # N = 10,000 > break-even: the model that fine-tunes dearly is cheaper to own.
    assert result.best is not None and result.best.model == "small"
    assert result.total_j == pytest.approx(47.0 + 10_000 * 1e-3, rel=1e-9)
    assert result.sequential is not None and result.sequential.model == "big"
    assert result.regret_j() == pytest.approx((7.28 + 100.0) - 57.0, rel=1e-9)
    # Regret at other volumes is against the optimum at that volume: none below break-even.
    assert result.regret_j(1000.0) == pytest.approx(0.0, abs=1e-12)
    assert result.regret_j(1e6) == pytest.approx((7.28 + 1e4) - (47.0 + 1e3), rel=1e-9)


@pytest.mark.parametrize("requests", [0.0, 1000.0, 4413.0, 4414.0, 1e6])
def test_best_side_of_break_even(requests: float) -> None:
    result = solve_lifecycle(read_instance(TWO), requests)
    expected = "big" if requests < BREAK_EVEN else "small"
    assert result.best is not None and result.best.model == expected
    totals = {m: E_FT[m] + requests * E_INF[m] for m in E_FT}
    assert result.total_j == pytest.approx(min(totals.values()), rel=1e-9)
    regret = result.regret_j()
    assert regret is not None
    assert regret == pytest.approx(totals["big"] - min(totals.values()), abs=1e-9)


def test_zero_requests_is_the_finetuning_optimum() -> None:
    for path in (TWO, Path(__file__).parent / "data" / "tiny.json"):
        doc = document(path)
        if "serving" not in doc:
            doc["serving"] = {"requests": 0, "input_bytes": 1000.0}
            for model in doc["models"]:
                for block in model["blocks"]:
                    block.setdefault("output_bytes", 4096.0)
        instance = build_instance(doc, str(path))
        lifecycle = solve_lifecycle(instance, 0)
        plain = solve(compile_problem(instance), "milp")
        assert lifecycle.best is not None and plain.plan is not None
        assert (lifecycle.best.model, lifecycle.best.bits) == (plain.plan.model, plain.plan.bits)
        assert lifecycle.total_j == pytest.approx(plain.objective, rel=1e-7)
        assert lifecycle.regret_j() == pytest.approx(0.0, abs=1e-9)


def test_latency_limit_only_one_candidate_meets() -> None:
    doc = document()
    # big needs 1e7 / 1e9 = 0.01 s locally, and offloading starts with a 0.032 s input transfer;
    # small needs 0.001 s.
    doc["serving"]["limits"] = {"latency_s": 0.005}
    result = solve_lifecycle(build_instance(doc, "limit.json"), 0)
    lines = {c.model: c for c in result.candidates}
    assert not lines["big"].usable and "serving infeasible" in lines["big"].reason
    assert lines["small"].usable
    assert result.best is not None and result.best.model == "small"
    assert [b.model for b in result.breakpoints] == ["small"]
    # The sequential choice (big fine-tunes cheapest) cannot be served: infinite regret.
    assert result.sequential is not None and result.sequential.model == "big"
    regret = result.regret_j()
    assert regret is not None and math.isinf(regret)


@pytest.mark.parametrize("serving_solver", ["dp", "milp", "exhaustive"])
def test_serving_solvers_agree(serving_solver: str) -> None:
    instance = read_instance(TWO)
    default = solve_lifecycle(instance)
    chosen = solve_lifecycle(instance, inference_solver=serving_solver)
    for a, b in zip(default.candidates, chosen.candidates, strict=True):
        assert a.inference_j == pytest.approx(b.inference_j, rel=1e-7)


def test_every_plan_passes_its_evaluate() -> None:
    instance = read_instance(TWO)
    result = solve_lifecycle(instance)
    for cand in result.candidates:
        assert cand.inference is not None and cand.inference.plan is not None
        check = evaluate_inference(
            serving_instance(instance, cand.model, cand.bits),
            cand.inference.plan,
        )
        assert check.feasible
        assert check.energy_j == pytest.approx(E_INF[cand.model], rel=1e-9)
        # all on the device: nothing sent
        plan: Any = cand.inference.plan
        assert {layer.server for layer in plan.layers} == {"sd"}


def test_envelope_skips_lines_never_lowest() -> None:
    class Line:
        def __init__(self, name: str, a: float, b: float) -> None:
            self.model, self.bits, self.finetune_j, self.inference_j = name, 8, a, b
            self.usable = True

    # c is above the envelope of a and b everywhere: a until 10, then b.
    lines = [Line("a", 0.0, 2.0), Line("b", 10.0, 1.0), Line("c", 8.0, 1.5)]
    points = lower_envelope(lines)  # type: ignore[arg-type]
    # a meets b at N = 10 and c only at N = 16, where b is already lower than c.
    assert [p.model for p in points] == ["a", "b"]
    assert points[1].requests == pytest.approx(10.0)


def test_serving_needs_output_bytes(tmp_path: Path) -> None:
    doc = document()
    del doc["models"][1]["blocks"][0]["output_bytes"]
    with pytest.raises(InstanceError, match=r"models\[1\]\.blocks\[0\]\.output_bytes"):
        build_instance(doc, "x.json")
    doc = document()
    term = {"tensor": "nope", "compression": 0.5, "drop": 0.1}
    doc["serving"]["accuracy"] = {"max_drop": 0.02, "terms": [term]}
    with pytest.raises(InstanceError, match=r"serving\.accuracy\.terms\[0\]\.tensor"):
        build_instance(doc, "x.json")


def test_old_files_stay_valid() -> None:
    for path in (Path(__file__).parent / "data").glob("*.json"):
        read_instance(path)


def test_cli_json_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plot = tmp_path / "lifecycle.png"
    code = main(["lifecycle", str(TWO), "--requests", "100", "--json", "--plot", str(plot)])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["requests"] == 100
    assert doc["model"] == "big"
    assert doc["total_j"] == pytest.approx(7.28 + 1.0, rel=1e-9)
    assert doc["finetune"]["format"] == "jqodi-plan/1"
    assert doc["inference"]["format"] == "jqodi-inference-plan/1"
    assert doc["sequential"]["model"] == "big" and doc["sequential"]["regret_j"] == pytest.approx(0)
    assert [b["model"] for b in doc["breakpoints"]] == ["big", "small"]
    assert plot.stat().st_size > 1000


def test_cli_refuses_instance_without_serving(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["lifecycle", str(Path(__file__).parent / "data" / "tiny.json")])
    assert code == 2
    assert "serving" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["data1", "data2"])
def test_paper_instances_lifecycle(name: str) -> None:
    path = Path(__file__).parents[1] / "instances" / "paper" / f"{name}.json"
    instance = read_instance(path)
    result = solve_lifecycle(instance)
    usable = [c for c in result.candidates if c.usable]
    assert usable and result.best is not None
    # The optimum is the least line at N, and the envelope's pieces are each the least at a point
    # inside their range.
    n = result.requests
    assert result.total_j == pytest.approx(min(c.total_j(n) for c in usable), rel=1e-12)
    ends = [b.requests for b in result.breakpoints[1:]] + [2 * result.breakpoints[-1].requests + 1]
    for point, end in zip(result.breakpoints, ends, strict=True):
        middle = (point.requests + end) / 2
        least = min(usable, key=lambda c: c.total_j(middle))
        assert (least.model, least.bits) == (point.model, point.bits)
    # N = 0: the sequential choice is the fine-tuning optimum itself.
    assert result.sequential is not None
    plain = solve(compile_problem(instance), "milp")
    assert plain.plan is not None
    assert (result.sequential.model, result.sequential.bits) == (plain.plan.model, plain.plan.bits)


def test_paper_serving_dp_matches_exhaustive() -> None:
    instance = read_instance(Path(__file__).parents[1] / "instances" / "paper" / "data1.json")
    for model, bits in (("lenet-like", 4), ("resnet20", 8)):
        problem = compile_inference_problem(serving_instance(instance, model, bits))
        dp = solve(problem, "dp")
        brute = solve(problem, "exhaustive")
        assert dp.status.value == brute.status.value == "optimal"
        assert dp.objective == pytest.approx(brute.objective, rel=1e-9)
