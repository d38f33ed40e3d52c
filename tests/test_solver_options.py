"""Solver options: bad values are OptionError before any work; one name for one meaning; Ctrl-C
during a native solve ends the solve as interrupted (issue 9, items 5 and 7)."""

from __future__ import annotations

import os
import signal
import threading
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from jqodi_opt import Instance
from jqodi_opt.cli import main
from jqodi_opt.exceptions import OptionError
from jqodi_opt.finetune.generate import generate
from jqodi_opt.finetune.problem import compile_problem
from jqodi_opt.finetune.solvers import cpsat, milp
from jqodi_opt.finetune.solvers.interrupt import run_interruptible
from jqodi_opt.result import Status
from jqodi_opt.solve import solve

from .conftest import DATA

TINY = str(DATA / "tiny.json")
T = TypeVar("T")


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("milp", {"num_workers": 0}, "num_workers 0 not understood"),
        ("milp", {"threads": 0}, "threads 0 not understood"),
        ("milp", {"mip_rel_gap": -1}, "mip_rel_gap -1 not understood"),
        ("milp", {"mip_rel_gap": "abc"}, "mip_rel_gap 'abc' not understood"),
        ("milp", {"highs_options": {"presolve": 5}}, "HiGHS option presolve=5 not understood"),
        ("milp", {"highs_options": {"no_such": 1}}, "HiGHS option no_such=1 not understood"),
        ("milp", {"highs_options": "presolve"}, "highs_options 'presolve' not understood"),
        ("milp", {"display": "yes"}, "display 'yes' not understood"),
        ("cpsat", {"num_workers": "abc"}, "num_workers 'abc' not understood"),
        ("cpsat", {"workers": "abc"}, "workers 'abc' not understood"),
        ("cpsat", {"num_workers": 1.5}, "num_workers 1.5 not understood"),
        ("cpsat", {"tick_s": -1}, "tick_s -1 not understood"),
        ("exhaustive", {"max_multisets": 0}, "max_multisets 0 not understood"),
        ("jqodi", {"time_buckets": 0}, "time_buckets 0 not understood"),
        ("milp", {"no_such_option": 1}, "does not take option"),
    ],
)
def test_bad_option_values_raise_option_error(
    tiny: Instance, name: str, options: dict[str, Any], message: str
) -> None:
    # Before: milp raised a plain ValueError and cpsat a TypeError, which solve() reported as a
    # solver error (exit 4); now the caller's mistake is an OptionError raised before any work.
    problem = compile_problem(tiny)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(OptionError, match=message):
            solve(problem, name, **options)


@pytest.mark.parametrize(
    "option", ["num_workers=0", "threads=0", "mip_rel_gap=-1", 'highs_options={"presolve": 5}']
)
def test_bad_option_values_exit_2_on_the_command_line(option: str, capsys) -> None:
    assert main(["solve", TINY, "--solver", "milp", "-o", option]) == 2
    err = capsys.readouterr().err
    assert "not understood" in err and "Traceback" not in err and len(err.splitlines()) <= 2


def test_cpsat_workers_abc_exits_2(capsys) -> None:
    assert main(["solve", TINY, "--solver", "cpsat", "-o", "num_workers=abc"]) == 2
    assert "num_workers 'abc' not understood" in capsys.readouterr().err


def test_time_limit_must_be_positive(tiny: Instance) -> None:
    for bad in (0, -1, float("nan"), "ten"):
        with pytest.raises(OptionError, match="time_limit"):
            solve(compile_problem(tiny), "jqodi", time_limit=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "alias"), [("milp", "threads"), ("cpsat", "workers")])
def test_num_workers_is_the_one_name_and_aliases_warn(
    tiny: Instance, name: str, alias: str
) -> None:
    problem = compile_problem(tiny)
    plain = solve(problem, name, num_workers=1)
    with pytest.warns(DeprecationWarning, match=f"'{alias}' is deprecated"):
        aliased = solve(problem, name, **{alias: 1})
    assert plain.status is aliased.status is Status.OPTIMAL
    assert aliased.objective == pytest.approx(plain.objective, rel=1e-9)
    with pytest.raises(OptionError, match="not both"):
        solve(problem, name, num_workers=1, **{alias: 1})


# --------------------------------------------------------------------------------------------------
# Ctrl-C
# --------------------------------------------------------------------------------------------------


def _sigint_soon(
    original: Callable[[Callable[[], T], Callable[[], None]], T], delay: float = 0.3
) -> Callable[[Callable[[], T], Callable[[], None]], T]:
    """``run_interruptible`` that sends this process SIGINT ``delay`` s into the native solve."""

    def wrapped(run: Callable[[], T], stop: Callable[[], None]) -> T:
        threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT)).start()
        return original(run, stop)

    return wrapped


