"""ResNets as in He, Zhang, Ren & Sun, *Deep residual learning for image recognition* (CVPR 2016).

* CIFAR-10 networks (§4.2): 6n+2 layers, 3x3 convs, stages of 16/32/64 filters on 32x32/16x16/8x8
  maps, global average pooling, a 10-way FC; shortcuts of option A (identity, zero-padded channels
  when the width doubles; parameter-free) or B (1x1 projection when the width changes); ``plain``
  counterparts drop the shortcut.
* ImageNet networks (Table 1): ResNet-18/34 (basic blocks) and 50/101/152 (bottlenecks), option B
  shortcuts, torchvision's module names (conv1, bn1, layer1..layer4, fc; downsample.0/.1) so
  that third-party checkpoints and reports line up. ``stride_on="3x3"`` is torchvision's "v1.5"
  (the default, as torchvision); ``stride_on="1x1"`` is the paper's layout.

Blocks keep the paper's figure in ``forward``: ``identity = x``, the branch, ``out += identity``,
then ReLU (post-activation, Fig. 2 and 5). Activations are in-place, convs have no bias (each is
followed by batch norm, whose mean subtraction cancels a bias), and nothing is done per pixel in
Python; ``model.to(memory_format=torch.channels_last)`` works throughout.

References
----------
He, Zhang, Ren & Sun 2016, §3.3 (options A/B), §4.1 Table 1, §4.2 (CIFAR-10), Table 6.
torchvision ``models/resnet.py`` (v1.5 layout; parameter counts in the weights' ``num_params``).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def conv1x1(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, stride=stride, bias=False)


class ShortcutA(nn.Module):
    """Option A (§3.3): identity on a stride-``s`` grid, the extra channels zero (no parameters)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.extra, self.stride = out_channels - in_channels, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra))  # zero channels appended after the input's


def projection(cin: int, cout: int, stride: int) -> nn.Sequential:
    """Option B (§3.3, eq. 2): ``W_s x`` as a 1x1 conv with stride, then batch norm."""
    return nn.Sequential(conv1x1(cin, cout, stride), nn.BatchNorm2d(cout))


def make_shortcut(cin: int, cout: int, stride: int, option: str) -> nn.Module | None:
    if stride == 1 and cin == cout:
        return None
    if option == "A":
        return ShortcutA(cin, cout, stride)
    if option == "B":
        return projection(cin, cout, stride)
    raise ValueError(f"shortcut={option!r} must be 'A' or 'B'")


class BasicBlock(nn.Module):
    """Two 3x3 convs (Fig. 2 / Fig. 5 left). ``residual=False`` makes the plain counterpart."""

    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int = 1, shortcut: str = "B",
                 residual: bool = True, stride_on: str = "3x3"):
        super().__init__()
        self.conv1 = conv3x3(cin, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.residual = residual
        self.downsample = make_shortcut(cin, planes, stride, shortcut) if residual else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.residual:
            if self.downsample is not None:
                identity = self.downsample(x)
            out += identity
        return self.relu(out)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand (Fig. 5 right).

    The paper puts a downsampling stride on the first 1x1 (He et al. 2016 §3.3: "performed by
    conv3_1, conv4_1, and conv5_1 with a stride of 2"); torchvision puts it on the 3x3 ("v1.5",
    torchvision ``Bottleneck`` docstring). ``stride_on`` picks one; the default is torchvision's.
    """

    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1, shortcut: str = "B",
                 residual: bool = True, stride_on: str = "3x3"):
        super().__init__()
        if stride_on not in ("1x1", "3x3"):
            raise ValueError(f"stride_on={stride_on!r} must be '1x1' (paper) or '3x3' (v1.5)")
        s1, s2 = (stride, 1) if stride_on == "1x1" else (1, stride)
        cout = planes * self.expansion
        self.conv1 = conv1x1(cin, planes, s1)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, s2)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, cout)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.residual = residual
        self.downsample = make_shortcut(cin, cout, stride, shortcut) if residual else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.residual:
            if self.downsample is not None:
                identity = self.downsample(x)
            out += identity
        return self.relu(out)


def _init(model: nn.Module) -> None:
    # He et al. 2016 §3.4 initialise as in He et al. 2015 ("Delving deep"); fan_out as torchvision.
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class ResNet(nn.Module):
    """Stem, stages ``layer1..layerK``, global average pool, ``fc`` (no hidden FC, no dropout).

    ``imagenet=True``: 7x7/2 conv and 3x3/2 max pool stem (Table 1); otherwise the CIFAR stem, a
    single 3x3 conv (§4.2).
    """

    def __init__(self, block: type, layers: Sequence[int], widths: Sequence[int], *,
                 imagenet: bool, num_classes: int, in_channels: int = 3, shortcut: str = "B",
                 residual: bool = True, stride_on: str = "3x3"):
        super().__init__()
        stem = widths[0]
        if imagenet:
            self.conv1 = nn.Conv2d(in_channels, stem, 7, stride=2, padding=3, bias=False)
        else:
            self.conv1 = conv3x3(in_channels, stem)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1) if imagenet else nn.Identity()
        cin = stem
        for i, (n, planes) in enumerate(zip(layers, widths)):
            blocks = []
            for b in range(n):
                stride = 2 if (b == 0 and i > 0) else 1  # "spatial size halves when filters double"
                blocks.append(block(cin, planes, stride, shortcut, residual, stride_on))
                cin = planes * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.num_stages = len(layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)
        _init(self)

    def stages(self) -> list[nn.Sequential]:
        return [getattr(self, f"layer{i + 1}") for i in range(self.num_stages)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for stage in self.stages():
            x = stage(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


CIFAR_DEPTHS = (20, 32, 44, 56, 110, 1202)
IMAGENET_LAYERS = {18: (BasicBlock, (2, 2, 2, 2)), 34: (BasicBlock, (3, 4, 6, 3)),
                   50: (Bottleneck, (3, 4, 6, 3)), 101: (Bottleneck, (3, 4, 23, 3)),
                   152: (Bottleneck, (3, 8, 36, 3))}


def cifar_resnet(depth: int, *, in_channels: int = 3, num_classes: int = 10, shortcut: str = "A",
                 residual: bool = True) -> ResNet:
    """§4.2: depth 6n+2; option A by default (the paper's CIFAR-10 choice)."""
    if (depth - 2) % 6 or depth < 8:
        raise ValueError(f"depth={depth} must be 6n+2 with n >= 1 (20, 32, 44, 56, 110, 1202, ...)")
    n = (depth - 2) // 6
    return ResNet(BasicBlock, (n, n, n), (16, 32, 64), imagenet=False, num_classes=num_classes,
                  in_channels=in_channels, shortcut=shortcut, residual=residual)


def imagenet_resnet(depth: int, *, in_channels: int = 3, num_classes: int = 1000,
                    stride_on: str = "3x3", residual: bool = True) -> ResNet:
    """Table 1: option B shortcuts (projections only where the shape changes)."""
    if depth not in IMAGENET_LAYERS:
        raise ValueError(f"depth={depth} must be one of {sorted(IMAGENET_LAYERS)}")
    block, layers = IMAGENET_LAYERS[depth]
    return ResNet(block, layers, (64, 128, 256, 512), imagenet=True, num_classes=num_classes,
                  in_channels=in_channels, shortcut="B", residual=residual, stride_on=stride_on)
