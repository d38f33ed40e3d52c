"""Exit codes (issue 9 §7): the caller's mistakes are 2, a failure of the package or a solver is
4, and a plain ``ValueError`` from deep inside is not mistaken for bad input."""

from __future__ import annotations

import pytest

from jqodi_opt.cli import main
from jqodi_opt.exceptions import OptionError, SolverRefused

from .conftest import DATA

TINY = str(DATA / "tiny.json")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("raised", "code"),
    [
        (OptionError("threads 0 not understood (>= 1)."), 2),
        (SolverRefused("too big for exhaustive."), 2),
        (ValueError("an internal inconsistency"), 4),
        (KeyError("oops"), 4),
    ],
)
def test_what_escapes_a_command_decides_the_code(capsys, monkeypatch, raised, code) -> None:
    def compile_problem(*args: object, **kwargs: object) -> None:
        raise raised

    monkeypatch.setattr("jqodi_opt.finetune.problem.compile_problem", compile_problem)
    got, out, err = run(capsys, "solve", TINY)
    assert got == code and out == ""
    [line] = err.splitlines()
    if code == 2:
        assert line == f"error: {raised}"
    else:
        assert line.startswith(f"error: unexpected failure ({type(raised).__name__}: ")


def test_a_backend_crash_is_a_solver_error(capsys, monkeypatch) -> None:
    import jqodi_opt.finetune.solvers.baselines as baselines

    def crash(*args: object, **kwargs: object) -> None:
        raise ValueError("boom")

    monkeypatch.setattr(baselines, "solve_static", crash)
    got, _, _ = run(capsys, "solve", TINY, "--solver", "static")
    assert got == 4


def test_traceback_on_request(capsys, monkeypatch) -> None:
    def compile_problem(*args: object, **kwargs: object) -> None:
        raise ValueError("deep")

    monkeypatch.setattr("jqodi_opt.finetune.problem.compile_problem", compile_problem)
    monkeypatch.setenv("JQODI_TRACEBACK", "1")
    assert main(["solve", TINY]) == 4
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--solver", "cpsat", "-o", "num_workers=0"], "error: num_workers 0 not understood"),
        (["--solver", "cpsat", "-o", "num_workers=abc"], "error: num_workers 'abc' not underst"),
        (["--solver", "milp", "-o", "num_workers=0"], "error: num_workers 0 not understood"),
        (["--solver", "milp", "-o", "mip_rel_gap=-1"], "error: mip_rel_gap -1 not understood"),
        (["--solver", "milp", "-o", 'highs_options={"nope": 1}'], "error: HiGHS option nope=1"),
        (["--solver", "milp", "-o", "bogus=1"], "error: solver 'milp' does not take option(s) "),
        (["--time-limit", "nan"], "error: --time-limit nan not understood (must be > 0 seconds)."),
        (["--time-limit", "0"], "error: --time-limit 0.0 not understood (must be > 0 seconds)."),
        (["-o", "threads"], "error: --option 'threads' not understood (use NAME=VALUE)."),
    ],
)
def test_bad_requests_are_exit_2(capsys, args: list[str], message: str) -> None:
    code, out, err = run(capsys, "solve", TINY, *args)
    assert code == 2 and out == ""
    assert err.splitlines()[-1].startswith(message)
    assert len(err.splitlines()) <= 2  # at most the "solving ..." line before it
