"""Random small ``jqodi-inference/1`` documents for the exact-solver cross-checks (seeded numpy,
so a hypothesis strategy can draw a seed and a few switches)."""

from __future__ import annotations

from typing import Any

import numpy as np


def random_inference(
    seed: int,
    *,
    layers: int = 3,
    servers: int = 3,
    dag: bool = False,
    bits: bool = True,
    pruning: bool = True,
    compression: bool = True,
    accuracy: bool = False,
    interactions: bool = False,
    memory: bool = False,
    limits: bool = False,
    objective: Any = "latency",
    return_output: bool = True,
    sparse_links: bool = False,
) -> dict[str, Any]:
    """A random instance: a device and ``servers - 1`` others (one pair left unlinked when there
    are three or more), a chain or a DAG (a layer may also read the input or any earlier layer),
    and the knobs asked for. ``sparse_links`` instead drops each pair's link with probability 1/2,
    the device's included, keeping a random spanning tree (a server may then be reachable only
    through another)."""
    rng = np.random.default_rng(seed)
    names = [f"l{i}" for i in range(layers)]
    model_layers = []
    for i, name in enumerate(names):
        entry: dict[str, Any] = {
            "name": name,
            "flops": float(rng.uniform(1e7, 1e9)),
            "params": int(rng.integers(1_000, 200_000)),
            "output_bytes": float(rng.uniform(1e3, 2e5)),
        }
        if dag and i > 0:
            earlier = ["input", *names[:i]]
            count = int(rng.integers(1, min(2, len(earlier)) + 1))
            picked = rng.choice(len(earlier), size=count, replace=False)
            entry["inputs"] = [earlier[j] for j in sorted(picked)]
        model_layers.append(entry)
    tiers = ["device", "edge", "cloud", "edge"]
    server_list = []
    for k in range(servers):
        server: dict[str, Any] = {
            "name": f"s{k}",
            "tier": tiers[k],
            "speed_flops": float(1e9 if k == 0 else rng.uniform(5e9, 5e10)),
            "power_w": float(5.0 if k == 0 else rng.uniform(30, 300)),
        }
        if k == 0:
            server["speedup"] = {"8": 2.0}
            if memory:
                total = 4.0 * sum(x["params"] for x in model_layers)
                server["memory_bytes"] = float(total * rng.uniform(0.3, 0.9))
        server_list.append(server)
    links = []
    # sparse: every server keeps one link to an earlier one, so all stay reachable (SPEC §7)
    parent = [-1] + [int(rng.integers(0, k)) for k in range(1, servers)] if sparse_links else []
    for a in range(servers):
        for b in range(a + 1, servers):
            if sparse_links:
                if parent[b] != a and rng.random() < 0.5:
                    continue
            elif (a, b) == (1, 2):
                continue  # one pair without a link
            links.append(
                {
                    "between": [f"s{a}", f"s{b}"],
                    "rate_bps": float(rng.uniform(1e6, 1e8)),
                    "latency_s": float(rng.uniform(0, 2e-3)),
                    "energy_per_bit": float(rng.uniform(1e-9, 1e-7)),
                }
            )
    doc: dict[str, Any] = {
        "format": "jqodi-inference/1",
        "name": f"random-{seed}",
        "servers": server_list,
        "links": links,
        "model": {
            "format": "jqodi-model/1",
            "name": "m",
            "input_bytes": float(rng.uniform(1e3, 2e5)),
            "layers": model_layers,
        },
        "objective": objective,
        "return_output": return_output,
    }
    if bits:
        doc["quantization"] = {
            "bits": [32, 8],
            "layers": [n for n in names if rng.random() < 0.7] or names[:1],
        }
    if pruning:
        doc["pruning"] = {
            "ratios": [0, 0.5],
            "layers": [n for n in names if rng.random() < 0.7] or names[:1],
        }
    if compression:
        doc["compression"] = {"ratios": [1, 0.25]}
    if accuracy:
        terms: list[dict[str, Any]] = []
        for name in names:
            if bits and name in doc["quantization"]["layers"] and rng.random() < 0.6:
                terms.append({"layer": name, "bits": 8, "drop": _drop(rng)})
            if pruning and name in doc["pruning"]["layers"] and rng.random() < 0.6:
                terms.append({"layer": name, "pruning": 0.5, "drop": _drop(rng)})
            if compression and rng.random() < 0.6:
                terms.append(
                    {"tensor": name, "compression": 0.25, "drop": float(rng.uniform(0, 0.01))}
                )
        if compression:
            terms.append(
                {"tensor": "input", "compression": 0.25, "drop": float(rng.uniform(0, 0.01))}
            )
        section: dict[str, Any] = {"max_drop": float(rng.uniform(0.003, 0.015)), "terms": terms}
        if interactions and len(terms) >= 2:
            pairs = []
            seen: set[tuple[int, int]] = set()
            for _ in range(2):
                s, t = sorted(int(i) for i in rng.choice(len(terms), size=2, replace=False))
                if (s, t) not in seen:
                    seen.add((s, t))
                    pairs.append({"of": [s, t], "drop": float(rng.uniform(-0.005, 0.005))})
            section["interactions"] = pairs
        doc["accuracy"] = section
    if limits:
        doc["limits"] = {
            "latency_s": float(rng.uniform(0.05, 0.6)),
            "device_energy_j": float(rng.uniform(0.2, 3.0)),
        }
    return doc


def _drop(rng: np.random.Generator) -> float:
    return float(rng.uniform(0, 0.01))
