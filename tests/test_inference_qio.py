"""Mu et al.'s quantum-inspired optimizer: deterministic per seed, feasible plans that pass
``evaluate``, never better than the exact optimum, options checked, the GradientBoosting gate."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from jqodi_opt.exceptions import OptionError
from jqodi_opt.inference.accuracy import accuracy_drop
from jqodi_opt.inference.costs import assignment_costs
from jqodi_opt.inference.evaluate import evaluate_inference
from jqodi_opt.inference.plan import make_inference_plan
from jqodi_opt.inference.problem import Assignment, InferenceProblem, compile_inference
from jqodi_opt.inference.read import build_inference
from jqodi_opt.inference.solvers.baselines import measures, objective_weights
from jqodi_opt.inference.solvers.qio import decode, encoding, pick, run_qio
from jqodi_opt.result import Status

from .inference_brute import all_assignments, brute_force, random_document


def test_mapping_factor_splits_the_unit_interval_evenly() -> None:
    assert [pick(x, 3) for x in (0.0, 0.33, 0.34, 0.66, 0.67, 0.999, 1.0)] == [0, 0, 1, 1, 2, 2, 2]


def test_decode_places_a_prefix_on_the_device() -> None:
    problem = compile_inference(build_inference(random_document(0, layers=4, servers=3)))
    code = encoding(problem)
    assert (
        code.server_dim == 1 and code.size == 2 + 4 + 4 + 5
    )  # cut, server, bits, pruning, tensors
    x = np.full(code.size, 0.0)
    x[0], x[1] = 0.5, 0.9  # cut 2 of 0..4, the second server
    plan = decode(problem, code, x)
    assert list(plan.server) == [0, 0, 2, 2]
    assert list(problem.bits[plan.bits]) == [8] * 4  # coordinate 0 picks the smallest value
    x[0] = 1.0
    assert list(decode(problem, code, x).server) == [0] * 4


@pytest.mark.parametrize("seed", range(3))
def test_same_seed_same_plan_and_plans_pass_evaluate(seed) -> None:
    instance = build_inference(random_document(seed, layers=4, servers=3, dag=bool(seed % 2)))
    problem = compile_inference(instance)
    first = run_qio(problem, seed=7)
    again = run_qio(problem, seed=7)
    assert first.status is Status.FEASIBLE and first.assignment is not None
    assert again.assignment is not None
    for a, b in zip(
        (first.assignment.server, first.assignment.bits, first.assignment.pruning),
        (again.assignment.server, again.assignment.bits, again.assignment.pruning),
        strict=True,
    ):
        assert np.array_equal(a, b)
    assert first.value == again.value and first.stats == again.stats
    check = evaluate_inference(instance, make_inference_plan(problem, first.assignment, "qio"))
    assert check.feasible, check.violations
    assert first.value == pytest.approx(
        {
            "latency": check.latency_s,
            "energy": check.energy_j,
            "device-energy": check.device_energy_j,
        }[problem.objective],
        rel=1e-9,
    )


def test_parameters_change_the_run() -> None:
    problem = compile_inference(build_inference(random_document(4, layers=4, servers=3)))
    default = run_qio(problem, seed=1)
    longer = run_qio(problem, seed=1, k=8, t_max=30)
    assert default.stats["evaluations"] < longer.stats["evaluations"]
    assert default.stats["scales"] == 20 and longer.stats["scales"] == 30


@pytest.mark.parametrize("seed", range(4))
def test_qio_never_beats_the_exact_optimum(seed) -> None:
    doc = random_document(seed, layers=2, servers=2, dag=bool(seed % 2))
    doc["limits"] = {"latency_s": 1.0}
    problem = compile_inference(build_inference(doc))
    optimum = brute_force(problem, all_assignments(problem))
    out = run_qio(problem, seed=seed)
    assert optimum is not None and out.value is not None
    assert out.value >= optimum[0] * (1 - 1e-12)
    assert out.assignment is not None
    assert accuracy_drop(problem, out.assignment) <= problem.max_drop * (1 + 1e-9)


def test_no_feasible_plan_is_infeasible_with_the_reason() -> None:
    doc = random_document(1, layers=3, servers=2)
    doc["limits"] = {"latency_s": 1e-9}
    out = run_qio(compile_inference(build_inference(doc)), seed=0)
    assert out.status is Status.INFEASIBLE and out.assignment is None
    assert out.reasons[0].startswith("qio found no feasible plan in ")


def test_device_only_instance_runs_everything_locally() -> None:
    doc = random_document(2, layers=3, servers=1)
    problem = compile_inference(build_inference(doc))
    out = run_qio(problem, seed=0)
    assert out.assignment is not None and set(out.assignment.server) == {problem.device}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"k": 1}, "k 1 not understood"),
        ({"t_max": 0}, "t_max 0 not understood"),
        ({"scaling": 1.0}, "scaling 1.0 not understood"),
        ({"predictor": "forest"}, "predictor 'forest' not understood"),
        ({"predictor": "gradient-boosting"}, "needs samples=CSV"),
    ],
)
def test_bad_options_are_refused_before_any_work(options, message) -> None:
    problem = compile_inference(build_inference(random_document(0)))
    with pytest.raises(OptionError, match=message):
        run_qio(problem, **options)


def write_samples(path: Path, problem: InferenceProblem, rows: int, seed: int) -> None:
    """Samples of random configurations whose measured drop is the instance's polynomial."""
    rng = np.random.default_rng(seed)
    header = [f"bits:{x}" for x in problem.layers] + [f"pruning:{x}" for x in problem.layers]
    header += [f"compression:{t}" for t in problem.tensors] + ["accuracy_drop"]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for _ in range(rows):
            n = problem.num_layers
            a = Assignment(
                rng.integers(0, problem.num_servers, n),
                rng.integers(0, len(problem.bits), n),
                rng.integers(0, len(problem.pruning), n),
                rng.integers(0, len(problem.compression), problem.num_tensors),
            )
            sent = assignment_costs(problem, a).tensor_sent
            row: list[float] = [int(problem.bits[b]) for b in a.bits]
            row += [float(problem.pruning[r]) for r in a.pruning]
            row += [
                float(problem.compression[c]) if s else 1.0
                for c, s in zip(a.compression, sent, strict=True)
            ]
            writer.writerow([*row, accuracy_drop(problem, a)])


