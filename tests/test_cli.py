"""The command line: exit codes, one-line errors, machine-readable output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jqodi_opt.cli import main
from jqodi_opt.read import build_instance, instance_to_dict, write_instance

from .conftest import DATA, ROOT
from .test_read import EXPECTED

TINY = str(DATA / "tiny.json")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_validate_broken_files_one_line_each(capsys) -> None:
    files = sorted(str(p) for p in (DATA / "broken").iterdir())
    code, out, err = run(capsys, "validate", *files)
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    assert err.splitlines() == [f"{f}: {EXPECTED[Path(f).name]}" for f in files]


def test_validate_good_file(capsys) -> None:
    code, _, err = run(capsys, "validate", TINY)
    assert code == 0
    assert err.strip() == f"{TINY}: ok (2 candidates, 6 options)"


def test_validate_warns_when_no_pair_reaches_the_target(capsys, tiny, tmp_path) -> None:
    doc = instance_to_dict(tiny)
    for entry in doc["learning"]:
        entry.pop("epochs", None), entry.pop("power_law", None), entry.pop("gamma", None)
        entry["infeasible"] = True
    path = tmp_path / "hopeless.json"
    write_instance(build_instance(doc), path)
    code, _, err = run(capsys, "validate", str(path))
    assert code == 0
    assert f"{path}: warning: no (model, bit-width) pair can reach the target" in err


def test_validate_json(capsys) -> None:
    code, out, _ = run(capsys, "validate", "--json", TINY, str(DATA / "broken" / "bits_zero.json"))
    assert code == 2
    report = json.loads(out)
    assert [r["valid"] for r in report] == [True, False]
    assert report[1]["errors"][0].endswith("bitwidths[0].bits: must be >= 1 (got 0)")


def test_costs_table_and_json(capsys) -> None:
    code, out, err = run(capsys, "costs", TINY)
    assert code == 0 and "es1" in out and "9 options" in err
    code, out, _ = run(capsys, "costs", "--json", TINY)
    rows = json.loads(out)
    assert len(rows) == 9 and {r["cut"] for r in rows} == {0, 1, 2}


def test_schema_is_json(capsys) -> None:
    code, out, _ = run(capsys, "schema")
    assert code == 0 and json.loads(out)["title"] == "jqodi-instance/1"


def test_evaluate_exit_codes(capsys, tmp_path) -> None:
    good = {"format": "jqodi-plan/1", "model": "m1", "bits": 8,
            "schedule": [{"edge_server": "es1", "cut": 1, "epochs": 29}]}  # fmt: skip
    bad = {**good, "schedule": [{"edge_server": "es1", "cut": 1, "epochs": 3}]}
    (tmp_path / "good.json").write_text(json.dumps(good))
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    code, out, _ = run(capsys, "evaluate", "--json", TINY, str(tmp_path / "good.json"))
    assert code == 0 and json.loads(out)["feasible"] is True
    code, out, _ = run(capsys, "evaluate", "--json", TINY, str(tmp_path / "bad.json"))
    assert code == 1
    assert json.loads(out)["violations"][0].startswith("schedule has 3 epochs")


def test_bad_plan_file_is_exit_2(capsys, tmp_path) -> None:
    path = tmp_path / "plan.json"
    path.write_text('{"format": "jqodi-plan/1", "model": "m1"}')
    code, _, err = run(capsys, "evaluate", TINY, str(path))
    assert code == 2
    assert err.splitlines() == [f"{path}: bits: missing field", f"{path}: schedule: missing field"]


def test_usage_errors_are_exit_2_in_one_line(capsys) -> None:
    code, _, err = run(capsys, "solve")
    assert code == 2
    assert err.splitlines() == ["error: Missing argument 'instance'. (see jqodi solve --help)"]
    code, _, err = run(capsys, "solve", TINY, "--solver", "nope")
    [line] = err.splitlines()
    assert code == 2 and line.startswith(
        "error: Invalid value for '--solver': 'nope' is not one of 'milp', 'cpsat', "
    )
    code, _, err = run(capsys, "solve", TINY, "--estimator", "median")
    assert code == 2 and err.splitlines() == [
        "error: Invalid value for '--estimator': 'median' is not one of 'robust', 'expected'. "
        "(see jqodi solve --help)"
    ]
    for args in (["generate", "--family", "nope"], ["simulate", TINY, TINY, "--curve", "x"],
                 ["bench", "smoke", "--method", "spawn"], ["compare", TINY, "--exact", "x"],
                 ["evaluate", TINY, TINY, "--estimator", "x"]):  # fmt: skip
        code, out, err = run(capsys, *args)
        assert code == 2 and out == "" and len(err.splitlines()) == 1, args
        assert err.startswith("error: Invalid value for '--"), args


def test_help_shows_choices_options_panels_and_exit_codes(capsys, monkeypatch) -> None:
    from jqodi_opt.cli.app import app

    monkeypatch.setenv("COLUMNS", "400")  # no wrapping inside the help boxes
    code, out, _ = run(capsys, "--help")
    assert code == 0
    text = " ".join(out.split())
    assert "Exit codes: 0 success; 1 infeasible" in text and "3 time limit with no plan" in text
    panels = [line.split("─ ")[1].split(" ─")[0] for line in out.splitlines() if "╭─ " in line]
    named = [p for p in panels if p not in ("Options", "Commands")]
    assert named[:3] == ["Problems", "Fine-tuning", "Benchmarks"]
    placed = {
        getattr(c.callback, "__name__", ""): c.rich_help_panel for c in app.registered_commands
    }
    assert placed["solve_command"] == "Problems" and placed["compare_command"] == "Fine-tuning"
    assert placed["report_command"] == "Benchmarks"
    code, out, _ = run(capsys, "solve", "--help")
    text = "".join(out.split())
    assert "<milp|cpsat|exhaustive|jqodi|full-model|" in text and "<robust|expected>" in text
    assert "milp:formulation,mip_rel_gap,num_workers," in text and "jqodi:time_buckets," in text


def test_solvers_lists_each_backends_options_from_its_signature(capsys) -> None:
    import inspect

    from jqodi_opt.solve import FAMILIES, backend

    for family, registry in FAMILIES.items():
        for name in registry:
            _check_listed_options(name, family, inspect.signature(backend(name, family)))
    code, out, _ = run(capsys, "solvers")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("│ finetune  │ milp "))
    assert "formulation='counts'" in row and "num_workers=None" in row


def _check_listed_options(name: str, family: str, signature: Any) -> None:
    from jqodi_opt.cli.problems import solver_options

    params = signature.parameters
    expected = [p for p in params if p not in ("problem", "time_limit")]
    assert [o.split("=")[0] for o in solver_options(name, family)] == expected, name
    for option in solver_options(name, family):
        key, _, default = option.partition("=")
        if default and not default.isupper():  # a literal, not a module constant
            assert default == repr(params[key].default), option


def test_tables_are_not_squeezed_when_piped(capsys) -> None:
    code, out, _ = run(capsys, "costs", TINY)
    widths = {len(line) for line in out.splitlines()[1:]}
    assert code == 0 and max(widths) > 80  # one line per row, not wrapped into 80 columns
    assert len(out.splitlines()) == 1 + 3 + 9 + 1  # title, header box, 9 rows, bottom


def test_console_script_has_no_traceback() -> None:
    broken = str(DATA / "broken" / "nan_energy.json")
    proc = subprocess.run(
        [sys.executable, "-m", "jqodi_opt.cli", "validate", broken],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"{broken}: {EXPECTED['nan_energy.json']}"
