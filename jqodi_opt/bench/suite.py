"""Benchmark suites: a TOML file → a list of :class:`Run` specs.

Schema (documented with examples in ``benchmarks/README.md``)::

    [suite]
    name = "gap"                 # default: the file's stem
    description = "..."
    time_limit = 10.0            # solver time limit per run, seconds (default 10)
    grace = 10.0                 # extra wall-clock seconds before a run is killed (default 10)
    memory_limit_mb = 4096       # address-space limit per run process (optional)
    estimator = "robust"         # learning estimator (default robust)

    [solvers]                    # named entries; a registered solver name needs no entry
    milp-epochs = { solver = "milp", options = { formulation = "epochs" } }

    [[sweep]]
    name = "tradeoff-small"      # unique within the suite
    family = "tradeoff"          # or a list of families
    seeds = [1, 2, 3]            # or an integer n: seeds 1..n
    tightness = [0.2, 0.5]       # a number or a list (default 0.5)
    solvers = ["milp-epochs", "cpsat", "jqodi"]
    time_limit = 5.0             # overrides [suite]; so may grace and memory_limit_mb
    drop_after_timeout = true    # default: true when the sweep has an axis
    [sweep.sizes]                # fixed size knobs (generate's keyword arguments)
    models = 1
    [sweep.axis]                 # optional: one axis grown on its own; equal-length lists zipped
    name = "options"
    edge_servers = [2, 10, 100]
    cuts = [5, 10, 100]
    [sweep.grid]                 # optional: every combination of these lists (crossed with the
    models = [1, 2]              # axis); a knob is in sizes, axis or grid, not two of them

Every combination of family × grid point × sizes (axis point) × tightness × seed × solver is one
run.

Inference families (``chain``, ``dag``, ``profile``, ``mu2024``;
:mod:`jqodi_opt.bench.families`) take their own knobs in ``sizes`` and ``axis`` — numbers or names,
e.g. ``model = "alexnet-cifar10"`` or ``objective = ["latency", "energy"]`` — and no
``tightness``.
"""

from __future__ import annotations

import itertools
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jqodi_opt.bench import families as registry
from jqodi_opt.bench.families import FAMILIES
from jqodi_opt.exceptions import SuiteError, short
from jqodi_opt.finetune.generate import canonical_json

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: Bounds on what a suite file can ask for (README, "Limits on input").
MAX_SUITE_BYTES = 2**20
MAX_SIZE = 1_000_000  # any one fine-tuning size knob
MAX_SEEDS = 10_000  # a seed count
MAX_RUNS = 1_000_000  # runs of one sweep (and cells of its grid)
SIZE_KNOBS = registry.FINETUNE_KNOBS
_SUITE_KEYS = {"name", "description", "time_limit", "grace", "memory_limit_mb", "estimator"}
_SWEEP_KEYS = {
    "name", "family", "seeds", "tightness", "solvers", "time_limit", "grace", "memory_limit_mb",
    "drop_after_timeout", "sizes", "axis", "grid", "description",
}  # fmt: skip


@dataclass(frozen=True)
class InstanceSpec:
    """How to generate one instance: family, size knobs, seed, tightness."""

    family: str
    sizes: tuple[tuple[str, Any], ...]
    seed: int
    tightness: float

    @property
    def key(self) -> str:
        """Canonical JSON naming the instance before it is generated (with generator version)."""
        return canonical_json(
            {"family": self.family, "sizes": dict(self.sizes), "seed": self.seed,
             "tightness": self.tightness, "generator": registry.generator_version(self.family)}
        )  # fmt: skip

    def kwargs(self) -> dict[str, Any]:
        """Seed, tightness and size knobs: the arguments of
        :func:`jqodi_opt.bench.families.generate`."""
        return {"seed": self.seed, "tightness": self.tightness, **dict(self.sizes)}


