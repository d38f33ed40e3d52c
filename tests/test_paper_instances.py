"""The paper instances: files as calibrate.py writes them, and the paper's decisions they reproduce.

Each decision below is one the README's paper-vs-package table claims (instances/paper/README.md
§7), checked with the package's exact solver and ``compare``.
"""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest

from jqodi_opt import Status, read_instance
from jqodi_opt.finetune.compare import compare
from jqodi_opt.finetune.problem import compile_problem
from jqodi_opt.solve import solve

from .conftest import ROOT

PAPER = ROOT / "instances" / "paper"


def calibrate_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("paper_calibrate", PAPER / "calibrate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_files_are_what_calibrate_writes() -> None:
    assert calibrate_module().main(check=True) == 0


def test_energies_follow_the_rated_power_rule() -> None:
    # energy per FLOP = rated power / speed; per bit = (rated power of both ends) / rate
    rated = calibrate_module().RATED_W
    for data in (1, 2):
        instance = read_instance(PAPER / f"data{data}.json")
        device = instance.device
        assert device.energy_per_flop * device.speed_flops == pytest.approx(rated["pi5"], rel=1e-5)
        for server in instance.edge_servers:
            power = rated[server.name]
            assert server.energy_per_flop * server.speed_flops == pytest.approx(power, rel=1e-5)
            assert server.cloud_energy_per_bit * server.cloud_rate_bps == pytest.approx(
                power + rated["cloud"], rel=1e-5
            )
        for link in instance.links:
            assert link.rate_bps is not None
            assert link.energy_per_bit * link.rate_bps == pytest.approx(
                rated["pi5"] + rated[link.edge_server], rel=1e-5
            )
        # Observation 3: the device spends less energy per FLOP than either edge server.
        assert all(device.energy_per_flop < s.energy_per_flop for s in instance.edge_servers)


def test_data1_optimum_is_the_papers() -> None:
    # Paper §V-C: LeNet-like, 8 bits, partition point 1, RTX 3090.
    result = solve(compile_problem(read_instance(PAPER / "data1.json")), "milp")
    assert result.status is Status.OPTIMAL and result.plan is not None
    assert (result.plan.model, result.plan.bits) == ("lenet-like", 8)
    assert result.plan.summary() == "rtx3090/cut1 x29"


def test_data2_decisions() -> None:
    # Paper §V-D. Optimum: ResNet20 6-bit at partition point 1 on the RTX 4090 (here the 6-bit
    # LeNet-like, at the same cut and server). Full Model: full-precision LeNet-like at partition
    # point 1 (on the RTX 3090 in the paper, on the 4090 here: README §2). Minimal Model: 1-bit
    # VGG-like, partition point 2, RTX 4090. All within T_max.
    instance = read_instance(PAPER / "data2.json")
    comparison = compare(instance, ["milp", "full-model", "minimal-model"])
    optimum, full, minimal = (row.result.plan for row in comparison.rows)
    assert optimum is not None and full is not None and minimal is not None
    assert (optimum.model, optimum.bits, optimum.summary()) == ("lenet-like", 6, "rtx4090/cut1 x39")
    assert (full.model, full.bits, full.summary()) == ("lenet-like", 32, "rtx4090/cut1 x35")
    assert (minimal.model, minimal.bits) == ("vgg-like", 1)
    assert {entry.edge_server for entry in minimal.schedule} == {"rtx4090"}
    by_cut = {entry.cut: entry.epochs for entry in minimal.schedule}
    assert max(by_cut, key=lambda cut: by_cut[cut]) == 2  # most epochs at partition point 2


def test_data1_full_model_cannot_meet_t_max() -> None:
    # Paper §V-C: the full-precision VGG-like on the RTX 4090 reaches the target only after T_max.
    row = compare(read_instance(PAPER / "data1.json"), ["full-model"]).rows[0]
    assert row.result.status is Status.INFEASIBLE and row.overrun is not None
    plan = row.overrun.plan
    assert (plan.model, plan.bits) == ("vgg-like", 32)
    assert {entry.edge_server for entry in plan.schedule} == {"rtx4090"}
    assert row.overrun.fastest_ratio > 1
