"""Writes the ``jqodi-inference/1`` instances of ``instances/inference/`` (SPEC §10's set-ups).

- ``mu2024/``: Mu et al. 2024 (IEEE IoT J., seed 002): AlexNet and RegNetX-400MF on CIFAR-10, a
  Raspberry Pi 3B+, Raspberry Pi 4B or Jetson TK1 device with a Tesla P100 server, over 3G, 4G, 5G
  or WiFi: 2 x 3 x 4 = 24 files.
- ``nicosanti2026/``: YOLO11n on device, edge and cloud in the spirit of Nicosanti et al. 2026
  (ICPE, seed 003; their public code, SimoneNicosanti/Dissertation, gives the set-up): 4G and WiFi.

Every number, with its source or marked as our assumption, is explained in
``instances/inference/README.md``; this script is the one place that writes them. Run from the
repository root::

    python scripts/make_inference_instances.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jqodi_opt.graph import ModelGraph, read_profile

OUT = Path("instances/inference")

# --------------------------------------------------------------------------------------------------
# Mu et al. 2024

MU_MODELS = {"alexnet": "alexnet-cifar10", "regnetx400mf": "regnetx400mf-cifar10"}

# Devices and links by hardware catalogue name (instances/hardware/): speeds Mu Table II, uplink
# rates Mu Table III; powers, memories and energies per bit are the catalogue's marked assumptions.
MU_DEVICES = {"pi3b": "raspberry-pi-3b-plus", "pi4b": "raspberry-pi-4b", "tk1": "jetson-tk1"}
MU_SERVER = {"name": "p100", "tier": "edge", "catalogue": "tesla-p100"}
MU_LINKS = ["3g", "4g", "5g", "wifi"]

# Pruning: Mu §I measures conv2 of AlexNet: -2 % accuracy at 74 % sparsity, -5 % at 89 %;
# 50 % -> 0.5 % is our interpolation. Every prunable layer is given conv2's curve (assumption).
PRUNING = {0.5: 0.005, 0.74: 0.02, 0.89: 0.05}
# Feature compression: Mu §I, at fc1: ratio 6.5 % -> "no greater than 2 %" (we take 1 %),
# 0.2 % -> about 7 %; assumed the same at every cut.
COMPRESSION = {0.065: 0.01, 0.002: 0.07}
RAW_INPUT_DROP = 1.0  # see mu_instance
MU_MAX_DROP = 0.02  # Mu §VI-A: "a maximum model accuracy loss of 2%"


def prunable(graph: ModelGraph) -> list[str]:
    """Convolutions and fully connected layers except the classifier (AlexNet: 5 + 2 = 7, as the
    seven sparsity ratios of Mu §V-B)."""
    weighted = [x.name for x in graph.layers if x.params > 0 and (x.op or "") in WEIGHTED_OPS]
    return weighted[:-1]


WEIGHTED_OPS = {"Conv", "Gemm", "MatMul", "Linear"}


def mu_instance(model: str, device: str, link: str) -> dict[str, Any]:
    profile = MU_MODELS[model]
    graph = read_profile(profile)
    layers = prunable(graph)
    terms: list[dict[str, Any]] = []
    for name in layers:
        terms += [{"layer": name, "pruning": r, "drop": d} for r, d in PRUNING.items()]
    # Mu's encoders sit at a partition point, after at least one layer; All_Server sends the raw
    # input as it is. Compressing the raw input is therefore priced out of the budget (assumption).
    terms += [{"tensor": "input", "compression": c, "drop": RAW_INPUT_DROP} for c in COMPRESSION]
    for tensor in graph.names[:-1]:
        terms += [{"tensor": tensor, "compression": c, "drop": d} for c, d in COMPRESSION.items()]
    return {
        "format": "jqodi-inference/1",
        "name": f"mu2024-{model}-{device}-{link}",
        "description": (
            f"Mu et al. 2024 set-up: {profile} on {device} with a Tesla P100 server over {link}; "
            "see instances/inference/README.md for every number's source."
        ),
        "servers": [
            {"name": device, "tier": "device", "catalogue": MU_DEVICES[device]},
            MU_SERVER,
        ],
        "links": [{"between": [device, "p100"], "catalogue": link}],
        "model": {"profile": profile},
        "pruning": {"ratios": [0.0, *PRUNING], "layers": layers},
        "compression": {"ratios": [1.0, *COMPRESSION]},
        "accuracy": {"max_drop": MU_MAX_DROP, "terms": terms},
        "objective": "latency",
        # Mu §IV-A: the downlink of the result is neglected
        "return_output": False,
    }


# --------------------------------------------------------------------------------------------------
# Nicosanti et al. 2026

YOLO = "yolo11n"
NICO_SERVERS = [
    # GCP c3-standard-4 (Xeon, VNNI) containers: 0.5 vCPU device, 1 vCPU edge; cloud Tesla T4.
    # Powers: their energy_config.ini (350 W / 60 cores x vCPUs; cloud 35 W). Speeds: assumptions.
    {"name": "device", "tier": "device", "speed_flops": 2.0e10, "power_w": 2.9165,
     "speedup": {"8": 2.0}},
    {"name": "edge", "tier": "edge", "speed_flops": 4.0e10, "power_w": 5.833,
     "speedup": {"8": 2.0}},
    {"name": "cloud", "tier": "cloud", "speed_flops": 2.0e12, "power_w": 35.0},
]  # fmt: skip


def jointdnn_energy_per_bit(rate_mbps: float, alpha_mw_per_mbps: float, beta_mw: float) -> float:
    """Uplink energy per bit from the JointDNN power model ``P = alpha * throughput + beta`` that
    Nicosanti et al. use, at the measured throughput."""
    power_w = (alpha_mw_per_mbps * rate_mbps + beta_mw) / 1000.0
    return power_w / (rate_mbps * 1e6)


NICO_ACCESS = {  # their measured upload speeds and JointDNN coefficients (Esperimenti.md)
    "4g": (5.85, 438.39, 1288.04),
    "wifi": (18.88, 283.17, 132.86),
    # assumption: their tiers ran as VMs of one cloud region, so a LAN-class 1 Gbit/s access
    # link, with WiFi's power model for the radio
    "lan": (1000.0, 283.17, 132.86),
}
NICO_MAX_QUANTIZABLE = 12  # "Max Quantizable: 12" (their profiling parameters)
NICO_INT8_DROP = 0.002  # per quantized layer: our assumption
NICO_MAX_DROP = 0.01  # our assumption: at most five of the twelve layers at 8 bits


def nicosanti_instance(access: str) -> dict[str, Any]:
    graph = read_profile(YOLO)
    rate, alpha, beta = NICO_ACCESS[access]
    access_per_bit = jointdnn_energy_per_bit(rate, alpha, beta)
    heavy = sorted(graph.layers, key=lambda x: -x.flops)[:NICO_MAX_QUANTIZABLE]
    quantizable = [x.name for x in graph.layers if x in heavy]
    return {
        "format": "jqodi-inference/1",
        "name": f"nicosanti2026-yolo11n-{access}",
        "description": (
            f"YOLO11n on device, edge and cloud, {access} access link, in the spirit of "
            "Nicosanti et al. 2026; see instances/inference/README.md for every number's source."
        ),
        "servers": NICO_SERVERS,
        "links": [
            {
                "between": ["device", "edge"],
                "rate_bps": rate * 1e6,
                "latency_s": 0.005,
                "energy_per_bit": access_per_bit,
            },
            {
                "between": ["edge", "cloud"],
                "rate_bps": 800e6,
                "latency_s": 0.050,
                "energy_per_bit": (0.014 * 100 + 0.5) / 800e6,
            },
            {
                "between": ["device", "cloud"],
                "rate_bps": rate * 1e6,
                "latency_s": 0.055,
                "energy_per_bit": access_per_bit,
            },
        ],
        "model": {"profile": YOLO},
        "quantization": {"bits": [32, 8], "layers": quantizable},
        "accuracy": {
            "max_drop": NICO_MAX_DROP,
            "terms": [{"layer": x, "bits": 8, "drop": NICO_INT8_DROP} for x in quantizable],
        },
        "objective": {"weighted": {"latency": 0.5, "energy": 0.5}},
    }


def write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n")


def main() -> None:
    for model in MU_MODELS:
        for device in MU_DEVICES:
            for link in MU_LINKS:
                write(
                    OUT / "mu2024" / f"{model}-{device}-{link}.json",
                    mu_instance(model, device, link),
                )
    for access in NICO_ACCESS:
        write(OUT / "nicosanti2026" / f"yolo11n-{access}.json", nicosanti_instance(access))
    print(f"written under {OUT}")


if __name__ == "__main__":
    main()
