"""Reading, validating and writing instance files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from jqodi_opt import InstanceError, read_instance, write_instance
from jqodi_opt.read import build_instance, instance_schema, instance_to_dict

from .conftest import DATA

BROKEN = DATA / "broken"

# Each deliberately broken file and the one line `validate` must give for it (after "file: ").
EXPECTED = {
    "bad_yaml.yaml": "not valid YAML at line 3",
    "bits_too_wide.json": "bitwidths[2].bits: must be <= 32 (got 64)",
    "bits_zero.json": "bitwidths[0].bits: must be >= 1 (got 0)",
    "boolean_speed.json": "cloud.speed_flops: must be a number (got True)",
    "both_curves.json": "learning[0]: give one curve form, epochs or power_law, not both",
    "cut_out_of_range.json": "models[0].cuts[2]: cut 3 outside 0..2",
    "duplicate_bits.json": "bitwidths[3].bits: duplicate bits 8",
    "duplicate_model.json": "models[1].name: duplicate name 'm1'",
    "duplicate_server.json": "edge_servers[1].name: duplicate name 'es1'",
    "empty_name.json": "name: must not be empty (got '')",
    "infinite_speed.json": "device.speed_flops: must be a finite number (got inf)",
    "learning_unknown_bits.json": "learning[0].bits: bit-width 6 is not in bitwidths",
    "learning_unknown_model.json": "learning[0].model: unknown model 'm9'",
    "link_rate_and_shannon.json": (
        "links[0]: give either rate_bps or bandwidth_hz + snr_db, not both"
    ),
    "link_unknown_server.json": "links[0].edge_server: unknown edge server 'es9'",
    "missing_block_flops.json": "models[0].blocks[1].flops: missing field",
    "missing_cloud.json": "cloud: missing field",
    "nan_energy.json": "cloud.energy_per_flop: must be a finite number (got nan)",
    "negative_device_speed.json": "device.speed_flops: must be > 0 (got -20000000000.0)",
    "negative_energy.json": "device.energy_per_flop: must be >= 0 (got -3e-10)",
    "negative_flops.json": "models[0].blocks[1].flops: must be >= 0 (got -1.0)",
    "negative_gamma.json": "learning[0].gamma.expected: must be >= 0 (got -0.001)",
    "negative_params.json": "models[0].blocks[0].params: must be >= 0 (got -5)",
    "negative_rate.json": "links[0].rate_bps: must be > 0 (got -1000000.0)",
    "neither_curve.json": (
        "learning[0]: needs a curve form (epochs or power_law) or infeasible: true"
    ),
    "no_blocks.json": "models[0].blocks: must have at least 1 item(s)",
    "not_json.json": (
        "not valid JSON at line 2 column 13: Expecting property name enclosed in double quotes"
    ),
    "robust_below_expected.json": "learning[0].epochs.robust: must be >= epochs.expected",
    "samples_not_integer.json": "device.train_samples: must be an integer (got 2000.5)",
    "speed_is_string.json": "cloud.speed_flops: must be a number (got 'fast')",
    "top_level_list.json": "the document must be a mapping (a JSON object)",
    "unknown_link_field.json": "links[0].latency_s: unknown field",
    "unknown_top_field.json": "colour: unknown field",
    "wrong_format.json": "format: must be 'jqodi-instance/1' (got 'jqodi-instance/2')",
    "zero_bandwidth.json": "links[0].bandwidth_hz: must be > 0 (got 0)",
    "zero_edge_speed.json": "edge_servers[0].speed_flops: must be > 0 (got 0)",
    "zero_time_limit.json": "limits.time_s: must be > 0 (got 0)",
}


def test_every_broken_file_has_an_expectation() -> None:
    assert sorted(p.name for p in BROKEN.iterdir()) == sorted(EXPECTED)
    assert len(EXPECTED) >= 20


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_file_gives_its_message(name: str) -> None:
    path = BROKEN / name
    with pytest.raises(InstanceError) as info:
        read_instance(path)
    assert info.value.lines() == [f"{path}: {EXPECTED[name]}"]


def test_missing_file_is_named() -> None:
    with pytest.raises(InstanceError, match=r"nowhere\.json: no such file"):
        read_instance("nowhere.json")


def test_several_problems_give_one_line_each(tmp_path: Path) -> None:
    doc = json.loads((DATA / "tiny.json").read_text())
    doc["cloud"]["speed_flops"] = -1
    doc["limits"]["loss"] = 0
    path = tmp_path / "two.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InstanceError) as info:
        read_instance(path)
    assert info.value.lines() == [
        f"{path}: cloud.speed_flops: must be > 0 (got -1)",
        f"{path}: limits.loss: must be > 0 (got 0)",
    ]


def test_defaults_are_filled(tiny) -> None:
    assert tiny.training_factor == 3.0
    assert tiny.max_epochs == 10_000
    assert [b.scale for b in tiny.bitwidths] == [4 / 32, 8 / 32, 1.0]
    assert tiny.models[0].quantize_work_flops == tiny.models[0].cloud_flops


def test_cuts_default_to_all(tiny) -> None:
    doc = instance_to_dict(tiny)
    del doc["models"][0]["cuts"]
    assert build_instance(doc).models[0].cut_points == [0, 1, 2]


def test_round_trip_json(tiny, tmp_path: Path) -> None:
    path = tmp_path / "copy.json"
    write_instance(tiny, path)
    assert read_instance(path) == tiny
    # Writing leaves out the defaults that were not given, so the file stays as the user wrote it.
    assert "training_factor" not in json.loads(path.read_text())


def test_yaml_reads_the_same_instance(tiny, tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(json.loads((DATA / "tiny.json").read_text())))
    assert read_instance(path) == tiny


def test_schema_describes_the_format() -> None:
    schema = instance_schema()
    assert schema["title"] == "jqodi-instance/1"
    assert set(schema["required"]) >= {"format", "cloud", "edge_servers", "models", "limits"}
    assert schema["additionalProperties"] is False


def test_power_law_truth_is_checked(tiny) -> None:
    doc = instance_to_dict(tiny)
    doc["learning"][1]["truth"] = {"floor": 0.01, "exponent": -1}
    with pytest.raises(InstanceError, match=r"learning\[1\]\.truth\.exponent: must be > 0"):
        build_instance(doc)
    doc["learning"][0]["truth"] = {"floor": 0.01, "exponent": 1}
    doc["learning"][1]["truth"] = {"floor": 0.01, "exponent": 1}
    with pytest.raises(InstanceError, match=r"learning\[0\]\.truth: must be an integer"):
        build_instance(doc)
