"""The lifecycle command (SPEC §8): fine-tune, then serve."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from jqodi_opt.cli.app import Exit, UsageProblem, app, err, fmt, out, print_json


@app.command("lifecycle", rich_help_panel="Lifecycle")
def lifecycle_command(
    instance: Annotated[Path, typer.Argument(help="Instance file with a serving section.")],
    requests: Annotated[
        float | None, typer.Option(help="Requests served, N (default: serving.requests).")
    ] = None,
    time_limit: Annotated[
        float | None, typer.Option(help="Limit per subproblem solve, seconds.")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Draw the break-even picture (PNG/PDF/SVG) here.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Cheapest (model, bits) to own: least fine-tuning + N × inference energy, exactly.

    Every candidate's fine-tuning problem and serving problem are solved to proven optimality; the
    best sum is taken. Beside it: the sequential choice (least fine-tuning energy first, then its
    best inference plan) and its regret, and the request volumes where the best choice changes.
    Exit 1 when no candidate can be both fine-tuned and served.
    """
    from jqodi_opt.lifecycle import plot_lifecycle, solve_lifecycle
    from jqodi_opt.read import read_instance

    data = read_instance(instance)
    if data.serving is None:
        raise UsageProblem(
            f"{instance}: serving: missing section (the lifecycle needs it, SPEC §8)"
        )
    if requests is not None and not (requests >= 0 and math.isfinite(requests)):
        raise UsageProblem(f"--requests {requests} not understood (must be a number >= 0).")
    if time_limit is not None and not time_limit > 0:
        raise UsageProblem(f"--time-limit {time_limit} not understood (must be > 0 seconds).")
    if plot is not None and not plot.parent.is_dir():
        raise UsageProblem(f"--plot {plot}: no such directory {plot.parent}")
    result = solve_lifecycle(data, requests, time_limit=time_limit)

    if json_out:
        print_json(result.to_dict())
    else:
        name = data.name
        view = Table(title=f"Lifecycle of {name} at N = {result.requests:,.0f} requests")
        for column in ("candidate", "fine-tune J", "J / request", "total J", "note"):
            view.add_column(column, justify="left" if column in ("candidate", "note") else "right")
        for cand in result.candidates:
            note = []
            if result.best is cand:
                note.append("optimum")
            if result.sequential is cand:
                note.append("sequential")
            if cand.reason:
                note.append(cand.reason)
            view.add_row(
                cand.name, fmt(cand.finetune_j, 7), fmt(cand.inference_j, 6),
                fmt(cand.total_j(result.requests) if cand.usable else None, 7), "; ".join(note),
            )  # fmt: skip
        out.print(view, markup=False)
        points = Table(title="Break-even: from N on, the cheapest to own is")
        points.add_column("N from", justify="right")
        points.add_column("candidate")
        for point in result.breakpoints:
            points.add_row(f"{point.requests:,.1f}", f"{point.model}@{point.bits}")
        out.print(points, markup=False)
        regret = result.regret_j()
        if result.sequential is not None and regret is not None:
            total = result.total_j or 0.0
            share = f" ({regret / total:.2%})" if total > 0 and math.isfinite(regret) else ""
            err.print(
                f"sequential choice {result.sequential.name}: regret {fmt(regret, 6)} J{share}",
                markup=False,
                highlight=False,
            )
    if plot is not None:
        from matplotlib.figure import Figure

        figure = Figure(figsize=(7, 4.5))
        plot_lifecycle(result, ax=figure.add_subplot())
        figure.tight_layout()
        figure.savefig(plot)
        err.print(f"plot written to {plot}", markup=False, highlight=False)
    raise typer.Exit(Exit.OK if result.best is not None else Exit.INFEASIBLE)
