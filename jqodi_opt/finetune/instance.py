"""The validated instance: what the user wrote in a ``jqodi-instance/1`` file.

Field names carry their units (``speed_flops``, ``time_s``). Each entity checks its own
fields through pydantic; :func:`check_references` checks what spans entities (names,
cross-references, cuts, curve forms) and names the offending field path. Reading files lives
in :mod:`jqodi_opt.read`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from jqodi_opt.exceptions import short
from jqodi_opt.inference.instance import Accuracy as ServingAccuracy
from jqodi_opt.inference.instance import Compression as ServingCompression

FORMAT = "jqodi-instance/1"
#: Most fine-tuning epochs any instance or plan may ask for (``max_epochs`` is at most this): a
#: bound on what simulating or expanding a schedule can cost (README, "Limits on input").
MAX_EPOCHS = 1_000_000

# Numbers: strictly typed (no "1.0" strings, no booleans), finite.
Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Name = Annotated[str, Field(min_length=1)]


class _Entity(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class Cloud(_Entity):
    """The cloud server (CS): updates the full-precision model and quantizes it."""

    speed_flops: Positive
    energy_per_flop: NonNegative


class EdgeServer(_Entity):
    """An edge server (ES) that can run the deep blocks of the model."""

    name: Name
    speed_flops: Positive
    energy_per_flop: NonNegative
    cloud_rate_bps: Positive
    cloud_energy_per_bit: NonNegative


class Device(_Entity):
    """The end device (SD) with the private training data."""

    name: Name
    speed_flops: Positive
    energy_per_flop: NonNegative
    train_samples: Annotated[int, Field(gt=0)]


class Link(_Entity):
    """The wireless link between the device and one edge server.

    Either ``rate_bps`` or both ``bandwidth_hz`` and ``snr_db`` (Shannon rate, paper §III-A).
    """

    edge_server: Name
    energy_per_bit: NonNegative
    bandwidth_hz: Positive | None = None
    snr_db: float | None = None
    rate_bps: Positive | None = None


class Bitwidth(_Entity):
    """A candidate quantization bit-width; 32 is full precision."""

    bits: Annotated[int, Field(ge=1, le=32)]
    compute_scale: Positive | None = None

    @property
    def scale(self) -> float:
        """Fraction of full-precision compute work at this bit-width (default ``bits / 32``)."""
        return self.compute_scale if self.compute_scale is not None else self.bits / 32


class Block(_Entity):
    """One block of a model: the layers between two consecutive cut points.

    ``flops`` is the forward work of one sample; ``output_bytes`` (optional, SPEC §6.1) is the size
    of the block's output tensor for one sample in FP32 bytes, needed only to serve the model
    (the ``serving`` section, SPEC §8).
    """

    name: Name
    flops: NonNegative
    params: NonNegative
    output_bytes: NonNegative | None = None


class Model(_Entity):
    """A pre-trained model held by the cloud server."""

    name: Name
    loss: NonNegative
    cloud_flops: NonNegative
    quantize_flops: NonNegative | None = None
    blocks: Annotated[list[Block], Field(min_length=1)]
    cuts: Annotated[list[int], Field(min_length=1)] | None = None
    # FP32 bytes of one input sample; only inference needs it (SPEC §6.1's input_bytes)
    input_bytes: Positive | None = None

    @property
    def cut_points(self) -> list[int]:
        """The cuts this model offers (default every cut ``0..n``)."""
        return list(self.cuts) if self.cuts is not None else list(range(len(self.blocks) + 1))

    @property
    def quantize_work_flops(self) -> float:
        """Cloud work to quantize the model once (default ``cloud_flops``)."""
        return self.quantize_flops if self.quantize_flops is not None else self.cloud_flops


class Estimates(_Entity):
    """A pair of estimates of one quantity: expected and robust (pessimistic)."""

    expected: NonNegative
    robust: NonNegative


class EpochEstimates(_Entity):
    """Epochs to reach the loss target, given directly (paper Tables VI–VII)."""

    expected: Annotated[int, Field(ge=1)]
    robust: Annotated[int, Field(ge=1)]


class PowerLaw(_Entity):
    """``L(k) = floor + (L0 - floor) * (k + 1) ** -exponent`` (SPEC §1.2)."""

    floor: NonNegative
    exponent: Positive


class PowerLawEstimates(_Entity):
    """Power-law loss curves under the two estimators."""

    expected: PowerLaw
    robust: PowerLaw


class Learning(_Entity):
    """How one (model, bit-width) pair learns; paper eqs. 11–12."""

    model: Name
    bits: Annotated[int, Field(ge=1, le=32)]
    infeasible: bool = False
    gamma: Estimates | None = None
    epochs: EpochEstimates | None = None
    power_law: PowerLawEstimates | None = None
    # The real curve, used only by simulation: an int (epochs form) or a PowerLaw mapping.
    truth: Any = None

    @property
    def form(self) -> Literal["epochs", "power_law"] | None:
        """The curve form of this entry, or None when it has none."""
        if self.epochs is not None:
            return "epochs"
        if self.power_law is not None:
            return "power_law"
        return None

    def gamma_of(self, estimator: str) -> float:
        """The loss jump caused by quantizing, under ``estimator`` (0 when not given)."""
        return 0.0 if self.gamma is None else float(getattr(self.gamma, estimator))


class Limits(_Entity):
    """The time limit on fine-tuning and the loss target."""

    time_s: Positive
    loss: Positive


class ServingLimits(_Entity):
    """Limits on one served request: its latency and the device's energy."""

    latency_s: Positive | None = None
    device_energy_j: Positive | None = None


