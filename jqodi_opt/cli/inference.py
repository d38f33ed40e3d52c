"""Inference commands (SPEC §9): ``jqodi pareto``, ``jqodi fit-accuracy``, and ``jqodi solve`` /
``jqodi compare`` on a ``jqodi-inference/1`` file (the commands in
:mod:`~jqodi_opt.cli.problems` and :mod:`~jqodi_opt.cli.finetune` dispatch here on the file's
``format``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from jqodi_opt.cli.app import Exit, UsageProblem, app, err, fmt, out, print_json
from jqodi_opt.result import Status


def _problem(path: str | os.PathLike[str]) -> Any:
    from jqodi_opt.inference.problem import compile_inference
    from jqodi_opt.inference.read import read_inference

    return compile_inference(read_inference(path))


def exit_code(result: Any) -> int:
    """SPEC §4 exit codes for a solve result."""
    codes = {
        Status.OPTIMAL: Exit.OK,
        Status.FEASIBLE: Exit.OK,
        Status.INFEASIBLE: Exit.INFEASIBLE,
        Status.TIME_LIMIT: Exit.OK if result.plan is not None else Exit.TIME_LIMIT,
        Status.ERROR: Exit.SOLVER_ERROR,
    }
    return int(codes[result.status])


def solve_inference_file(
    instance: Path,
    solver: str,
    time_limit: float | None,
    options: dict[str, Any],
    plan_out: Path | None,
    json_out: bool,
) -> int:
    """``jqodi solve`` on an inference instance; returns the exit code."""
    from jqodi_opt.inference.plan import write_inference_plan
    from jqodi_opt.solve import solve

    problem = _problem(instance)
    err.print(
        f"solving {problem.name} ({problem.objective}) with {solver}: {problem.num_layers} "
        f"layers, {problem.num_servers} servers",
        markup=False,
        highlight=False,
    )
    result = solve(problem, solver=solver, time_limit=time_limit, **options)
    document = result.to_plan_document()
    if plan_out is not None:
        write_inference_plan(document, plan_out)
        err.print(f"plan written to {plan_out!s}", highlight=False)
    if json_out:
        print_json(document)
    else:
        show_inference_result(result)
    return exit_code(result)


def show_inference_result(result: Any) -> None:
    """Prints an inference result: the totals, then the layers run by run."""
    if result.plan is None:
        out.print(
            Text.assemble(
                (str(result.status), "bold"), f" ({result.solver}, {result.runtime_s:.3f} s)"
            ),
            highlight=False,
        )
        for reason in result.reasons:
            out.print(f"  - {reason}", markup=False, highlight=False)
        return
    plan = result.plan
    head = Table(show_header=False, box=None, title=f"{result.solver}: {result.status}")
    head.add_column(style="bold")
    head.add_column()
    rows = [
        ("instance", plan.instance),
        ("objective", f"{plan.objective} = {fmt(result.objective, 8)}"),
        ("latency", f"{fmt(plan.latency_s, 8)} s"),
        ("energy", f"{fmt(plan.energy_j, 8)} J"),
        ("device energy", f"{fmt(plan.device_energy_j, 8)} J"),
        ("accuracy drop", fmt(plan.accuracy_drop)),
        ("bound", fmt(result.bound, 8)),
        ("gap", "-" if result.gap is None else f"{result.gap:.4%}"),
        ("placement", plan.summary()),
        ("runtime", f"build {result.build_time_s:.3f} s + solve {result.solve_time_s:.3f} s"),
    ]
    for key, value in rows:
        head.add_row(key, str(value))
    out.print(head)
    layers = Table(title="layers (model order)")
    for column in ("layer", "server", "bits", "pruning", "compression"):
        layers.add_column(column, justify="left" if column in ("layer", "server") else "right")
    for c in plan.layers:
        layers.add_row(c.layer, c.server, str(c.bits), f"{c.pruning:g}", f"{c.compression:g}")
    out.print(layers)
    if plan.input_compression != 1.0:
        out.print(f"input compression {plan.input_compression:g}")
    for reason in result.reasons:
        err.print(f"note: {reason}", markup=False, highlight=False)


def _wide(table: Table) -> None:
    """Prints a wide table on stdout, one line per row however narrow the terminal."""
    from rich.console import Console

    Console(width=max(out.width, 400), soft_wrap=True).print(table)


def _short(name: str, limit: int = 24) -> str:
    """A tensor name cut to ``limit`` characters (ONNX names run long), keeping its end."""
    return name if len(name) <= limit else "…" + name[-(limit - 1) :]


def _counts(mapping: dict[Any, int]) -> str:
    return " ".join(f"{k!s}:{v}" for k, v in mapping.items()) or "-"


def compare_inference_file(
    instance: Path, solvers: list[str] | None, time_limit: float | None, json_out: bool
) -> int:
    """``jqodi compare`` on an inference instance; returns the exit code.

    ``time_limit`` None: :data:`~jqodi_opt.inference.compare.DEFAULT_TIME_LIMIT` per solver."""
    from jqodi_opt.inference.compare import (
        DEFAULT_TIME_LIMIT,
        compare_inference,
        placement_summary,
    )

    if time_limit is not None and not time_limit > 0:
        raise UsageProblem(f"--time-limit {time_limit} not understood (> 0).")
    problem = _problem(instance)
    limit = DEFAULT_TIME_LIMIT if time_limit is None else time_limit
    comparison = compare_inference(problem, solvers, limit)
    if json_out:
        print_json(comparison.to_dict(problem))
        return int(Exit.OK)
    view = Table(
        title=f"{problem.name}: objective {problem.objective}, time limit {limit:g} s per solver"
    )
    columns = (
        "solver",
        "status",
        "layers per server",
        "cut tensors",
        "bits",
        "pruning",
        "compression",
        "latency s",
        "energy J",
        "device J",
        "drop",
        "objective",
        "gap to optimum" if comparison.optimum is not None else "gap to best found",
        "runtime s",
    )
    for column in columns:
        view.add_column(
            column,
            justify="right"
            if column.endswith((" s", " J", "drop", "tive", "optimum", "found"))
            else "left",
        )
    notes = []
    for row in comparison.rows:
        result = row.result
        if result is None or result.plan is None:
            why = row.note or "; ".join(result.reasons if result else [])
            notes.append(f"{row.solver}: {row.status}: {why}")
            runtime = "" if result is None else f"{result.runtime_s:.3f}"
            view.add_row(row.solver, row.status, *["-"] * 11, runtime)
            continue
        plan = result.plan
        summary = placement_summary(problem, plan)
        cut = summary["cut_tensors"]
        view.add_row(
            row.solver,
            row.status,
            _counts(summary["layers_per_server"]),
            ", ".join(_short(c) for c in cut[:3]) + (f" +{len(cut) - 3}" if len(cut) > 3 else "")
            or "-",
            _counts(summary["bits"]),
            _counts(summary["pruning"]),
            _counts(summary["compression"]),
            fmt(plan.latency_s),
            fmt(plan.energy_j),
            fmt(plan.device_energy_j),
            fmt(plan.accuracy_drop, 3),
            fmt(result.objective),
            "-" if row.gap_to_optimum is None else f"{row.gap_to_optimum:.3%}",
            f"{result.runtime_s:.3f}",
        )
    if comparison.payoff is not None:
        table = comparison.payoff
        values = (
            f"T* {fmt(table['latency_s'])} s, E* {fmt(table['energy_j'])} J, "
            f"T^N {fmt(table['latency_nadir_s'])} s, E^N {fmt(table['energy_nadir_j'])} J, "
            if "latency_s" in table
            else ""
        )
        err.print(
            f"payoff table (weighted objective, every row normalised by it): {values}"
            f"{table['status']}, {table['solver']} {table['runtime_s']:.3f} s",
            markup=False,
            highlight=False,
        )
    _wide(view)
    for note in notes:
        err.print(note, markup=False, highlight=False)
    if comparison.optimum is None and comparison.best is None:
        err.print("no exact solver found a plan: gaps are not shown", highlight=False)
    elif comparison.optimum is None:
        bound = "" if comparison.best_bound is None else f", best bound {comparison.best_bound:.8g}"
        err.print(
            f"no exact solver proved the optimum in the time limit: gaps are to the best exact "
            f"plan found, {comparison.best:.8g} ({comparison.best_solver}){bound}",
            highlight=False,
        )
    else:
        err.print(
            f"proven optimum {comparison.optimum:.8g} ({comparison.optimum_solver})",
            highlight=False,
        )
    return int(Exit.OK)


@app.command("pareto", rich_help_panel="Inference")
def pareto_command(
    instance: Annotated[Path, typer.Argument(help="Inference instance (jqodi-inference/1).")],
    solver: Annotated[
        str,
        typer.Option(
            help="Exact backend: milp, cpsat, dp (chains), dag-dp or exhaustive; auto takes dp on "
            "a chain, dag-dp on up to 5 servers, milp otherwise."
        ),
    ] = "auto",
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="Time limit in seconds (whole front).")
    ] = None,
    weights: Annotated[
        int, typer.Option(help="Weighted-sum sweep: this many latency weights inside (0, 1).")
    ] = 99,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Draw the front, weighted-sum and baseline points here."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    resolution: Annotated[
        float,
        typer.Option(
            help="Relative energy step between points. The default gives every non-dominated "
            "point; a coarser step (e.g. 0.01) a proven approximation: every non-dominated plan "
            "has a listed point no slower and at most that fraction dearer in energy."
        ),
    ] = 1e-6,
) -> None:
    """The exact latency-energy Pareto front, next to the weighted-sum points (SPEC §7.3).

    Each point is proven as it is found (progress on stderr); Ctrl-C prints the points proven so
    far and exits 130.
    """
    import numpy as np

    from jqodi_opt.inference.pareto import MAX_RESOLUTION, RESOLUTION, pareto_front
    from jqodi_opt.inference.solvers.sessions import AUTO, BACKENDS

    if solver != AUTO and solver not in BACKENDS:
        raise UsageProblem(f"--solver {solver!r} not understood ({AUTO}, {', '.join(BACKENDS)}).")
    if weights < 0:
        raise UsageProblem(f"--weights {weights} not understood (>= 0).")
    if time_limit is not None and not time_limit > 0:
        raise UsageProblem(f"--time-limit {time_limit} not understood (> 0).")
    if not RESOLUTION <= resolution <= MAX_RESOLUTION:
        raise UsageProblem(
            f"--resolution {resolution:g} not understood ({RESOLUTION:g} to {MAX_RESOLUTION:g})."
        )
    if plot is not None and not plot.parent.is_dir():
        raise UsageProblem(f"--plot {plot}: no such directory {plot.parent}")
    problem = _problem(instance)
    sweep = np.linspace(0.0, 1.0, weights + 2)[1:-1]
    with err.status("front: first point", spinner="dots") as status:
        front = pareto_front(
            problem,
            solver,
            time_limit,
            sweep=sweep,
            resolution=resolution,
            progress=lambda line: status.update(line),
        )
    if plot is not None:
        _plot(problem, front, plot, time_limit)
    if json_out:
        print_json(front.to_dict())
    else:
        view = Table(title=f"{problem.name}: latency-energy front ({solver})")
        for column in (
            "#",
            "latency s",
            "energy J",
            "device J",
            "drop",
            "weighted sum finds it",
            "placement",
        ):
            view.add_column(column, justify="left" if column == "placement" else "right")
        for i, p in enumerate(front.front, 1):
            found = {True: "yes", False: "no", None: "-"}[p.supported]
            view.add_row(
                str(i),
                fmt(p.latency_s, 8),
                fmt(p.energy_j, 8),
                fmt(p.device_energy_j),
                fmt(p.plan.accuracy_drop, 3),
                found,
                p.plan.summary()[:70],
            )
        _wide(view)
        exact = "" if front.resolution == RESOLUTION else f" at resolution {front.resolution:g}"
        err.print(
            f"{len(front.front)} front points "
            f"({'proven complete' + exact if front.complete else 'NOT proven complete'}); "
            f"the weighted-sum sweep ({len(sweep)} weights"
            f"{', read off the complete front' if front.sweep_source == 'front' else ''}) found "
            f"{len(front.weighted_sum)} distinct; {front.solves} {front.solver} solves in "
            f"{front.runtime_s:.2f} s",
            highlight=False,
        )
    for reason in front.reasons:
        err.print(f"note: {reason}", markup=False, highlight=False)
    if front.interrupted:
        raise typer.Exit(Exit.INTERRUPTED)
    if front.front:
        raise typer.Exit(Exit.OK)
    raise typer.Exit(Exit.INFEASIBLE if front.infeasible else Exit.TIME_LIMIT)


def _plot(problem: Any, front: Any, path: Path, time_limit: float | None) -> None:
    """Writes the front plot with the baselines' points (each baseline solved once)."""
    import matplotlib

    matplotlib.use("Agg")  # the command line writes files and never opens a window
    from matplotlib.figure import Figure

    from jqodi_opt.inference.pareto import plot_front
    from jqodi_opt.solve import INFERENCE_SOLVERS, solve

    points: dict[str, tuple[float, float]] = {}
    # a complete front holds the weighted objective's payoff table: no baseline re-solves it
    payoff = front.payoff() if problem.objective == "weighted" else None
    for name, info in INFERENCE_SOLVERS.items():
        if info.exact:
            continue
        try:
            result = solve(problem, name, time_limit=time_limit, payoff=payoff)
        except ValueError:  # refused or not applicable
            continue
        if result.plan is not None:
            points[name] = (result.plan.latency_s, result.plan.energy_j)
    figure = Figure(figsize=(7, 5))
    plot_front(front, figure.add_subplot(), baselines=points)
    figure.tight_layout()
    try:
        figure.savefig(path)
    except (OSError, ValueError) as exc:  # unwritable path, unknown image format
        raise UsageProblem(f"--plot {path}: {exc}") from None
    err.print(f"plot written to {path!s}", highlight=False)