def test_gradient_boosting_gate_returns_a_plan_within_the_polynomial_budget(tmp_path) -> None:
    instance = build_inference(random_document(3, layers=3, servers=2))
    problem = compile_inference(instance)
    samples = tmp_path / "samples.csv"
    write_samples(samples, problem, rows=150, seed=0)
    out = run_qio(problem, seed=2, t_max=8, predictor="gradient-boosting", samples=str(samples))
    assert out.status is Status.FEASIBLE and out.assignment is not None
    assert out.stats["predictor"] == "gradient-boosting"
    check = evaluate_inference(instance, make_inference_plan(problem, out.assignment, "qio"))
    assert check.feasible, check.violations
    weights, _ = objective_weights(problem)
    assert out.value == pytest.approx(float(weights @ measures(problem, out.assignment)))


def test_gradient_boosting_samples_must_name_the_instance_layers(tmp_path) -> None:
    problem = compile_inference(build_inference(random_document(3, layers=3, servers=2)))
    samples = tmp_path / "samples.csv"
    samples.write_text("bits:nope,accuracy_drop\n" + "8,0.01\n" * 12)
    with pytest.raises(OptionError, match="bits:nope name no layer or tensor"):
        run_qio(problem, predictor="gradient-boosting", samples=str(samples))


def test_large_model_starts_from_accurate_candidates() -> None:
    """40 layers with three knobs each: uniform knobs break a 5 % budget nearly always, so the
    parameters generator falls back to unmodified knobs at a uniform partition point."""
    doc = random_document(11, layers=40, servers=2)
    doc["accuracy"]["max_drop"] = 0.05
    problem = compile_inference(build_inference(doc))
    out = run_qio(problem, seed=0, t_max=5)
    assert out.status is Status.FEASIBLE and out.assignment is not None
    assert accuracy_drop(problem, out.assignment) <= 0.05


def test_bad_samples_file_is_an_option_error(tmp_path) -> None:
    problem = compile_inference(build_inference(random_document(3, layers=3, servers=2)))
    samples = tmp_path / "samples.csv"
    samples.write_text("bits:l0,accuracy_drop\n" + "8,0.01\n" * 11 + "eight,0.01\n")
    with pytest.raises(OptionError, match="line 13, column 'bits:l0': must be a number"):
        run_qio(problem, predictor="gradient-boosting", samples=str(samples))
