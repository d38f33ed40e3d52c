"""Hypothesis strategies: small random instances that brute force can still check."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from jqodi_opt import Instance, compile_problem
from jqodi_opt.read import build_instance


def _positive(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Log-uniform positive floats in [lo, hi]."""
    return st.floats(np.log10(lo), np.log10(hi)).map(lambda e: float(10.0**e))


@st.composite
def instance_documents(
    draw: st.DrawFn,
    max_models: int = 2,
    max_bits: int = 2,
    max_servers: int = 3,
    max_epochs: int = 15,
    tightness: float | None = None,
) -> dict[str, Any]:
    """A small ``jqodi-instance/1`` document: 1–``max_models`` models of 1–3 blocks, 2–4 cuts,
    1–``max_servers`` edge servers, 1–``max_bits`` bit-widths, ``K <= max_epochs`` (epochs form),
    and a time limit placed between the fastest plan (tightness 0) and the slowest one (1), or a
    little outside that range so that some instances are infeasible.
    """
    n_servers = draw(st.integers(1, max_servers))
    servers = [
        {
            "name": f"es{x}",
            "speed_flops": draw(_positive(1e11, 1e13)),
            "energy_per_flop": draw(_positive(1e-12, 1e-9)),
            "cloud_rate_bps": draw(_positive(1e8, 1e10)),
            "cloud_energy_per_bit": draw(_positive(1e-10, 1e-8)),
        }
        for x in range(n_servers)
    ]
    links = [
        {"edge_server": s["name"], "rate_bps": draw(_positive(1e6, 1e8)),
         "energy_per_bit": draw(_positive(1e-9, 1e-7))}
        for s in servers
    ]  # fmt: skip
    bit_choices = draw(
        st.lists(st.sampled_from([2, 4, 8, 32]), min_size=1, max_size=max_bits, unique=True)
    )
    models = []
    learning = []
    for a in range(draw(st.integers(1, max_models))):
        n_blocks = draw(st.integers(1, 3))
        blocks = [
            {"name": f"b{i}", "flops": draw(_positive(1e5, 1e8)),
             "params": draw(_positive(1e3, 1e6))}
            for i in range(n_blocks)
        ]  # fmt: skip
        n_cuts = draw(st.integers(min(2, n_blocks + 1), min(4, n_blocks + 1)))
        cuts = sorted(draw(st.permutations(range(n_blocks + 1)))[:n_cuts])
        models.append(
            {"name": f"m{a}", "loss": 0.01, "cloud_flops": draw(_positive(1e6, 1e9)),
             "blocks": blocks, "cuts": cuts}
        )  # fmt: skip
        for bits in bit_choices:
            robust = draw(st.integers(1, max_epochs))
            expected = draw(st.integers(1, robust))
            learning.append(
                {"model": f"m{a}", "bits": bits, "epochs": {"expected": expected, "robust": robust}}
            )
    document: dict[str, Any] = {
        "format": "jqodi-instance/1",
        "name": "random",
        "cloud": {"speed_flops": 1e13, "energy_per_flop": draw(_positive(1e-12, 1e-10))},
        "edge_servers": servers,
        "device": {"name": "sd", "speed_flops": draw(_positive(1e9, 1e11)),
                   "energy_per_flop": draw(_positive(1e-12, 1e-10)), "train_samples": 100},
        "links": links,
        "bitwidths": [{"bits": b} for b in bit_choices],
        "models": models,
        "learning": learning,
        "limits": {"time_s": 1.0, "loss": 0.02},
    }  # fmt: skip
    # Place T_max between the fastest plan and the slowest single-option plan.
    problem = compile_problem(build_instance(document))
    fastest = min(c.min_time_s for c in problem.candidates)
    slowest = max(c.quantize_time_s + c.epochs * c.option_time_s.max() for c in problem.candidates)
    levels = st.one_of(st.floats(0.0, 1.0), st.sampled_from([-0.05, 0.0, 1.0, 1.05]))
    level = tightness if tightness is not None else draw(levels)
    document["limits"]["time_s"] = max(fastest + level * (slowest - fastest), 1e-6)
    return document


def small_instances(**kwargs: Any) -> st.SearchStrategy[Instance]:
    """Validated small instances (see :func:`instance_documents`)."""
    return instance_documents(**kwargs).map(build_instance)
