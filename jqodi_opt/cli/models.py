"""Model and hardware commands (SPEC §9): import-onnx, models, hardware."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from jqodi_opt.cli.app import UsageProblem, app, err, fmt, out, print_json

if TYPE_CHECKING:
    from jqodi_opt.hardware import Source


@app.command("import-onnx", rich_help_panel="Models")
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
    from jqodi_opt.output import check_output

    check_output(out_file, inputs=[model_file])  # before the work (jqodi_opt.output's rules)
    try:
        shape = parse_shape(input_shape) if input_shape is not None else None
    except ValueError as exc:  # the shape text is the caller's: bad usage, exit 2
        raise UsageProblem(str(exc)) from None
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
        if len(model.layers) > coarsen_to:
            err.print(
                f"warning: no single-entry single-exit segment is left to merge: "
                f"{len(model.layers)} layers remain (asked for at most {coarsen_to})",
                markup=False,
                highlight=False,
            )
    try:
        write_model(model, out_file)
    except OSError as exc:
        raise UsageProblem(f"cannot write {out_file}: {exc.strerror or exc}") from None
    err.print(
        f"{out_file}: {model.name}, {len(model.layers)} layers"
        + (f" (from {imported})" if coarsen_to is not None else "")
        + f", {model.total_flops / 1e9:.4g} GFLOPs, {model.total_params:,} params",
        markup=False,
        highlight=False,
    )
    if json_out:
        print_json(model.to_dict())


@app.command("models", rich_help_panel="Models")
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


@app.command("hardware", rich_help_panel="Models")
def hardware_command(
    json_out: Annotated[bool, typer.Option("--json", help="Print the catalogue as JSON.")] = False,
) -> None:
    """List the hardware catalogue (instances/hardware/): devices and links with their sources."""
    from jqodi_opt.hardware import hardware_catalogue

    catalogue = hardware_catalogue()
    if json_out:
        print_json(catalogue.to_dict())
        return
    devices = Table(title="devices (* = assumption, see sources)")
    for column in ("name", "tier", "GFLOP/s", "power W", "memory GB"):
        devices.add_column(column, justify="left" if column in ("name", "tier") else "right")
    devices.add_column("sources")
    for device in catalogue.devices:
        mark = {field: "*" if field in device.assumptions() else "" for field in device.sources}
        memory = device.memory_bytes
        devices.add_row(
            device.name,
            device.tier,
            fmt(device.speed_flops / 1e9, 5) + mark["speed_flops"],
            fmt(device.power_w, 4) + mark["power_w"],
            "-" if memory is None else fmt(memory / 1e9, 4) + mark["memory_bytes"],
            _sources(device.sources),
        )
    out.print(devices)
    links = Table(title="links (* = assumption, see sources)")
    for column in ("name", "Mbit/s", "latency s", "J/bit"):
        links.add_column(column, justify="left" if column == "name" else "right")
    links.add_column("sources")
    for link in catalogue.links:
        mark = {field: "*" if field in link.assumptions() else "" for field in link.sources}
        rate = fmt(link.effective_rate_bps / 1e6, 4)
        if link.rate_bps is None:
            assumed = mark["bandwidth_hz"] or mark["snr_db"]
            rate += f" (Shannon: {link.bandwidth_hz or 0:.3g} Hz, {link.snr_db} dB){assumed}"
        else:
            rate += mark["rate_bps"]
        links.add_row(
            link.name,
            rate,
            fmt(link.latency_s, 3) + mark["latency_s"],
            fmt(link.energy_per_bit, 3) + mark["energy_per_bit"],
            _sources(link.sources),
        )
    out.print(links)


def _sources(sources: Mapping[str, Source]) -> str:
    """The distinct seed tables an entry's numbers come from (assumptions left to --json)."""
    cited = [source.text.split(":")[0] for source in sources.values() if not source.assumption]
    return "; ".join(dict.fromkeys(cited)) or "assumptions only"
