"""The ``jqodi`` command line (SPEC §4).

Results go to stdout (a table, or JSON with ``--json``); messages and progress to stderr.
Exit codes: 0 success; 1 infeasible (problem or plan); 2 bad input or usage (also an output path
that cannot be written, checked before the work, and stdout on a full disk); 3 time limit with no
plan; 4 solver error or an unexpected failure; 130 interrupted; 141 stdout closed early (a pipe
such as ``| head``: no message, as a shell tool killed by SIGPIPE).

No user string is read as terminal markup: both consoles have ``markup=False``, and styled text
is built as :class:`rich.text.Text` (a name such as ``[/x]`` prints as written).
"""

from __future__ import annotations

import json
import math
import os
import sys
import traceback
from collections.abc import Iterable
from enum import Enum, IntEnum
from typing import Any, Literal, NoReturn

import typer
from rich.console import Console, ConsoleDimensions

from jqodi_opt.exceptions import (
    InputError,
    OptionError,
    OutputError,
    SimulationError,
    SolverNotFound,
    SolverRefused,
    SuiteError,
)

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 infeasible (the problem, or the plan for evaluate); 2 bad input or "
    "usage (one line naming the file and field, before any work); 3 time limit with no plan; "
    "4 solver error or unexpected failure; 130 interrupted."
)

#: Help panels that group the commands in ``jqodi --help`` (others: Models, Inference).
PROBLEMS, FINE_TUNING, BENCHMARKS = "Problems", "Fine-tuning", "Benchmarks"

