"""Fine-tuning commands: simulate, compare, tree."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table
from rich.text import Text

from jqodi_opt.cli.app import (
    FINE_TUNING,
    Estimator,
    SolverName,
    UsageProblem,
    app,
    choice,
    err,
    fmt,
    out,
    output_failed,
    print_json,
    wide_out,
)
from jqodi_opt.exceptions import OutputError
from jqodi_opt.output import atomic_output, check_output

# --------------------------------------------------------------------------------------------------
# simulate, compare, tree (the JQODI heuristic and the baselines)
# --------------------------------------------------------------------------------------------------


@app.command("simulate", rich_help_panel=FINE_TUNING)
def simulate_command(
    instance: Annotated[Path, typer.Argument(help="Instance file (with truth curves).")],
    plan: Annotated[Path, typer.Argument(help="Plan file (jqodi-plan/1).")],
    curve: Annotated[
        Literal["truth", "expected", "robust"],
        typer.Option(help="Curve to run against: the real one (truth) or an estimator's."),
    ] = "truth",
    trajectory: Annotated[
        bool, typer.Option("--trajectory", help="With --json: per-epoch time, energy, loss.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Run a plan against the real learning curve: realised energy, time, loss, target met.

    Exit 0 whenever the simulation ran; whether the target and time limit were met is in the output.
    """
    from jqodi_opt.finetune.plan import check_plan_size, read_plan
    from jqodi_opt.finetune.simulate import simulate
    from jqodi_opt.read import read_instance

    data, chosen = read_instance(instance), read_plan(plan)
    check_plan_size(chosen, data, str(plan))  # before anything is expanded epoch by epoch
    sim = simulate(data, chosen, curve=curve)
    if json_out:
        print_json(sim.to_dict(trajectory=trajectory))
        return
    view = Table(show_header=False, box=None, title=f"{plan} against the {curve} curve")
    view.add_column(style="bold")
    view.add_column()
    yes_no = {True: Text("yes", style="green"), False: Text("no", style="red")}
    rows: list[tuple[str, str | Text]] = [
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


@app.command("compare", rich_help_panel=FINE_TUNING)
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
        float | None,
        typer.Option(
            "--time-limit",
            help="Per-solver time limit (s); on an inference instance 10 s unless given.",
        ),
    ] = None,
    estimator: Annotated[
        Estimator, typer.Option(help="Learning estimator for the epoch count.")
    ] = "robust",
    exact: Annotated[
        SolverName,  # type: ignore[valid-type]
        typer.Option(help="Exact solver the baselines use on their restrictions."),
    ] = "milp",
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Draw loss vs energy and time (Fig. 7) here.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    inference: Annotated[
        bool,
        typer.Option(
            "--inference",
            help="Also each plan's inference cost on the device alone and device + each edge "
            "server, best single cut (the paper's Figs. 9-10).",
        ),
    ] = False,
) -> None:
    """Run several solvers on one instance: plans, energy, gap to the optimum, simulated outcome.

    On a jqodi-inference/1 file: every inference solver and baseline side by side."""
    from jqodi_opt.cli.inference_io import is_inference_file

    if is_inference_file(instance):
        from jqodi_opt.cli.inference import compare_inference_file

        names = [s.strip() for s in solvers_list.split(",") if s.strip()] if solvers_list else None
        raise typer.Exit(compare_inference_file(instance, names, time_limit, json_out))
    from jqodi_opt.finetune.compare import DEFAULT_SOLVERS, compare
    from jqodi_opt.read import read_instance

    exact = choice(exact)
    names = (
        [s.strip() for s in solvers_list.split(",") if s.strip()]
        if solvers_list
        else list(DEFAULT_SOLVERS)
    )
    if not names:
        raise UsageProblem("--solvers names no solver.")
    from jqodi_opt.solve import SOLVERS

    unknown = [name for name in [*names, exact] if name not in SOLVERS]
    if unknown:
        raise UsageProblem(
            f"unknown solver(s) {', '.join(unknown)}; choose from {', '.join(SOLVERS)}."
        )
    if plot is not None:
        check_output(plot, inputs=[instance])
    data = read_instance(instance)
    comparison = compare(data, names, time_limit, estimator, exact)
    failure = None
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")  # the command line writes files and never opens a window
        import matplotlib.pyplot as plt

        from jqodi_opt.finetune.plotting import plot_comparison

        try:
            with atomic_output(plot, inputs=[instance]) as tmp:
                plot_comparison(comparison, data)  # on a new pyplot figure: the current one
                figure = plt.gcf()
                try:
                    figure.savefig(tmp)  # the temporary file keeps the suffix: same format
                finally:
                    plt.close(figure)
            err.print(f"plot written to {plot}", highlight=False)
        except OutputError as exc:  # the table is still printed below
            failure = exc
    served = None
    if inference:
        from jqodi_opt.cli.inference_io import compare_inference, show_compare_inference

        served = compare_inference(data, comparison)
    if json_out:
        extra = {} if served is None else {"inference": [r.to_dict() for r in served]}
        print_json(comparison.to_dict() | extra)
        if failure is not None:
            output_failed(failure)
        return
    view = Table(title=f"{comparison.instance}: T_max {fmt(comparison.time_limit_s)} s, "
                       f"L_max {fmt(comparison.loss_limit)}")  # fmt: skip
    columns = ("solver", "status", "model", "bits", "schedule", "energy J", "time s", "loss",
               "gap", "sim energy J", "sim time s", "sim epochs", "target", "in T_max",
               "runtime s")  # fmt: skip
    for column in columns:
        left = column in ("solver", "status", "model", "schedule")
        view.add_column(column, justify="left" if left else "right")

    def met(value: bool | None) -> str:
        return "-" if value is None else ("yes" if value else "no")

    for row in comparison.rows:
        doc = row.to_dict()
        sim = row.simulation
        over = row.overrun
        if over is not None:
            # No plan meets T_max: show its least-energy plan without the limit, as the paper's
            # Fig. 7c shows Full Model beyond T_max, marked as over the limit.
            view.add_row(
                row.label, Text("over T_max", style="red"), over.plan.model, fmt(over.plan.bits),
                over.plan.summary(), fmt(over.energy_j, 7),
                f"{fmt(over.time_s, 6)} ({over.time_ratio:.3g}× T_max)", "-",
                "-" if row.overrun_gap is None else f"({row.overrun_gap:.2%})",
                "-", "-", "-", "-", Text("no", style="red"), f"{row.result.runtime_s:.3f}",
            )  # fmt: skip
            continue
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
    wide_out().print(view)
    if served is not None:
        show_compare_inference(served)
    if comparison.reference is None:
        err.print("note: no exact solver proved an optimum, so there are no gaps", highlight=False)
    for row in comparison.rows:
        if row.overrun is not None:
            over = row.overrun
            err.print(
                f"{row.label}: no plan within T_max {fmt(comparison.time_limit_s)} s; its "
                f"least-energy plan without the limit takes {fmt(over.time_s, 6)} s = "
                f"{over.time_ratio:.3g} × T_max ({fmt(over.energy_j, 7)} J); the fastest plan "
                f"of its option set takes {fmt(over.fastest_time_s, 6)} s = "
                f"{over.fastest_ratio:.3g} × T_max",
                markup=False, highlight=False,
            )  # fmt: skip
            continue
        reasons = row.result.reasons if row.result.plan is None else []
        for reason in reasons[:3]:  # a baseline lists the telling reasons first
            err.print(f"{row.label}: {reason}", markup=False, highlight=False)
        if len(reasons) > 3:
            err.print(f"{row.label}: ... {len(reasons) - 3} more (--json lists all)",
                      markup=False, highlight=False)  # fmt: skip
        if row.note and row.result.plan is not None:
            err.print(f"{row.label}: {row.note}", markup=False, highlight=False)
    if failure is not None:
        output_failed(failure)


@app.command("tree", rich_help_panel=FINE_TUNING)
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
    from jqodi_opt.finetune.problem import compile_problem
    from jqodi_opt.finetune.solvers.jqodi import create_tree, tree_graph
    from jqodi_opt.read import read_instance

    model, _, bits_text = candidate.partition(",")
    if not model or not bits_text.strip().isdigit():
        raise UsageProblem(f"--candidate {candidate!r} not understood (use MODEL,BITS).")
    bits = int(bits_text)
    if time_buckets < 1:
        raise UsageProblem(f"--time-buckets {time_buckets} not understood (must be >= 1).")
    if graphml is not None:
        check_output(graphml, inputs=[instance])
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

        with atomic_output(graphml, inputs=[instance]) as tmp:
            nx.write_graphml(tree_graph(problem, tree), tmp)
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