@pytest.fixture
def default_sigint():
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("default_sigint")
def test_ctrl_c_during_cpsat_is_an_interrupt(monkeypatch, tmp_path) -> None:
    # K = 1,000 on 100 strongly correlated options: CP-SAT runs to any limit. Before the fix CP-SAT
    # caught SIGINT itself and the solve ended 'time_limit' (exit 0, plan written).
    document = generate("tradeoff", seed=1, models=1, bitwidths=1, blocks=9, edge_servers=10,
                        epochs=1000)  # fmt: skip
    problem = compile_problem(document)
    monkeypatch.setattr(cpsat, "run_interruptible", _sigint_soon(run_interruptible))
    with pytest.raises(KeyboardInterrupt):
        solve(problem, "cpsat", time_limit=60, num_workers=1)


@pytest.mark.usefixtures("default_sigint")
def test_ctrl_c_during_highs_is_an_interrupt(monkeypatch) -> None:
    # Before the fix HiGHS swallowed the KeyboardInterrupt raised in its Python callback and ran on.
    document = generate("tradeoff", seed=1, models=1, bitwidths=1, blocks=9, edge_servers=10,
                        epochs=300)  # fmt: skip
    problem = compile_problem(document)
    monkeypatch.setattr(milp, "run_interruptible", _sigint_soon(run_interruptible, 0.1))
    with pytest.raises(KeyboardInterrupt):
        solve(problem, "milp", time_limit=60, formulation="epochs", num_workers=1)


def test_run_interruptible_stops_and_reraises(default_sigint) -> None:
    stopped = threading.Event()

    def run() -> str:
        stopped.wait(30)
        return "done"

    threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT)).start()
    with pytest.raises(KeyboardInterrupt):
        run_interruptible(run, stopped.set)
    assert stopped.is_set()
    assert run_interruptible(lambda: 7, stopped.set) == 7
    with pytest.raises(ZeroDivisionError):
        run_interruptible(lambda: 1 // 0, stopped.set)


def test_cli_ctrl_c_exits_130_and_writes_no_plan(monkeypatch, tmp_path, capsys) -> None:
    import sys

    import jqodi_opt.solve as solve_module  # noqa: F401  (the module, for monkeypatch)

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(sys.modules["jqodi_opt.solve"], "solve", interrupted)
    out = tmp_path / "plan.json"
    out.write_text("keep me")
    assert main(["solve", TINY, "--solver", "cpsat", "--out", str(out)]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert out.read_text() == "keep me"


# --------------------------------------------------------------------------------------------------
# the bound reported at a limit, the plan stamped once
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["milp", "cpsat"])
def test_stopped_solve_reports_the_lp_bound_not_a_trivial_one(name: str) -> None:
    # HiGHS stopped at once on the per-epoch model has only a trivial dual bound; the issue saw
    # "gap 100 %" with the package's own LP bound 8.4e-11 below the plan.
    document = generate("tradeoff", seed=1, models=1, bitwidths=1, blocks=9, edge_servers=10,
                        epochs=300)  # fmt: skip
    problem = compile_problem(document)
    from jqodi_opt.finetune.solvers.reduce import reduce_problem

    lp = reduce_problem(problem).lower_bound_j
    if name == "milp":
        result = solve(problem, "milp", formulation="epochs", highs_options={"time_limit": 1e-9})
    else:
        result = solve(problem, "cpsat", time_limit=0.05, num_workers=1)
    assert result.bound is not None and result.bound >= lp * (1 - 1e-12)
    if result.stats.get("bound_source") == "lp relaxation":
        assert result.bound == pytest.approx(lp, rel=1e-12)
    if result.plan is not None:  # CP-SAT may stop before its first solution
        assert result.gap is not None and result.gap < 1e-3  # not the trivial "100 %"
        assert result.plan.bound_j == result.bound and result.plan.gap == result.gap
    else:
        assert result.to_plan_document()["bound_j"] == result.bound


def test_result_and_its_plan_document_agree(tiny: Instance) -> None:
    result = solve(compile_problem(tiny), "milp")
    document = result.to_plan_document()
    assert document["status"] == str(result.status) == "optimal"
    assert document["energy_j"] == result.objective
    assert document["bound_j"] == result.bound and document["gap"] == result.gap
    assert document["runtime_s"] == result.runtime_s and document["solver"] == "milp"