@dataclass(frozen=True)
class Run:
    """One solver run on one generated instance.

    Attributes
    ----------
    suite, sweep
        Where the run comes from.
    instance
        How to generate the instance.
    entry
        The solver entry's name in the suite (e.g. ``milp-epochs``).
    solver
        The registered solver it calls (e.g. ``milp``).
    options
        Solver options.
    time_limit, grace
        Solver time limit; the run is killed after ``time_limit + grace`` seconds of wall clock.
    memory_limit_mb
        Address-space limit of the run's process (None: none).
    estimator
        Learning estimator.
    axis, axis_index, axis_value
        The sweep's axis name, the position on it (0 for a sweep without axis) and its label.
    grid_value
        The sweep's grid cell (``model=a,device=b``; empty without a grid): each cell grows its
        own axis.
    drop_after_timeout
        Drop this solver from larger axis positions once all seeds of a position time out.
    """

    suite: str
    sweep: str
    instance: InstanceSpec
    entry: str
    solver: str
    options: tuple[tuple[str, Any], ...]
    time_limit: float
    grace: float
    memory_limit_mb: int | None
    estimator: str
    axis: str | None = None
    axis_index: int = 0
    axis_value: str = ""
    drop_after_timeout: bool = False
    grid_value: str = ""

    @property
    def params(self) -> str:
        """Canonical JSON of what, besides instance and solver, decides the run's outcome."""
        return canonical_json(
            {"options": dict(self.options), "time_limit": self.time_limit,
             "estimator": self.estimator}
        )  # fmt: skip

    @property
    def chain(self) -> tuple[str, str, str, float, str]:
        """Runs that share a chain grow along one axis: (sweep, entry, family, tightness, grid
        cell)."""
        return (
            self.sweep, self.entry, self.instance.family, self.instance.tightness, self.grid_value
        )  # fmt: skip

    def payload(self) -> dict[str, Any]:
        """A JSON-ready description for the isolated worker process."""
        return {
            "suite": self.suite,
            "sweep": self.sweep,
            "family": self.instance.family,
            "generate": self.instance.kwargs(),
            "instance_key": self.instance.key,
            "entry": self.entry,
            "solver": self.solver,
            "options": dict(self.options),
            "params": self.params,
            "time_limit": self.time_limit,
            "grace": self.grace,
            "memory_limit_mb": self.memory_limit_mb,
            "estimator": self.estimator,
            "axis": self.axis,
            "axis_index": self.axis_index,
            "axis_value": self.axis_value,
        }


@dataclass
class Suite:
    """A parsed suite file."""

    name: str
    path: Path
    description: str
    runs: list[Run] = field(default_factory=list)

    def only(self, entries: list[str]) -> Suite:
        """The same suite with only the runs of the named solver entries."""
        known = {run.entry for run in self.runs}
        unknown = [e for e in entries if e not in known]
        if unknown:
            raise SuiteError(
                f"{self.path}: no solver entry {', '.join(map(repr, unknown))} in this suite "
                f"({', '.join(sorted(known))})"
            )
        runs = [run for run in self.runs if run.entry in entries]
        return Suite(self.name, self.path, self.description, runs)

    def instances(self) -> list[InstanceSpec]:
        """Distinct instances of the suite, in first-use order."""
        return list(dict.fromkeys(run.instance for run in self.runs))


def resolve_suite_path(name: str | os.PathLike[str]) -> Path:
    """``name`` as a path, or ``benchmarks/NAME.toml`` when ``name`` is a bare suite name."""
    path = Path(name)
    if path.exists():
        return path
    for candidate in (Path("benchmarks") / f"{name}.toml", Path("benchmarks") / str(name)):
        if candidate.exists():
            return candidate
    raise SuiteError(f"{name}: no such suite file (nor benchmarks/{name}.toml)")


