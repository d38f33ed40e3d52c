"""Names that look like rich markup (``[/x]``) are printed as text, never parsed: each command that
prints an instance's own names ran into ``MarkupError`` tracebacks before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jqodi_opt.cli import main

from .conftest import ROOT

MARKUP = "[/x]"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_inference_names_with_markup(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    document = {
        "format": "jqodi-inference/1",
        "name": f"{MARKUP}net",
        "servers": [
            {"name": "dev", "tier": "device", "speed_flops": 1e9, "power_w": 2.0},
            {"name": f"{MARKUP}edge", "tier": "edge", "speed_flops": 1e12, "power_w": 100.0},
        ],
        "links": [{"between": ["dev", f"{MARKUP}edge"], "rate_bps": 1e8, "energy_per_bit": 1e-8}],
        "model": {
            "format": "jqodi-model/1",
            "name": "m",
            "input_bytes": 1e3,
            "layers": [{"name": f"{MARKUP}l0", "flops": 1e9, "params": 10, "output_bytes": 1e3}],
        },
    }
    path = tmp_path / "net.json"
    path.write_text(json.dumps(document))
    code, text = run(capsys, "solve", str(path), "--solver", "dp")
    assert code == 0 and f"{MARKUP}net" in text and f"{MARKUP}edge" in text


def test_finetune_and_lifecycle_names_with_markup(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = (ROOT / "instances" / "paper" / "data1.json").read_text()
    document = json.loads(text.replace('"lenet-like"', json.dumps(MARKUP)))
    document["name"] = f"{MARKUP}data"
    path = tmp_path / "data.json"
    path.write_text(json.dumps(document))
    for args in (["costs"], ["solve", "--solver", "jqodi"], ["lifecycle"]):
        code, out = run(capsys, args[0], str(path), *args[1:])
        assert code == 0, (args, out)
        assert MARKUP in out and "Traceback" not in out, args  # the model name, as text
