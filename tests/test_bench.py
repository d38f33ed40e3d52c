"""The benchmark harness: suites, the runner (local and Dask), resumption, limits, the report."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jqodi_opt.bench.report import gap_table, load, read_members, runtime_table
from jqodi_opt.bench.runner import run_suite
from jqodi_opt.bench.suite import SuiteError, load_suite, parse_suite
from jqodi_opt.cli import main
from jqodi_opt.solve import SOLVERS

ROOT = Path(__file__).parent.parent
SMOKE = ROOT / "benchmarks" / "smoke.toml"


def rows(db: Path, columns: str = "instance_hash, solver, params, status, objective") -> list:
    with sqlite3.connect(db) as connection:
        return connection.execute(f"SELECT {columns} FROM runs ORDER BY 1, 2, 3").fetchall()


def count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as connection:
            return int(connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
    except sqlite3.OperationalError:  # the table is not created yet
        return 0


@pytest.fixture(scope="module")
def smoke_db(tmp_path_factory) -> Path:
    """The smoke suite run once, end to end through the CLI, into a temporary results file."""
    db = tmp_path_factory.mktemp("smoke") / "smoke.sqlite"
    assert main(["bench", str(SMOKE), "--db", str(db), "--quiet"]) == 0
    return db


# --------------------------------------------------------------------------------------------------
# suites
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["smoke", "gap", "scaling"])
def test_published_suites_parse(name):
    suite = load_suite(ROOT / "benchmarks" / f"{name}.toml")
    assert suite.runs
    assert {run.solver for run in suite.runs} <= set(SOLVERS)


def test_smoke_covers_every_solver():
    assert {run.solver for run in load_suite(SMOKE).runs} == set(SOLVERS)


def test_gap_suite_has_200_instances_and_every_solver():
    suite = load_suite(ROOT / "benchmarks" / "gap.toml")
    assert len(suite.instances()) >= 200
    assert {run.solver for run in suite.runs} == set(SOLVERS)
    assert {spec.family for spec in suite.instances()} == {"paper-like", "tradeoff", "uncorrelated"}


def test_scaling_suite_reaches_the_published_sizes():
    suite = load_suite(ROOT / "benchmarks" / "scaling.toml")
    sizes = [dict(spec.sizes) for spec in suite.instances()]
    assert max(s["epochs"] for s in sizes) >= 10_000
    assert max(s["edge_servers"] * (s.get("cuts") or s["blocks"] + 1) for s in sizes) >= 10_000
    assert max(s["models"] * s["bitwidths"] for s in sizes) >= 100
    axes = {run.axis for run in suite.runs if run.axis}
    assert {"epochs", "options", "candidates"} <= axes
    for axis in axes:
        seeds = {spec.seed for spec in {r.instance for r in suite.runs if r.axis == axis}}
        assert len(seeds) == 3


def test_axis_lists_are_zipped(tmp_path):
    suite = parse_suite(
        {
            "sweep": [
                {
                    "name": "opt",
                    "family": "tradeoff",
                    "seeds": 2,
                    "solvers": ["static"],
                    "axis": {"name": "options", "edge_servers": [2, 4], "blocks": [3, 7]},
                }
            ]
        },
        tmp_path / "s.toml",
    )
    assert len(suite.runs) == 4
    assert [r.axis_value for r in suite.runs] == ["edge_servers=2,blocks=3"] * 2 + [
        "edge_servers=4,blocks=7"
    ] * 2
    assert all(r.drop_after_timeout for r in suite.runs)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "needs at least one"),
        ({"sweep": [{"family": "x", "solvers": ["static"]}]}, "family"),
        ({"sweep": [{"family": "tradeoff", "solvers": ["nope"]}]}, "unknown solver entry"),
        ({"sweep": [{"family": "tradeoff", "solvers": ["static"], "sizes": {"x": 1}}]}, "sizes.x"),
        (
            {"sweep": [{"family": "tradeoff", "solvers": ["static"],
                        "axis": {"epochs": [1, 2], "models": [1]}}]},
            "same length",
        ),
        ({"sweep": [{"family": "tradeoff", "solvers": ["static"], "tightness": 2}]}, "tightness"),
        ({"suite": {"time_limit": -1}, "sweep": []}, "time_limit"),
        ({"solvers": {"a": {"solver": "nope"}}, "sweep": []}, "unknown solver"),
    ],
)  # fmt: skip
def test_bad_suites(document, message, tmp_path):
    with pytest.raises(SuiteError, match=message):
        parse_suite(document, tmp_path / "bad.toml")


def test_cli_bench_unknown_suite(capsys):
    assert main(["bench", "no-such-suite"]) == 2
    assert "no such suite" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------------------------------


def test_smoke_end_to_end(smoke_db):
    stored = rows(smoke_db, "entry, solver, status, objective, exact, instance_hash, runtime_s")
    suite = load_suite(SMOKE)
    assert len(stored) == len(suite.runs)
    assert {r[1] for r in stored} == set(SOLVERS)
    assert not [r for r in stored if r[2] == "error"], [r for r in stored if r[2] == "error"]
    # exact solvers agree on every instance (SPEC §1.3: 1e-6 relative; CP-SAT within its scaling)
    by_instance: dict[str, list[float]] = {}
    for _entry, _solver, status, objective, exact, digest, _t in stored:
        if exact and status == "optimal":
            by_instance.setdefault(digest, []).append(objective)
    assert len(by_instance) == len({r[5] for r in stored})
    for objectives in by_instance.values():
        assert max(objectives) <= min(objectives) * (1 + 1e-4)


def test_second_run_does_no_work(smoke_db):
    before = rows(smoke_db, "*")
    summary = run_suite(load_suite(SMOKE), smoke_db, show_progress=False)
    assert summary.done == 0
    assert summary.skipped + summary.dropped == len(load_suite(SMOKE).runs)
    assert rows(smoke_db, "*") == before


def test_interrupted_run_resumes_without_duplicates_or_losses(tmp_path):
    suite_file = tmp_path / "resume.toml"
    suite_file.write_text(
        '[[sweep]]\nfamily = ["uncorrelated", "tradeoff"]\nseeds = 6\n'
        'solvers = ["jqodi", "static"]\n[sweep.sizes]\nedge_servers = 2\n',
        encoding="utf-8",
    )
    db = tmp_path / "resume.sqlite"
    command = [sys.executable, "-m", "jqodi_opt.cli", "bench", str(suite_file), "--db", str(db),
               "--workers", "1", "--quiet"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while count(db) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    # SIGTERM, which the runner treats as Ctrl-C: a test run started in the background by a shell
    # without job control inherits SIGINT as ignored, and the suite then ran to its end.
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    first = rows(db, "instance_hash, solver, params, status, objective, finished_at")
    total = len(load_suite(suite_file).runs)
    assert 3 <= len(first) < total, stderr
    assert process.returncode == 130, stderr

    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert f"{len(first)} already stored" in completed.stderr
    final = rows(db, "instance_hash, solver, params, status, objective, finished_at")
    assert len(final) == total
    assert len({r[:3] for r in final}) == total  # no duplicate key
    assert set(first) <= set(final)  # nothing stored before the interrupt was lost or redone


def test_dask_cluster_gives_the_same_objectives(smoke_db, tmp_path):
    distributed = pytest.importorskip("distributed")
    import dask

    db = tmp_path / "dask.sqlite"
    # Non-daemonic worker processes may fork each run from a forkserver (fast); on a cluster with
    # daemonic workers (Dask's default) each run starts a fresh interpreter instead (slower).
    with (
        dask.config.set({"distributed.worker.daemon": False}),
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
    ):
        assert main(["bench", str(SMOKE), "--db", str(db), "--quiet",
                     "--scheduler", cluster.scheduler_address]) == 0  # fmt: skip
    local = {r[:3]: (r[3], r[4]) for r in rows(smoke_db)}
    remote = {r[:3]: (r[3], r[4]) for r in rows(db)}
    assert local.keys() == remote.keys()
    for key, (status, objective) in local.items():
        assert remote[key][0] == status, key
        if objective is None:
            assert remote[key][1] is None
        else:
            assert remote[key][1] == pytest.approx(objective, rel=1e-9), key


def test_wall_clock_limit_kills_the_run_and_the_sweep_goes_on(tmp_path, monkeypatch):
    suite_file = tmp_path / "hang.toml"
    suite_file.write_text(
        """
