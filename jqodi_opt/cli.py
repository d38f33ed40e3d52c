"""The ``jqodi`` command line (SPEC §4).

Results go to stdout (a table, or JSON with ``--json``); messages and progress to stderr.
Exit codes: 0 success; 1 infeasible (problem or plan); 2 bad input or usage; 3 time limit with no
plan; 4 solver error.
"""

from __future__ import annotations

import json
import math
import sys
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from jqodi_opt.exceptions import InputError, SolverNotFound

app = typer.Typer(
    name="jqodi",
    help="Joint model, quantization, partition and offloading decisions for DNN fine-tuning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class Exit(IntEnum):
    """Process exit codes (SPEC §4)."""

    OK = 0
    INFEASIBLE = 1
    BAD_INPUT = 2
    TIME_LIMIT = 3
    SOLVER_ERROR = 4


class UsageProblem(Exception):
    """Bad usage detected by a command (printed as one line, exit 2)."""


def print_json(document: Any) -> None:
    """Writes ``document`` as JSON to stdout."""
    sys.stdout.write(json.dumps(document, indent=2, allow_nan=False, default=_jsonable) + "\n")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


def fmt(value: float | None, digits: int = 6) -> str:
    """A number for a table: ``-`` for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}g}"


# --------------------------------------------------------------------------------------------------
# validate, schema, costs
# --------------------------------------------------------------------------------------------------


@app.command()
def validate(
    instances: Annotated[list[Path], typer.Argument(help="Instance files (JSON or YAML).")],
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check instance files: one line per problem, naming the file and the field path."""
    from jqodi_opt.problem import compile_problem
    from jqodi_opt.read import read_instance

    failed = False
    report = []
    for path in instances:
        try:
            instance = read_instance(path)
        except InputError as exc:
            failed = True
            for line in exc.lines():
                err.print(line, markup=False, highlight=False)
            report.append({"file": str(path), "valid": False, "errors": exc.lines()})
            continue
        warnings = []
        problem = compile_problem(instance)
        if not problem.candidates:
            warnings.append(f"{path}: warning: no (model, bit-width) pair can reach the target")
        for line in warnings:
            err.print(line, markup=False, highlight=False)
        if not json_out:
            err.print(
                f"{path}: ok ({len(problem.candidates)} candidates, "
                f"{sum(c.num_options for c in problem.candidates)} options)",
                markup=False,
                highlight=False,
            )
        report.append({"file": str(path), "valid": True, "warnings": warnings})
    if json_out:
        print_json(report)
    raise typer.Exit(Exit.BAD_INPUT if failed else Exit.OK)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the instance format jqodi-instance/1."""
    from jqodi_opt.read import instance_schema

    print_json(instance_schema())


@app.command()
def costs(
    instance: Annotated[Path, typer.Argument(help="Instance file.")],
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Print the per-epoch time and energy of every (model, bits, edge server, cut)."""
    from jqodi_opt.costs import cost_table
    from jqodi_opt.read import read_instance

    table = cost_table(read_instance(instance))
    if json_out:
        print_json(table.to_dict(orient="records"))
        return
    view = Table(title=f"Per-epoch options of {instance}", show_lines=False)
    for column in ("model", "bits", "edge server", "cut", "epoch time s", "epoch energy J",
                   "quantize s", "quantize J"):  # fmt: skip
        view.add_column(column, justify="left" if column in ("model", "edge server") else "right")
    for row in table.to_dict(orient="records"):
        view.add_row(
            str(row["model"]), str(row["bits"]), str(row["edge_server"]), str(row["cut"]),
            fmt(row["epoch_time_s"], 4), fmt(row["epoch_energy_j"], 4),
            fmt(row["quantize_time_s"], 3), fmt(row["quantize_energy_j"], 3),
        )  # fmt: skip
    out.print(view)
    err.print(
        f"{len(table)} options; epoch time {table.epoch_time_s.min():.4g}–"
        f"{table.epoch_time_s.max():.4g} s, energy {table.epoch_energy_j.min():.4g}–"
        f"{table.epoch_energy_j.max():.4g} J"
    )


# --------------------------------------------------------------------------------------------------
# solve, evaluate
# --------------------------------------------------------------------------------------------------


def _parse_option(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise UsageProblem(f"--option {text!r} not understood (use NAME=VALUE).")
    key, raw = text.split("=", 1)
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip().replace("-", "_"), value


@app.command("solve")
def solve_command(
    instance: Annotated[Path, typer.Argument(help="Instance file.")],
    solver: Annotated[str, typer.Option(help="Solver name (see `jqodi solvers`).")] = "milp",
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="Time limit in seconds.")
    ] = None,
    estimator: Annotated[
        str, typer.Option(help="Learning estimator for the epoch count: robust or expected.")
    ] = "robust",
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help="Solver option NAME=VALUE (repeatable)."),
    ] = None,
    plan_out: Annotated[Path | None, typer.Option("--out", help="Write the plan here.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the plan JSON.")] = False,
) -> None:
    """Solve an instance and print the plan."""
    from jqodi_opt.plan import write_plan
    from jqodi_opt.problem import compile_problem
    from jqodi_opt.read import read_instance
    from jqodi_opt.result import Status
    from jqodi_opt.solve import solve

    if estimator not in ("robust", "expected"):
        raise UsageProblem(f"--estimator {estimator!r} not understood (robust or expected).")
    options = dict(_parse_option(o) for o in option or [])
    problem = compile_problem(read_instance(instance), estimator=estimator)  # type: ignore[arg-type]
    err.print(
        f"solving {problem.name} with {solver}: {len(problem.candidates)} candidates, "
        f"{problem.num_epoch_options:,} epoch-option pairs",
        highlight=False,
    )
    result = solve(problem, solver=solver, time_limit=time_limit, **options)
    document = result.to_plan_document()
    if plan_out is not None:
        write_plan(document, plan_out)
        err.print(f"plan written to {plan_out}", highlight=False)
    if json_out:
        print_json(document)
    else:
        show_result(result)
    codes = {
        Status.OPTIMAL: Exit.OK, Status.FEASIBLE: Exit.OK, Status.INFEASIBLE: Exit.INFEASIBLE,
        Status.TIME_LIMIT: Exit.OK if result.plan is not None else Exit.TIME_LIMIT,
        Status.ERROR: Exit.SOLVER_ERROR,
    }  # fmt: skip
    raise typer.Exit(codes[result.status])


