"""Compiling an instance into the numbers the solvers read."""

from __future__ import annotations

import numpy as np
import pytest

from jqodi_opt import compile_problem
from jqodi_opt.finetune.problem import Candidate
from jqodi_opt.read import build_instance, instance_to_dict


def test_candidates_and_exclusions(tiny) -> None:
    problem = compile_problem(tiny)
    assert [c.name for c in problem.candidates] == ["m1@4", "m1@8"]
    assert [(e.model, e.bits, e.reason) for e in problem.excluded] == [
        ("m1", 32, "marked infeasible (gamma = inf)")
    ]
    lenet8 = problem.candidates[1]
    assert (lenet8.epochs, lenet8.epochs_expected, lenet8.epochs_robust) == (29, 26, 29)
    assert lenet8.budget_s == pytest.approx(180.0 - 1e-4)  # T_max - 1e9 / 1e13
    assert lenet8.option_cut.tolist() == [0, 1, 2]
    assert compile_problem(tiny, "expected").candidates[1].epochs == 26


def test_unknown_estimator_is_refused(tiny) -> None:
    with pytest.raises(ValueError, match="estimator 'median' not understood"):
        compile_problem(tiny, "median")  # type: ignore[arg-type]


def _candidate(times: list[float], energies: list[float]) -> Candidate:
    n = len(times)
    return Candidate(
        model="m", bits=8, epochs=3, epochs_expected=3, epochs_robust=3,
        final_loss_expected=0.0, final_loss_robust=0.0, quantize_time_s=0.0,
        quantize_energy_j=0.0, budget_s=10.0, option_edge_server=np.zeros(n, dtype=np.int64),
        option_cut=np.arange(n), option_time_s=np.array(times), option_energy_j=np.array(energies),
    )  # fmt: skip


def test_pareto_options_drop_dominated_and_duplicates() -> None:
    # (time, energy): 0:(1,5) 1:(2,4) 2:(2,6) dominated by 1, 3:(3,4) dominated by 1,
    # 4:(1,5) identical to 0 -> the lower index stays, 5:(4,1)
    cand = _candidate([1, 2, 2, 3, 1, 4], [5, 4, 6, 4, 5, 1])
    assert cand.pareto_options().tolist() == [0, 1, 5]


def test_restrict_keeps_what_the_filters_allow(tiny) -> None:
    problem = compile_problem(tiny)
    local = problem.restrict(option_filter=lambda c: c.option_cut == 2, reason="all-local")
    assert [c.option_cut.tolist() for c in local.candidates] == [[2], [2]]
    only8 = problem.restrict(candidate_filter=lambda c: c.bits == 8, reason="8 bits only")
    assert [c.name for c in only8.candidates] == ["m1@8"]
    assert ("m1", 4, "8 bits only") in [(e.model, e.bits, e.reason) for e in only8.excluded]


def test_infeasibility_reasons_name_each_candidate(tiny) -> None:
    doc = instance_to_dict(tiny)
    doc["limits"]["time_s"] = 0.01
    problem = compile_problem(build_instance(doc))
    reasons = problem.infeasibility_reasons()
    assert reasons[0] == "m1@32: marked infeasible (gamma = inf)"
    assert reasons[1].startswith("m1@4: fastest plan needs ")
    assert "> T_max 0.01 s (2 epochs)" in reasons[1]
    assert reasons[2].startswith("m1@8: fastest plan needs ")
    assert compile_problem(tiny).infeasibility_reasons() == []


def test_size_counts_epoch_option_pairs(tiny) -> None:
    # m1@4: K = 2 robust epochs x 3 options; m1@8: 29 x 3.
    assert compile_problem(tiny).num_epoch_options == 2 * 3 + 29 * 3