[suite]
time_limit = 0.5
grace = 0.5
[[sweep]]
name = "axis"
family = "tradeoff"
seeds = [1, 2]
solvers = ["jqodi", "static"]
[sweep.sizes]
models = 1
bitwidths = 1
[sweep.axis]
name = "epochs"
epochs = [4, 8, 16]
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("JQODI_BENCH_HANG", "jqodi")
    db = tmp_path / "hang.sqlite"
    start = time.perf_counter()
    summary = run_suite(load_suite(suite_file), db, workers=2, show_progress=False)
    assert time.perf_counter() - start < 30
    stored = rows(db, "entry, status, message, axis_index")
    hung = [r for r in stored if r[0] == "jqodi"]
    assert len(hung) == 2 and all(r[1] == "time_limit" and "killed" in r[2] for r in hung)
    assert all(r[3] == 0 for r in hung)  # dropped from the larger sizes of the axis
    assert summary.dropped == 4
    assert sorted(r[1] for r in stored if r[0] == "static") == ["feasible"] * 6


def test_crashing_run_is_an_error_row(tmp_path):
    suite_file = tmp_path / "crash.toml"
    suite_file.write_text(
        """
[suite]
time_limit = 5
[solvers]
broken = { solver = "jqodi", options = { no_such_option = 1 } }
[[sweep]]
family = "tradeoff"
seeds = 1
solvers = ["broken", "static"]
""",
        encoding="utf-8",
    )
    db = tmp_path / "crash.sqlite"
    summary = run_suite(load_suite(suite_file), db, workers=1, show_progress=False)
    assert summary.statuses == {"error": 1, "feasible": 1}
    (broken,) = [r for r in rows(db, "entry, status, message") if r[0] == "broken"]
    assert "no_such_option" in broken[2]