def show_result(result: Any) -> None:
    """Prints a solve result as a table (plan) or a list of reasons (no plan)."""
    if result.plan is None:
        out.print(f"[bold]{result.status}[/bold] ({result.solver}, {result.runtime_s:.3f} s)")
        for reason in result.reasons:
            out.print(f"  - {reason}", markup=False, highlight=False)
        return
    plan = result.plan
    head = Table(show_header=False, box=None, title=f"{result.solver}: {result.status}")
    head.add_column(style="bold")
    head.add_column()
    rows = [
        ("instance", plan.instance), ("model", plan.model), ("bits", str(plan.bits)),
        ("energy", f"{fmt(result.objective, 8)} J"), ("time", f"{fmt(plan.time_s, 8)} s"),
        ("final loss", fmt(plan.final_loss)), ("bound", f"{fmt(result.bound, 8)} J"),
        ("gap", "-" if result.gap is None else f"{result.gap:.4%}"),
        ("runtime", f"build {result.build_time_s:.3f} s + solve {result.solve_time_s:.3f} s"),
    ]  # fmt: skip
    for key, value in rows:
        head.add_row(key, value)
    out.print(head)
    sched = Table(title="schedule (epoch order)")
    for column in ("epochs", "edge server", "cut"):
        sched.add_column(column, justify="right" if column != "edge server" else "left")
    for entry in plan.schedule:
        sched.add_row(str(entry.epochs), entry.edge_server, str(entry.cut))
    out.print(sched)
    for reason in result.reasons:
        err.print(f"note: {reason}", markup=False, highlight=False)


