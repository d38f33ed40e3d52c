"""The exact solvers (milp, cpsat, exhaustive): agreement, hand-solved optimum, infeasibility, time
limits, proofs. Every test taking ``solver`` runs on each solver of ``--solvers``."""

from __future__ import annotations

import itertools
import json
import math
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import event, given, settings

from jqodi_opt import Instance, compile_problem
from jqodi_opt.cli import main
from jqodi_opt.exceptions import OptionError, ScalingWarning, SolverRefused
from jqodi_opt.finetune.problem import OPTIMALITY_GAP, TIME_TOLERANCE, Problem
from jqodi_opt.finetune.solvers.exhaustive import MAX_MULTISETS, count_multisets, solve_exhaustive
from jqodi_opt.read import build_instance, write_instance
from jqodi_opt.result import Result, SolverOutput, Status
from jqodi_opt.solve import OBJECTIVE_TOLERANCE, finish, solve

from .conftest import DATA
from .strategies import small_instances

TINY = str(DATA / "tiny.json")

#: The formulations each solver is checked in.
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "milp": [
        {"formulation": "epochs"},
        {"formulation": "counts"},
        {"formulation": "epochs", "symmetry_breaking": True},
    ],
    "cpsat": [{"formulation": "counts"}, {"formulation": "epochs"}],
    "exhaustive": [{}],
}


def variants(solver: str) -> list[dict[str, Any]]:
    return VARIANTS.get(solver, [{}])


def brute_force(problem: Problem) -> float | None:
    """The optimum by ``itertools``, independent of the package's solvers (None: infeasible)."""
    best = math.inf
    limit = problem.time_limit_s * (1 + TIME_TOLERANCE)
    for cand in problem.candidates:
        for plan in itertools.combinations_with_replacement(range(cand.num_options), cand.epochs):
            time = cand.quantize_time_s + sum(cand.option_time_s[o] for o in plan)
            if time <= limit:
                energy = cand.quantize_energy_j + sum(cand.option_energy_j[o] for o in plan)
                best = min(best, energy)
    return None if math.isinf(best) else best


def assert_same_optimum(result: Result, reference: float | None, solver: str) -> None:
    assert result.status is not Status.ERROR, result.reasons
    if reference is None:
        assert result.status is Status.INFEASIBLE and result.plan is None
        assert result.reasons
        return
    assert result.status is Status.OPTIMAL, (result.status, result.reasons)
    assert result.objective is not None and result.bound is not None
    tolerance = OBJECTIVE_TOLERANCE * reference
    if solver == "cpsat":  # within its stated scaling bound (and the SPEC's tolerance)
        stated = result.stats["objective_error_bound_j"]
        assert stated <= 1e-9 * reference * (1 + 1e-6)
        tolerance = stated + OPTIMALITY_GAP * reference
    assert abs(result.objective - reference) <= tolerance
    assert result.gap is not None and result.gap <= OPTIMALITY_GAP * (1 + 1e-6)
    assert result.bound <= result.objective * (1 + 1e-12)


# --------------------------------------------------------------------------------------------------
# agreement on random instances
# --------------------------------------------------------------------------------------------------


@settings(max_examples=300)
@given(instance=small_instances())
def test_agrees_with_the_reference_on_random_instances(solver: str, instance: Instance) -> None:
    """Each formulation of the solver finds the exhaustive optimum (and exhaustive, where small
    enough, the optimum of a plain itertools enumeration)."""
    problem = compile_problem(instance)
    event(f"{len(problem.candidates)} candidate(s)")
    if solver == "exhaustive":
        reference = solve(problem, "exhaustive")
        size = sum(count_multisets(c.epochs, c.num_options) for c in problem.candidates)
        expected = brute_force(problem) if size <= 20_000 else reference.objective
        assert_same_optimum(reference, expected, solver)
        return
    reference = solve(problem, "exhaustive")
    assert reference.status in (Status.OPTIMAL, Status.INFEASIBLE)
    event(str(reference.status))
    for options in variants(solver):
        result = solve(problem, solver, **options)
        assert_same_optimum(result, reference.objective, solver)


# --------------------------------------------------------------------------------------------------
# a plan that must mix two options, solved by hand
# --------------------------------------------------------------------------------------------------


