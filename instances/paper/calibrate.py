"""Writes the calibrated numbers of ``data1.json`` and ``data2.json`` from the few free parameters.

Run from the repository root: ``python instances/paper/calibrate.py``. It rewrites only the fields
the paper does not state (speeds, energies per FLOP and per bit, link rates, the cloud's per-epoch
work ``cloud_flops``) and the files' descriptions; models, learning entries and limits are left as
they are. ``tests/test_paper_instances.py`` checks that the committed files are what this script
writes, so the README's derivations hold for the files. See ``README.md`` §1-3 for why each value.

Every energy follows one rule, the paper's own accounting (§V-A: energy measured at the nodes, idle
power not counted): a node that is busy draws its **rated power** (Tables II-IV), so

* computing: ``energy_per_flop = rated power / effective speed``;
* a transfer keeps **both ends** busy: ``energy_per_bit = (rated power of one end + of the other) /
  rate``, for the Wi-Fi links (Pi 5 and an edge server) and the CS-ES links (A100 and an edge
  server).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

#: Rated powers (W), paper Tables II-IV.
RATED_W = {"pi5": 12.0, "rtx3090": 350.0, "rtx4090": 450.0, "cloud": 400.0}

#: The free parameters (not stated by the paper), chosen in README §6.
SPEED_FLOPS = {"pi5": 1.2e10, "rtx3090": 3.077e11, "rtx4090": 4.286e11, "cloud": 1.763e12}
WIFI_RATE_BPS = {"rtx3090": 2.57e7, "rtx4090": 6.16e7}
CLOUD_RATE_BPS = {"rtx3090": 3.75e8, "rtx4090": 3.786e8}
#: ``cloud_flops`` (the CS's work per epoch, F_a) = CLOUD_IMAGES x training_factor x forward FLOPs.
CLOUD_IMAGES = 1250.0

DESCRIPTION = {
    1: "Zhou et al., IEEE Trans. Networking 2026, Section V, Data 1: 2000 CIFAR-10 training "
    "images, T_max = 180 s; epochs from Table VI.",
    2: "Zhou et al., IEEE Trans. Networking 2026, Section V, Data 2: 5000 training images from "
    "10 CIFAR-100 classes, T_max = 2000 s; epochs from Table VII.",
}
ASSUMED = (
    " Rated powers from Tables II-IV; speeds, link rates and cloud work are calibrated "
    "assumptions (instances/paper/calibrate.py, README there)."
)


def per_bit(a: str, b: str, rate_bps: float) -> float:
    """Energy per bit of a transfer that keeps nodes ``a`` and ``b`` busy at ``rate_bps``."""
    return (RATED_W[a] + RATED_W[b]) / rate_bps


def calibrated(document: dict[str, Any], data: int) -> dict[str, Any]:
    """``document`` with the calibrated fields replaced."""
    doc = json.loads(json.dumps(document))
    doc["description"] = DESCRIPTION[data] + ASSUMED
    doc["cloud"] = {
        "speed_flops": SPEED_FLOPS["cloud"],
        "energy_per_flop": RATED_W["cloud"] / SPEED_FLOPS["cloud"],
    }
    for server in doc["edge_servers"]:
        name = server["name"]
        server["speed_flops"] = SPEED_FLOPS[name]
        server["energy_per_flop"] = RATED_W[name] / SPEED_FLOPS[name]
        server["cloud_rate_bps"] = CLOUD_RATE_BPS[name]
        server["cloud_energy_per_bit"] = per_bit("cloud", name, CLOUD_RATE_BPS[name])
    device = doc["device"]
    device["speed_flops"] = SPEED_FLOPS["pi5"]
    device["energy_per_flop"] = RATED_W["pi5"] / SPEED_FLOPS["pi5"]
    doc["links"] = [
        {
            "edge_server": name,
            "rate_bps": WIFI_RATE_BPS[name],
            "energy_per_bit": per_bit("pi5", name, WIFI_RATE_BPS[name]),
        }
        for name in ("rtx3090", "rtx4090")
    ]
    factor = doc.get("training_factor", 3.0)
    for model in doc["models"]:
        forward = sum(block["flops"] for block in model["blocks"])
        model["cloud_flops"] = CLOUD_IMAGES * factor * forward
    return doc


def _line(value: Any) -> str:
    """``value`` as JSON on one line, floats to 6 significant digits (``8e+11``, ``1e-09``)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_line(k)}: {_line(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_line(v) for v in value) + "]"
    if isinstance(value, float):
        text = f"{value:.6g}"
        return text if any(c in text for c in ".en") else text + ".0"
    return json.dumps(value, ensure_ascii=False)


def dump(doc: dict[str, Any]) -> str:
    """The layout of the committed files: one line per scalar field, list item, block and link."""
    out = ["{"]
    keys = list(doc)
    for n, key in enumerate(keys):
        value = doc[key]
        end = "," if n < len(keys) - 1 else ""
        if key == "models":
            out.append('  "models": [')
            for m, model in enumerate(value):
                head = {k: v for k, v in model.items() if k != "blocks"}
                out.append("    {")
                for k, v in head.items():
                    out.append(f"      {_line(k)}: {_line(v)},")
                out.append('      "blocks": [')
                blocks = [f"        {_line(b)}" for b in model["blocks"]]
                out.append(",\n".join(blocks))
                out.append("      ]")
                out.append("    }" + ("," if m < len(value) - 1 else ""))
            out.append("  ]" + end)
        elif isinstance(value, list):
            items = [f"    {_line(item)}" for item in value]
            out.append(f"  {_line(key)}: [")
            out.append(",\n".join(items))
            out.append("  ]" + end)
        else:
            out.append(f"  {_line(key)}: {_line(value)}{end}")
    out.append("}")
    return "\n".join(out) + "\n"


def main(check: bool = False) -> int:
    """Rewrites both files (or, with ``check``, reports whether they are up to date)."""
    stale = []
    for data in (1, 2):
        path = HERE / f"data{data}.json"
        document = json.loads(path.read_text(encoding="utf-8"))
        new = calibrated(document, data)
        if check:
            if dump(new) != path.read_text(encoding="utf-8"):
                stale.append(path.name)
            continue
        path.write_text(dump(new), encoding="utf-8")
    if stale:
        print(f"not what calibrate.py writes: {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(check="--check" in sys.argv[1:]))
