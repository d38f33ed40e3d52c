"""Adds ``output_bytes`` to every block and ``input_bytes`` to every model of the paper instances.

The sizes follow from the architectures of Zhou et al. 2026 (footnotes 1-6), written in each block's
name: ``64C3`` a 3x3 convolution to 64 channels (padding 1, stride 1), ``MP2`` a 2x2 max-pool,
``1024FC`` a fully connected layer to 1024 units, ``10SVM`` the 10-class linear output,
``Block(C,3)`` a ResNet stage of 3 basic blocks to C channels (stride 2 when C grows), ``FC`` global
average pooling and the 10-class output. Input: 32x32x3 images (CIFAR-10 sized). Every output is an
FP32 tensor (4 bytes per element, SPEC §6.1).

As a check, the forward FLOPs of the first convolution and of every fully connected layer are
recomputed from the same shapes and must equal the block's ``flops`` in the file (the files were
written from the same architectures); the script refuses to write otherwise.

Usage::

    python scripts/paper_output_bytes.py instances/paper/data1.json instances/paper/data2.json
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

INPUT_SHAPE = (32, 32, 3)  # height, width, channels
BYTES = 4  # FP32


def block_output(name: str, shape: tuple[int, int, int]) -> tuple[tuple[int, ...], float | None]:
    """The output shape of one block and, where cheap to state, its forward FLOPs (2 x MACs)."""
    spec = name.split(":", 1)[1]
    flops: float | None = 0.0
    out: tuple[int, ...] = shape
    for part in spec.split("-"):
        h, w, c = out if len(out) == 3 else (1, 1, out[0])
        if m := re.fullmatch(r"(\d+)C3", part):
            channels = int(m.group(1))
            flops = None if flops is None else flops + 2 * h * w * channels * 9 * c
            out = (h, w, channels)
        elif part == "MP2":
            out = (h // 2, w // 2, c)
        elif m := re.fullmatch(r"(\d+)(FC|SVM)", part):
            units = int(m.group(1))
            flops = None if flops is None else flops + 2 * h * w * c * units
            out = (units,)
        elif m := re.fullmatch(r"Block\((\d+),3\)", part):
            channels = int(m.group(1))
            stride = 2 if channels > c else 1
            out = (h // stride, w // stride, channels)
            flops = None  # residual stages: FLOPs not rechecked here
        elif part == "FC":
            flops = None if flops is None else flops + 2 * c * 10
            out = (10,)
        else:
            raise ValueError(f"block {name!r}: part {part!r} not understood")
    return out, flops


def add_sizes(document: dict[str, Any]) -> None:
    """Writes ``input_bytes`` and every block's ``output_bytes`` into ``document``."""
    for model in document["models"]:
        shape: tuple[int, ...] = INPUT_SHAPE
        model["input_bytes"] = BYTES * INPUT_SHAPE[0] * INPUT_SHAPE[1] * INPUT_SHAPE[2]
        for block in model["blocks"]:
            shape, flops = block_output(block["name"], shape)  # type: ignore[arg-type]
            if flops is not None and flops != block["flops"]:
                raise ValueError(
                    f"{model['name']}/{block['name']}: FLOPs {flops:g} from the shapes, "
                    f"{block['flops']:g} in the file"
                )
            elements = 1
            for size in shape:
                elements *= size
            block["output_bytes"] = BYTES * elements


def insert_sizes(text: str, document: dict[str, Any]) -> str:
    """``text`` with the sizes of ``document`` inserted line by line, keeping the file's own layout
    (one block per line, as the paper instances are written), so other edits merge cleanly."""
    models = iter(document["models"])
    blocks: dict[str, int] = {}
    lines = []
    for line in text.splitlines(keepends=True):
        stripped = line.lstrip()
        if stripped.startswith('"blocks": ['):
            model = next(models)
            blocks = {b["name"]: b["output_bytes"] for b in model["blocks"]}
            if '"input_bytes"' not in text:
                indent = line[: len(line) - len(stripped)]
                lines.append(f'{indent}"input_bytes": {model["input_bytes"]},\n')
        m = re.match(r'(\s*\{"name": "([^"]+)", "flops": [^}]*?)(, "output_bytes": \d+)?\}', line)
        if m and m.group(2) in blocks:
            line = f'{m.group(1)}, "output_bytes": {blocks[m.group(2)]}}}' + line[m.end() :]
        lines.append(line)
    return "".join(lines)


def main(paths: list[str]) -> None:
    for path in paths:
        text = Path(path).read_text()
        document = json.loads(text)
        add_sizes(document)
        updated = insert_sizes(text, document)
        if json.loads(updated) != document:
            raise ValueError(f"{path}: the layout is not one block per line; nothing written")
        Path(path).write_text(updated)
        print(f"{path}: sizes written")


if __name__ == "__main__":
    main(sys.argv[1:])
