"""Benchmark commands: generate, bench, report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.table import Table

from jqodi_opt.cli.app import (
    BENCHMARKS,
    FamilyName,
    UsageProblem,
    app,
    choice,
    err,
    fmt,
    output_failed,
    print_json,
    wide_out,
)
from jqodi_opt.exceptions import OutputError
from jqodi_opt.output import atomic_output, check_output, check_output_dir

# --------------------------------------------------------------------------------------------------
# generate, bench, report (benchmarks)
# --------------------------------------------------------------------------------------------------


@app.command("generate", rich_help_panel=BENCHMARKS)
def generate_command(
    family: Annotated[
        FamilyName,  # type: ignore[valid-type]
        typer.Option(
            help="Instance family: paper-like, tradeoff, uncorrelated (fine-tuning); chain, dag, "
            "profile, mu2024 (inference, sized by --knob)."
        ),
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
    knob: Annotated[
        list[str] | None,
        typer.Option(
            "--knob", "-k", help="Inference family knob KEY=VALUE, repeatable (e.g. layers=1850)."
        ),
    ] = None,
) -> None:
    """Write a random instance of a family (same arguments, same bytes)."""
    from jqodi_opt.finetune.generate import generate_document, write_document
    from jqodi_opt.inference.generate import FAMILIES as INFERENCE_FAMILIES

    family = choice(family)
    if out_file is not None:  # before the work (jqodi_opt.output's rules)
        check_output(out_file)
    sizes = {"models": models, "bitwidths": bitwidths, "blocks": blocks, "cuts": cuts,
             "edge_servers": edge_servers, "epochs": epochs}  # fmt: skip
    if family in INFERENCE_FAMILIES:
        given = [f"--{k.replace('_', '-')}" for k, v in sizes.items() if v is not None]
        if given:
            raise UsageProblem(
                f"{given[0]} is a fine-tuning size; {family} takes --knob KEY=VALUE."
            )
        _generate_inference(family, seed, knob or [], out_file, name)
        return
    if knob:
        raise UsageProblem(f"--knob is for the inference families, not {family}.")
    try:
        document = generate_document(
            family, seed=seed, models=models, bitwidths=bitwidths, blocks=blocks, cuts=cuts,
            edge_servers=edge_servers, epochs=epochs, tightness=tightness, name=name,
        )  # fmt: skip
    except ValueError as exc:  # sizes, tightness or seed the generator refuses
        raise UsageProblem(str(exc)) from None
    if out_file is None:
        print_json(document)
        return
    write_document(document, out_file)
    err.print(f"{out_file}: {document['name']}", markup=False, highlight=False)


def _generate_inference(
    family: str, seed: int, knobs: list[str], out_file: Path | None, name: str | None
) -> None:
    """``jqodi generate`` for an inference family (:mod:`jqodi_opt.inference.generate`)."""
    from jqodi_opt.inference.generate import (
        KNOBS,
        TEXT_KNOBS,
        generate_inference_document,
        write_inference_document,
    )

    values: dict[str, object] = {}
    for text in knobs:
        key, sep, value = text.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in KNOBS[family]:
            raise UsageProblem(
                f"--knob {text!r} not understood: KEY=VALUE with KEY one of "
                f"{', '.join(KNOBS[family])}."
            )
        if key in TEXT_KNOBS:
            values[key] = value.strip()
            continue
        try:
            number = float(value)
        except ValueError:
            raise UsageProblem(f"--knob {text!r}: {value!r} is not a number.") from None
        values[key] = (
            int(number) if isinstance(KNOBS[family][key], int) and number.is_integer() else number
        )
    try:
        document = generate_inference_document(family, seed=seed, name=name, **values)
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    if out_file is None:
        print_json(document)
        return
    write_inference_document(document, out_file)
    err.print(f"{out_file}: {document['name']}", markup=False, highlight=False)


@app.command("bench", rich_help_panel=BENCHMARKS)
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
        Literal["fork", "exec"] | None, typer.Option(help="How each run's process starts.")
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
    if scheduler is not None:  # before the runner: a dead address is one line, not 30 s
        check_scheduler(scheduler)
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


#: Seconds to wait for a Dask scheduler to accept a connection before ``bench`` gives up.
CONNECT_TIMEOUT_S = 3.0


def check_scheduler(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Refuses a ``--scheduler`` address that is malformed or does not accept a TCP connection.

    Accepted forms: ``tcp://HOST:PORT``, ``HOST:PORT`` (``[::1]:PORT`` for IPv6).

    Raises
    ------
    UsageProblem
        One line naming the address and why it cannot be used.
    """
    import socket
    from urllib.parse import urlsplit

    text = address if "://" in address else f"tcp://{address}"
    try:
        parts = urlsplit(text)
        scheme, host, port = parts.scheme, parts.hostname, parts.port
    except ValueError:
        scheme, host, port = "", None, None
    if scheme != "tcp" or not host or port is None:
        raise UsageProblem(f"--scheduler {address!r} not understood (tcp://HOST:PORT).")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise UsageProblem(f"--scheduler {address}: cannot connect ({reason}).") from None


@app.command("report", rich_help_panel=BENCHMARKS)
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
    if csv_file is not None:
        check_output(csv_file, inputs=[db_file])
    if out_dir is not None:
        check_output_dir(out_dir)
    frame = report.load(db_file)
    members = report.read_members(db_file)
    gaps, times = report.gap_table(frame), report.runtime_table(frame, members)
    failures: list[OutputError] = []
    if csv_file is not None:
        try:
            with atomic_output(csv_file, inputs=[db_file]) as tmp:
                frame.to_csv(tmp, index=False)
            err.print(f"{len(frame)} runs written to {csv_file}", highlight=False)
        except OutputError as exc:  # the tables are still printed below
            failures.append(exc)
    if out_dir is not None:
        try:
            for path in report.write_report(frame, out_dir, title=db_file.stem, members=members):
                err.print(f"wrote {path}", highlight=False)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            failures.append(OutputError(str(out_dir), [("", f"could not write: {reason}")]))
    if json_out:
        print_json(
            {"runs": len(frame), "gap": json.loads(gaps.to_json(orient="records")),
             "runtime": json.loads(times.to_json(orient="records"))}
        )  # fmt: skip
    else:
        _print_report_tables(gaps, times)
    for failure in failures[:-1]:
        for line in failure.lines():
            err.print(line, highlight=False)
    if failures:
        output_failed(failures[-1])


def _print_report_tables(gaps: Any, times: Any) -> None:
    """The report's two tables, never squeezed: a pipe or file gets a wide console."""
    console = wide_out()
    for title, table in (("gap to the best proven optimum (%)", gaps), ("runtime per size", times)):
        view = Table(title=title)
        for column in table.columns:
            left = table[column].dtype == object
            view.add_column(str(column), justify="left" if left else "right")
        for row in table.itertuples(index=False):
            view.add_row(*(fmt(v, 4) if isinstance(v, float) else str(v) for v in row))
        console.print(view)
