"""Reading, validating and writing inference instances and plans (SPEC §7.5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from jqodi_opt import graph
from jqodi_opt.exceptions import InstanceError, PlanError
from jqodi_opt.inference.plan import (
    InferencePlan,
    LayerChoice,
    build_inference_plan,
    read_inference_plan,
    write_inference_plan,
)
from jqodi_opt.inference.read import (
    build_inference,
    inference_to_dict,
    read_inference,
    write_inference,
)

from .conftest import DATA

BROKEN = DATA / "broken_inference"
PLAN = "jqodi-inference-plan/1"
FORMAT = "jqodi-model/1"
CHAIN3 = DATA / "inference" / "chain3.json"

# Each deliberately broken file and the one line `validate` must give for it (after "file: ").
EXPECTED = {
    "bad_objective.json": "objective: must be 'latency', 'energy' or 'device-energy' (got 'speed')",
    "bad_tier.json": "servers[1].tier: must be 'device', 'edge' or 'cloud' (got 'fog')",
    "bits_too_wide.json": "quantization.bits[1]: must be <= 32 (got 64)",
    "compression_above_one.json": "compression.ratios[0]: must be <= 1 (got 1.5)",
    "compression_zero.json": "compression.ratios[1]: must be > 0 (got 0)",
    "dangling_input.json": "model.layers[1].inputs[0]: unknown layer 'zzz'",
    "duplicate_bits.json": "quantization.bits[2]: duplicate bit-width 8",
    "duplicate_layer.json": "model.layers[2].name: duplicate layer name 'a'",
    "duplicate_server.json": "servers[2].name: duplicate name 'edge'",
    "graph_cycle.json": "model.layers[0].inputs[0]: 'c' is not an earlier layer (cycle)",
    "interaction_out_of_range.json": "accuracy.interactions[0].of[1]: no term 7 (there are 3)",
    "interaction_same_term.json": (
        "accuracy.interactions[0].of: an interaction joins two different terms"
    ),
    "link_rate_and_shannon.json": (
        "links[0]: give either rate_bps or bandwidth_hz + snr_db, not both"
    ),
    "link_to_itself.json": "links[0].between: a link joins two different servers",
    "link_unknown_server.json": "links[0].between[1]: unknown server 'fog'",
    "link_without_rate.json": "links[0]: needs rate_bps, or both bandwidth_hz and snr_db",
    "missing_model_file.json": "model.file: nowhere.json: no such file",
    "model_not_mapping.json": "model: must be a mapping (got 3)",
    "negative_latency.json": "links[0].latency_s: must be >= 0 (got -0.01)",
    "negative_layer_flops.json": "model.layers[1].flops: must be >= 0 (got -1.0)",
    "negative_max_drop.json": "accuracy.max_drop: must be >= 0 (got -0.1)",
    "no_device.json": "servers: no server of tier 'device'",
    "not_json.json": "not valid JSON at line 2 column 13: Expecting value",
    "pruned_layer_missing.json": "pruning.layers[1]: unknown layer 'q'",
    "pruning_one.json": "pruning.ratios[1]: must be < 1 (got 1.0)",
    "quantizable_layer_missing.json": "quantization.layers[1]: unknown layer 'zz'",
    "return_output_string.json": "return_output: must be true or false (got 'yes')",
    "speedup_bad_key.json": "servers[0].speedup: key 'eight' is not a bit-width 1..32",
    "speedup_zero.json": "servers[0].speedup.8: must be > 0 (got 0)",
    "term_bits_not_allowed.json": "accuracy.terms[2].bits: layer 'a' cannot take 4 bits",
    "term_compression_not_offered.json": (
        "accuracy.terms[1].compression: 0.5 is not in compression.ratios"
    ),
    "term_pruning_not_allowed.json": (
        "accuracy.terms[0].pruning: layer 'a' cannot take pruning 0.5"
    ),
    "term_two_forms.json": (
        "accuracy.terms[2]: needs {layer, bits}, {layer, pruning} or {tensor, compression}"
    ),
    "term_unknown_layer.json": "accuracy.terms[0].layer: unknown layer 'zz'",
    "term_unknown_tensor.json": "accuracy.terms[1].tensor: unknown tensor 'zz'",
    "top_level_list.json": "the document must be a mapping (a JSON object)",
    "two_devices.json": "servers[1].tier: a second 'device' (exactly one is allowed)",
    "unknown_profile.json": (
        "model.profile: no bundled profile 'alexnet-imagenet-xl' (see `jqodi models`)"
    ),
    "unknown_top_field.json": "colour: unknown field",
    "unreachable_server.json": "servers[2]: 'cloud' cannot be reached from the device",
    "weighted_all_zero.json": "objective.weighted: at least one weight must be > 0",
    "weighted_unknown_key.json": "objective.weighted.power: unknown field",
    "wrong_format.json": "format: must be 'jqodi-inference/1' (got 'jqodi-inference/2')",
    "zero_latency_limit.json": "limits.latency_s: must be > 0 (got 0)",
    "zero_speed.json": "servers[0].speed_flops: must be > 0 (got 0)",
}


def chain3_document() -> dict:
    return json.loads(CHAIN3.read_text())


def test_every_broken_file_has_an_expectation() -> None:
    assert sorted(p.name for p in BROKEN.iterdir()) == sorted(EXPECTED)
    assert len(EXPECTED) >= 25


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_file_gives_its_message(name: str) -> None:
    path = BROKEN / name
    with pytest.raises(InstanceError) as info:
        read_inference(path)
    assert info.value.lines() == [f"{path}: {EXPECTED[name]}"]


def test_several_problems_give_one_line_each() -> None:
    doc = chain3_document()
    doc["servers"][0]["power_w"] = -1
    doc["model"]["layers"][0]["params"] = 1.5
    with pytest.raises(InstanceError) as info:
        build_inference(doc, source="two.json")
    assert info.value.lines() == [
        "two.json: servers[0].power_w: must be >= 0 (got -1)",
        "two.json: model.layers[0].params: must be an integer (got 1.5)",
    ]


def test_huge_quantities_are_refused_before_any_cost_overflows() -> None:
    # 1e308 FLOP/s times a speed-up of 2 overflowed to inf: validate said ok, solve gave "error"
    doc = chain3_document()
    doc["servers"][0]["speed_flops"] = 1e308
    doc["model"]["layers"][0]["params"] = 10**40
    with pytest.raises(InstanceError) as info:
        build_inference(doc, source="huge.json")
    assert info.value.lines() == [
        "huge.json: servers[0].speed_flops: must be <= 1e+30 (got 1e+308)",
        f"huge.json: model.layers[0].params: must be <= 1e+30 (got {10**40})",
    ]


def test_defaults_are_filled() -> None:
    doc = chain3_document()
    for key in ("quantization", "pruning", "compression", "accuracy", "limits", "objective"):
        del doc[key]
    instance = build_inference(doc)
    assert instance.objective_name == "latency"
    assert instance.return_output is True
    assert instance.layer_bits("a") == [32]
    assert instance.layer_pruning("b") == [0.0]
    assert instance.compression_choices == [1.0]
    assert instance.max_drop == float("inf")
    assert instance.latency_limit_s == float("inf")
    assert instance.servers[1].speedup_of(8) == 1.0
    assert instance.link_between("edge", "dev") is instance.links[0]


def test_listed_layers_only_take_the_sets() -> None:
    instance = read_inference(CHAIN3)
    assert instance.layer_bits("c") == [32, 8]  # quantization.layers defaults to every layer
    assert instance.layer_pruning("a") == [0.0]  # not listed in pruning.layers
    assert instance.layer_pruning("b") == [0.0, 0.5]


def test_weighted_objective_is_read() -> None:
    doc = chain3_document()
    doc["objective"] = {"weighted": {"latency": 0.7, "energy": 0.3}}
    instance = build_inference(doc)
    assert instance.objective_name == "weighted"


def test_round_trip_inline(tmp_path: Path) -> None:
    instance = read_inference(CHAIN3)
    path = tmp_path / "copy.json"
    write_inference(instance, path)
    assert read_inference(path) == instance
    assert "return_output" not in json.loads(path.read_text())


def test_yaml_reads_the_same_instance(tmp_path: Path) -> None:
    path = tmp_path / "chain3.yaml"
    path.write_text(yaml.safe_dump(chain3_document()))
    assert read_inference(path).graph == read_inference(CHAIN3).graph


def test_model_file_is_relative_to_the_instance(tmp_path: Path) -> None:
    doc = chain3_document()
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "m.json").write_text(json.dumps(doc["model"] | {"format": FORMAT}))
    doc["model"] = {"file": "models/m.json"}
    path = tmp_path / "by_file.json"
    path.write_text(json.dumps(doc))
    instance = read_inference(path)
    assert instance.graph.names == ["a", "b", "c"]
    write_inference(instance, tmp_path / "again.json")
    assert json.loads((tmp_path / "again.json").read_text())["model"] == {"file": "models/m.json"}
    assert read_inference(tmp_path / "again.json").graph == instance.graph


def test_broken_model_file_is_named(tmp_path: Path) -> None:
    doc = chain3_document()
    model = doc["model"]
    model["layers"][1]["output_bytes"] = -4
    (tmp_path / "m.json").write_text(json.dumps(model | {"format": FORMAT}))
    doc["model"] = {"file": "m.json"}
    with pytest.raises(InstanceError) as info:
        build_inference(doc, source="i.json", base=tmp_path)
    assert info.value.lines() == [
        "i.json: model.file: m.json: layers[1].output_bytes: must be >= 0 (got -4)"
    ]


def test_bundled_profile_is_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = chain3_document()
    (tmp_path / "chain3.json").write_text(json.dumps(doc["model"] | {"format": FORMAT}))
    monkeypatch.setattr(graph, "MODELS_DIR", tmp_path)
    doc["model"] = {"profile": "chain3"}
    instance = build_inference(doc)
    assert instance.graph.total_flops == pytest.approx(3.1e8)
    assert inference_to_dict(instance)["model"] == {"profile": "chain3"}


def test_plan_round_trip(tmp_path: Path) -> None:
    plan = InferencePlan(
        instance="chain3",
        solver="hand",
        status="feasible",
        objective="latency",
        layers=[
            LayerChoice(layer="a", server="dev", bits=8, compression=0.25),
            LayerChoice(layer="b", server="edge", pruning=0.5),
            LayerChoice(layer="c", server="edge"),
        ],
        latency_s=0.08332,
    )
    path = tmp_path / "plan.json"
    write_inference_plan(plan, path)
    assert read_inference_plan(path) == plan
    assert plan.summary() == "a@dev, b..c@edge"


@pytest.mark.parametrize(
    ("document", "line"),
    [
        (
            {"format": "jqodi-plan/1"},
            "format: must be 'jqodi-inference-plan/1' (got 'jqodi-plan/1')",
        ),
        (
            {"format": "jqodi-inference-plan/1", "status": "infeasible", "reasons": []},
            "status: an infeasible result holds no plan to check",
        ),
        (
            {
                "format": "jqodi-inference-plan/1",
                "layers": [{"layer": "a", "server": "d", "bits": 0}],
            },
            "layers[0].bits: must be >= 1 (got 0)",
        ),
        (
            {
                "format": "jqodi-inference-plan/1",
                "layers": [{"layer": "a", "server": "d", "pruning": 1.0}],
            },
            "layers[0].pruning: must be < 1 (got 1.0)",
        ),
        (
            {"format": "jqodi-inference-plan/1", "layers": [{"layer": "a"}]},
            "layers[0].server: missing field",
        ),
        (
            {"format": "jqodi-inference-plan/1", "layers": [], "input_compression": 0},
            "layers: must have at least 1 item(s)",
        ),
    ],
)
def test_broken_plan_is_named(document: dict, line: str) -> None:
    with pytest.raises(PlanError) as info:
        build_inference_plan(document, source="p.json")
    assert info.value.lines()[0] == f"p.json: {line}"


def test_servers_and_links_from_the_hardware_catalogue() -> None:
    doc = chain3_document()
    doc["servers"] = [
        {"name": "dev", "tier": "device", "catalogue": "raspberry-pi-4b", "power_w": 7.5},
        {"name": "edge", "tier": "edge", "catalogue": "tesla-p100"},
    ]
    doc["links"] = [{"between": ["dev", "edge"], "catalogue": "4g"}]
    instance = build_inference(doc)
    device, edge = instance.servers
    assert device.speed_flops == 3.0e9  # Mu Table II, through the catalogue
    assert device.power_w == 7.5  # written next to "catalogue": wins
    assert edge.speed_flops == 10600e9
    assert instance.links[0].rate_bps == 11.22e6  # Mu Table III
    # a link that gives its own bandwidth and SNR keeps them instead of the catalogue's rate
    doc["links"] = [{"between": ["dev", "edge"], "catalogue": "4g", "bandwidth_hz": 1e6,
                     "snr_db": 10.0}]  # fmt: skip
    link = build_inference(doc).links[0]
    assert link.rate_bps is None and link.bandwidth_hz == 1e6


def test_unknown_catalogue_entries_are_named() -> None:
    doc = chain3_document()
    doc["servers"][0]["catalogue"] = "raspberry-pi-9"
    doc["links"][0]["catalogue"] = "6g"
    with pytest.raises(InstanceError) as info:
        build_inference(doc, source="c.json")
    lines = info.value.lines()
    assert lines[0].startswith("c.json: servers[0].catalogue: unknown device 'raspberry-pi-9'")
    assert lines[1].startswith("c.json: links[0].catalogue: unknown link '6g'")
