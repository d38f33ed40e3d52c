"""The bundled model profiles (SPEC §6.1) checked against the architectures by hand.

Conventions of the importer: FLOPs = 2 × MACs, a bias add is one MAC per output element, batch
norms are folded into the convolutions (one bias per channel instead of γ and β).
"""

from __future__ import annotations

import pytest

from jqodi_opt.graph import ModelGraph, bundled_profiles, read_profile

EXPECTED = {
    "alexnet-cifar10",
    "lenet-like",
    "mobilenetv2",
    "regnetx400mf-cifar10",
    "resnet18",
    "resnet20",
    "vgg-like",
    "yolo11n",
    "yolo11n-blocks",
}


def conv_flops(out_h: int, out_w: int, out_c: int, in_c: int, k: int, bias: bool = True) -> int:
    """2 × (output elements × in_c × k × k + output elements for the bias)."""
    outputs = out_h * out_w * out_c
    return 2 * (outputs * in_c * k * k + (outputs if bias else 0))


def fc_flops(inputs: int, outputs: int) -> int:
    return 2 * (inputs * outputs + outputs)


@pytest.fixture(scope="module")
def profiles() -> dict[str, ModelGraph]:
    return {name: read_profile(name) for name in bundled_profiles()}


def test_every_profile_is_bundled_and_named_after_its_file(profiles: dict[str, ModelGraph]) -> None:
    assert set(profiles) == EXPECTED
    for name, model in profiles.items():
        assert model.name == name
        assert model.input_shape is not None and model.input_shape[0] == 1
        assert model.input_bytes == 4 * _volume(model.input_shape)
        assert model.description and "make_profiles.py" in model.description


def _volume(shape: list[int]) -> int:
    result = 1
    for dim in shape:
        result *= dim
    return result


def _layer(model: ModelGraph, name: str) -> tuple[float, int, float]:
    layer = model.layers[model.index[name]]
    return layer.flops, layer.params, layer.output_bytes


def test_alexnet_cifar10(profiles: dict[str, ModelGraph]) -> None:
    model = profiles["alexnet-cifar10"]
    # conv1: 3x3/1 pad 1 on 32x32x3 → 32x32x64
    assert _layer(model, "/features/features.0/Conv") == (
        conv_flops(32, 32, 64, 3, 3),
        64 * 27 + 64,
        4 * 32 * 32 * 64,
    )
    # max-pool 3x3/2: 32 → 15; conv2 5x5 pad 2 at 15x15, 64 → 192
    assert _layer(model, "/features/features.3/Conv")[0] == conv_flops(15, 15, 192, 64, 5)
    assert _layer(model, "/classifier/classifier.1/Gemm")[:2] == (
        fc_flops(256 * 3 * 3, 4096),
        256 * 9 * 4096 + 4096,
    )
    weights = [64 * 3 * 9, 192 * 64 * 25, 384 * 192 * 9, 256 * 384 * 9, 256 * 256 * 9]
    biases = [64, 192, 384, 256, 256]
    fc = [2304 * 4096 + 4096, 4096 * 4096 + 4096, 4096 * 10 + 10]
    assert model.total_params == sum(weights) + sum(biases) + sum(fc)
    assert model.is_chain


def test_lenet_and_vgg_like_match_the_paper_instances(profiles: dict[str, ModelGraph]) -> None:
    # instances/paper/README.md §4: parameter totals and the MACs of convolutions and FC layers
    lenet, vgg = profiles["lenet-like"], profiles["vgg-like"]
    assert lenet.total_params == 2_331_658
    assert vgg.total_params == 17_824_906
    assert _layer(lenet, "/fc/Gemm")[0] == fc_flops(2048, 1024)
    assert _layer(vgg, "/features/features.2/Conv")[0] == conv_flops(32, 32, 128, 128, 3)
    for model, macs, bias_outputs in (
        (lenet, 32_188_416, 64 * 1024 + 128 * 256 + 128 * 64 + 1024 + 10),
        (vgg, 397_813_760, 128 * 1024 * 2 + 256 * 256 * 2 + 1024 + 10),
    ):
        counted = sum(layer.flops for layer in model.layers if layer.op in ("Conv", "Gemm"))
        assert counted == 2 * (macs + bias_outputs)


