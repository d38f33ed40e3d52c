"""What input can cost is bounded (issue 9 §1, §7): bombs, deep nesting, huge numbers, long
echoes, absurd epoch counts and odd suite values each give one line naming the file and field,
exit 2, without a traceback and without building what the file describes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from jqodi_opt.bench.suite import SuiteError, load_suite
from jqodi_opt.cli import main
from jqodi_opt.exceptions import InstanceError, PlanError, short
from jqodi_opt.finetune.plan import read_plan
from jqodi_opt.read import read_instance

from .conftest import DATA

TINY = DATA / "tiny.json"
TRUTH = DATA / "tiny_truth.json"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def tiny_text(**replace: str) -> str:
    """tiny.json's text with some ``"key": value`` pairs rewritten verbatim (huge literals)."""
    text = TINY.read_text()
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    return text


def refused(capsys, path: Path, message: str, command: str = "validate") -> None:
    """``command`` on ``path`` exits 2 with exactly one line: ``path: message``."""
    args = [command, str(path)] if command == "validate" else [command, str(path), "--json"]
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    assert err.splitlines() == [f"{path}: {message}"]


# --------------------------------------------------------------------------------------------------
# parsing
# --------------------------------------------------------------------------------------------------


def alias_bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join([*lines, f"format: *a{levels - 1}"]) + "\n"


def test_yaml_alias_bomb_is_refused_before_it_is_built(capsys, tmp_path: Path) -> None:
    # 9**9 = 387 million strings from 600 bytes: refused while counting the composed nodes.
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(9))
    refused(capsys, path, "YAML aliases expand to more than 1,000,000 values")
    refused(capsys, path, "YAML aliases expand to more than 1,000,000 values", "solve")


def test_yaml_aliases_within_the_bound_still_work(tmp_path: Path) -> None:
    text = yaml.safe_dump(json.loads(TINY.read_text()))  # keys sorted: edge_servers before links
    text = text.replace("name: es1", "name: &server es1").replace(
        "edge_server: es1", "edge_server: *server"
    )
    assert "*server" in text
    path = tmp_path / "aliased.yaml"
    path.write_text(text)
    assert read_instance(path).links[0].edge_server == "es1"