def load_suite(path: str | os.PathLike[str]) -> Suite:
    """Reads a suite file into its runs.

    Raises
    ------
    SuiteError
        Naming the file and the field for every problem found.
    """
    path = resolve_suite_path(path)
    if not path.is_file():  # a directory, a FIFO or a device: never opened
        raise SuiteError(f"{path}: cannot read: not a regular file")
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_SUITE_BYTES + 1)
        if len(data) > MAX_SUITE_BYTES:
            raise SuiteError(f"{path}: file larger than {MAX_SUITE_BYTES // 2**20} MB; not read")
        document = tomllib.loads(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SuiteError(f"{path}: cannot read: {reason}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{path}: not valid TOML: {str(exc)[:200]}") from None
    except RecursionError:
        raise SuiteError(f"{path}: not valid TOML: nested too deeply") from None
    return parse_suite(document, path)


def parse_suite(document: dict[str, Any], path: Path) -> Suite:
    """Builds a :class:`Suite` from a parsed TOML document."""

    def fail(where: str, message: str) -> SuiteError:
        return SuiteError(f"{path}: {where}: {message}")

    unknown = set(document) - {"suite", "solvers", "sweep"}
    if unknown:
        raise fail(sorted(unknown)[0], "unknown table (suite, solvers, sweep)")
    head = document.get("suite", {})
    for table in ("suite", "solvers"):
        if not isinstance(document.get(table, {}), dict):
            raise fail(table, "must be a table")
    for key in head:
        if key not in _SUITE_KEYS:
            raise fail(f"suite.{key}", "unknown field")
    name = str(head.get("name", path.stem))
    defaults = {
        "time_limit": _number(head.get("time_limit", 10.0), "suite.time_limit", fail),
        "grace": _number(head.get("grace", 10.0), "suite.grace", fail, allow_zero=True),
        "memory_limit_mb": head.get("memory_limit_mb"),
    }
    estimator = head.get("estimator", "robust")
    if estimator not in ("robust", "expected"):
        raise fail("suite.estimator", f"{short(estimator)} not understood (robust or expected)")

    entries: dict[str, tuple[str, dict[str, Any]]] = {}
    for entry, spec in document.get("solvers", {}).items():
        where = f"solvers.{entry}"
        if not isinstance(spec, dict) or set(spec) - {"solver", "options"}:
            raise fail(where, "must be a table with solver and options")
        solver = spec.get("solver", entry)
        known = registry.all_solvers()
        if solver not in known:
            raise fail(f"{where}.solver", f"unknown solver {short(solver)} ({', '.join(known)})")
        options = spec.get("options", {})
        if not isinstance(options, dict):
            raise fail(f"{where}.options", "must be a table")
        entries[entry] = (solver, options)

    sweeps = document.get("sweep", [])
    if not isinstance(sweeps, list) or not sweeps:
        raise fail("sweep", "needs at least one [[sweep]] table")
    runs: list[Run] = []
    seen: set[str] = set()
    for s, sweep in enumerate(sweeps):
        if not isinstance(sweep, dict):
            raise fail(f"sweep[{s}]", "must be a table ([[sweep]])")
        runs.extend(_sweep_runs(sweep, s, name, estimator, defaults, entries, seen, fail))
    return Suite(name=name, path=path, description=str(head.get("description", "")), runs=runs)


def _sweep_runs(
    sweep: dict[str, Any],
    index: int,
    suite: str,
    estimator: str,
    defaults: dict[str, Any],
    entries: dict[str, tuple[str, dict[str, Any]]],
    seen: set[str],
    fail: Any,
) -> list[Run]:
    label = str(sweep.get("name", f"sweep{index + 1}"))
    where = f"sweep[{index}] ({label})"
    for key in sweep:
        if key not in _SWEEP_KEYS:
            raise fail(f"{where}.{key}", "unknown field")
    if label in seen:
        raise fail(f"{where}.name", "duplicate sweep name")
    seen.add(label)
    families = sweep.get("family")
    families = [families] if isinstance(families, str) else families
    if not families or not all(f in FAMILIES for f in families):
        raise fail(f"{where}.family", f"must be one of or a list of {', '.join(FAMILIES)}")
    seeds = sweep.get("seeds", 3)
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if not 1 <= seeds <= MAX_SEEDS:
            raise fail(f"{where}.seeds", f"{short(seeds)} not in 1..{MAX_SEEDS:,}")
        seeds = list(range(1, seeds + 1))
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in seeds)
    ):
        raise fail(f"{where}.seeds", "must be a count or a list of integers >= 0")
    tightness = sweep.get("tightness", 0.5)
    tightness = tightness if isinstance(tightness, list) else [tightness]
    for t in tightness:
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t <= 1:
            raise fail(f"{where}.tightness", f"{short(t)} not in [0, 1]")
    solvers = sweep.get("solvers")
    if not isinstance(solvers, list) or not solvers:
        raise fail(f"{where}.solvers", "needs a list of solver entries")
    for family in families:
        registered = registry.solver_registry(family)
        for entry in solvers:
            if entries.get(entry, (entry, {}))[0] not in registered:
                raise fail(f"{where}.solvers", f"unknown solver entry {short(entry)} for {family}")
    time_limit = _number(
        sweep.get("time_limit", defaults["time_limit"]), f"{where}.time_limit", fail
    )
    grace = _number(sweep.get("grace", defaults["grace"]), f"{where}.grace", fail, allow_zero=True)
    memory = sweep.get("memory_limit_mb", defaults["memory_limit_mb"])
    if memory is not None and (
        isinstance(memory, bool) or not isinstance(memory, int) or not 0 < memory <= 2**40
    ):
        raise fail(f"{where}.memory_limit_mb", "must be a positive integer")

    sizes_table = sweep.get("sizes", {})
    if not isinstance(sizes_table, dict):
        raise fail(f"{where}.sizes", "must be a table of size knobs")
    fixed = dict(sizes_table)
    knob_names = registry.knob_names(families[0])
    if len({registry.is_inference(f) for f in families}) > 1 or any(
        registry.knob_names(f) != knob_names for f in families
    ):
        raise fail(f"{where}.family", "families with different size knobs need their own sweeps")
    numeric = not registry.is_inference(families[0])  # fine-tuning knobs are all integers
    if not numeric:
        if "tightness" in sweep:
            raise fail(f"{where}.tightness", "inference families take no tightness")
        tightness = [0.0]
    for key in fixed:
        if key not in knob_names:
            raise fail(f"{where}.sizes.{key}", f"unknown size knob ({', '.join(knob_names)})")
        if numeric:
            _size(fixed[key], f"{where}.sizes.{key}", fail)
    axis = sweep.get("axis")
    points: list[dict[str, Any]]
    axis_name: str | None = None
    if axis is None:
        points = [{}]
    else:
        axis = dict(axis)
        axis_name = str(axis.pop("name", "+".join(axis)))
        if not axis or set(axis) - set(knob_names):
            raise fail(f"{where}.axis", f"needs lists of size knobs ({', '.join(knob_names)})")
        lengths = {len(v) if isinstance(v, list) else -1 for v in axis.values()}
        if len(lengths) != 1 or -1 in lengths or 0 in lengths:
            raise fail(f"{where}.axis", "every knob needs a list, all of the same length")
        for knob, values in axis.items():
            for i, value in enumerate(values if numeric else []):
                _size(value, f"{where}.axis.{knob}[{i}]", fail)
        points = [{k: v[i] for k, v in axis.items()} for i in range(lengths.pop())]
    drop = bool(sweep.get("drop_after_timeout", axis is not None))
    grid = sweep.get("grid", {})
    if not isinstance(grid, dict) or any(not isinstance(v, list) or not v for v in grid.values()):
        raise fail(f"{where}.grid", "needs non-empty lists of size knobs")
    for key in grid:
        if key not in knob_names:
            raise fail(f"{where}.grid.{key}", f"unknown size knob ({', '.join(knob_names)})")
        if key in fixed or key in points[0]:
            raise fail(f"{where}.grid.{key}", "already set in sizes or axis")
        for i, value in enumerate(grid[key] if numeric else []):
            _size(value, f"{where}.grid.{key}[{i}]", fail)
    if math.prod(len(v) for v in grid.values()) > MAX_RUNS:
        raise fail(f"{where}.grid", f"more than {MAX_RUNS:,} cells")
    crossed = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]

    runs: list[Run] = []
    for family in families:
        for cell, (position, point) in itertools.product(crossed, enumerate(points)):
            knobs = fixed | cell | point
            try:
                pinned = tuple(registry.resolve(family, knobs).items())
            except (TypeError, ValueError) as exc:
                raise fail(f"{where}.sizes", str(exc)) from None
            value = ",".join(f"{k}={v}" for k, v in point.items())
            cell_value = ",".join(f"{k}={v}" for k, v in cell.items())
            for t in tightness:
                for seed in seeds:
                    spec = InstanceSpec(family, pinned, int(seed), float(t))
                    if len(runs) + len(solvers) > MAX_RUNS:
                        raise fail(where, f"more than {MAX_RUNS:,} runs in one sweep")
                    for entry in solvers:
                        solver, options = entries.get(entry, (entry, {}))
                        runs.append(
                            Run(
                                suite=suite, sweep=label, instance=spec, entry=entry,
                                solver=solver, options=tuple(sorted(options.items())),
                                time_limit=time_limit, grace=grace, memory_limit_mb=memory,
                                estimator=estimator, axis=axis_name, axis_index=position,
                                axis_value=value, drop_after_timeout=drop,
                                grid_value=cell_value,
                            )
                        )  # fmt: skip
    return runs


