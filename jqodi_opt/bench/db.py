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

Opening a results file for writing (:func:`connect`) refuses, with a :class:`ResultsFileError`
(one line naming the file; exit code 2 on the command line), a directory, a file without write
permission (even for root: the mode bits are respected), a file that is not SQLite, and a file
that fails ``PRAGMA integrity_check`` (truncated, or a damaged table or index: a damaged index
once made the runner count 31 runs as stored that were not). :func:`lock` then takes an exclusive
``flock`` on the file itself, held until the runner closes it, so a second runner on the same file
is refused at once instead of doing every run a second time. ``flock`` rather than a lock row in
the database: the kernel drops it when the process dies (``kill -9`` leaves no stale lock), and it
is independent of SQLite's own POSIX locks, which guard transactions, not a whole sweep. (Like
any ``flock``, it does not hold across machines on NFS: keep the results file on a local disk.)
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import pandas as pd

from jqodi_opt.exceptions import InputError

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


class ResultsFileError(InputError):
    """A results file that cannot be opened, checked, locked or written; one line naming it."""

    def __init__(self, path: str | os.PathLike[str], message: str) -> None:
        super().__init__(str(path), [("", message)])


#: The first 16 bytes of every SQLite 3 database file.
SQLITE_HEADER = b"SQLite format 3\x00"


def connect(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """Opens (creating if needed) a results file in WAL mode, after checking it (module docstring).

    Raises
    ------
    ResultsFileError
        For a directory, a read-only, non-SQLite or damaged file, or one that cannot be written.
    """
    file = Path(path)
    _check_file(file)
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultsFileError(file, f"cannot create its directory ({exc.strerror})") from None
    connection: sqlite3.Connection | None = None
    try:
        connection = sqlite3.connect(str(file), timeout=30.0)
        problems = [row[0] for row in connection.execute("PRAGMA integrity_check(5)")]
        if problems != ["ok"]:
            first = " ".join(problems[0].replace("*** in database main ***", "").split())
            raise ResultsFileError(file, f"damaged SQLite database ({first[:80]}); not used")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.executescript(_DDL)
        connection.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )
        connection.commit()
    except sqlite3.Error as exc:
        if connection is not None:
            connection.close()
        if "readonly" in str(exc):
            why = f"is read-only; results cannot be stored in it ({exc})"
        elif isinstance(exc, sqlite3.OperationalError):
            why = f"cannot use it as a results file ({exc})"
        else:  # DatabaseError: not a database, malformed (e.g. truncated)
            why = f"damaged SQLite database ({exc}); not used"
        raise ResultsFileError(file, why) from None
    except ResultsFileError:
        assert connection is not None
        connection.close()
        raise
    return connection


def _check_file(file: Path) -> None:
    """The checks that need no SQLite: a regular, writable file that starts like SQLite."""
    try:
        info = file.stat()
    except FileNotFoundError:
        return  # created by connect
    except OSError as exc:
        raise ResultsFileError(file, f"cannot read it ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ResultsFileError(file, "is a directory, not a results file")
    if not stat.S_ISREG(info.st_mode):
        raise ResultsFileError(file, "is not a regular file")
    if not info.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(
        file, os.W_OK
    ):
        raise ResultsFileError(file, "is read-only; results cannot be stored in it")
    if info.st_size == 0:
        return  # an empty file is an empty database
    try:
        with file.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise ResultsFileError(file, f"cannot read it ({exc.strerror})") from None
    if header != SQLITE_HEADER:
        raise ResultsFileError(file, "is not an SQLite database (not a results file)")


def lock(path: str | os.PathLike[str]) -> IO[bytes]:
    """An exclusive, non-blocking ``flock`` on the results file, held while the handle is open.

    Raises
    ------
    ResultsFileError
        When another process (another runner) holds it.
    """
    handle = open(path, "rb")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ResultsFileError(
            path, "another runner is using this results file; wait for it or use another --db"
        ) from None
    return handle


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