def two_option_document(time_limit_s: float = 7.5) -> dict[str, Any]:
    """One model of one block at full precision (no quantization cost), one edge server, cuts 0
    (all on the server) and 1 (all on the device), 4 epochs."""
    return {
        "format": "jqodi-instance/1",
        "name": "two-options",
        "cloud": {"speed_flops": 1e10, "energy_per_flop": 1e-10},
        "edge_servers": [
            {"name": "es", "speed_flops": 1e10, "energy_per_flop": 1e-9,
             "cloud_rate_bps": 1e9, "cloud_energy_per_bit": 1e-9}
        ],
        "device": {"name": "sd", "speed_flops": 1e9, "energy_per_flop": 2e-10,
                   "train_samples": 1000},
        "links": [{"edge_server": "es", "rate_bps": 1e8, "energy_per_bit": 1e-8}],
        "bitwidths": [{"bits": 32}],
        "models": [
            {"name": "m", "loss": 0.01, "cloud_flops": 1e9, "cuts": [0, 1],
             "blocks": [{"name": "b", "flops": 1e6, "params": 1000}]}
        ],
        "learning": [{"model": "m", "bits": 32, "epochs": {"expected": 4, "robust": 4}}],
        "limits": {"time_s": time_limit_s, "loss": 0.02},
    }  # fmt: skip


def test_best_plan_mixes_two_options(solver: str) -> None:
    """Work of one epoch D = 1000 samples * 3 * 1e6 FLOP = 3e9 FLOP; model bits G = 1000 * 32.
    Every epoch also pays the cloud F = 1e9 FLOP (0.1 s, 0.1 J) and the CS-ES model transfer
    2G = 64000 bit (64000 / 1e9 = 0.000064 s, 64000 * 1e-9 = 0.000064 J).

    cut 0, all on the server: t0 = 3e9/1e10 + 0.1 + 0.000064 = 0.400064 s
                              e0 = 3e9*1e-9 + 0.1 + 0.000064 = 3.100064 J   (fast, dear)
    cut 1, all on the device, plus 2G over the link (64000/1e8 = 0.00064 s, 64000*1e-8 = 0.00064 J):
                              t1 = 3e9/1e9 + 0.1 + 0.000064 + 0.00064 = 3.100704 s
                              e1 = 3e9*2e-10 + 0.1 + 0.000064 + 0.00064 = 0.700704 J  (slow, cheap)

    K = 4, T_max = 7.5 s. With m epochs on cut 1: time = 4*0.400064 + m*(3.100704 - 0.400064)
    = 1.600256 + 2.70064 m: m = 2 gives 7.001536 s (fits), m = 3 gives 9.70218 s (too slow);
    energy = 4*3.100064 - m*(3.100064 - 0.700704) = 12.400256 - 2.39936 m, least at m = 2:
    12.400256 - 4.79872 = 7.601536 J. All on cut 1 is too slow (12.402816 s), all on cut 0 too dear
    (12.400256 J).
    """
    problem = compile_problem(build_instance(two_option_document()))
    (cand,) = problem.candidates
    costs = zip(cand.option_time_s, cand.option_energy_j, strict=True)
    by_cut = dict(zip(cand.option_cut.tolist(), costs, strict=True))
    assert by_cut[0] == pytest.approx((0.400064, 3.100064), rel=1e-12)
    assert by_cut[1] == pytest.approx((3.100704, 0.700704), rel=1e-12)
    for options in variants(solver):
        result = solve(problem, solver, **options)
        assert result.status is Status.OPTIMAL
        assert result.plan is not None
        epochs_by_cut = {entry.cut: entry.epochs for entry in result.plan.schedule}
        assert epochs_by_cut == {0: 2, 1: 2}
        assert result.objective == pytest.approx(7.601536, rel=1e-12)
        assert result.plan.time_s == pytest.approx(7.001536, rel=1e-12)


# --------------------------------------------------------------------------------------------------
# infeasible, time limit, proofs
# --------------------------------------------------------------------------------------------------


def test_infeasible_instance_says_why(solver: str) -> None:
    """T_max 1 s < the fastest plan, 4 epochs on cut 0 = 1.600256 s."""
    problem = compile_problem(build_instance(two_option_document(time_limit_s=1.0)))
    for options in variants(solver):
        result = solve(problem, solver, **options)
        assert result.status is Status.INFEASIBLE
        assert result.plan is None and result.objective is None
        assert any("fastest plan needs 1.60026 s > T_max 1 s" in r for r in result.reasons)


