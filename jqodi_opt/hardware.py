"""The hardware catalogue (SPEC §6.2): the seeds' devices and links, each number with its source.

The catalogue is ``instances/hardware/catalogue.json`` (format ``jqodi-hardware/1``). Every number
of an entry has a :class:`Source` saying where it comes from; a number that no seed gives (a power,
a memory size, a latency, an energy per bit) is an ``assumption`` and says on what it rests.

Entries are named in kebab case: devices ``raspberry-pi-3b-plus``, ``raspberry-pi-4b``,
``jetson-tk1``, ``tesla-p100`` (Mu et al. 2024, Table II), ``raspberry-pi-5``, ``rtx-3090``,
``rtx-4090``, ``a100`` (Zhou et al. 2026, Tables II–IV); links ``3g``, ``4g``, ``5g``, ``wifi``
(Mu et al., Table III). Zhou et al.'s links are not entries: the paper gives no rate, and the
paper instances calibrate theirs per server pair (``instances/paper/README.md`` §2). A link may
also be given by ``bandwidth_hz`` and ``snr_db`` (the Shannon rate, Mu et al. eq. 1).

**Referencing an entry from an instance.** An inference instance (SPEC §7.5) may name an entry in
place of the numbers, with the field ``"catalogue"``::

    "servers": [{"name": "pi4", "tier": "device", "catalogue": "raspberry-pi-4b"},
                {"name": "p100", "tier": "edge", "catalogue": "tesla-p100", "power_w": 250.0}],
    "links": [{"between": ["pi4", "p100"], "catalogue": "4g"}]

:func:`server_fields` and :func:`link_fields` give the instance fields an entry stands for
(``speed_flops``, ``power_w``, ``memory_bytes``; ``rate_bps`` or ``bandwidth_hz`` + ``snr_db``,
``latency_s``, ``energy_per_bit``); fields written next to ``"catalogue"`` override them. A name
that is not in the catalogue raises :class:`UnknownHardware`, whose message lists the known ones.
The tier of a catalogue device is only its usual role (the instance's ``tier`` decides).
Speeds are peak figures, as in Mu et al.'s Table II (Zhou et al. give none: their machines carry
vendor FP32 peaks, marked as assumptions); an instance that models the throughput a small model
really gets writes its own ``speed_flops`` next to ``"catalogue"``, as the paper instances do.
"""

from __future__ import annotations

import math
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from jqodi_opt.exceptions import InputError, describe_pydantic_error, format_path

FORMAT = "jqodi-hardware/1"

#: The bundled catalogue (a file of the repository, like the model profiles).
CATALOGUE_FILE = Path(__file__).resolve().parents[1] / "instances" / "hardware" / "catalogue.json"

Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9-]*$")]
Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]


class HardwareError(InputError):
    """A catalogue file that is not a valid ``jqodi-hardware/1``."""


class UnknownHardware(ValueError):
    """A device or link name that is not in the catalogue."""


class Source(BaseModel):
    """Where one number of an entry comes from.

    Attributes
    ----------
    text
        The seed and table (e.g. ``"Mu et al. 2024, Table II: 3 GFLOPS"``), or, for an
        assumption, what it rests on.
    assumption
        True when no seed gives the number.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    text: Annotated[str, Field(min_length=1)]
    assumption: bool = False


class _Entry(BaseModel):
    """Common part of devices and links: a name, a description and a source per number."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    name: Name
    description: str
    sources: dict[str, Source]

    def numbers(self) -> dict[str, float]:
        """The entry's numeric fields that are given."""
        given = self.model_dump(exclude={"name", "description", "sources"}, exclude_unset=True)
        return {
            field: value
            for field, value in given.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)
        }

    @model_validator(mode="after")
    def _every_number_has_a_source(self) -> _Entry:
        numbers = set(self.numbers())
        missing = sorted(numbers - set(self.sources))
        if missing:
            raise ValueError(f"no source for {', '.join(missing)}")
        extra = sorted(set(self.sources) - numbers)
        if extra:
            raise ValueError(f"source for a field that is not given: {', '.join(extra)}")
        return self

    def assumptions(self) -> list[str]:
        """Names of the fields whose value is an assumption."""
        return [field for field, source in self.sources.items() if source.assumption]


class Device(_Entry):
    """A compute device or server.

    Attributes
    ----------
    tier
        Its usual role: ``device``, ``edge`` or ``cloud``.
    speed_flops
        Sustained speed, FLOP/s.
    power_w
        Power while computing (rated), W.
    idle_power_w
        Idle power, W, where a seed gives it (informative: the cost models charge busy time only).
    memory_bytes
        Memory available to a model, bytes.
    """

    tier: Literal["device", "edge", "cloud"]
    speed_flops: Positive
    power_w: Positive
    idle_power_w: NonNegative | None = None
    memory_bytes: Positive | None = None

    def server_fields(self) -> dict[str, float]:
        """The fields of an inference-instance server (SPEC §7.5) this entry stands for."""
        fields = {"speed_flops": self.speed_flops, "power_w": self.power_w}
        if self.memory_bytes is not None:
            fields["memory_bytes"] = self.memory_bytes
        return fields


