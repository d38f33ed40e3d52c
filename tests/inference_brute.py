"""Small random inference instances and brute force over plans, for the heuristic and baseline
tests (independent of the solvers under test: every plan is enumerated and checked with
``assignment_violations``)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from jqodi_opt.inference.problem import (
    Assignment,
    InferenceProblem,
    assignment_violations,
    compile_inference,
)
from jqodi_opt.inference.read import build_inference
from jqodi_opt.inference.solvers.baselines import measures, objective_weights
from jqodi_opt.inference.solvers.objectives import Payoff


def random_document(
    seed: int,
    layers: int = 3,
    servers: int = 2,
    dag: bool = False,
    knobs: bool = True,
    objective: str | None = None,
) -> dict[str, Any]:
    """A random ``jqodi-inference/1`` document: a device and ``servers - 1`` others, a chain (or a
    DAG whose layers may also read the input or any earlier layer), every knob on when ``knobs``."""
    rng = np.random.default_rng(seed)
    names = [f"l{i}" for i in range(layers)]
    model_layers = []
    for i, name in enumerate(names):
        entry: dict[str, Any] = {
            "name": name,
            "flops": float(rng.uniform(1e7, 1e9)),
            "params": int(rng.integers(100, 100_000)),
            "output_bytes": int(rng.integers(10, 20_000)),
        }
        if dag and i > 0:
            earlier = ["input", *names[:i]]
            picks = rng.choice(
                len(earlier), size=min(len(earlier), int(rng.integers(1, 3))), replace=False
            )
            entry["inputs"] = sorted({earlier[p] for p in picks} | {names[i - 1]})
        model_layers.append(entry)
    server_docs = [
        {
            "name": "dev",
            "tier": "device",
            "speed_flops": float(rng.uniform(1e8, 1e10)),
            "power_w": float(rng.uniform(1, 10)),
            "speedup": {"8": 2.0},
        }
    ]
    for k in range(1, servers):
        server_docs.append(
            {
                "name": f"s{k}",
                "tier": "edge" if k == 1 else "cloud",
                "speed_flops": float(rng.uniform(1e10, 1e12)),
                "power_w": float(rng.uniform(20, 300)),
            }
        )
    links = [
        {
            "between": ["dev", f"s{k}"],
            "rate_bps": float(10 ** rng.uniform(5, 8)),
            "latency_s": float(rng.uniform(0, 0.01)),
            "energy_per_bit": float(rng.uniform(1e-8, 1e-6)),
        }
        for k in range(1, servers)
    ]
    doc: dict[str, Any] = {
        "format": "jqodi-inference/1",
        "name": f"random-{seed}",
        "servers": server_docs,
        "links": links,
        "model": {
            "name": "m",
            "input_bytes": int(rng.integers(1000, 50_000)),
            "layers": model_layers,
        },
        "objective": objective or str(rng.choice(["latency", "energy", "device-energy"])),
    }
    if knobs:
        doc["quantization"] = {"bits": [32, 8]}
        doc["pruning"] = {"ratios": [0, 0.5]}
        doc["compression"] = {"ratios": [1, 0.25]}
        terms = []
        for name in names:
            terms.append({"layer": name, "pruning": 0.5, "drop": float(rng.uniform(0, 0.01))})
            terms.append({"layer": name, "bits": 8, "drop": float(rng.uniform(0, 0.006))})
        for tensor in ["input", *names]:
            terms.append(
                {"tensor": tensor, "compression": 0.25, "drop": float(rng.uniform(0, 0.01))}
            )
        pairs = {
            tuple(sorted(int(x) for x in rng.choice(len(terms), 2, replace=False)))
            for _ in range(3)
        }
        interactions = [
            {"of": list(pair), "drop": float(rng.uniform(-0.002, 0.004))} for pair in sorted(pairs)
        ]
        doc["accuracy"] = {
            "max_drop": float(rng.uniform(0.005, 0.03)),
            "terms": terms,
            "interactions": interactions,
        }
    return doc


def random_problem(seed: int, **kwargs: Any) -> InferenceProblem:
    """:func:`random_document` compiled."""
    return compile_inference(build_inference(random_document(seed, **kwargs)))


def problem_of(document: dict[str, Any]) -> InferenceProblem:
    """A document compiled."""
    return compile_inference(build_inference(document))


def all_assignments(
    problem: InferenceProblem,
    placements: Iterator[np.ndarray] | None = None,
    bits: bool = True,
    pruning: bool = True,
    compression: bool = True,
) -> Iterator[Assignment]:
    """Every assignment (placements given, or all), each knob enumerated or held at its default."""
    n, t = problem.num_layers, problem.num_tensors
    b32 = problem.bits32
    r0 = int(np.flatnonzero(problem.pruning == 0.0)[0])
    ones = np.flatnonzero(problem.compression == 1.0)
    c1 = int(ones[0]) if len(ones) else 0
    if placements is None:
        placements = (np.array(p) for p in itertools.product(range(problem.num_servers), repeat=n))
    bit_sets = itertools.product(range(len(problem.bits)), repeat=n) if bits else [(b32,) * n]
    bit_list = [np.array(b) for b in bit_sets]
    prune_sets = (
        itertools.product(range(len(problem.pruning)), repeat=n) if pruning else [(r0,) * n]
    )
    prune_list = [np.array(r) for r in prune_sets]
    comp_sets = (
        itertools.product(range(len(problem.compression)), repeat=t) if compression else [(c1,) * t]
    )
    comp_list = [np.array(c) for c in comp_sets]
    for server in placements:
        for b in bit_list:
            for r in prune_list:
                for c in comp_list:
                    yield Assignment(np.asarray(server), b, r, c)


def brute_force(
    problem: InferenceProblem,
    assignments: Iterator[Assignment],
    payoff: Payoff | None = None,
    accept: Callable[[Assignment], bool] | None = None,
) -> tuple[float, Assignment] | None:
    """The least objective value among the feasible ``assignments`` (None: none feasible)."""
    weights, offset = objective_weights(problem, payoff)
    best: tuple[float, Assignment] | None = None
    for a in assignments:
        if accept is not None and not accept(a):
            continue
        with np.errstate(invalid="ignore"):  # 0 * inf where a link is missing
            value = float(weights @ measures(problem, a)) - offset
        if not np.isfinite(value):
            continue
        if best is not None and value >= best[0]:
            continue
        if assignment_violations(problem, a):
            continue
        best = (value, a)
    return best


def single_cut_placements(problem: InferenceProblem) -> Iterator[np.ndarray]:
    """Every topological-prefix cut to every non-device server (and all-local)."""
    n, dev = problem.num_layers, problem.device
    yield np.full(n, dev)
    for s in range(problem.num_servers):
        if s == dev:
            continue
        for cut in range(n):
            placement = np.full(n, s)
            placement[:cut] = dev
            yield placement
