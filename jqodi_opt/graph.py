"""Model graphs (SPEC §6.1): the ``jqodi-model/1`` type shared by both problem families.

A model is a directed acyclic graph of **layers** (an ONNX operator, or a block of them). Each layer
holds its forward FLOPs for one sample, its parameter count, the size of its output tensor for one
sample in FP32 bytes, and the names of the layers whose outputs it consumes. The pseudo-layer
:data:`INPUT` is the model's input tensor (``input_bytes``). A layer that does not say ``inputs``
consumes the previous layer (the first one consumes :data:`INPUT`), so a plain list is a chain.

Fine-tuning (§1) reads a chain of such layers as a model's ``blocks``; inference (§7) reads the
whole DAG. The model's **outputs** are the layers no other layer consumes.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import Annotated, Any

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field, model_validator

FORMAT = "jqodi-model/1"

#: Name of the pseudo-layer that stands for the model's input tensor.
INPUT = "input"

Name = Annotated[str, Field(min_length=1, max_length=200)]
NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]


class Layer(BaseModel):
    """One layer (or block of operators) of a model graph.

    Attributes
    ----------
    name
        Unique within the model; not :data:`INPUT`.
    flops
        Forward FLOPs for one sample (2 × MACs for a convolution or a matrix product).
    params
        Parameter count (weights and biases).
    output_bytes
        Size of the output tensor for one sample, FP32 (4 bytes per element).
    inputs
        Names of the layers whose output this layer consumes (:data:`INPUT` for the model's input);
        None: the previous layer in the list (or :data:`INPUT` for the first).
    op
        The operator type(s) the layer stands for (informative, e.g. ``"Conv"``).
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    name: Name
    flops: NonNegative
    params: Annotated[int, Field(ge=0)]
    output_bytes: NonNegative
    inputs: Annotated[list[Name], Field(min_length=1, max_length=10_000)] | None = None
    op: str | None = None


class ModelGraph(BaseModel):
    """A ``jqodi-model/1`` model: a DAG of :class:`Layer` in a topological order.

    Validation checks that names are unique, that every input names :data:`INPUT` or an *earlier*
    layer (so the list order is topological and there is no cycle), and that no name is
    :data:`INPUT` itself. Field paths in errors point at the offending layer.
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    format: str = FORMAT
    name: Name
    description: str | None = None
    input_bytes: Positive
    input_shape: list[int] | None = None
    layers: Annotated[list[Layer], Field(min_length=1)]

    @model_validator(mode="after")
    def _check_graph(self) -> ModelGraph:
        problems = graph_issues(self)
        if problems:
            raise ValueError("; ".join(f"{path}: {message}" for path, message in problems))
        return self

    # ---------------------------------------------------------------------------------------------
    # structure

    @cached_property
    def names(self) -> list[str]:
        """Layer names in file (topological) order."""
        return [layer.name for layer in self.layers]

    @cached_property
    def index(self) -> dict[str, int]:
        """Position of each layer by name."""
        return {name: i for i, name in enumerate(self.names)}

    @cached_property
    def layer_inputs(self) -> list[list[str]]:
        """The inputs of each layer with the default (previous layer) filled in."""
        resolved: list[list[str]] = []
        for i, layer in enumerate(self.layers):
            if layer.inputs is not None:
                resolved.append(list(dict.fromkeys(layer.inputs)))
            else:
                resolved.append([INPUT if i == 0 else self.layers[i - 1].name])
        return resolved

    @cached_property
    def consumers(self) -> dict[str, list[str]]:
        """For :data:`INPUT` and each layer: the layers that consume its output, in order."""
        users: dict[str, list[str]] = {INPUT: [], **{name: [] for name in self.names}}
        for layer, inputs in zip(self.layers, self.layer_inputs, strict=True):
            for source in inputs:
                users[source].append(layer.name)
        return users

    @cached_property
    def outputs(self) -> list[str]:
        """The model's outputs: layers no other layer consumes."""
        return [name for name in self.names if not self.consumers[name]]

    @cached_property
    def is_chain(self) -> bool:
        """True when every layer consumes exactly the previous one (the first: the input)."""
        return all(
            inputs == [INPUT if i == 0 else self.names[i - 1]]
            for i, inputs in enumerate(self.layer_inputs)
        )

    def edges(self) -> Iterator[tuple[str, str]]:
        """``(producer, consumer)`` pairs, :data:`INPUT` included as a producer."""
        for layer, inputs in zip(self.layers, self.layer_inputs, strict=True):
            for source in inputs:
                yield source, layer.name

    def to_networkx(self) -> nx.DiGraph:
        """The graph as a :class:`networkx.DiGraph` with :data:`INPUT` as a node; layer nodes carry
        ``flops``, ``params`` and ``output_bytes``."""
        graph = nx.DiGraph()
        graph.add_node(INPUT, flops=0.0, params=0, output_bytes=self.input_bytes)
        for layer in self.layers:
            graph.add_node(
                layer.name, flops=layer.flops, params=layer.params, output_bytes=layer.output_bytes
            )
        graph.add_edges_from(self.edges())
        return graph

    @property
    def total_flops(self) -> float:
        """Forward FLOPs of the whole model for one sample."""
        return float(sum(layer.flops for layer in self.layers))

    @property
    def total_params(self) -> int:
        """Parameters of the whole model."""
        return sum(layer.params for layer in self.layers)

    def to_dict(self) -> dict[str, Any]:
        """The ``jqodi-model/1`` document (optional fields left out when not given)."""
        return self.model_dump(mode="json", exclude_none=True) | {"format": FORMAT}


def graph_issues(model: ModelGraph) -> list[tuple[str, str]]:
    """Structural problems of a model graph as ``(field path, message)`` pairs.

    Every input must name :data:`INPUT` or a layer listed *before* the consumer, so the list is a
    topological order and a cycle or a dangling input is reported at the layer that has it.
    """
    issues: list[tuple[str, str]] = []
    if model.format != FORMAT:
        issues.append(("format", f"must be {FORMAT!r}"))
    seen: set[str] = set()
    positions: dict[str, int] = {}
    for i, layer in enumerate(model.layers):
        positions.setdefault(layer.name, i)
    for i, layer in enumerate(model.layers):
        if layer.name == INPUT:
            issues.append((f"layers[{i}].name", f"{INPUT!r} is reserved for the model's input"))
        elif layer.name in seen:
            issues.append((f"layers[{i}].name", f"duplicate layer name {short(layer.name)}"))
        for j, source in enumerate(layer.inputs or []):
            if source == INPUT:
                continue
            if source not in positions:
                issues.append((f"layers[{i}].inputs[{j}]", f"unknown layer {short(source)}"))
            elif positions[source] >= i:
                issues.append(
                    (f"layers[{i}].inputs[{j}]", f"{short(source)} is not an earlier layer (cycle)")
                )
        seen.add(layer.name)
    return issues


def short(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, for messages that echo user input."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
