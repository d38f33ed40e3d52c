"""Commands that read a problem file: validate, schema, costs, solve, evaluate, solvers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.table import Table
from rich.text import Text

from jqodi_opt.cli.app import (
    PROBLEMS,
    Estimator,
    Exit,
    SolverName,
    UsageProblem,
    app,
    choice,
    err,
    fmt,
    out,
    output_failed,
    print_json,
)
from jqodi_opt.exceptions import InputError, OptionError, OutputError, SolverNotFound
from jqodi_opt.output import check_output

# --------------------------------------------------------------------------------------------------
# validate, schema, costs
# --------------------------------------------------------------------------------------------------


@app.command(rich_help_panel=PROBLEMS)
def validate(
    instances: Annotated[list[Path], typer.Argument(help="Instance files (JSON or YAML).")],
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check instance files: one line per problem, naming the file and the field path."""
    from jqodi_opt.cli.inference_io import is_inference_file, validate_inference
    from jqodi_opt.finetune.problem import compile_problem
    from jqodi_opt.read import read_instance

    failed = False
    report = []
    for path in instances:
        if is_inference_file(path):
            report.append(validate_inference(path, json_out))
            failed |= not report[-1]["valid"]
            continue
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


@app.command(rich_help_panel=PROBLEMS)
def schema() -> None:
    """Print the JSON Schema of the instance format jqodi-instance/1."""
    from jqodi_opt.read import instance_schema

    print_json(instance_schema())