app = typer.Typer(
    name="jqodi",
    help="Joint model, quantization, partition and offloading decisions for DNN fine-tuning "
    "and inference.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _registry_enum(name: str, values: Iterable[str]) -> type[Enum]:
    """A string enum of registered names: Typer shows them as the choices of an option."""
    return Enum(name, [(value, value) for value in values], type=str)  # type: ignore[return-value]


def choice(value: Any) -> str:
    """The string behind a choice (Typer passes enum members, a default stays a string)."""
    return str(getattr(value, "value", value))


def _solver_names() -> list[str]:
    """Every registered solver name (the registries of each problem family)."""
    from jqodi_opt.solve import FAMILIES

    return list(dict.fromkeys(name for registry in FAMILIES.values() for name in registry))


def _family_names() -> list[str]:
    from jqodi_opt.bench.families import FAMILIES

    return list(FAMILIES)


#: ``--solver`` choices: the registry of :mod:`jqodi_opt.solve`, read once at start-up.
SolverName = _registry_enum("SolverName", _solver_names())
#: ``generate --family`` choices.
FamilyName = _registry_enum("FamilyName", _family_names())
Estimator = Literal["robust", "expected"]


class StdoutFailed(Exception):
    """Stdout refused the output (a full disk, a closed pipe); holds the :class:`OSError`."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class _Stdout:
    """``sys.stdout`` as it is at each call, with its write errors told apart from others."""

    def write(self, text: str) -> int:
        try:
            return sys.stdout.write(text)
        except OSError as exc:
            raise StdoutFailed(exc) from None

    def flush(self) -> None:
        try:
            sys.stdout.flush()
        except OSError as exc:
            raise StdoutFailed(exc) from None

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding...
        return getattr(sys.stdout, name)


class _WideWhenPiped(Console):
    """A console :data:`WIDE` columns wide when it is not a terminal (a pipe or a file), so that
    tables read by a program are neither squeezed nor cut; a terminal's own width otherwise."""

    def _get_size(self) -> ConsoleDimensions:
        size = Console.size.fget(self)  # type: ignore[attr-defined]
        return size if self.is_terminal else ConsoleDimensions(WIDE, size.height)

    size = property(_get_size, Console.size.fset)  # type: ignore[attr-defined]


stdout = _Stdout()
out = _WideWhenPiped(file=stdout, soft_wrap=True, markup=False)  # type: ignore[arg-type]
#: Width of a console that is not a terminal (a pipe or a file): wide tables are not squeezed.
WIDE = 240
err = Console(stderr=True, soft_wrap=True, markup=False)


def wide_out() -> Console:
    """The stdout console (wide when piped; kept for the commands that ask for it by name)."""
    return out


class Exit(IntEnum):
    """Process exit codes (SPEC §4)."""

    OK = 0
    INFEASIBLE = 1
    BAD_INPUT = 2
    TIME_LIMIT = 3
    SOLVER_ERROR = 4
    INTERRUPTED = 130


class UsageProblem(Exception):
    """Bad usage detected by a command (printed as one line, exit 2)."""


def output_failed(failure: OutputError) -> NoReturn:
    """Reports an output file that could not be written after the work; exit 2.

    Commands print their result to stdout first, so the work is not lost.
    """
    for line in failure.lines():
        err.print(line, highlight=False)
    raise typer.Exit(Exit.BAD_INPUT)


def print_json(document: Any) -> None:
    """Writes ``document`` as JSON to stdout."""
    stdout.write(json.dumps(document, indent=2, allow_nan=False, default=_jsonable) + "\n")


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
# entry point
# --------------------------------------------------------------------------------------------------


#: Exceptions that mean "the caller asked for something that cannot be done": exit 2, one line.
#: Anything else escaping a command is a failure of the package or a solver: exit 4.
BAD_INPUT_ERRORS: tuple[type[Exception], ...] = (
    UsageProblem,
    SolverNotFound,
    OptionError,
    SolverRefused,
    SimulationError,
    SuiteError,
)


def _stdout_failed(exc: OSError) -> int:
    """Stdout cannot take the output (full disk, closed pipe): no traceback, no retry at exit."""
    try:  # later flushes (at interpreter exit) would fail again: send them nowhere
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout replaced (tests) or already closed
        pass
    if isinstance(exc, BrokenPipeError):
        return 141
    err.print(f"error: cannot write to stdout: {exc.strerror or exc}", highlight=False)
    return Exit.BAD_INPUT


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; input errors become one line each on stderr and exit code 2."""
    try:
        code = app(args=argv, prog_name="jqodi", standalone_mode=False)
        stdout.flush()
    except typer.Exit as exc:
        try:
            stdout.flush()
        except StdoutFailed as failed:
            return _stdout_failed(failed.error)
        return int(exc.exit_code)
    except StdoutFailed as exc:
        return _stdout_failed(exc.error)
    except InputError as exc:
        for line in exc.lines():
            err.print(line, highlight=False)
        return Exit.BAD_INPUT
    except BAD_INPUT_ERRORS as exc:
        err.print(f"error: {exc}", highlight=False)
        return Exit.BAD_INPUT
    except KeyboardInterrupt:
        err.print("interrupted", highlight=False)
        return 130
    except typer.Abort:
        err.print("interrupted", highlight=False)
        return 130
    except typer.TyperException as exc:  # usage errors raised by the parser (click, vendored)
        return _usage_error(exc)
    except Exception as exc:  # a bug or a solver crash outside solve(): not the user's input
        return _unexpected(exc)
    if code == 130:  # typer turns Ctrl-C (KeyboardInterrupt) into a return value of 130
        err.print("interrupted", highlight=False)
    return int(code) if isinstance(code, int) else Exit.OK


def _usage_error(exc: Exception) -> int:
    """A parser error (missing argument, bad value, unknown option) as one line, exit 2."""
    message = getattr(exc, "format_message", None)
    if message is None or type(exc).__name__ == "NoArgsIsHelpError":
        show = getattr(exc, "show", None)
        if show is None:
            raise exc
        show()
        return Exit.BAD_INPUT
    text = " ".join(str(message()).replace("Value error, ", "").split())
    ctx = getattr(exc, "ctx", None)
    where = f" (see {ctx.command_path} --help)" if ctx is not None else ""
    err.print(f"error: {text}{where}", highlight=False)
    return Exit.BAD_INPUT


def _unexpected(exc: BaseException) -> int:
    """An unexpected failure: one line (the traceback with ``JQODI_TRACEBACK=1``), exit 4."""
    if os.environ.get("JQODI_TRACEBACK"):
        err.print("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
    if len(detail) > 200:
        detail = detail[:197] + "..."
    err.print(
        f"error: unexpected failure ({detail}); set JQODI_TRACEBACK=1 for the traceback",
        highlight=False,
    )
    return Exit.SOLVER_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
