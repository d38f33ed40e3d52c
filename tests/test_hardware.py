"""The hardware catalogue (SPEC §6.2): the seeds' numbers, their sources, lookups and the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from jqodi_opt.cli import main
from jqodi_opt.hardware import (
    HardwareError,
    UnknownHardware,
    hardware_catalogue,
    link_fields,
    read_catalogue,
    server_fields,
    shannon_rate_bps,
)

ROOT = Path(__file__).parent.parent

# SPEC §6.2: the numbers the seeds give, and the table each comes from
SEED_NUMBERS = [
    ("device", "raspberry-pi-3b-plus", "speed_flops", 0.2e9, "Mu et al. 2024, Table II"),
    ("device", "raspberry-pi-4b", "speed_flops", 3e9, "Mu et al. 2024, Table II"),
    ("device", "jetson-tk1", "speed_flops", 326.4e9, "Mu et al. 2024, Table II"),
    ("device", "tesla-p100", "speed_flops", 10_600e9, "Mu et al. 2024, Table II"),
    ("device", "raspberry-pi-5", "power_w", 12.0, "Zhou et al. 2026, Table II"),
    ("device", "rtx-3090", "power_w", 350.0, "Zhou et al. 2026, Table III"),
    ("device", "rtx-4090", "power_w", 450.0, "Zhou et al. 2026, Table III"),
    ("device", "a100", "power_w", 400.0, "Zhou et al. 2026, Table IV"),
    ("link", "3g", "rate_bps", 1.19e6, "Mu et al. 2024, Table III"),
    ("link", "4g", "rate_bps", 11.22e6, "Mu et al. 2024, Table III"),
    ("link", "5g", "rate_bps", 52.24e6, "Mu et al. 2024, Table III"),
    ("link", "wifi", "rate_bps", 54.19e6, "Mu et al. 2024, Table III"),
]


@pytest.mark.parametrize(("kind", "name", "field", "value", "table"), SEED_NUMBERS)
def test_seed_numbers_and_their_sources(
    kind: str, name: str, field: str, value: float, table: str
) -> None:
    catalogue = hardware_catalogue()
    entry = catalogue.device(name) if kind == "device" else catalogue.link(name)
    assert getattr(entry, field) == pytest.approx(value, rel=1e-12)
    source = entry.sources[field]
    assert not source.assumption
    assert source.text.startswith(table + ":")


def test_every_number_has_a_source_and_assumptions_say_so() -> None:
    catalogue = hardware_catalogue()
    for entry in [*catalogue.devices, *catalogue.links]:
        assert set(entry.sources) == set(entry.numbers())
        for field, source in entry.sources.items():
            if source.assumption:
                assert source.text.startswith("no seed gives it"), (entry.name, field)
            else:
                assert source.text.startswith(("Mu et al. 2024", "Zhou et al. 2026"))


def test_zhou_speeds_are_peaks_above_the_paper_instances_effective_speeds() -> None:
    # Zhou et al. give no speed: the catalogue holds FP32 peaks (an assumption, like Mu et al.'s
    # Table II figures), the paper instances calibrate effective speeds below them
    paper = json.loads((ROOT / "instances" / "paper" / "data1.json").read_text())
    effective = {server["name"]: server["speed_flops"] for server in paper["edge_servers"]}
    effective |= {"pi5": paper["device"]["speed_flops"], "cloud": paper["cloud"]["speed_flops"]}
    catalogue = hardware_catalogue()
    for entry, instance_name, peak in (
        ("raspberry-pi-5", "pi5", 4 * 2.4e9 * 16),  # cores x clock x FLOP/cycle
        ("rtx-3090", "rtx3090", 35.6e12),
        ("rtx-4090", "rtx4090", 82.6e12),
        ("a100", "cloud", 19.5e12),
    ):
        device = catalogue.device(entry)
        assert device.speed_flops == pytest.approx(peak)
        assert device.sources["speed_flops"].assumption
        assert device.speed_flops > effective[instance_name]


def test_shannon_rate(tmp_path: Path) -> None:
    assert shannon_rate_bps(1e6, 0.0) == pytest.approx(1e6)  # SNR 1: log2(2) = 1
    assert shannon_rate_bps(1e7, 10.0) == pytest.approx(1e7 * math.log2(11))
    radio = {"bandwidth_hz": 1e7, "snr_db": 10.0, "rate_bps": None}
    sources = {field: {"text": "t"} for field in ("bandwidth_hz", "snr_db", "energy_per_bit")}
    path = _catalogue(tmp_path, **{f"links__0__{k}": v for k, v in radio.items()})
    document = json.loads(path.read_text())
    document["links"][0]["sources"] = sources
    path.write_text(json.dumps(document))
    link = read_catalogue(path).link("wire")
    assert link.effective_rate_bps == pytest.approx(1e7 * math.log2(11))
    assert link.link_fields() == {
        "bandwidth_hz": 1e7,
        "snr_db": 10.0,
        "latency_s": 0.0,
        "energy_per_bit": 1e-9,
    }


def test_instance_fields_of_entries() -> None:
    assert server_fields("raspberry-pi-4b") == {
        "speed_flops": 3e9,
        "power_w": 6.0,
        "memory_bytes": 4e9,
    }
    assert link_fields("4g") == {"rate_bps": 11.22e6, "latency_s": 0.0, "energy_per_bit": 5.53e-7}
    # the 4G energy per bit is the LTE uplink power model at 11.22 Mbit/s (an assumption)
    assert (0.43839 * 11.22 + 1.28804) / 11.22e6 == pytest.approx(5.53e-7, rel=1e-3)


def test_unknown_names_list_the_catalogue() -> None:
    with pytest.raises(UnknownHardware, match=r"unknown device 'pi-9' \(catalogue: raspberry-pi"):
        server_fields("pi-9")
    with pytest.raises(UnknownHardware, match=r"unknown link '6g' \(catalogue: 3g, 4g"):
        link_fields("6g")
    with pytest.raises(UnknownHardware, match="unknown device '3g'"):
        server_fields("3g")  # a link is not a device


def _catalogue(tmp_path: Path, **change: Any) -> Path:
    document: dict[str, Any] = {
        "format": "jqodi-hardware/1",
        "devices": [
            {
                "name": "box",
                "description": "a box",
                "tier": "edge",
                "speed_flops": 1e9,
                "power_w": 10.0,
                "sources": {"speed_flops": {"text": "t"}, "power_w": {"text": "t"}},
            }
        ],
        "links": [
            {
                "name": "wire",
                "description": "a wire",
                "rate_bps": 1e6,
                "energy_per_bit": 1e-9,
                "sources": {"rate_bps": {"text": "t"}, "energy_per_bit": {"text": "t"}},
            }
        ],
    }
    for key, value in change.items():
        kind, index, field = key.split("__")
        if value is None:
            del document[kind][int(index)][field]
        else:
            document[kind][int(index)][field] = value
    path = tmp_path / "hw.json"
    path.write_text(json.dumps(document))
    return path


def test_a_valid_small_catalogue(tmp_path: Path) -> None:
    catalogue = read_catalogue(_catalogue(tmp_path))
    assert catalogue.link("wire").link_fields()["latency_s"] == 0.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"devices__0__memory_bytes": 1e9}, "devices[0]: no source for memory_bytes"),
        ({"devices__0__speed_flops": 0.0}, "devices[0].speed_flops: must be > 0"),
        ({"devices__0__tier": "fog"}, "devices[0].tier: must be 'device', 'edge' or 'cloud'"),
        ({"devices__0__watts": 3.0}, "devices[0].watts: unknown field"),
        (
            {"links__0__rate_bps": None, "links__0__sources": {"energy_per_bit": {"text": "t"}}},
            "links[0]: give rate_bps, or bandwidth_hz and snr_db",
        ),
        (
            {
                "links__0__snr_db": 3.0,
                "links__0__sources": {
                    "rate_bps": {"text": "t"},
                    "snr_db": {"text": "t"},
                    "energy_per_bit": {"text": "t"},
                },
            },
            "links[0]: give rate_bps or bandwidth_hz + snr_db, not both",
        ),
        ({"links__0__snr_db": 3.0}, "links[0]: no source for snr_db"),
        (
            {"links__0__sources": {"rate_bps": {"text": "t"}, "latency_s": {"text": "t"}}},
            "links[0]: no source for energy_per_bit",
        ),
    ],
)
def test_broken_catalogue_names_the_field(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    path = _catalogue(tmp_path, **change)
    with pytest.raises(HardwareError) as caught:
        read_catalogue(path)
    (line,) = caught.value.lines()
    assert line.startswith(f"{path}: ") and message in line


def test_hardware_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hardware", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document == hardware_catalogue().to_dict()
    assert list(document["devices"][0])[-1] == "sources"
    assert main(["hardware"]) == 0
    table = capsys.readouterr().out
    assert "tesla-p100" in table and "54.19" in table and "*" in table
