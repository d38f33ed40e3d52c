"""Model graphs (SPEC §6.1): files, field-path errors, bundled profiles, coarsening."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jqodi_opt.cli import main
from jqodi_opt.graph import (
    _SINK,
    INPUT,
    Layer,
    ModelError,
    ModelGraph,
    _best_merge,
    _contract,
    _rebuild,
    build_model,
    coarsen,
    read_model,
    read_profile,
    write_model,
)


def _chain(sizes: list[float]) -> ModelGraph:
    """A chain of layers named a, b, c, ... with the given output sizes and flops = 1, 2, 3, ..."""
    return ModelGraph(
        name="chain",
        input_bytes=1000.0,
        layers=[
            Layer(name=chr(ord("a") + i), flops=float(i + 1), params=i, output_bytes=size)
            for i, size in enumerate(sizes)
        ],
    )


def _document(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "format": "jqodi-model/1",
        "name": "m",
        "input_bytes": 12.0,
        "layers": [
            {"name": "conv", "flops": 10.0, "params": 3, "output_bytes": 8.0},
            {"name": "fc", "flops": 2.0, "params": 1, "output_bytes": 4.0},
        ],
    }
    document.update(changes)
    return document


def test_write_then_read_round_trip(tmp_path: Path) -> None:
    model = build_model(_document())
    write_model(model, tmp_path / "m.json")
    again = read_model(tmp_path / "m.json")
    assert again == model
    assert json.loads((tmp_path / "m.json").read_text())["format"] == "jqodi-model/1"


def test_yaml_is_read(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "format: jqodi-model/1\nname: y\ninput_bytes: 4.0\n"
        "layers:\n  - {name: a, flops: 1.0, params: 0, output_bytes: 4.0}\n"
    )
    assert read_model(path).names == ["a"]


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (
            {"format": "jqodi-model/2"},
            "m.json: format: must be 'jqodi-model/1' (got 'jqodi-model/2')",
        ),
        ({"input_bytes": 0.0}, "m.json: input_bytes: must be > 0 (got 0.0)"),
        ({"extra": 1}, "m.json: extra: unknown field"),
        ({"layers": []}, "m.json: layers: must have at least 1 item(s)"),
        (
            {"layers": [{"name": "a", "flops": -1.0, "params": 0, "output_bytes": 1.0}]},
            "m.json: layers[0].flops: must be >= 0 (got -1.0)",
        ),
        (
            {"layers": [{"name": "a", "flops": 1.0, "params": 1.5, "output_bytes": 1.0}]},
            "m.json: layers[0].params: must be an integer (got 1.5)",
        ),
        (
            {
                "layers": [
                    {"name": "a", "flops": 1.0, "params": 0, "output_bytes": 1.0},
                    {"name": "b", "flops": 1.0, "params": 0, "output_bytes": 1.0, "inputs": ["z"]},
                ]
            },
            "m.json: layers[1].inputs[0]: unknown layer 'z'",
        ),
        (
            {
                "layers": [
                    {"name": "a", "flops": 1.0, "params": 0, "output_bytes": 1.0, "inputs": ["b"]},
                    {"name": "b", "flops": 1.0, "params": 0, "output_bytes": 1.0},
                ]
            },
            "m.json: layers[0].inputs[0]: 'b' is not an earlier layer (cycle)",
        ),
        (
            {
                "layers": [
                    {"name": "a", "flops": 1.0, "params": 0, "output_bytes": 1.0},
                    {"name": "a", "flops": 1.0, "params": 0, "output_bytes": 1.0},
                ]
            },
            "m.json: layers[1].name: duplicate layer name 'a'",
        ),
    ],
)
def test_bad_model_file_names_file_and_field(
    tmp_path: Path, change: dict[str, Any], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(_document(**change)))
    with pytest.raises(ModelError) as caught:
        read_model(path)
    assert caught.value.lines() == [f"{path.parent}/{line}"]


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such file"):
        read_model(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ModelError, match="not valid JSON"):
        read_model(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(ModelError, match="must be a mapping"):
        read_model(tmp_path / "list.json")


def test_inline_model_errors_carry_the_prefix() -> None:
    document = _document(layers=[{"name": "a", "flops": 1.0, "params": 0, "output_bytes": -1.0}])
    with pytest.raises(ModelError) as caught:
        build_model(document, "inst.json", prefix="model")
    assert caught.value.lines() == [
        "inst.json: model.layers[0].output_bytes: must be >= 0 (got -1.0)"
    ]


def test_unknown_profile_lists_the_bundled_ones() -> None:
    with pytest.raises(ModelError) as caught:
        read_profile("no-such-net", source="inst.json", field="model.profile")
    (line,) = caught.value.lines()
    assert line.startswith("inst.json: model.profile: unknown profile 'no-such-net' (bundled: ")


# -------------------------------------------------------------------------------------------------
# coarsening


def test_coarsen_a_chain_keeps_the_cut_at_the_small_tensor() -> None:
    model = _chain([100.0, 10.0, 100.0, 100.0, 5.0])
    coarse = coarsen(model, 2)
    # merged first: a→b (100), c→d (100), then cd→e (100); the 10-byte tensor after b survives
    assert [(layer.name, layer.flops, layer.output_bytes) for layer in coarse.layers] == [
        ("b", 1.0 + 2.0, 10.0),
        ("e", 3.0 + 4.0 + 5.0, 5.0),
    ]
    assert coarse.is_chain and coarse.layers[1].inputs is None
    assert coarse.layers[0].params == 0 + 1


def test_coarsen_to_one_and_no_op() -> None:
    model = _chain([4.0, 3.0, 2.0])
    assert coarsen(model, 3) is model
    (only,) = coarsen(model, 1).layers
    assert only.flops == 6.0 and only.output_bytes == 2.0 and only.params == 3
    with pytest.raises(ValueError, match="max_layers"):
        coarsen(model, 0)


def _residual() -> ModelGraph:
    """stem → [a → b] + skip → add → head → fc, with a small tensor after head."""
    layers = [
        Layer(name="/stem/Conv", flops=1.0, params=1, output_bytes=50.0, op="Conv"),
        Layer(name="/block/a/Conv", flops=2.0, params=2, output_bytes=60.0, op="Conv"),
        Layer(name="/block/b/Conv", flops=3.0, params=3, output_bytes=50.0, op="Conv"),
        Layer(
            name="/block/Add",
            flops=4.0,
            params=0,
            output_bytes=50.0,
            inputs=["/block/b/Conv", "/stem/Conv"],
            op="Add",
        ),
        Layer(name="/head/Pool", flops=5.0, params=0, output_bytes=2.0, op="GlobalAveragePool"),
        Layer(name="/fc/Gemm", flops=6.0, params=6, output_bytes=1.0, op="Gemm"),
    ]
    return ModelGraph(name="res", input_bytes=100.0, layers=layers)


def test_coarsen_merges_a_residual_block_as_one_segment() -> None:
    model = _residual()
    # stem + block + add is a free merge (inside, no tensor is smaller than the add's 50 bytes)
    five = coarsen(model, 5)
    assert [(layer.name, layer.flops, layer.params) for layer in five.layers] == [
        ("/block/Add", 10.0, 6),
        ("/head/Pool", 5.0, 0),
        ("/fc/Gemm", 6.0, 6),
    ]
    assert five.layers[0].op == "Conv+Add"
    coarse = coarsen(model, 2)
    # then the 50-byte cut goes before the 2-byte one
    assert [(layer.name, layer.flops, layer.output_bytes) for layer in coarse.layers] == [
        ("/head/Pool", 15.0, 2.0),
        ("/fc/Gemm", 6.0, 1.0),
    ]
    assert "Conv+Add+GlobalAveragePool" == coarse.layers[0].op


def test_coarsen_merges_free_segments_first_and_names_blocks_by_prefix() -> None:
    layers = [
        Layer(name="/s1/conv", flops=1.0, params=1, output_bytes=400.0),
        Layer(name="/s1/relu", flops=1.0, params=0, output_bytes=400.0),
        Layer(name="/s2/conv", flops=1.0, params=1, output_bytes=10.0),
        Layer(name="/s2/relu", flops=1.0, params=0, output_bytes=10.0),
    ]
    model = ModelGraph(name="m", input_bytes=4.0, layers=layers)
    assert coarsen(model, 3).names == ["/s1", "/s2/conv", "/s2/relu"]
    # the second conv → relu pair is free (10 = 10): it goes before the 400-byte cut
    assert coarsen(model, 2).names == ["/s1", "/s2"]
    assert coarsen(model, 1).names == ["/s2/relu"]  # no common prefix: the last member's name


def test_coarsen_never_merges_across_a_join_without_its_fork() -> None:
    # two branches from the input that join at the end: no segment can merge a branch with the join
    layers = [
        Layer(name="left", flops=1.0, params=0, output_bytes=8.0, inputs=[INPUT]),
        Layer(name="right", flops=1.0, params=0, output_bytes=8.0, inputs=[INPUT]),
        Layer(name="join", flops=1.0, params=0, output_bytes=8.0, inputs=["left", "right"]),
    ]
    model = ModelGraph(name="fork", input_bytes=8.0, layers=layers)
    assert coarsen(model, 1).names == ["left", "right", "join"]


@st.composite
def dags(draw: st.DrawFn) -> ModelGraph:
    n = draw(st.integers(1, 12))
    layers = []
    for i in range(n):
        earlier = [INPUT] + [f"l{j}" for j in range(i)]
        inputs = draw(st.lists(st.sampled_from(earlier), min_size=1, max_size=3, unique=True))
        layers.append(
            Layer(
                name=f"l{i}",
                flops=float(draw(st.integers(0, 100))),
                params=draw(st.integers(0, 50)),
                output_bytes=float(draw(st.integers(1, 100))),
                inputs=inputs,
            )
        )
    return ModelGraph(name="dag", input_bytes=4.0, layers=layers)


def _coarsen_from_scratch(model: ModelGraph, max_layers: int) -> ModelGraph:
    """The greedy of :func:`coarsen` recomputing every candidate at every step (no cache)."""
    if len(model.layers) <= max_layers:
        return model
    position = model.index
    graph = model.to_networkx()
    graph.add_node(_SINK)
    graph.add_edges_from((name, _SINK) for name in model.outputs)
    members = {name: [name] for name in model.names}
    while len(members) > max_layers:
        best = _best_merge(graph, members, position)
        if best is None:
            break
        _, entry, exit_, region = best
        _contract(graph, members, position, entry, exit_, region)
    return _rebuild(model, graph, members, position)


@settings(max_examples=30)
@given(model=dags(), target=st.integers(1, 12))
def test_incremental_candidates_make_the_same_merges(model: ModelGraph, target: int) -> None:
    assert coarsen(model, target).layers == _coarsen_from_scratch(model, target).layers


def test_incremental_candidates_on_yolo11n() -> None:
    model = read_profile("yolo11n")
    assert coarsen(model, 250).layers == _coarsen_from_scratch(model, 250).layers


@settings(max_examples=30)
@given(model=dags(), target=st.integers(1, 12))
def test_coarsen_keeps_totals_and_validity(model: ModelGraph, target: int) -> None:
    coarse = coarsen(model, target)  # the constructor re-validates names and topological order
    assert coarse.total_flops == model.total_flops
    assert coarse.total_params == model.total_params
    assert len(coarse.layers) <= len(model.layers)
    assert len(coarse.outputs) == len(model.outputs)
    if model.is_chain:
        assert len(coarse.layers) == min(target, len(model.layers))


def test_models_command_lists_bundled_profiles_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert isinstance(rows, list)
    for row in rows:
        model = read_profile(row["name"])
        assert row["layers"] == len(model.layers)
        assert row["params"] == model.total_params
