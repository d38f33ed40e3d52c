"""Model graphs (SPEC §6.1): the ``jqodi-model/1`` type shared by both problem families.

A model is a directed acyclic graph of **layers** (an ONNX operator, or a block of them). Each layer
holds its forward FLOPs for one sample, its parameter count, the size of its output tensor for one
sample in FP32 bytes, and the names of the layers whose outputs it consumes. The pseudo-layer
:data:`INPUT` is the model's input tensor (``input_bytes``). A layer that does not say ``inputs``
consumes the previous layer (the first one consumes :data:`INPUT`), so a plain list is a chain.

Fine-tuning (§1) reads a chain of such layers as a model's ``blocks``; inference (§7) reads the
whole DAG. The model's **outputs** are the layers no other layer consumes.

Files: :func:`read_model` / :func:`write_model` (one line per problem naming the file and the field
path, :class:`ModelError`); the bundled profiles of ``instances/models/`` by name with
:func:`bundled_profiles` and :func:`read_profile`. :func:`coarsen` merges single-entry single-exit
segments of a graph into blocks (``jqodi import-onnx --coarsen N``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from jqodi_opt.exceptions import InputError, describe_pydantic_error, short

FORMAT = "jqodi-model/1"

#: Name of the pseudo-layer that stands for the model's input tensor.
INPUT = "input"

#: Upper bound on every physical quantity read (FLOPs, bytes, speeds, powers, rates, ...): a value
#: above it is a typo, and the cost formulas multiply up to a few of them, which stays finite.
MAX_QUANTITY = 1e30

Name = Annotated[str, Field(min_length=1, max_length=200)]
NonNegative = Annotated[float, Field(ge=0, le=MAX_QUANTITY)]
Positive = Annotated[float, Field(gt=0, le=MAX_QUANTITY)]


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
    params: Annotated[int, Field(ge=0, le=int(MAX_QUANTITY))]
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
            raise GraphIssues(problems)
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


class ModelError(InputError):
    """A model file that is not a valid ``jqodi-model/1``, or an unknown bundled profile."""


class GraphIssues(ValueError):
    """Structural problems found by :class:`ModelGraph`'s validator, kept as ``(path, message)``
    pairs so a reader can report each one at its field path."""

    def __init__(self, issues: Sequence[tuple[str, str]]) -> None:
        self.issues = list(issues)
        super().__init__("; ".join(f"{path}: {message}" for path, message in self.issues))


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


# -------------------------------------------------------------------------------------------------
# files


def build_model(document: Any, source: str = "<model>", prefix: str = "") -> ModelGraph:
    """Builds a validated :class:`ModelGraph` from a parsed ``jqodi-model/1`` document.

    Parameters
    ----------
    document
        The parsed JSON/YAML object.
    source
        The file (or other source) named in error messages.
    prefix
        Field path of the document inside a larger one (e.g. ``"model"`` for an inline model of an
        inference instance), put before every reported path.

    Raises
    ------
    ModelError
        One ``(field path, message)`` per problem.
    """

    def at(path: str) -> str:
        return f"{prefix}.{path}" if prefix and path else (prefix or path)

    if not isinstance(document, dict):
        raise ModelError(source, [(prefix, "the model must be a mapping (a JSON object)")])
    if document.get("format") != FORMAT:
        got = document.get("format")
        raise ModelError(source, [(at("format"), f"must be {FORMAT!r} (got {short(got)})")])
    try:
        return ModelGraph.model_validate(document)
    except ValidationError as exc:
        issues: list[tuple[str, str]] = []
        for error in exc.errors():
            found = (error.get("ctx") or {}).get("error")
            if isinstance(found, GraphIssues):
                issues.extend((at(path), message) for path, message in found.issues)
            else:
                issues.append(describe_pydantic_error(error, prefix))
        raise ModelError(source, issues) from None


def read_model(path: str | os.PathLike[str]) -> ModelGraph:
    """Reads and validates a ``jqodi-model/1`` file (JSON, or YAML by suffix).

    Raises
    ------
    ModelError
        When the file is missing, unparsable or invalid; one line per problem with its field path.
    """
    from jqodi_opt.read import load_document  # late: read.py imports the fine-tuning family

    return build_model(load_document(path, error=ModelError), source=str(path))


def write_model(model: ModelGraph, path: str | os.PathLike[str]) -> None:
    """Writes ``model`` as a ``jqodi-model/1`` JSON file, atomically."""
    from jqodi_opt.read import write_json_atomic

    write_json_atomic(model.to_dict(), path)


#: Where the bundled profiles live (SPEC §6.1): ``instances/models/<name>.json`` of the repository.
MODELS_DIR = Path(__file__).resolve().parent.parent / "instances" / "models"


def bundled_profiles() -> dict[str, Path]:
    """The bundled ``jqodi-model/1`` profiles, by name (the file stem, which equals the model's
    ``name``), sorted by name; empty when the repository's ``instances/models/`` is absent."""
    if not MODELS_DIR.is_dir():
        return {}
    return {path.stem: path for path in sorted(MODELS_DIR.glob("*.json"))}


