"""The exact latency–energy front (SPEC §7.3): a hand-solved front with a non-supported point,
completeness against brute force on random instances, and the commands ``pareto``, ``solve`` and
``compare`` on inference files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from jqodi_opt.cli import main
from jqodi_opt.inference import build_inference, compile_inference
from jqodi_opt.inference.pareto import pareto_front, plot_front
from jqodi_opt.inference.problem import InferenceProblem
from jqodi_opt.inference.solvers.exhaustive import ExhaustiveSession
from jqodi_opt.inference.solvers.network import build_network

from .inference_random import random_inference


def three_servers() -> dict[str, Any]:
    """One 1 GFLOP layer; its 1-byte input goes anywhere for free (8e-9 s).

    device: 1 s, 1 J;  fast: 0.01 s, 2 J;  mid: 0.1 s, 1.95 J (above the segment from fast to
    device, which passes 1.909 J at 0.1 s: no weighted sum finds it);  twin: 0.1 s, 1.96 J (weakly
    dominated by mid);  slow: 2 s, 1 J (weakly dominated by the device).
    """
    servers = [
        ("device", 1e9, 1.0),
        ("fast", 1e11, 200.0),
        ("mid", 1e10, 19.5),
        ("twin", 1e10, 19.6),
        ("slow", 5e8, 0.5),
    ]
    return {
        "format": "jqodi-inference/1",
        "name": "three",
        "servers": [
            {
                "name": n,
                "tier": "device" if n == "device" else "edge",
                "speed_flops": s,
                "power_w": p,
            }
            for n, s, p in servers
        ],
        "links": [
            {"between": ["device", n], "rate_bps": 1e9, "energy_per_bit": 0.0}
            for n, _, _ in servers[1:]
        ],
        "model": {
            "format": "jqodi-model/1",
            "name": "m",
            "input_bytes": 1.0,
            "layers": [{"name": "conv", "flops": 1e9, "params": 10, "output_bytes": 1.0}],
        },
        "return_output": False,
    }


def compiled(document: dict[str, Any]) -> InferenceProblem:
    return compile_inference(build_inference(document))


@pytest.mark.parametrize("backend", ["milp", "cpsat", "dp", "dag-dp", "exhaustive"])
def test_front_finds_the_point_no_weighted_sum_finds(backend: str) -> None:
    front = pareto_front(compiled(three_servers()), backend)
    assert front.complete
    assert [p.plan.layers[0].server for p in front.front] == ["fast", "mid", "device"]
    assert [p.energy_j for p in front.front] == pytest.approx([2.0, 1.95, 1.0])
    assert [p.latency_s for p in front.front] == pytest.approx([0.01, 0.1, 1.0], rel=1e-6)
    assert [p.supported for p in front.front] == [True, False, True]
    payoff = front.payoff()  # Nicosanti's table, read off the ends: T*, E*, T^N, E^N
    assert payoff is not None and payoff.proven
    assert (payoff.latency_s, payoff.energy_j) == pytest.approx((0.01, 1.0), rel=1e-6)
    assert (payoff.latency_nadir_s, payoff.energy_nadir_j) == pytest.approx((1.0, 2.0), rel=1e-6)
    # 99 weights, two distinct answers: the ends
    assert [p.plan.layers[0].server for p in front.weighted_sum] == ["fast", "device"]
    assert sum(len(p.weights) for p in front.weighted_sum) == 99


def nondominated_by_brute_force(problem: InferenceProblem) -> list[tuple[float, float]]:
    network = build_network(problem)
    session = ExhaustiveSession(network)
    plans = session._block(0, int(np.prod(session.sizes)))
    measures = network.measure(plans)
    ok = network.feasible(measures)
    points = {(float(t), float(e)) for t, e in measures.cost[ok][:, :2]}
    return sorted(
        p for p in points if not any(q != p and q[0] <= p[0] and q[1] <= p[1] for q in points)
    )


@settings(max_examples=8)
@given(seed=st.integers(0, 10**6), dag=st.booleans(), accuracy=st.booleans(), limits=st.booleans())
def test_front_is_the_brute_force_front(seed: int, dag: bool, accuracy: bool, limits: bool) -> None:
    problem = compiled(
        random_inference(
            seed, layers=2, servers=3, dag=dag, accuracy=accuracy, limits=limits, pruning=False
        )
    )
    expected = nondominated_by_brute_force(problem)
    front = pareto_front(problem, "milp", sweep=np.array([]))
    got = [(p.latency_s, p.energy_j) for p in front.front]
    assert front.complete == bool(expected)
    assert len(got) == len(expected)
    for (t, e), (t_x, e_x) in zip(got, expected, strict=True):
        assert t == pytest.approx(t_x, rel=1e-6) and e == pytest.approx(e_x, rel=1e-6)


@settings(max_examples=40)
@given(
    seed=st.integers(0, 10**6),
    dag=st.booleans(),
    layers=st.integers(2, 4),
    accuracy=st.booleans(),
    compression=st.booleans(),
    limits=st.booleans(),
    resolution=st.sampled_from([1e-6, 0.05]),
)
def test_dag_dp_front_in_one_pass_is_the_epsilon_constraint_front(
    seed: int,
    dag: bool,
    layers: int,
    accuracy: bool,
    compression: bool,
    limits: bool,
    resolution: float,
) -> None:
    # dag-dp answers the whole front in one pass (or, with a device-energy limit, falls back to
    # its own epsilon-constraint solves); exhaustive walks the epsilon constraints
    problem = compiled(
        random_inference(
            seed, layers=layers, servers=3, dag=dag, accuracy=accuracy, limits=limits,
            compression=compression, pruning=False,
        )
    )  # fmt: skip
    if layers > 3 and build_network(problem).num_plans > 50_000:
        return
    expected = pareto_front(problem, "exhaustive", sweep=np.array([]), resolution=resolution)
    front = pareto_front(problem, "dag-dp", sweep=np.array([]), resolution=resolution)
    assert front.complete == expected.complete
    got = [(p.latency_s, p.energy_j) for p in front.front]
    want = [(p.latency_s, p.energy_j) for p in expected.front]
    assert len(got) == len(want), (got, want)
    for (t, e), (t_x, e_x) in zip(got, want, strict=True):
        assert t == pytest.approx(t_x, rel=1e-9) and e == pytest.approx(e_x, rel=1e-9)


def test_a_coarser_resolution_skips_a_point_within_its_step() -> None:
    # after fast (2.0 J) the next stage asks for E <= 1.9 J: mid (1.95 J) is skipped, and fast
    # covers it as promised: no slower (0.01 <= 0.1 s), at most 5 % dearer (2.0 <= 1.95 / 0.95)
    front = pareto_front(compiled(three_servers()), "exhaustive", resolution=0.05)
    assert front.complete and front.resolution == 0.05
    assert [p.plan.layers[0].server for p in front.front] == ["fast", "device"]
    with pytest.raises(ValueError, match="resolution"):
        pareto_front(compiled(three_servers()), "exhaustive", resolution=0.9)


@settings(max_examples=8)
@given(seed=st.integers(0, 10**6), dag=st.booleans(), resolution=st.sampled_from([0.01, 0.1, 0.3]))
def test_a_coarse_front_covers_every_nondominated_point(
    seed: int, dag: bool, resolution: float
) -> None:
    problem = compiled(random_inference(seed, layers=2, servers=3, dag=dag, pruning=False))
    exact = nondominated_by_brute_force(problem)
    front = pareto_front(problem, "exhaustive", sweep=np.array([]), resolution=resolution)
    got = [(p.latency_s, p.energy_j) for p in front.front]
    assert front.complete == bool(exact) and len(got) <= len(exact)
    slack = 1 + 1e-9
    for t, e in got:  # every reported point is a point of the exact front
        assert any(
            t == pytest.approx(t_x, rel=1e-6) and e == pytest.approx(e_x, rel=1e-6)
            for t_x, e_x in exact
        )
    for t_x, e_x in exact:  # and covers it: no slower, at most `resolution` dearer
        assert any(t <= t_x * slack and e * (1 - resolution) <= e_x * slack for t, e in got)


def test_progress_hears_each_point_and_ctrl_c_keeps_the_points_so_far() -> None:
    lines: list[str] = []
    front = pareto_front(compiled(three_servers()), "exhaustive", progress=lines.append)
    assert [line.split(":")[0] for line in lines if line.startswith("front")] == [
        "front point 1",
        "front point 2",
        "front point 3",
    ]
    assert front.sweep_source == "front"  # no solve: the complete front answers the sweep
    lines.clear()
    pareto_front(compiled(three_servers()), "exhaustive", progress=lines.append, solve_sweep=True)
    assert lines[-1].startswith("weighted sums: 99 of 99")

    def interrupt_after_the_second(line: str) -> None:
        if line.startswith("front point 2"):
            raise KeyboardInterrupt

    front = pareto_front(
        compiled(three_servers()), "exhaustive", progress=interrupt_after_the_second
    )
    assert front.interrupted and not front.complete and not front.weighted_sum
    assert [p.plan.layers[0].server for p in front.front] == ["fast", "mid"]
    assert front.reasons == ["interrupted after 2 points"]


@settings(max_examples=6)
@given(seed=st.integers(0, 10**6), dag=st.booleans())
def test_the_sweep_read_off_the_front_is_the_solved_sweep(seed: int, dag: bool) -> None:
    problem = compiled(random_inference(seed, layers=2, servers=3, dag=dag, pruning=False))
    weights = np.linspace(0, 1, 13)[1:-1]
    read = pareto_front(problem, "exhaustive", sweep=weights)
    solved = pareto_front(problem, "exhaustive", sweep=weights, solve_sweep=True)
    if len(read.front) >= 2:
        assert (read.sweep_source, solved.sweep_source) == ("front", "solves")
    t_star, e_nadir = read.front[0].latency_s, read.front[0].energy_j
    t_nadir, e_star = read.front[-1].latency_s, read.front[-1].energy_j
    d_t, d_e = max(t_nadir - t_star, 1e-300), max(e_nadir - e_star, 1e-300)

    def value_per_weight(front: Any) -> dict[float, float]:
        return {
            w: w * (p.latency_s - t_star) / d_t + (1 - w) * (p.energy_j - e_star) / d_e
            for p in front.weighted_sum
            for w in p.weights
        }

    got, expected = value_per_weight(read), value_per_weight(solved)
    assert sorted(got) == sorted(expected) == sorted(float(w) for w in weights)
    for w, value in expected.items():
        assert got[w] == pytest.approx(value, rel=1e-6, abs=1e-9)
    assert [p.supported for p in read.front] == [p.supported for p in solved.front]


def test_plot_front_draws_on_the_given_axes() -> None:
    front = pareto_front(compiled(three_servers()), "dp")
    ax = Figure().add_subplot()
    assert plot_front(front, ax, baselines={"all-local": (1.0, 1.0)}) is ax
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("non-supported" in s for s in labels) and "all-local" in labels
    assert len(ax.collections) == 4  # supported, non-supported, weighted sums, one baseline


# -------------------------------------------------------------------------------------------------
# commands


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_pareto_command_json_and_plot(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "three.json"
    path.write_text(json.dumps(three_servers()))
    plot = tmp_path / "front.png"
    code, out, _ = run(capsys, "pareto", str(path), "--json", "--plot", str(plot))
    assert code == 0
    document = json.loads(out)
    assert document["complete"] is True
    assert [p["latency_s"] for p in document["front"]] == sorted(
        p["latency_s"] for p in document["front"]
    )
    assert len(document["front"]) == 3 and len(document["weighted_sum"]) == 2
    assert document["front"][1]["plan"]["format"] == "jqodi-inference-plan/1"
    assert plot.stat().st_size > 0
    code, _, err = run(capsys, "pareto", str(path), "--solver", "qio")
    assert code == 2 and "--solver" in err
    code, _, err = run(capsys, "pareto", str(path), "--resolution", "0.6")
    assert code == 2 and "--resolution" in err and "Traceback" not in err
    code, out, _ = run(capsys, "pareto", str(path), "--resolution", "0.05", "--json")
    assert code == 0 and len(json.loads(out)["front"]) == 2


def test_an_empty_front_out_of_time_is_not_called_infeasible(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # the deadline passes before the first solve: no plan, but nothing proven (was: "no plan
    # meets memory, the accuracy budget and the limits", exit 1)
    front = pareto_front(compiled(three_servers()), "milp", time_limit=1e-9)
    assert front.front == [] and not front.infeasible and front.weighted_sum == []
    assert not any("no plan meets" in reason for reason in front.reasons)
    path = tmp_path / "three.json"
    path.write_text(json.dumps(three_servers()))
    code, _, err = run(capsys, "pareto", str(path), "--time-limit", "1e-9")
    assert code == 3 and "not proven infeasible" in err


def test_pareto_plot_path_problems_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "three.json"
    path.write_text(json.dumps(three_servers()))
    code, _, err = run(capsys, "pareto", str(path), "--plot", str(tmp_path / "no" / "f.png"))
    assert code == 2 and err.startswith("error: --plot") and "Traceback" not in err
    code, _, err = run(capsys, "pareto", str(path), "--plot", str(tmp_path / "f.xyz"))
    assert code == 2 and "Format 'xyz' is not supported" in err and "Traceback" not in err


def test_solve_and_compare_take_inference_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "three.json"
    document = three_servers() | {"objective": "latency"}
    path.write_text(json.dumps(document))
    code, out, _ = run(capsys, "solve", str(path), "--solver", "dp", "--json")
    assert code == 0
    plan = json.loads(out)
    assert plan["format"] == "jqodi-inference-plan/1" and plan["status"] == "optimal"
    assert plan["layers"][0]["server"] == "fast" and plan["energy_j"] == pytest.approx(2.0)
    code, out, _ = run(capsys, "compare", str(path), "--json")
    assert code == 0
    rows = {row["solver"]: row for row in json.loads(out)["rows"]}
    assert rows["milp"]["gap_to_optimum"] == pytest.approx(0.0, abs=1e-9)
    assert rows["milp"]["layers_per_server"] == {"fast": 1}
    assert rows["milp"]["cut_tensors"] == ["input"]
    code, out, _ = run(capsys, "compare", str(path))
    assert code == 0 and "gap to optimum" in out


def test_one_unproven_point_is_not_called_every_weighted_sum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a single front point found before the time limit says nothing about the weighted sums
    # (was: every weight credited to it, "read off the front")
    from jqodi_opt.inference import pareto

    calls = {"n": 0}

    def expire_after_the_first_point(deadline: float | None) -> bool:
        calls["n"] += 1
        return calls["n"] > 1

    monkeypatch.setattr(pareto, "expired", expire_after_the_first_point)
    front = pareto_front(compiled(three_servers()), "exhaustive")
    assert len(front.front) == 1 and not front.complete
    assert front.weighted_sum == [] and front.sweep_source == "none"


@pytest.mark.parametrize(
    ("dag", "servers", "interactions", "picked"),
    [
        (False, 3, False, "dp"),
        (True, 3, False, "dag-dp"),
        (True, 3, True, "milp"),  # dp and dag-dp refuse a budget with binding interactions
        (True, 4, False, "dag-dp"),  # a front dag-dp answers in one pass: up to 5 servers
    ],
)
def test_auto_takes_the_fastest_backend_that_accepts_the_instance(
    dag: bool, servers: int, interactions: bool, picked: str
) -> None:
    for seed in range(50):
        problem = compiled(
            random_inference(
                seed, layers=3, servers=servers, dag=dag, accuracy=interactions,
                interactions=interactions, pruning=False,
            )
        )  # fmt: skip
        network = build_network(problem)
        if network.chain == (not dag) and network.budget_binds() == interactions:
            break
    else:
        pytest.fail("no such random instance in 50 seeds")
    front = pareto_front(problem, sweep=np.array([]))
    assert front.solver == picked
    assert front.complete
    reference = pareto_front(problem, "exhaustive", sweep=np.array([]))
    got = [x for p in front.front for x in (p.latency_s, p.energy_j)]
    want = [x for p in reference.front for x in (p.latency_s, p.energy_j)]
    assert got == pytest.approx(want, rel=1e-9)


def test_auto_hands_over_to_milp_when_dag_dp_runs_out_of_labels(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from jqodi_opt.inference.solvers import dagdp

    problem = compiled(random_inference(11, layers=4, servers=3, dag=True, pruning=False))
    reference = pareto_front(problem, "exhaustive", sweep=np.array([]))
    monkeypatch.setattr(dagdp, "MAX_CANDIDATES", 1)  # every exact pass stops at once
    front = pareto_front(problem, sweep=np.array([]))
    assert front.solver == "milp" and front.complete
    assert {p.plan.solver for p in front.front} == {"milp"}
    got = [x for p in front.front for x in (p.latency_s, p.energy_j)]
    want = [x for p in reference.front for x in (p.latency_s, p.energy_j)]
    assert got == pytest.approx(want, rel=1e-9)
    # asked for by name, dag-dp keeps the narrow passes' plans, unproven
    capped = pareto_front(problem, "dag-dp", sweep=np.array([]))
    assert not capped.complete and capped.front
    assert any("candidate labels" in reason for reason in capped.reasons)


def test_auto_hands_a_chain_over_to_milp_when_dp_runs_out_of_labels() -> None:
    from jqodi_opt.inference.solvers.dp import DpSession
    from jqodi_opt.inference.solvers.sessions import AutoSession

    weights, no_limits = np.array([1.0, 0.0, 0.0]), np.full(3, np.inf)
    for seed in range(50):
        network = build_network(
            compiled(random_inference(seed, layers=3, servers=3, accuracy=True, pruning=False))
        )
        if DpSession(network, max_labels=1).solve(weights, no_limits, None).status.value == "error":
            break
    else:
        pytest.fail("no chain in 50 seeds where dp needs more than one label")
    session = AutoSession(network, "dp", DpSession(network, max_labels=1), None)
    out = session.solve(weights, no_limits, None)
    reference = ExhaustiveSession(network).solve(weights, no_limits, None)
    assert session.name == "milp" and out.status is reference.status
    assert out.choices is not None and reference.choices is not None
    cost, best = network.measure(out.choices).cost, network.measure(reference.choices).cost
    assert cost[0] == pytest.approx(best[0], rel=1e-9)


def test_auto_keeps_dag_dp_to_three_servers_outside_one_pass_fronts() -> None:
    from jqodi_opt.inference.solvers.sessions import open_session

    for seed in range(50):
        network = build_network(compiled(random_inference(seed, layers=3, servers=4, dag=True)))
        if not network.chain and not network.budget_binds():
            break
    assert open_session(network, "auto")[0] == "milp"  # single objectives, payoff tables
    assert open_session(network, "auto", front=True)[0] == "dag-dp"
    limited = type(network)(**{**network.__dict__, "limits": np.array([np.inf, np.inf, 1.0])})
    assert open_session(limited, "auto", front=True)[0] == "milp"  # no one-pass front
