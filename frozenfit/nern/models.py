"""CNNs NeRN represents: CIFAR ResNet-20/56 (1×1 conv shortcuts) and ImageNet ResNet-18.

ResNet-18's state-dict keys match torchvision's ``resnet18`` so its checkpoints load directly.
Each model lists the modules whose outputs feed feature-map distillation (``fmd_modules``): the
stem BN, and per residual block bn1, bn2 and the post-addition sum (``merge``, a parameter-free
identity that only exists to be hooked). Any other ``nn.Module`` works too: see
``default_fmd_modules``.
"""

from __future__ import annotations

from typing import Callable, Literal

import torch
from torch import nn

from frozenfit.errors import FrozenfitError


class BasicBlock(nn.Module):
    """conv-bn-relu-conv-bn + shortcut (identity, or 1×1 conv + BN when the shape changes)."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=False)
        self.merge = nn.Identity()
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(self.merge(out + identity))


FeatureMaps = Literal["block", "reference"]


def _block_fmd(model: nn.Module, style: FeatureMaps = "block") -> list[str]:
    """The stem BN, then per block: "block" = (bn1, bn2, sum); "reference" = (bn1, sum, sum), what
    the reference code records (its residual addition is in place, so its hooked "bn2" output has
    become the post-addition sum by the time it is read)."""
    names = ["bn1"]
    for name, mod in model.named_modules():
        if isinstance(mod, BasicBlock):
            second = f"{name}.bn2" if style == "block" else f"{name}.merge"
            names += [f"{name}.bn1", second, f"{name}.merge"]
    return names


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for small images: 3 stages of n blocks, widths 16/32/64."""

    def __init__(self, depth: int = 20, num_classes: int = 10, in_channels: int = 3,
                 widths: tuple[int, int, int] = (16, 32, 64)):
        super().__init__()
        if (depth - 2) % 6:
            raise FrozenfitError(f"CIFAR ResNet depth must be 6n+2, got {depth}")
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU()
        cin = widths[0]
        for s, w in enumerate(widths):
            blocks = []
            for b in range(n):
                blocks.append(BasicBlock(cin, w, stride=2 if (s > 0 and b == 0) else 1))
                cin = w
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))

    def fmd_modules(self, style: FeatureMaps = "block") -> list[str]:
        return _block_fmd(self, style)


class ResNet18(nn.Module):
    """ImageNet ResNet-18 with torchvision's module names (7×7 stem, max-pool, 4 stages)."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for s, w in enumerate((64, 128, 256, 512)):
            stride = 1 if s == 0 else 2
            self.add_module(f"layer{s + 1}", nn.Sequential(BasicBlock(cin, w, stride), BasicBlock(w, w)))
            cin = w
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))

    def fmd_modules(self, style: FeatureMaps = "block") -> list[str]:
        return _block_fmd(self, style)


MODELS: dict[str, Callable[..., nn.Module]] = {
    "resnet20": lambda **kw: CifarResNet(20, **kw),
    "resnet56": lambda **kw: CifarResNet(56, **kw),
    "resnet18": lambda **kw: ResNet18(**kw),
}

# Per-model distillation weights and reconstruction-only warm-up from the NeRN paper.
DISTILL_DEFAULTS: dict[str, tuple[float, int]] = {
    "resnet20": (1e-4, 0),
    "resnet56": (1e-5, 10_000),
    "resnet18": (1e-6, 20_000),
}


def build_model(arch: str, num_classes: int, in_channels: int) -> nn.Module:
    if arch not in MODELS:
        raise FrozenfitError(f"unknown model '{arch}'; built-in models: {', '.join(MODELS)}")
    return MODELS[arch](num_classes=num_classes, in_channels=in_channels)


def default_fmd_modules(model: nn.Module, style: FeatureMaps = "block") -> list[str]:
    """Feature maps for distillation: the model's own list (in ``style``), else every BatchNorm2d
    output, else every Conv2d output."""
    if hasattr(model, "fmd_modules"):
        return list(model.fmd_modules(style))
    bns = [n for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)]
    return bns or [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
