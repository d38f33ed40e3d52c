"""The results file: SQLite in WAL mode, one writer (the runner's parent process).

Tables
------
``instances``
    One row per generated instance: its spec key (family, sizes, seed, tightness, generator
    version), SHA-256 of the canonical instance JSON, name and sizes.
``runs``
    One row per finished run, keyed by ``(instance_hash, solver, params)``; ``params`` is the
    canonical JSON of the solver options, time limit and estimator. Rows are written once and never
    updated; a second run of a suite skips every key already stored.
``members``
    Which suite, sweep, solver entry and axis position each run key belongs to. A run shared by
    two sweeps (the same instance, solver and parameters where two axes cross) is stored and run
    once, under the first sweep that ran it; ``members`` lists it under both.
``runs_gap`` (view)
    ``runs`` plus ``best_optimum`` — the least objective proven optimal by an exact solver on the
    same instance — and ``gap = (objective - best_optimum) / best_optimum``. The gap is computed
    when read, so it always reflects every stored row.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

SCHEMA_VERSION = 1

RUN_COLUMNS: dict[str, str] = {
    "instance_hash": "TEXT NOT NULL",
    "solver": "TEXT NOT NULL",
    "params": "TEXT NOT NULL",
    "entry": "TEXT NOT NULL",
    "exact": "INTEGER NOT NULL",
    "suite": "TEXT",
    "sweep": "TEXT",
    "axis": "TEXT",
    "axis_index": "INTEGER",
    "axis_value": "TEXT",
    "instance_name": "TEXT",
    "family": "TEXT",
    "seed": "INTEGER",
    "tightness": "REAL",
    "models": "INTEGER",
    "bitwidths": "INTEGER",
    "blocks": "INTEGER",
    "cuts": "INTEGER",
    "edge_servers": "INTEGER",
    "epochs": "INTEGER",
    "candidates": "INTEGER",
    "options": "INTEGER",
    "epoch_option_pairs": "INTEGER",
    "layers": "INTEGER",
    "servers": "INTEGER",
    "graph_edges": "INTEGER",
    "choices": "INTEGER",
    "objective_name": "TEXT",
    "time_limit": "REAL",
    "status": "TEXT NOT NULL",
    "objective": "REAL",
    "bound": "REAL",
    "solver_gap": "REAL",
    "plan_model": "TEXT",
    "plan_bits": "INTEGER",
    "plan_time_s": "REAL",
    "latency_s": "REAL",
    "energy_j": "REAL",
    "device_energy_j": "REAL",
    "accuracy_drop": "REAL",
    "front_points": "INTEGER",
    "generate_time_s": "REAL",
    "compile_time_s": "REAL",
    "build_time_s": "REAL",
    "solve_time_s": "REAL",
    "runtime_s": "REAL",
    "wall_time_s": "REAL",
    "peak_memory_mb": "REAL",
    "message": "TEXT",
    "platform": "TEXT",
    "cpu_model": "TEXT",
    "cores": "INTEGER",
    "python": "TEXT",
    "package_version": "TEXT",
    "finished_at": "TEXT",
}

_DDL = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS instances (
    instance_key TEXT PRIMARY KEY,
    instance_hash TEXT NOT NULL,
    name TEXT, family TEXT, seed INTEGER, tightness REAL,
    models INTEGER, bitwidths INTEGER, blocks INTEGER, cuts INTEGER, edge_servers INTEGER,
    epochs INTEGER, candidates INTEGER, options INTEGER, epoch_option_pairs INTEGER,
    time_limit_s REAL, layers INTEGER, servers INTEGER, graph_edges INTEGER, choices INTEGER,
    objective_name TEXT
);
CREATE TABLE IF NOT EXISTS runs (
    {", ".join(f"{name} {kind}" for name, kind in RUN_COLUMNS.items())},
    PRIMARY KEY (instance_hash, solver, params)
);
CREATE TABLE IF NOT EXISTS members (
    instance_hash TEXT NOT NULL, solver TEXT NOT NULL, params TEXT NOT NULL,
    suite TEXT NOT NULL, sweep TEXT NOT NULL, entry TEXT NOT NULL,
    axis TEXT, axis_index INTEGER, axis_value TEXT,
    PRIMARY KEY (instance_hash, solver, params, suite, sweep, entry)
);
CREATE INDEX IF NOT EXISTS runs_by_instance ON runs (instance_hash, exact, status);
CREATE VIEW IF NOT EXISTS runs_gap AS
SELECT r.*, b.best_optimum,
       CASE WHEN r.objective IS NOT NULL AND b.best_optimum IS NOT NULL AND b.best_optimum > 0
            THEN (r.objective - b.best_optimum) / b.best_optimum END AS gap
FROM runs AS r LEFT JOIN (
    SELECT instance_hash, MIN(objective) AS best_optimum FROM runs
    WHERE exact = 1 AND status = 'optimal' AND objective IS NOT NULL
    GROUP BY instance_hash
) AS b USING (instance_hash);
"""

