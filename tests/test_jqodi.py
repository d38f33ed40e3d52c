"""The JQODI heuristic: feasible plans, never below the optimum, exact on a fine enough grid, the
risk/opportunity score at work, and the tree command."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jqodi_opt import Instance, Problem, Status, compile_problem, evaluate, solve
from jqodi_opt.cli import main
from jqodi_opt.exceptions import OptionError
from jqodi_opt.finetune.problem import TIME_TOLERANCE, Candidate
from jqodi_opt.finetune.solvers.jqodi import create_tree, solve_jqodi, tree_graph
from jqodi_opt.read import build_instance

from .conftest import DATA
from .strategies import small_instances

TINY_TRUTH = str(DATA / "tiny_truth.json")


# --------------------------------------------------------------------------------------------------
# helpers shared with the other test files
# --------------------------------------------------------------------------------------------------


def pareto_optimum(problem: Problem) -> float:
    """The exact optimum energy (inf when infeasible), by an independent method: per candidate, the
    (time, energy) Pareto front of partial plans, epoch by epoch, over the non-dominated options."""
    limit = problem.time_limit_s * (1 + TIME_TOLERANCE)
    best = np.inf
    for cand in problem.candidates:
        front = [(cand.quantize_time_s, cand.quantize_energy_j)]
        options = cand.pareto_options()
        for _ in range(cand.epochs):
            children = sorted(
                (t + cand.option_time_s[o], e + cand.option_energy_j[o])
                for t, e in front
                for o in options
            )
            front, least = [], np.inf
            for t, e in children:
                if t <= limit and e < least:
                    front.append((t, e))
                    least = e
        if front:
            best = min(best, front[-1][1])
    return float(best)


def simple_instance(
    pairs: list[dict[str, Any]],
    time_s: float,
    loss: float = 0.02,
    server_energy_per_flop: float = 1e-9,
    device_energy_per_flop: float = 2e-9,
    device_speed: float = 1e9,
    cuts: list[int] | None = None,
    quantize_flops: float = 0.0,
) -> Instance:
    """An instance whose costs are easy by hand: one model ``m`` of one block of 1e9 FLOP and no
    parameters, one edge server ``es`` at 1e9 FLOP/s, free links and cloud, one sample, training
    factor 1. An epoch at bit-width ``q`` (compute scale ``s``) on cut 0 takes ``s`` seconds and
    ``s * 1e9 * server_energy_per_flop`` joules; on cut 1 (all on the device)
    ``s * 1e9 / device_speed`` seconds and ``s * 1e9 * device_energy_per_flop`` joules.

    ``pairs``: per bit-width a dict with ``bits``, ``scale`` and a learning entry (``epochs`` or
    ``power_law``, ``gamma``, ``truth``).
    """
    learning = []
    for pair in pairs:
        entry = {k: v for k, v in pair.items() if k not in ("scale",)}
        entry["model"] = "m"
        learning.append(entry)
    document = {
        "format": "jqodi-instance/1",
        "name": "hand-built",
        "training_factor": 1.0,
        "cloud": {"speed_flops": 1e9, "energy_per_flop": 0.0},
        "edge_servers": [
            {"name": "es", "speed_flops": 1e9, "energy_per_flop": server_energy_per_flop,
             "cloud_rate_bps": 1e9, "cloud_energy_per_bit": 0.0}
        ],
        "device": {"name": "sd", "speed_flops": device_speed,
                   "energy_per_flop": device_energy_per_flop, "train_samples": 1},
        "links": [{"edge_server": "es", "rate_bps": 1e9, "energy_per_bit": 0.0}],
        "bitwidths": [{"bits": p["bits"], "compute_scale": p["scale"]} for p in pairs],
        "models": [
            {"name": "m", "loss": 0.01, "cloud_flops": 0.0, "quantize_flops": quantize_flops,
             "blocks": [{"name": "b", "flops": 1e9, "params": 0.0}],
             "cuts": cuts if cuts is not None else [0, 1]}
        ],
        "learning": learning,
        "limits": {"time_s": time_s, "loss": loss},
    }  # fmt: skip
    return build_instance(document)


def grid_problem(
    cell_counts: list[list[int]],
    energies: list[list[float]],
    epochs: list[int],
    quantize_cells: list[int],
    buckets: int,
    time_limit_s: float = 3.0,
) -> Problem:
    """A hand-built problem whose times are whole multiples of the cell, ``T_max / buckets``."""
    cell = time_limit_s / buckets
    candidates = []
    for c, (counts, energy) in enumerate(zip(cell_counts, energies, strict=True)):
        tau = quantize_cells[c] * cell
        candidates.append(
            Candidate(
                model=f"m{c}", bits=8, epochs=epochs[c], epochs_expected=epochs[c],
                epochs_robust=epochs[c], final_loss_expected=0.01, final_loss_robust=0.01,
                quantize_time_s=tau, quantize_energy_j=0.5 * c, budget_s=time_limit_s - tau,
                option_edge_server=np.zeros(len(counts), dtype=np.int64),
                option_cut=np.arange(len(counts), dtype=np.int64),
                option_time_s=np.array(counts, dtype=float) * cell,
                option_energy_j=np.array(energy, dtype=float),
            )
        )  # fmt: skip
    return Problem("grid", time_limit_s, 0.02, "robust", ("es",), tuple(candidates))


def plan_energy(problem: Problem, candidate: int, option_epochs: np.ndarray) -> float:
    cand = problem.candidates[candidate]
    return cand.quantize_energy_j + float(option_epochs @ cand.option_energy_j)


def plan_time(problem: Problem, candidate: int, option_epochs: np.ndarray) -> float:
    cand = problem.candidates[candidate]
    return cand.quantize_time_s + float(option_epochs @ cand.option_time_s)


# --------------------------------------------------------------------------------------------------
# plans are feasible, never better than the optimum, exact on a fine grid
# --------------------------------------------------------------------------------------------------


@settings(max_examples=300)
@given(instance=small_instances())
def test_plans_pass_evaluate_and_never_beat_the_optimum(solver: str, instance: Instance) -> None:
    problem = compile_problem(instance)
    exact = solve(problem, solver)
    optimum = pareto_optimum(problem)  # an independent check of the exact solver's optimum
    if exact.status is Status.OPTIMAL:
        assert exact.objective == pytest.approx(optimum, rel=1e-6)
    else:
        assert exact.status is Status.INFEASIBLE and optimum == np.inf
    for score in ("risk", "energy"):
        result = solve(problem, "jqodi", score=score)
        assert result.status is not Status.ERROR, result.reasons  # evaluate accepted the plan
        if exact.status is Status.INFEASIBLE:
            assert result.status is Status.INFEASIBLE
            continue
        assert result.status is Status.FEASIBLE
        assert result.plan is not None and result.objective is not None
        assert evaluate(instance, result.plan).feasible
        assert exact.objective is not None
        assert exact.bound is not None  # the exact optimum is proven to OPTIMALITY_GAP
        assert result.objective >= exact.bound * (1 - 1e-9)


@settings(max_examples=60)
@given(st.data())
def test_least_energy_path_is_the_optimum_when_times_are_whole_cells(data: st.DataObject) -> None:
    buckets = 1000
    n_cands = data.draw(st.integers(1, 3))
    epochs = [data.draw(st.integers(1, 8)) for _ in range(n_cands)]
    n_options = [data.draw(st.integers(1, 5)) for _ in range(n_cands)]
    cells = [data.draw(st.lists(st.integers(1, 200), min_size=n, max_size=n)) for n in n_options]
    energies = [
        data.draw(st.lists(st.floats(0.1, 100.0), min_size=n, max_size=n)) for n in n_options
    ]
    quantize = [data.draw(st.integers(0, 50)) for _ in range(n_cands)]
    problem = grid_problem(cells, energies, epochs, quantize, buckets)
    optimum = pareto_optimum(problem)
    out = solve_jqodi(problem, None, score="energy", time_buckets=buckets)
    if not np.isfinite(optimum):
        assert out.status is Status.INFEASIBLE
        return
    assert out.status is Status.FEASIBLE and out.candidate is not None
    assert out.option_epochs is not None
    assert not out.stats["fallback"]
    energy = plan_energy(problem, out.candidate, out.option_epochs)
    assert energy == pytest.approx(optimum, rel=1e-9)
    assert plan_time(problem, out.candidate, out.option_epochs) <= 3.0 * (1 + 1e-12)


def test_the_true_elapsed_time_decides_the_cell_so_a_plan_ending_at_the_limit_is_found() -> None:
    # tau = 1 cell, one epoch of 2999 cells: 3000 cells = T_max exactly.
    problem = grid_problem([[2999, 100]], [[1.0, 5.0]], [1], [1], buckets=3000)
    out = solve_jqodi(problem, None, score="energy", time_buckets=3000)
    assert out.option_epochs is not None and out.option_epochs.tolist() == [1, 0]
    # On a grid of 3 cells of 1 s, tau (1 ms) and the epoch (2.999 s) rounded up separately would
    # need 1 + 3 = 4 cells; the state's true time, 3.0 s, rounds up to cell 3: still inside.
    out = solve_jqodi(problem, None, score="energy", time_buckets=3)
    assert out.option_epochs is not None and out.option_epochs.tolist() == [1, 0]


def test_merging_can_lose_the_only_plan_unless_dead_states_are_dropped_first() -> None:
    # T_max = 1 s on a grid of ONE cell: every state within the limit merges into cell 1.
    # Options: a = (0.7 s, 1 J), b = (0.35 s, 2 J); K = 2. The only feasible plan is b+b (0.7 s).
    problem = grid_problem([[70, 35]], [[1.0, 2.0]], [2], [0], buckets=100, time_limit_s=1.0)
    # As Algorithm 1 (no lookahead): epoch 1 has a (0.7 s, 1 J) and b (0.35 s, 2 J) in cell 1;
    # the merge keeps a. Epoch 2: a+a = 1.4 s and a+b = 1.05 s exceed T_max: no path reaches Θ,
    # and the fallback returns the fastest plan, b+b.
    out = solve_jqodi(
        problem, None, score="energy", time_buckets=1, lookahead=False, merge="energy"
    )
    assert out.status is Status.FEASIBLE and out.stats["fallback"] is True
    assert out.option_epochs is not None and out.option_epochs.tolist() == [0, 2]
    assert "fastest plan" in out.message
    # With the lookahead, a is dropped at epoch 1 (0.7 s + 1 epoch of >= 0.35 s > 1 s), so the
    # merge keeps b, and the tree finds b+b itself.
    out = solve_jqodi(problem, None, score="energy", time_buckets=1, merge="energy")
    assert out.stats["fallback"] is False
    assert out.option_epochs is not None and out.option_epochs.tolist() == [0, 2]


def test_fastest_plan_within_the_time_tolerance_only_is_returned_by_the_fallback() -> None:
    # Two epochs of 0.5 s * (1 + 4e-10): 1 s * (1 + 4e-10), over T_max but within the 1e-9
    # tolerance (SPEC §1.3), so the problem counts as feasible; the tree, strict, finds nothing.
    problem = grid_problem([[50]], [[1.0]], [2], [0], buckets=100, time_limit_s=1.0)
    cand = problem.candidates[0]
    slow = replace(cand, option_time_s=np.array([0.5 * (1 + 4e-10)]))
    problem = replace(problem, candidates=(slow,))
    assert problem.infeasibility_reasons() == []
    out = solve_jqodi(problem, None)
    assert out.status is Status.FEASIBLE and out.stats["fallback"] is True
    assert out.option_epochs is not None and out.option_epochs.tolist() == [2]


# --------------------------------------------------------------------------------------------------
# Algorithm 4: the score
# --------------------------------------------------------------------------------------------------


def risk_instance() -> Instance:
    """Two candidates, one option each that matters (cut 0, all on the server; cut 1 is dearer).

    - 32-bit (scale 1): 1 s and 1 J per epoch; K_exp = 5, K_rob = 10: energy 10 J.
    - 8-bit (scale 0.6): 0.6 s and 0.6 J per epoch; K_exp = K_rob = 20: energy 12 J.
    """
    return simple_instance(
        [
            {"bits": 32, "scale": 1.0, "epochs": {"expected": 5, "robust": 10}},
            {"bits": 8, "scale": 0.6, "epochs": {"expected": 20, "robust": 20}},
        ],
        time_s=100.0,
    )


def test_risk_opportunity_score_picks_another_candidate_than_least_energy() -> None:
    problem = compile_problem(risk_instance())
    # Least energy: 32-bit, 10 J < 12 J.
    energy = solve(problem, "jqodi", score="energy")
    assert energy.plan is not None and energy.plan.bits == 32
    assert energy.objective == pytest.approx(10.0)
    # Score = w * risk / opp; epochs form, so risk = 1; tau = 0, so opp = K_exp / K_rob.
    #   32-bit: opp = 5 * 1 s / (10 * 1 s) = 0.5  -> score = 10 J * 1 / 0.5 = 20
    #    8-bit: opp = 20 * 0.6 s / (20 * 0.6 s) = 1 -> score = 12 J * 1 / 1  = 12  (lowest)
    risk = solve(problem, "jqodi")
    assert risk.plan is not None and risk.plan.bits == 8
    assert risk.objective == pytest.approx(12.0)
    assert risk.stats["score"] == pytest.approx(12.0)
    assert risk.stats["opp"] == pytest.approx(1.0) and risk.stats["risk"] == pytest.approx(1.0)
    # weight = 0 removes the factor: least energy again.
    zero = solve(problem, "jqodi", weight=0.0)
    assert zero.plan is not None and zero.plan.bits == 32


def test_opportunity_counts_quantization_time_and_risk_uses_final_losses() -> None:
    # One candidate with tau = 2 s (quantize_flops 2e9 at 1e9 FLOP/s), power-law learning.
    instance = simple_instance(
        [{"bits": 8, "scale": 1.0, "gamma": {"expected": 0.0, "robust": 0.0},
          "power_law": {"expected": {"floor": 0.0, "exponent": 1.0},
                        "robust": {"floor": 0.0, "exponent": 0.5}}}],
        time_s=100.0, loss=0.004, quantize_flops=2e9,
    )  # fmt: skip
    problem = compile_problem(instance)
    cand = problem.candidates[0]
    # L0 = 0.01: expected 0.01/(k+1) < 0.004 -> k = 2 (0.00333); robust 0.01/sqrt(k+1) < 0.004
    # -> k + 1 > 6.25 -> k = 6 (0.01/sqrt(7) = 0.00378).
    assert (cand.epochs_expected, cand.epochs_robust) == (2, 6)
    # The plan: 6 epochs of cut 0 (1 s, 1 J each) after 2 s of quantization.
    # opp = (2 + 2 * 1) / (2 + 6 * 1) = 0.5; risk as printed (line 7) = L_exp / L_rob =
    # 0.0033333 / 0.0037796 = 0.8819; risk as meant (>= 1, the default) = 1 / 0.8819 = 1.1339.
    literal = solve(problem, "jqodi", risk_factor="literal")
    assert literal.stats["opp"] == pytest.approx(0.5)
    assert literal.stats["risk"] == pytest.approx((0.01 / 3) / (0.01 / 7**0.5))
    assert literal.stats["score"] == pytest.approx(6.0 * literal.stats["risk"] / 0.5)
    result = solve(problem, "jqodi")
    assert result.stats["risk"] == pytest.approx((0.01 / 7**0.5) / (0.01 / 3)) and (
        result.stats["risk"] > 1
    )
    assert result.stats["score"] == pytest.approx(6.0 * result.stats["risk"] / 0.5)
    inverse = solve(problem, "jqodi", opp_factor="inverse")  # the prose's opp >= 1
    assert inverse.stats["opp"] == pytest.approx(2.0)


def test_same_input_same_plan() -> None:
    problem = compile_problem(risk_instance())
    first, second = solve(problem, "jqodi"), solve(problem, "jqodi")
    assert first.plan is not None and second.plan is not None
    assert first.plan.to_dict() | {"runtime_s": 0} == second.plan.to_dict() | {"runtime_s": 0}
    assert first.stats == second.stats


def test_ties_go_to_the_lowest_option_index() -> None:
    problem = grid_problem([[10, 10, 10]], [[2.0, 2.0, 2.0]], [4], [0], buckets=100)
    out = solve_jqodi(problem, None, score="energy", time_buckets=100)
    assert out.option_epochs is not None and out.option_epochs.tolist() == [4, 0, 0]


def test_infeasible_instance_is_reported_infeasible(tiny) -> None:
    problem = compile_problem(tiny.model_copy(update={"limits": tiny.limits.model_copy(
        update={"time_s": 1e-6})}))  # fmt: skip
    result = solve(problem, "jqodi")
    assert result.status is Status.INFEASIBLE
    assert any("T_max" in reason for reason in result.reasons)


def test_options_are_checked(tiny) -> None:
    problem = compile_problem(tiny)
    with pytest.raises(ValueError, match="does not take option"):
        solve(problem, "jqodi", buckets=10)
    for bad in ({"score": "speed"}, {"time_buckets": 0}, {"weight": -1.0}):
        with pytest.raises(OptionError, match="not understood"):
            solve(problem, "jqodi", **bad)


def test_time_limit_before_the_first_candidate_returns_the_fastest_plan(tiny) -> None:
    problem = compile_problem(tiny)
    result = solve(problem, "jqodi", time_limit=1e-12)
    assert result.status is Status.TIME_LIMIT and result.plan is not None
    assert result.stats["fallback"] is True
    cand = next(
        c for c in problem.candidates if (c.model, c.bits) == (result.plan.model, result.plan.bits)
    )
    assert result.plan.time_s == pytest.approx(
        cand.quantize_time_s + cand.epochs * cand.option_time_s.min()
    )  # every epoch on a fastest option


def test_stats_count_the_tree(tiny) -> None:
    result = solve(compile_problem(tiny), "jqodi", time_buckets=200)
    stats = result.stats
    assert stats["time_buckets"] == 200
    assert stats["states_generated"] == stats["states_kept"] + stats["states_merged"]
    assert stats["paths_scored"] >= 2  # at least one path per candidate
    assert stats["candidates_expanded"] == 2


# --------------------------------------------------------------------------------------------------
# the tree
# --------------------------------------------------------------------------------------------------


def test_tree_sizes_and_graph(tiny) -> None:
    problem = compile_problem(tiny)
    index = [c.name for c in problem.candidates].index("m1@8")
    tree = create_tree(problem, index, time_buckets=5000, keep_layers=True, dominance=False)
    assert tree.kept[0] == tree.generated[0] == 1  # the quantized-model vertex
    assert len(tree.kept) == problem.candidates[index].epochs + 1
    assert np.all(tree.kept <= 5001) and np.all(tree.kept <= tree.generated)
    assert tree.kept.max() > 10 and (tree.generated > tree.kept).any()  # merging happened
    graph = tree_graph(problem, tree)
    # Edges: model -> quantized, one per generated state, one per final state to Θ.
    assert graph.number_of_edges() == 1 + tree.generated[1:].sum() + tree.kept[-1]
    assert graph.number_of_nodes() == tree.kept.sum() + 2  # + model vertex and Θ
    assert nx.is_directed_acyclic_graph(graph)
    # Every state's least energy is the cheapest way to reach it in the graph.
    lengths = nx.single_source_dijkstra_path_length(graph, "model:m1")
    assert lengths["Theta"] == pytest.approx(
        tree.final_energy_j[tree.final_cells()].min() + problem.candidates[index].quantize_energy_j
    )
    with pytest.raises(ValueError, match="vertices and edges"):
        tree_graph(problem, tree, max_size=10)


def test_cli_tree(capsys, tmp_path) -> None:
    path = tmp_path / "tree.graphml"
    code = main(["tree", TINY_TRUTH, "--candidate", "m1,8", "--time-buckets", "40",
                 "--graphml", str(path)])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "JQODI tree of m1@8" in captured.out and "paths reach Θ" in captured.out
    assert nx.read_graphml(path).number_of_nodes() > 2
    code = main(["tree", TINY_TRUTH, "--candidate", "m1,4", "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["candidate"] == "m1@4" and summary["kept"][0] == 1
    assert main(["tree", TINY_TRUTH, "--candidate", "m1,32"]) == 2
    assert "marked infeasible" in capsys.readouterr().err
    assert main(["tree", TINY_TRUTH, "--candidate", "m1"]) == 2


# --------------------------------------------------------------------------------------------------
# the compiled kernel, the time grid, the time limit inside a tree
# --------------------------------------------------------------------------------------------------


def _same_tree(a: Any, b: Any) -> bool:
    return all(
        np.array_equal(getattr(a, name), getattr(b, name), equal_nan=name == "final_time_s")
        for name in ("final_energy_j", "final_time_s", "choice", "origin", "generated", "kept")
    )


@settings(max_examples=40)
@given(st.data())
def test_compiled_kernel_grows_the_same_tree_as_the_reference(data: st.DataObject) -> None:
    n_options = data.draw(st.integers(1, 6))
    cells = [data.draw(st.lists(st.integers(1, 60), min_size=n_options, max_size=n_options))]
    energies = [data.draw(st.lists(st.floats(0.1, 50.0), min_size=n_options, max_size=n_options))]
    epochs = [data.draw(st.integers(1, 12))]
    problem = grid_problem(cells, energies, epochs, [data.draw(st.integers(0, 20))], 1000)
    buckets = data.draw(st.sampled_from([1, 7, 100, 1000]))
    price = data.draw(st.sampled_from([0.0, 0.5, 3.0]))
    for lookahead in (True, False):
        for dominance in (True, False):
            trees = [
                create_tree(problem, 0, buckets, lookahead=lookahead, kernel=kernel, price=price,
                            dominance=dominance)
                for kernel in ("compiled", "reference")
            ]  # fmt: skip
            assert _same_tree(*trees)
            for cell in trees[0].final_cells():
                assert trees[0].path(int(cell)).tolist() == trees[1].path(int(cell)).tolist()


def test_compiled_kernel_matches_on_generated_instances() -> None:
    from jqodi_opt.finetune.generate import generate

    for family in ("tradeoff", "uncorrelated", "paper-like"):
        problem = compile_problem(generate(family, seed=3, epochs=30))
        plans = [solve_jqodi(problem, None, kernel=kernel) for kernel in ("compiled", "reference")]
        assert plans[0].candidate == plans[1].candidate
        assert plans[0].option_epochs is not None and plans[1].option_epochs is not None
        assert plans[0].option_epochs.tolist() == plans[1].option_epochs.tolist()


def test_time_grid_is_sized_from_the_instance() -> None:
    from jqodi_opt.finetune.solvers import jqodi

    problem = grid_problem([[10, 20]], [[2.0, 1.0]], [20], [0], 1000)
    assert jqodi.default_time_buckets(problem, 0) == jqodi.MIN_TIME_BUCKETS  # K = 20: the floor
    long = grid_problem([[1, 2, 3, 4]], [[4.0, 3.0, 2.0, 1.0]], [5000], [0], 1000)
    # one cell per epoch (5,000) fits the memory cap (17,891) and the work cap (4e8 / (2 * 5,000
    # epochs * 4 options) = 10,000)
    assert jqodi.default_time_buckets(long, 0, 4, 2) == 5000
    # 100 options: the work cap (4e8 / (2 * 5,000 * 100) = 400) is below the floor, which wins
    assert jqodi.default_time_buckets(long, 0, 100, 2) == jqodi.MIN_TIME_BUCKETS


def test_the_time_limit_is_honoured_inside_one_tree() -> None:
    # One candidate, K = 3,000 on 100 options: the reference kernel needs tens of seconds, and the
    # limit used to be read only between candidates (a 20 s limit once took 107 s).
    from jqodi_opt.finetune.generate import generate

    problem = compile_problem(generate("tradeoff", seed=2, models=1, bitwidths=1, blocks=9,
                                       edge_servers=10, epochs=3000))  # fmt: skip
    result = solve(problem, "jqodi", time_limit=0.3, kernel="reference", time_buckets=3000)
    assert result.status is Status.TIME_LIMIT
    assert result.plan is not None  # the states so far, completed with a fastest option
    assert result.solve_time_s < 10.0
    assert problem.instance is not None
    assert evaluate(problem.instance, result.plan, problem.estimator).feasible
