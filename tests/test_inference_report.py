"""benchmarks/inference_report.py on small hand-made runs: the cells, the Nicosanti tables against
their figures, the targets' verdicts, Mu et al.'s speed-up ranges, the gap table, the README
splice, and loading a results file whose suite dropped a run."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

from jqodi_opt.bench import db

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "inference_report.py"


@pytest.fixture(scope="module")
def rep() -> ModuleType:
    spec = importlib.util.spec_from_file_location("inference_report", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["inference_report"] = module
    spec.loader.exec_module(module)
    return module


def run(
    entry: str,
    sweep: str,
    layers: int,
    servers: int,
    goal: str,
    seconds: float,
    status: str = "optimal",
    seed: int = 1,
    solver: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One run row: ``seconds`` split as 0.25 s compile + the rest runtime."""
    family = sweep.split("-")[0]
    return {
        "instance_hash": f"{family}-{layers}-{servers}-{goal}-{seed}",
        "solver": solver or entry, "params": "{}", "entry": entry, "sweep": sweep,
        "status": status, "family": family, "seed": seed, "layers": layers, "servers": servers,
        "k_objective": goal, "compile_time_s": 0.25, "runtime_s": seconds - 0.25,
        "wall_time_s": seconds + 0.5, "build_time_s": 0.1, "solve_time_s": seconds - 0.35,
        "front_points": np.nan, "exact": 1, "objective": 1.0,
    } | extra  # fmt: skip


