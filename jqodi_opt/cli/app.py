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
from typing import Any

import typer
from rich.console import Console

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
    if code == 130:  # typer turns Ctrl-C (KeyboardInterrupt) into a return value of 130
        err.print("interrupted", highlight=False)
    return int(code) if isinstance(code, int) else Exit.OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
