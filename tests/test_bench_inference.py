"""The benchmark harness on the inference family: suites, instance rows, the worker's result row."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from jqodi_opt.bench import families, worker
from jqodi_opt.bench.db import read_runs
from jqodi_opt.bench.runner import _payload, instance_info, run_suite
from jqodi_opt.bench.suite import SuiteError, parse_suite
from jqodi_opt.inference.generate import generate_inference_document, instance_hash

TINY = {
    "suite": {"name": "tiny-inference", "time_limit": 5.0},
    "sweep": [
        {
            "name": "chains",
            "family": "chain",
            "seeds": [1, 2],
            "solvers": ["milp"],
            "sizes": {"layers": 6, "servers": 3},
            "axis": {"name": "objective", "objective": ["latency", "energy", "weighted"]},
        }
    ],
}


def test_inference_sweep_takes_named_knobs_and_no_tightness():
    suite = parse_suite(json.loads(json.dumps(TINY)), Path("tiny.toml"))
    specs = suite.instances()
    assert len(specs) == 6 and len(suite.runs) == 6
    assert {dict(s.sizes)["objective"] for s in specs} == {"latency", "energy", "weighted"}
    assert {s.tightness for s in specs} == {0.0}
    # the spec pins every knob, so a default changed later gives a new key
    assert set(dict(specs[0].sizes)) == set(families.knob_names("chain"))
    assert len({s.key for s in specs}) == 6
    assert [r.axis_value for r in suite.runs[:2]] == ["objective=latency"] * 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tightness": 0.3}, "inference families take no tightness"),
        ({"sizes": {"layers": 6, "blocks": 3}}, r"sizes\.blocks: unknown size knob"),
        ({"sizes": {"layers": 0}}, r"sizes: layers = 0"),
        ({"family": ["chain", "tradeoff"]}, "need their own sweeps"),
        ({"axis": {"servers": [2, "x"]}}, r"servers = 'x'"),
    ],
)
def test_bad_inference_sweeps(change, message):
    document = json.loads(json.dumps(TINY))
    document["sweep"][0].update(change)
    if "axis" in change:
        document["sweep"][0]["axis"] = change["axis"]
    with pytest.raises(SuiteError, match=message):
        parse_suite(document, Path("bad.toml"))


def test_instance_info_describes_the_inference_instance():
    suite = parse_suite(json.loads(json.dumps(TINY)), Path("tiny.toml"))
    spec = suite.instances()[0]
    info = instance_info(spec)
    document = generate_inference_document("chain", seed=spec.seed, **dict(spec.sizes))
    assert info["instance_hash"] == instance_hash(document)
    assert info["layers"] == 6 and info["servers"] == 3 and info["graph_edges"] == 6
    assert info["objective_name"] == "latency"
    assert info.get("blocks") is None and info.get("candidates") is None
    # the payload carries the sizes into every run row
    payload = _payload(suite.runs[0], info)
    assert payload["instance_info"]["layers"] == 6


def test_worker_row_of_an_inference_run():
    """The worker regenerates, checks the hash, compiles, solves (the real ``dp`` and ``milp``) and
    stores the plan's measures; both prove the same optimum, no slower than all on the device."""
    suite = parse_suite(json.loads(json.dumps(TINY)), Path("tiny.toml"))
    run = suite.runs[1]  # latency objective, seed 2
    info = instance_info(run.instance)
    rows = {}
    for solver in ("dp", "milp"):
        payload = _payload(run, info) | {"solver": solver, "entry": solver}
        rows[solver] = worker.execute(payload)
    assert {row["status"] for row in rows.values()} == {"optimal"}, rows
    assert rows["dp"]["exact"] == 1 and rows["dp"]["layers"] == 6
    assert rows["dp"]["objective_name"] == "latency"
    assert rows["dp"]["objective"] == pytest.approx(rows["milp"]["objective"], rel=1e-6)
    assert rows["dp"]["objective"] == pytest.approx(rows["dp"]["latency_s"], rel=1e-12)
    document = generate_inference_document("chain", seed=2, **dict(run.instance.sizes))
    device = next(s for s in document["servers"] if s["tier"] == "device")
    flops = sum(layer["flops"] for layer in document["model"]["layers"])
    assert rows["dp"]["latency_s"] <= flops / device["speed_flops"] * (1 + 1e-9)
    assert rows["dp"]["energy_j"] > 0 and rows["dp"]["accuracy_drop"] == 0


def test_tiny_inference_suite_end_to_end(tmp_path):
    """A tiny inference suite through the runner: every run proven, ``dp`` and ``milp`` agree on
    every instance, and a second run does no work."""
    document = json.loads(json.dumps(TINY))
    document["sweep"][0].update(seeds=[1], solvers=["dp", "milp"])
    document["sweep"][0]["axis"] = {"name": "objective", "objective": ["latency", "energy"]}
    suite = parse_suite(document, tmp_path / "tiny.toml")
    db = tmp_path / "tiny.sqlite"
    summary = run_suite(suite, db, workers=2, show_progress=False)
    assert summary.done == 4 and dict(summary.statuses) == {"optimal": 4}
    runs = read_runs(db)
    by_instance = runs.groupby("instance_hash")["objective"].agg(lambda s: s.max() / s.min() - 1)
    assert len(by_instance) == 2 and (by_instance <= 1e-6).all()
    assert set(runs["objective_name"]) == {"latency", "energy"}
    energy = runs[runs["objective_name"] == "energy"]
    assert (energy["objective"] == energy["energy_j"]).all()
    assert (runs["gap"].abs() <= 1e-6).all()
    again = run_suite(suite, db, workers=2, show_progress=False)
    assert again.done == 0 and again.skipped == 4


