"""ONNX import (SPEC §6.1): an ONNX model as a ``jqodi-model/1`` graph of layers.

The counting is done by `onnx-tool <https://github.com/ThanatosShinji/onnx-tool>`_ (version pinned
in ``pyproject.toml``: its API changed between releases), after ``onnx``'s checker and shape
inference have accepted the model at the requested input shape. Every ONNX node that computes on
the model's data becomes one layer:

- ``flops`` = 2 × the MACs onnx-tool counts for the node (SPEC §6.1). For a convolution or a
  matrix product that is ``2 × output elements × (input channels / groups × kernel area)`` plus
  ``2 × output elements`` for a bias; element-wise operators are counted with onnx-tool's
  per-element costs (ReLU and a max-pool comparison 1 MAC, an exponential 32, a division 4, …), so
  a model's total is somewhat above the multiply–accumulate-only figures that papers and
  torchvision publish.
- ``params``: the elements of the floating-point initializers the node reads, directly or through
  ``Identity`` nodes (how the TorchScript exporter shares weights); a shared initializer counts
  once, at its first reader; integer initializers are shapes and indices, not parameters.
- ``output_bytes``: 4 bytes (FP32) per element of the node's output tensors for one sample (the
  outputs that something reads; several outputs, as of ``Split``, are summed).
- ``inputs``: the layers producing the node's data inputs; the graph's input is :data:`INPUT`.
  Initializers and constants are parameters, not inputs.

Nodes that only compute on shapes (``Shape``/``Size`` and whatever depends on the data only through
them) or on constants are not layers: an exporter's shape arithmetic would be folded away by any
runtime, and its cost is nil. The model must have exactly one data input whose leading (batch)
dimension is 1, so every count is per sample.

**Operators onnx-tool cannot count** (no profiler registered for the operator type) are refused,
one line per node. With ``allow_uncounted=True`` (``--allow-uncounted``) such a node is kept as a
layer with 0 FLOPs and its output shape from ``onnx`` shape inference, and an
:class:`UncountedWarning` names it; its parameters are still counted.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from jqodi_opt.exceptions import short
from jqodi_opt.graph import FORMAT, INPUT, Layer, ModelError, ModelGraph

#: Operators whose outputs describe shapes, not data: they and what depends on them only are
#: dropped.
SHAPE_OPS = frozenset({"Shape", "Size"})

#: Bytes per element of an output tensor (FP32, SPEC §6.1).
BYTES_PER_ELEMENT = 4

_FLOAT_TYPES = frozenset({1, 10, 11, 16})  # onnx.TensorProto FLOAT, FLOAT16, DOUBLE, BFLOAT16
_MAX_NAME = 200


class UncountedWarning(UserWarning):
    """A node whose operator onnx-tool cannot count was kept with 0 FLOPs (``allow_uncounted``)."""


def parse_shape(text: str) -> list[int]:
    """``"1x3x224x224"`` → ``[1, 3, 224, 224]``.

    Raises
    ------
    ValueError
        When a dimension is not a positive integer.
    """
    parts = text.lower().replace(",", "x").split("x")
    try:
        dims = [int(part) for part in parts]
    except ValueError:
        raise ValueError(
            f"--input-shape {short(text)} not understood: write dimensions as 1x3x224x224"
        ) from None
    if not dims or any(d < 1 for d in dims):
        raise ValueError(f"--input-shape {short(text)}: every dimension must be >= 1")
    return dims


def import_onnx(
    path: str | os.PathLike[str],
    input_shape: Sequence[int] | None = None,
    name: str | None = None,
    allow_uncounted: bool = False,
) -> ModelGraph:
    """Profiles an ONNX model into a :class:`~jqodi_opt.graph.ModelGraph`.

    Parameters
    ----------
    path
        The ``.onnx`` file.
    input_shape
        The shape of the model's input, batch dimension (1) first; None: the model's own shape,
        which must then be fully static.
    name
        The model's name; default: the file's stem.
    allow_uncounted
        Keep nodes whose operator onnx-tool cannot count, with 0 FLOPs and a warning, instead of
        refusing the model.

    Raises
    ------
    ModelError
        When the file is not a usable ONNX model, the shape does not fit it, or (without
        ``allow_uncounted``) an operator cannot be counted; one line per problem.
    """
    import onnx

    source = str(path)
    try:
        proto = onnx.load(source)
    except FileNotFoundError:
        raise ModelError(source, [("", "no such file")]) from None
    except Exception as exc:  # protobuf decode errors have no common public type
        raise ModelError(source, [("", f"not an ONNX model ({_first_line(exc)})")]) from None
    try:
        onnx.checker.check_model(proto)
    except Exception as exc:
        raise ModelError(source, [("", f"not a valid ONNX model: {_first_line(exc)}")]) from None

    graph = proto.graph
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    aliases = _initializer_aliases(proto, initializers)
    data_inputs = [value for value in graph.input if value.name not in initializers]
    if len(data_inputs) != 1:
        names = ", ".join(repr(value.name) for value in data_inputs) or "none"
        raise ModelError(
            source, [("graph.input", f"must have exactly one data input (found {names})")]
        )
    input_name = data_inputs[0].name
    shape = _fix_input_shape(source, data_inputs[0], input_shape)
    _unique_node_names(proto)

    try:
        inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=True, data_prop=True)
    except Exception as exc:
        raise ModelError(
            source,
            [("", f"onnx shape inference fails at input shape {_dims(shape)}: {_first_line(exc)}")],
        ) from None

    uncounted = _uncounted_nodes(proto)
    if uncounted and not allow_uncounted:
        raise ModelError(
            source,
            [
                (
                    f"graph.node[{i}]",
                    f"{short(node.name)}: operator {node.op_type!r} cannot be counted by onnx-tool "
                    f"{version('onnx-tool')} (--allow-uncounted keeps it with 0 FLOPs)",
                )
                for i, node in uncounted
            ],
        )
    known_shapes = _inferred_shapes(inferred)
    with _placeholders({node.op_type for _, node in uncounted}, known_shapes):
        profiled = _profile(source, inferred, input_name, shape)
    for _, node in uncounted:
        warnings.warn(
            f"{source}: node {short(node.name)}: operator {node.op_type!r} is not counted "
            "(kept with 0 FLOPs)",
            UncountedWarning,
            stacklevel=2,
        )

    layers = _layers(proto, profiled, input_name, initializers, aliases)
    if not layers:
        raise ModelError(source, [("graph.node", "no node computes on the model's input")])
    return ModelGraph(
        format=FORMAT,
        name=name or Path(source).stem,
        description=(
            f"imported from {Path(source).name} with onnx-tool {version('onnx-tool')} "
            f"(flops = 2 x MACs, FP32 tensors, one sample)"
        ),
        input_bytes=float(BYTES_PER_ELEMENT * int(np.prod(shape))),
        input_shape=list(shape),
        layers=layers,
    )


# -------------------------------------------------------------------------------------------------
# steps


def _fix_input_shape(source: str, value: Any, requested: Sequence[int] | None) -> list[int]:
    """Checks ``requested`` against the input's declared shape and writes it into the model."""
    tensor_type = value.type.tensor_type
    declared: list[int | str | None] | None = None
    if tensor_type.HasField("shape"):
        declared = [
            d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
            for d in tensor_type.shape.dim
        ]
    if requested is None:
        if declared is None or any(not isinstance(d, int) or d < 1 for d in declared):
            raise ModelError(
                source,
                [("", f"input {value.name!r} has no static shape {declared}: give --input-shape")],
            )
        shape = [int(d) for d in declared if isinstance(d, int)]
    else:
        shape = [int(d) for d in requested]
        if declared is not None:
            if len(declared) != len(shape):
                raise ModelError(
                    source,
                    [
                        (
                            "",
                            f"input {value.name!r} has {len(declared)} dimensions "
                            f"(got {_dims(shape)})",
                        )
                    ],
                )
            for axis, (want, got) in enumerate(zip(declared, shape, strict=True)):
                if isinstance(want, int) and want > 0 and want != got:
                    raise ModelError(
                        source,
                        [("", f"input {value.name!r} dimension {axis} is {want} (got {got})")],
                    )
    if not shape or shape[0] != 1:
        raise ModelError(
            source, [("", f"the leading (batch) dimension must be 1 (got {_dims(shape)})")]
        )
    tensor_type.ClearField("shape")
    for dim in shape:
        tensor_type.shape.dim.add().dim_value = dim
    return shape