def test_resnet20_has_its_skip_connections(profiles: dict[str, ModelGraph]) -> None:
    model = profiles["resnet20"]
    assert _layer(model, "/conv/Conv")[:2] == (conv_flops(32, 32, 16, 3, 3), 16 * 27 + 16)
    adds = [layer for layer in model.layers if layer.op == "Add"]
    assert len(adds) == 9 and all(len(layer.inputs or []) == 2 for layer in adds)
    # 18 + 2 weighted layers; BN folded: one bias per output channel of each convolution
    conv_weights = (
        16 * 27 + 6 * 16 * 16 * 9 + (16 * 32 + 5 * 32 * 32) * 9 + (32 * 64 + 5 * 64 * 64) * 9
    )
    conv_channels = 16 + 6 * 16 + 6 * 32 + 6 * 64
    assert model.total_params == conv_weights + conv_channels + 64 * 10 + 10


def test_resnet18_matches_torchvision(profiles: dict[str, ModelGraph]) -> None:
    model = profiles["resnet18"]
    assert _layer(model, "/conv1/Conv") == (
        conv_flops(112, 112, 64, 3, 7),
        64 * 3 * 49 + 64,
        4 * 112 * 112 * 64,
    )
    assert _layer(model, "/fc/Gemm")[0] == fc_flops(512, 1000)
    # torchvision: 11,689,512 parameters with BN γ, β; folded: one bias per BN channel (4,800)
    assert model.total_params == 11_689_512 - 4_800
    # torchvision publishes 1.81 GFLOPS (multiply-accumulates of convolutions and FC)
    macs = sum(layer.flops for layer in model.layers if layer.op in ("Conv", "Gemm")) / 2
    assert macs == pytest.approx(1.81e9, rel=0.01)


def test_mobilenetv2_and_regnetx(profiles: dict[str, ModelGraph]) -> None:
    mobilenet = profiles["mobilenetv2"]
    first = "/features/features.0/features.0.0/Conv"
    assert _layer(mobilenet, first)[0] == conv_flops(112, 112, 32, 3, 3)  # 3x3 stride 2
    assert _layer(mobilenet, "/classifier/classifier.1/Gemm")[0] == fc_flops(1280, 1000)
    macs = sum(layer.flops for layer in mobilenet.layers if layer.op in ("Conv", "Gemm")) / 2
    assert macs == pytest.approx(0.30e9, rel=0.03)  # torchvision: 0.30 GFLOPS
    regnet = profiles["regnetx400mf-cifar10"]
    assert _layer(regnet, "/stem/stem.0/Conv")[0] == conv_flops(16, 16, 32, 3, 3)  # stride 2
    assert _layer(regnet, "/fc/Gemm")[:2] == (fc_flops(400, 10), 400 * 10 + 10)
    assert not regnet.is_chain


def test_yolo11n_keeps_its_dag(profiles: dict[str, ModelGraph]) -> None:
    model = profiles["yolo11n"]
    # model.0: Conv 3→16, 3x3 stride 2 at 640 → 320x320x16 (BN folded)
    assert _layer(model, "/model.0/conv/Conv") == (
        conv_flops(320, 320, 16, 3, 3),
        16 * 27 + 16,
        4 * 320 * 320 * 16,
    )
    concats = [layer for layer in model.layers if layer.op == "Concat"]
    assert len(concats) >= 10 and all(len(layer.inputs or []) >= 2 for layer in concats)
    # the neck reads the backbone: /model.12 concatenates the upsampled map with /model.6's output
    assert model.layer_inputs[model.index["/model.12/Concat"]] == [
        "/model.11/Resize",
        "/model.6/cv2/act/Mul",
    ]
    assert model.total_params == 2_616_248  # ultralytics' fused summary
    macs = sum(layer.flops for layer in model.layers if layer.op in ("Conv", "Gemm", "MatMul")) / 2
    assert 2 * macs == pytest.approx(6.5e9, rel=0.02)  # ultralytics: 6.5 GFLOPs at 640


def test_yolo11n_blocks_is_a_coarsening_of_the_full_graph(profiles: dict[str, ModelGraph]) -> None:
    full, blocks = profiles["yolo11n"], profiles["yolo11n-blocks"]
    assert 50 <= len(blocks.layers) <= 100 < len(full.layers)
    assert blocks.total_flops == pytest.approx(full.total_flops, rel=1e-12)
    assert blocks.total_params == full.total_params
    joins = [
        layer for layer in blocks.layers if len(blocks.layer_inputs[blocks.index[layer.name]]) >= 2
    ]
    assert len(joins) >= 10
    assert {layer.output_bytes for layer in blocks.layers} <= {
        layer.output_bytes for layer in full.layers
    }
