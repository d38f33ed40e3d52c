"""ONNX import (SPEC §6.1): counts checked against hand computation on small graphs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from jqodi_opt.cli import main
from jqodi_opt.graph import INPUT, ModelError, read_model
from jqodi_opt.onnx_import import UncountedWarning, import_onnx, parse_shape


def _weights(name: str, *shape: int, dtype: type = np.float32) -> onnx.TensorProto:
    return numpy_helper.from_array(np.ones(shape, dtype=dtype), name)


def _save(
    path: Path,
    nodes: list[onnx.NodeProto],
    initializers: list[onnx.TensorProto],
    inputs: dict[str, list[int | str]],
    outputs: dict[str, list[int | str]],
) -> Path:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs.items()],
        initializers,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


@pytest.fixture
def chain_onnx(tmp_path: Path) -> Path:
    """x 1x3x8x8 → Conv(8 filters 3x3, pad 1, bias) → Relu → MaxPool 2x2/2 → Flatten."""
    nodes = [
        helper.make_node("Conv", ["x", "W", "B"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["y"], name="flat"),
    ]
    return _save(
        tmp_path / "chain.onnx",
        nodes,
        [_weights("W", 8, 3, 3, 3), _weights("B", 8)],
        {"x": ["N", 3, 8, 8]},
        {"y": ["N", 128]},
    )


@pytest.fixture
def residual_onnx(tmp_path: Path) -> Path:
    """stem Conv 3→4 (1x1) → [Conv 4→4 3x3 → Relu → Conv 4→4 3x3] + skip → Add → Relu."""
    nodes = [
        helper.make_node("Conv", ["x", "Ws"], ["s"], name="stem"),
        helper.make_node("Conv", ["s", "Wa"], ["a"], name="conv_a", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["a"], ["ar"], name="relu_a"),
        helper.make_node("Conv", ["ar", "Wb"], ["b"], name="conv_b", pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["b", "s"], ["sum"], name="add"),
        helper.make_node("Relu", ["sum"], ["y"], name="relu_out"),
    ]
    return _save(
        tmp_path / "residual.onnx",
        nodes,
        [_weights("Ws", 4, 3, 1, 1), _weights("Wa", 4, 4, 3, 3), _weights("Wb", 4, 4, 3, 3)],
        {"x": [1, 3, 6, 6]},
        {"y": [1, 4, 6, 6]},
    )


@pytest.fixture
def gemm_onnx(tmp_path: Path) -> Path:
    """x 1x10 → Gemm(W 5x10, transB, bias 5) → Reshape by a shape computed from the data."""
    nodes = [
        helper.make_node("Gemm", ["x", "W", "B"], ["g"], name="fc", transB=1),
        helper.make_node("Shape", ["g"], ["gs"], name="shape_of_g"),
        helper.make_node("Reshape", ["g", "gs"], ["y"], name="same_shape"),
    ]
    return _save(
        tmp_path / "gemm.onnx",
        nodes,
        [_weights("W", 5, 10), _weights("B", 5)],
        {"x": [1, 10]},
        {"y": [1, 5]},
    )


def test_conv_relu_pool_chain_matches_hand_counts(chain_onnx: Path) -> None:
    model = import_onnx(chain_onnx, [1, 3, 8, 8])
    layers = {layer.name: layer for layer in model.layers}
    assert model.names == ["conv", "relu", "pool", "flat"]
    assert model.is_chain
    out = 8 * 8 * 8  # conv output elements (padding keeps 8x8)
    # Conv: per output element 3*3*3 multiply-adds plus one bias add; FLOPs = 2 x MACs
    assert layers["conv"].flops == 2 * (out * 27 + out)
    assert layers["conv"].params == 8 * 27 + 8
    assert layers["conv"].output_bytes == 4 * out
    assert layers["relu"].flops == 2 * out  # one comparison per element
    assert layers["pool"].flops == 2 * (out // 4) * 4  # 4 comparisons per pooled element
    assert layers["pool"].output_bytes == 4 * 128
    assert layers["flat"].flops == 0 and layers["flat"].output_bytes == 4 * 128
    assert model.input_bytes == 4 * 3 * 8 * 8
    assert model.input_shape == [1, 3, 8, 8]
    assert model.total_params == 224


def test_residual_block_keeps_the_skip_connection(residual_onnx: Path) -> None:
    model = import_onnx(residual_onnx)  # the model's own static shape
    layers = {layer.name: layer for layer in model.layers}
    assert model.layer_inputs[model.index["add"]] == ["conv_b", "stem"]
    assert model.consumers["stem"] == ["conv_a", "add"]
    assert model.layer_inputs[0] == [INPUT]
    assert not model.is_chain
    out = 4 * 6 * 6
    assert layers["stem"].flops == 2 * out * 3  # 1x1 conv over 3 channels, no bias
    assert layers["conv_a"].flops == 2 * out * 4 * 9
    assert layers["conv_a"].params == 4 * 4 * 9
    assert layers["add"].flops == 2 * out
    assert layers["add"].params == 0
    assert all(layer.output_bytes == 4 * out for layer in model.layers)
    assert model.outputs == ["relu_out"]


def test_gemm_and_shape_arithmetic(gemm_onnx: Path) -> None:
    model = import_onnx(gemm_onnx, [1, 10])
    assert model.names == ["fc", "same_shape"]  # the Shape node is not a layer
    fc = model.layers[0]
    assert fc.flops == 2 * (5 * 10 + 5)
    assert fc.params == 5 * 10 + 5
    assert fc.output_bytes == 4 * 5
    assert model.layers[1].inputs is None  # consumes fc only: the shape tensor is no input


def test_initializers_are_params_not_inputs_and_shared_weights_count_once(tmp_path: Path) -> None:
    # the TorchScript exporter shares weights through Identity nodes: W_copy is W, V_copy is V
    nodes = [
        helper.make_node("Identity", ["W"], ["W_copy"], name="alias_w"),
        helper.make_node("Identity", ["V"], ["V_copy"], name="alias_v"),
        helper.make_node("MatMul", ["x", "W"], ["a"], name="first"),
        helper.make_node("MatMul", ["a", "W_copy"], ["b"], name="second"),
        helper.make_node("MatMul", ["b", "V_copy"], ["c"], name="third"),
        helper.make_node("Reshape", ["c", "shape"], ["y"], name="reshape"),
    ]
    path = _save(
        tmp_path / "shared.onnx",
        nodes,
        [
            _weights("W", 6, 6),
            _weights("V", 6, 6),
            numpy_helper.from_array(np.array([1, 6], np.int64), "shape"),
        ],
        {"x": [1, 6]},
        {"y": [1, 6]},
    )
    model = import_onnx(path)
    assert model.names == ["first", "second", "third", "reshape"]  # identities are not layers
    assert [layer.params for layer in model.layers] == [36, 0, 36, 0]  # int64 shape: none
    assert model.layers[0].flops == 2 * 36
    assert all(layer.inputs is None for layer in model.layers)


def test_uncountable_operator_is_refused_by_name(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Selu", ["r"], ["s"], name="odd"),
        helper.make_node("GlobalMaxPool", ["s"], ["y"], name="gmp"),
    ]
    path = _save(tmp_path / "odd.onnx", nodes, [], {"x": [1, 2, 4, 4]}, {"y": [1, 2, 1, 1]})
    with pytest.raises(ModelError) as caught:
        import_onnx(path)
    lines = caught.value.lines()
    assert len(lines) == 2
    assert "graph.node[1]" in lines[0] and "'odd'" in lines[0] and "'Selu'" in lines[0]
    assert "graph.node[2]" in lines[1] and "'GlobalMaxPool'" in lines[1]

    with pytest.warns(UncountedWarning, match="odd"):
        model = import_onnx(path, allow_uncounted=True)
    layers = {layer.name: layer for layer in model.layers}
    assert layers["odd"].flops == 0 and layers["odd"].output_bytes == 4 * 2 * 16
    assert layers["gmp"].output_bytes == 4 * 2
    assert layers["relu"].flops == 2 * 32  # the others are still counted


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ([2, 3, 8, 8], "batch"),
        ([1, 4, 8, 8], "dimension 1 is 3"),
        ([1, 3, 8], "has 4 dimensions"),
        (None, "no static shape"),
    ],
)
def test_bad_input_shape(chain_onnx: Path, shape: list[int] | None, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        import_onnx(chain_onnx, shape)


def test_shape_that_breaks_an_operator_is_reported(tmp_path: Path) -> None:
    nodes = [helper.make_node("Gemm", ["x", "W"], ["y"], name="fc", transB=1)]
    weights = [_weights("W", 5, 10)]
    path = _save(tmp_path / "fc.onnx", nodes, weights, {"x": ["N", "K"]}, {"y": ["N", 5]})
    assert import_onnx(path, [1, 10]).layers[0].flops == 2 * 50
    with pytest.raises(ModelError, match=r"shape inference fails at input shape 1x7"):
        import_onnx(path, [1, 7])  # 7 features into a 10-input Gemm


def test_not_onnx_and_missing(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00\xffnot protobuf at all\x12")
    with pytest.raises(ModelError, match=r"junk\.onnx"):
        import_onnx(junk, [1, 3])
    with pytest.raises(ModelError, match="no such file"):
        import_onnx(tmp_path / "absent.onnx", [1, 3])


def test_two_data_inputs_are_refused(tmp_path: Path) -> None:
    nodes = [helper.make_node("Add", ["x", "z"], ["y"], name="add")]
    path = _save(tmp_path / "two.onnx", nodes, [], {"x": [1, 2], "z": [1, 2]}, {"y": [1, 2]})
    with pytest.raises(ModelError, match="exactly one data input"):
        import_onnx(path)


def test_unnamed_and_reserved_node_names_become_unique(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("Relu", ["x"], ["a"]),
        helper.make_node("Relu", ["a"], ["b"], name="input"),
        helper.make_node("Relu", ["b"], ["y"], name="input"),
    ]
    path = _save(tmp_path / "names.onnx", nodes, [], {"x": [1, 2]}, {"y": [1, 2]})
    model = import_onnx(path)
    assert len(set(model.names)) == 3 and INPUT not in model.names


@pytest.mark.parametrize(
    ("text", "dims"), [("1x3x224x224", [1, 3, 224, 224]), ("1,10", [1, 10]), ("1X5", [1, 5])]
)
def test_parse_shape(text: str, dims: list[int]) -> None:
    assert parse_shape(text) == dims


@pytest.mark.parametrize("text", ["", "1xx2", "1x0", "ax3", "1x-2"])
def test_parse_shape_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="input-shape"):
        parse_shape(text)


# -------------------------------------------------------------------------------------------------
# command line


def test_cli_import_then_read_back(
    residual_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "residual.json"
    code = main(["import-onnx", str(residual_onnx), "--input-shape", "1x3x6x6", "--out", str(out)])
    assert code == 0
    model = read_model(out)
    assert len(model.layers) == 6 and model.format == "jqodi-model/1"
    assert json.loads(out.read_text())["layers"][4]["inputs"] == ["conv_b", "stem"]
    assert "6 layers" in capsys.readouterr().err


def test_cli_coarsen(residual_onnx: Path, tmp_path: Path) -> None:
    full = import_onnx(residual_onnx)
    out = tmp_path / "coarse.json"
    assert main(["import-onnx", str(residual_onnx), "--coarsen", "2", "--out", str(out)]) == 0
    model = read_model(out)
    assert len(model.layers) <= 2
    assert model.total_flops == full.total_flops and model.total_params == full.total_params


def test_cli_refuses_uncountable_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nodes = [helper.make_node("Selu", ["x"], ["y"], name="odd")]
    path = _save(tmp_path / "odd.onnx", nodes, [], {"x": [1, 2]}, {"y": [1, 2]})
    out = tmp_path / "odd.json"
    assert main(["import-onnx", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'Selu'" in err and "Traceback" not in err
    assert not out.exists()
    assert main(["import-onnx", str(path), "--out", str(out), "--allow-uncounted"]) == 0
    assert "warning:" in capsys.readouterr().err and out.exists()


def test_cli_coarsen_says_when_it_cannot_reach_the_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # two branches from the input that only meet at the model's two outputs: nothing to merge
    nodes = [
        helper.make_node("Relu", ["x"], ["a"], name="left"),
        helper.make_node("Sigmoid", ["x"], ["b"], name="right"),
    ]
    path = _save(tmp_path / "fork.onnx", nodes, [], {"x": [1, 2]}, {"a": [1, 2], "b": [1, 2]})
    out = tmp_path / "fork.json"
    assert main(["import-onnx", str(path), "--coarsen", "1", "--out", str(out)]) == 0
    assert "warning: no single-entry single-exit segment" in capsys.readouterr().err
    assert len(read_model(out).layers) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--input-shape", "1xq"], "--input-shape"),
        (["--input-shape", "1x3x8x8", "--coarsen", "0"], "--coarsen"),
        (["--input-shape", "2x3x8x8"], "batch"),
        (["--input-shape", "1x3x8x8", "--out", "/nonexistent-dir/x.json"], "cannot write"),
    ],
)
def test_cli_bad_arguments(
    chain_onnx: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    code = main(["import-onnx", str(chain_onnx), "--out", str(tmp_path / "x.json"), *args])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