def _unique_node_names(proto: Any) -> None:
    """Gives every node a unique, non-empty name that is not :data:`INPUT` and fits a layer name."""
    seen: set[str] = set()
    for i, node in enumerate(proto.graph.node):
        name = node.name or f"{node.op_type}_{i}"
        if len(name) > _MAX_NAME:
            digest = hashlib.sha1(name.encode()).hexdigest()[:8]
            name = f"{name[: _MAX_NAME - 10]}~{digest}"
        if name == INPUT or name in seen:
            name = f"{name}_{i}"
        seen.add(name)
        node.name = name


def _uncounted_nodes(proto: Any) -> list[tuple[int, Any]]:
    """``(index, node)`` of the nodes whose operator onnx-tool has no profiler for."""
    from onnx_tool.node import NODE_REGISTRY

    return [
        (i, node)
        for i, node in enumerate(proto.graph.node)
        if NODE_REGISTRY.get(node.op_type + "Node") is None
    ]


def _inferred_shapes(proto: Any) -> dict[str, list[int]]:
    """Static tensor shapes found by ``onnx`` shape inference."""
    shapes: dict[str, list[int]] = {}
    for value in [*proto.graph.value_info, *proto.graph.output]:
        dims = value.type.tensor_type.shape.dim
        if all(d.HasField("dim_value") for d in dims):
            shapes[value.name] = [d.dim_value for d in dims]
    return shapes