INSTANCE_COLUMNS = (
    "instance_key", "instance_hash", "name", "family", "seed", "tightness", "models", "bitwidths",
    "blocks", "cuts", "edge_servers", "epochs", "candidates", "options", "epoch_option_pairs",
    "time_limit_s", "layers", "servers", "graph_edges", "choices", "objective_name",
)  # fmt: skip


def connect(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """Opens (creating if needed) a results file in WAL mode."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(str(path), timeout=30.0)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.executescript(_DDL)
    connection.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
        (str(SCHEMA_VERSION),),
    )
    connection.commit()
    return connection


def stored_keys(connection: sqlite3.Connection) -> set[tuple[str, str, str]]:
    """Keys ``(instance_hash, solver, params)`` of every stored run."""
    return set(connection.execute("SELECT instance_hash, solver, params FROM runs"))


def stored_statuses(connection: sqlite3.Connection) -> dict[tuple[str, str, str], str]:
    """Status of every stored run, by key."""
    rows = connection.execute("SELECT instance_hash, solver, params, status FROM runs")
    return {(h, s, p): status for h, s, p, status in rows}


def insert_run(connection: sqlite3.Connection, row: dict[str, Any]) -> bool:
    """Stores one finished run and commits; False when its key was already stored."""
    values = {name: _plain(row.get(name)) for name in RUN_COLUMNS}
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    cursor = connection.execute(
        f"INSERT OR IGNORE INTO runs ({names}) VALUES ({marks})", tuple(values.values())
    )
    connection.commit()
    return cursor.rowcount == 1


def instance_rows(connection: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    """Stored instances by spec key."""
    cursor = connection.execute(f"SELECT {', '.join(INSTANCE_COLUMNS)} FROM instances")
    return {row[0]: dict(zip(INSTANCE_COLUMNS, row, strict=True)) for row in cursor}


def insert_instances(connection: sqlite3.Connection, rows: Iterable[dict[str, Any]]) -> None:
    """Stores instance rows (ignoring keys already there) in one transaction."""
    marks = ", ".join("?" for _ in INSTANCE_COLUMNS)
    connection.executemany(
        f"INSERT OR IGNORE INTO instances ({', '.join(INSTANCE_COLUMNS)}) VALUES ({marks})",
        [tuple(_plain(row.get(c)) for c in INSTANCE_COLUMNS) for row in rows],
    )
    connection.commit()


MEMBER_COLUMNS = (
    "instance_hash", "solver", "params", "suite", "sweep", "entry", "axis", "axis_index",
    "axis_value",
)  # fmt: skip


def insert_members(connection: sqlite3.Connection, rows: Iterable[dict[str, Any]]) -> None:
    """Records which sweeps each run key belongs to (ignoring what is already recorded)."""
    marks = ", ".join("?" for _ in MEMBER_COLUMNS)
    connection.executemany(
        f"INSERT OR IGNORE INTO members ({', '.join(MEMBER_COLUMNS)}) VALUES ({marks})",
        [tuple(_plain(row.get(c)) for c in MEMBER_COLUMNS) for row in rows],
    )
    connection.commit()


def read_members(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The ``members`` table (empty for a results file written before it existed)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
    try:
        return pd.read_sql_query("SELECT * FROM members", connection)
    except (sqlite3.OperationalError, pd.errors.DatabaseError):
        return pd.DataFrame(columns=list(MEMBER_COLUMNS))
    finally:
        connection.close()


def read_runs(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Every stored run with its gap to the best proven optimum (the ``runs_gap`` view)."""
    if not Path(path).exists():
        raise FileNotFoundError(f"{path}: no such results file")
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
    try:
        return pd.read_sql_query("SELECT * FROM runs_gap", connection)
    finally:
        connection.close()


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float)):
        return value
    if hasattr(value, "item"):
        return value.item()
    return json.dumps(value, sort_keys=True)