class Serving(_Entity):
    """How the fine-tuned model is served afterwards (SPEC §8): the lifecycle section.

    Its inference problem (SPEC §7) runs on the instance's own hardware; see
    :func:`jqodi_opt.lifecycle.serving_instance` for how servers, links and the model are mapped.
    ``input_bytes`` is the input of models that do not give their own ``input_bytes``.
    ``compression`` and ``accuracy`` have the shapes of the ``jqodi-inference/1`` sections of the
    same name; an accuracy term applies to the candidates whose model has the layer or tensor it
    names (every named layer or tensor must exist in some model).
    """

    requests: Annotated[float, Field(ge=0, le=1e18)]
    input_bytes: Positive | None = None
    limits: ServingLimits | None = None
    compression: ServingCompression | None = None
    accuracy: ServingAccuracy | None = None
    return_output: bool = True


class Instance(_Entity):
    """One JQODI problem instance (SPEC §3.1), checked field by field.

    Use :func:`jqodi_opt.read.read_instance` to read a file; it also runs :func:`check_references`.
    """

    format: Literal["jqodi-instance/1"]
    name: Name
    description: str | None = None
    training_factor: Positive = 3.0
    max_epochs: Annotated[int, Field(ge=1, le=MAX_EPOCHS)] = 10_000
    cloud: Cloud
    edge_servers: Annotated[list[EdgeServer], Field(min_length=1)]
    device: Device
    links: list[Link]
    bitwidths: Annotated[list[Bitwidth], Field(min_length=1)]
    models: Annotated[list[Model], Field(min_length=1)]
    learning: list[Learning]
    limits: Limits
    serving: Serving | None = None

    def model_index(self, name: str) -> int:
        """Index of the model called ``name``."""
        return [m.name for m in self.models].index(name)

    def edge_server_index(self, name: str) -> int:
        """Index of the edge server called ``name``."""
        return [e.name for e in self.edge_servers].index(name)

    def link_of(self, edge_server: str) -> Link | None:
        """The device's link to ``edge_server``, or None if there is none."""
        return next((lk for lk in self.links if lk.edge_server == edge_server), None)

    def learning_of(self, model: str, bits: int) -> Learning | None:
        """The learning entry of (``model``, ``bits``), or None if there is none."""
        return next((e for e in self.learning if e.model == model and e.bits == bits), None)


