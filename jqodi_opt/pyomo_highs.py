"""A linear Pyomo model handed straight to ``highspy`` (:func:`to_highs`), and HiGHS helpers.

Pyomo's persistent HiGHS interface walks every expression in Python and costs ~17 s per million
variables; :func:`to_highs` reads the variables' bounds and the constraints' linear terms (the
common ``LinearExpression`` of monomials at C speed, anything else through Pyomo's standard
representation) and passes one ``HighsLp`` in CSR form. General: any linear Pyomo model with one
active objective; the fine-tuning MILP (:mod:`jqodi_opt.finetune.solvers.milp`) uses it, and so may
any other model of the package.

:func:`new_highs` makes a quiet ``Highs`` (highspy prints a banner from C++ on its first
``Highs()``, before any option can turn output off); :func:`check_highs_options` refuses HiGHS
options by name and value before any work, as an :class:`~jqodi_opt.exceptions.OptionError`.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression
from pyomo.core.expr.numvalue import native_numeric_types
from pyomo.repn import generate_standard_repn

from jqodi_opt.exceptions import OptionError

_ARGS = operator.attrgetter("args")
_BOUNDS = operator.attrgetter("bounds")
_IS_INTEGER = operator.methodcaller("is_integer")


def _terms(expr: Any) -> tuple[float, Sequence[float], Sequence[Any]]:
    """``(constant, coefficients, variables)`` of a linear expression."""
    if isinstance(expr, LinearExpression):
        args = expr.args
        if set(map(type, args)) == {MonomialTermExpression}:  # the common case, at C speed
            pairs = list(map(_ARGS, args))
            coefs, variables = zip(*pairs, strict=True) if pairs else ((), ())
            if set(map(type, coefs)) <= {float, int}:
                return 0.0, coefs, variables
        constant = 0.0
        coef_list: list[float] = []
        var_list: list[Any] = []
        for arg in args:
            if arg.__class__ is MonomialTermExpression:
                coef, var = arg.args
                coef_list.append(coef if coef.__class__ is float else float(pyo.value(coef)))
                var_list.append(var)
            elif arg.__class__ in native_numeric_types:
                constant += float(arg)
            elif arg.is_variable_type():
                coef_list.append(1.0)
                var_list.append(arg)
            else:
                break
        else:
            return constant, coef_list, var_list
    repn = generate_standard_repn(expr, quadratic=False)
    if not repn.is_linear():
        raise ValueError(f"nonlinear expression in a MILP: {expr}")
    return (
        float(pyo.value(repn.constant)),
        [float(pyo.value(c)) for c in repn.linear_coefs],
        list(repn.linear_vars),
    )


@contextlib.contextmanager
def stdout_silenced() -> Iterator[None]:
    """Sends file descriptor 1 to the null device for a while (highspy prints a banner from C++ on
    its first ``Highs()``, before any option can turn output off)."""
    sys.stdout.flush()
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.close(null)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def new_highs() -> Any:
    """A quiet ``highspy.Highs``."""
    import highspy

    with stdout_silenced():
        highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    return highs


def to_highs(model: pyo.ConcreteModel) -> tuple[Any, dict[int, int]]:
    """Hands a linear Pyomo model to a new ``highspy.Highs``.

    Returns the HiGHS object and the column of each variable (by ``id``). Variables are columns in
    declaration order, active constraints rows, the one active objective the cost (negated when
    maximised: HiGHS always minimises here).
    """
    with PauseGC():
        return _to_highs(model)


def _to_highs(model: pyo.ConcreteModel) -> tuple[Any, dict[int, int]]:
    import highspy

    inf = highspy.kHighsInf
    variables = list(model.component_data_objects(pyo.Var, active=True, descend_into=True))
    column = dict(zip(map(id, variables), range(len(variables)), strict=True))
    num_col = len(variables)
    bounds = np.array(list(map(_BOUNDS, variables)), dtype=np.float64).reshape(num_col, 2)
    lower = np.where(np.isnan(bounds[:, 0]), -inf, bounds[:, 0])  # None (no bound) became nan
    upper = np.where(np.isnan(bounds[:, 1]), inf, bounds[:, 1])
    integer = np.fromiter(map(_IS_INTEGER, variables), dtype=bool, count=num_col)

    starts = [0]
    index_parts: list[list[int]] = []
    value_parts: list[list[float]] = []
    row_lower: list[float] = []
    row_upper: list[float] = []
    for con in model.component_data_objects(pyo.Constraint, active=True, descend_into=True):
        constant, coefs, terms = _terms(con.body)
        lb, ub = con.lb, con.ub
        row_lower.append(-inf if lb is None else float(lb) - constant)
        row_upper.append(inf if ub is None else float(ub) - constant)
        index_parts.append(list(map(column.__getitem__, map(id, terms))))
        value_parts.append(list(coefs))
        starts.append(starts[-1] + len(coefs))

    objectives = list(model.component_data_objects(pyo.Objective, active=True, descend_into=True))
    if len(objectives) != 1:
        raise ValueError(f"expected one active objective, found {len(objectives)}.")
    offset, obj_coefs, obj_vars = _terms(objectives[0].expr)
    sign = 1.0 if objectives[0].sense == pyo.minimize else -1.0
    cost = np.zeros(num_col)
    obj_columns = np.fromiter(map(column.__getitem__, map(id, obj_vars)), dtype=np.int64)
    np.add.at(cost, obj_columns, np.asarray(obj_coefs, dtype=np.float64) * sign)

    lp = highspy.HighsLp()
    lp.num_col_ = num_col
    lp.num_row_ = len(row_lower)
    lp.offset_ = offset * sign
    lp.col_cost_ = cost
    lp.col_lower_ = lower
    lp.col_upper_ = upper
    lp.row_lower_ = np.asarray(row_lower)
    lp.row_upper_ = np.asarray(row_upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = num_col
    lp.a_matrix_.num_row_ = len(row_lower)
    lp.a_matrix_.start_ = np.asarray(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.fromiter(
        itertools.chain.from_iterable(index_parts), dtype=np.int32, count=starts[-1]
    )
    lp.a_matrix_.value_ = np.fromiter(
        itertools.chain.from_iterable(value_parts), dtype=np.float64, count=starts[-1]
    )
    integrality = np.full(num_col, highspy.HighsVarType.kContinuous)
    integrality[integer] = highspy.HighsVarType.kInteger
    lp.integrality_ = integrality.tolist()
    highs = new_highs()
    status = highs.passModel(lp)
    if status == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS refused the model (passModel returned an error).")
    return highs, column


def check_highs_options(highs_options: Any) -> None:
    """Refuses ``highs_options`` that are not a mapping of HiGHS option names to values HiGHS
    takes (tried on a scratch ``Highs``, so before any work)."""
    if highs_options is None:
        return
    if not isinstance(highs_options, dict):
        raise OptionError(
            f"highs_options {highs_options!r} not understood (a mapping name: value)."
        )
    import highspy

    scratch = new_highs()
    for name, value in highs_options.items():
        if not isinstance(name, str) or isinstance(value, (dict, list)) or value is None:
            raise OptionError(f"HiGHS option {name!r}={value!r} not understood.")
        try:
            status = scratch.setOptionValue(name, value)
        except (TypeError, ValueError, RuntimeError):  # a value of a type no overload takes
            status = highspy.HighsStatus.kError
        if status != highspy.HighsStatus.kOk:
            raise OptionError(f"HiGHS option {name}={value!r} not understood.")