def frame_of(rep: ModuleType, rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = rep.with_derived(pd.DataFrame(rows))
    return frame.assign(family_name=frame["family"])


def test_time_cell_says_how_many_proved(rep: ModuleType) -> None:
    frame = frame_of(rep, [
        run("dp", "chain", 500, 3, "latency", 1.0, seed=1),
        run("dp", "chain", 500, 3, "latency", 3.0, seed=2),
        run("dp", "chain", 500, 3, "latency", 30.0, "time_limit", seed=3),
    ])  # fmt: skip
    assert rep.time_cell(frame.iloc[:2]) == "2"  # median of 1 and 3
    assert rep.time_cell(frame) == "2 (2/3)"
    assert rep.time_cell(frame.iloc[2:]) == "limit"
    assert rep.time_cell(frame.iloc[2:].assign(status="dropped")) == "dropped"
    assert rep.time_cell(frame.iloc[2:].assign(status="error")) == "error"


def test_scale_table_adds_three_objectives_and_divides_theirs(rep: ModuleType) -> None:
    frame = frame_of(rep, [
        run("dp", "chain", 500, 3, "latency", 1.0),
        run("dp", "chain", 500, 3, "energy", 2.0),
        run("dp", "chain", 500, 3, "weighted", 3.0),
        run("milp", "chain", 500, 3, "latency", 2.0),
        run("milp", "chain", 500, 3, "energy", 2.0),
        run("milp", "chain", 500, 3, "weighted", 40.0, "time_limit"),
        run("cpsat", "chain-cpsat", 500, 3, "latency", 9.0),
    ])  # fmt: skip
    table = rep.scale_table(frame, "chain").set_index("solver")
    assert table.loc["dp", "nodes (layers)"] == "502 (500)"
    assert table.loc["dp", "three s"] == "6"
    assert table.loc["dp", "theirs s"] == "3.04"  # Nicosanti et al., 502 nodes x 3 servers
    assert table.loc["dp", "theirs / ours"] == f"{3.04 / 6:.3g}"
    assert table.loc["milp", "weighted s"] == "limit"
    assert table.loc["milp", "three s"] == "—" and table.loc["milp", "proven"] == "2/3"
    assert table.loc["cpsat", "latency s"] == "9" and table.loc["cpsat", "energy s"] == ""


def target_rows(dp: float, milp: float, front: float, dag: float) -> list[dict[str, Any]]:
    """The target points: dp and milp on the 1,850-layer chain (each objective taking the given
    seconds), its front, milp on the 1,140-layer DAG."""
    rows = [run(e, "chain", 1850, 6, o, t) for e, t in (("dp", dp), ("milp", milp))
            for o in ("latency", "energy", "weighted")]  # fmt: skip
    rows.append(run("front-dp", "chain-front", 1850, 6, "latency", front, solver="pareto",
                    front_points=10.0))  # fmt: skip
    rows += [run("milp", "dag", 1140, 6, o, dag) for o in ("latency", "energy", "weighted")]
    return rows


def test_targets_met_and_missed(rep: ModuleType) -> None:
    times, judged = rep.targets_tables(frame_of(rep, target_rows(0.9, 9.0, 20.0, 4.0)))
    assert list(judged["verdict"]) == ["**met**"] * 4
    assert "2.7 s (dp, three runs)" in judged.loc[0, "measured"]
    assert "10 points" in judged.loc[1, "measured"]
    assert "median milp / dp 10× over 3 instances" in judged.loc[3, "measured"]
    dp_row = times[(times["solver"] == "dp")].iloc[0]
    assert dp_row["three"] == "2.7" and dp_row["theirs / ours"] == f"{208.06 / 2.7:.3g}"
    _, judged = rep.targets_tables(frame_of(rep, target_rows(1.5, 9.0, 40.0, 6.0)))
    assert list(judged["verdict"]) == ["**missed**"] * 4


def test_a_run_listed_by_two_sweeps_counts_once(rep: ModuleType) -> None:
    shared = run("front-dp", "chain-front", 1850, 6, "latency", 20.0, solver="pareto")
    frame = frame_of(rep, [shared | {"status": "dropped", "runtime_s": np.nan},
                           shared | {"sweep": "chain-front-target"}])  # fmt: skip
    front = rep.front_table(frame)
    assert len(front) == 1 and front.loc[0, "complete"] == "1/1"
    assert front.loc[0, "time s"] == "20"


def test_mu_speedups_from_latencies(rep: ModuleType) -> None:
    latency = {"all-local": 1.0, "all-server": 10.0, "neurosurgeon": 2.0, "prune-partition": 4.0,
               "bottlenet": 0.5, "qio": 0.25, "optimum": 0.125}  # fmt: skip
    lat = pd.DataFrame(
        [{"sweep": "links", "k_model": "alexnet-cifar10", "k_device": "tk1", "point": "4g",
          "method": m, "latency_s": t} for m, t in latency.items()]
        + [{"sweep": "rate", "k_model": "alexnet-cifar10", "k_device": "pi3b", "point": "1.0",
            "method": m, "latency_s": t} for m, t in latency.items()]
    )  # fmt: skip
    table = rep.mu_speedups(lat).set_index("claim (Mu et al. §VI-D)")["ours"]
    assert table["Fig. 6(c) TK1: Partition vs All_Server"] == "5–5× (n=1)"
    assert table["Fig. 7(a) AlexNet, Pi 3B+: qio vs the second-best method"] == "2–2× (n=1)"
    assert table["Fig. 7(a) AlexNet, Pi 3B+: qio vs the worst method"] == "40–40× (n=1)"
    assert table["Fig. 7(a) AlexNet, Pi 3B+: qio's latency over the proven optimum"] == "2–2× (n=1)"
    assert table["Fig. 6(a) Pi 3B+, 3G: Partition vs All_Local, All_Server"] == "—"


def test_gap_table(rep: ModuleType) -> None:
    rows = [run("milp", "small", 4, 2, "latency", 1.0, seed=s, gap=0.0, best_optimum=1.0)
            for s in (1, 2)]  # fmt: skip
    rows += [run("qio", "small", 4, 2, "latency", 0.1, "feasible", seed=s, exact=0, gap=g,
                 best_optimum=1.0, objective=1 + g) for s, g in ((1, 0.0), (2, 0.5))]  # fmt: skip
    table = rep.gap_table(frame_of(rep, rows)).set_index("method")
    assert table.loc["qio", "median gap %"] == 25 and table.loc["qio", "max gap %"] == 50
    assert table.loc["qio", "at optimum"] == "50%" and table.loc["milp", "at optimum"] == "100%"
    assert list(table.index) == ["milp", "qio"]  # exact first


def test_splice_replaces_marked_blocks_only(rep: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "t.md").write_text("| new |\n")
    text = ("intro 1.0 s\n<!-- report: s/t.md -->\n| old |\n<!-- /report -->\nmid\n"
            "<!-- report: s/none.md -->\n| kept |\n<!-- /report -->\n")  # fmt: skip
    spliced, missing = rep.splice(text, tmp_path)
    assert spliced == text.replace("| old |", "| new |")
    assert missing == ["s/none.md"]


def test_load_lists_a_dropped_run(rep: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    connection = db.connect(path)
    sizes = {"layers": 50, "objective": "latency"}
    key = json.dumps({"family": "chain", "seed": 1, "sizes": sizes})
    db.insert_instances(connection, [
        {"instance_key": key, "instance_hash": "h", "family": "chain", "seed": 1, "layers": 50,
         "servers": 3},
    ])  # fmt: skip
    member = {"instance_hash": "h", "params": "{}", "suite": "s", "sweep": "chain"}
    db.insert_members(connection, [member | {"solver": "dp", "entry": "dp"},
                                   member | {"solver": "milp", "entry": "milp"}])  # fmt: skip
    db.insert_run(connection, member | {"solver": "dp", "entry": "dp", "exact": 1,
                                        "status": "optimal", "compile_time_s": 0.5,
                                        "runtime_s": 1.0})  # fmt: skip
    connection.close()
    frame = rep.load(path).set_index("entry")
    assert frame.loc["dp", "time_s"] == 1.5 and frame.loc["dp", "proven"]
    assert frame.loc["milp", "status"] == "dropped"
    assert frame.loc["milp", "nodes"] == 52 and frame.loc["milp", "k_objective"] == "latency"