@app.command("evaluate")
def evaluate_command(
    instance: Annotated[Path, typer.Argument(help="Instance file.")],
    plan: Annotated[Path, typer.Argument(help="Plan file (jqodi-plan/1).")],
    estimator: Annotated[
        str | None, typer.Option(help="Estimator fixing the epoch count (default: the plan's).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Independent check of a plan: recompute energy, time and loss; list violations."""
    from jqodi_opt.evaluate import evaluate
    from jqodi_opt.plan import read_plan
    from jqodi_opt.read import read_instance

    if estimator not in (None, "robust", "expected"):
        raise UsageProblem(f"--estimator {estimator!r} not understood (robust or expected).")
    check = evaluate(read_instance(instance), read_plan(plan), estimator)  # type: ignore[arg-type]
    if json_out:
        print_json(check.to_dict())
    else:
        verdict = "[green]feasible[/green]" if check.feasible else "[red]infeasible[/red]"
        out.print(f"{plan}: {verdict}")
        out.print(
            f"  energy {fmt(check.energy_j, 8)} J, time {fmt(check.time_s, 8)} s, "
            f"final loss {fmt(check.final_loss)}",
            highlight=False,
        )
        for violation in check.violations:
            out.print(f"  - {violation}", markup=False, highlight=False)
    raise typer.Exit(Exit.OK if check.feasible else Exit.INFEASIBLE)


@app.command()
def solvers() -> None:
    """List the registered solvers."""
    from jqodi_opt.solve import SOLVERS

    view = Table(title="solvers")
    for column in ("name", "exact", "what"):
        view.add_column(column)
    for name, info in SOLVERS.items():
        view.add_row(name, "yes" if info.exact else "no", info.description)
    out.print(view)


# --------------------------------------------------------------------------------------------------
# simulate, compare, tree (the JQODI heuristic and the baselines)
# --------------------------------------------------------------------------------------------------


@app.command("simulate")
def simulate_command(
    instance: Annotated[Path, typer.Argument(help="Instance file (with truth curves).")],
    plan: Annotated[Path, typer.Argument(help="Plan file (jqodi-plan/1).")],
    curve: Annotated[
        str, typer.Option(help="Curve to run against: truth, expected or robust.")
    ] = "truth",
    trajectory: Annotated[
        bool, typer.Option("--trajectory", help="With --json: per-epoch time, energy, loss.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Run a plan against the real learning curve: realised energy, time, loss, target met.

    Exit 0 whenever the simulation ran; whether the target and time limit were met is in the output.
    """
    from jqodi_opt.plan import read_plan
    from jqodi_opt.read import read_instance
    from jqodi_opt.simulate import simulate

    if curve not in ("truth", "expected", "robust"):
        raise UsageProblem(f"--curve {curve!r} not understood (truth, expected or robust).")
    sim = simulate(read_instance(instance), read_plan(plan), curve=curve)  # type: ignore[arg-type]
    if json_out:
        print_json(sim.to_dict(trajectory=trajectory))
        return
    view = Table(show_header=False, box=None, title=f"{plan} against the {curve} curve")
    view.add_column(style="bold")
    view.add_column()
    yes_no = {True: "[green]yes[/green]", False: "[red]no[/red]"}
    rows = [
        ("candidate", f"{sim.model}@{sim.bits}"),
        ("epochs", f"{sim.epochs_run} run, {sim.epochs_planned} planned, "
                   f"{fmt(sim.epochs_needed)} needed"),
        ("energy", f"{fmt(sim.energy_j, 8)} J (planned {fmt(sim.planned_energy_j, 8)} J)"),
        ("time", f"{fmt(sim.time_s, 8)} s (planned {fmt(sim.planned_time_s, 8)} s, "
                 f"T_max {fmt(sim.time_limit_s)} s)"),
        ("final loss", f"{fmt(sim.final_loss)} (L_max {fmt(sim.loss_limit)})"),
        ("target met", yes_no[sim.target_met]),
        ("time limit met", yes_no[sim.time_limit_met]),
    ]  # fmt: skip
    for key, value in rows:
        view.add_row(key, value)
    out.print(view)
    for note in sim.notes:
        err.print(f"note: {note}", markup=False, highlight=False)


@app.command("compare")
def compare_command(
    instance: Annotated[Path, typer.Argument(help="Instance file.")],
    solvers_list: Annotated[
        str | None,
        typer.Option(
            "--solvers",
            help="Comma-separated solvers (default: Optimum, JQODI, the five baselines).",
        ),
    ] = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="Per-solver time limit (s).")
    ] = None,
    estimator: Annotated[
        str, typer.Option(help="Learning estimator for the epoch count: robust or expected.")
    ] = "robust",
    exact: Annotated[
        str, typer.Option(help="Exact solver the baselines use on their restrictions.")
    ] = "milp",
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Draw loss vs energy and time (Fig. 7) here.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Run several solvers on one instance: plans, energy, gap to the optimum, simulated outcome."""
    from jqodi_opt.compare import DEFAULT_SOLVERS, compare
    from jqodi_opt.read import read_instance

    if estimator not in ("robust", "expected"):
        raise UsageProblem(f"--estimator {estimator!r} not understood (robust or expected).")
    names = (
        [s.strip() for s in solvers_list.split(",") if s.strip()]
        if solvers_list
        else list(DEFAULT_SOLVERS)
    )
    if not names:
        raise UsageProblem("--solvers names no solver.")
    data = read_instance(instance)
    comparison = compare(data, names, time_limit, estimator, exact)  # type: ignore[arg-type]
    if plot is not None:
        from jqodi_opt.plotting import plot_comparison

        plot_comparison(comparison, data, plot)
        err.print(f"plot written to {plot}", highlight=False)
    if json_out:
        print_json(comparison.to_dict())
        return
    view = Table(title=f"{comparison.instance}: T_max {fmt(comparison.time_limit_s)} s, "
                       f"L_max {fmt(comparison.loss_limit)}")  # fmt: skip
    columns = ("solver", "status", "model", "bits", "schedule", "energy J", "time s", "loss",
               "gap", "sim energy J", "sim time s", "sim epochs", "target", "in T_max",
               "runtime s")  # fmt: skip
    for column in columns:
        left = column in ("solver", "status", "model", "schedule")
        view.add_column(column, justify="left" if left else "right")
    for row in comparison.rows:
        doc = row.to_dict()
        sim = row.simulation

        def met(value: bool | None) -> str:
            return "-" if value is None else ("yes" if value else "no")

        view.add_row(
            row.label, doc["status"], doc["model"] or "-", fmt(doc["bits"]),
            doc["schedule"] or "-", fmt(doc["energy_j"], 7), fmt(doc["time_s"], 6),
            fmt(doc["final_loss"], 5),
            "-" if row.gap is None else f"{row.gap:.2%}",
            fmt(sim.energy_j if sim else None, 7), fmt(sim.time_s if sim else None, 6),
            fmt(sim.epochs_run if sim else None), met(doc["target_met"]),
            met(doc["time_limit_met"]), f"{row.result.runtime_s:.3f}",
        )  # fmt: skip
    # Fifteen columns: not squeezed into 80 characters when stdout is a file or a pipe.
    (out if out.is_terminal else Console(soft_wrap=True, width=220)).print(view)
    if comparison.reference is None:
        err.print("note: no exact solver proved an optimum, so there are no gaps", highlight=False)
    for row in comparison.rows:
        reasons = row.result.reasons if row.result.plan is None else []
        for reason in reasons[:3]:  # a baseline lists the telling reasons first
            err.print(f"{row.label}: {reason}", markup=False, highlight=False)
        if len(reasons) > 3:
            err.print(f"{row.label}: ... {len(reasons) - 3} more (--json lists all)",
                      markup=False, highlight=False)  # fmt: skip
        if row.note and row.result.plan is not None:
            err.print(f"{row.label}: {row.note}", markup=False, highlight=False)


@app.command("tree")
def tree_command(
    instance: Annotated[Path, typer.Argument(help="Instance file.")],
    candidate: Annotated[str, typer.Option(help="The (model, bits) pair, as MODEL,BITS.")],
    time_buckets: Annotated[
        int, typer.Option("--time-buckets", help="Cells of the time grid over [0, T_max].")
    ] = 1000,
    graphml: Annotated[
        Path | None, typer.Option("--graphml", help="Write the tree here (small trees only).")
    ] = None,
    lookahead: Annotated[
        bool, typer.Option(help="Drop states that cannot reach Θ in time (as solve's default).")
    ] = True,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show JQODI's time-energy tree of one candidate: states per epoch before and after merging."""
    from jqodi_opt.problem import compile_problem
    from jqodi_opt.read import read_instance
    from jqodi_opt.solvers.jqodi import create_tree, tree_graph

    model, _, bits_text = candidate.partition(",")
    if not model or not bits_text.strip().isdigit():
        raise UsageProblem(f"--candidate {candidate!r} not understood (use MODEL,BITS).")
    bits = int(bits_text)
    if time_buckets < 1:
        raise UsageProblem(f"--time-buckets {time_buckets} not understood (must be >= 1).")
    problem = compile_problem(read_instance(instance))
    index = next(
        (i for i, c in enumerate(problem.candidates) if (c.model, c.bits) == (model, bits)), None
    )
    if index is None:
        why = next((e.reason for e in problem.excluded if (e.model, e.bits) == (model, bits)), None)
        raise UsageProblem(
            f"{model}@{bits} cannot be chosen: {why}"
            if why
            else f"no candidate {model}@{bits} in {problem.name}"
        )
    tree = create_tree(problem, index, time_buckets, graphml is not None, lookahead)
    cand = problem.candidates[index]
    if graphml is not None:
        import networkx as nx

        nx.write_graphml(tree_graph(problem, tree), graphml)
        err.print(f"tree written to {graphml}", highlight=False)
    final = tree.final_cells()
    summary = {
        "candidate": cand.name, "epochs": cand.epochs, "time_buckets": tree.time_buckets,
        "cell_s": tree.cell_s, "options": cand.num_options, "lookahead": lookahead,
        "generated": tree.generated.tolist(), "kept": tree.kept.tolist(),
        "paths_to_theta": len(final),
        "least_energy_j": float(cand.quantize_energy_j + tree.final_energy_j[final].min())
        if len(final) else None,
    }  # fmt: skip
    if json_out:
        print_json(summary)
        return
    view = Table(title=f"JQODI tree of {cand.name}: K = {cand.epochs}, {cand.num_options} "
                       f"options, {tree.time_buckets} cells of "
                       f"{fmt(tree.cell_s, 4)} s")  # fmt: skip
    for column in ("epoch", "states generated", "after merging", "merged away"):
        view.add_column(column, justify="right")
    for k, (made, left) in enumerate(zip(tree.generated, tree.kept, strict=True)):
        view.add_row(str(k), f"{made:,}", f"{left:,}", f"{made - left:,}")
    view.add_row("total", f"{tree.generated.sum():,}", f"{tree.kept.sum():,}",
                 f"{tree.generated.sum() - tree.kept.sum():,}", style="bold")  # fmt: skip
    out.print(view)
    out.print(
        f"{len(final)} paths reach Θ"
        + (f"; least energy {fmt(summary['least_energy_j'], 8)} J" if len(final) else ""),
        highlight=False,
    )


# --------------------------------------------------------------------------------------------------
# generate, bench, report (benchmarks)
# --------------------------------------------------------------------------------------------------


@app.command("generate")
def generate_command(
    family: Annotated[
        str, typer.Option(help="Instance family: paper-like, tradeoff or uncorrelated.")
    ] = "paper-like",
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same file).")] = 0,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write here, not stdout.")] = None,
    models: Annotated[int | None, typer.Option(help="Number of models.")] = None,
    bitwidths: Annotated[int | None, typer.Option(help="Number of bit-widths.")] = None,
    blocks: Annotated[int | None, typer.Option(help="Blocks per model.")] = None,
    cuts: Annotated[int | None, typer.Option(help="Cuts offered per model (default all).")] = None,
    edge_servers: Annotated[
        int | None, typer.Option("--edge-servers", help="Number of edge servers.")
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Typical number of epochs K.")] = None,
    tightness: Annotated[
        float, typer.Option(help="T_max from the fastest plan (0) to the least-energy plan (1).")
    ] = 0.5,
    name: Annotated[str | None, typer.Option(help="Instance name.")] = None,
) -> None:
    """Write a random instance of a family (same arguments, same bytes)."""
    from jqodi_opt.generate import generate_document, write_document

    document = generate_document(
        family, seed=seed, models=models, bitwidths=bitwidths, blocks=blocks, cuts=cuts,
        edge_servers=edge_servers, epochs=epochs, tightness=tightness, name=name,
    )  # fmt: skip
    if out_file is None:
        print_json(document)
        return
    write_document(document, out_file)
    err.print(f"{out_file}: {document['name']}", markup=False, highlight=False)


@app.command("bench")
def bench_command(
    suite: Annotated[str, typer.Argument(help="Suite file, or a name in benchmarks/ (smoke).")],
    workers: Annotated[
        int | None, typer.Option(help="Local worker processes (default 2, or 1 on one core).")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address: run the suite on that cluster.")
    ] = None,
    db_file: Annotated[
        Path | None, typer.Option("--db", help="Results file (default results/SUITE.sqlite).")
    ] = None,
    method: Annotated[
        str | None, typer.Option(help="How each run's process starts: fork or exec.")
    ] = None,
    only: Annotated[
        str | None, typer.Option("--solvers", help="Only these solver entries (a,b,...).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run a benchmark suite; runs already stored in the results file are skipped."""
    from jqodi_opt.bench.runner import run_suite
    from jqodi_opt.bench.suite import load_suite

    if workers is not None and workers < 1:
        raise UsageProblem(f"--workers {workers} not understood (must be >= 1).")
    if method not in (None, "fork", "exec"):
        raise UsageProblem(f"--method {method!r} not understood (fork or exec).")
    loaded = load_suite(suite)
    if only:
        loaded = loaded.only([s.strip() for s in only.split(",") if s.strip()])
    summary = run_suite(
        loaded, db_file, workers=workers, scheduler=scheduler, method=method,
        show_progress=not quiet, console=err,
    )  # fmt: skip
    for line in summary.lines():
        err.print(line, markup=False, highlight=False)
    if json_out:
        print_json(
            {"suite": summary.suite, "db": summary.db_path, "runs": summary.total,
             "skipped": summary.skipped, "done": summary.done, "dropped": summary.dropped,
             "statuses": dict(summary.statuses), "elapsed_s": summary.elapsed_s}
        )  # fmt: skip


@app.command("report")
def report_command(
    db_file: Annotated[Path, typer.Argument(help="Results file written by `jqodi bench`.")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Write report.md, CSV tables and PNG plots here.")
    ] = None,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Export every run as CSV.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the tables as JSON.")] = False,
) -> None:
    """Tables (gap, runtime per size) and plots from benchmark results."""
    from jqodi_opt.bench import report

    if not db_file.exists():
        raise UsageProblem(f"{db_file}: no such results file.")
    frame = report.load(db_file)
    members = report.read_members(db_file)
    gaps, times = report.gap_table(frame), report.runtime_table(frame, members)
    if csv_file is not None:
        frame.to_csv(csv_file, index=False)
        err.print(f"{len(frame)} runs written to {csv_file}", highlight=False)
    if out_dir is not None:
        for path in report.write_report(frame, out_dir, title=db_file.stem, members=members):
            err.print(f"wrote {path}", markup=False, highlight=False)
    if json_out:
        print_json(
            {"runs": len(frame), "gap": json.loads(gaps.to_json(orient="records")),
             "runtime": json.loads(times.to_json(orient="records"))}
        )  # fmt: skip
        return
    for title, table in (("gap to the best proven optimum (%)", gaps), ("runtime per size", times)):
        view = Table(title=title)
        for column in table.columns:
            left = table[column].dtype == object
            view.add_column(str(column), justify="left" if left else "right")
        for row in table.itertuples(index=False):
            view.add_row(*(fmt(v, 4) if isinstance(v, float) else str(v) for v in row))
        out.print(view)


# --------------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; input errors become one line each on stderr and exit code 2."""
    try:
        code = app(args=argv, standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except InputError as exc:
        for line in exc.lines():
            err.print(line, markup=False, highlight=False)
        return Exit.BAD_INPUT
    except (UsageProblem, SolverNotFound) as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        return Exit.BAD_INPUT
    except ValueError as exc:  # option values refused by a solver or a function
        err.print(f"error: {exc}", markup=False, highlight=False)
        return Exit.BAD_INPUT
    except KeyboardInterrupt:
        err.print("interrupted", highlight=False)
        return 130
    except typer.Abort:
        err.print("interrupted", highlight=False)
        return 130
    except typer.TyperException as exc:  # usage errors raised by the parser (click, vendored)
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show()
        return Exit.BAD_INPUT
    return int(code) if isinstance(code, int) else Exit.OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
