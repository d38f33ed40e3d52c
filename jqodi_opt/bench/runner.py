"""Runs a suite: every run in its own process, on local workers or a Dask cluster, each finished
run stored at once; a second call does only what is missing.

The parent process generates each instance once (to learn its SHA-256 and sizes, kept in the
``instances`` table), skips the runs whose key ``(instance_hash, solver, params)`` is stored, and
hands the rest to the workers: local threads that each watch one child process
(:func:`jqodi_opt.bench.worker.run_isolated`), or — with ``scheduler`` — tasks on a Dask cluster
that do the same inside the Dask worker. Workers regenerate the instance from its spec; only small
payloads travel. The parent is the only writer of the results file.

Along an axis, a solver entry's runs at position ``i`` start only when every run at positions
``< i`` has finished; once all runs at one position end in ``time_limit`` (or ``error``), the entry
is dropped from the larger positions of that axis (``drop_after_timeout``). Dropped runs are not
stored, so the decision is made again, the same way, from the stored rows on a rerun.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import signal
import sqlite3
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from jqodi_opt.bench import db, families, worker
from jqodi_opt.bench.suite import InstanceSpec, Run, Suite

#: Statuses that count as "timed out" for dropping a solver from larger sizes.
GAVE_UP = frozenset({"time_limit", "error"})


@dataclass
class Summary:
    """What one call of :func:`run_suite` did."""

    suite: str
    db_path: str
    total: int
    skipped: int = 0
    done: int = 0
    dropped: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    dropped_entries: dict[str, str] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def lines(self) -> list[str]:
        """A short human-readable account."""
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.statuses.items())) or "nothing"
        lines = [
            f"{self.suite}: {self.total} runs: {self.skipped} already stored, {self.done} run "
            f"({counts}), {self.dropped} dropped, in {self.elapsed_s:.1f} s; results in "
            f"{self.db_path}"
        ]
        lines += [f"  dropped {entry}: {why}" for entry, why in self.dropped_entries.items()]
        return lines


def default_workers() -> int:
    """2 local workers where there are at least 2 cores, else 1."""
    return 2 if (os.cpu_count() or 1) >= 2 else 1


def default_db_path(suite: Suite) -> Path:
    """``results/SUITE.sqlite`` beside the suite file."""
    return suite.path.parent / "results" / f"{suite.name}.sqlite"


def instance_info(spec: InstanceSpec) -> dict[str, Any]:
    """Generates one instance (in the parent) and describes it: hash, name, sizes."""
    document = families.generate(spec.family, **spec.kwargs())
    problem = families.compile_document(spec.family, document)
    sizes = dict(spec.sizes)
    info = {
        "instance_key": spec.key,
        "instance_hash": families.document_hash(document),
        "name": document["name"],
        "family": spec.family,
        "seed": spec.seed,
        "tightness": spec.tightness,
    }
    if not families.is_inference(spec.family):
        info |= {
            k: sizes.get(k) for k in ("models", "bitwidths", "blocks", "edge_servers", "epochs")
        }
        info["cuts"] = sizes.get("cuts") or sizes["blocks"] + 1
    return info | families.describe(spec.family, document, problem)


def prepare_instances(
    suite: Suite, connection: Any, progress: Progress | None = None
) -> dict[InstanceSpec, dict[str, Any]]:
    """Hash and sizes of every instance of the suite, generating only those not yet stored."""
    stored = db.instance_rows(connection)
    specs = suite.instances()
    task = progress.add_task("generating instances", total=len(specs)) if progress else None
    infos: dict[InstanceSpec, dict[str, Any]] = {}
    fresh = []
    for spec in specs:
        if spec.key in stored:
            infos[spec] = stored[spec.key]
        else:
            infos[spec] = instance_info(spec)
            fresh.append(infos[spec])
            if len(fresh) >= 50:
                db.insert_instances(connection, fresh)
                fresh = []
        if progress is not None and task is not None:
            progress.advance(task)
    db.insert_instances(connection, fresh)
    if progress is not None and task is not None:
        progress.remove_task(task)
    return infos


def _payload(run: Run, info: dict[str, Any]) -> dict[str, Any]:
    payload = run.payload()
    payload["instance_hash"] = info["instance_hash"]
    if worker.hang_requested(run.entry):
        payload["hang"] = True
    payload["instance_info"] = {
        "instance_hash": info["instance_hash"],
        "instance_name": info["name"],
        **{k: info.get(k) for k in ("models", "bitwidths", "blocks", "cuts", "edge_servers",
                                    "epochs", "candidates", "options", "epoch_option_pairs",
                                    *families.INFERENCE_INFO)},
    }  # fmt: skip
    return payload


class _Chains:
    """Which runs may start, and which are dropped, along each axis."""

    def __init__(self, runs: list[Run]) -> None:
        self.expected: dict[tuple[Any, ...], Counter[int]] = defaultdict(Counter)
        self.finished: dict[tuple[Any, ...], dict[int, list[str]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for run in runs:
            self.expected[run.chain][run.axis_index] += 1

    def record(self, run: Run, status: str) -> None:
        self.finished[run.chain][run.axis_index].append(status)

    def state(self, run: Run) -> str:
        """``ready``, ``wait`` or ``drop``."""
        if not run.drop_after_timeout:
            return "ready"
        expected, finished = self.expected[run.chain], self.finished[run.chain]
        for position in sorted(p for p in expected if p < run.axis_index):
            statuses = finished.get(position, [])
            if len(statuses) < expected[position]:
                return "wait"
            if statuses and all(s in GAVE_UP for s in statuses):
                return "drop"
        return "ready"


class _Local:
    """Local worker threads, each watching one child process at a time."""

    def __init__(self, workers: int, method: str | None) -> None:
        self.pool = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jqodi-bench")
        self.method = method

    def submit(self, payload: dict[str, Any]) -> Any:
        return self.pool.submit(worker.run_isolated, payload, self.method)

    def wait(self, futures: list[Any], timeout: float) -> list[Any]:
        done, _ = cf.wait(futures, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return list(done)

    def close(self, interrupted: bool) -> None:
        if interrupted:
            worker.kill_all()
        self.pool.shutdown(wait=not interrupted, cancel_futures=interrupted)
        if interrupted:
            worker.kill_all()


class _Dask:
    """Tasks on a Dask distributed cluster; each task isolates its run in a child process."""

    def __init__(self, address: str, method: str | None) -> None:
        from distributed import Client

        self.client = Client(address, timeout="30s")
        self.method = method

    def submit(self, payload: dict[str, Any]) -> Any:
        key = f"jqodi-bench-{payload['instance_hash'][:16]}-{payload['entry']}-{time.time_ns()}"
        return self.client.submit(
            worker.run_isolated, payload, self.method, key=key, pure=False, retries=0
        )

    def wait(self, futures: list[Any], timeout: float) -> list[Any]:
        done = [f for f in futures if f.done()]
        if not done:
            time.sleep(min(timeout, 0.2))
        return done

    def close(self, interrupted: bool) -> None:
        self.client.close()


def run_suite(
    suite: Suite,
    db_path: str | os.PathLike[str] | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    method: str | None = None,
    show_progress: bool = True,
    console: Console | None = None,
) -> Summary:
    """Runs every run of ``suite`` not yet stored in ``db_path``.

    Parameters
    ----------
    suite
        From :func:`jqodi_opt.bench.suite.load_suite`.
    db_path
        The results file (default :func:`default_db_path`).
    workers
        Local worker processes at a time (default :func:`default_workers`); ignored with
        ``scheduler``.
    scheduler
        Address of a Dask scheduler (``tcp://host:8786``): run there instead of locally.
    method
        How a run's process is started: ``fork`` or ``exec`` (default: ``fork`` where possible).
    show_progress
        Show a progress bar with ETA on stderr.

    KeyboardInterrupt (Ctrl-C, or SIGTERM, which is turned into one while this runs in the main
    thread) is re-raised after the running children are killed; every run finished before it is
    already stored.

    Raises
    ------
    ResultsFileError
        When the results file cannot be used (see :mod:`jqodi_opt.bench.db`), another runner holds
        it, or a run cannot be stored (a full disk): then nothing more is submitted, the running
        children are killed, and every run stored before is kept (a rerun resumes from there).
    """
    start = time.perf_counter()
    path = Path(db_path) if db_path is not None else default_db_path(suite)
    connection = db.connect(path)
    try:
        held = db.lock(path)
    except db.ResultsFileError:
        connection.close()
        raise
    previous_term = _catch_sigterm()
    console = console or Console(stderr=True)
    progress = Progress(
        TextColumn("{task.description}", markup=False),  # a suite name is not markup
        BarColumn(), MofNCompleteColumn(), TextColumn("•"),
        TimeElapsedColumn(), TextColumn("• ETA"), TimeRemainingColumn(),
        console=console, disable=not show_progress, transient=False,
    )  # fmt: skip
    summary = Summary(suite=suite.name, db_path=str(path), total=len(suite.runs))
    backend: _Local | _Dask | None = None
    interrupted = False
    try:
        with progress:
            infos = prepare_instances(suite, connection, progress)
            stored = db.stored_statuses(connection)
            chains = _Chains(suite.runs)
            pending: list[Run] = []

            def key_of(run: Run) -> tuple[str, str, str]:
                return (infos[run.instance]["instance_hash"], run.solver, run.params)

            db.insert_members(
                connection,
                [
                    dict(zip(("instance_hash", "solver", "params"), key_of(run), strict=True))
                    | {
                        "suite": run.suite,
                        "sweep": run.sweep,
                        "entry": run.entry,
                        "axis": run.axis,
                        "axis_index": run.axis_index,
                        "axis_value": run.axis_value,
                    }
                    for run in suite.runs
                ],
            )
            for run in suite.runs:
                key = key_of(run)
                if key in stored:
                    summary.skipped += 1
                    chains.record(run, stored[key])
                else:
                    pending.append(run)
            to_run = len(pending)
            task = progress.add_task(_describe(suite.name, summary), total=to_run)
            if pending:
                backend = (
                    _Dask(scheduler, method)
                    if scheduler
                    else _Local(workers or default_workers(), method)
                )
            # Sweeps may share a run (the same instance, solver and parameters at a crossing of
            # two axes): it runs once, and its status counts for every sweep that has it.
            in_flight: dict[Any, tuple[str, str, str]] = {}
            sharing: dict[tuple[str, str, str], list[Run]] = {}
            while pending or in_flight:
                still: list[Run] = []
                for run in pending:
                    state = chains.state(run)
                    key = key_of(run)
                    if state == "ready" and key in stored:  # finished earlier in this call
                        summary.skipped += 1
                        chains.record(run, stored[key])
                        to_run -= 1
                        progress.update(task, total=to_run)
                    elif state == "ready" and key in sharing:  # running for another sweep
                        sharing[key].append(run)
                    elif state == "ready":
                        assert backend is not None
                        in_flight[backend.submit(_payload(run, infos[run.instance]))] = key
                        sharing[key] = [run]
                    elif state == "drop":
                        summary.dropped += 1
                        summary.dropped_entries.setdefault(
                            f"{run.sweep}/{run.entry}",
                            f"from {run.axis_value} on (every run at a smaller size ended in "
                            "time_limit or error)",
                        )
                        to_run -= 1
                        progress.update(task, total=to_run)
                    else:
                        still.append(run)
                pending = still
                if not in_flight:
                    continue
                assert backend is not None
                for future in backend.wait(list(in_flight), timeout=0.5):
                    key = in_flight.pop(future)
                    runs = sharing.pop(key)
                    row = _row_of(future, runs[0], infos[runs[0].instance])
                    try:
                        db.insert_run(connection, row)
                    except sqlite3.Error as exc:  # e.g. a full disk: stop, keep what is stored
                        interrupted = True  # kill the running children, submit nothing more
                        raise db.ResultsFileError(
                            path,
                            f"could not store a run ({exc}); stopped after {summary.done} "
                            "run(s) stored in this call, which are kept (rerun to resume)",
                        ) from None
                    stored[key] = row["status"]
                    for run in runs:
                        chains.record(run, row["status"])
                    summary.done += 1
                    summary.skipped += len(runs) - 1
                    summary.statuses[row["status"]] += 1
                    progress.update(
                        task, advance=len(runs), description=_describe(suite.name, summary)
                    )
    except KeyboardInterrupt:
        interrupted = True
        raise
    except sqlite3.Error as exc:  # storing instances or members failed (e.g. a full disk)
        interrupted = True
        raise db.ResultsFileError(path, f"could not write to it ({exc}); nothing run") from None
    finally:
        if backend is not None:
            backend.close(interrupted)
        connection.close()
        held.close()  # after the connection: closing any descriptor drops SQLite's POSIX locks
        summary.elapsed_s = time.perf_counter() - start
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)
    return summary


def _catch_sigterm() -> Any:
    """Makes SIGTERM raise KeyboardInterrupt (main thread only); returns the previous handler."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)


def _row_of(future: Any, run: Run, info: dict[str, Any]) -> dict[str, Any]:
    try:
        row: dict[str, Any] = future.result()
        return row
    except Exception as exc:  # the task itself failed (not the solver): still a row
        payload = _payload(run, info)
        row = worker.base_row(payload)
        row.update(status="error", message=f"worker failed: {type(exc).__name__}: {exc}")
        return row


def _describe(suite: str, summary: Summary) -> str:
    counts = " ".join(f"{s}:{n}" for s, n in sorted(summary.statuses.items()))
    return f"{suite} {counts}".strip()
