"""Simulation against the truth curve: late, early and never reaching the target; errors; CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from jqodi_opt import Plan, compile_problem, solve, write_plan
from jqodi_opt.cli import main
from jqodi_opt.finetune.plan import ScheduleEntry
from jqodi_opt.finetune.simulate import SimulationError, simulate

from .conftest import DATA
from .test_jqodi import simple_instance

TINY_TRUTH = str(DATA / "tiny_truth.json")


def plan_of(entries: list[tuple[int, int]], bits: int = 8) -> Plan:
    """A plan on model ``m`` of :func:`simple_instance`: ``(cut, epochs)`` entries on ``es``."""
    schedule = [ScheduleEntry(edge_server="es", cut=cut, epochs=k) for cut, k in entries]
    return Plan(model="m", bits=bits, schedule=schedule)


def epochs_instance(truth: int, time_s: float = 11.0):
    # 8-bit at scale 1: cut 0 = 1 s, 1 J per epoch; cut 1 (device, 2e9 FLOP/s) = 0.5 s, 2 J.
    return simple_instance(
        [{"bits": 8, "scale": 1.0, "gamma": {"expected": 0.02, "robust": 0.025},
          "epochs": {"expected": 8, "robust": 10}, "truth": truth}],
        time_s=time_s, device_speed=2e9,
    )  # fmt: skip


def test_truth_slower_than_robust_reaches_the_target_late_and_misses_the_time_limit() -> None:
    instance = epochs_instance(truth=13)
    plan = plan_of([(1, 2), (0, 8)])  # 2 x (0.5 s, 2 J) then 8 x (1 s, 1 J): 9 s, 12 J planned
    sim = simulate(instance, plan)
    assert (sim.epochs_planned, sim.epochs_needed, sim.epochs_run) == (10, 13, 13)
    assert sim.extra_epochs == 3 and sim.unused_epochs == 0
    # The last option (cut 0: 1 s, 1 J) is repeated 3 times: 9 + 3 = 12 s > T_max 11 s; 15 J.
    assert sim.time_s == pytest.approx(12.0) and sim.energy_j == pytest.approx(15.0)
    assert sim.planned_time_s == pytest.approx(9.0) and sim.planned_energy_j == pytest.approx(12.0)
    assert sim.target_met is True
    assert sim.time_limit_met is False
    assert sim.final_loss < instance.limits.loss
    assert any("runs out" in note for note in sim.notes)
    assert any("exceeds T_max" in note for note in sim.notes)
    assert [cut for _, cut in sim.epoch_options] == [1, 1] + [0] * 11
    # Per-epoch trajectories: index 0 before any epoch.
    assert len(sim.cumulative_time_s) == len(sim.loss) == 14
    assert sim.cumulative_time_s[2] == pytest.approx(1.0)
    assert np.all(np.diff(sim.cumulative_energy_j) > 0)
    # Epochs form: a straight line from L0 = 0.01 + 0.02 (expected gamma) to just below L_max.
    assert sim.loss[0] == pytest.approx(0.03) and sim.loss[-1] < 0.02 <= sim.loss[-2]


def test_truth_faster_than_planned_stops_early() -> None:
    sim = simulate(epochs_instance(truth=6), plan_of([(0, 10)]))
    assert (sim.epochs_run, sim.unused_epochs, sim.extra_epochs) == (6, 4, 0)
    assert sim.energy_j == pytest.approx(6.0) and sim.time_s == pytest.approx(6.0)
    assert sim.target_met and sim.time_limit_met
    assert any("reached after 6 of 10" in note for note in sim.notes)


def power_law_instance(truth: dict[str, float]):
    # L0 = loss 0.01 + gamma; target 0.021.
    #   expected: L0 = 0.1 (gamma 0.09), 0.1 / (k + 1) < 0.021  -> k + 1 > 4.76 -> K = 4
    #   robust:   L0 = 0.12 (gamma 0.11), 0.12 / (k + 1) < 0.021 -> k + 1 > 5.71 -> K = 5
    return simple_instance(
        [{"bits": 8, "scale": 1.0, "gamma": {"expected": 0.09, "robust": 0.11},
          "power_law": {"expected": {"floor": 0.0, "exponent": 1.0},
                        "robust": {"floor": 0.0, "exponent": 1.0}},
          "truth": truth}],
        time_s=6.0, loss=0.021,
    )  # fmt: skip


def test_power_law_truth_slower_than_robust() -> None:
    instance = power_law_instance({"floor": 0.0, "exponent": 0.5})
    problem = compile_problem(instance)
    assert problem.candidates[0].epochs == 5
    result = solve(problem, "jqodi")
    assert result.plan is not None and result.plan.num_epochs == 5
    sim = simulate(instance, result.plan)
    # Truth, started at the expected L0 = 0.1: 0.1 / sqrt(k + 1) < 0.021 -> k + 1 > 22.68 -> 22.
    assert sim.epochs_needed == 22 and sim.epochs_run == 22
    assert sim.final_loss == pytest.approx(0.1 / 23**0.5)
    assert sim.loss[21] >= 0.021 > sim.loss[22]
    assert sim.target_met and not sim.time_limit_met  # 22 epochs of >= 0.5 s > 6 s
    # Against the robust curve the plan does what it promised.
    planned = simulate(instance, result.plan, curve="robust")
    assert planned.epochs_run == 5 and planned.target_met and planned.time_limit_met
    assert planned.energy_j == pytest.approx(result.objective)
    # The robust gamma as the truth's start: 0.12 / sqrt(k + 1) < 0.021 -> k + 1 > 32.65 -> 32.
    assert simulate(instance, result.plan, gamma="robust").epochs_needed == 32


def test_truth_that_never_reaches_the_target() -> None:
    instance = power_law_instance({"floor": 0.03, "exponent": 1.0})
    sim = simulate(instance, plan_of([(0, 5)]))
    assert sim.epochs_needed is None and sim.epochs_run == 5
    assert not sim.target_met and sim.time_limit_met
    assert sim.final_loss > instance.limits.loss
    assert any("never gets below" in note for note in sim.notes)


def test_missing_truth_and_bad_plans_are_clear_errors(tiny) -> None:
    result = solve(compile_problem(tiny), "jqodi")
    assert result.plan is not None
    with pytest.raises(SimulationError, match=r"no truth curve \(learning\[\d\]\.truth\)"):
        simulate(tiny, result.plan)
    with pytest.raises(SimulationError, match="not offered"):
        simulate(tiny, result.plan.model_copy(update={"schedule": [
            ScheduleEntry(edge_server="es1", cut=7, epochs=2)]}))  # fmt: skip
    with pytest.raises(SimulationError, match="curve"):
        simulate(tiny, result.plan, curve="best")  # type: ignore[arg-type]
    assert simulate(tiny, result.plan, curve="robust").target_met  # estimators need no truth


def test_cli_simulate(capsys, tmp_path, tiny) -> None:
    from jqodi_opt import read_instance

    instance = read_instance(TINY_TRUTH)
    result = solve(compile_problem(instance), "jqodi")
    assert result.plan is not None
    path = tmp_path / "plan.json"
    write_plan(result.to_plan_document(), path)
    assert main(["simulate", TINY_TRUTH, str(path)]) == 0
    captured = capsys.readouterr()
    assert "target met" in captured.out and "time limit met" in captured.out
    assert main(["simulate", TINY_TRUTH, str(path), "--json", "--trajectory"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["target_met"] is True and len(doc["loss"]) == doc["epochs_run"] + 1
    # No truth curve in tiny.json: one clear line, exit 2.
    assert main(["simulate", str(DATA / "tiny.json"), str(path)]) == 2
    err = capsys.readouterr().err
    assert "no truth curve" in err and "Traceback" not in err
