"""The independent plan check: recomputes everything from the instance, trusts nothing."""

from __future__ import annotations

import pytest

from jqodi_opt import Plan, evaluate
from jqodi_opt.exceptions import PlanError
from jqodi_opt.finetune.evaluate import epoch_cost
from jqodi_opt.finetune.plan import ScheduleEntry, build_plan, read_plan, write_plan


def plan_of(schedule: list[tuple[str, int, int]], model: str = "m1", bits: int = 8, **kw) -> Plan:
    entries = [ScheduleEntry(edge_server=x, cut=j, epochs=n) for x, j, n in schedule]
    return Plan(instance="tiny", model=model, bits=bits, schedule=entries, **kw)


def test_feasible_plan_is_recomputed(tiny) -> None:
    plan = plan_of([("es1", 1, 20), ("es1", 2, 9)], energy_j=1.0, time_s=1.0)  # numbers ignored
    check = evaluate(tiny, plan)
    t1, e1 = epoch_cost(tiny, "m1", 8, "es1", 1)
    t2, e2 = epoch_cost(tiny, "m1", 8, "es1", 2)
    assert check.feasible and check.violations == []
    assert check.time_s == pytest.approx(1e9 / 1e13 + 20 * t1 + 9 * t2)
    assert check.energy_j == pytest.approx(1e9 * 4e-11 + 20 * e1 + 9 * e2)
    assert check.final_loss < 0.0186


def test_over_the_time_limit(tiny) -> None:
    # 29 epochs all on the device: 29 * 3.123 s = 90.6 s; fine at 180 s, not at 60 s.
    from jqodi_opt.read import build_instance, instance_to_dict

    doc = instance_to_dict(tiny)
    doc["limits"]["time_s"] = 60.0
    check = evaluate(build_instance(doc), plan_of([("es1", 2, 29)]))
    assert not check.feasible
    assert len(check.violations) == 1
    assert check.violations[0].startswith("time 90.")
    assert check.violations[0].endswith("s exceeds T_max 60 s")


def test_wrong_number_of_epochs(tiny) -> None:
    check = evaluate(tiny, plan_of([("es1", 1, 28)]))
    assert check.violations == [
        "schedule has 28 epochs; m1@8 needs exactly 29 to reach loss 0.0186 (robust estimator)"
    ]
    assert evaluate(tiny, plan_of([("es1", 1, 26)]), estimator="expected").feasible


def test_unknown_edge_server_and_cut(tiny) -> None:
    check = evaluate(tiny, plan_of([("es9", 1, 20), ("es1", 5, 9)]))
    assert check.violations == [
        "schedule[0]: unknown edge server 'es9'",
        "schedule[1]: cut 5 is not offered by m1 (cuts [0, 1, 2])",
    ]


def test_infeasible_candidate_and_unknown_model(tiny) -> None:
    check = evaluate(tiny, plan_of([("es1", 0, 5)], bits=32))
    assert not check.feasible
    assert "m1@32 cannot reach the loss target: marked infeasible" in check.violations[0]
    assert evaluate(tiny, plan_of([("es1", 0, 5)], model="m7")).violations == ["unknown model 'm7'"]


def test_plan_round_trip(tmp_path) -> None:
    plan = plan_of([("es1", 1, 20), ("es1", 2, 9)], energy_j=12.5)
    path = tmp_path / "plan.json"
    write_plan(plan, path)
    assert read_plan(path) == plan
    assert plan.summary() == "es1/cut1 x20, es1/cut2 x9"


def test_bad_plan_names_the_field() -> None:
    doc = {"format": "jqodi-plan/1", "model": "m1", "bits": 8,
           "schedule": [{"edge_server": "es1", "cut": 1, "epochs": 0}]}  # fmt: skip
    with pytest.raises(PlanError) as info:
        build_plan(doc, "p.json")
    assert info.value.lines() == ["p.json: schedule[0].epochs: must be >= 1 (got 0)"]
