"""Random instances for tests and benchmarks: three families, seeded, byte-for-byte reproducible.

Families
--------
``paper-like``
    Devices, links and layer profiles drawn around the paper's testbed (§V): a Raspberry Pi 5 as the
    device, RTX-class GPUs as edge servers, an A100 as the cloud, Wi-Fi between device and edge,
    small CNNs on 32×32×3 images cut between blocks; power-law learning curves (expected, robust)
    with a noisy ``truth`` curve, epochs per bit-width shaped like the paper's Tables VI–VII.
``tradeoff``
    Every option of a candidate lies on one line ``e = C_c − β·t`` (β > 0): faster is always
    dearer and no option is dominated — the strongly correlated multiple-choice knapsack, where
    minimizing energy means filling the time budget as exactly as possible. The parameters are
    built so that the cost model of SPEC §1.1 gives that line exactly (see :func:`_tradeoff`); the
    result is checked with :meth:`~jqodi_opt.finetune.problem.Candidate.pareto_options`.
``uncorrelated``
    Speeds, energies and rates drawn independently over wide ranges: option costs are unrelated and
    many options are dominated.

Size knobs: ``models``, ``bitwidths`` (candidates = models × bit-widths), ``blocks`` per model,
``cuts`` offered per model (evenly spread over ``0..blocks``; default all), ``edge_servers``
(options per candidate = edge servers × cuts) and ``epochs`` (the typical ``K``). ``tightness`` in
[0, 1] places ``T_max`` between the time of the fastest plan (0) and the time of the least-energy
plan (1), both computed from the compiled problem.

The same arguments give the same document (a seeded :class:`numpy.random.Generator`, no clock, no
global state), hence the same file and the same :func:`instance_hash`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from jqodi_opt.finetune.instance import FORMAT, Instance
from jqodi_opt.finetune.problem import Problem, compile_problem
from jqodi_opt.read import build_instance, write_json_atomic

FAMILIES = ("paper-like", "tradeoff", "uncorrelated")

#: Bumped whenever the same arguments would give a different document.
GENERATOR_VERSION = 1

# Bit-widths in the order they are taken: the paper's {2, 4, 6, 8} first, then the rest.
_BIT_ORDER = [8, 4, 6, 2, 32, 16, 1, 3, 5, 12, 10, 7, 24, 14, 20, 28]
_BIT_ORDER += [b for b in range(1, 33) if b not in _BIT_ORDER]


@dataclass(frozen=True)
class Sizes:
    """The size knobs of a generated instance.

    Attributes
    ----------
    models, bitwidths
        Number of models and of bit-widths; candidates = models × bit-widths.
    blocks
        Blocks per model (cut points ``0..blocks``).
    cuts
        Cuts offered per model, spread evenly over ``0..blocks``; None: all ``blocks + 1``.
    edge_servers
        Number of edge servers (each with a link to the device).
    epochs
        The typical number of epochs ``K`` (for ``paper-like``: that of an 8-bit model).
    """

    models: int
    bitwidths: int
    blocks: int
    cuts: int | None
    edge_servers: int
    epochs: int

    @property
    def num_cuts(self) -> int:
        """Cuts per model actually offered."""
        return self.blocks + 1 if self.cuts is None else self.cuts

    @property
    def options(self) -> int:
        """Options per candidate: edge servers × cuts."""
        return self.edge_servers * self.num_cuts

    @property
    def candidates(self) -> int:
        """(model, bits) pairs: models × bit-widths (some may turn out infeasible)."""
        return self.models * self.bitwidths

    def check(self) -> None:
        """Refuses sizes that cannot be built, with a short message."""
        for knob in ("models", "bitwidths", "blocks", "edge_servers", "epochs"):
            if getattr(self, knob) < 1:
                raise ValueError(f"{knob} = {getattr(self, knob)} not understood (must be >= 1).")
        if self.bitwidths > 32:
            raise ValueError(f"bitwidths = {self.bitwidths} not understood (at most 32: 1..32).")
        if self.cuts is not None and not 1 <= self.cuts <= self.blocks + 1:
            raise ValueError(
                f"cuts = {self.cuts} not understood (1..blocks+1 = {self.blocks + 1})."
            )


#: Default sizes per family.
DEFAULT_SIZES: dict[str, Sizes] = {
    "paper-like": Sizes(models=3, bitwidths=4, blocks=4, cuts=None, edge_servers=2, epochs=40),
    "tradeoff": Sizes(models=2, bitwidths=2, blocks=5, cuts=None, edge_servers=4, epochs=20),
    "uncorrelated": Sizes(models=2, bitwidths=2, blocks=5, cuts=None, edge_servers=4, epochs=20),
}


def resolve_sizes(family: str, **knobs: int | None) -> Sizes:
    """The family's default sizes with the knobs that are not None put in, checked."""
    if family not in FAMILIES:
        raise ValueError(f"family {family!r} not understood; choose from {', '.join(FAMILIES)}.")
    given = {k: v for k, v in knobs.items() if v is not None}
    sizes = replace(DEFAULT_SIZES[family], **given)
    sizes.check()
    return sizes