# --------------------------------------------------------------------------------------------------
# fit-accuracy
# --------------------------------------------------------------------------------------------------


@app.command("fit-accuracy", rich_help_panel="Inference")
def fit_accuracy_command(
    samples: Annotated[Path, typer.Argument(help="CSV of measured configurations.")],
    out_file: Annotated[
        Path, typer.Option("--out", help="Where to write the accuracy section (JSON).")
    ],
    max_drop: Annotated[
        float, typer.Option("--max-drop", help="Accuracy budget written into the section.")
    ] = 0.02,
    folds: Annotated[int, typer.Option(help="Cross-validation folds.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the folds and of GradientBoosting.")] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable report.")] = False,
) -> None:
    """Fit SPEC §7.2's interaction polynomial (degree 1-3 by cross-validation) next to Mu et al.'s
    GradientBoosting predictor, report cross-validated R², write the best degree-<=2 polynomial.

    Columns: bits:LAYER, pruning:LAYER, compression:TENSOR (the chosen value; empty = unmodified)
    and accuracy_drop.
    """
    from jqodi_opt.inference.accuracy_fit import fit_accuracy, read_samples

    data = read_samples(samples)
    fit = fit_accuracy(data, max_drop=max_drop, folds=folds, seed=seed)
    text = json.dumps(fit.section, indent=2, allow_nan=False) + "\n"
    try:
        out_file.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageProblem(f"{out_file}: cannot write: {exc.strerror or exc}") from None
    if json_out:
        print_json(fit.report())
    else:
        view = Table(title=f"Accuracy fit of {samples!s} ({fit.rows} rows, {fit.folds}-fold CV)")
        for column in ("model", "features", "CV R²", "± std", "ridge alpha"):
            view.add_column(column, justify="left" if column == "model" else "right")
        for score in fit.degrees:
            name = f"polynomial degree {score.degree}"
            if score.degree == fit.written_degree:
                name += " (written)"
            view.add_row(
                name,
                str(score.features),
                fmt(score.r2_mean, 4) if not score.skipped else score.skipped,
                fmt(score.r2_std, 2),
                fmt(score.alpha, 2),
            )
        r2, std = fit.gradient_boosting_r2
        view.add_row("GradientBoosting (Mu et al.)", "-", fmt(r2, 4), fmt(std, 2), "-")
        out.print(view)
    for note in fit.notes:
        err.print(f"note: {note}", markup=False, highlight=False)
    err.print(
        f"wrote {out_file}: {len(fit.section['terms'])} terms, "
        f"{len(fit.section['interactions'])} interactions",
        markup=False,
        highlight=False,
    )
    raise typer.Exit(Exit.OK)
