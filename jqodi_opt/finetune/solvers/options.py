"""Checks of solver option values, shared by the backends; every refusal is an :class:`OptionError`.

Every backend checks all of its options with these before it does any work, so a bad value (``-o
num_workers=0``, ``-o mip_rel_gap=-1``, ``-o num_workers=abc``) is one line and exit code 2 on the
command line, never a solver failure.

One name per meaning across the backends, as PyJobShop does: ``num_workers`` is the number of
threads (HiGHS) or search workers (CP-SAT). The former names ``threads`` (``milp``) and ``workers``
(``cpsat``) still work as deprecated aliases: they raise a :class:`DeprecationWarning` and will be
removed; giving both an alias and ``num_workers`` is refused.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from jqodi_opt.exceptions import OptionError


def whole_number(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an ``int`` of at least ``minimum`` (bools and non-integral numbers refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise OptionError(f"{name} {value!r} not understood (a whole number >= {minimum}).")
    if value < minimum:
        raise OptionError(f"{name} {value} not understood (must be >= {minimum}).")
    return int(value)


def real_number(
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    high_open: bool = False,
    low_open: bool = False,
) -> float:
    """``value`` as a finite ``float`` in ``[low, high]`` (an end excluded when ``*_open``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise OptionError(f"{name} {value!r} not understood (a number).")
    number = float(value)
    if not math.isfinite(number):
        raise OptionError(f"{name} {value!r} not understood (must be finite).")
    below = number <= low if low_open else number < low
    above = number >= high if high_open else number > high
    if below or above:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        raise OptionError(
            f"{name} {value!r} not understood (must be in {left}{low:g}, {high:g}{right})."
        )
    return number


def flag(name: str, value: Any) -> bool:
    """``value`` as a ``bool`` (only ``True``/``False``)."""
    if not isinstance(value, (bool, np.bool_)):
        raise OptionError(f"{name} {value!r} not understood (true or false).")
    return bool(value)


def choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """``value`` when it is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise OptionError(f"{name} {value!r} not understood (choose from {', '.join(choices)}).")
    return value


def num_workers(value: Any, alias: str, alias_value: Any) -> int | None:
    """The ``num_workers`` option, or its deprecated ``alias`` (None: the solver's default).

    Raises
    ------
    OptionError
        For a value that is not a whole number >= 1, or when both names are given.
    """
    if alias_value is not None:
        if value is not None:
            raise OptionError(f"give num_workers or its deprecated alias {alias}, not both.")
        warnings.warn(
            f"option {alias!r} is deprecated; use 'num_workers' (same meaning).",
            DeprecationWarning,
            stacklevel=3,
        )
        value = alias_value
        name = alias
    else:
        name = "num_workers"
    return None if value is None else whole_number(name, value)
