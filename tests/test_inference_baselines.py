"""Inference baselines (SPEC §7.4): hand-solved cuts, exactness over their own sets (brute force),
never better than the full problem's optimum, and DADS's minimum cut."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import numpy as np
import pytest

from jqodi_opt.inference.evaluate import evaluate_inference
from jqodi_opt.inference.plan import make_inference_plan
from jqodi_opt.inference.problem import InferenceProblem, compile_inference
from jqodi_opt.inference.read import build_inference
from jqodi_opt.inference.solvers.baselines import SETS, PlanOutput, solve_cut_set
from jqodi_opt.inference.solvers.dads import run_dads
from jqodi_opt.result import Status

from .inference_brute import (
    all_assignments,
    brute_force,
    problem_of,
    random_document,
    single_cut_placements,
)

# A chain whose tensors shrink layer by layer: input 600 kB, then 400 kB, 100 kB, 1 kB, 400 B.
SIZES = [400_000, 100_000, 1_000, 400]


def shrinking_chain(rate_bps: float) -> dict[str, Any]:
    return {
        "format": "jqodi-inference/1",
        "name": f"shrinking-{rate_bps:g}",
        "servers": [
            {"name": "dev", "tier": "device", "speed_flops": 1e9, "power_w": 5.0},
            {"name": "gpu", "tier": "edge", "speed_flops": 1e12, "power_w": 250.0},
        ],
        "links": [{"between": ["dev", "gpu"], "rate_bps": rate_bps, "energy_per_bit": 1e-7}],
        "model": {
            "name": "shrinking",
            "input_bytes": 600_000,
            "layers": [
                {"name": f"l{i}", "flops": 1e8, "params": 1000, "output_bytes": size}
                for i, size in enumerate(SIZES)
            ],
        },
        "objective": "latency",
    }


def on_device(problem: InferenceProblem, out: PlanOutput) -> int:
    assert out.assignment is not None
    return int((out.assignment.server == problem.device).sum())


@pytest.mark.parametrize(("rate", "cut"), [(1e9, 0), (1e7, 2), (1e6, 3), (1e5, 4)])
def test_neurosurgeon_cut_moves_toward_the_device_as_the_rate_drops(rate, cut) -> None:
    """Cut c: c layers of 0.1 s on the device, 4 - c of 0.1 ms on the server, the tensor at the
    cut (8 x bytes bits) and the 400 B output (when on the server) sent at ``rate``:
    1e9 -> 5.2 ms all on the server; 1e7 -> cut 2 (0.2805 s); 1e6 -> cut 3 (0.3113 s);
    1e5 -> all on the device (0.4 s)."""
    problem = problem_of(shrinking_chain(rate))
    out = solve_cut_set(problem, SETS["neurosurgeon"])
    assert out.status is Status.FEASIBLE and on_device(problem, out) == cut
    tensor_bits = [8 * b for b in [600_000, *SIZES]]
    expected = 0.1 * cut + 1e-4 * (4 - cut)
    if cut < 4:
        expected += (tensor_bits[cut] + 8 * 400) / rate
    assert out.value == pytest.approx(expected, rel=1e-12)
    assert out.stats["restricted_status"] == "optimal"


def test_all_local_and_all_server_are_the_two_ends() -> None:
    problem = problem_of(shrinking_chain(1e7))
    local = solve_cut_set(problem, SETS["all-local"])
    server = solve_cut_set(problem, SETS["all-server"])
    assert local.value == pytest.approx(0.4, rel=1e-12) and on_device(problem, local) == 4
    assert server.value == pytest.approx(4e-4 + (4.8e6 + 3200) / 1e7, rel=1e-12)
    assert on_device(problem, server) == 0


def test_all_server_takes_the_best_single_server() -> None:
    doc = shrinking_chain(1e7)
    doc["servers"].append({"name": "far", "tier": "cloud", "speed_flops": 1e13, "power_w": 400.0})
    doc["links"].append({"between": ["dev", "far"], "rate_bps": 2e7, "energy_per_bit": 1e-7})
    problem = problem_of(doc)
    out = solve_cut_set(problem, SETS["all-server"])
    assert out.assignment is not None
    assert {problem.servers[k] for k in out.assignment.server} == {"far"}
    assert out.value == pytest.approx(4e-5 + (4.8e6 + 3200) / 2e7, rel=1e-12)


def test_memory_limit_forbids_all_local_with_the_reason() -> None:
    doc = shrinking_chain(1e5)
    doc["servers"][0]["memory_bytes"] = 10_000.0  # the model's weights take 16,000 B
    problem = problem_of(doc)
    out = solve_cut_set(problem, SETS["all-local"])
    assert out.status is Status.INFEASIBLE and out.assignment is None
    assert (
        out.reasons[0]
        == "all-local: its only plan, all on the device (the original model), breaks:"
    )
    assert "memory on 'dev': 16000 B exceeds 10000 B" in out.reasons[1]
    # neurosurgeon then keeps at most two layers (8,000 B) on the device
    cut = solve_cut_set(problem, SETS["neurosurgeon"])
    assert cut.status is Status.FEASIBLE and on_device(problem, cut) <= 2


def test_accuracy_budget_forbids_the_cheapest_compression() -> None:
    """At 1e5 bit/s only compression makes offloading pay; ratio 0.01 would be cheapest but drops
    3 % (budget 2 %), so bottlenet cuts at l2 with ratio 0.1 (1 % drop)."""
    doc = shrinking_chain(1e5)
    doc["compression"] = {"ratios": [1, 0.1, 0.01]}
    doc["accuracy"] = {
        "max_drop": 0.02,
        "terms": [
            {"tensor": t, "compression": c, "drop": d}
            for t in ["input", "l0", "l1", "l2", "l3"]
            for c, d in [(0.1, 0.01), (0.01, 0.03)]
        ],
    }
    problem = problem_of(doc)
    out = solve_cut_set(problem, SETS["bottlenet"])
    assert out.assignment is not None
    sent = [
        t
        for t in range(problem.num_tensors)
        if problem.compression[out.assignment.compression[t]] < 1
    ]
    ratios = {float(problem.compression[out.assignment.compression[t]]) for t in sent}
    assert ratios <= {0.1}
    unconstrained = copy.deepcopy(doc)
    unconstrained["accuracy"]["max_drop"] = 1.0
    cheaper = solve_cut_set(problem_of(unconstrained), SETS["bottlenet"])
    assert cheaper.value is not None and out.value is not None and cheaper.value < out.value
    # and it is the best over the set: brute force over every cut and ratio
    best = brute_force(
        problem, all_assignments(problem, single_cut_placements(problem), bits=False, pruning=False)
    )
    assert best is not None and out.value == pytest.approx(best[0], rel=1e-12)


def constrained_document(seed: int) -> dict[str, Any]:
    """A random small instance with binding limits, memory and accuracy budget half of the time."""
    rng = np.random.default_rng(1000 + seed)
    doc = random_document(seed, layers=3, servers=3, dag=bool(seed % 2))
    doc["accuracy"]["max_drop"] = float(rng.uniform(0.0, 0.012))
    weights_bytes = sum(layer["params"] for layer in doc["model"]["layers"]) * 4
    if rng.random() < 0.5:
        doc["servers"][0]["memory_bytes"] = float(rng.uniform(0.2, 1.0) * weights_bytes)
    if rng.random() < 0.4:
        doc["servers"][1]["memory_bytes"] = float(rng.uniform(0.3, 1.0) * weights_bytes)
    if rng.random() < 0.5:
        doc["limits"] = {"latency_s": float(rng.uniform(0.01, 0.3))}
    if rng.random() < 0.3:
        doc.setdefault("limits", {})["device_energy_j"] = float(rng.uniform(0.01, 0.5))
    return doc


FREE = {
    "all-local": {"bits": False, "pruning": False, "compression": False},
    "all-server": {"bits": False, "pruning": False, "compression": False},
    "neurosurgeon": {"bits": False, "pruning": False, "compression": False},
    "prune-partition": {"bits": False, "pruning": True, "compression": False},
    "bottlenet": {"bits": False, "pruning": False, "compression": True},
}


def own_set(problem: InferenceProblem, name: str) -> list[np.ndarray]:
    if name == "all-local":
        return [np.full(problem.num_layers, problem.device)]
    if name == "all-server":
        return [
            np.full(problem.num_layers, k)
            for k in range(problem.num_servers)
            if k != problem.device
        ]
    return list(single_cut_placements(problem))


@pytest.mark.parametrize("seed", range(14))
def test_each_baseline_is_the_optimum_of_its_own_set(seed) -> None:
    """Brute force over each set (every cut, server and free value) with every rule checked."""
    problem = problem_of(constrained_document(seed))
    for name, free in FREE.items():
        out = solve_cut_set(problem, SETS[name])
        best = brute_force(problem, all_assignments(problem, iter(own_set(problem, name)), **free))
        if best is None:
            assert out.status is Status.INFEASIBLE and out.reasons, name
        else:
            assert out.status is Status.FEASIBLE, name
            assert out.value == pytest.approx(best[0], rel=1e-9), name


@pytest.mark.parametrize("seed", range(6))
def test_no_baseline_beats_the_exact_optimum(seed) -> None:
    """Brute force over every plan of the full problem (2 layers, a device and two servers, every
    knob; the baselines' sets are much smaller than the problem's)."""
    doc = random_document(seed, layers=2, servers=3, dag=bool(seed % 2))
    doc["accuracy"]["max_drop"] = 0.004 * (seed % 3)
    problem = problem_of(doc)
    optimum = brute_force(problem, all_assignments(problem))
    assert optimum is not None
    values = {}
    for name in [*FREE, "dads"]:
        out = run_dads(problem) if name == "dads" else solve_cut_set(problem, SETS[name])
        if out.value is not None:
            values[name] = out.value
            assert out.value >= optimum[0] * (1 - 1e-12), name
    assert values["neurosurgeon"] >= values["prune-partition"] * (1 - 1e-12)
    assert values["neurosurgeon"] >= values["bottlenet"] * (1 - 1e-12)


def test_baseline_plans_pass_evaluate() -> None:
    doc = constrained_document(3)
    instance = build_inference(doc)
    problem = compile_inference(instance)
    for name in FREE:
        out = solve_cut_set(problem, SETS[name])
        if out.assignment is None:
            continue
        check = evaluate_inference(instance, make_inference_plan(problem, out.assignment, name))
        assert check.feasible, (name, check.violations)


# --------------------------------------------------------------------------------------------------
# dads
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_dads_equals_neurosurgeon_on_a_chain_for_latency(seed) -> None:
    """On a chain with servers faster than the device and no output returned (DADS's setting), the
    best device + one-server placement for latency is a single cut: moving a device segment that
    follows a server segment to the server saves compute and sends. (With the output returned, a
    last layer back on the device can pay: its input may be smaller than its output.)"""
    doc = random_document(seed, layers=5, servers=3, objective="latency")
    doc["return_output"] = False
    problem = problem_of(doc)
    dads = run_dads(problem)
    neurosurgeon = solve_cut_set(problem, SETS["neurosurgeon"])
    assert dads.value == pytest.approx(neurosurgeon.value, rel=1e-9)


def device_and_one_server(problem: InferenceProblem) -> list[np.ndarray]:
    return [
        np.array(p)
        for s in range(problem.num_servers)
        if s != problem.device
        for p in itertools.product([problem.device, s], repeat=problem.num_layers)
    ]


@pytest.mark.parametrize("seed", range(10))
def test_dads_is_the_best_device_plus_one_server_placement(seed) -> None:
    """Brute force over every placement on the device and one server (not only prefixes), original
    model: the minimum cut's value, for latency, energy and device energy alike."""
    problem = problem_of(random_document(seed, layers=4, servers=3, dag=True))
    out = run_dads(problem)
    best = brute_force(
        problem,
        all_assignments(
            problem,
            iter(device_and_one_server(problem)),
            bits=False,
            pruning=False,
            compression=False,
        ),
    )
    assert best is not None and out.value == pytest.approx(best[0], rel=1e-9)


def two_branches() -> dict[str, Any]:
    """input (100 kB) -> a -> {b heavy, small output; c light, 1 MB output} -> d (reads b and c;
    its 1 MB output returns to the device)."""
    return {
        "format": "jqodi-inference/1",
        "name": "two-branches",
        "servers": [
            {"name": "dev", "tier": "device", "speed_flops": 1e9, "power_w": 5.0},
            {"name": "gpu", "tier": "edge", "speed_flops": 1e12, "power_w": 250.0},
        ],
        "links": [{"between": ["dev", "gpu"], "rate_bps": 1e6, "energy_per_bit": 1e-7}],
        "model": {
            "name": "branches",
            "input_bytes": 100_000,
            "layers": [
                {"name": "a", "flops": 1e6, "params": 10, "output_bytes": 1000},
                {"name": "b", "flops": 1e9, "params": 10, "output_bytes": 100, "inputs": ["a"]},
                {
                    "name": "c",
                    "flops": 1e6,
                    "params": 10,
                    "output_bytes": 1_000_000,
                    "inputs": ["a"],
                },
                {
                    "name": "d",
                    "flops": 1e6,
                    "params": 10,
                    "output_bytes": 1_000_000,
                    "inputs": ["b", "c"],
                },
            ],
        },
        "objective": "latency",
    }


def test_dads_sends_one_branch_to_the_server_and_keeps_the_other() -> None:
    """b (1 s on the device) goes to the server: a's 1 kB out (8 ms) and b's 100 B back (0.8 ms);
    a, c and d stay: 3 ms of device compute, 1 ms for b on the server -> 12.8 ms. Every topological
    prefix (order a, b, c, d) takes about a second or more — b on the device, the 100 kB input out
    or d's 1 MB output back — so neurosurgeon is far slower."""
    problem = problem_of(two_branches())
    out = run_dads(problem)
    assert out.assignment is not None
    placed = {problem.layers[i]: problem.servers[k] for i, k in enumerate(out.assignment.server)}
    assert placed == {"a": "dev", "b": "gpu", "c": "dev", "d": "dev"}
    assert out.value == pytest.approx(0.003 + 0.001 + 8000 / 1e6 + 800 / 1e6, rel=1e-12)
    neurosurgeon = solve_cut_set(problem, SETS["neurosurgeon"])
    assert neurosurgeon.value is not None and neurosurgeon.value > 0.8
    best = brute_force(
        problem,
        all_assignments(
            problem,
            iter(device_and_one_server(problem)),
            bits=False,
            pruning=False,
            compression=False,
        ),
    )
    assert best is not None and out.value == pytest.approx(best[0], rel=1e-12)


def test_dads_reports_a_plan_that_breaks_the_memory_limit() -> None:
    doc = two_branches()
    doc["servers"][1]["memory_bytes"] = 20.0  # b's weights take 40 B
    out = run_dads(problem_of(doc))
    assert out.status is Status.INFEASIBLE
    assert out.reasons == ["dads with 'gpu': memory on 'gpu': 40 B exceeds 20 B"]


# --------------------------------------------------------------------------------------------------
# through jqodi_opt.solve (the registry), every plan re-evaluated
# --------------------------------------------------------------------------------------------------

HEURISTICS = [
    "qio",
    "all-local",
    "all-server",
    "neurosurgeon",
    "prune-partition",
    "bottlenet",
    "dads",
]


@pytest.mark.parametrize("objective", ["energy", {"weighted": {"latency": 0.3, "energy": 0.7}}])
def test_registered_methods_run_through_solve_and_never_beat_exhaustive(objective) -> None:
    from jqodi_opt.solve import solve

    doc = random_document(3, layers=3, servers=3, dag=True)
    doc["objective"] = objective
    problem = problem_of(doc)
    exact = solve(problem, "exhaustive")
    assert exact.status is Status.OPTIMAL and exact.objective is not None
    for name in HEURISTICS:
        result = solve(problem, name)
        assert result.status is Status.FEASIBLE, (name, result.reasons)
        assert result.plan is not None and result.objective is not None
        assert result.objective >= exact.objective - 1e-9 * max(1.0, abs(exact.objective)), name
        if isinstance(objective, dict):
            assert result.stats["payoff_proven"] is True


def test_infeasible_baseline_through_solve_keeps_its_reasons() -> None:
    from jqodi_opt.solve import solve

    doc = shrinking_chain(1e5)
    doc["servers"][0]["memory_bytes"] = 10_000.0
    result = solve(problem_of(doc), "all-local")
    assert result.status is Status.INFEASIBLE and result.plan is None
    assert result.reasons[0].startswith("all-local: its only plan, all on the device")


def test_qio_options_refused_through_solve() -> None:
    from jqodi_opt.exceptions import OptionError
    from jqodi_opt.solve import solve

    problem = problem_of(shrinking_chain(1e7))
    with pytest.raises(OptionError, match="k 1 not understood"):
        solve(problem, "qio", k=1)
    with pytest.raises(ValueError, match="does not take option"):
        solve(problem, "neurosurgeon", seed=3)


@pytest.mark.parametrize("seed", range(6))
def test_never_better_than_exhaustive_on_random_instances(seed) -> None:
    """Every heuristic and baseline against isolve's exhaustive, on chains and DAGs with every knob,
    binding memory, limits and budget (the three single objectives in turn)."""
    from jqodi_opt.solve import solve

    doc = constrained_document(seed)
    doc["objective"] = ["latency", "energy", "device-energy"][seed % 3]
    problem = problem_of(doc)
    exact = solve(problem, "exhaustive")
    for name in HEURISTICS:
        result = solve(problem, name)
        if exact.status is Status.INFEASIBLE:
            assert result.status is Status.INFEASIBLE, name
            continue
        assert exact.objective is not None
        if result.objective is not None:
            assert result.objective >= exact.objective * (1 - 1e-9), name
