"""The command line: exit codes, one-line errors, machine-readable output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


def test_usage_errors_are_exit_2(capsys) -> None:
    assert run(capsys, "solve")[0] == 2
    code, _, err = run(capsys, "solve", TINY, "--solver", "nope")
    assert code == 2 and "unknown solver 'nope'" in err
    code, _, err = run(capsys, "solve", TINY, "--estimator", "median")
    assert code == 2 and "--estimator 'median' not understood" in err


def test_console_script_has_no_traceback() -> None:
    broken = str(DATA / "broken" / "nan_energy.json")
    proc = subprocess.run(
        [sys.executable, "-m", "jqodi_opt.cli", "validate", broken],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"{broken}: {EXPECTED['nan_energy.json']}"