def read_profile(name: str, source: str = "<profile>", field: str = "profile") -> ModelGraph:
    """The bundled profile called ``name`` (e.g. ``"alexnet-cifar10"``).

    Parameters
    ----------
    name
        A name listed by :func:`bundled_profiles`.
    source, field
        The file and field path reported when ``name`` is not bundled.

    Raises
    ------
    ModelError
        When no profile has that name (the message lists the bundled ones).
    """
    profiles = bundled_profiles()
    if name not in profiles:
        known = ", ".join(profiles) or "none"
        raise ModelError(source, [(field, f"unknown profile {short(name)} (bundled: {known})")])
    return read_model(profiles[name])


# -------------------------------------------------------------------------------------------------
# coarsening

_SINK = "\x00sink"


def coarsen(model: ModelGraph, max_layers: int) -> ModelGraph:
    """Merges single-entry single-exit segments until at most ``max_layers`` layers remain.

    A merge takes a layer ``u`` and its immediate post-dominator ``v`` together with every layer on
    a path between them, provided nothing outside enters the segment except at ``u`` and nothing
    leaves it except from ``v``: a producer and its only consumer (when that consumer has no other
    input), or a whole fork–join block such as a residual block with its skip connection. The
    merged layer sums FLOPs and parameters, outputs ``v``'s tensor and consumes ``u``'s inputs, so
    totals are kept and the result is still a DAG.

    Each merge removes the cut candidates inside the segment, the best of which crossed its
    smallest internal tensor. Merges are taken greedily: first the *free* ones, whose internal
    tensors are no smaller than the segment's output and the smallest of them equal to it (an
    operator and its activation, a SiLU's sigmoid and product, a split after its producer: a cut
    inside sends as many bytes as the cut after), fewest layers first, so blocks grow evenly
    across the model; then the one whose smallest internal tensor is *largest* (ties: fewer
    layers). Remaining ties go to the earliest merge. So cut candidates crossed by small tensors
    survive longest. When no segment is left to merge the result may
    keep more than ``max_layers`` layers (a graph of parallel branches that never join, say).

    The candidates are kept up to date incrementally (:class:`_Merges`): each merge costs
    ``O(n)``, so coarsening ``n`` layers takes ``O(n^2)`` work.

    A merged layer is named after the common ``/``-separated prefix of its members' names (the
    module path of an exported model, e.g. ``/layer1/layer1.0``) when that prefix is non-empty and
    unique, otherwise after its last member; ``op`` lists its members' operator types.

    Parameters
    ----------
    model
        The graph to coarsen (not changed).
    max_layers
        The largest number of layers wanted; at least 1.

    Returns
    -------
    ModelGraph
        The coarsened graph (``model`` itself when it is already small enough).
    """
    if max_layers < 1:
        raise ValueError(f"max_layers must be >= 1 (got {max_layers})")
    if len(model.layers) <= max_layers:
        return model
    position = model.index
    graph = model.to_networkx()
    graph.add_node(_SINK)
    graph.add_edges_from((name, _SINK) for name in model.outputs)
    members: dict[str, list[str]] = {name: [name] for name in model.names}
    merges = _Merges(graph, members, position)
    count = len(members)
    while count > max_layers:
        best = merges.best()
        if best is None:
            break
        _, entry, exit_, region = best
        merges.apply(entry, exit_, region)
        count -= len(region) - 1
    return _rebuild(model, graph, members, position)


