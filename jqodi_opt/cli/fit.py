"""``jqodi fit-accuracy``: the accuracy section of an inference instance from measured samples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from jqodi_opt.cli.app import Exit, UsageProblem, app, err, fmt, out, print_json


@app.command("fit-accuracy")
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
        view = Table(title=f"Accuracy fit of {samples} ({fit.rows} rows, {fit.folds}-fold CV)")
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