def _number(value: Any, where: str, fail: Any, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fail(where, f"{short(value)} is not a number")
    if not math.isfinite(value):
        raise fail(where, f"{short(value)} must be a finite number")
    if value < 0 or (value == 0 and not allow_zero):
        raise fail(where, f"{short(value)} must be > 0")
    return float(value)


def _size(value: Any, where: str, fail: Any) -> int:
    """A size knob: an integer in ``1..MAX_SIZE``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(where, f"{short(value)} is not an integer")
    if not 1 <= value <= MAX_SIZE:
        raise fail(where, f"{short(value)} not in 1..{MAX_SIZE:,}")
    return value


def describe(suite: Suite) -> dict[str, Any]:
    """Counts of a suite: runs, instances, per sweep and per solver entry."""
    per_sweep: dict[str, int] = {}
    per_entry: dict[str, int] = {}
    for run in suite.runs:
        per_sweep[run.sweep] = per_sweep.get(run.sweep, 0) + 1
        per_entry[run.entry] = per_entry.get(run.entry, 0) + 1
    return {
        "suite": suite.name,
        "runs": len(suite.runs),
        "instances": len(suite.instances()),
        "sweeps": per_sweep,
        "solvers": per_entry,
    }


__all__ = ["InstanceSpec", "Run", "Suite", "SuiteError", "describe", "load_suite"]
