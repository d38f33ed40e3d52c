"""Names and paths are never read as terminal markup (issue 9 §4): every command runs on an
instance, a suite and a path whose names hold ``[/x]`` and ``[bold]``, and prints them as
written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jqodi_opt.cli import main

from .conftest import DATA

SERVER = "es[/x]"
MODEL = "m[bold]1[/x]"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """tiny_truth.json renamed with markup everywhere, in a directory whose name is markup."""
    root = tmp_path_factory.mktemp("names") / "run[bold]"
    root.mkdir()
    doc = json.loads((DATA / "tiny_truth.json").read_text())
    doc["name"] = "tiny[/x][bold]"
    doc["edge_servers"][0]["name"] = SERVER
    doc["links"][0]["edge_server"] = SERVER
    doc["device"]["name"] = "[/]sd"
    doc["models"][0]["name"] = MODEL
    doc["models"][0]["blocks"][0]["name"] = "[red]b1"
    for entry in doc["learning"]:
        entry["model"] = MODEL
    instance = root / "inst[bold][x].json"  # a file name cannot hold "[/x]": it has a "/"
    instance.write_text(json.dumps(doc))
    plan = root / "plan[red].json"
    suite = root / "suite[bold].toml"
    suite.write_text(
        '[suite]\nname = "s[/x]"\ntime_limit = 5.0\n[[sweep]]\nname = "w[/x]"\n'
        'family = "tradeoff"\nseeds = [1]\nsolvers = ["static"]\n'
        "[sweep.sizes]\nmodels = 1\nbitwidths = 1\nblocks = 2\nedge_servers = 1\nepochs = 3\n"
    )
    return {"instance": instance, "plan": plan, "suite": suite, "db": root / "r[bold].sqlite"}


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "MarkupError" not in captured.err
    assert "unexpected failure" not in captured.err
    return code, captured.out, captured.err


def test_every_command_prints_markup_as_written(capsys, hostile: dict[str, Path]) -> None:
    instance, plan = hostile["instance"], hostile["plan"]
    code, _, err = run(capsys, "validate", instance)
    assert code == 0 and f"{instance}: ok" in err
    code, out, _ = run(capsys, "costs", instance)
    assert code == 0 and SERVER in out and MODEL in out and str(instance) in out.replace("\n", "")
    code, out, _ = run(capsys, "solve", instance, "--out", plan)
    assert code == 0 and SERVER in out and MODEL in out and "tiny[/x][bold]" in out
    code, out, _ = run(capsys, "solve", instance, "--json")
    assert code == 0 and json.loads(out)["schedule"][0]["edge_server"] == SERVER
    code, out, _ = run(capsys, "evaluate", instance, plan)
    assert code == 0 and out.startswith(f"{plan}: feasible")
    code, out, _ = run(capsys, "simulate", instance, plan)
    assert code == 0 and f"{MODEL}@" in out and str(plan) in out
    code, out, _ = run(capsys, "compare", instance, "--solvers", "milp,static,all-local")
    assert code == 0 and MODEL in out and SERVER in out
    code, out, _ = run(capsys, "tree", instance, "--candidate", f"{MODEL},8")
    assert code == 0 and f"{MODEL}@8" in out


def test_bench_and_report_with_markup_names(capsys, hostile: dict[str, Path]) -> None:
    code, _, err = run(capsys, "bench", hostile["suite"], "--db", hostile["db"], "--workers", "1")
    assert code == 0 and "s[/x]" in err
    code, out, _ = run(capsys, "report", hostile["db"])
    assert code == 0 and "static" in out


def test_messages_with_markup_are_printed_as_written(capsys, hostile: dict[str, Path]) -> None:
    broken = hostile["instance"].with_name("broken[bold].json")
    doc = json.loads(hostile["instance"].read_text())
    doc["links"][0]["edge_server"] = "[/bold]nowhere"
    broken.write_text(json.dumps(doc))
    code, _, err = run(capsys, "solve", broken)
    assert code == 2
    assert err.splitlines() == [
        f"{broken}: links[0].edge_server: unknown edge server '[/bold]nowhere'"
    ]