_Key = tuple[bool, float, int, int]
_Candidate = tuple[_Key, str, str, set[str]]


def _candidate(
    graph: nx.DiGraph,
    members: dict[str, list[str]],
    position: dict[str, int],
    post_dominator: dict[str, str],
    entry: str,
) -> _Candidate | None:
    """The segment that starts at ``entry`` as ``(key, entry, exit, nodes)``, or None; the
    smallest key is merged first (see :func:`coarsen`)."""
    if entry in (INPUT, _SINK):
        return None
    exit_ = post_dominator.get(entry)
    if exit_ is None or exit_ == _SINK:
        return None
    region = _segment(graph, entry, exit_)
    if region is None:
        return None
    smallest_lost = min(graph.nodes[node]["output_bytes"] for node in region if node != exit_)
    size = sum(len(members[node]) for node in region)
    free = smallest_lost == graph.nodes[exit_]["output_bytes"]
    key = (not free, 0.0 if free else -smallest_lost, size, position[members[entry][0]])
    return key, entry, exit_, region


def _best_merge(
    graph: nx.DiGraph, members: dict[str, list[str]], position: dict[str, int]
) -> _Candidate | None:
    """The segment to merge next, computed from scratch (the reference :class:`_Merges` keeps up
    to date incrementally)."""
    post_dominator = nx.immediate_dominators(graph.reverse(copy=False), _SINK)
    found = [_candidate(graph, members, position, post_dominator, node) for node in graph.nodes]
    return min((c for c in found if c is not None), default=None)


class _Merges:
    """The candidate segments of a graph under contraction, kept up to date incrementally.

    Contracting a single-entry single-exit segment into its exit changes no post-dominance
    outside it (a node post-dominated by a member is then post-dominated by the exit), so the
    post-dominators are computed once and patched; after a merge only the candidates whose
    segment touched the merged nodes, those of the entry's producers and those whose
    post-dominator changed are recomputed. Same choices as :func:`_best_merge` at every step,
    in ``O(n)`` per merge instead of a full recomputation.
    """

    def __init__(
        self, graph: nx.DiGraph, members: dict[str, list[str]], position: dict[str, int]
    ) -> None:
        self.graph, self.members, self.position = graph, members, position
        self.post_dominator = dict(nx.immediate_dominators(graph.reverse(copy=False), _SINK))
        self.candidates: dict[str, _Candidate] = {}
        self.covering: dict[str, set[str]] = {node: set() for node in graph.nodes}
        for node in list(graph.nodes):
            self._refresh(node)

    def best(self) -> _Candidate | None:
        """The candidate with the smallest key (keys are unique: they end in a position)."""
        return min(self.candidates.values(), default=None)

    def apply(self, entry: str, exit_: str, region: set[str]) -> None:
        """Contracts ``region`` into ``exit_`` and refreshes the candidates it affects."""
        stale = {exit_, *self.graph.predecessors(entry)}
        for node in region:
            stale |= self.covering[node]
        for node, dominator in self.post_dominator.items():
            if dominator in region and dominator != exit_:
                self.post_dominator[node] = exit_
                stale.add(node)
        _contract(self.graph, self.members, self.position, entry, exit_, region)
        for node in region - {exit_}:
            self.post_dominator.pop(node, None)
        for node in stale:
            self._refresh(node)
        for node in region - {exit_}:
            del self.covering[node]

    def _refresh(self, node: str) -> None:
        old = self.candidates.pop(node, None)
        if old is not None:
            for member in old[3]:
                self.covering[member].discard(node)
        if node not in self.graph:
            return
        found = _candidate(self.graph, self.members, self.position, self.post_dominator, node)
        if found is not None:
            self.candidates[node] = found
            for member in found[3]:
                self.covering[member].add(node)


