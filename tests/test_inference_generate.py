"""Inference generator families: determinism, shapes in the style of the seeds, knob checks."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from jqodi_opt.inference.generate import (
    KNOBS,
    generate_inference_document,
    instance_hash,
    resolve_knobs,
    server_tiers,
    write_inference_document,
)
from jqodi_opt.inference.problem import compile_inference
from jqodi_opt.inference.read import build_inference, read_inference


def _graph(document):
    return build_inference(document).graph


@pytest.mark.parametrize(
    ("family", "knobs"),
    [
        ("chain", {"layers": 30, "servers": 4, "bits": 3, "pruning": 2, "compression": 3,
                   "interactions": 5}),
        ("dag", {"layers": 40, "branches": 3, "branch_layers": 6, "servers": 6,
                 "objective": "weighted"}),
    ],
)  # fmt: skip
def test_same_seed_same_bytes(tmp_path, family, knobs):
    a = generate_inference_document(family, seed=7, **knobs)
    b = generate_inference_document(family, seed=7, **knobs)
    write_inference_document(a, tmp_path / "a.json")
    write_inference_document(b, tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert instance_hash(a) == instance_hash(b)
    other = generate_inference_document(family, seed=8, **knobs)
    assert instance_hash(other) != instance_hash(a)
    # the file goes through the normal reader and compiles
    instance = read_inference(tmp_path / "a.json")
    problem = compile_inference(instance)
    assert problem.num_servers == knobs["servers"]


def test_chain_shape_and_line_network():
    document = generate_inference_document("chain", seed=3, layers=25, servers=6)
    graph = _graph(document)
    assert len(graph.layers) == 25 and graph.is_chain
    tiers = [s["tier"] for s in document["servers"]]
    assert tiers == server_tiers(6) == ["device", "edge", "edge", "edge", "cloud", "cloud"]
    names = [s["name"] for s in document["servers"]]
    link = {frozenset(lk["between"]): lk for lk in document["links"]}
    assert len(link) == 15  # every pair of 6 servers
    for i in range(6):
        # from each server, the farther along the line, the slower and the later
        onward = [link[frozenset((names[i], names[j]))] for j in range(i + 1, 6)]
        rates = [lk["rate_bps"] for lk in onward]
        latencies = [lk["latency_s"] for lk in onward]
        assert rates == sorted(rates, reverse=True) and len(set(rates)) == len(rates)
        assert latencies == sorted(latencies)
    # placement only: no quantization, pruning, compression or accuracy section
    assert not {"quantization", "pruning", "compression", "accuracy"} & set(document)
    assert document["objective"] == "latency"


@pytest.mark.parametrize("servers", [1, 2, 3, 4, 5, 6])
def test_server_tiers(servers):
    tiers = server_tiers(servers)
    assert tiers[0] == "device" and tiers.count("device") == 1 and len(tiers) == servers
    # edges before clouds, never more clouds than edges
    assert tiers == sorted(tiers, key=["device", "edge", "cloud"].index)
    assert tiers.count("cloud") <= tiers.count("edge")


def test_dag_branches_join_and_skips():
    main, branches, length = 400, 4, 30
    document = generate_inference_document(
        "dag", seed=11, layers=main, branches=branches, branch_layers=length, servers=3
    )
    graph = _graph(document)
    assert len(graph.layers) == main + branches * length
    g = graph.to_networkx()
    assert nx.is_directed_acyclic_graph(g)
    assert graph.outputs == [f"m{main - 1:05d}"]  # every side branch merges back
    for b in range(1, branches + 1):
        first, last = f"b{b:02d}_{0:05d}", f"b{b:02d}_{length - 1:05d}"
        (fork,) = g.predecessors(first)
        joins = [u for u in g.successors(last) if u.startswith("m")]
        assert len(joins) == 1
        assert int(fork[1:]) < main // 2 < int(joins[0][1:])
    # skip connections: each layer feeds the one two places on with probability 0.15
    skips = sum(
        1
        for u, v in g.edges
        if u != "input" and u[0] == v[0] == "m" and int(v[1:]) - int(u[1:]) == 2
    )
    rate = skips / (main - 2)
    assert 0.09 < rate < 0.21  # 0.15 ± 3.4 standard deviations of a binomial over 398 draws
    no_skips = generate_inference_document(
        "dag", seed=11, layers=50, branches=0, branch_layers=1, skip_probability=0.0
    )
    assert _graph(no_skips).is_chain


def test_choices_and_accuracy_terms():
    document = generate_inference_document(
        "chain", seed=2, layers=10, bits=2, pruning=3, compression=2, interactions=4
    )
    assert document["quantization"] == {"bits": [32, 8]}
    assert document["pruning"] == {"ratios": [0.0, 0.5, 0.25]}
    assert document["compression"] == {"ratios": [1.0, 0.25]}
    terms = document["accuracy"]["terms"]
    # one term per layer and non-trivial choice: 10 x (1 bit-width + 2 ratios) + 11 tensors x 1
    assert len(terms) == 10 * 3 + 11
    assert all(t["drop"] >= 0 for t in terms)
    assert document["accuracy"]["max_drop"] == 0.02
    assert 1 <= len(document["accuracy"]["interactions"]) <= 4
    problem = compile_inference(build_inference(document))
    assert list(problem.bits) == [8, 32] and problem.max_drop == 0.02


def test_weighted_objective_is_nicosanti_half_half():
    document = generate_inference_document("chain", seed=1, layers=5, objective="weighted")
    assert document["objective"] == {"weighted": {"latency": 0.5, "energy": 0.5}}


@pytest.mark.parametrize(
    ("family", "knobs", "message"),
    [
        ("chain", {"layer": 5}, "unknown knob 'layer'"),
        ("chain", {"layers": 0}, "layers = 0"),
        ("chain", {"layers": 2.5}, "an integer"),
        ("chain", {"servers": 13}, "servers = 13"),
        ("chain", {"objective": "speed"}, "objective = 'speed'"),
        ("chain", {"bits": 4}, "bits = 4"),
        ("dag", {"skip_probability": 1.5}, "skip_probability = 1.5"),
        ("dag", {"layers": 3}, "layers = 3"),
        ("mu2024", {"device": "pi5"}, "device = 'pi5'"),
        ("mu2024", {"rate_mbps": 1.0, "snr_db": 10.0}, "not both"),
        ("profile", {"model": "no-such-model"}, "a bundled profile"),
        ("nope", {}, "family 'nope'"),
    ],
)
def test_bad_knobs(family, knobs, message):
    with pytest.raises(ValueError, match=message):
        resolve_knobs(family, **knobs)


def test_bad_seed():
    with pytest.raises(ValueError, match="seed"):
        generate_inference_document("chain", seed=-1)


def test_every_family_lists_objective_and_default_knobs_resolve():
    for family, knobs in KNOBS.items():
        assert "objective" in knobs
        if family in ("chain", "dag"):
            assert resolve_knobs(family) == {k: v for k, v in knobs.items()}


def test_generated_costs_are_sane():
    """Device slower than the edge, edge slower than the cloud; the cloud is farther away."""
    speeds: dict[str, list[float]] = {"device": [], "edge": [], "cloud": []}
    for seed in range(5):
        document = generate_inference_document("chain", seed=seed, layers=3, servers=3)
        for server in document["servers"]:
            speeds[server["tier"]].append(server["speed_flops"])
    assert max(speeds["device"]) < min(speeds["edge"]) < max(speeds["edge"]) < min(speeds["cloud"])
    assert np.median(speeds["device"]) == pytest.approx(3e9, rel=1.0)


def test_server_names_in_line_order():
    document = generate_inference_document("chain", seed=1, layers=2, servers=4)
    assert [s["name"] for s in document["servers"]] == ["device", "edge1", "edge2", "cloud3"]


def test_cli_generate_inference_family(tmp_path, capsys):
    from jqodi_opt.cli import main

    out = tmp_path / "dag.json"
    args = ["generate", "--family", "dag", "--seed", "4", "-k", "layers=12", "-k", "branches=1",
            "-k", "branch_layers=3", "-k", "objective=energy", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    expected = tmp_path / "expected.json"
    write_inference_document(
        generate_inference_document(
            "dag", seed=4, layers=12, branches=1, branch_layers=3, objective="energy"
        ),
        expected,
    )
    assert out.read_bytes() == expected.read_bytes()
    assert read_inference(out).objective == "energy"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--family", "chain", "-k", "layer=5"], "--knob 'layer=5' not understood"),
        (["--family", "chain", "-k", "layers=x"], "'x' is not a number"),
        (["--family", "chain", "-k", "layers=0"], "layers = 0 not understood"),
        (["--family", "chain", "--blocks", "3"], "--blocks is a fine-tuning size"),
        (["--family", "tradeoff", "-k", "layers=3"], "--knob is for the inference families"),
        (["--family", "nope"], "'uncorrelated', 'chain', 'dag', 'profile', 'mu2024'."),
    ],
)
def test_cli_generate_bad_knobs(args, message, capsys):
    from jqodi_opt.cli import main

    assert main(["generate", *args]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err
    assert captured.out == ""


def test_mu2024_is_the_papers_setup():
    """Mu et al. Table I speeds and Table III rates (through the catalogue), the 2 % budget, the
    pruning/compression anchors of §I; the seed changes nothing."""
    document = generate_inference_document("mu2024", seed=1, device="pi3b", link="3g")
    assert generate_inference_document("mu2024", seed=9, device="pi3b", link="3g") == document
    device, server = document["servers"]
    assert (device["tier"], device["speed_flops"]) == ("device", 0.2e9)
    assert (server["tier"], server["speed_flops"]) == ("edge", 10_600e9)
    assert document["links"][0]["rate_bps"] == 1.19e6
    assert document["accuracy"]["max_drop"] == 0.02
    drops = {(t.get("layer"), t.get("pruning")): t["drop"] for t in document["accuracy"]["terms"]}
    conv2 = "/features/features.3/Conv"
    assert drops[(conv2, 0.74)] == pytest.approx(0.02, rel=0.01)
    assert drops[(conv2, 0.89)] == pytest.approx(0.05, rel=0.01)
    squeeze = {t["compression"]: t["drop"] for t in document["accuracy"]["terms"]
               if t.get("tensor") == "/classifier/classifier.1/Gemm"}  # fmt: skip
    assert squeeze[0.065] == pytest.approx(0.02, rel=0.01)
    assert squeeze[0.002] == pytest.approx(0.07, rel=0.01)
    rate = generate_inference_document("mu2024", seed=1, device="tk1", rate_mbps=0.5)
    assert rate["servers"][0]["speed_flops"] == 326.4e9
    assert rate["links"][0]["rate_bps"] == 0.5e6
    snr = generate_inference_document("mu2024", seed=1, snr_db=20.0)
    problem = compile_inference(build_inference(snr))
    # Shannon: 1 MHz x log2(1 + 100)
    assert problem.link_rate_bps[0, 1] == pytest.approx(1e6 * np.log2(101.0), rel=1e-12)


def test_profile_family_uses_catalogue_machines():
    from jqodi_opt.hardware import hardware_catalogue

    catalogue = {d.name: d for d in hardware_catalogue().devices}
    document = generate_inference_document("profile", seed=5, model="resnet18", servers=4)
    graph = _graph(document)
    assert len(graph.layers) == 49 and not graph.is_chain
    for server, tier in zip(document["servers"], server_tiers(4), strict=True):
        entry = catalogue[server["name"].rsplit("-", 1)[0] if tier != "device" else server["name"]]
        assert server["tier"] == tier and entry.tier in (tier, "edge")
        assert server["speed_flops"] == entry.speed_flops
    uplinks = {link.rate_bps for link in hardware_catalogue().links}
    assert document["links"][0]["rate_bps"] in uplinks
