"""A few-minute rehearsal of the inference rerun: each suite shrunk, run, and reported.

    python benchmarks/inference_smoke.py [--out /tmp/inference-smoke] [--workers 1]

Writes a copy of ``mu2024``, ``nicosanti2026`` and ``inference-gap`` (``benchmarks/*.toml``)
into ``--out`` with every time limit and grace 5 s, one seed (``seeds = 2`` where the suite has
more than one and no axis), every grid list but the objectives cut to its first two values and
every axis to its first and last point (so the target sizes and a drop after a limit are both
exercised), runs the three with
``jqodi bench`` into ``--out`` and then ``inference_report.py --results --out``: every table and
figure of the real rerun, from the same code paths, in a few minutes. Nothing under
``benchmarks/results`` is touched.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SUITES = ("mu2024", "nicosanti2026", "inference-gap")
LIMIT_S = 5.0


def shrink(document: dict[str, Any]) -> dict[str, Any]:
    """The suite with 5 s limits, one or two seeds, grids of two and axes of their two ends."""
    document["suite"] |= {"time_limit": LIMIT_S, "grace": LIMIT_S}
    for sweep in document["sweep"]:
        for key in ("time_limit", "grace"):
            if key in sweep:
                sweep[key] = LIMIT_S
        seeds = sweep.get("seeds", 3)
        many = (len(seeds) if isinstance(seeds, list) else seeds) > 1
        sweep["seeds"] = 2 if many and sweep.get("axis") is None else [1]
        sweep["grid"] = {
            k: v if k == "objective" else v[:2] for k, v in sweep.get("grid", {}).items()
        }
        axis = sweep.get("axis")
        if axis is not None:
            sweep["axis"] = {
                k: v if k == "name" or len(v) < 2 else [v[0], v[-1]] for k, v in axis.items()
            }
    return document


def dumps(document: dict[str, Any]) -> str:
    """The few TOML shapes a suite file uses, written back."""
    lines = ["[suite]", *(f"{k} = {_value(v)}" for k, v in document["suite"].items()), ""]
    lines += ["[solvers]", *(f"{k} = {_value(v)}" for k, v in document["solvers"].items()), ""]
    for sweep in document["sweep"]:
        lines.append("[[sweep]]")
        lines += [f"{k} = {_value(v)}" for k, v in sweep.items() if not isinstance(v, dict)]
        for table in ("sizes", "grid", "axis"):
            if sweep.get(table):
                lines += [f"[sweep.{table}]", *(f"{k} = {_value(v)}" for k, v in
                                                sweep[table].items())]  # fmt: skip
        lines.append("")
    return "\n".join(lines)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(map(_value, value)) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {type(value).__name__}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/inference-smoke"))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--suites", default=",".join(SUITES), help="a,b: only these suites")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    here = Path(__file__).parent
    jqodi = Path(sys.executable).parent / "jqodi"
    for name in args.suites.split(","):
        with open(here / f"{name}.toml", "rb") as stream:
            document = shrink(tomllib.load(stream))
        path = args.out / f"{name}.toml"
        path.write_text(dumps(document))
        command = [str(jqodi), "bench", str(path), "--db", str(args.out / f"{name}.sqlite"),
                   "--workers", str(args.workers), "--quiet"]  # fmt: skip
        if subprocess.run(command, check=False).returncode != 0:
            return 1
    report = [sys.executable, str(here / "inference_report.py"), "--results", str(args.out)]
    return subprocess.run(report, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