# --------------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------------


def test_report(smoke_db, tmp_path, capsys):
    frame = load(smoke_db)
    gaps = gap_table(frame)
    assert set(gaps["solver"]) == {run.entry for run in load_suite(SMOKE).runs}
    exact = gaps[gaps["solver"].isin(["milp", "exhaustive"])]
    assert (exact["gap_max_%"].fillna(0) <= 1e-4).all()
    times = runtime_table(frame)
    assert {"tiny", "tiny-epochs"} == set(times["sweep"])

    csv = tmp_path / "runs.csv"
    out = tmp_path / "report"
    assert main(["report", str(smoke_db), "--out", str(out), "--csv", str(csv), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["runs"] == len(frame) and document["gap"] and document["runtime"]
    assert len(csv.read_text().splitlines()) == len(frame) + 1
    for name in ("report.md", "gap.csv", "runtime.csv", "gap.png", "runtime.png"):
        assert (out / name).stat().st_size > 0
    assert (out / "gap.png").read_bytes()[:4] == b"\x89PNG"


def test_report_missing_file(capsys):
    assert main(["report", os.devnull + ".nope"]) == 2


def test_exec_method_matches_fork(tmp_path):
    suite_file = tmp_path / "exec.toml"
    suite_file.write_text(
        '[[sweep]]\nfamily = "uncorrelated"\nseeds = 2\nsolvers = ["static", "jqodi"]\n',
        encoding="utf-8",
    )
    suite = load_suite(suite_file)
    fork_db, exec_db = tmp_path / "fork.sqlite", tmp_path / "exec.sqlite"
    run_suite(suite, fork_db, method="fork", show_progress=False)
    run_suite(suite, exec_db, method="exec", show_progress=False)
    assert rows(fork_db) == rows(exec_db)
    assert {r[3] for r in rows(exec_db)} == {"feasible"}


def test_a_run_shared_by_two_sweeps_runs_once_and_counts_for_both(tmp_path):
    suite_file = tmp_path / "shared.toml"
    suite_file.write_text(
        """
[[sweep]]
name = "epochs"
family = "uncorrelated"
seeds = 2
solvers = ["static", "jqodi"]
[sweep.sizes]
edge_servers = 3
[sweep.axis]
epochs = [10, 20]
[[sweep]]
name = "servers"
family = "uncorrelated"
seeds = 2
solvers = ["static", "jqodi"]
[sweep.sizes]
epochs = 20
[sweep.axis]
edge_servers = [3, 6]
""",
        encoding="utf-8",
    )
    db = tmp_path / "shared.sqlite"
    summary = run_suite(load_suite(suite_file), db, workers=2, show_progress=False)
    assert summary.total == 16 and summary.done == 12 and summary.skipped == 4
    assert len(rows(db)) == 12
    times = runtime_table(load(db), read_members(db))
    # the crossing (edge_servers=3, epochs=20) is listed under both sweeps
    assert len(times) == 8 and set(times["runs"]) == {2}