def generate_document(
    family: str,
    *,
    seed: int,
    models: int | None = None,
    bitwidths: int | None = None,
    blocks: int | None = None,
    cuts: int | None = None,
    edge_servers: int | None = None,
    epochs: int | None = None,
    tightness: float = 0.5,
    name: str | None = None,
) -> dict[str, Any]:
    """A random ``jqodi-instance/1`` document (a JSON-ready dict), validated.

    Parameters
    ----------
    family
        ``paper-like``, ``tradeoff`` or ``uncorrelated``.
    seed
        Seed of the random generator; the same arguments give the same document.
    models, bitwidths, blocks, cuts, edge_servers, epochs
        Size knobs (None: the family default, :data:`DEFAULT_SIZES`).
    tightness
        In [0, 1]: ``T_max`` from the fastest plan's time (0) to the least-energy plan's time (1).
    name
        Instance name (default: family, sizes and seed).
    """
    if not 0.0 <= tightness <= 1.0:
        raise ValueError(f"tightness = {tightness} not understood (must be in [0, 1]).")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed = {seed!r} not understood (an integer >= 0).")
    sizes = resolve_sizes(
        family, models=models, bitwidths=bitwidths, blocks=blocks, cuts=cuts,
        edge_servers=edge_servers, epochs=epochs,
    )  # fmt: skip
    # One stream per (family, seed); the family name is mixed in so families do not share draws.
    family_key = int.from_bytes(hashlib.sha256(family.encode()).digest()[:4], "little")
    rng = np.random.default_rng([int(seed), family_key, GENERATOR_VERSION])
    label = name or default_name(family, sizes, int(seed), tightness)
    build = {"paper-like": _paper_like, "tradeoff": _tradeoff, "uncorrelated": _uncorrelated}
    for _attempt in range(20):
        document = build[family](rng, sizes)
        document = {"format": FORMAT, "name": label, "description": _describe(family, sizes)} | {
            k: v for k, v in document.items() if k not in ("format", "name")
        }
        problem = compile_problem(build_instance(document, source=label))
        if not problem.candidates:
            continue  # every pair unreachable (paper-like, rare): draw again
        if family == "tradeoff" and not _all_undominated(problem):
            continue  # floating-point near-ties made an option look dominated: draw again
        document["limits"]["time_s"] = time_limit_for(problem, tightness)
        build_instance(document, source=label)  # the final document passes validation too
        return document
    raise RuntimeError(f"could not draw a valid {family} instance in 20 attempts (seed {seed}).")


def generate(family: str, *, seed: int, **knobs: Any) -> Instance:
    """A random validated :class:`~jqodi_opt.finetune.instance.Instance`; see
    :func:`generate_document`."""
    document = generate_document(family, seed=seed, **knobs)
    return build_instance(document, source=str(document["name"]))


