"""The validated inference instance: what the user wrote in a ``jqodi-inference/1`` file.

SPEC §7.5.

One inference request of one model, split across **servers** (exactly one of tier ``device``) joined
by **links**. Each entity checks its own fields through pydantic (strict: no ``"1.0"`` strings, no
booleans for numbers, finite); :func:`check_references` checks what spans entities against the
resolved model graph and names the offending field path. Reading files lives in
:mod:`jqodi_opt.inference.read`.

Choices the SPEC leaves open, written down here:

- Links are undirected: ``between: [a, b]`` serves both directions at the same rate, latency and
  energy per bit. Tensors travel over one link; there is no multi-hop routing, so a plan that needs
  two servers without a direct link to exchange a tensor is infeasible. A server must nevertheless
  be reachable from the device through some chain of links, or no plan could ever use it.
- ``quantization.bits``, ``pruning.ratios`` and ``compression.ratios`` are the choices *as given*:
  a listed layer takes one of ``quantization.bits`` (32 only if listed), an unlisted layer is
  32-bit;
  a listed layer takes one of ``pruning.ratios``, an unlisted one 0; a tensor that is sent takes one
  of ``compression.ratios`` (1, no compression, only if listed), a tensor that stays is never
  compressed. Without the section: ``bits [32]``, ``ratios [0]``, ``ratios [1]``.
- ``speedup`` keys are bit-widths written as strings (JSON object keys), e.g. ``{"8": 2.0}``.
- Accuracy terms may carry a negative ``drop`` (a choice that helps); only the total is bounded.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
)

from jqodi_opt.exceptions import short
from jqodi_opt.graph import INPUT, MAX_QUANTITY, ModelGraph

FORMAT = "jqodi-inference/1"

Positive = Annotated[float, Field(gt=0, le=MAX_QUANTITY)]
NonNegative = Annotated[float, Field(ge=0, le=MAX_QUANTITY)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Tier = Literal["device", "edge", "cloud"]
ObjectiveName = Literal["latency", "energy", "device-energy"]


class _Entity(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class Server(_Entity):
    """A machine that can run layers: the device, an edge server or a cloud server.

    Attributes
    ----------
    speed_flops
        Full-precision compute speed (FLOP/s).
    power_w
        Power drawn while computing (W); compute energy = power × time (SPEC §7.1).
    speedup
        Speed-up of ``b``-bit layers over 32-bit ones, keyed by ``str(b)`` (default 1).
    memory_bytes
        Memory for the weights of the layers placed here (default unlimited).
    catalogue
        A device of the hardware catalogue (SPEC §6.2) whose ``speed_flops``, ``power_w`` and
        ``memory_bytes`` fill the fields not written next to it (filled when the file is read).
    """

    name: Name
    tier: Tier
    speed_flops: Positive
    power_w: NonNegative
    speedup: dict[str, Positive] | None = None
    memory_bytes: Positive | None = None
    catalogue: Name | None = None

    def speedup_of(self, bits: int) -> float:
        """``speedup_k(b)``: the speed-up of ``bits``-bit layers on this server (default 1)."""
        if self.speedup is None:
            return 1.0
        return float(self.speedup.get(str(bits), 1.0))


class Link(_Entity):
    """An undirected link between two servers: ``rate_bps``, or ``bandwidth_hz`` + ``snr_db``
    (Shannon rate ``B log2(1 + 10^(snr/10))``, SPEC §6.2). ``catalogue`` names a link of the
    hardware catalogue whose fields fill those not written next to it."""

    between: Annotated[list[Name], Field(min_length=2, max_length=2)]
    energy_per_bit: NonNegative
    latency_s: NonNegative = 0.0
    rate_bps: Positive | None = None
    bandwidth_hz: Positive | None = None
    snr_db: Annotated[float, Field(ge=-100, le=200)] | None = None
    catalogue: Name | None = None


class ProfileRef(_Entity):
    """``{"profile": NAME}``: a bundled model profile (``instances/models/NAME.json``)."""

    profile: Name


class FileRef(_Entity):
    """``{"file": PATH}``: a ``jqodi-model/1`` file, relative to the instance file."""

    file: Name


def _model_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        if "profile" in value:
            return "profile"
        if "file" in value:
            return "file"
        return "graph"
    if isinstance(value, ProfileRef):
        return "profile"
    if isinstance(value, FileRef):
        return "file"
    if isinstance(value, ModelGraph):
        return "graph"
    return None


ModelSource = Annotated[
    Annotated[ProfileRef, Tag("profile")]
    | Annotated[FileRef, Tag("file")]
    | Annotated[ModelGraph, Tag("graph")],
    Discriminator(
        _model_kind,
        custom_error_type="model_source",
        custom_error_message="must be a mapping",
    ),
]


class Quantization(_Entity):
    """Post-training quantization: the bit-widths the listed layers may take."""

    bits: Annotated[list[Annotated[int, Field(ge=1, le=32)]], Field(min_length=1)]
    layers: list[Name] | None = None


class Pruning(_Entity):
    """Pruning: the ratios (fraction of weights and work removed) the listed layers may take."""

    ratios: Annotated[list[Annotated[float, Field(ge=0, lt=1)]], Field(min_length=1)]
    layers: list[Name] | None = None


class Compression(_Entity):
    """Feature compression: the ratios (kept fraction of bits) a sent tensor may take."""

    ratios: Annotated[list[Annotated[float, Field(gt=0, le=1)]], Field(min_length=1)]


class Term(_Entity):
    """A first-order accuracy term: ``{layer, bits}``, ``{layer, pruning}`` or
    ``{tensor, compression}`` with its ``drop`` (SPEC §7.2)."""

    drop: float
    layer: Name | None = None
    tensor: Name | None = None
    bits: Annotated[int, Field(ge=1, le=32)] | None = None
    pruning: Annotated[float, Field(ge=0, lt=1)] | None = None
    compression: Annotated[float, Field(gt=0, le=1)] | None = None

    @property
    def kind(self) -> Literal["bits", "pruning", "compression"] | None:
        """Which choice the term is keyed by, or None if its fields do not make one of the forms."""
        if self.layer is not None and self.tensor is None and self.compression is None:
            if self.bits is not None and self.pruning is None:
                return "bits"
            if self.pruning is not None and self.bits is None:
                return "pruning"
        if (
            self.tensor is not None
            and self.layer is None
            and self.compression is not None
            and self.bits is None
            and self.pruning is None
        ):
            return "compression"
        return None


class Interaction(_Entity):
    """A pairwise term: ``drop`` counts when ``terms[of[0]]`` and ``terms[of[1]]`` are active."""

    of: Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=2, max_length=2)]
    drop: float


class Accuracy(_Entity):
    """The predicted accuracy drop (SPEC §7.2) and its budget."""

    max_drop: NonNegative
    terms: list[Term] = Field(default_factory=list)
    interactions: list[Interaction] = Field(default_factory=list)


class Weights(_Entity):
    """``w_L`` and ``w_E`` of the weighted objective (min–max normalised, SPEC §7.3)."""

    latency: NonNegative
    energy: NonNegative


class Weighted(_Entity):
    """``{"weighted": {"latency": w_L, "energy": w_E}}``."""

    weighted: Weights


def _objective_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "name"
    if isinstance(value, (dict, Weighted)):
        return "weighted"
    return None


Objective = Annotated[
    Annotated[ObjectiveName, Tag("name")] | Annotated[Weighted, Tag("weighted")],
    Discriminator(
        _objective_kind,
        custom_error_type="objective_type",
        custom_error_message=(
            "must be 'latency', 'energy', 'device-energy' or {'weighted': {'latency', 'energy'}}"
        ),
    ),
]


class Limits(_Entity):
    """Optional limits on one request's latency and on the device's energy."""

    latency_s: Positive | None = None
    device_energy_j: Positive | None = None


class InferenceInstance(_Entity):
    """One split-inference instance (SPEC §7.5), checked field by field.

    Use :func:`jqodi_opt.inference.read.read_inference` to read a file: it also resolves ``model``
    (profile, file or inline) into :attr:`graph` and runs :func:`check_references`.
    """

    format: Literal["jqodi-inference/1"]
    name: Name
    description: str | None = None
    servers: Annotated[list[Server], Field(min_length=1)]
    links: list[Link] = Field(default_factory=list)
    model: ModelSource
    quantization: Quantization | None = None
    pruning: Pruning | None = None
    compression: Compression | None = None
    accuracy: Accuracy | None = None
    objective: Objective = "latency"
    limits: Limits | None = None
    return_output: bool = True

    _graph: ModelGraph | None = PrivateAttr(default=None)

    @property
    def graph(self) -> ModelGraph:
        """The model graph: inline, or resolved from its profile or file when the file was read."""
        if isinstance(self.model, ModelGraph):
            return self.model
        if self._graph is None:
            raise ValueError(
                "the model reference is not resolved: read the instance with read_inference"
            )
        return self._graph

    def with_graph(self, graph: ModelGraph) -> InferenceInstance:
        """This instance with its model reference resolved to ``graph``."""
        self._graph = graph
        return self

    # ---------------------------------------------------------------------------------------------
    # lookups with the defaults of SPEC §7.5 filled in

    @property
    def device(self) -> Server:
        """The one server of tier ``device``."""
        return next(s for s in self.servers if s.tier == "device")

    def server_index(self, name: str) -> int:
        """Position of the server called ``name``."""
        return [s.name for s in self.servers].index(name)

    def link_between(self, a: str, b: str) -> Link | None:
        """The link joining servers ``a`` and ``b`` (either order), or None."""
        return next((lk for lk in self.links if {a, b} == set(lk.between)), None)

    @property
    def bit_choices(self) -> list[int]:
        """``quantization.bits`` as given (default ``[32]``)."""
        return [32] if self.quantization is None else list(self.quantization.bits)

    @property
    def pruning_choices(self) -> list[float]:
        """``pruning.ratios`` as given (default ``[0]``)."""
        return [0.0] if self.pruning is None else [float(r) for r in self.pruning.ratios]

    @property
    def compression_choices(self) -> list[float]:
        """``compression.ratios`` as given (default ``[1]``)."""
        return [1.0] if self.compression is None else [float(c) for c in self.compression.ratios]

    def layer_bits(self, layer: str) -> list[int]:
        """The bit-widths ``layer`` may take: the quantization set if listed, else ``[32]``."""
        q = self.quantization
        if q is None or (q.layers is not None and layer not in q.layers):
            return [32]
        return list(q.bits)

    def layer_pruning(self, layer: str) -> list[float]:
        """The pruning ratios ``layer`` may take: the pruning set if listed, else ``[0]``."""
        p = self.pruning
        if p is None or (p.layers is not None and layer not in p.layers):
            return [0.0]
        return [float(r) for r in p.ratios]

    @property
    def objective_name(self) -> str:
        """``latency``, ``energy``, ``device-energy`` or ``weighted``."""
        return self.objective if isinstance(self.objective, str) else "weighted"

    @property
    def max_drop(self) -> float:
        """The accuracy budget (inf without an ``accuracy`` section)."""
        return float("inf") if self.accuracy is None else self.accuracy.max_drop

    @property
    def latency_limit_s(self) -> float:
        """``limits.latency_s`` (inf when not given)."""
        lim = self.limits
        return float("inf") if lim is None or lim.latency_s is None else lim.latency_s

    @property
    def device_energy_limit_j(self) -> float:
        """``limits.device_energy_j`` (inf when not given)."""
        lim = self.limits
        return float("inf") if lim is None or lim.device_energy_j is None else lim.device_energy_j


def check_references(instance: InferenceInstance, graph: ModelGraph) -> list[tuple[str, str]]:
    """Checks what spans entities; returns ``(field path, message)`` pairs, empty when all is well.

    Parameters
    ----------
    instance
        An instance whose fields each passed their own checks.
    graph
        Its model graph (resolved from ``model``), itself already valid.
    """
    issues: list[tuple[str, str]] = []

    # servers: unique names, exactly one device, speed-up keys are bit-widths
    names: dict[str, int] = {}
    for i, server in enumerate(instance.servers):
        if server.name in names:
            issues.append((f"servers[{i}].name", f"duplicate name {short(server.name)}"))
        names.setdefault(server.name, i)
        for key in server.speedup or {}:
            if not (key.isdigit() and 1 <= int(key) <= 32):
                issues.append(
                    (f"servers[{i}].speedup", f"key {short(key)} is not a bit-width 1..32")
                )
    devices = [i for i, s in enumerate(instance.servers) if s.tier == "device"]
    if not devices:
        issues.append(("servers", "no server of tier 'device'"))
    for i in devices[1:]:
        issues.append((f"servers[{i}].tier", "a second 'device' (exactly one is allowed)"))

    # links: known, distinct ends; one link per pair; one way to give the rate
    pairs: set[frozenset[str]] = set()
    for i, link in enumerate(instance.links):
        path = f"links[{i}]"
        for j, end in enumerate(link.between):
            if end not in names:
                issues.append((f"{path}.between[{j}]", f"unknown server {short(end)}"))
        if link.between[0] == link.between[1]:
            issues.append((f"{path}.between", "a link joins two different servers"))
        pair = frozenset(link.between)
        if pair in pairs and len(pair) == 2:
            issues.append((f"{path}.between", "a second link between the same two servers"))
        pairs.add(pair)
        has_shannon = link.bandwidth_hz is not None or link.snr_db is not None
        if link.rate_bps is not None and has_shannon:
            issues.append((path, "give either rate_bps or bandwidth_hz + snr_db, not both"))
        elif link.rate_bps is None and (link.bandwidth_hz is None or link.snr_db is None):
            issues.append((path, "needs rate_bps, or both bandwidth_hz and snr_db"))

    # every server reachable from the device through links
    if len(devices) == 1 and not issues:
        device = instance.servers[devices[0]].name
        reached = {device}
        frontier = [device]
        while frontier:
            here = frontier.pop()
            for link in instance.links:
                if here in link.between:
                    other = link.between[1] if link.between[0] == here else link.between[0]
                    if other not in reached:
                        reached.add(other)
                        frontier.append(other)
        for i, server in enumerate(instance.servers):
            if server.name not in reached:
                issues.append(
                    (f"servers[{i}]", f"{short(server.name)} cannot be reached from the device")
                )

    layer_names = set(graph.names)

    def layers_exist(listed: list[str] | None, path: str) -> None:
        seen: set[str] = set()
        for j, name in enumerate(listed or []):
            if name not in layer_names:
                issues.append((f"{path}[{j}]", f"unknown layer {short(name)}"))
            elif name in seen:
                issues.append((f"{path}[{j}]", f"duplicate layer {short(name)}"))
            seen.add(name)

    def unique(values: list[Any], path: str, what: str) -> None:
        seen: set[Any] = set()
        for j, value in enumerate(values):
            if value in seen:
                issues.append((f"{path}[{j}]", f"duplicate {what} {value:g}"))
            seen.add(value)

    if instance.quantization is not None:
        unique(instance.quantization.bits, "quantization.bits", "bit-width")
        layers_exist(instance.quantization.layers, "quantization.layers")
    if instance.pruning is not None:
        unique(instance.pruning.ratios, "pruning.ratios", "ratio")
        layers_exist(instance.pruning.layers, "pruning.layers")
    if instance.compression is not None:
        unique(instance.compression.ratios, "compression.ratios", "ratio")

    if instance.accuracy is not None:
        issues.extend(_check_accuracy(instance, layer_names))

    if isinstance(instance.objective, Weighted):
        w = instance.objective.weighted
        if w.latency == 0 and w.energy == 0:
            issues.append(("objective.weighted", "at least one weight must be > 0"))
    return issues


def _check_accuracy(instance: InferenceInstance, layer_names: set[str]) -> list[tuple[str, str]]:
    assert instance.accuracy is not None
    issues: list[tuple[str, str]] = []
    seen: set[tuple[str, str, float]] = set()
    key: tuple[str, str, float]
    for t, term in enumerate(instance.accuracy.terms):
        path = f"accuracy.terms[{t}]"
        kind = term.kind
        if kind is None:
            issues.append((path, "needs {layer, bits}, {layer, pruning} or {tensor, compression}"))
            continue
        if kind == "compression":
            assert term.tensor is not None and term.compression is not None
            if term.tensor != INPUT and term.tensor not in layer_names:
                issues.append((f"{path}.tensor", f"unknown tensor {short(term.tensor)}"))
            elif term.compression not in instance.compression_choices:
                issues.append(
                    (f"{path}.compression", f"{term.compression:g} is not in compression.ratios")
                )
            key = (term.tensor, kind, term.compression)
        else:
            assert term.layer is not None
            if term.layer not in layer_names:
                issues.append((f"{path}.layer", f"unknown layer {short(term.layer)}"))
                continue
            value: float
            if kind == "bits":
                assert term.bits is not None
                value = term.bits
                if term.bits not in instance.layer_bits(term.layer):
                    issues.append(
                        (f"{path}.bits", f"layer {short(term.layer)} cannot take {term.bits} bits")
                    )
            else:
                assert term.pruning is not None
                value = term.pruning
                if term.pruning not in instance.layer_pruning(term.layer):
                    issues.append(
                        (
                            f"{path}.pruning",
                            f"layer {short(term.layer)} cannot take pruning {term.pruning:g}",
                        )
                    )
            key = (term.layer, kind, value)
        if key in seen:
            issues.append((path, "a second term for the same choice"))
        seen.add(key)
    count = len(instance.accuracy.terms)
    pairs: set[frozenset[int]] = set()
    for k, inter in enumerate(instance.accuracy.interactions):
        path = f"accuracy.interactions[{k}].of"
        for j, index in enumerate(inter.of):
            if index >= count:
                issues.append((f"{path}[{j}]", f"no term {index} (there are {count})"))
        if inter.of[0] == inter.of[1]:
            issues.append((path, "an interaction joins two different terms"))
        elif frozenset(inter.of) in pairs:
            issues.append((path, "a second interaction of the same two terms"))
        pairs.add(frozenset(inter.of))
    return issues