def check_references(instance: Instance) -> list[tuple[str, str]]:
    """Checks what spans entities; returns ``(field path, message)`` pairs, empty when all is well.

    Parameters
    ----------
    instance
        An instance whose fields each passed their own checks.
    """
    issues: list[tuple[str, str]] = []

    def unique(items: list[Any], key: str, path: str) -> None:
        seen: set[Any] = set()
        for i, item in enumerate(items):
            value = getattr(item, key)
            if value in seen:
                issues.append((f"{path}[{i}].{key}", f"duplicate {key} {short(value)}"))
            seen.add(value)

    unique(instance.edge_servers, "name", "edge_servers")
    unique(instance.models, "name", "models")
    unique(instance.bitwidths, "bits", "bitwidths")
    unique(instance.links, "edge_server", "links")
    for a, model in enumerate(instance.models):
        unique(model.blocks, "name", f"models[{a}].blocks")
        n = len(model.blocks)
        if model.cuts is not None:
            seen_cuts: set[int] = set()
            for c, cut in enumerate(model.cuts):
                path = f"models[{a}].cuts[{c}]"
                if not 0 <= cut <= n:
                    issues.append((path, f"cut {cut} outside 0..{n}"))
                elif cut in seen_cuts:
                    issues.append((path, f"duplicate cut {cut}"))
                seen_cuts.add(cut)

    server_names = {e.name for e in instance.edge_servers}
    for i, link in enumerate(instance.links):
        path = f"links[{i}]"
        if link.edge_server not in server_names:
            issues.append((f"{path}.edge_server", f"unknown edge server {short(link.edge_server)}"))
        has_shannon = link.bandwidth_hz is not None or link.snr_db is not None
        if link.rate_bps is not None and has_shannon:
            issues.append((path, "give either rate_bps or bandwidth_hz + snr_db, not both"))
        elif link.rate_bps is None and (link.bandwidth_hz is None or link.snr_db is None):
            issues.append((path, "needs rate_bps, or both bandwidth_hz and snr_db"))

    model_names = {m.name for m in instance.models}
    bit_set = {b.bits for b in instance.bitwidths}
    seen_pairs: set[tuple[str, int]] = set()
    for i, entry in enumerate(instance.learning):
        path = f"learning[{i}]"
        if entry.model not in model_names:
            issues.append((f"{path}.model", f"unknown model {short(entry.model)}"))
        if entry.bits not in bit_set:
            issues.append((f"{path}.bits", f"bit-width {entry.bits} is not in bitwidths"))
        if (entry.model, entry.bits) in seen_pairs:
            issues.append((path, f"duplicate learning entry for ({entry.model}, {entry.bits})"))
        seen_pairs.add((entry.model, entry.bits))
        if entry.gamma is not None and entry.gamma.robust < entry.gamma.expected:
            issues.append((f"{path}.gamma.robust", "must be >= gamma.expected"))
        if entry.epochs is not None and entry.power_law is not None:
            issues.append((path, "give one curve form, epochs or power_law, not both"))
        elif entry.form is None and not entry.infeasible:
            issues.append((path, "needs a curve form (epochs or power_law) or infeasible: true"))
        if entry.epochs is not None and entry.epochs.robust < entry.epochs.expected:
            issues.append((f"{path}.epochs.robust", "must be >= epochs.expected"))
        if entry.truth is not None:
            issues.extend(_check_truth(entry, f"{path}.truth", instance.max_epochs))
    if instance.serving is not None:
        issues.extend(_check_serving(instance, instance.serving))
    return issues


def _check_serving(instance: Instance, serving: Serving) -> list[tuple[str, str]]:
    """Serving needs every block's output size, and accuracy terms that name real blocks."""
    issues: list[tuple[str, str]] = []
    for a, model in enumerate(instance.models):
        if model.input_bytes is None and serving.input_bytes is None:
            issues.append((f"models[{a}].input_bytes", "needed when serving gives no input_bytes"))
        for b, block in enumerate(model.blocks):
            if block.output_bytes is None:
                issues.append(
                    (f"models[{a}].blocks[{b}].output_bytes", "needed when serving is given")
                )
    if serving.accuracy is None:
        return issues
    blocks = {block.name for model in instance.models for block in model.blocks}
    for t, term in enumerate(serving.accuracy.terms):
        path = f"serving.accuracy.terms[{t}]"
        if term.kind is None:
            issues.append((path, "must be {layer, bits} or {tensor, compression}"))
        elif term.kind == "pruning":
            issues.append((f"{path}.pruning", "served models are not pruned"))
        name = term.layer if term.layer is not None else term.tensor
        if name is not None and name != "input" and name not in blocks:
            field = "layer" if term.layer is not None else "tensor"
            issues.append((f"{path}.{field}", f"no model has a block {short(name)}"))
    count = len(serving.accuracy.terms)
    for i, interaction in enumerate(serving.accuracy.interactions):
        for j, index in enumerate(interaction.of):
            if index >= count:
                issues.append((f"serving.accuracy.interactions[{i}].of[{j}]", f"no term {index}"))
    return issues


def _check_truth(entry: Learning, path: str, max_epochs: int) -> list[tuple[str, str]]:
    truth = entry.truth
    if entry.form == "epochs":
        if isinstance(truth, bool) or not isinstance(truth, int) or truth < 1:
            return [(path, "must be an integer number of epochs >= 1 (epochs form)")]
        if truth > max_epochs:
            return [(path, f"must be <= max_epochs {max_epochs:,} (got {short(truth)})")]
        return []
    if entry.form == "power_law":
        if not isinstance(truth, dict):
            return [(path, "must be a mapping with floor and exponent (power_law form)")]
        from pydantic import ValidationError

        try:
            PowerLaw.model_validate(truth)
        except ValidationError as exc:
            from jqodi_opt.exceptions import describe_pydantic_error

            return [describe_pydantic_error(err, prefix=path) for err in exc.errors()]
        return []
    return [(path, "needs a curve form on the same entry")]