@contextmanager
def _placeholders(op_types: set[str], shapes: dict[str, list[int]]) -> Iterator[None]:
    """Registers, for the duration, a 0-MAC onnx-tool node for each uncountable operator type,
    whose output shapes come from ``onnx`` shape inference."""
    from onnx_tool.node import NODE_REGISTRY, Node

    class Uncounted(Node):
        def shape_infer(self, intensors: list[Any], outtensors: list[Any]) -> None:
            for output, tensor in zip(self.output, outtensors, strict=True):
                if output not in shapes:
                    raise ValueError(f"no static shape for output {output!r} of {self.name!r}")
                tensor.update_shape(list(shapes[output]))
                tensor.update_dtype(np.float32)

        def value_infer(self, intensors: list[Any], outtensors: list[Any]) -> None:
            self.shape_infer(intensors, outtensors)

        def profile(self, intensors: list[Any], outtensors: list[Any]) -> list[float]:
            return [0, 0]

    table = NODE_REGISTRY._obj_map
    added = [op + "Node" for op in op_types if op + "Node" not in table]
    for key in added:
        table[key] = Uncounted
    try:
        yield
    finally:
        for key in added:
            table.pop(key, None)


def _profile(source: str, proto: Any, input_name: str, shape: list[int]) -> Any:
    """onnx-tool's graph with shapes inferred and every node profiled."""
    import onnx_tool

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            graph = onnx_tool.Model(proto, {"verbose": False}).graph
            graph.graph_reorder_nodes()
            graph.shape_infer({input_name: np.zeros(shape, dtype=np.float32)})
            graph.profile()
    except Exception as exc:  # onnx-tool raises bare exceptions of many kinds
        raise ModelError(
            source, [("", f"onnx-tool cannot profile the model: {_first_line(exc)}")]
        ) from None
    if not graph.valid_profile:
        raise ModelError(source, [("", "onnx-tool cannot profile the model")])
    return graph


def _initializer_aliases(proto: Any, initializers: dict[str, Any]) -> dict[str, str]:
    """Tensor → the initializer it is an ``Identity`` copy of (itself for an initializer)."""
    aliases = {name: name for name in initializers}
    for node in proto.graph.node:
        if node.op_type == "Identity" and node.input and node.input[0] in aliases:
            aliases[node.output[0]] = aliases[node.input[0]]
    return aliases


def _layers(
    proto: Any,
    profiled: Any,
    input_name: str,
    initializers: dict[str, Any],
    aliases: dict[str, str],
) -> list[Layer]:
    """One layer per node that computes on the data, in the model's (topological) node order."""
    producer: dict[str, str] = {input_name: INPUT}  # data tensor -> layer (or INPUT)
    read: set[str] = {output for output in (v.name for v in proto.graph.output)}
    for node in proto.graph.node:
        read.update(node.input)
    counted_params: set[str] = set()
    layers: list[Layer] = []
    previous = INPUT
    for node in proto.graph.node:
        sources = list(dict.fromkeys(producer[t] for t in node.input if t in producer))
        if not sources or node.op_type in SHAPE_OPS:
            continue
        profiled_node = profiled.nodemap[node.name]
        params = 0
        for tensor in (aliases[t] for t in node.input if t in aliases):
            if tensor not in counted_params:
                counted_params.add(tensor)
                if initializers[tensor].data_type in _FLOAT_TYPES:
                    params += int(np.prod(initializers[tensor].dims, dtype=np.int64))
        outputs = [t for t in node.output if t and t in read] or [t for t in node.output if t]
        elements = sum(
            int(np.prod(profiled.tensormap[t].get_shape(), dtype=np.int64)) for t in outputs
        )
        for tensor in node.output:
            if tensor:
                producer[tensor] = node.name
        layers.append(
            Layer(
                name=node.name,
                flops=2.0 * float(profiled_node.macs[0]),  # SPEC §6.1: FLOPs = 2 × MACs
                params=params,
                output_bytes=float(BYTES_PER_ELEMENT * elements),
                inputs=None if sources == [previous] else sources,
                op=node.op_type,
            )
        )
        previous = node.name
    return layers


def _dims(shape: Sequence[int]) -> str:
    return "x".join(str(d) for d in shape)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
