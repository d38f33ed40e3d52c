"""``jqodi compare`` on inference instances: the payoff table computed once and handed to every
solver (SPEC §7.3), the ``payoff`` option, the default per-solver time limit, CP-SAT's exact
short-decimal rows and the deprecated worker-count names."""

from __future__ import annotations

import importlib
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from jqodi_opt.exceptions import OptionError
from jqodi_opt.inference.compare import DEFAULT_TIME_LIMIT, compare_inference
from jqodi_opt.inference.solvers import objectives
from jqodi_opt.inference.solvers.baselines import instance_payoff
from jqodi_opt.inference.solvers.objectives import Payoff, coerce_payoff
from jqodi_opt.result import Status
from jqodi_opt.solve import solve

from .inference_brute import problem_of, random_document

WEIGHTED = {"weighted": {"latency": 0.3, "energy": 0.7}}


def weighted_problem(seed: int = 3) -> Any:
    doc = random_document(seed, layers=3, servers=3, dag=True)
    doc["objective"] = WEIGHTED
    return problem_of(doc)


def test_coerce_payoff_takes_a_table_or_its_mapping_and_refuses_the_rest() -> None:
    table = Payoff(1.0, 2.0, 3.0, 5.0, True)
    assert coerce_payoff(None) is None and coerce_payoff(table) is table
    doc = {"latency_s": 1, "energy_j": 2, "latency_nadir_s": 3, "energy_nadir_j": 5}
    assert coerce_payoff(doc) == Payoff(1.0, 2.0, 3.0, 5.0, False)  # unproven unless it says so
    assert coerce_payoff(doc | {"proven": True}) == table
    assert table.scales() == (2.0, 3.0)
    for bad in ({"latency_s": 1}, [1, 2, 3, 4], doc | {"energy_j": float("nan")}):
        with pytest.raises(OptionError, match="payoff"):
            coerce_payoff(bad)
    with pytest.raises(OptionError, match="payoff"):  # refused by solve before any work
        solve(weighted_problem(), "neurosurgeon", payoff="0.1,0.2")


def test_a_given_payoff_is_the_one_used_by_baselines_and_exact_solvers() -> None:
    problem = weighted_problem()
    table = instance_payoff(problem)
    assert table.status is Status.OPTIMAL and table.payoff is not None and table.payoff.proven
    for name in ("neurosurgeon", "dads", "qio", "milp", "cpsat"):
        own = solve(problem, name)
        given = solve(problem, name, payoff=table.payoff)
        assert given.stats["payoff"] == own.stats["payoff"], name  # the same numbers
        assert given.objective == pytest.approx(own.objective, rel=1e-9, abs=1e-12), name
        assert given.status is own.status, name
    # another table: every value is w_L (T - T*) / (T^N - T*) + w_E (E - E*) / (E^N - E*)
    other = Payoff(0.0, 0.0, 2.0, 4.0, True)
    for name in ("all-local", "milp"):
        result = solve(problem, name, payoff=other)
        assert result.plan is not None and result.objective is not None
        expected = 0.3 * result.plan.latency_s / 2.0 + 0.7 * result.plan.energy_j / 4.0
        assert result.objective == pytest.approx(expected, rel=1e-12), name
        assert result.stats["payoff"]["latency_nadir_s"] == 2.0


def test_an_unproven_payoff_never_gives_optimal() -> None:
    problem = weighted_problem()
    table = instance_payoff(problem).payoff
    assert table is not None
    result = solve(problem, "milp", payoff=table.__class__(**{**table.__dict__, "proven": False}))
    assert result.status is Status.FEASIBLE and result.plan is not None
    assert any("payoff table is not proven" in r for r in result.reasons)


def test_compare_computes_the_payoff_table_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = objectives.payoff_table

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(objectives, "payoff_table", counted)
    problem = weighted_problem()
    names = ["milp", "cpsat", "exhaustive", "qio", "neurosurgeon", "bottlenet", "dads"]
    comparison = compare_inference(problem, names)
    assert len(calls) == 1  # was once per solver
    assert comparison.time_limit == DEFAULT_TIME_LIMIT
    assert comparison.payoff is not None and comparison.payoff["status"] == "optimal"
    rows = {row.solver: row for row in comparison.rows}
    assert all(row.result is not None for row in rows.values())
    for row in rows.values():
        assert row.result is not None and row.result.stats["payoff"]["proven"] is True
        assert row.result.stats["payoff"]["latency_s"] == comparison.payoff["latency_s"]
    assert comparison.optimum is not None
    for name in ("milp", "cpsat", "exhaustive"):  # the same proven optimum, on the same scale
        assert rows[name].result.status is Status.OPTIMAL  # type: ignore[union-attr]
        assert rows[name].gap_to_optimum == pytest.approx(0.0, abs=1e-6)
    for name in ("qio", "neurosurgeon", "bottlenet", "dads"):
        gap = rows[name].gap_to_optimum
        assert gap is not None and gap >= -1e-9, name


