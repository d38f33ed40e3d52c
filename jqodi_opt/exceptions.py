"""Exceptions and warnings of the package, and how input errors are worded."""

from __future__ import annotations

import reprlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


class InputError(ValueError):
    """Bad input: a file that cannot be read or whose fields fail their checks.

    Every problem is one ``(field path, message)`` pair; ``str()`` gives one line per problem,
    each naming the file and the field path, e.g.
    ``a.json: models[1].blocks[0].flops: must be > 0``.

    Parameters
    ----------
    source
        The file (or other source) the input came from.
    issues
        ``(field path, message)`` pairs; an empty path means the whole document.
    """

    def __init__(self, source: str, issues: Sequence[tuple[str, str]]) -> None:
        self.source = source
        self.issues = list(issues)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One line per problem: ``file: path: message``."""
        return [
            f"{self.source}: {path}: {message}" if path else f"{self.source}: {message}"
            for path, message in self.issues
        ]


class InstanceError(InputError):
    """An instance file that is not a valid ``jqodi-instance/1``."""


class PlanError(InputError):
    """A plan file that is not a valid ``jqodi-plan/1``."""


class OutputError(InputError):
    """An output path the package refuses to write, or a write that failed (disk full).

    Raised by :mod:`jqodi_opt.output`; ``str()`` is one line naming the path. The command line
    turns it into exit code 2.
    """


class SolverNotFound(ValueError):
    """A solver name that is not registered."""


class OptionError(ValueError):
    """A solver option whose value the backend cannot take; raised before any work is done.

    :func:`jqodi_opt.solve.solve` lets it through (it is the caller's mistake, not a solver
    failure); the command line turns it into one line and exit code 2.
    """


class SolverRefused(ValueError):
    """A solver that declines an instance it could not finish in reasonable time (the size guard
    of ``exhaustive``); raised before any work is done, like :class:`OptionError`."""


class SimulationError(ValueError):
    """A plan that cannot be simulated: no truth curve, or a plan the instance cannot run."""


class SuiteError(ValueError):
    """A suite file that cannot be understood; the message names the file and the field."""


class ScalingWarning(UserWarning):
    """Integer scaling (CP-SAT) may make an objective inexact beyond the stated tolerance."""


#: Longest echo of a user value in a message (characters), so that a hostile value cannot make a
#: message long (issue 9: an alias bomb once echoed gigabytes).
ECHO_LIMIT = 80


def short(value: object, limit: int = ECHO_LIMIT) -> str:
    """``repr(value)`` cut to ``limit`` characters, for messages that echo user input.

    The cost is bounded too: containers and strings are shortened while the text is built
    (:mod:`reprlib`), and an integer too long to print is described by its size.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return f"<an integer of about {int(value.bit_length() * 0.30103):,} digits>"
    text = _SHORT_REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxlevel = 3
_SHORT_REPR.maxstring = ECHO_LIMIT
_SHORT_REPR.maxother = ECHO_LIMIT
_SHORT_REPR.maxlong = ECHO_LIMIT


_TEMPLATES: Mapping[str, str] = {
    "missing": "missing field",
    "extra_forbidden": "unknown field",
    "finite_number": "must be a finite number",
    "float_type": "must be a number",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "model_type": "must be a mapping",
    "dict_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
}


def _number(value: Any) -> str:
    """A bound in a message: integers as written (``1000000``), floats short (``1e-09``)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**15:
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{float(value):g}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def format_path(loc: Iterable[Any]) -> str:
    """Turns a pydantic location such as ``('models', 1, 'flops')`` into ``models[1].flops``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def describe_pydantic_error(error: Mapping[str, Any], prefix: str = "") -> tuple[str, str]:
    """One ``(field path, message)`` pair for one pydantic error, in the package's words."""
    kind = error["type"]
    ctx = error.get("ctx", {}) or {}
    if kind in _TEMPLATES:
        message = _TEMPLATES[kind]
    elif kind == "greater_than":
        message = f"must be > {_number(ctx.get('gt'))}"
    elif kind == "greater_than_equal":
        message = f"must be >= {_number(ctx.get('ge'))}"
    elif kind == "less_than_equal":
        message = f"must be <= {_number(ctx.get('le'))}"
    elif kind == "too_short":
        message = f"must have at least {ctx.get('min_length')} item(s)"
    elif kind == "string_too_short":
        message = "must not be empty"
    elif kind == "literal_error":
        message = f"must be {ctx.get('expected')}"
    else:
        message = str(error.get("msg", kind)).lower()
    if kind not in ("missing", "extra_forbidden") and "input" in error:
        given = error["input"]
        if isinstance(given, (int, float, str, bool)) or given is None:
            message += f" (got {short(given)})"
    path = format_path(error.get("loc", ()))
    if prefix:
        path = f"{prefix}.{path}" if path else prefix
    return path, message
