"""The results file under hostile conditions (issue 9, item 6): a full disk mid-sweep, files
that are not usable results files, a damaged index, and two runners on one file."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from jqodi_opt.bench import db, runner, worker
from jqodi_opt.bench.db import ResultsFileError
from jqodi_opt.bench.runner import run_suite
from jqodi_opt.bench.suite import load_suite
from jqodi_opt.cli import main

SUITE = """
[suite]
time_limit = 5
[[sweep]]
family = "tradeoff"
seeds = [1, 2, 3, 4, 5, 6]
solvers = ["static"]
[sweep.sizes]
models = 1
bitwidths = 1
epochs = 4
"""


@pytest.fixture
def suite_file(tmp_path: Path) -> Path:
    path = tmp_path / "six.toml"
    path.write_text(SUITE, encoding="utf-8")
    return path


def stored(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        return int(connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0])


def one_error_line(err: str, *needles: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], err


def test_full_disk_stops_the_sweep_and_keeps_what_was_stored(suite_file, tmp_path, monkeypatch):
    # Before: every queued run was still run (~56 s on the real sweep) and then a traceback.
    path = tmp_path / "full.sqlite"
    real_insert = db.insert_run
    calls = {"insert": 0, "runs": 0}

    def insert_then_fill_the_disk(connection: sqlite3.Connection, row: dict) -> bool:
        calls["insert"] += 1
        if calls["insert"] >= 2:
            raise sqlite3.OperationalError("database or disk is full")
        return real_insert(connection, row)

    real_run = worker.run_isolated

    def counted_run(*args, **kwargs):
        calls["runs"] += 1
        return real_run(*args, **kwargs)

    monkeypatch.setattr(db, "insert_run", insert_then_fill_the_disk)
    monkeypatch.setattr(worker, "run_isolated", counted_run)
    with pytest.raises(ResultsFileError, match="database or disk is full") as caught:
        run_suite(load_suite(suite_file), path, workers=1, show_progress=False)
    assert len(caught.value.lines()) == 1 and "rerun to resume" in str(caught.value)
    assert stored(path) == 1  # the run stored before the failure is kept
    assert calls["runs"] <= 3 < 6  # the queued runs were cancelled, not run


def test_full_disk_on_the_command_line_is_one_line_exit_2(
    suite_file, tmp_path, monkeypatch, capsys
):
    def full(connection: sqlite3.Connection, row: dict) -> bool:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(db, "insert_run", full)
    path = tmp_path / "full.sqlite"
    assert main(["bench", str(suite_file), "--db", str(path), "--quiet", "--workers", "1"]) == 2
    one_error_line(capsys.readouterr().err, str(path), "database or disk is full")


def _make_results_file(path: Path, runs: int = 300) -> None:
    connection = db.connect(path)
    for i in range(runs):
        db.insert_run(
            connection,
            {"instance_hash": f"{i:064x}", "solver": "static", "params": "{}", "entry": "static",
             "exact": 0, "status": "feasible", "message": "x" * 200},
        )  # fmt: skip
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()


@pytest.mark.parametrize("kind", ["text", "directory", "truncated", "read-only", "damaged-index"])
def test_unusable_results_file_is_one_line_exit_2(kind, suite_file, tmp_path, capsys):
    path = tmp_path / "results.sqlite"
    expected = {
        "text": "not an SQLite database",
        "directory": "is a directory",
        "truncated": "damaged SQLite database",
        "read-only": "is read-only",
        "damaged-index": "damaged SQLite database",
    }[kind]
    if kind == "text":
        path.write_text("instance,solver\nabc,milp\n", encoding="utf-8")
    elif kind == "directory":
        path.mkdir()
    else:
        _make_results_file(path)
        if kind == "truncated":
            with path.open("r+b") as handle:
                handle.truncate(path.stat().st_size // 2)
        elif kind == "read-only":
            path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)  # refused even for root
        else:  # overwrite the primary-key index's root page: the table itself is intact
            with sqlite3.connect(path) as connection:
                page_size = connection.execute("PRAGMA page_size").fetchone()[0]
                (root,) = connection.execute(
                    "SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_runs_1'"
                ).fetchone()
            with path.open("r+b") as handle:
                handle.seek((root - 1) * page_size + 8)
                handle.write(b"\x00" * (page_size - 8))
    before = path.stat().st_mtime_ns if path.is_file() else None
    with pytest.raises(ResultsFileError, match=expected):
        db.connect(path)
    assert main(["bench", str(suite_file), "--db", str(path), "--quiet"]) == 2
    one_error_line(capsys.readouterr().err, str(path), expected)
    if before is not None:
        assert path.stat().st_mtime_ns == before  # left as it was


def test_second_runner_on_one_file_is_refused(suite_file, tmp_path, capsys):
    path = tmp_path / "shared.sqlite"
    db.connect(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, sys, time; f = open(sys.argv[1], 'rb'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)",
         str(path)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert main(["bench", str(suite_file), "--db", str(path), "--quiet"]) == 2
        one_error_line(capsys.readouterr().err, "another runner is using this results file")
        assert stored(path) == 0
    finally:
        holder.kill()
        holder.wait()
    # once the first runner is gone (even killed), the file is free again
    summary = run_suite(load_suite(suite_file), path, workers=2, show_progress=False)
    assert summary.done == 6 and stored(path) == 6


def test_lock_is_released_when_the_runner_ends(suite_file, tmp_path):
    path = tmp_path / "again.sqlite"
    run_suite(load_suite(suite_file), path, workers=2, show_progress=False)
    with open(path, "rb") as handle:  # free: a non-blocking exclusive lock succeeds
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    assert runner.run_suite(load_suite(suite_file), path, show_progress=False).skipped == 6
    assert not os.path.exists(str(path) + ".lock")
