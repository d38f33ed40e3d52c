"""``compare``: the Fig. 7 line-up on one instance, gaps to the optimum, simulation, plot, CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jqodi_opt import Status, read_instance
from jqodi_opt.cli import main
from jqodi_opt.finetune.compare import LABELS, compare, least_energy_ignoring_time, relative_gap
from jqodi_opt.finetune.plotting import comparison_trajectories
from jqodi_opt.finetune.problem import Problem, compile_problem
from jqodi_opt.read import build_instance
from jqodi_opt.solve import solve

from .conftest import DATA, ROOT

TINY_TRUTH = DATA / "tiny_truth.json"
BASELINES = ["full-model", "minimal-model", "all-local", "all-server", "static"]


def test_compare_lines_up_optimum_jqodi_and_baselines(solver: str) -> None:
    instance = read_instance(TINY_TRUTH)
    comparison = compare(instance, [solver, "jqodi", *BASELINES], exact=solver)
    rows = {row.solver: row for row in comparison.rows}
    assert [row.label for row in comparison.rows] == [
        LABELS.get(n, n) for n in [solver, "jqodi", *BASELINES]
    ]
    assert comparison.reference == solver
    assert rows[solver].result.status is Status.OPTIMAL and rows[solver].gap == 0.0
    optimum = comparison.optimum_j
    assert optimum is not None and optimum == rows[solver].result.objective
    for row in comparison.rows:
        if row.result.plan is not None:
            assert row.gap is not None and row.gap >= -1e-9  # nothing beats the optimum
            assert row.simulation is not None  # tiny_truth has a truth curve for every pair
            assert row.simulation.planned_energy_j == pytest.approx(row.result.objective)
    # m1@32 is marked infeasible, so the full-model baseline has no plan, and says why.
    full = rows["full-model"]
    assert full.result.status is Status.INFEASIBLE and full.gap is None and full.note == "no plan"
    assert "m1@32: marked infeasible (gamma = inf)" in full.result.reasons
    # tiny's smallest bit-width is 4: minimal-model is m1@4.
    assert rows["minimal-model"].result.plan is not None
    assert rows["minimal-model"].result.plan.bits == 4
    doc = json.loads(json.dumps(comparison.to_dict()))
    assert doc["reference"] == solver and len(doc["rows"]) == 7
    assert doc["rows"][1]["label"] == "JQODI" and doc["rows"][1]["target_met"] is True


def test_without_an_exact_solver_there_are_no_gaps() -> None:
    comparison = compare(read_instance(TINY_TRUTH), ["jqodi", "static"])
    assert comparison.reference is None and comparison.optimum_j is None
    assert all(row.gap is None for row in comparison.rows)


def test_rows_without_truth_are_not_simulated(tiny) -> None:
    comparison = compare(tiny, ["jqodi"])
    row = comparison.rows[0]
    assert row.simulation is None and row.note.startswith("no truth curve for m1@")
    # The plot then draws the plan against its own estimator.
    (label, sim), = comparison_trajectories(comparison, tiny)  # fmt: skip
    assert label == "JQODI" and sim.curve == "robust"


def test_unknown_solver_is_refused(tiny) -> None:
    with pytest.raises(ValueError, match="unknown solver"):
        compare(tiny, ["jqodi", "simplex"])


def test_relative_gap() -> None:
    assert relative_gap(11.0, 10.0) == pytest.approx(0.1)
    assert relative_gap(0.0, 0.0) == 0.0 and relative_gap(1.0, 0.0) is None


def test_cli_compare(capsys, tmp_path, solver: str) -> None:
    plot = tmp_path / "fig7.png"
    names = ",".join([solver, "jqodi", *BASELINES])
    code = main(["compare", str(TINY_TRUTH), "--solvers", names, "--exact", solver,
                 "--plot", str(plot)])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    for label in (LABELS.get(solver, solver), "JQODI", "Full Model", "Minimal Model", "Static"):
        assert label in captured.out
    assert plot.exists() and "plot written" in captured.err
    assert main(["compare", str(TINY_TRUTH), "--solvers", "jqodi,static", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [row["solver"] for row in doc["rows"]] == ["jqodi", "static"]
    assert main(["compare", str(TINY_TRUTH), "--solvers", "jqodi,nope"]) == 2
    assert "unknown solver" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------------
# A baseline that cannot meet T_max: its least-energy plan without the limit, and the overrun
# --------------------------------------------------------------------------------------------------

#: One block, cuts 0 (all on the ES) and 1 (all on the device), negligible links and cloud work.
#: Per epoch at 32 bits the block is 1e9 FLOP: ES 0.1 s / 10 J, device 1 s / 1 J; at 8 bits a
#: quarter of that. K = 10 for both pairs, T_max = 0.5 s. So the 32-bit pair (Full Model) needs
#: at least 10 x 0.1 = 1 s = 2 x T_max, and its least-energy plan is 10 epochs on the device:
#: 10 s = 20 x T_max, 10 J. Cut 1 only (All local): the 8-bit pair is cheapest, 10 x 0.25 s =
#: 2.5 s = 5 x T_max, 2.5 J. The optimum is 8 bits, one epoch on the device and nine on the ES:
#: 0.25 + 9 x 2.5 = 22.75 J in 0.475 s.
OVERRUN: dict[str, Any] = {
    "format": "jqodi-instance/1",
    "name": "overrun",
    "training_factor": 1.0,
    "cloud": {"speed_flops": 1.0e12, "energy_per_flop": 1.0e-12},
    "edge_servers": [{"name": "es", "speed_flops": 1.0e10, "energy_per_flop": 1.0e-8,
                      "cloud_rate_bps": 1.0e12, "cloud_energy_per_bit": 1.0e-15}],
    "device": {"name": "sd", "speed_flops": 1.0e9, "energy_per_flop": 1.0e-9,
               "train_samples": 1000},
    "links": [{"edge_server": "es", "rate_bps": 1.0e12, "energy_per_bit": 1.0e-15}],
    "bitwidths": [{"bits": 8}, {"bits": 32}],
    "models": [{"name": "m", "loss": 0.01, "cloud_flops": 1.0,
                "blocks": [{"name": "b", "flops": 1.0e6, "params": 1}]}],
    "learning": [
        {"model": "m", "bits": 8, "epochs": {"expected": 10, "robust": 10}, "truth": 10},
        {"model": "m", "bits": 32, "epochs": {"expected": 10, "robust": 10}, "truth": 10},
    ],
    "limits": {"time_s": 0.5, "loss": 0.02},
}  # fmt: skip


def with_time_limit(document: dict[str, Any], time_s: float) -> Problem:
    """The compiled instance ``document`` with ``limits.time_s`` replaced."""
    changed = json.loads(json.dumps(document))
    changed["limits"]["time_s"] = time_s
    return compile_problem(build_instance(changed))


def test_a_baseline_over_t_max_reports_its_least_energy_plan_and_overrun() -> None:
    comparison = compare(build_instance(OVERRUN), ["milp", "full-model", "all-local", "static"])
    rows = {row.solver: row for row in comparison.rows}
    assert comparison.optimum_j == pytest.approx(22.75, rel=1e-6)
    full = rows["full-model"]
    assert full.result.status is Status.INFEASIBLE and full.result.plan is None
    assert full.note == "no plan within T_max"
    over = full.overrun
    assert over is not None
    # cut 1 = the one block on the device (a schedule names the edge server even then)
    assert (over.plan.model, over.plan.bits, over.plan.summary()) == ("m", 32, "es/cut1 x10")
    assert over.energy_j == pytest.approx(10.0, rel=1e-6)
    assert over.time_ratio == pytest.approx(20.0, rel=1e-6)
    assert over.fastest_time_s == pytest.approx(1.0, rel=1e-6)
    assert over.fastest_ratio == pytest.approx(2.0, rel=1e-6)
    assert full.overrun_gap == pytest.approx((10.0 - 22.75) / 22.75, rel=1e-6)
    local = rows["all-local"].overrun
    assert local is not None and (local.plan.bits, local.plan.summary()) == (8, "es/cut1 x10")
    assert local.time_ratio == pytest.approx(5.0, rel=1e-6)
    assert local.fastest_ratio == pytest.approx(5.0, rel=1e-6)
    # Rows that meet T_max have no overrun.
    assert rows["milp"].overrun is None and rows["static"].overrun is None
    doc = json.loads(json.dumps(comparison.to_dict()))["rows"][1]
    assert doc["status"] == "infeasible" and doc["overrun"]["time_limit_met"] is False
    assert doc["overrun"]["time_ratio"] == pytest.approx(20.0, rel=1e-6)
    assert doc["overrun"]["schedule"] == "es/cut1 x10"


def test_a_row_that_cannot_learn_has_no_overrun(tiny) -> None:
    # tiny's m1@32 is marked infeasible: Full Model fails on the loss, not on time.
    row = compare(tiny, ["full-model"]).rows[0]
    assert row.result.status is Status.INFEASIBLE and row.overrun is None and row.note == "no plan"


@pytest.mark.parametrize("name", ["full-model", "all-local", "milp"])
def test_overrun_plan_is_the_exact_optimum_without_the_time_limit(name: str) -> None:
    # The closed form against the exact solver on the same option set with T_max out of reach,
    # on the paper's Data 1 (two servers, six cuts, many candidates).
    document = json.loads((ROOT / "instances" / "paper" / "data1.json").read_text("utf-8"))
    over = least_energy_ignoring_time(with_time_limit(document, 1.0), name)
    assert over is not None and over.time_ratio > 1
    exact = solve(with_time_limit(document, 1e9), name)  # no plan comes near 1e9 s
    assert exact.plan is not None and exact.objective is not None
    assert over.energy_j == pytest.approx(exact.objective, rel=1e-6)
    assert (over.plan.model, over.plan.bits) == (exact.plan.model, exact.plan.bits)


def test_no_overrun_when_the_option_set_is_feasible(tiny) -> None:
    assert least_energy_ignoring_time(compile_problem(tiny), "milp") is None


def test_cli_compare_marks_a_baseline_over_t_max(tmp_path, capsys) -> None:
    path = tmp_path / "overrun.json"
    path.write_text(json.dumps(OVERRUN), encoding="utf-8")
    assert main(["compare", str(path), "--solvers", "milp,full-model"]) == 0
    captured = capsys.readouterr()
    assert "over T_max" in captured.out and "(20× T_max)" in captured.out
    assert "Full Model: no plan within T_max 0.5 s" in captured.err
    assert "= 20 × T_max" in captured.err and "= 2 × T_max" in captured.err
    assert main(["compare", str(path), "--solvers", "milp,full-model", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert rows[0]["overrun"] is None
    assert rows[1]["overrun"]["fastest_ratio"] == pytest.approx(2.0, rel=1e-6)