def _segment(graph: nx.DiGraph, entry: str, exit_: str) -> set[str] | None:
    """The layers on paths from ``entry`` to its post-dominator ``exit_`` if the segment is closed
    (entered only at ``entry``, left only from ``exit_``), else None."""
    region = {entry, exit_}
    stack = [entry]
    while stack:  # every path from entry reaches exit_ (post-dominance), so this stays inside
        node = stack.pop()
        for successor in graph.successors(node):
            if successor == _SINK:
                return None
            if successor not in region:
                region.add(successor)
                stack.append(successor)
    for node in region:
        if node != entry and any(p not in region for p in graph.predecessors(node)):
            return None
        if node != exit_ and any(s not in region for s in graph.successors(node)):
            return None
    return region


def _contract(
    graph: nx.DiGraph,
    members: dict[str, list[str]],
    position: dict[str, int],
    entry: str,
    exit_: str,
    region: set[str],
) -> None:
    """Replaces ``region`` by one node named ``exit_`` (the segment's output tensor)."""
    merged = sorted((m for node in region for m in members[node]), key=position.__getitem__)
    flops = sum(graph.nodes[node]["flops"] for node in region)
    params = sum(graph.nodes[node]["params"] for node in region)
    producers = list(graph.predecessors(entry))
    for node in region - {exit_}:
        graph.remove_node(node)
        del members[node]
    graph.add_edges_from((producer, exit_) for producer in producers)
    graph.nodes[exit_].update(flops=flops, params=params)
    members[exit_] = merged


def _rebuild(
    model: ModelGraph,
    graph: nx.DiGraph,
    members: dict[str, list[str]],
    position: dict[str, int],
) -> ModelGraph:
    """The coarsened :class:`ModelGraph` from the contracted graph, in a topological order."""
    layers_by_name = {layer.name: layer for layer in model.layers}
    order = list(
        nx.lexicographical_topological_sort(
            graph.subgraph(members), key=lambda node: position[members[node][0]]
        )
    )
    names: dict[str, str] = {}
    taken = set(model.names)
    for node in order:
        group = members[node]
        name = node
        if len(group) > 1:
            prefix = _common_prefix(group)
            if prefix and prefix not in taken:
                name = prefix
        taken.add(name)
        names[node] = name
    block_of = {member: node for node, group in members.items() for member in group}
    layers = []
    for i, node in enumerate(order):
        group = members[node]
        # the block's inputs are its first member's (the segment's entry), in their original order
        first_inputs = model.layer_inputs[position[group[0]]]
        inputs: list[str] | None = list(
            dict.fromkeys(INPUT if s == INPUT else names[block_of[s]] for s in first_inputs)
        )
        if inputs == [INPUT if i == 0 else names[order[i - 1]]]:
            inputs = None  # the default: a chain stays a plain list
        if len(group) == 1:
            layers.append(layers_by_name[node].model_copy(update={"inputs": inputs}))
            continue
        ops = [layers_by_name[m].op for m in group]
        layers.append(
            Layer(
                name=names[node],
                flops=float(graph.nodes[node]["flops"]),
                params=int(graph.nodes[node]["params"]),
                output_bytes=layers_by_name[node].output_bytes,
                inputs=inputs,
                op="+".join(dict.fromkeys(op for op in ops if op)) or None,
            )
        )
    return ModelGraph(**model.model_dump(exclude={"layers"}), layers=layers)


def _common_prefix(names: list[str]) -> str:
    """The common leading ``/``-separated components of ``names`` (``""`` when none)."""
    parts = [name.split("/") for name in names]
    common: list[str] = []
    for components in zip(*parts, strict=False):
        if any(c != components[0] for c in components):
            break
        common.append(components[0])
    if len(common) == min(len(p) for p in parts):  # a whole name: not a proper prefix
        common = common[:-1]
    return "/".join(common) if any(common) else ""
