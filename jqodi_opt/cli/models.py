"""Model and hardware commands (SPEC §9): import-onnx, models, hardware."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from jqodi_opt.cli.app import UsageProblem, app, err, fmt, out, print_json


@app.command("import-onnx")
def import_onnx_command(
    model_file: Annotated[Path, typer.Argument(help="The ONNX model.", show_default=False)],
    out_file: Annotated[Path, typer.Option("--out", help="The jqodi-model/1 file to write.")],
    input_shape: Annotated[
        str | None,
        typer.Option(
            "--input-shape",
            help="Input shape, batch (1) first, e.g. 1x3x224x224 (default: the model's).",
        ),
    ] = None,
    coarsen_to: Annotated[
        int | None,
        typer.Option(
            "--coarsen",
            help="Merge single-entry single-exit segments until at most N layers remain.",
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Model name (default: the file's stem).")] = None,
    allow_uncounted: Annotated[
        bool,
        typer.Option(
            "--allow-uncounted",
            help="Keep operators onnx-tool cannot count, with 0 FLOPs and a warning.",
        ),
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Also print the model as JSON.")] = False,
) -> None:
    """Profile an ONNX model into a jqodi-model/1 file (FLOPs, params, tensor sizes per layer)."""
    from jqodi_opt.graph import coarsen, write_model
    from jqodi_opt.onnx_import import UncountedWarning, import_onnx, parse_shape

    shape = parse_shape(input_shape) if input_shape is not None else None
    if coarsen_to is not None and coarsen_to < 1:
        raise UsageProblem(f"--coarsen {coarsen_to} not understood (must be >= 1).")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UncountedWarning)
        model = import_onnx(model_file, shape, name=name, allow_uncounted=allow_uncounted)
    for warning in caught:
        if issubclass(warning.category, UncountedWarning):
            err.print(f"warning: {warning.message}", markup=False, highlight=False)
    imported = len(model.layers)
    if coarsen_to is not None:
        model = coarsen(model, coarsen_to)
    write_model(model, out_file)
    err.print(
        f"{out_file}: {model.name}, {len(model.layers)} layers"
        + (f" (from {imported})" if coarsen_to is not None else "")
        + f", {model.total_flops / 1e9:.4g} GFLOPs, {model.total_params:,} params",
        markup=False,
        highlight=False,
    )
    if json_out:
        print_json(model.to_dict())


@app.command("models")
def models_command(
    json_out: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List the bundled model profiles (instances/models/)."""
    from jqodi_opt.graph import bundled_profiles, read_model

    models = {profile: read_model(path) for profile, path in bundled_profiles().items()}
    if json_out:
        print_json(
            [
                {
                    "name": profile,
                    "layers": len(model.layers),
                    "gflops": model.total_flops / 1e9,
                    "params": model.total_params,
                    "input_shape": model.input_shape,
                    "input_bytes": model.input_bytes,
                    "dag": not model.is_chain,
                    "description": model.description,
                }
                for profile, model in models.items()
            ]
        )
        return
    table = Table(title="bundled model profiles")
    numeric = ("layers", "GFLOPs", "params")
    for column in ("name", *numeric, "input", "graph"):
        table.add_column(column, justify="right" if column in numeric else "left")
    for profile, model in models.items():
        shape = model.input_shape
        table.add_row(
            profile,
            str(len(model.layers)),
            fmt(model.total_flops / 1e9, 4),
            f"{model.total_params:,}",
            "x".join(map(str, shape)) if shape else f"{model.input_bytes:g} B",
            "chain" if model.is_chain else "DAG",
        )
    out.print(table)