def test_compare_without_a_payoff_table_does_not_run_the_restrictions() -> None:
    doc = random_document(3, layers=3, servers=3, dag=True)
    doc["objective"] = WEIGHTED
    doc["limits"] = {"latency_s": 1e-9}  # no plan at all
    problem = problem_of(doc)
    comparison = compare_inference(problem, ["milp", "neurosurgeon"])
    rows = {row.solver: row for row in comparison.rows}
    assert comparison.payoff is not None and comparison.payoff["status"] == "infeasible"
    assert rows["milp"].status == "infeasible"
    assert rows["neurosurgeon"].status == "infeasible" and rows["neurosurgeon"].result is None
    backend = comparison.payoff["solver"]  # the backend auto picked for the payoff table
    assert backend in ("dag-dp", "milp")
    assert f"payoff table ({backend}) has no plan" in rows["neurosurgeon"].note


def test_cli_compare_has_a_default_time_limit(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from jqodi_opt.cli import main

    path = tmp_path / "w.json"
    doc = random_document(3, layers=3, servers=3, dag=True)
    doc["objective"] = WEIGHTED
    path.write_text(json.dumps(doc))
    assert main(["compare", str(path), "--solvers", "milp,neurosurgeon", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["time_limit_s"] == DEFAULT_TIME_LIMIT
    assert document["payoff"]["status"] == "optimal"
    assert main(["compare", str(path), "--solvers", "milp", "--time-limit", "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["time_limit_s"] == 3.0
    assert main(["compare", str(path), "--time-limit", "0"]) == 2
    assert "--time-limit" in capsys.readouterr().err


def test_cpsat_keeps_an_accuracy_budget_met_exactly() -> None:
    """Six layers of 0.1, 0.2, ..., 0.5 and 0.01 s, each 2x faster at 8 bits for a drop of 0.002,
    and a budget of 0.01: the optimum quantises the five largest, using the budget exactly
    (rounding each drop up cut it off, and CP-SAT proved 0.81 s "optimal")."""
    layers = [f"l{i}" for i in range(6)]
    flops = [1e8, 2e8, 3e8, 4e8, 5e8, 1e7]
    doc = {
        "format": "jqodi-inference/1",
        "name": "budget",
        "servers": [
            {
                "name": "dev",
                "tier": "device",
                "speed_flops": 1e9,
                "power_w": 5.0,
                "speedup": {"8": 2.0},
            },
            {"name": "far", "tier": "cloud", "speed_flops": 1e9, "power_w": 5.0},
        ],
        "links": [{"between": ["dev", "far"], "rate_bps": 1e3, "energy_per_bit": 1e-6}],
        "model": {
            "name": "m",
            "input_bytes": 1e6,
            "layers": [
                {"name": n, "flops": f, "params": 10, "output_bytes": 1e6}
                for n, f in zip(layers, flops, strict=True)
            ],
        },
        "quantization": {"bits": [32, 8], "layers": layers},
        "accuracy": {
            "max_drop": 0.01,
            "terms": [{"layer": n, "bits": 8, "drop": 0.002} for n in layers],
        },
        "objective": "latency",
    }
    problem = problem_of(doc)
    milp, cpsat = solve(problem, "milp"), solve(problem, "cpsat")
    assert milp.status is Status.OPTIMAL and cpsat.status is Status.OPTIMAL
    assert milp.objective == pytest.approx(0.76)  # (0.1 + ... + 0.5) / 2 + 0.01 s, on the device
    assert cpsat.objective == pytest.approx(0.76, rel=1e-12)
    assert cpsat.plan is not None and cpsat.plan.accuracy_drop == pytest.approx(0.01)


@pytest.mark.parametrize(("name", "alias"), [("milp", "threads"), ("cpsat", "workers")])
def test_worker_count_is_num_workers_and_the_old_name_warns(name: str, alias: str) -> None:
    problem = problem_of(random_document(1, layers=2, servers=2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert solve(problem, name, num_workers=1).status is Status.OPTIMAL
    with pytest.warns(DeprecationWarning, match=f"{alias!r} is deprecated"):
        assert solve(problem, name, **{alias: 1}).status is Status.OPTIMAL
    with pytest.raises(OptionError, match="not both"):
        solve(problem, name, num_workers=1, **{alias: 1})
    with pytest.raises(OptionError, match="num_workers"):
        solve(problem, name, num_workers=0)


def test_without_a_proof_gaps_are_to_the_best_exact_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """milp cut short by the time limit (simulated: its status and bound replaced) and no other
    exact row: the gaps are measured against milp's plan and its bound is reported."""
    registry = importlib.import_module("jqodi_opt.solve")  # the module, not the function
    real = registry.solve

    def cut_short(problem: Any, solver: str, **kwargs: Any) -> Any:
        result = real(problem, solver, **kwargs)
        if solver == "milp":
            result.status, result.bound = Status.TIME_LIMIT, float(result.objective) - 0.25
        return result

    monkeypatch.setattr(registry, "solve", cut_short)
    problem = problem_of(random_document(3, layers=3, servers=3, dag=True, objective="energy"))
    comparison = compare_inference(problem, ["milp", "all-local"])
    rows = {row.solver: row for row in comparison.rows}
    milp, local = rows["milp"].result, rows["all-local"].result
    assert milp is not None and local is not None and milp.objective is not None
    assert comparison.optimum is None and comparison.best_solver == "milp"
    assert comparison.best == milp.objective
    assert comparison.best_bound == pytest.approx(milp.objective - 0.25)
    assert rows["milp"].gap_to_optimum == 0.0
    assert local.objective is not None
    assert rows["all-local"].gap_to_optimum == pytest.approx(
        (local.objective - milp.objective) / milp.objective
    )
