"""``compare``: the Fig. 7 line-up on one instance, gaps to the optimum, simulation, plot, CLI."""

from __future__ import annotations

import json

import pytest

from jqodi_opt import Status, read_instance
from jqodi_opt.cli import main
from jqodi_opt.finetune.compare import LABELS, compare, relative_gap
from jqodi_opt.finetune.plotting import comparison_trajectories, plot_comparison

from .conftest import DATA

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


def test_plot(tmp_path) -> None:
    instance = read_instance(TINY_TRUTH)
    comparison = compare(instance, ["jqodi", "static", "full-model"])
    path = tmp_path / "fig7.png"
    plot_comparison(comparison, instance, path)
    assert path.stat().st_size > 10_000


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