def test_recursive_yaml_alias_is_refused(capsys, tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("format: &a [1, *a]\n")
    refused(capsys, path, "a YAML alias refers to itself (recursive document)")


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.json", "[" * 5000 + "]" * 5000),
        ("deep.yaml", "[" * 20000 + "]" * 20000),
        ("deep_block.yaml", "".join("  " * i + "- \n" for i in range(2000))),
        ("deep_field.json", '{"format": ' + "[" * 100 + "]" * 100 + "}"),
    ],
)
def test_deep_nesting_is_one_line(capsys, tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    code, out, err = run(capsys, "validate", str(path))
    assert code == 2 and out == ""
    [line] = err.splitlines()
    assert line.startswith(f"{path}: ") and line.endswith("nested more than 64 levels deep")


def test_huge_integers_name_their_field(capsys, tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text(tiny_text(**{'"train_samples": 2000': '"train_samples": 1' + "0" * 4000}))
    message = (
        "device.train_samples: integer too large "
        "(<an integer of about 4,000 digits>; at most 2**53)"
    )
    refused(capsys, path, message)
    refused(capsys, path, message, "solve")
    path.write_text(tiny_text(**{'"train_samples": 2000': '"train_samples": 1' + "0" * 5000}))
    refused(capsys, path, "not valid JSON: an integer of more than 4,300 digits")
    path.write_text(tiny_text(**{'"train_samples": 2000': '"train_samples": 1e400'}))
    refused(capsys, path, "device.train_samples: must be an integer (got inf)")
    path.write_text(tiny_text(**{'"train_samples": 2000': '"train_samples": 1' + "0" * 30}))
    refused(capsys, path, "device.train_samples: integer too large (10**30; at most 2**53)".replace(
        "10**30", str(10**30)))  # fmt: skip


def test_huge_file_is_not_read(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("jqodi_opt.read.MAX_FILE_BYTES", 100)
    with pytest.raises(InstanceError) as info:
        read_instance(TINY)
    assert info.value.lines() == [f"{TINY}: file larger than 100 bytes; not read"]


def test_echoed_values_are_short(capsys, tmp_path: Path) -> None:
    path = tmp_path / "long.json"
    doc = json.loads(TINY.read_text())
    doc["format"] = "x" * 100_000
    path.write_text(json.dumps(doc))
    code, _, err = run(capsys, "validate", str(path))
    [line] = err.splitlines()
    assert code == 2 and line.startswith(f"{path}: format: must be 'jqodi-instance/1' (got 'xxx")
    assert len(line) <= len(str(path)) + 130
    doc["format"] = "jqodi-instance/1"
    doc["models"][0]["name"] = ["y" * 1000] * 1000
    path.write_text(json.dumps(doc))
    code, _, err = run(capsys, "validate", str(path))
    assert code == 2 and max(len(line) for line in err.splitlines()) <= len(str(path)) + 130


def test_short_is_bounded() -> None:
    assert short("abc") == "'abc'"
    assert len(short("z" * 10**6)) == 80
    assert short(10**5000) == "<an integer of about 5,000 digits>"
    nested: list[object] = []
    for _ in range(10_000):
        nested = [nested]
    assert len(short(nested)) <= 80


# --------------------------------------------------------------------------------------------------
# epochs: instance and plan
# --------------------------------------------------------------------------------------------------


def test_max_epochs_is_bounded(capsys, tmp_path: Path) -> None:
    path = tmp_path / "many.json"
    doc = json.loads(TINY.read_text())
    doc["max_epochs"] = 2_000_000
    path.write_text(json.dumps(doc))
    refused(capsys, path, "max_epochs: must be <= 1000000 (got 2000000)")


def test_truth_beyond_max_epochs_is_refused(capsys, tmp_path: Path) -> None:
    doc = json.loads(TRUTH.read_text())
    index = next(i for i, e in enumerate(doc["learning"]) if isinstance(e.get("truth"), int))
    doc["learning"][index]["truth"] = 10**15
    path = tmp_path / "truth.json"
    path.write_text(json.dumps(doc))
    refused(
        capsys, path,
        f"learning[{index}].truth: must be <= max_epochs 10,000 (got {10**15})",
    )  # fmt: skip


def plan_file(tmp_path: Path, schedule: list[dict[str, object]] | str) -> Path:
    text = json.dumps(
        {"format": "jqodi-plan/1", "model": "m1", "bits": 8, "schedule": "SCHEDULE"}
    )  # fmt: skip
    path = tmp_path / "plan.json"
    path.write_text(text.replace('"SCHEDULE"', schedule if isinstance(schedule, str) else
                                 json.dumps(schedule)))  # fmt: skip
    return path


@pytest.mark.parametrize("command", ["simulate", "evaluate"])
def test_absurd_plan_epochs_are_refused_before_any_allocation(
    capsys, tmp_path: Path, command: str
) -> None:
    cases = [
        ('[{"edge_server": "es1", "cut": 1, "epochs": 1000000000}]',
         "schedule[0].epochs: must be <= 1000000 (got 1000000000)"),
        ('[{"edge_server": "es1", "cut": 1, "epochs": 1' + "0" * 30 + "}]",
         f"schedule[0].epochs: integer too large ({10**30}; at most 2**53)"),
        (json.dumps([{"edge_server": "es1", "cut": 1, "epochs": 900_000}] * 3),
         "schedule: 2,700,000 epochs in all, more than 1,000,000"),
    ]  # fmt: skip
    for schedule, message in cases:
        path = plan_file(tmp_path, schedule)
        code, out, err = run(capsys, command, str(TRUTH), str(path))
        assert code == 2 and out == ""
        assert err.splitlines() == [f"{path}: {message}"]


def test_simulate_refuses_a_plan_longer_than_max_epochs(capsys, tmp_path: Path) -> None:
    path = plan_file(tmp_path, [{"edge_server": "es1", "cut": 1, "epochs": 20_000}])
    code, _, err = run(capsys, "simulate", str(TRUTH), str(path))
    assert code == 2
    assert err.splitlines() == [
        f"{path}: schedule: 20,000 epochs in all, more than the instance's max_epochs 10,000"
    ]
    # evaluate costs such a plan without expanding it, and says why it is infeasible
    code, out, _ = run(capsys, "evaluate", "--json", str(TRUTH), str(path))
    assert code == 1 and json.loads(out)["violations"][0].startswith("schedule has 20000 epochs")


# --------------------------------------------------------------------------------------------------
# what solve --out writes, evaluate reads
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "code"), [("infeasible", 1), ("time_limit", 3), ("error", 4)])
def test_evaluate_reads_the_no_plan_documents_of_solve(
    capsys, tmp_path: Path, status: str, code: int
) -> None:
    path = tmp_path / "outcome.json"
    path.write_text(json.dumps(
        {"format": "jqodi-plan/1", "instance": "tiny", "solver": "milp", "status": status,
         "reasons": ["because"], "runtime_s": 1.0}
    ))  # fmt: skip
    got, out, err = run(capsys, "evaluate", str(TINY), str(path))
    assert got == code and err == ""
    assert out.splitlines() == [
        f"{path}: no plan to evaluate: the solve ended {status} (milp)",
        "  - because",
    ]
    got, out, _ = run(capsys, "evaluate", "--json", str(TINY), str(path))
    assert got == code
    assert json.loads(out)["feasible"] is False and json.loads(out)["status"] == status
    with pytest.raises(PlanError, match=f"a {status} result holds no plan to check"):
        read_plan(path)


def test_evaluate_reads_what_solve_out_wrote_for_an_infeasible_instance(
    capsys, tmp_path: Path
) -> None:
    doc = json.loads(TINY.read_text())
    doc["limits"]["time_s"] = 1e-3
    instance = tmp_path / "tight.json"
    instance.write_text(json.dumps(doc))
    plan = tmp_path / "plan.json"
    assert run(capsys, "solve", str(instance), "--out", str(plan))[0] == 1
    code, out, _ = run(capsys, "evaluate", str(instance), str(plan))
    assert code == 1 and "no plan to evaluate: the solve ended infeasible (milp)" in out


# --------------------------------------------------------------------------------------------------
# suites
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[suite]\ntime_limit = nan\n", "suite.time_limit: nan must be a finite number"),
        ("[suite]\ngrace = inf\n", "suite.grace: inf must be a finite number"),
        ('[[sweep]]\nfamily = "tradeoff"\nsolvers = ["static"]\nsizes = { models = "3" }\n',
         "sweep[0] (sweep1).sizes.models: '3' is not an integer"),
        ('[[sweep]]\nfamily = "tradeoff"\nsolvers = ["static"]\nsizes = { blocks = 0 }\n',
         "sweep[0] (sweep1).sizes.blocks: 0 not in 1..1,000,000"),
        ('[[sweep]]\nfamily = "tradeoff"\nsolvers = ["static"]\naxis = { epochs = [2, "x"] }\n',
         "sweep[0] (sweep1).axis.epochs[1]: 'x' is not an integer"),
        ('[[sweep]]\nfamily = "tradeoff"\nsolvers = ["static"]\nseeds = 1000000000\n',
         "sweep[0] (sweep1).seeds: 1000000000 not in 1..10,000"),
        ('[[sweep]]\nfamily = "tradeoff"\nsolvers = ["static"]\ntime_limit = nan\n',
         "sweep[0] (sweep1).time_limit: nan must be a finite number"),
        ("sweep = [1]\n", "sweep[0]: must be a table ([[sweep]])"),
    ],
)  # fmt: skip
def test_bad_suite_values_name_file_and_field(
    capsys, tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text if "sweep" in text else text + '[[sweep]]\nfamily = "tradeoff"\n'
                    'solvers = ["static"]\n')  # fmt: skip
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert str(info.value) == f"{path}: {message}"
    code, _, err = run(capsys, "bench", str(path), "--db", str(tmp_path / "r.sqlite"))
    assert code == 2 and err.splitlines() == [f"error: {path}: {message}"]


# --------------------------------------------------------------------------------------------------
# bench --scheduler
# --------------------------------------------------------------------------------------------------


def test_unreachable_scheduler_is_one_line_before_the_runner(capsys, tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    db = tmp_path / "r.sqlite"
    for address, message in [
        (f"tcp://127.0.0.1:{port}", f"--scheduler tcp://127.0.0.1:{port}: cannot connect ("),
        ("127.0.0.1:notaport", "--scheduler '127.0.0.1:notaport' not understood"),
        ("udp://127.0.0.1:8786", "--scheduler 'udp://127.0.0.1:8786' not understood"),
    ]:
        code, out, err = run(capsys, "bench", "smoke", "--scheduler", address, "--db", str(db))
        assert code == 2 and out == ""
        [line] = err.splitlines()
        assert line.startswith(f"error: {message}")
    assert not db.exists()  # nothing was started


@pytest.mark.timeout(60)
def test_a_fifo_or_device_as_input_is_refused_without_reading(capsys, tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "instance.json"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    refused(capsys, fifo, "cannot read: not a regular file")
    refused(capsys, Path("/dev/zero"), "cannot read: not a regular file")  # never ends
    refused(capsys, tmp_path, "cannot read: is a directory")
