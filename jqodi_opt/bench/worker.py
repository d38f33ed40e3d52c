"""What runs inside the isolated process of one benchmark run, and how that process is watched.

:func:`execute` regenerates the instance from its spec (nothing big is shipped; the SHA-256 of the
regenerated document must equal the one the parent computed), compiles it, solves it and returns
one result row. :func:`run_isolated` runs :func:`execute` in a child process with a wall-clock
limit of ``time_limit + grace``: past it the child is killed and the run is stored as
``time_limit``; a child that dies (a crash, the kernel's OOM killer, a ``MemoryError`` under
``memory_limit_mb``) gives an ``error`` row. Either way the sweep goes on.

The child is forked from a ``forkserver`` that has already imported the package (fast), or, where
a process may not have children of its own (a daemonic Dask worker) or on request, started as
``python -m jqodi_opt.bench.worker`` with the payload on stdin and the row as JSON on stdout.

``JQODI_BENCH_HANG`` (a test hook): a comma-separated list of solver entry names whose runs sleep
instead of solving, to exercise the wall-clock kill deterministically. The runner's parent reads
it (:func:`hang_requested`) and marks the payload, so it works the same in a forked child, a fresh
interpreter or on a Dask worker.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import signal
import subprocess
import sys
import threading
import time
import traceback
from datetime import datetime, timezone
from functools import cache
from multiprocessing.connection import Connection
from typing import Any

HANG_VARIABLE = "JQODI_BENCH_HANG"

# Child processes alive right now, so that an interrupted parent can kill them.
_LIVE: set[Any] = set()
_LIVE_LOCK = threading.Lock()


# --------------------------------------------------------------------------------------------------
# Inside the child
# --------------------------------------------------------------------------------------------------


@cache
def machine() -> dict[str, Any]:
    """Platform, CPU model, core count and Python version of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    }


