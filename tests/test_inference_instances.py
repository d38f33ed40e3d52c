"""The bundled inference instances (``instances/inference/``): they read, compile, and cost the
plain placements as a hand formula says."""

from __future__ import annotations

import pytest

from jqodi_opt.inference.evaluate import evaluate_inference
from jqodi_opt.inference.problem import compile_inference
from jqodi_opt.inference.read import read_inference
from jqodi_opt.inference.serving import best_single_cut, cut_plan

from .conftest import ROOT

INSTANCES = ROOT / "instances" / "inference"
MU = sorted((INSTANCES / "mu2024").glob("*.json"))
NICOSANTI = sorted((INSTANCES / "nicosanti2026").glob("*.json"))


def test_the_seeds_set_ups_are_all_there() -> None:
    assert len(MU) == 2 * 3 * 4
    assert [p.name for p in NICOSANTI] == [
        "yolo11n-4g.json",
        "yolo11n-lan.json",
        "yolo11n-wifi.json",
    ]


@pytest.mark.parametrize("path", MU + NICOSANTI, ids=lambda p: p.stem)
def test_instance_reads_and_compiles(path) -> None:
    instance = read_inference(path)
    problem = compile_inference(instance)
    assert problem.num_layers == len(instance.graph.names)
    assert problem.servers[problem.device] == instance.device.name


@pytest.mark.parametrize("path", [p for p in MU if p.stem.endswith("-4g")], ids=lambda p: p.stem)
def test_mu_all_local_and_all_server_by_hand(path) -> None:
    instance = read_inference(path)
    device, server = instance.servers
    link = instance.links[0]
    assert link.rate_bps is not None
    flops = instance.graph.total_flops
    n = len(instance.graph.names)
    local = evaluate_inference(instance, cut_plan(instance, n, server.name))
    assert local.latency_s == pytest.approx(flops / device.speed_flops)
    remote = evaluate_inference(instance, cut_plan(instance, 0, server.name))
    # the 32-bit input goes up; the result is not returned (Mu §IV-A)
    assert remote.latency_s == pytest.approx(
        8 * instance.graph.input_bytes / link.rate_bps + flops / server.speed_flops
    )
    best = best_single_cut(instance, server.name, "latency")
    assert best.evaluation.latency_s <= min(local.latency_s, remote.latency_s)


def test_yolo_keeps_its_dag() -> None:
    instance = read_inference(NICOSANTI[0])
    assert not instance.graph.is_chain
    assert len(instance.quantization.layers or []) == 12  # type: ignore[union-attr]