@app.command(rich_help_panel=PROBLEMS)
def costs(
    instance: Annotated[Path, typer.Argument(help="Instance file.")],
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Print the per-epoch time and energy of every (model, bits, edge server, cut)."""
    from jqodi_opt.finetune.costs import cost_table
    from jqodi_opt.read import read_instance

    table = cost_table(read_instance(instance))
    if json_out:
        print_json(table.to_dict(orient="records"))
        return
    view = Table(title=f"Per-epoch options of {instance!s}", show_lines=False)
    for column in ("model", "bits", "edge server", "cut", "epoch time s", "epoch energy J",
                   "quantize s", "quantize J"):  # fmt: skip
        view.add_column(column, justify="left" if column in ("model", "edge server") else "right")
    for row in table.to_dict(orient="records"):
        view.add_row(
            str(row["model"]), str(row["bits"]), str(row["edge_server"]),
            str(row["cut"]),
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
    except (ValueError, RecursionError):  # not JSON (or absurd JSON): the text itself
        value = raw
    return key.strip().replace("-", "_"), value


def solver_options(name: str, family: str = "finetune") -> list[str]:
    """The ``-o`` options of a solver as ``NAME=DEFAULT``: its backend's parameters after
    ``problem`` and ``time_limit``, read from the backend's source (no heavy import), so the list
    is the signature that :func:`jqodi_opt.solve.check_options` checks against."""
    import ast
    import importlib.util

    from jqodi_opt.solve import FAMILIES

    info = FAMILIES[family][name]
    spec = importlib.util.find_spec(info.module)
    if spec is None or spec.origin is None:
        return []
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    function = next(
        (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == info.function), None
    )
    if function is None:
        return []
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    keyword = zip(args.kwonlyargs, args.kw_defaults, strict=True)
    pairs = [*zip(positional, [*defaults, *args.defaults], strict=True), *keyword]
    return [
        f"{arg.arg}={ast.unparse(default)}" if default is not None else arg.arg
        for arg, default in pairs
        if arg.arg not in ("problem", "time_limit")
    ]


def _option_help() -> str:
    """``solve -o`` help: every solver's options, from the backends' signatures."""
    from jqodi_opt.solve import FAMILIES

    listed = "; ".join(
        f"{name}{'' if family == 'finetune' else f' ({family})'}: "
        f"{', '.join(o.split('=')[0] for o in solver_options(name, family))}"
        for family, registry in FAMILIES.items()
        for name in registry
        if solver_options(name, family)
    )
    return f"Solver option NAME=VALUE (repeatable; value read as JSON if it parses). {listed}."


@app.command("solve", rich_help_panel=PROBLEMS)
def solve_command(
    instance: Annotated[Path, typer.Argument(help="Instance file.")],
    solver: Annotated[
        SolverName,  # type: ignore[valid-type]
        typer.Option(help="Solver (`jqodi solvers` describes them)."),
    ] = "milp",
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="Time limit in seconds.")
    ] = None,
    estimator: Annotated[
        Estimator, typer.Option(help="Learning estimator for the epoch count.")
    ] = "robust",
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help=_option_help()),
    ] = None,
    plan_out: Annotated[Path | None, typer.Option("--out", help="Write the plan here.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the plan JSON.")] = False,
) -> None:
    """Solve an instance (fine-tuning or inference) and print the plan."""
    from jqodi_opt.cli.inference_io import is_inference_file
    from jqodi_opt.finetune.problem import compile_problem
    from jqodi_opt.read import read_instance
    from jqodi_opt.result import Status
    from jqodi_opt.solve import solve

    solver = choice(solver)
    options = dict(_parse_option(o) for o in option or [])
    inference = is_inference_file(instance)
    check_request(solver, time_limit, options, "inference" if inference else "finetune")
    if plan_out is not None:  # before the work: a solve may take hours
        check_output(plan_out, inputs=[instance])
    if inference:
        from jqodi_opt.cli.inference import solve_inference_file

        raise typer.Exit(
            solve_inference_file(instance, solver, time_limit, options, plan_out, json_out)
        )
    from jqodi_opt.finetune.plan import write_plan

    problem = compile_problem(read_instance(instance), estimator=estimator)
    err.print(
        f"solving {problem.name} with {solver}: {len(problem.candidates)} candidates, "
        f"{problem.num_epoch_options:,} epoch-option pairs",
        markup=False,
        highlight=False,
    )
    result = solve(problem, solver=solver, time_limit=time_limit, **options)
    document = result.to_plan_document()
    failure = None
    if plan_out is not None:
        try:
            write_plan(document, plan_out, inputs=[instance])
            err.print(f"plan written to {plan_out}", highlight=False)
        except OutputError as exc:  # the result is still printed below
            failure = exc
    if json_out:
        print_json(document)
    else:
        show_result(result)
    if failure is not None:
        output_failed(failure)
    codes = {
        Status.OPTIMAL: Exit.OK, Status.FEASIBLE: Exit.OK, Status.INFEASIBLE: Exit.INFEASIBLE,
        Status.TIME_LIMIT: Exit.OK if result.plan is not None else Exit.TIME_LIMIT,
        Status.ERROR: Exit.SOLVER_ERROR,
    }  # fmt: skip
    raise typer.Exit(codes[result.status])


def check_request(
    solver: str, time_limit: float | None, options: dict[str, Any], family: str = "finetune"
) -> None:
    """Refuses an unknown solver, a time limit that is not > 0 and options the backend does not
    take, before any file is read (exit 2); option *values* are checked by the backend."""
    from jqodi_opt.solve import backend, check_options

    if time_limit is not None and not time_limit > 0:  # also nan
        raise UsageProblem(f"--time-limit {time_limit} not understood (must be > 0 seconds).")
    function = backend(solver, family)
    try:
        check_options(solver, function, options)
    except (SolverNotFound, OptionError):
        raise
    except ValueError as exc:  # the option names the backend does not take
        raise UsageProblem(str(exc)) from None


def show_result(result: Any) -> None:
    """Prints a solve result as a table (plan) or a list of reasons (no plan)."""
    if result.plan is None:
        out.print(
            Text.assemble((str(result.status), "bold"), f" ({result.solver}, "
                          f"{result.runtime_s:.3f} s)"),
            highlight=False,
        )  # fmt: skip
        for reason in result.reasons:
            out.print(f"  - {reason}", highlight=False)
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


@app.command("evaluate", rich_help_panel=PROBLEMS)
def evaluate_command(
    instance: Annotated[Path, typer.Argument(help="Instance file.")],
    plan: Annotated[Path, typer.Argument(help="Plan file (jqodi-plan/1).")],
    estimator: Annotated[
        Estimator | None,
        typer.Option(help="Estimator fixing the epoch count (default: the plan's)."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Independent check of a plan: recompute energy, time and loss; list violations.

    Exit 0 when the plan is feasible, 1 when it is not. A plan file that holds only a solve's
    outcome (``solve --out`` after an infeasible, time-limited or failed solve) has no plan to
    evaluate: that is said, and the exit code is the one ``solve`` gave (1, 3 or 4).
    """
    from jqodi_opt.cli.inference_io import evaluate_inference_command, is_inference_file

    if is_inference_file(instance):
        raise typer.Exit(evaluate_inference_command(instance, plan, json_out))
    from jqodi_opt.finetune.evaluate import evaluate
    from jqodi_opt.finetune.plan import NoPlan, read_outcome
    from jqodi_opt.read import read_instance

    data = read_instance(instance)
    outcome = read_outcome(plan)
    if isinstance(outcome, NoPlan):
        _no_plan(plan, outcome, json_out)
    check = evaluate(data, outcome, estimator)
    if json_out:
        print_json(check.to_dict())
    else:
        verdict = ("feasible", "green") if check.feasible else ("infeasible", "red")
        out.print(Text.assemble(f"{plan}: ", verdict), highlight=False)
        out.print(
            f"  energy {fmt(check.energy_j, 8)} J, time {fmt(check.time_s, 8)} s, "
            f"final loss {fmt(check.final_loss)}",
            highlight=False,
        )
        for violation in check.violations:
            out.print(f"  - {violation}", highlight=False)
    raise typer.Exit(Exit.OK if check.feasible else Exit.INFEASIBLE)


#: Exit code of ``evaluate`` for a no-plan document: the code ``solve`` gave for that status.
NO_PLAN_EXIT = {"infeasible": Exit.INFEASIBLE, "time_limit": Exit.TIME_LIMIT,
                "error": Exit.SOLVER_ERROR}  # fmt: skip


def _no_plan(path: Path, outcome: Any, json_out: bool) -> NoReturn:
    """Reports a plan file without a plan and exits with the code of its status."""
    said = f"no plan to evaluate: the solve ended {outcome.status}" + (
        f" ({outcome.solver})" if outcome.solver else ""
    )
    if json_out:
        print_json(
            {"feasible": False, "energy_j": None, "time_s": None, "final_loss": None,
             "status": outcome.status, "violations": [said, *outcome.reasons]}
        )  # fmt: skip
    else:
        out.print(f"{path}: {said}", highlight=False)
        for reason in outcome.reasons:
            out.print(f"  - {reason}", highlight=False)
    raise typer.Exit(NO_PLAN_EXIT[outcome.status])


@app.command(rich_help_panel=PROBLEMS)
def solvers() -> None:
    """List the registered solvers of each problem family and the options each takes (-o)."""
    from jqodi_opt.solve import FAMILIES

    view = Table(title="solvers")
    for column in ("family", "name", "exact", "what", "options (-o NAME=VALUE, default)"):
        view.add_column(column)
    for family, registry in FAMILIES.items():
        for name, info in registry.items():
            options = ", ".join(solver_options(name, family)) or "-"
            view.add_row(family, name, "yes" if info.exact else "no", info.description, options)
    out.print(view)