def peak_memory_mb() -> float | None:
    """Peak resident memory of this process in MiB (``ru_maxrss``), None where unavailable."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def _limit_memory(megabytes: int | None) -> None:
    if not megabytes:
        return
    try:
        import resource

        limit = int(megabytes) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):  # pragma: no cover - platform without RLIMIT_AS
        pass


def base_row(payload: dict[str, Any]) -> dict[str, Any]:
    """The fields of a result row known before the run."""
    from jqodi_opt import __version__
    from jqodi_opt.bench.families import solver_registry

    info = solver_registry(payload["family"]).get(payload["solver"])
    keys = ("suite", "sweep", "family", "entry", "solver", "params", "time_limit", "axis",
            "axis_index", "axis_value")  # fmt: skip
    row = {key: payload[key] for key in keys}
    row["seed"] = payload["generate"]["seed"]
    row["tightness"] = payload["generate"]["tightness"]
    row["exact"] = int(bool(info and info.exact))
    row["package_version"] = __version__
    row.update(payload.get("instance_info", {}))
    return row


def execute(payload: dict[str, Any]) -> dict[str, Any]:
    """Generates, compiles and solves one run; returns its result row (never raises)."""
    row = base_row(payload)
    row.update(machine())
    try:
        row.update(_execute(payload))
    except Exception as exc:  # anything that escapes solve(): recorded, not raised
        row["status"] = "error"
        row["message"] = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    row["peak_memory_mb"] = peak_memory_mb()
    row["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return row


def _execute(payload: dict[str, Any]) -> dict[str, Any]:
    from jqodi_opt.bench import families
    from jqodi_opt.solve import solve

    out: dict[str, Any] = {}
    start = time.perf_counter()
    family = payload["family"]
    document = families.generate(family, **payload["generate"])
    digest = families.document_hash(document)
    out["generate_time_s"] = time.perf_counter() - start
    if payload.get("instance_hash") and digest != payload["instance_hash"]:
        return out | {
            "status": "error",
            "message": f"regenerated instance differs: hash {digest[:12]} != "
            f"{payload['instance_hash'][:12]} (another numpy or generator version?)",
        }
    start = time.perf_counter()
    problem = families.compile_document(family, document, payload["estimator"])
    out["compile_time_s"] = time.perf_counter() - start

    if payload.get("hang"):
        time.sleep(10 * (payload["time_limit"] + payload["grace"]) + 60)

    start = time.perf_counter()
    solver, limit, options = payload["solver"], payload["time_limit"], payload["options"]
    if families.is_inference(family):
        out.update(families.solve_inference(problem, solver, limit, options))
        out["wall_time_s"] = time.perf_counter() - start
        return out
    result = solve(problem, solver=solver, time_limit=limit, **options)
    out["wall_time_s"] = time.perf_counter() - start
    out.update(
        status=str(result.status),
        objective=result.objective,
        bound=result.bound,
        solver_gap=result.gap,
        build_time_s=result.build_time_s,
        solve_time_s=result.solve_time_s,
        runtime_s=result.runtime_s,
        message="; ".join(result.reasons)[:2000] or None,
    )
    if result.plan is not None:
        out.update(plan_model=result.plan.model, plan_bits=result.plan.bits,
                   plan_time_s=result.plan.time_s)  # fmt: skip
    return out


def hang_requested(entry: str) -> bool:
    """True when ``JQODI_BENCH_HANG`` names ``entry`` (test hook; read in the runner's parent)."""
    names = {s.strip() for s in os.environ.get(HANG_VARIABLE, "").split(",")}
    return entry in names


def _child_entry(connection: Connection, payload: dict[str, Any]) -> None:
    """Entry point of a forked child: ignore Ctrl-C (the parent handles it), run, send the row."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _silence()  # solver banners must not reach the parent's stdout (it may be printing JSON)
    _limit_memory(payload.get("memory_limit_mb"))
    try:
        connection.send(execute(payload))
    finally:
        connection.close()


def _silence() -> None:
    """Points file descriptors 1 and 2 of this process at the null device."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(null)
    except OSError:  # pragma: no cover
        pass


def main() -> None:
    """``python -m jqodi_opt.bench.worker``: payload JSON on stdin, the row as JSON on stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    payload = json.loads(sys.stdin.read())
    _limit_memory(payload.get("memory_limit_mb"))
    if payload.get("solver") == "jqodi":  # compile or load its kernel outside the measured time
        import jqodi_opt.bench.warm  # noqa: F401
    row = execute(payload)
    sys.stdout.write("\n" + json.dumps(row, default=_jsonable) + "\n")
    sys.stdout.flush()


def _jsonable(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else str(value)


# --------------------------------------------------------------------------------------------------
# Watching the child
# --------------------------------------------------------------------------------------------------

PRELOAD = [
    "jqodi_opt.bench.worker",
    "jqodi_opt.finetune.generate",
    "jqodi_opt.solve",
    "jqodi_opt.finetune.problem",
    "jqodi_opt.bench.families",
    "jqodi_opt.inference.problem",
]


@cache
def _forkserver() -> Any:
    """The forkserver context, preloading the package and every solver backend (the server
    skips a backend that does not import)."""
    from jqodi_opt.bench.families import all_solvers

    context = multiprocessing.get_context("forkserver")
    preload = PRELOAD + list(dict.fromkeys(info.module for info in all_solvers().values()))
    preload.append("jqodi_opt.bench.warm")  # compiled kernels: no run pays for compiling them
    context.set_forkserver_preload(preload)
    return context


def default_method() -> str:
    """``fork`` (a forkserver child) where possible, else ``exec`` (a fresh interpreter)."""
    if sys.platform == "win32" or multiprocessing.current_process().daemon:
        return "exec"
    return "fork"


def run_isolated(payload: dict[str, Any], method: str | None = None) -> dict[str, Any]:
    """Runs :func:`execute` in a child process under the wall-clock limit; returns the row.

    Parameters
    ----------
    payload
        From :meth:`jqodi_opt.bench.suite.Run.payload`, with ``instance_hash`` and
        ``instance_info`` added by the runner.
    method
        ``fork`` or ``exec``; default :func:`default_method`.
    """
    method = method or default_method()
    wall_limit = float(payload["time_limit"]) + float(payload["grace"])
    start = time.perf_counter()
    if method == "exec":
        row, exit_note = _run_exec(payload, wall_limit)
    else:
        row, exit_note = _run_fork(payload, wall_limit)
    elapsed = time.perf_counter() - start
    if row is not None:
        return row
    row = base_row(payload) | machine()
    row["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    row["wall_time_s"] = elapsed
    if exit_note == "killed":
        row["status"] = "time_limit"
        row["message"] = (
            f"killed by the runner after {elapsed:.1f} s of wall clock "
            f"(limit: time_limit {payload['time_limit']:g} s + grace {payload['grace']:g} s)"
        )
    else:
        row["status"] = "error"
        row["message"] = f"the run's process died without a result ({exit_note})"
    return row


def _run_fork(payload: dict[str, Any], wall_limit: float) -> tuple[dict[str, Any] | None, str]:
    context = _forkserver()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child_entry, args=(sender, payload), daemon=True)
    process.start()
    sender.close()
    with _LIVE_LOCK:
        _LIVE.add(process)
    try:
        row: dict[str, Any] | None = None
        if receiver.poll(wall_limit):
            try:
                row = receiver.recv()
            except (EOFError, OSError):
                row = None
        if row is None and process.is_alive() and not receiver.poll(0):
            process.kill()
            process.join()
            return None, "killed"
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
            process.join()
        return row, _exit_note(process.exitcode)
    finally:
        receiver.close()
        with _LIVE_LOCK:
            _LIVE.discard(process)


def _run_exec(payload: dict[str, Any], wall_limit: float) -> tuple[dict[str, Any] | None, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "jqodi_opt.bench.worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with _LIVE_LOCK:
        _LIVE.add(process)
    try:
        try:
            stdout, stderr = process.communicate(json.dumps(payload), timeout=wall_limit)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            return None, "killed"
        lines = [line for line in stdout.splitlines() if line.startswith("{")]
        if process.returncode == 0 and lines:
            return json.loads(lines[-1]), "exit 0"
        tail = stderr.strip().splitlines()[-1:] if stderr.strip() else []
        return None, _exit_note(process.returncode) + (f": {tail[0]}" if tail else "")
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(process)


def _exit_note(code: int | None) -> str:
    if code is None:
        return "no exit code"
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def kill_all() -> None:
    """Kills every live child (after Ctrl-C in the parent)."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    for process in live:
        try:
            process.kill()
        except Exception:
            continue


if __name__ == "__main__":
    main()
