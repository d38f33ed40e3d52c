"""Regenerates the bundled model profiles of ``instances/models/`` (SPEC §6.1).

Each architecture is built from its reference definition (torchvision, ultralytics, or the JQODI
paper's footnotes written out in torch), without weights, exported to ONNX (the TorchScript
exporter, opset 17, eval mode, so batch norms are folded into the convolutions) and imported with
:func:`jqodi_opt.onnx_import.import_onnx`.

Needs the optional extra ``profiles`` (torch, torchvision, ultralytics), best in a venv of its own::

    python -m venv /work/profiles-venv
    /work/profiles-venv/bin/pip install torch==2.14.1 torchvision==0.29.1
    /work/profiles-venv/bin/pip install -e ".[profiles]"
    /work/profiles-venv/bin/python scripts/make_profiles.py            # all profiles
    /work/profiles-venv/bin/python scripts/make_profiles.py --only resnet18 --onnx-dir /tmp/onnx

Every floating-point parameter and buffer is first filled with distinct random values (seed 0):
counts do not depend on weights, but the exporter merges *identical* constant tensors, and the
freshly initialised batch norms (all γ = 1, β = 0) would fold into identical zero biases that then
count once.

It prints one Markdown table row per profile (the table of ``instances/models/README.md``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jqodi_opt.graph import ModelGraph, coarsen, write_model  # noqa: E402
from jqodi_opt.onnx_import import import_onnx  # noqa: E402

CIFAR = (1, 3, 32, 32)
IMAGENET = (1, 3, 224, 224)
YOLO_INPUT = (1, 3, 640, 640)


# -------------------------------------------------------------------------------------------------
# the JQODI paper's models (Zhou et al. 2026, footnotes 1-6), CIFAR-10 input


class LeNetLike(nn.Module):
    """Footnote 2: 64C3 – MP2 – 128C3 – MP2 – 128C3 – MP2 – 1024FC – 10SVM (3×3 convolutions with
    padding 1 and ReLU; the L2-SVM output layer is a linear layer, its loss is not part of the
    forward pass)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(128, 128, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.fc = nn.Linear(128 * 4 * 4, 1024)
        self.svm = nn.Linear(1024, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.svm(F.relu(self.fc(torch.flatten(self.features(x), 1))))


class VGGLike(nn.Module):
    """Footnote 3: 2 × 128C3 – MP2 – 2 × 256C3 – MP2 – 1024FC – 10SVM."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 128, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(128, 128, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(128, 256, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.fc = nn.Linear(256 * 8 * 8, 1024)
        self.svm = nn.Linear(1024, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.svm(F.relu(self.fc(torch.flatten(self.features(x), 1))))


class BasicBlock(nn.Module):
    """He et al.'s CIFAR basic block with the parameter-free option-A shortcut (sub-sampling and
    zero channels) when the shape changes."""

    def __init__(self, inputs: int, channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.pad = (channels - inputs) // 2
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x
        if self.stride != 1 or self.pad:
            shortcut = F.pad(
                x[:, :, :: self.stride, :: self.stride], (0, 0, 0, 0, self.pad, self.pad)
            )
        return F.relu(out + shortcut)


class ResNet20(nn.Module):
    """Footnotes 1 and 5: 16C3 – Block(16, 3, 1) – Block(32, 3, 1) – Block(64, 3, 1) – FC, read as
    the standard CIFAR ResNet-20 of He et al. (stages of 3 basic blocks; stride 2 entering the 32-
    and 64-channel stages), as ``instances/paper/README.md`` does."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        blocks: list[nn.Module] = []
        inputs = 16
        for channels, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(3):
                blocks.append(BasicBlock(inputs, channels, stride if i == 0 else 1))
                inputs = channels
        self.stages = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.stages(F.relu(self.bn(self.conv(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))


# -------------------------------------------------------------------------------------------------
# torchvision and ultralytics


def alexnet_cifar10() -> nn.Module:
    """torchvision's AlexNet (widths 64-192-384-256-256, classifier 4096-4096) with 10 classes,
    adapted to 32×32: the stem is a 3×3 stride-1 convolution (torchvision's 11×11 stride 4 leaves a
    1×1 map that the third 3×3/2 max-pool cannot take), the three 3×3/2 max-pools are kept
    (32 → 15 → 7 → 3), and the classifier reads the 256×3×3 map directly (the 6×6 adaptive
    average pool is dropped, it would only replicate values): 2304 → 4096 → 4096 → 10."""
    import torchvision

    model = torchvision.models.alexnet(num_classes=10)
    model.features[0] = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1)
    model.avgpool = nn.Identity()
    model.classifier[1] = nn.Linear(256 * 3 * 3, 4096)
    return model


def regnetx400mf_cifar10() -> nn.Module:
    """torchvision's RegNetX-400MF unchanged but for a 10-class head (400 → 10); on 32×32 its
    stride-2 stem and four stride-2 stages end at 1×1."""
    import torchvision

    return torchvision.models.regnet_x_400mf(num_classes=10)


def resnet18() -> nn.Module:
    """torchvision's ResNet-18, 1000 classes."""
    import torchvision

    return torchvision.models.resnet18()


def mobilenetv2() -> nn.Module:
    """torchvision's MobileNetV2 (width 1.0), 1000 classes."""
    import torchvision

    return torchvision.models.mobilenet_v2()


def export_yolo11n(path: Path) -> None:
    """Ultralytics' YOLO11n built from its own ``yolo11n.yaml`` (80 classes; no weights
    downloaded), exported by ultralytics itself (fused Conv+BN, the Detect head's decoded output
    1×84×8400)."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    from ultralytics import YOLO

    model = YOLO("yolo11n.yaml")
    randomize(model.model)
    with tempfile.TemporaryDirectory() as workdir:
        cwd = Path.cwd()
        os.chdir(workdir)
        try:
            exported = model.export(
                format="onnx", imgsz=YOLO_INPUT[2], opset=17, simplify=False, dynamic=False
            )
        finally:
            os.chdir(cwd)
        Path(workdir, exported).replace(path)


def randomize(model: nn.Module) -> nn.Module:
    """Fills every floating-point parameter and buffer with values in [0.5, 1.5), so no two
    tensors are equal (and running variances stay positive)."""
    torch.manual_seed(0)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(torch.rand_like(tensor) + 0.5)
    return model


# -------------------------------------------------------------------------------------------------
# the list


@dataclass(frozen=True)
class Profile:
    """One bundled profile: how to get its ONNX model and what to call it."""

    name: str
    shape: tuple[int, ...]
    build: Callable[[], nn.Module] | None
    how: str
    coarsen_to: int | None = None
    source: str | None = None  # the ONNX model of another profile (for coarsened variants)


PROFILES = [
    Profile("lenet-like", CIFAR, LeNetLike, "JQODI paper footnote 2, in torch"),
    Profile("resnet20", CIFAR, ResNet20, "JQODI paper footnotes 1 and 5, He et al.'s ResNet-20"),
    Profile("vgg-like", CIFAR, VGGLike, "JQODI paper footnote 3, in torch"),
    Profile("alexnet-cifar10", CIFAR, alexnet_cifar10, "torchvision AlexNet, 32×32 stem and head"),
    Profile(
        "regnetx400mf-cifar10", CIFAR, regnetx400mf_cifar10, "torchvision RegNetX-400MF, 10 classes"
    ),
    Profile("resnet18", IMAGENET, resnet18, "torchvision ResNet-18"),
    Profile("mobilenetv2", IMAGENET, mobilenetv2, "torchvision MobileNetV2"),
    Profile("yolo11n", YOLO_INPUT, None, "ultralytics YOLO11n (yolo11n.yaml), full graph"),
    Profile(
        "yolo11n-blocks",
        YOLO_INPUT,
        None,
        "ultralytics YOLO11n, coarsened to 100 layers",
        coarsen_to=100,
        source="yolo11n",
    ),
]


def export(profile: Profile, path: Path) -> None:
    """Writes the profile's ONNX model to ``path``."""
    if profile.build is None:
        export_yolo11n(path)
        return
    model = randomize(profile.build()).eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (torch.zeros(profile.shape),),
            str(path),
            dynamo=False,
            opset_version=17,
            do_constant_folding=True,
            input_names=["input"],
            output_names=["output"],
        )


def make(profile: Profile, onnx_dir: Path, out_dir: Path) -> tuple[ModelGraph, float]:
    """Exports (or reuses) the ONNX model, imports it, coarsens it if asked, writes the profile.

    Returns the profile and the multiply-accumulates of its convolutions and matrix products
    alone (bias adds included): the quantity torchvision and most papers publish as "FLOPs".
    """
    onnx_path = onnx_dir / f"{profile.source or profile.name}.onnx"
    if not onnx_path.exists():
        export(profile, onnx_path)
    model = import_onnx(onnx_path, list(profile.shape), name=profile.name)
    macs = sum(layer.flops / 2 for layer in model.layers if layer.op in ("Conv", "Gemm", "MatMul"))
    if profile.coarsen_to is not None:
        model = coarsen(model, profile.coarsen_to)
    shape = "x".join(map(str, profile.shape))
    model = model.model_copy(
        update={
            "description": (
                f"{profile.how}; input {shape}; exported to ONNX from torch "
                f"{torch.__version__.split('+')[0]} and imported by scripts/make_profiles.py; "
                + (model.description or "")
            )
        }
    )
    write_model(model, out_dir / f"{profile.name}.json")
    return model, macs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="profile names (default: all)")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "instances" / "models")
    parser.add_argument("--onnx-dir", type=Path, help="keep the ONNX files here (default: temp)")
    args = parser.parse_args(argv)
    chosen = [p for p in PROFILES if not args.only or p.name in args.only]
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temporary:
        onnx_dir = args.onnx_dir or Path(temporary)
        onnx_dir.mkdir(parents=True, exist_ok=True)
        print("| profile | input | layers | GFLOPs | conv+FC GMACs | params | DAG |")
        print("|---|---|---:|---:|---:|---:|---|")
        for profile in chosen:
            model, macs = make(profile, onnx_dir, args.out_dir)
            print(
                f"| {profile.name} | {'x'.join(map(str, profile.shape))} | {len(model.layers)} "
                f"| {model.total_flops / 1e9:.4f} | {macs / 1e9:.4f} | {model.total_params:,} "
                f"| {'yes' if not model.is_chain else 'no'} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