def test_cli_infeasible_exit_1_with_reasons(solver: str, tmp_path, capsys) -> None:
    path = tmp_path / "infeasible.json"
    path.write_text(json.dumps(two_option_document(time_limit_s=1.0)))
    assert main(["solve", str(path), "--solver", solver]) == 1
    assert "fastest plan needs 1.60026 s" in capsys.readouterr().out
    assert main(["solve", str(path), "--solver", solver, "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["status"] == "infeasible"
    assert document["format"] == "jqodi-plan/1"
    assert any("fastest plan needs" in r for r in document["reasons"])


def tradeoff_document(servers: int, blocks: int, epochs: int, seed: int = 0) -> dict[str, Any]:
    """One candidate whose options (server, cut) trade time against energy: faster servers cost
    more per FLOP, the device is slow and cheap. T_max halfway between fastest and slowest plan."""
    rng = np.random.default_rng(seed)
    speeds = np.sort(rng.uniform(2e11, 2e12, servers))
    document: dict[str, Any] = {
        "format": "jqodi-instance/1",
        "name": f"tradeoff-{servers}x{blocks + 1}-K{epochs}",
        "cloud": {"speed_flops": 1e13, "energy_per_flop": 1e-11},
        "edge_servers": [
            {"name": f"es{x}", "speed_flops": float(s),
             "energy_per_flop": float(2e-11 * (s / 2e11) ** 1.3),
             "cloud_rate_bps": 1e9, "cloud_energy_per_bit": 5e-10}
            for x, s in enumerate(speeds)
        ],
        "device": {"name": "sd", "speed_flops": 5e9, "energy_per_flop": 5e-12,
                   "train_samples": 500},
        "links": [
            {"edge_server": f"es{x}", "rate_bps": float(rng.uniform(5e7, 2e8)),
             "energy_per_bit": float(rng.uniform(1e-9, 5e-9))}
            for x in range(servers)
        ],
        "bitwidths": [{"bits": 32}],
        "models": [
            {"name": "m", "loss": 0.01, "cloud_flops": 5e8,
             "blocks": [{"name": f"b{i}", "flops": float(rng.uniform(5e5, 5e6)),
                         "params": float(rng.uniform(1e2, 5e3))} for i in range(blocks)]}
        ],
        "learning": [{"model": "m", "bits": 32, "epochs": {"expected": epochs, "robust": epochs}}],
        "limits": {"time_s": 1.0, "loss": 0.02},
    }  # fmt: skip
    (cand,) = compile_problem(build_instance(document)).candidates
    fastest = cand.min_time_s
    slowest = cand.epochs * float(cand.option_time_s.max())
    document["limits"]["time_s"] = fastest + 0.5 * (slowest - fastest)
    return document


def test_time_limit_before_any_plan(solver: str, tmp_path, capsys) -> None:
    """A limit shorter than building the model (1 microsecond) finds no plan: status time_limit,
    exit code 3. Deterministic: every backend checks the clock before it searches."""
    document = tradeoff_document(servers=2, blocks=3, epochs=10)
    problem = compile_problem(build_instance(document))
    for options in variants(solver):
        result = solve(problem, solver, time_limit=1e-6, **options)
        assert result.status is Status.TIME_LIMIT
        assert result.plan is None and result.objective is None
    path = tmp_path / "big.json"
    path.write_text(json.dumps(document))
    assert main(["solve", str(path), "--solver", solver, "--time-limit", "1e-6"]) == 3
    assert "time_limit" in capsys.readouterr().out


@pytest.mark.timeout(60)
def test_milp_presolve_does_not_cycle() -> None:
    """HiGHS 1.16's presolve never returned on this 69-row per-epoch model (parallel rows and
    columns with sparsify, at the tight feasibility tolerance), ignoring the time limit; both rules
    are off now (milp.PRESOLVE_RULES_OFF). The reference optimum is from the counts formulation."""
    from jqodi_opt.finetune.generate import generate_document

    problem = compile_problem(
        build_instance(generate_document("paper-like", seed=6, tightness=0.5))
    )
    reference = solve(problem, "milp", time_limit=30, formulation="counts")
    result = solve(problem, "milp", time_limit=30, formulation="epochs")
    assert reference.status is Status.OPTIMAL and result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(reference.objective, rel=OBJECTIVE_TOLERANCE)


def test_milp_does_not_trust_a_start_that_highs_misreports() -> None:
    """HiGHS 1.16, given the rounded LP plan as a start with presolve on, reported that start
    (3,101.33 J) as optimal at 819 J on this instance; the optimum is 3,068.96 J. The backend sees
    that the reported objective is not the returned plan's and solves again without the start."""
    from jqodi_opt.finetune.generate import generate_document

    document = generate_document(
        "tradeoff", seed=3, tightness=0.2, models=1, bitwidths=2, blocks=2, edge_servers=2, epochs=8
    )
    problem = compile_problem(build_instance(document))
    reference = brute_force(problem)
    assert reference == pytest.approx(3068.9557023679, rel=1e-12)
    for formulation in ("epochs", "counts"):
        result = solve(problem, "milp", formulation=formulation)
        assert result.status is Status.OPTIMAL
        assert result.objective == pytest.approx(reference, rel=OPTIMALITY_GAP)


def test_optimal_claim_with_a_far_bound_is_downgraded(tiny: Instance) -> None:
    """Whatever a backend says, ``optimal`` needs a bound within OPTIMALITY_GAP of the plan."""
    problem = compile_problem(tiny)
    honest = solve_exhaustive(problem)  # the backend's own output: candidate and epochs per option
    assert honest.status is Status.OPTIMAL and honest.bound is not None
    claim = SolverOutput(
        Status.OPTIMAL, honest.candidate, honest.option_epochs, bound=0.5 * honest.bound
    )
    result = finish(problem, "milp", claim)
    assert result.status is Status.FEASIBLE and result.plan is not None
    assert result.plan.status == "feasible" and result.gap == pytest.approx(0.5)
    assert "solver reported optimal, but its bound" in result.reasons[-1]


def test_never_optimal_without_proof(solver: str) -> None:
    """Stopped by a time limit (or, for milp, by a positive gap) a solver reports time_limit or
    feasible, not optimal — unless it did prove the optimum (gap 0) before stopping."""
    if solver == "exhaustive":
        # 40 epochs over 32 options: C(71, 31) multisets, cut short after 0.2 s
        problem = compile_problem(build_instance(tradeoff_document(4, 7, 40)))
        output = solve_exhaustive(problem, 0.2, max_multisets=10**30)
        assert output.status is Status.TIME_LIMIT
        return
    # 300 epochs, ~20 non-dominated options each: the per-epoch model takes minutes to prove
    problem = compile_problem(build_instance(tradeoff_document(10, 9, 300)))
    result = solve(problem, solver, time_limit=1.0, formulation="epochs")
    assert result.status in (Status.TIME_LIMIT, Status.OPTIMAL)
    if result.status is Status.OPTIMAL:
        assert result.gap is not None and result.gap <= OPTIMALITY_GAP
    if solver == "milp":
        for gap in (0.05, 0.5):
            result = solve(problem, "milp", formulation="counts", mip_rel_gap=gap)
            assert result.status in (Status.FEASIBLE, Status.OPTIMAL)
            assert result.gap is not None and result.gap <= gap
            if result.status is Status.OPTIMAL:
                assert result.gap <= OPTIMALITY_GAP


# --------------------------------------------------------------------------------------------------
# options, names, size guard, scaling
# --------------------------------------------------------------------------------------------------


def test_unknown_option_is_refused(solver: str, tiny: Instance, capsys) -> None:
    problem = compile_problem(tiny)
    with pytest.raises(ValueError, match="does not take option"):
        solve(problem, solver, no_such_option=1)
    assert main(["solve", TINY, "--solver", solver, "-o", "bogus=1"]) == 2
    assert "does not take option(s) bogus" in capsys.readouterr().err


def test_bad_option_value_is_refused(solver: str, tiny: Instance, capsys) -> None:
    # The caller's mistake, not a solver failure: raised before any work, exit code 2.
    problem = compile_problem(tiny)
    if solver == "exhaustive":
        pytest.skip("exhaustive has no option with a closed set of values")
    with pytest.raises(OptionError, match="formulation 'per-epoch' not understood"):
        solve(problem, solver, formulation="per-epoch")
    assert main(["solve", TINY, "--solver", solver, "-o", "formulation=per-epoch"]) == 2
    err = capsys.readouterr().err
    assert "formulation 'per-epoch' not understood" in err and "Traceback" not in err


def test_unknown_solver_name(tiny: Instance, capsys) -> None:
    from jqodi_opt.exceptions import SolverNotFound

    with pytest.raises(SolverNotFound, match="unknown solver 'gurobi'"):
        solve(compile_problem(tiny), "gurobi")
    assert main(["solve", TINY, "--solver", "gurobi"]) == 2  # refused by the option's choices
    assert "'--solver': 'gurobi' is not one of 'milp'," in capsys.readouterr().err


def test_exhaustive_refuses_large_instances(tmp_path, capsys) -> None:
    document = tradeoff_document(10, 9, 300)
    problem = compile_problem(build_instance(document))
    with pytest.raises(SolverRefused, match=r"multisets of options to enumerate exceed the limit"):
        solve_exhaustive(problem)
    with pytest.raises(SolverRefused, match=f"exceed the limit {MAX_MULTISETS:,}"):
        solve(problem, "exhaustive")
    path = tmp_path / "big.json"
    write_instance(build_instance(document), path)
    assert main(["solve", str(path), "--solver", "exhaustive"]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "use milp or cpsat" in errors[0] and "Traceback" not in err


def test_cpsat_coarse_tick_warns_and_reports_the_cutoff(tiny: Instance) -> None:
    problem = compile_problem(tiny)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fine = solve(problem, "cpsat")
    assert not [w for w in caught if issubclass(w.category, ScalingWarning)]
    assert fine.stats["time_cutoff_s"] == 0.0
    assert fine.stats["tick_s"] < 1e-9 * problem.time_limit_s
    with pytest.warns(ScalingWarning, match="may be cut off"):
        coarse = solve(problem, "cpsat", tick_s=1.0)
    assert coarse.stats["time_cutoff_s"] > 0
    assert coarse.status is Status.OPTIMAL


# --------------------------------------------------------------------------------------------------
# jqodi solve
# --------------------------------------------------------------------------------------------------


def test_cli_json_and_out(solver: str, tmp_path, capsys) -> None:
    out = tmp_path / "plan.json"
    code = main(["solve", TINY, "--solver", solver, "--json", "--out", str(out)])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    assert printed["format"] == "jqodi-plan/1"
    assert printed["status"] == "optimal" and printed["solver"] == solver
    assert {"model", "bits", "schedule", "energy_j", "time_s", "bound_j", "gap"} <= set(printed)
    assert main(["evaluate", TINY, str(out)]) == 0


def test_cli_passes_options(tmp_path, capsys) -> None:
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(two_option_document()))
    for solver, option in (("milp", "formulation=counts"), ("cpsat", "formulation=epochs")):
        assert main(["solve", str(path), "--solver", solver, "-o", option, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["energy_j"] == pytest.approx(7.601536)


def test_to_highs_hands_over_any_linear_model() -> None:
    """The Pyomo -> highspy writer on a model not built by build_milp: general sums, constants,
    a >= row, a maximised objective with an offset. max 3x + 2y + 1, x + y <= 4.5, x - y >= -1.5,
    x integer in [0, 2]: x = 2, y = 2.5, objective 12."""
    import pyomo.environ as pyo

    from jqodi_opt.pyomo_highs import to_highs

    m = pyo.ConcreteModel()
    m.x = pyo.Var(domain=pyo.NonNegativeIntegers, bounds=(0, 2))
    m.y = pyo.Var(domain=pyo.NonNegativeReals)
    m.cap = pyo.Constraint(expr=m.x + m.y + 1 <= 5.5)
    m.link = pyo.Constraint(expr=m.x - m.y >= -1.5)
    m.obj = pyo.Objective(expr=3 * m.x + 2 * m.y + 1, sense=pyo.maximize)
    highs, column = to_highs(m)
    highs.run()
    values = highs.getSolution().col_value
    assert values[column[id(m.x)]] == pytest.approx(2.0)
    assert values[column[id(m.y)]] == pytest.approx(2.5)
    assert -highs.getInfo().objective_function_value == pytest.approx(12.0)


def test_exhaustive_with_tiny_tables_loops_over_head_options(monkeypatch) -> None:
    """Tables of at most 10 entries force the head | middle | tail split with a Python loop over
    the head: the optimum is still the itertools one."""
    from jqodi_opt.finetune.solvers import exhaustive

    monkeypatch.setattr(exhaustive, "TABLE_ENTRIES", 10)
    problem = compile_problem(build_instance(tradeoff_document(servers=2, blocks=3, epochs=5)))
    output = exhaustive.solve_exhaustive(problem)
    (cand,) = problem.candidates
    assert output.status is Status.OPTIMAL and output.option_epochs is not None
    energy = cand.quantize_energy_j + float(output.option_epochs @ cand.option_energy_j)
    assert energy == pytest.approx(brute_force(problem), rel=1e-12)
    assert output.stats["enumerated"] == count_multisets(cand.epochs, cand.num_options)
