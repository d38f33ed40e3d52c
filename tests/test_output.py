"""Safe output paths (issue 9 §2–3): refuse what is not a regular file, before the work; a write
that fails after the work loses neither the old file nor the printed result."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from jqodi_opt.cli import main
from jqodi_opt.exceptions import OutputError
from jqodi_opt.output import atomic_output, check_output, check_output_dir, write_text

from .conftest import DATA, ROOT

TINY = str(DATA / "tiny.json")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _device(path: Path) -> Path:
    try:
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # a copy of /dev/null's node
    except (PermissionError, AttributeError):
        pytest.skip("creating a device node needs root")
    return path


def hostile_targets(tmp_path: Path) -> dict[str, Path]:
    """A FIFO, a symlink (to a file that must stay intact), a directory."""
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "link.json"
    link.symlink_to(victim)
    folder = tmp_path / "folder.json"
    folder.mkdir()
    return {"is a FIFO": fifo, "is a symbolic link": link, "is a directory": folder}


# --------------------------------------------------------------------------------------------------
# the module
# --------------------------------------------------------------------------------------------------


def test_refuses_everything_but_regular_files(tmp_path: Path) -> None:
    targets = hostile_targets(tmp_path)
    targets["is a device"] = _device(tmp_path / "dev.json")
    for message, path in targets.items():
        kind = stat.S_IFMT(os.lstat(path).st_mode)
        with pytest.raises(OutputError) as info:
            write_text(path, "x")
        assert info.value.lines() == [f"{path}: cannot write here: {message}"]
        assert stat.S_IFMT(os.lstat(path).st_mode) == kind  # still what it was
    assert (tmp_path / "victim.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["fifo.json", "victim.txt", "link.json", "folder.json", "dev.json"]
    )  # no temporary file left


def test_refuses_an_input_file_under_any_name(tmp_path: Path) -> None:
    source = tmp_path / "in.json"
    source.write_text("{}")
    alias = tmp_path / "alias.json"
    os.link(source, alias)
    for path in (source, alias, tmp_path / "." / "in.json"):
        with pytest.raises(OutputError, match="it is an input file of this command"):
            check_output(path, inputs=[source])
    assert source.read_text() == "{}"


def test_refuses_a_missing_directory_and_a_file_as_directory(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"no such directory"):
        check_output(tmp_path / "missing" / "plan.json")
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match="cannot write here"):
        check_output(tmp_path / "file" / "plan.json")
    with pytest.raises(OutputError, match="not a directory"):
        check_output_dir(tmp_path / "file")
    assert check_output_dir(tmp_path / "new") == tmp_path / "new"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_refuses_a_read_only_directory(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(OutputError, match="is not writable"):
        check_output(locked / "plan.json")


def test_replaces_a_regular_file_keeping_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text("old")
    path.chmod(0o640)
    write_text(path, "new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    fresh = tmp_path / "fresh.json"
    write_text(fresh, "x")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~mask


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch) -> None:
    path = tmp_path / "plan.json"
    path.write_text("old")

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("jqodi_opt.output.os.fsync", full)
    with pytest.raises(OutputError) as info:
        write_text(path, "new")
    assert info.value.lines() == [f"{path}: could not write: disk full"]
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]


def test_atomic_output_keeps_the_suffix_and_rechecks_before_replacing(tmp_path: Path) -> None:
    path = tmp_path / "plot.png"
    with atomic_output(path) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".png"
        tmp.write_bytes(b"png")
    assert path.read_bytes() == b"png"
    path.unlink()
    with pytest.raises(OutputError, match="is a FIFO"):
        with atomic_output(path) as tmp:
            tmp.write_bytes(b"png")
            os.mkfifo(path)  # put there while the work ran
    assert stat.S_ISFIFO(os.lstat(path).st_mode)


# --------------------------------------------------------------------------------------------------
# the commands
# --------------------------------------------------------------------------------------------------


def test_solve_refuses_hostile_out_paths_before_solving(capsys, tmp_path: Path) -> None:
    targets = hostile_targets(tmp_path)
    targets["is a device"] = _device(tmp_path / "dev.json")
    copy = tmp_path / "instance.json"
    copy.write_text(Path(TINY).read_text())
    targets["it is an input file of this command"] = copy
    targets[f"no such directory {str(tmp_path / 'missing')!r}"] = tmp_path / "missing" / "p.json"
    for message, path in targets.items():
        code, out, err = run(capsys, "solve", str(copy), "--out", str(path), "--json")
        assert code == 2, message
        assert out == ""
        assert err.splitlines() == [f"{path}: cannot write here: {message}"]  # nothing solved
    assert json.loads(copy.read_text())["name"] == "tiny"
    assert (tmp_path / "victim.txt").read_text() == "keep me"


def test_solve_prints_the_plan_when_writing_fails_after_the_work(
    capsys, tmp_path: Path, monkeypatch
) -> None:
    path = tmp_path / "plan.json"
    path.write_text("old plan")

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("jqodi_opt.output.os.fsync", full)
    code, out, err = run(capsys, "solve", TINY, "--out", str(path), "--json")
    assert code == 2
    assert json.loads(out)["status"] == "optimal"  # the result is not lost
    assert err.splitlines()[-1] == f"{path}: could not write: disk full"
    assert "Traceback" not in err
    assert path.read_text() == "old plan"


def test_solve_out_writes_a_plan(capsys, tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    code, out, _ = run(capsys, "solve", TINY, "--out", str(path), "--json")
    assert code == 0
    assert json.loads(path.read_text()) == json.loads(out)


def test_other_writers_check_their_paths_first(capsys, tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    db = tmp_path / "results.sqlite"
    db.write_bytes(b"")
    cases = [
        ("generate", "--out", str(missing / "i.json")),
        ("compare", TINY, "--solvers", "milp", "--plot", str(missing / "c.png")),
        ("report", str(db), "--csv", str(missing / "r.csv")),
        ("report", str(db), "--out", str(missing / "dir")),
        ("tree", TINY, "--candidate", "m1,8", "--graphml", str(missing / "t.graphml")),
    ]
    for args in cases:
        code, out, err = run(capsys, *args)
        assert code == 2, args
        assert out == ""
        assert len(err.splitlines()) == 1 and "cannot write here: no such directory" in err
    code, _, err = run(capsys, "report", str(db), "--csv", str(db))
    assert code == 2 and "it is an input file" in err


def test_stdout_on_a_full_disk_is_one_line_exit_2() -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "jqodi_opt.cli", "solve", TINY, "--json"],
            stdout=full, stderr=subprocess.PIPE, text=True, cwd=ROOT, check=False,
        )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1] == (
        "error: cannot write to stdout: No space left on device"
    )
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
