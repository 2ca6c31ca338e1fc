"""Deliberately altered reference models: each breaks one rule of its spec, and the validator must
name the layer at fault. Factories take no arguments (usable as ``tests/altered_models.py:NAME``)."""
from __future__ import annotations

import torch
from torch import nn

from cnnspec.reference.lenet import LeNet5, LeNet5_1998
from cnnspec.reference.resnet import BasicBlock, ResNet, cifar_resnet, imagenet_resnet


def resnet20_conv_bias() -> nn.Module:
    """Every conv gets a bias although a batch norm follows it (the spec: no bias)."""
    model = cifar_resnet(20)
    for name, m in list(model.named_modules()):
        for child_name, child in list(m.named_children()):
            if isinstance(child, nn.Conv2d):
                setattr(m, child_name, nn.Conv2d(child.in_channels, child.out_channels, child.kernel_size,
                                                 child.stride, child.padding, bias=True))
    return model


class _NoReluAfterAdd(BasicBlock):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return out + identity  # the ReLU after the addition is missing


def resnet20_no_relu_after_add() -> nn.Module:
    return ResNet(_NoReluAfterAdd, (3, 3, 3), (16, 32, 64), imagenet=False, num_classes=10, shortcut="A")


def resnet50_stride_on_1x1() -> nn.Module:
    """The paper's bottleneck, offered as torchvision's v1.5 ``resnet50``."""
    return imagenet_resnet(50, stride_on="1x1")


def resnet20_option_b() -> nn.Module:
    """Projection shortcuts (option B) where the spec says option A."""
    return cifar_resnet(20, shortcut="B")


class LeNet5NoPad(LeNet5):
    """LeNet-5 for 28x28 inputs without C1 padding: S4 gives 16x4x4, so C5 is sized 256 -> 120."""

    def __init__(self):
        super().__init__(input_size=32)
        self.C5 = nn.Linear(16 * 4 * 4, 120)


def lenet5_28_nopad() -> nn.Module:
    return LeNet5NoPad()


def lenet5_1998_full_c3() -> nn.Module:
    """LeNet-5 (1998) whose C3 reads all six S2 maps (a dense 5x5x6x16 conv), not Table I's 60 pairs."""
    model = LeNet5_1998()
    model.C3 = nn.Conv2d(6, 16, 5)
    return model


# --- targets for bad-input tests ----------------------------------------------------------------

def raises() -> nn.Module:
    raise RuntimeError("weights file not found")


def not_a_module() -> object:
    return {"conv1": None}


NOT_CALLABLE = 42


class _Slow(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import time

        time.sleep(5)
        return x


def hangs() -> nn.Module:
    """A LeNet whose C1 takes seconds (for --timeout)."""
    model = LeNet5()
    model.C1 = nn.Sequential(_Slow(), model.C1)
    return model


# --- an independently written CIFAR ResNet-20 (other names, symmetric option-A padding, ``linear``
# instead of ``fc``): not altered, it must conform, paired in order rather than by name ----------

class _PadShortcut(nn.Module):
    def __init__(self, planes: int):
        super().__init__()
        self.pad = planes // 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))


class _Block(nn.Module):
    def __init__(self, cin: int, planes: int, stride: int):
        super().__init__()
        self.c_a = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.n_a = nn.BatchNorm2d(planes)
        self.c_b = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.n_b = nn.BatchNorm2d(planes)
        self.short = _PadShortcut(planes) if stride != 1 or cin != planes else nn.Sequential()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.n_a(self.c_a(x)))
        out = self.n_b(self.c_b(out))
        return torch.relu(out + self.short(x))


class OtherResNet20(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(16)
        blocks, cin = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            for b in range(3):
                blocks.append(_Block(cin, planes, stride if b == 0 else 1))
                cin = planes
        self.body = nn.Sequential(*blocks)
        self.linear = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.body(torch.relu(self.stem_bn(self.stem(x))))
        return self.linear(x.mean((2, 3)))
