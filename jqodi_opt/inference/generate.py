"""Random ``jqodi-inference/1`` instances for tests and benchmarks: seeded, byte-reproducible.

Families
--------
``chain``
    A chain of ``layers`` layers (Nicosanti et al. 2026's *static* scale test grows a chain of
    500 + 150·i layers; they count the input and output pseudo-nodes too, so their "502 nodes" is
    our 500 layers). Unlike their test, whose layers are all alike (1 GFLOP, the same tensor), each
    layer's FLOPs, parameters and output size are drawn from log-normal laws around a small CNN's
    (a YOLO-class detector at 640×640), so the cut positions matter.
``dag``
    A main branch of ``layers`` layers, ``branches`` side branches of ``branch_layers`` layers each
    that fork from a random layer in the first half of the main branch and join a random layer in
    its second half, and skip connections: each layer of each branch, with probability
    ``skip_probability`` (0.15, as theirs), also feeds the layer two places further on in its branch
    — the shape of Nicosanti et al.'s *random* scale test (main 500 + 50·i, four side branches of
    50 + 15·i: 700–1,140 layers, "702–1,142 nodes").
``profile``
    A bundled real model (``model``, a profile of ``instances/models/``, inlined so the document is
    self-contained) on ``servers`` random machines of the hardware catalogue
    (``instances/hardware/``): a device-tier entry, then edge-tier entries and the cloud, on the
    same line as below, with a random catalogue uplink (3G/4G/5G/Wi-Fi) from the device.
``mu2024``
    Mu et al. 2024's set-up (§VI-A): ``model`` (AlexNet or RegNetX-400MF on CIFAR-10) on one
    ``device`` (``pi3b``, ``pi4b``, ``tk1``: Raspberry Pi 3B+, Pi 4B or Jetson TK1, Table I) with a
    Tesla P100 server, all from the hardware catalogue (``instances/hardware/``); the link
    is a named catalogue uplink (3G/4G/5G/WiFi, Table III), a rate (``rate_mbps``; the named
    link's energy per bit) or a Shannon link of
    ``bandwidth_mhz`` at ``snr_db`` (§VI-D4). Layerwise pruning of the weighted layers and feature
    compression of every tensor, with an accuracy polynomial anchored on the paper's §I figures
    (see :func:`_mu_accuracy`), budget 2 % (§VI-A5). Nothing is drawn: every number is fixed by
    the paper (or by a stated assumption), so the seed does not change the document.

Servers: server 0 is the device; the others stand in a line device – edge … – cloud …, about the
first half (rounded up) of them ``edge`` and the rest ``cloud``; every pair is linked, and the
farther apart two servers are on the line (the number of hops), the lower the rate and the higher
the latency — as in Nicosanti et al.'s scale test, whose bandwidth falls and latency grows with the
index distance. For ``chain`` and ``dag`` speeds and powers are drawn per tier around
catalogue-class machines (device: a Raspberry Pi 4B-class 3 GFLOPS; edge: a Jetson-class 0.3
TFLOPS; cloud: a P100-class 10 TFLOPS, Mu et al. Table I); for ``profile`` they are catalogue
machines. Hops after the device's uplink (metro between edge servers, WAN to the cloud), the
int8/fp16 speed-ups of ``chain`` and ``dag`` servers and their powers are assumptions of this
generator, not seed figures.

Choices (knobs ``bits``, ``pruning``, ``compression``: how many options each layer or tensor has;
1 = none): bit-widths ``[32, 8, 16]``, pruning ratios ``[0, 0.5, 0.25]`` and compression ratios
``[1, 0.25, 0.065]``, taken in that order. With any of them, each non-trivial choice gets a
first-order accuracy term (a random drop) and ``max_drop`` bounds the total (default 2 %, as Mu et
al.); ``interactions`` random pairwise terms may be added.

Objectives (knob ``objective``): ``latency``, ``energy``, ``device-energy`` or ``weighted``
(``w_L = w_E = 0.5``, as Nicosanti et al.'s scale test).

The same arguments give the same document (a seeded :class:`numpy.random.Generator` per family, no
clock, no global state), hence the same file and the same :func:`instance_hash`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from typing import Any

import numpy as np

from jqodi_opt.finetune.generate import canonical_json, instance_hash
from jqodi_opt.inference.instance import FORMAT
from jqodi_opt.inference.read import PROFILE_DIR, build_inference
from jqodi_opt.read import write_json_atomic

__all__ = [
    "FAMILIES",
    "GENERATOR_VERSION",
    "KNOBS",
    "canonical_json",
    "generate_inference_document",
    "instance_hash",
    "resolve_knobs",
    "write_inference_document",
]

FAMILIES = ("chain", "dag", "profile", "mu2024")

#: Bumped whenever the same arguments would give a different document.
GENERATOR_VERSION = 1

OBJECTIVES = ("latency", "energy", "device-energy", "weighted")

_CHOICE_KNOBS = {"objective": "latency", "bits": 1, "pruning": 1, "compression": 1,
                 "max_drop": 0.02, "interactions": 0}  # fmt: skip

#: Every family's knobs and their defaults; a knob's type is its default's (a float knob takes an
#: integer too). ``None`` defaults are optional floats.
KNOBS: dict[str, dict[str, Any]] = {
    "chain": {"layers": 500, "servers": 3, **_CHOICE_KNOBS},
    "dag": {"layers": 500, "branches": 4, "branch_layers": 50, "skip_probability": 0.15,
            "servers": 3, **_CHOICE_KNOBS},
    "profile": {"model": "yolo11n", "servers": 3, **_CHOICE_KNOBS},
    "mu2024": {"model": "alexnet-cifar10", "device": "pi3b", "link": "4g", "rate_mbps": None,
               "snr_db": None, "bandwidth_mhz": 1.0, "objective": "latency", "max_drop": 0.02},
}  # fmt: skip

#: Knobs that hold a name (the rest are numbers).
TEXT_KNOBS = frozenset({"objective", "model", "device", "link"})

# Choices in the order they are offered (knob value n takes the first n).
_BITS = [32, 8, 16]
_PRUNING = [0.0, 0.5, 0.25]
_COMPRESSION = [1.0, 0.25, 0.065]

# --------------------------------------------------------------------------------------------------
# Mu et al. 2024's hardware, by short name -> the catalogue entry (instances/hardware/: speeds from
# Mu et al. Table I, uplink rates from Table III; powers and energy per bit are the catalogue's
# stated assumptions; Mu et al. minimise latency only).
MU_DEVICES: dict[str, str] = {
    "pi3b": "raspberry-pi-3b-plus",
    "pi4b": "raspberry-pi-4b",
    "tk1": "jetson-tk1",
}
MU_SERVER = ("p100", "tesla-p100")
MU_LINKS = ("3g", "4g", "5g", "wifi")
MU_MODELS = ("alexnet-cifar10", "regnetx400mf-cifar10")


def resolve_knobs(family: str, **knobs: Any) -> dict[str, Any]:
    """The family's default knobs with the given ones (not None) put in, checked.

    Raises
    ------
    ValueError
        For an unknown family or knob, a value of the wrong type or out of range; the message names
        the knob.
    """
    if family not in FAMILIES:
        raise ValueError(f"family {family!r} not understood; choose from {', '.join(FAMILIES)}.")
    defaults = KNOBS[family]
    unknown = sorted(set(knobs) - set(defaults))
    if unknown:
        raise ValueError(f"{family}: unknown knob {unknown[0]!r} (knobs: {', '.join(defaults)}).")
    resolved = dict(defaults)
    for key, value in knobs.items():
        if value is None:
            continue
        resolved[key] = _checked(family, key, value)
    _check_ranges(family, resolved)
    return resolved


def _checked(family: str, key: str, value: Any) -> Any:
    default = KNOBS[family][key]
    if key in TEXT_KNOBS:
        if not isinstance(value, str):
            raise ValueError(f"{key} = {value!r} not understood (a name).")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{key} = {value!r} not understood (a number).")
    if isinstance(default, int):
        if float(value) != int(value):
            raise ValueError(f"{key} = {value!r} not understood (an integer).")
        return int(value)
    if not math.isfinite(float(value)):
        raise ValueError(f"{key} = {value!r} not understood (a finite number).")
    return float(value)


def _check_ranges(family: str, k: dict[str, Any]) -> None:
    def need(ok: bool, key: str, what: str) -> None:
        if not ok:
            raise ValueError(f"{key} = {k[key]!r} not understood ({what}).")

    if "objective" in k:
        need(k["objective"] in OBJECTIVES, "objective", " / ".join(OBJECTIVES))
    need(0 <= k["max_drop"] <= 1, "max_drop", "in [0, 1]")
    if family == "mu2024":
        need(k["model"] in MU_MODELS, "model", " / ".join(MU_MODELS))
        need(k["device"] in MU_DEVICES, "device", " / ".join(MU_DEVICES))
        need(k["link"] in MU_LINKS, "link", " / ".join(MU_LINKS))
        need(k["rate_mbps"] is None or k["rate_mbps"] > 0, "rate_mbps", "> 0")
        need(k["snr_db"] is None or -50 <= k["snr_db"] <= 100, "snr_db", "in [-50, 100]")
        need(k["bandwidth_mhz"] > 0, "bandwidth_mhz", "> 0")
        if k["rate_mbps"] is not None and k["snr_db"] is not None:
            raise ValueError("give rate_mbps or snr_db, not both.")
        return
    need(1 <= k["servers"] <= 12, "servers", "1..12")
    need(1 <= k["bits"] <= len(_BITS), "bits", f"1..{len(_BITS)}")
    need(1 <= k["pruning"] <= len(_PRUNING), "pruning", f"1..{len(_PRUNING)}")
    need(1 <= k["compression"] <= len(_COMPRESSION), "compression", f"1..{len(_COMPRESSION)}")
    need(0 <= k["interactions"] <= 10_000, "interactions", "0..10000")
    need(k["servers"] >= 2 or family != "profile", "servers", "at least 2: the device and one")
    if family in ("chain", "dag"):
        need(1 <= k["layers"] <= 100_000, "layers", "1..100000")
    if family == "dag":
        need(k["layers"] >= 4, "layers", ">= 4: a side branch forks in the first half and joins "
             "in the second")  # fmt: skip
        need(0 <= k["branches"] <= 1_000, "branches", "0..1000")
        need(1 <= k["branch_layers"] <= 100_000, "branch_layers", "1..100000")
        need(0 <= k["skip_probability"] <= 1, "skip_probability", "in [0, 1]")
    if family == "profile":
        need((PROFILE_DIR / f"{k['model']}.json").is_file(), "model", "a bundled profile")


def generate_inference_document(
    family: str, *, seed: int, name: str | None = None, **knobs: Any
) -> dict[str, Any]:
    """A random ``jqodi-inference/1`` document (a JSON-ready dict), validated by the normal reader.

    Parameters
    ----------
    family
        ``chain``, ``dag``, ``profile`` or ``mu2024``.
    seed
        Seed of the random generator; the same arguments give the same document.
    name
        Instance name (default: family, knobs and seed).
    **knobs
        The family's knobs (:data:`KNOBS`); None or absent: the default.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed = {seed!r} not understood (an integer >= 0).")
    k = resolve_knobs(family, **knobs)
    # One stream per (family, seed, version); the family name is mixed in so families differ.
    family_key = int.from_bytes(
        hashlib.sha256(f"inference/{family}".encode()).digest()[:4], "little"
    )
    rng = np.random.default_rng([int(seed), family_key, GENERATOR_VERSION])
    label = name or default_name(family, k, int(seed))
    if family == "mu2024":
        body = _mu2024(k)
    else:
        if family == "chain":
            model = _chain_model(rng, k["layers"])
        elif family == "dag":
            model = _dag_model(rng, k)
        else:
            model = _profile_model(k["model"])
        body = {"servers": None, "links": None, "model": model}
        line = _catalogue_line if family == "profile" else _line_network
        body["servers"], body["links"] = line(rng, k["servers"])
        body.update(_choices(rng, model, k))
        body["objective"] = _objective(k["objective"])
    knob_text = ", ".join(f"{key}={value}" for key, value in k.items() if value is not None)
    seed_text = "" if family == "mu2024" else f", seed {seed}"  # mu2024 draws nothing
    document = {
        "format": FORMAT,
        "name": label,
        "description": f"generated by jqodi_opt.inference.generate (v{GENERATOR_VERSION}): "
        f"family {family}, {knob_text}{seed_text}",
        **body,
    }
    # Through JSON once: floats as they will be written, and the document validated as a file is.
    document = json.loads(canonical_json(document))
    build_inference(document, source=label)
    return document


