"""Baselines: each on a hand-built instance where its restriction binds, with the answer by hand.

Costs (see :func:`tests.test_jqodi.simple_instance`): at compute scale ``s`` an epoch on cut 0 (all
on the edge server, 1e9 FLOP/s) takes ``s`` seconds and ``s * 1e9 * eps_es`` joules; on cut 1 (all
on the device) ``s * 1e9 / v_sd`` seconds and ``s * 1e9 * eps_sd`` joules. No quantization cost.
Every test runs on each exact solver of ``--solvers`` (the baselines' ``exact`` option).
"""

from __future__ import annotations

import json

import pytest

from jqodi_opt import Status, compile_problem, solve
from jqodi_opt.finetune.solvers.baselines import (
    all_local_restriction,
    minimal_model_restriction,
    solve_all_local,
    solve_full_model,
    solve_static,
)

from .conftest import ROOT
from .test_jqodi import simple_instance


def two_bitwidths():
    # 32-bit (scale 1): K = 10, 1 J per epoch on the server -> 10 J.
    # 8-bit (scale 0.25): K = 12, 0.25 J per epoch on the server -> 3 J (the optimum).
    # 2-bit (scale 0.0625): K = 100, 0.0625 J per epoch -> 6.25 J.
    # The device costs 2 J per 1e9 FLOP, so cut 0 is always cheaper; T_max is loose.
    return compile_problem(simple_instance(
        [{"bits": 32, "scale": 1.0, "epochs": {"expected": 10, "robust": 10}},
         {"bits": 8, "scale": 0.25, "epochs": {"expected": 12, "robust": 12}},
         {"bits": 2, "scale": 0.0625, "epochs": {"expected": 100, "robust": 100}}],
        time_s=1000.0,
    ))  # fmt: skip


def one_bitwidth(time_s: float, eps_sd: float, v_sd: float, cuts: list[int] | None = None):
    # 8-bit at scale 1, K = 10: server epoch 1 s, 1 J; device epoch 1e9 / v_sd s, eps_sd * 1e9 J.
    return compile_problem(simple_instance(
        [{"bits": 8, "scale": 1.0, "epochs": {"expected": 10, "robust": 10}}],
        time_s=time_s, device_energy_per_flop=eps_sd, device_speed=v_sd, cuts=cuts,
    ))  # fmt: skip


def test_full_model_keeps_32_bits(solver: str) -> None:
    problem = two_bitwidths()
    optimum = solve(problem, solver)
    assert optimum.plan is not None and optimum.plan.bits == 8
    assert optimum.objective == pytest.approx(3.0)
    result = solve(problem, "full-model", exact=solver)
    assert result.status is Status.FEASIBLE  # optimal over its restriction only
    assert result.plan is not None and result.plan.bits == 32
    assert result.objective == pytest.approx(10.0)
    assert result.bound is None and result.gap is None
    assert result.stats["restricted_status"] == "optimal" and result.stats["exact"] == solver


def test_minimal_model_keeps_the_smallest_bit_width(solver: str) -> None:
    problem = two_bitwidths()
    result = solve(problem, "minimal-model", exact=solver)
    assert result.plan is not None and result.plan.bits == 2
    assert result.objective == pytest.approx(100 * 0.0625)  # 6.25 J > the optimum's 3 J


def test_minimal_model_counts_excluded_pairs_and_says_why_it_fails(solver: str) -> None:
    # As the paper's Data 1: the smallest bit-width cannot reach the target at all.
    problem = compile_problem(simple_instance(
        [{"bits": 8, "scale": 0.25, "epochs": {"expected": 12, "robust": 12}},
         {"bits": 2, "scale": 0.0625, "infeasible": True}],
        time_s=1000.0,
    ))  # fmt: skip
    assert [c.bits for c in minimal_model_restriction(problem).problem.candidates] == []
    result = solve(problem, "minimal-model", exact=solver)
    assert result.status is Status.INFEASIBLE
    assert result.reasons == [
        "m@2: marked infeasible (gamma = inf)",
        "m@8: minimal-model baseline: 2-bit candidates only",
    ]


def test_all_local_fixes_the_cut_at_n(solver: str) -> None:
    problem = one_bitwidth(time_s=100.0, eps_sd=2e-9, v_sd=1e9)
    optimum = solve(problem, solver)
    assert optimum.plan is not None and {e.cut for e in optimum.plan.schedule} == {0}
    assert optimum.objective == pytest.approx(10.0)
    result = solve(problem, "all-local", exact=solver)
    assert result.plan is not None and {e.cut for e in result.plan.schedule} == {1}
    assert result.objective == pytest.approx(20.0)  # 10 epochs x 2 J on the device


