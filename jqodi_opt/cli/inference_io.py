"""``jqodi validate`` and ``jqodi evaluate`` on ``jqodi-inference/1`` files (SPEC §9).

The commands in :mod:`jqodi_opt.cli.problems` dispatch here on the file's ``format``."""

from __future__ import annotations

import os
from typing import Any

from rich.text import Text

from jqodi_opt.cli.app import Exit, err, fmt, out, print_json
from jqodi_opt.exceptions import InputError


def is_inference_file(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` parses as a mapping whose ``format`` starts with ``jqodi-inference``.

    A file that cannot be parsed is not claimed: the fine-tuning reader reports it as before. A
    wrong inference version (or a plan given as an instance) is claimed, so the message names the
    inference format.
    """
    from jqodi_opt.read import load_document

    try:
        document = load_document(path)
    except InputError:
        return False
    if not isinstance(document, dict):
        return False
    kind = document.get("format")
    return isinstance(kind, str) and kind.startswith("jqodi-inference")


def validate_inference(path: str | os.PathLike[str], json_out: bool) -> dict[str, Any]:
    """Validates one inference instance; prints its errors (or ``ok``) to stderr.

    Returns the ``validate --json`` report entry of the file.
    """
    from jqodi_opt.inference.problem import compile_inference
    from jqodi_opt.inference.read import read_inference

    try:
        instance = read_inference(path)
    except InputError as exc:
        for line in exc.lines():
            err.print(line, markup=False, highlight=False)
        return {"file": str(path), "valid": False, "errors": exc.lines()}
    problem = compile_inference(instance)
    if not json_out:
        err.print(
            f"{path}: ok ({problem.num_layers} layers, {problem.num_servers} servers, "
            f"{int(problem.linked.sum()) // 2} links)",
            markup=False,
            highlight=False,
        )
    return {"file": str(path), "valid": True, "warnings": []}


def evaluate_inference_command(
    instance_path: str | os.PathLike[str], plan_path: str | os.PathLike[str], json_out: bool
) -> int:
    """``jqodi evaluate`` for an inference instance: recomputes the plan, prints the verdict and
    returns the exit code (0 feasible, 1 infeasible)."""
    from jqodi_opt.inference.evaluate import evaluate_inference
    from jqodi_opt.inference.plan import read_inference_plan
    from jqodi_opt.inference.read import read_inference

    instance = read_inference(instance_path)
    check = evaluate_inference(instance, read_inference_plan(plan_path))
    if json_out:
        print_json(check.to_dict())
    else:
        verdict = ("feasible", "green") if check.feasible else ("infeasible", "red")
        out.print(Text.assemble(f"{plan_path}: ", verdict), highlight=False)  # no markup read
        out.print(
            f"  latency {fmt(check.latency_s, 8)} s, energy {fmt(check.energy_j, 8)} J, "
            f"device energy {fmt(check.device_energy_j, 8)} J, "
            f"accuracy drop {fmt(check.accuracy_drop)}",
            highlight=False,
        )
        for name, used in check.memory_bytes.items():
            out.print(f"  memory on {name}: {fmt(used)} B", markup=False, highlight=False)
        for violation in check.violations:
            out.print(f"  - {violation}", markup=False, highlight=False)
    return Exit.OK if check.feasible else Exit.INFEASIBLE


def compare_inference(instance: Any, comparison: Any) -> list[Any]:
    """``jqodi compare --inference``: the paper's Fig. 9 rows for every strategy with a plan (or,
    without one within ``T_max``, its least-energy plan without the limit)."""
    from jqodi_opt.cli.app import UsageProblem
    from jqodi_opt.inference.serving import strategies_inference

    strategies: list[tuple[str, str, int, bool]] = []
    for row in comparison.rows:
        if row.result.plan is not None:
            strategies.append((row.label, row.result.plan.model, row.result.plan.bits, True))
        elif row.overrun is not None:
            strategies.append((row.label, row.overrun.plan.model, row.overrun.plan.bits, False))
    try:
        return strategies_inference(instance, strategies)
    except ValueError as exc:  # a model without tensor sizes
        raise UsageProblem(f"--inference: {exc}") from None


def show_compare_inference(rows: list[Any]) -> None:
    """Prints the rows of :func:`compare_inference` as one table."""
    from rich.console import Console
    from rich.table import Table

    view = Table(title="inference of one sample (best single cut per setting)")
    columns = ("strategy", "model", "bits", "setting", "E-cut", "latency s", "energy J",
               "device J", "T-cut", "latency s ", "energy J ")  # fmt: skip
    for column in columns:
        view.add_column(column, justify="left" if column in columns[:4] else "right")
    for row in rows:
        e, t = row.least_energy, row.least_latency
        label = row.strategy if row.within_limit else f"{row.strategy} (over T_max)"
        view.add_row(
            label, row.model, str(row.bits), row.setting,
            str(e.cut), fmt(e.evaluation.latency_s, 4), fmt(e.evaluation.energy_j, 4),
            fmt(e.evaluation.device_energy_j, 4),
            str(t.cut), fmt(t.evaluation.latency_s, 4), fmt(t.evaluation.energy_j, 4),
        )  # fmt: skip
    (out if out.is_terminal else Console(soft_wrap=True, width=200)).print(view)
    err.print(
        "E-cut: the least-energy cut, T-cut: the least-latency cut (blocks 1..cut on the device); "
        "'split' keeps at least one block on each side",
        highlight=False,
    )