def write_inference_document(document: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Writes a generated document as indented JSON (the same document, the same bytes)."""
    write_json_atomic(document, path)


def default_name(family: str, knobs: dict[str, Any], seed: int) -> str:
    """E.g. ``chain-L500-S3-latency-s1`` or ``mu2024-alexnet-cifar10-pi3b-4g``."""
    if family == "mu2024":
        if knobs["rate_mbps"] is not None:
            link = f"r{knobs['rate_mbps']:g}Mbps"
        elif knobs["snr_db"] is not None:
            link = f"snr{knobs['snr_db']:g}dB"
        else:
            link = knobs["link"]
        return f"mu2024-{knobs['model']}-{knobs['device']}-{link}-{knobs['objective']}"
    if family == "profile":
        size = knobs["model"]
    elif family == "dag":
        size = f"L{knobs['layers']}+{knobs['branches']}x{knobs['branch_layers']}"
    else:
        size = f"L{knobs['layers']}"
    choices = "".join(f"{c[0]}{knobs[c]}" for c in ("bits", "pruning", "compression"))
    return f"{family}-{size}-S{knobs['servers']}-{choices}-{knobs['objective']}-s{seed}"


def _objective(name: str) -> Any:
    # Nicosanti et al.'s scale test: latency_weight = energy_weight = 0.5.
    return {"weighted": {"latency": 0.5, "energy": 0.5}} if name == "weighted" else name


# --------------------------------------------------------------------------------------------------
# Model graphs


def _round(value: float, digits: int = 6) -> float:
    """``value`` to ``digits`` significant digits (short, stable JSON)."""
    return float(f"{value:.{digits}g}")


def _layer(rng: np.random.Generator, name: str, inputs: list[str] | None) -> dict[str, Any]:
    """One synthetic layer around a YOLO-class CNN at 640×640 (~20 MFLOP, ~10 k parameters and a
    ~0.8 MB output per layer; wide spread)."""
    layer: dict[str, Any] = {
        "name": name,
        "flops": _round(2.0e7 * math.exp(rng.normal(0.0, 1.0))),
        "params": round(1.0e4 * math.exp(rng.normal(0.0, 1.2))),
        "output_bytes": _round(8.0e5 * math.exp(rng.normal(0.0, 0.9))),
    }
    if inputs is not None:
        layer["inputs"] = inputs
    return layer


#: FP32 bytes of a 640×640 RGB image (the input of a YOLO-class detector).
IMAGE_BYTES = 640 * 640 * 3 * 4


def _chain_model(rng: np.random.Generator, layers: int) -> dict[str, Any]:
    return {
        "format": "jqodi-model/1",
        "name": f"chain-{layers}",
        "input_bytes": IMAGE_BYTES,
        "layers": [_layer(rng, f"l{i:05d}", None) for i in range(layers)],
    }


def _dag_model(rng: np.random.Generator, k: dict[str, Any]) -> dict[str, Any]:
    """Main branch, side branches (fork in the first half, join in the second), skips of length 2.

    Layers are listed main branch first, each side branch inserted right after its fork layer's
    position would break topological order when it joins later, so the list is built by a stable
    topological sort: main-branch position first, then branch, then position in the branch.
    """
    main = k["layers"]
    # (branch, position) -> inputs as (branch, position) pairs; branch 0 is the main branch.
    inputs: dict[tuple[int, int], list[tuple[int, int] | None]] = {}
    for p in range(main):
        inputs[(0, p)] = [None if p == 0 else (0, p - 1)]
    half = main // 2
    for b in range(1, k["branches"] + 1):
        fork = int(rng.integers(0, half))  # a layer in the first half
        join = int(rng.integers(half + 1, main)) if main > half + 1 else main - 1
        for p in range(k["branch_layers"]):
            inputs[(b, p)] = [(0, fork) if p == 0 else (b, p - 1)]
        inputs[(0, join)].append((b, k["branch_layers"] - 1))
    # skip connections: layer p of a branch also feeds layer p + 2 of the same branch
    for b in range(k["branches"] + 1):
        length = main if b == 0 else k["branch_layers"]
        draws = rng.random(length)
        for p in range(length - 2):
            if draws[p] < k["skip_probability"]:
                inputs[(b, p + 2)].append((b, p))

    def name(node: tuple[int, int]) -> str:
        b, p = node
        return f"m{p:05d}" if b == 0 else f"b{b:02d}_{p:05d}"

    order = _topological(inputs)
    layers = []
    for position, node in enumerate(order):
        sources = inputs[node]
        previous = None if position == 0 else order[position - 1]
        # the default input (the previous listed layer, or the model's input) is left implicit
        implicit = sources == [previous]
        listed = None if implicit else [("input" if s is None else name(s)) for s in sources]
        layers.append(_layer(rng, name(node), listed))
    return {"format": "jqodi-model/1", "name": f"dag-{len(layers)}", "input_bytes": IMAGE_BYTES,
            "layers": layers}  # fmt: skip


Node = tuple[int, int]


def _topological(inputs: dict[Node, list[Node | None]]) -> list[Node]:
    """Kahn's algorithm, smallest rank first: deterministic, and a side branch is listed as one
    block just before the main-branch layer it joins."""
    import heapq

    users: dict[Node, list[Node]] = {node: [] for node in inputs}
    missing = dict.fromkeys(inputs, 0)
    joins: dict[int, int] = {}  # side branch -> the main position it joins
    for node, sources in inputs.items():
        for source in sources:
            if source is None:
                continue
            users[source].append(node)
            missing[node] += 1
            if node[0] == 0 and source[0] != 0:
                joins[source[0]] = node[1]

    def rank(node: Node) -> tuple[int, int, int, int]:
        b, p = node
        return (p, 1, 0, 0) if b == 0 else (joins[b], 0, b, p)

    ready = [(rank(n), n) for n, m in missing.items() if m == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, node = heapq.heappop(ready)
        order.append(node)
        for user in users[node]:
            missing[user] -= 1
            if missing[user] == 0:
                heapq.heappush(ready, (rank(user), user))
    if len(order) != len(inputs):  # pragma: no cover - the construction has no cycle
        raise RuntimeError("the generated graph has a cycle")
    return order


def _profile_model(profile: str) -> dict[str, Any]:
    """The bundled profile's document, inlined (the instance then holds every number it uses)."""
    with open(PROFILE_DIR / f"{profile}.json", encoding="utf-8") as handle:
        document: dict[str, Any] = json.load(handle)
    return document


# --------------------------------------------------------------------------------------------------
# Servers and links


#: Per tier: median speed (FLOP/s), median power (W), spread (log-normal sigma).
_TIERS = {"device": (3.0e9, 6.0, 0.5), "edge": (3.0e11, 30.0, 0.6), "cloud": (1.0e13, 300.0, 0.4)}
#: Per hop kind: median rate (bit/s), latency (s), energy per bit (J/bit) of one hop.
_HOPS = {
    "wireless": (50.0e6, 0.005, 1.0e-7),  # device to the first server: a Wi-Fi/5G-class uplink
    "metro": (1.0e9, 0.002, 1.0e-8),  # between edge servers
    "wan": (300.0e6, 0.020, 2.0e-8),  # edge (or device) to cloud, and between clouds
}


def server_tiers(count: int) -> list[str]:
    """Tiers along the line: the device, then about half (rounded up) edge, the rest cloud."""
    others = count - 1
    edges = (others + 1) // 2
    return ["device"] + ["edge"] * edges + ["cloud"] * (others - edges)


def _line_network(
    rng: np.random.Generator, count: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Synthetic servers per tier (chain, dag) on the line."""
    tiers = server_tiers(count)
    servers = []
    for i, tier in enumerate(tiers):
        speed, power, sigma = _TIERS[tier]
        factor = math.exp(rng.normal(0.0, sigma))
        server: dict[str, Any] = {
            "name": "device" if tier == "device" else f"{tier}{i}",
            "tier": tier,
            "speed_flops": _round(speed * factor),
            "power_w": _round(power * math.exp(rng.normal(0.0, 0.3))),
        }
        # int8 kernels: a device CPU gains most, a GPU server less (assumption)
        server["speedup"] = {"8": _round(float(rng.uniform(1.5, 3.0) if tier == "device" else
                                               rng.uniform(1.0, 2.0))),
                             "16": _round(float(rng.uniform(1.0, 1.5)))}  # fmt: skip
        servers.append(server)
    first = _HOPS["wireless"]
    first_hop = (first[0] * math.exp(rng.normal(0.0, 0.3)), first[1] * float(rng.uniform(0.5, 1.5)),
                 first[2])  # fmt: skip
    return servers, _links(rng, servers, tiers, first_hop)


def _catalogue_line(
    rng: np.random.Generator, count: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Catalogue hardware (profile): a random device, edge servers and cloud of the right tiers,
    and a random catalogue uplink (3G/4G/5G/Wi-Fi) from the device to the first server."""
    from jqodi_opt.hardware import hardware_catalogue, link_fields, server_fields

    catalogue = hardware_catalogue()
    by_tier = {tier: sorted(d.name for d in catalogue.devices if d.tier == tier)
               for tier in ("device", "edge", "cloud")}  # fmt: skip
    tiers = server_tiers(count)
    servers = []
    for i, tier in enumerate(tiers):
        pool = by_tier[tier] or by_tier["edge"]  # a catalogue without a cloud: its fastest edge
        entry = str(pool[int(rng.integers(len(pool)))])
        name = entry if tier == "device" else f"{entry}-{i}"
        servers.append({"name": name, "tier": tier, **server_fields(entry)})
    uplink = sorted(link.name for link in catalogue.links)
    fields = link_fields(str(uplink[int(rng.integers(len(uplink)))]))
    first_hop = (fields["rate_bps"], fields.get("latency_s", 0.0), fields["energy_per_bit"])
    return servers, _links(rng, servers, tiers, first_hop)


def _links(
    rng: np.random.Generator,
    servers: list[dict[str, Any]],
    tiers: list[str],
    first_hop: tuple[float, float, float],
) -> list[dict[str, Any]]:
    """Every pair linked; one hop between neighbours on the line (the first: ``first_hop``, the
    device's uplink; then metro between edge servers, WAN to and between clouds)."""
    count = len(servers)
    hops = [first_hop] if count > 1 else []
    for i in range(1, count - 1):
        kind = "metro" if tiers[i + 1] == "edge" else "wan"
        rate, latency, energy = _HOPS[kind]
        hops.append(
            (rate * math.exp(rng.normal(0.0, 0.3)), latency * float(rng.uniform(0.5, 1.5)), energy)
        )
    links = []
    for i in range(count):
        for j in range(i + 1, count):
            path = hops[i:j]
            # farther apart, slower: the path's narrowest hop shared over the hops (rate falls
            # per hop, as Nicosanti et al.'s bandwidth falls with index distance); latency and
            # energy per bit add up along the path
            rate = min(h[0] for h in path) / len(path)
            links.append({
                "between": [servers[i]["name"], servers[j]["name"]],
                "rate_bps": _round(rate),
                "latency_s": _round(sum(h[1] for h in path)),
                "energy_per_bit": _round(sum(h[2] for h in path)),
            })  # fmt: skip
    return links


# --------------------------------------------------------------------------------------------------
# Choices and accuracy


def _choices(rng: np.random.Generator, model: dict[str, Any], k: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    names = [layer["name"] for layer in model["layers"]]
    count = len(names)
    terms: list[dict[str, Any]] = []
    # mean drop of one choice on one layer: the budget would allow about a quarter of the layers
    # (or tensors) to take it, so the budget binds on large instances as on small ones
    mean = k["max_drop"] * 4.0 / max(count, 1)
    if k["bits"] > 1:
        bits = _BITS[: k["bits"]]
        out["quantization"] = {"bits": bits}
        for name in names:
            for b in bits[1:]:
                scale = 1.0 if b == 8 else 0.2  # 16 bits loses less than 8
                terms.append(
                    {"layer": name, "bits": b, "drop": _round(rng.exponential(mean) * scale)}
                )
    if k["pruning"] > 1:
        ratios = _PRUNING[: k["pruning"]]
        out["pruning"] = {"ratios": ratios}
        for name in names:
            for r in ratios[1:]:
                scale = (r / 0.5) ** 2
                terms.append(
                    {"layer": name, "pruning": r, "drop": _round(rng.exponential(mean) * scale)}
                )
    if k["compression"] > 1:
        ratios = _COMPRESSION[: k["compression"]]
        out["compression"] = {"ratios": ratios}
        for name in ["input", *names]:
            for c in ratios[1:]:
                scale = 1.0 if c >= 0.25 else 2.5
                terms.append({"tensor": name, "compression": c,
                              "drop": _round(rng.exponential(mean) * scale)})  # fmt: skip
    if terms:
        interactions = []
        pairs: set[tuple[int, int]] = set()
        for _ in range(k["interactions"]):
            a, b = (int(x) for x in rng.choice(len(terms), size=2, replace=False))
            pair = (min(a, b), max(a, b))
            if pair in pairs:
                continue
            pairs.add(pair)
            interactions.append({"of": list(pair), "drop": _round(rng.normal(0.0, mean))})
        out["accuracy"] = {"max_drop": k["max_drop"], "terms": terms}
        if interactions:
            out["accuracy"]["interactions"] = interactions
    return out


# --------------------------------------------------------------------------------------------------
# Mu et al. 2024


def _mu2024(k: dict[str, Any]) -> dict[str, Any]:
    from jqodi_opt.hardware import link_fields, server_fields

    server_key, server_entry = MU_SERVER
    link: dict[str, Any] = {"between": [k["device"], server_key], **link_fields(k["link"])}
    if k["snr_db"] is not None:
        # §VI-D4, eq. (1): R = B log2(1 + SNR); B is not given in the paper (assumption: 1 MHz)
        link.pop("rate_bps", None)
        link["bandwidth_hz"] = k["bandwidth_mhz"] * 1e6
        link["snr_db"] = k["snr_db"]
    elif k["rate_mbps"] is not None:
        link.pop("bandwidth_hz", None)
        link.pop("snr_db", None)
        link["rate_bps"] = k["rate_mbps"] * 1e6
    model = _profile_model(k["model"])
    return {
        "servers": [
            {"name": k["device"], "tier": "device", **server_fields(MU_DEVICES[k["device"]])},
            {"name": server_key, "tier": "edge", **server_fields(server_entry)},
        ],
        "links": [link],
        "model": model,
        **_mu_accuracy(model, k["max_drop"]),
        "objective": _objective(k["objective"]),
    }


#: Pruning ratios offered to every weighted layer (Mu et al. §I: 74 % and 89 % on AlexNet's conv2).
MU_PRUNING = [0.0, 0.25, 0.5, 0.74, 0.89]
#: Feature-compression ratios (Mu et al. §I: 6.5 % and 0.2 % on AlexNet's fc1 output).
MU_COMPRESSION = [1.0, 0.25, 0.065, 0.002]


def _mu_accuracy(model: dict[str, Any], max_drop: float) -> dict[str, Any]:
    """Pruning of every layer with parameters, compression of every tensor, and their drops.

    Mu et al. §I measured on AlexNet: pruning conv2 by 74 % loses 2 % accuracy and by 89 % loses
    5 %; compressing fc1's output to 6.5 % loses at most 2 %, to 0.2 % about 7 %. Fitted through
    those two points each: ``drop(r) = 0.089 r^4.96`` for pruning and
    ``drop(c) = 0.00433 (-ln c)^1.524`` for compression, and applied to every weighted layer and
    every tensor alike (Mu et al. give one measurement of each). These weights are this
    generator's assumption anchored on those figures, not a measured predictor; ``jqodi
    fit-accuracy`` fits real ones from measurements.
    """
    layers = model["layers"]
    terms: list[dict[str, Any]] = []
    prunable = [layer["name"] for layer in layers if layer["params"] > 0]
    for name in prunable:
        for r in MU_PRUNING[1:]:
            terms.append({"layer": name, "pruning": r, "drop": _round(0.089 * r**4.96)})
    for tensor in ["input", *(layer["name"] for layer in layers)]:
        for c in MU_COMPRESSION[1:]:
            terms.append({"tensor": tensor, "compression": c,
                          "drop": _round(0.00433 * (-math.log(c)) ** 1.524)})  # fmt: skip
    return {
        "pruning": {"ratios": MU_PRUNING, "layers": prunable},
        "compression": {"ratios": MU_COMPRESSION},
        "accuracy": {"max_drop": max_drop, "terms": terms},
    }