class LinkType(_Entry):
    """A kind of link: a rate, or a bandwidth and SNR for the Shannon rate.

    Attributes
    ----------
    rate_bps
        Data rate, bit/s (exclusive with ``bandwidth_hz`` + ``snr_db``).
    bandwidth_hz, snr_db
        Bandwidth and signal-to-noise ratio: rate ``B log2(1 + SNR)`` (Mu et al. eq. 1).
    latency_s
        Fixed latency per transfer, s.
    energy_per_bit
        Energy per transmitted bit, J.
    """

    rate_bps: Positive | None = None
    bandwidth_hz: Positive | None = None
    snr_db: float | None = None
    latency_s: NonNegative = 0.0
    energy_per_bit: NonNegative

    @model_validator(mode="after")
    def _one_rate(self) -> LinkType:
        shannon = (self.bandwidth_hz is not None, self.snr_db is not None)
        if self.rate_bps is None and shannon != (True, True):
            raise ValueError("give rate_bps, or bandwidth_hz and snr_db")
        if self.rate_bps is not None and any(shannon):
            raise ValueError("give rate_bps or bandwidth_hz + snr_db, not both")
        return self

    @property
    def effective_rate_bps(self) -> float:
        """The rate, given or by Shannon's formula."""
        if self.rate_bps is not None:
            return self.rate_bps
        assert self.bandwidth_hz is not None and self.snr_db is not None
        return shannon_rate_bps(self.bandwidth_hz, self.snr_db)

    def link_fields(self) -> dict[str, float]:
        """The fields of an inference-instance link (SPEC §7.5) this entry stands for."""
        fields: dict[str, float] = {}
        if self.rate_bps is not None:
            fields["rate_bps"] = self.rate_bps
        else:
            assert self.bandwidth_hz is not None and self.snr_db is not None
            fields["bandwidth_hz"] = self.bandwidth_hz
            fields["snr_db"] = self.snr_db
        fields["latency_s"] = self.latency_s
        fields["energy_per_bit"] = self.energy_per_bit
        return fields


class Catalogue(BaseModel):
    """A ``jqodi-hardware/1`` catalogue: devices and link types, names unique in each list."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    format: Literal["jqodi-hardware/1"]
    devices: list[Device]
    links: list[LinkType]

    @model_validator(mode="after")
    def _unique_names(self) -> Catalogue:
        for kind, entries in (("devices", self.devices), ("links", self.links)):
            names = [entry.name for entry in entries]
            twice = sorted({name for name in names if names.count(name) > 1})
            if twice:
                raise ValueError(f"{kind}: duplicate name(s) {', '.join(twice)}")
        return self

    def device(self, name: str) -> Device:
        """The device called ``name``.

        Raises
        ------
        UnknownHardware
            When there is none; the message lists the catalogue's devices.
        """
        for device in self.devices:
            if device.name == name:
                return device
        known = ", ".join(device.name for device in self.devices)
        raise UnknownHardware(f"unknown device {name!r} (catalogue: {known})")

    def link(self, name: str) -> LinkType:
        """The link type called ``name``.

        Raises
        ------
        UnknownHardware
            When there is none; the message lists the catalogue's links.
        """
        for link in self.links:
            if link.name == name:
                return link
        known = ", ".join(link.name for link in self.links)
        raise UnknownHardware(f"unknown link {name!r} (catalogue: {known})")

    def to_dict(self) -> dict[str, Any]:
        """The catalogue as a JSON-ready mapping (fields that are not given left out; each
        entry's sources last)."""
        document = self.model_dump(mode="json", exclude_none=True)
        for kind in ("devices", "links"):
            document[kind] = [
                {key: value for key, value in entry.items() if key != "sources"}
                | {"sources": entry["sources"]}
                for entry in document[kind]
            ]
        return document


def shannon_rate_bps(bandwidth_hz: float, snr_db: float) -> float:
    """Shannon capacity ``B log2(1 + SNR)`` with SNR given in dB (Mu et al. 2024, eq. 1)."""
    return bandwidth_hz * math.log2(1.0 + 10.0 ** (snr_db / 10.0))


def read_catalogue(path: str | os.PathLike[str]) -> Catalogue:
    """Reads and validates a ``jqodi-hardware/1`` file.

    Raises
    ------
    HardwareError
        One line per problem, naming the file and the field path.
    """
    from jqodi_opt.read import load_document

    source = str(path)
    document = load_document(path, error=HardwareError)
    try:
        return Catalogue.model_validate(document)
    except ValidationError as exc:
        raise HardwareError(source, [_describe(error) for error in exc.errors()]) from None


def _describe(error: Any) -> tuple[str, str]:
    """One ``(path, message)``; a cross-field rule's message without pydantic's prefix."""
    found = (error.get("ctx") or {}).get("error")
    if error["type"] == "value_error" and found is not None:
        return format_path(error.get("loc", ())), str(found)
    return describe_pydantic_error(error)


@lru_cache(maxsize=1)
def hardware_catalogue() -> Catalogue:
    """The bundled catalogue (``instances/hardware/catalogue.json``), read once."""
    return read_catalogue(CATALOGUE_FILE)


def server_fields(name: str) -> dict[str, float]:
    """The server fields (``speed_flops``, ``power_w``, ``memory_bytes``) of catalogue device
    ``name``; raises :class:`UnknownHardware` for an unknown name."""
    return hardware_catalogue().device(name).server_fields()


def link_fields(name: str) -> dict[str, float]:
    """The link fields (``rate_bps`` or ``bandwidth_hz`` + ``snr_db``, ``latency_s``,
    ``energy_per_bit``) of catalogue link ``name``; raises :class:`UnknownHardware`."""
    return hardware_catalogue().link(name).link_fields()