def write_document(document: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Writes a generated document as indented JSON (the same document, the same bytes)."""
    write_json_atomic(document, path)


def canonical_json(document: Any) -> str:
    """Compact JSON with sorted keys: equal documents give equal strings."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False)


def instance_hash(document: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of an instance document."""
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def default_name(family: str, sizes: Sizes, seed: int, tightness: float) -> str:
    """E.g. ``tradeoff-m2q2b5c6x4k20-t0.5-s1``."""
    return (
        f"{family}-m{sizes.models}q{sizes.bitwidths}b{sizes.blocks}c{sizes.num_cuts}"
        f"x{sizes.edge_servers}k{sizes.epochs}-t{tightness:g}-s{seed}"
    )


def _describe(family: str, sizes: Sizes) -> str:
    knobs = ", ".join(f"{k}={v}" for k, v in asdict(sizes).items() if v is not None)
    return (
        f"generated by jqodi_opt.finetune.generate (v{GENERATOR_VERSION}): family {family}, {knobs}"
    )


# --------------------------------------------------------------------------------------------------
# T_max from tightness
# --------------------------------------------------------------------------------------------------


def plan_time_range(problem: Problem) -> tuple[float, float]:
    """(time of the fastest plan, time of the least-energy plan) of a compiled problem.

    The fastest plan is ``min_c tau_c + K_c * min_o t[c, o]``. The least-energy plan ignores the
    time limit: the candidate with the least ``E_c + K_c * min_o e[c, o]``, every epoch on its
    least-energy option (the fastest of those, on ties).
    """
    if not problem.candidates:
        raise ValueError("the problem has no candidate.")
    fastest = min(c.min_time_s for c in problem.candidates)
    cheapest = min(problem.candidates, key=lambda c: c.min_energy_j)
    least = cheapest.option_energy_j.min()
    ties = np.flatnonzero(cheapest.option_energy_j == least)
    option_time = float(cheapest.option_time_s[ties].min())
    return fastest, cheapest.quantize_time_s + cheapest.epochs * option_time


def time_limit_for(problem: Problem, tightness: float) -> float:
    """``T_max = fastest + tightness * (least_energy_time - fastest)`` (at 0: exactly fastest)."""
    fastest, slowest = plan_time_range(problem)
    if tightness <= 0.0:
        return float(fastest)
    return float(fastest + tightness * max(0.0, slowest - fastest))


def _all_undominated(problem: Problem) -> bool:
    return all(len(c.pareto_options()) == c.num_options for c in problem.candidates)


# --------------------------------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------------------------------


def _sig(value: float, digits: int = 6) -> float:
    """``value`` rounded to ``digits`` significant digits (readable files)."""
    return float(f"{value:.{digits}g}")


def _log_uniform(rng: np.random.Generator, low: float, high: float, size: int | None = None) -> Any:
    return np.exp(rng.uniform(math.log(low), math.log(high), size))


def _bit_list(count: int) -> list[int]:
    return sorted(_BIT_ORDER[:count])


def _cut_list(sizes: Sizes) -> list[int] | None:
    if sizes.cuts is None:
        return None
    if sizes.cuts == 1:
        return [sizes.blocks]
    cuts = np.unique(np.round(np.linspace(0, sizes.blocks, sizes.cuts)).astype(int))
    return [int(c) for c in cuts]


def _model_entry(
    name: str, loss: float, cloud_flops: float, blocks: list[tuple[float, float]], sizes: Sizes
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name,
        "loss": loss,
        "cloud_flops": cloud_flops,
        "blocks": [
            {"name": f"b{i + 1}", "flops": flops, "params": params}
            for i, (flops, params) in enumerate(blocks)
        ],
    }
    cuts = _cut_list(sizes)
    if cuts is not None:
        entry["cuts"] = cuts
    return entry


def _epochs_learning(
    rng: np.random.Generator, models: list[str], bits: list[int], epochs: int
) -> tuple[list[dict[str, Any]], int]:
    """``epochs``-form learning entries with ``K_robust`` within ±5 % of ``epochs``."""
    learning = []
    largest = 1
    for model in models:
        for q in bits:
            robust = max(1, round(epochs * rng.uniform(0.95, 1.05)))
            expected = max(1, min(robust, round(robust * rng.uniform(0.85, 1.0))))
            truth = max(1, round(expected * rng.uniform(0.9, 1.1)))
            largest = max(largest, robust)
            learning.append(
                {"model": model, "bits": q, "epochs": {"expected": expected, "robust": robust},
                 "truth": truth}
            )  # fmt: skip
    return learning, largest


def _document(
    largest: int,
    cloud: dict[str, Any],
    servers: list[dict[str, Any]],
    device: dict[str, Any],
    links: list[dict[str, Any]],
    bits: list[int],
    models: list[dict[str, Any]],
    learning: list[dict[str, Any]],
    loss: float,
) -> dict[str, Any]:
    """A family's parts as an instance body (``T_max`` is placed later from the compiled problem);
    ``max_epochs`` is raised when some robust estimate may need more than the default allows."""
    max_epochs = {"max_epochs": max(10_000, 2 * largest)} if largest > 5_000 else {}
    return {
        **max_epochs,
        "cloud": cloud,
        "edge_servers": servers,
        "device": device,
        "links": links,
        "bitwidths": [{"bits": q} for q in bits],
        "models": models,
        "learning": learning,
        "limits": {"time_s": 1.0, "loss": loss},
    }


# --------------------------------------------------------------------------------------------------
# paper-like
# --------------------------------------------------------------------------------------------------

# Edge GPUs: (name, peak FP32 FLOP/s, rated W). Training reaches a fraction of peak.
_EDGE_GPUS = [
    ("rtx3090", 35.6e12, 350.0),
    ("rtx4090", 82.6e12, 450.0),
    ("gtx1080", 8.9e12, 180.0),
    ("rtx3080", 29.8e12, 320.0),
    ("a4000", 19.2e12, 140.0),
]


def _cnn_blocks(rng: np.random.Generator, n: int) -> list[tuple[float, float]]:
    """Per-sample (FLOP, params) of ``n`` blocks of a small CNN on 32×32×3 images.

    Blocks ``1..n-1`` are 3×3 convolutions (one or two layers, with 2×2 max-pooling while the map
    is larger than 4×4); block ``n`` is the classifier head (FC 1024 + 10-way output), as the
    LeNet-like and VGG-like networks of the paper (§V-A footnotes 3–6).
    """
    side, channels = 32, 3
    width = int(rng.choice([16, 32, 64, 128]))
    blocks: list[tuple[float, float]] = []
    for i in range(n - 1):
        flops = params = 0.0
        for _layer in range(int(rng.integers(1, 3))):
            flops += 2.0 * side * side * width * channels * 9
            params += width * (channels * 9 + 1)
            channels = width
        if side > 4 and (i < 3 or rng.random() < 0.5):
            side //= 2
        blocks.append((flops, params))
        if rng.random() < 0.5:
            width = min(512, width * 2)
    features = side * side * channels
    head_flops = 2.0 * (features * 1024 + 1024 * 10)
    head_params = features * 1024 + 1024 + 1024 * 10 + 10
    if n == 1:  # one block: a single conv layer and the head together
        head_flops += 2.0 * 32 * 32 * width * 3 * 9
        head_params += width * 28
    blocks.append((head_flops, float(head_params)))
    return blocks


def _epoch_factor(bits: int) -> float:
    """Epochs at ``bits`` relative to 8 bits (Tables VI–VII: ×1.3 at 6, ×1.6 at 4, ×4 at 2)."""
    return 0.8 + 0.2 * (8.0 / bits) ** 2


def _paper_like(rng: np.random.Generator, sizes: Sizes) -> dict[str, Any]:
    # Raspberry Pi 5: a few 10^10 FLOP/s when training, 5-12 W.
    # Drawn around the calibration of instances/paper (README there): effective speeds far below
    # peak, energy per FLOP = a share of the rated power / speed, the device cheaper per FLOP than
    # a GPU most of the time (the paper's Observation 3), but not always.
    sd_speed = _sig(rng.uniform(1.0e10, 2.0e10))
    sd_power = 12.0 * rng.uniform(0.5, 0.9)  # rated 12 W (Table II)
    samples = int(rng.choice([2000, 5000]))  # Data 1 / Data 2
    device = {
        "name": "pi5",
        "speed_flops": sd_speed,
        "energy_per_flop": _sig(sd_power / sd_speed),
        "train_samples": samples,
    }
    # A100 cloud: 19.5 TFLOP/s FP32 peak, 400 W rated.
    cs_speed = _sig(19.5e12 * rng.uniform(0.02, 0.08))
    cloud = {
        "speed_flops": cs_speed,
        "energy_per_flop": _sig(400.0 * rng.uniform(0.6, 1.0) / cs_speed),
    }
    servers, links = [], []
    for x in range(sizes.edge_servers):
        gpu, peak, rated = _EDGE_GPUS[int(rng.integers(len(_EDGE_GPUS)))]
        # Small CNN batches use well under 1-2 % of a big GPU, which still draws most of its
        # rated power: per FLOP it usually costs more than the Pi.
        speed = _sig(peak * _log_uniform(rng, 0.002, 0.01))
        name = f"{gpu}-{x + 1}"
        servers.append(
            {
                "name": name,
                "speed_flops": speed,
                "energy_per_flop": _sig(rated * rng.uniform(0.7, 1.0) / speed),
                "cloud_rate_bps": _sig(_log_uniform(rng, 1.0e8, 1.0e9)),
                "cloud_energy_per_bit": _sig(_log_uniform(rng, 5.0e-9, 5.0e-8)),
            }
        )
        # Wi-Fi: 10/20/40 MHz channels, 5-20 dB SNR, 50-200 nJ/bit.
        links.append(
            {
                "edge_server": name,
                "bandwidth_hz": float(rng.choice([1.0e7, 2.0e7, 4.0e7])),
                "snr_db": _sig(rng.uniform(5.0, 20.0), 4),
                "energy_per_bit": _sig(_log_uniform(rng, 5.0e-8, 2.0e-7)),
            }
        )
    bits = _bit_list(sizes.bitwidths)
    loss_max = _sig(rng.uniform(0.017, 0.021), 4)
    models, learning = [], []
    largest = 1
    for a in range(sizes.models):
        name = f"cnn{a + 1}"
        blocks = _cnn_blocks(rng, sizes.blocks)
        work = sum(f for f, _ in blocks)
        loss = _sig(loss_max * rng.uniform(0.8, 1.0), 4)
        # The cloud's update of the full-precision model: a fraction of one epoch's training work.
        cloud_flops = _sig(3.0 * work * samples * rng.uniform(0.02, 0.1))
        models.append(_model_entry(name, loss, cloud_flops, blocks, sizes))
        pace = rng.uniform(0.8, 1.5)  # how fast this model learns the device's data
        for q in bits:
            if q <= 2 and rng.random() < 0.2:  # as 2-bit ResNet20 in the paper: never converges
                learning.append({"model": name, "bits": q, "infeasible": True})
                continue
            k_exp = max(2, round(sizes.epochs * pace * _epoch_factor(q) * rng.lognormal(0, 0.1)))
            k_rob = max(k_exp + 1, round(k_exp * rng.uniform(1.03, 1.12)))
            k_true = max(1, round(k_exp * rng.lognormal(0.0, 0.05)))
            start = loss_max * (1.0 + rng.uniform(0.2, 0.6) * math.sqrt(8.0 / q))
            gamma_exp = _sig(max(0.0, start - loss), 4)
            gamma_rob = _sig(gamma_exp * rng.uniform(1.05, 1.2), 4)
            floor_exp = _sig(loss_max * rng.uniform(0.5, 0.85), 4)
            floor_rob = _sig(min(floor_exp * rng.uniform(1.0, 1.05), 0.95 * loss_max), 4)
            floor_true = _sig(min(floor_exp * rng.uniform(0.97, 1.03), 0.95 * loss_max), 4)

            def exponent(start_loss: float, floor: float, k: int) -> float:
                # L(k) = floor + (L0 - floor)(k+1)^-e reaches loss_max at k (SPEC §1.2).
                ratio = (start_loss - floor) / (loss_max - floor)
                return _sig(max(1e-3, math.log(ratio) / math.log(k + 1.0)) * 1.0001, 6)

            l0_exp, l0_rob = loss + gamma_exp, loss + gamma_rob
            expected = {"floor": floor_exp, "exponent": exponent(l0_exp, floor_exp, k_exp)}
            robust = {"floor": floor_rob, "exponent": exponent(l0_rob, floor_rob, k_rob)}
            truth = {"floor": floor_true, "exponent": exponent(l0_exp, floor_true, k_true)}
            largest = max(largest, 2 * k_rob)
            learning.append(
                {
                    "model": name,
                    "bits": q,
                    "gamma": {"expected": gamma_exp, "robust": gamma_rob},
                    "power_law": {"expected": expected, "robust": robust},
                    "truth": truth,
                }
            )  # fmt: skip
    return _document(largest, cloud, servers, device, links, bits, models, learning, loss_max)


# --------------------------------------------------------------------------------------------------
# tradeoff
# --------------------------------------------------------------------------------------------------


def _tradeoff(rng: np.random.Generator, sizes: Sizes) -> dict[str, Any]:
    """All options of candidate ``c`` on the line ``e = C_c - beta * t``.

    With ``t`` and ``e`` of SPEC §1.1, choose a slope ``beta`` (J/s) and

    * per block ``params_i = rho * flops_i`` (one ``rho`` for all models), so that
      ``G_sd(j) = ratio * D_sd(j)`` with ``ratio = 32 rho / (samples * training_factor)`` at every
      bit-width (``compute_scale = bits/32``);
    * ``eps_x = kappa - beta / v_x`` for every edge server, ``eps_cx = mu - beta / r_cx``,
      ``eps_link = c_l - beta / r_x``, and ``eps_sd = kappa - beta / v_sd - 2 ratio c_l``.

    Then ``e = kappa D + F eps_cs + 2 G mu + beta F / v_cs - beta * t``: the same line for every
    (edge server, cut) of a candidate, with ``kappa``, ``mu``, ``c_l`` just large enough to keep
    every energy positive. Faster options use more of the fast, dear edge servers.
    """
    beta = _sig(rng.uniform(50.0, 200.0))  # J per second saved
    samples = int(rng.choice([2000, 5000]))
    training_factor = 3.0
    rho = _sig(_log_uniform(rng, 1.0e-3, 1.0e-2))
    ratio = 32.0 * rho / (samples * training_factor)
    sd_speed = _sig(rng.uniform(1.0e10, 3.0e10))
    speeds = [_sig(v) for v in _log_uniform(rng, 2.0e11, 2.0e13, sizes.edge_servers)]
    cloud_rates = [_sig(r) for r in _log_uniform(rng, 1.0e9, 1.0e10, sizes.edge_servers)]
    link_rates = [_sig(r) for r in _log_uniform(rng, 5.0e7, 5.0e8, sizes.edge_servers)]
    mu = beta / min(cloud_rates)
    c_l = beta / min(link_rates)
    margin = rng.uniform(0.02, 0.3)
    kappa = max(beta / min(speeds), beta / sd_speed + 2.0 * ratio * c_l) * (1.0 + margin)
    cs_speed = _sig(rng.uniform(5.0e12, 1.0e13))
    cloud = {"speed_flops": cs_speed, "energy_per_flop": _sig(rng.uniform(2.0e-11, 6.0e-11))}
    device = {
        "name": "sd",
        "speed_flops": sd_speed,
        "energy_per_flop": kappa - beta / sd_speed - 2.0 * ratio * c_l,
        "train_samples": samples,
    }
    servers, links = [], []
    for x in range(sizes.edge_servers):
        name = f"es{x + 1}"
        servers.append(
            {
                "name": name,
                "speed_flops": speeds[x],
                "energy_per_flop": kappa - beta / speeds[x],
                "cloud_rate_bps": cloud_rates[x],
                "cloud_energy_per_bit": mu - beta / cloud_rates[x],
            }
        )
        links.append(
            {"edge_server": name, "rate_bps": link_rates[x],
             "energy_per_bit": c_l - beta / link_rates[x]}
        )  # fmt: skip
    bits = _bit_list(sizes.bitwidths)
    models = []
    for a in range(sizes.models):
        flops = [_sig(f) for f in _log_uniform(rng, 1.0e6, 5.0e7, sizes.blocks)]
        blocks = [(f, rho * f) for f in flops]
        cloud_flops = _sig(3.0 * sum(flops) * rng.uniform(5, 20))
        models.append(_model_entry(f"m{a + 1}", 0.018, cloud_flops, blocks, sizes))
    learning, largest = _epochs_learning(rng, [m["name"] for m in models], bits, sizes.epochs)
    return _document(largest, cloud, servers, device, links, bits, models, learning, 0.02)


# --------------------------------------------------------------------------------------------------
# uncorrelated
# --------------------------------------------------------------------------------------------------


def _uncorrelated(rng: np.random.Generator, sizes: Sizes) -> dict[str, Any]:
    """Speeds, energies and rates drawn independently: unrelated option costs, many dominated."""
    cloud = {
        "speed_flops": _sig(_log_uniform(rng, 2.0e12, 2.0e13)),
        "energy_per_flop": _sig(_log_uniform(rng, 1.0e-11, 1.0e-10)),
    }
    device = {
        "name": "sd",
        "speed_flops": _sig(_log_uniform(rng, 5.0e9, 5.0e10)),
        "energy_per_flop": _sig(_log_uniform(rng, 5.0e-11, 1.0e-9)),
        "train_samples": int(rng.integers(1000, 6001)),
    }
    servers, links = [], []
    for x in range(sizes.edge_servers):
        name = f"es{x + 1}"
        servers.append(
            {
                "name": name,
                "speed_flops": _sig(_log_uniform(rng, 1.0e11, 2.0e13)),
                "energy_per_flop": _sig(_log_uniform(rng, 1.0e-11, 1.0e-9)),
                "cloud_rate_bps": _sig(_log_uniform(rng, 1.0e8, 1.0e10)),
                "cloud_energy_per_bit": _sig(_log_uniform(rng, 1.0e-10, 1.0e-8)),
            }
        )
        links.append(
            {"edge_server": name, "rate_bps": _sig(_log_uniform(rng, 1.0e7, 1.0e9)),
             "energy_per_bit": _sig(_log_uniform(rng, 1.0e-9, 1.0e-6))}
        )  # fmt: skip
    bits = _bit_list(sizes.bitwidths)
    models = []
    for a in range(sizes.models):
        flops = _log_uniform(rng, 1.0e5, 1.0e8, sizes.blocks)
        params = _log_uniform(rng, 1.0e3, 1.0e6, sizes.blocks)
        blocks = [(_sig(f), _sig(p)) for f, p in zip(flops, params, strict=True)]
        cloud_flops = _sig(3.0 * float(flops.sum()) * rng.uniform(1, 30))
        models.append(_model_entry(f"m{a + 1}", 0.018, cloud_flops, blocks, sizes))
    learning, largest = _epochs_learning(rng, [m["name"] for m in models], bits, sizes.epochs)
    return _document(largest, cloud, servers, device, links, bits, models, learning, 0.02)
