"""The instance generator: determinism, size knobs, each family's promise, T_max by tightness."""

from __future__ import annotations

import json

import numpy as np
import pytest

from jqodi_opt import compile_problem, evaluate
from jqodi_opt.cli import main
from jqodi_opt.finetune.generate import (
    FAMILIES,
    generate,
    generate_document,
    instance_hash,
    plan_time_range,
    write_document,
)
from jqodi_opt.finetune.plan import Plan, ScheduleEntry
from jqodi_opt.read import build_instance, read_instance


@pytest.mark.parametrize("family", FAMILIES)
def test_same_seed_same_bytes(family, tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    write_document(generate_document(family, seed=7), first)
    write_document(generate_document(family, seed=7), second)
    assert first.read_bytes() == second.read_bytes()
    other = generate_document(family, seed=8)
    assert instance_hash(other) != instance_hash(json.loads(first.read_text()))
    read_instance(first)  # the file is a valid instance


def test_cli_generate_is_deterministic(tmp_path, capsys):
    args = ["generate", "--family", "tradeoff", "--seed", "3", "--edge-servers", "3"]
    assert main([*args, "--out", str(tmp_path / "a.json")]) == 0
    assert main([*args, "--out", str(tmp_path / "b.json")]) == 0
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    capsys.readouterr()
    assert main(args) == 0  # no --out: the document on stdout
    assert json.loads(capsys.readouterr().out) == json.loads((tmp_path / "a.json").read_text())


@pytest.mark.parametrize("family", FAMILIES)
def test_size_knobs(family):
    kw = dict(models=3, bitwidths=2, blocks=6, cuts=4, edge_servers=5, epochs=30)
    instance = generate(family, seed=1, **kw)
    assert len(instance.models) == 3 and len(instance.bitwidths) == 2
    assert len(instance.edge_servers) == 5 and len(instance.links) == 5
    assert all(len(m.blocks) == 6 and len(m.cut_points) == 4 for m in instance.models)
    problem = compile_problem(instance)
    assert all(c.num_options == 5 * 4 for c in problem.candidates)
    if family != "paper-like":  # paper-like may mark a 2-bit pair infeasible, as the paper's
        assert len(problem.candidates) == 6
        assert all(abs(c.epochs - 30) <= 2 for c in problem.candidates)


def test_scales_to_ten_thousand_options_and_epochs():
    document = generate_document(
        "tradeoff", seed=1, models=1, bitwidths=1, edge_servers=100, blocks=99, epochs=10_000
    )
    problem = compile_problem(build_instance(document))
    (cand,) = problem.candidates
    assert cand.num_options == 10_000
    assert abs(cand.epochs - 10_000) <= 500
    assert len(cand.pareto_options()) == 10_000


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(
    "sizes",
    [dict(), dict(models=1, bitwidths=1, edge_servers=30, blocks=20), dict(bitwidths=5, cuts=3)],
)
def test_tradeoff_has_no_dominated_option(seed, sizes):
    problem = compile_problem(generate("tradeoff", seed=seed, **sizes))
    for cand in problem.candidates:
        assert len(cand.pareto_options()) == cand.num_options
        order = np.argsort(cand.option_time_s)
        assert np.all(np.diff(cand.option_time_s[order]) > 0)  # faster ...
        assert np.all(np.diff(cand.option_energy_j[order]) < 0)  # ... is always dearer
        # and all options lie on one line e = C - beta * t (the strongly correlated case)
        slope, intercept = np.polyfit(cand.option_time_s, cand.option_energy_j, 1)
        fitted = intercept + slope * cand.option_time_s
        assert slope < 0
        assert np.allclose(fitted, cand.option_energy_j, rtol=1e-9)


def test_uncorrelated_has_many_dominated_options():
    problem = compile_problem(generate("uncorrelated", seed=2, edge_servers=6))
    dominated = [1 - len(c.pareto_options()) / c.num_options for c in problem.candidates]
    assert min(dominated) > 0.3


def test_paper_like_looks_like_the_testbed():
    instance = generate("paper-like", seed=4)
    assert 5e9 <= instance.device.speed_flops <= 3e10  # a Raspberry Pi 5
    assert instance.device.train_samples in (2000, 5000)  # Data 1 / Data 2
    assert [b.bits for b in instance.bitwidths] == [2, 4, 6, 8]
    assert all(2e10 <= e.speed_flops <= 2e12 for e in instance.edge_servers)
    assert all(lk.bandwidth_hz in (1e7, 2e7, 4e7) for lk in instance.links)  # Wi-Fi channels
    for entry in instance.learning:
        if entry.infeasible:
            continue
        assert entry.power_law is not None
        assert set(entry.truth) == {"floor", "exponent"}
    problem = compile_problem(instance)
    for cand in problem.candidates:
        assert cand.epochs_robust is not None and cand.epochs_expected is not None
        assert cand.epochs_robust >= cand.epochs_expected


def fastest_plan(problem, cand_index):
    cand = problem.candidates[cand_index]
    option = int(np.argmin(cand.option_time_s))
    server = problem.edge_servers[cand.option_edge_server[option]]
    schedule = [ScheduleEntry(edge_server=server, cut=int(cand.option_cut[option]),
                              epochs=cand.epochs)]  # fmt: skip
    return Plan(model=cand.model, bits=cand.bits, schedule=schedule)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_tightness_zero_is_feasible_and_tight(family, seed):
    document = generate_document(family, seed=seed, tightness=0.0)
    instance = build_instance(document)
    problem = compile_problem(instance)
    fastest = min(range(len(problem.candidates)), key=lambda c: problem.candidates[c].min_time_s)
    assert problem.time_limit_s == pytest.approx(problem.candidates[fastest].min_time_s, rel=1e-12)
    assert evaluate(instance, fastest_plan(problem, fastest)).feasible
    # Any less time and no plan fits.
    document["limits"]["time_s"] *= 1 - 1e-6
    assert compile_problem(build_instance(document)).infeasibility_reasons()


@pytest.mark.parametrize("family", FAMILIES)
def test_tightness_places_the_time_limit(family):
    limits = [
        generate_document(family, seed=5, tightness=t)["limits"]["time_s"]
        for t in (0.0, 0.25, 0.5, 1.0)
    ]
    assert limits == sorted(limits)
    problem = compile_problem(build_instance(generate_document(family, seed=5, tightness=1.0)))
    fastest, least_energy_time = plan_time_range(problem)
    assert limits[0] == pytest.approx(fastest)
    assert limits[-1] == pytest.approx(least_energy_time)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(family="nope"), "family 'nope' not understood"),
        (dict(family="tradeoff", tightness=1.5), "tightness = 1.5"),
        (dict(family="tradeoff", cuts=9, blocks=3), "cuts = 9"),
        (dict(family="tradeoff", edge_servers=0), "edge_servers = 0"),
        (dict(family="tradeoff", bitwidths=33), "bitwidths = 33"),
        (dict(family="tradeoff", seed=-1), "seed = -1"),
    ],
)
def test_bad_arguments(kwargs, message):
    kwargs.setdefault("seed", 1)
    family = kwargs.pop("family")
    with pytest.raises(ValueError, match=message):
        generate_document(family, **kwargs)


def test_cli_generate_bad_family(capsys):
    assert main(["generate", "--family", "nope"]) == 2
    assert "'--family': 'nope' is not one of 'paper-like'," in capsys.readouterr().err