def test_worker_refuses_a_regenerated_instance_that_differs():
    suite = parse_suite(json.loads(json.dumps(TINY)), Path("tiny.toml"))
    run = suite.runs[0]
    payload = _payload(run, instance_info(run.instance))
    payload["instance_hash"] = "0" * 64
    row = worker.execute(payload)
    assert row["status"] == "error" and "regenerated instance differs" in row["message"]


def test_grid_crosses_knobs_and_each_cell_grows_its_own_axis():
    document = json.loads(json.dumps(TINY))
    sweep = document["sweep"][0]
    sweep["grid"] = {"servers": [2, 3], "bits": [1, 2]}
    sweep["sizes"] = {"layers": 6}
    suite = parse_suite(document, Path("grid.toml"))
    specs = suite.instances()
    assert len(specs) == 2 * 2 * 3 * 2  # grid cells x objectives x seeds
    cells = {(dict(s.sizes)["servers"], dict(s.sizes)["bits"]) for s in specs}
    assert cells == {(2, 1), (2, 2), (3, 1), (3, 2)}
    chains = {run.chain for run in suite.runs}
    assert len(chains) == 4  # one axis chain per cell
    assert {run.grid_value for run in suite.runs} == {
        "servers=2,bits=1", "servers=2,bits=2", "servers=3,bits=1", "servers=3,bits=2"
    }  # fmt: skip


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ({"layers": [4, 6]}, r"grid\.layers: already set in sizes or axis"),
        ({"objective": ["latency"]}, r"grid\.objective: already set"),
        ({"nope": [1]}, r"grid\.nope: unknown size knob"),
        ({"servers": []}, r"grid: needs non-empty lists"),
    ],
)
def test_bad_grids(grid, message):
    document = json.loads(json.dumps(TINY))
    document["sweep"][0]["grid"] = grid
    with pytest.raises(SuiteError, match=message):
        parse_suite(document, Path("bad.toml"))


def test_worker_row_of_a_front_run():
    """The ``pareto`` entry stores the size of the exact front, and no objective (so it never
    counts as an optimum in the gap view); its points match the front computed directly."""
    from jqodi_opt.bench.families import compile_document
    from jqodi_opt.inference.pareto import pareto_front

    suite = parse_suite(json.loads(json.dumps(TINY)), Path("tiny.toml"))
    run = suite.runs[0]
    info = instance_info(run.instance)
    payload = _payload(run, info) | {"solver": "pareto", "entry": "front-dp",
                                     "options": {"backend": "dp"}}  # fmt: skip
    row = worker.execute(payload)
    assert row["status"] == "optimal", row.get("message")
    assert row["objective"] is None and row["exact"] == 1
    document = families.generate("chain", **run.instance.kwargs())
    front = pareto_front(compile_document("chain", document), solver="milp", sweep=np.zeros(0))
    assert row["front_points"] == len(front.front) >= 1
    payload["options"] = {"backend": "dp", "nope": 1}
    bad = worker.execute(payload)
    assert bad["status"] == "error" and "nope" in bad["message"]


@pytest.mark.parametrize(
    ("name", "families_used"),
    [
        ("mu2024", {"mu2024"}),
        ("nicosanti2026", {"chain", "dag"}),
        ("inference-gap", {"chain", "dag", "profile"}),
    ],
)
def test_published_inference_suites_parse(name, families_used):
    from jqodi_opt.bench.suite import load_suite

    suite = load_suite(Path(__file__).parent.parent / "benchmarks" / f"{name}.toml")
    assert {spec.family for spec in suite.instances()} == families_used
    registry = families.solver_registry("chain")
    assert {run.solver for run in suite.runs} <= set(registry)


def test_nicosanti_suite_reaches_their_sizes():
    from jqodi_opt.bench.suite import load_suite

    suite = load_suite(Path(__file__).parent.parent / "benchmarks" / "nicosanti2026.toml")
    chains = {(dict(s.sizes)["layers"] + 2, dict(s.sizes)["servers"])
              for s in suite.instances() if s.family == "chain"}  # fmt: skip
    assert {(502, 3), (1852, 6)} <= chains  # their "nodes" count the input and the output
    dags = {1 + sum(dict(s.sizes)[k] * m for k, m in (("layers", 1), ("branch_layers", 4))) + 1
            for s in suite.instances() if s.family == "dag"}  # fmt: skip
    assert dags == {702, 812, 922, 1032, 1142}  # every size of their random scale test
    assert {n for n, servers in chains if servers in (3, 6)} == {502, 1102, 1552, 1852}
    objectives = {dict(s.sizes)["objective"] for s in suite.instances()}
    assert objectives == {"latency", "energy", "weighted"}