def test_all_server_fixes_the_cut_at_0(solver: str) -> None:
    # The device is cheaper (0.5 J) but slower (2 s); T_max is loose, so the optimum is all local.
    problem = one_bitwidth(time_s=100.0, eps_sd=0.5e-9, v_sd=0.5e9)
    optimum = solve(problem, solver)
    assert optimum.objective == pytest.approx(5.0)
    result = solve(problem, "all-server", exact=solver)
    assert result.plan is not None and result.plan.schedule[0].cut == 0
    assert result.objective == pytest.approx(10.0) and result.plan.time_s == pytest.approx(10.0)


def test_all_local_too_slow_or_not_offered_is_infeasible_with_the_reason(solver: str) -> None:
    # Device epochs take 2 s: 10 of them are 20 s > T_max 15 s.
    problem = one_bitwidth(time_s=15.0, eps_sd=0.5e-9, v_sd=0.5e9)
    result = solve(problem, "all-local", exact=solver)
    assert result.status is Status.INFEASIBLE
    assert result.reasons == ["m@8: fastest plan needs 20 s > T_max 15 s (10 epochs)"]
    output = solve_all_local(problem, None, exact=solver)  # the backend says the same
    assert output.status is Status.INFEASIBLE and output.reasons == result.reasons
    # A model that does not offer cut n.
    problem = one_bitwidth(time_s=100.0, eps_sd=0.5e-9, v_sd=0.5e9, cuts=[0])
    assert all_local_restriction(problem).problem.candidates == ()
    result = solve(problem, "all-local", exact=solver)
    assert result.status is Status.INFEASIBLE
    assert result.reasons == [
        "m@8: all-local baseline: the model does not offer cut n (all blocks on the device)"
    ]


def test_static_cannot_mix_options(solver: str) -> None:
    # Device: 2 s, 0.5 J; server: 1 s, 1 J; K = 10, T_max = 15 s.
    # Optimum mixes: x device epochs need 2x + (10 - x) <= 15, so x = 5: 5 * 0.5 + 5 * 1 = 7.5 J.
    # Static: all device takes 20 s > 15 s; all server 10 s and 10 J.
    problem = one_bitwidth(time_s=15.0, eps_sd=0.5e-9, v_sd=0.5e9)
    optimum = solve(problem, solver)
    assert optimum.objective == pytest.approx(7.5) and optimum.plan is not None
    assert sorted((e.cut, e.epochs) for e in optimum.plan.schedule) == [(0, 5), (1, 5)]
    result = solve(problem, "static")
    assert result.status is Status.FEASIBLE
    assert result.plan is not None and [(e.cut, e.epochs) for e in result.plan.schedule] == [
        (0, 10)
    ]
    assert result.objective == pytest.approx(10.0)
    assert result.stats["static_plans_feasible"] == 1


def test_static_is_infeasible_exactly_when_the_problem_is() -> None:
    problem = one_bitwidth(time_s=9.0, eps_sd=0.5e-9, v_sd=0.5e9)  # fastest: 10 x 1 s > 9 s
    output = solve_static(problem, None)
    assert output.status is Status.INFEASIBLE and "10 s > T_max 9 s" in output.reasons[0]
    assert solve(problem, "static").status is Status.INFEASIBLE


def test_backend_reports_infeasible_restriction_and_checks_the_exact_solver(solver: str) -> None:
    problem = one_bitwidth(time_s=100.0, eps_sd=2e-9, v_sd=1e9)  # no 32-bit candidate
    output = solve_full_model(problem, None, exact=solver)
    assert output.status is Status.INFEASIBLE
    assert output.reasons == ["m@8: full-model baseline: 32-bit candidates only"]
    with pytest.raises(ValueError, match="exact solver 'jqodi' not understood"):
        solve_full_model(problem, None, exact="jqodi")
    result = solve(problem, "full-model", exact=solver)  # infeasible, not an error
    assert result.status is Status.INFEASIBLE and result.reasons == output.reasons


def test_cli_infeasible_baseline_exits_1_with_its_reasons(capsys) -> None:
    # Paper Data 1: the 32-bit VGG-like is the only learnable full-precision pair, and too slow.
    from jqodi_opt.cli import main

    code = main(
        ["solve", str(ROOT / "instances/paper/data1.json"), "--solver", "full-model", "--json"]
    )
    assert code == 1
    document = json.loads(capsys.readouterr().out)
    assert document["status"] == "infeasible"
    assert document["reasons"][0].startswith("vgg-like@32: fastest plan needs 491.")
