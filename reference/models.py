"""One entry point for every reference network: ``build(name, **kwargs) -> nn.Module``.

Names (``MODELS``): ``lenet5``, ``lenet5-1998``; CIFAR ``resnet20/32/44/56/110/1202`` (option A),
``resnet20-B`` ... (option B), ``plain20/32/44/56/110``; ImageNet ``resnet18/34/50/101/152``
(torchvision's v1.5 layout) and ``resnet50-v1``, ``resnet101-v1``, ``resnet152-v1`` (the paper's).

Keyword arguments: ``in_channels`` (LeNet default 1, ResNets 3), ``num_classes``, ``device``
(where the parameters live), ``channels_last`` (memory format), and for LeNet ``input_size``
(32, or 28 to pad C1 by 2). Example: ``build("resnet20", in_channels=1)`` for Fashion-MNIST.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from .lenet import LeNet5, LeNet5_1998
from .resnet import CIFAR_DEPTHS, IMAGENET_LAYERS, cifar_resnet, imagenet_resnet

_BUILDERS: dict[str, Callable[..., nn.Module]] = {
    "lenet5": LeNet5,
    "lenet5-1998": LeNet5_1998,
}
for _d in CIFAR_DEPTHS:
    _BUILDERS[f"resnet{_d}"] = lambda d=_d, **kw: cifar_resnet(d, shortcut="A", **kw)
    _BUILDERS[f"resnet{_d}-B"] = lambda d=_d, **kw: cifar_resnet(d, shortcut="B", **kw)
    if _d != 1202:
        _BUILDERS[f"plain{_d}"] = lambda d=_d, **kw: cifar_resnet(d, residual=False, **kw)
for _d in IMAGENET_LAYERS:
    _BUILDERS[f"resnet{_d}"] = lambda d=_d, **kw: imagenet_resnet(d, stride_on="3x3", **kw)
    if _d >= 50:
        _BUILDERS[f"resnet{_d}-v1"] = lambda d=_d, **kw: imagenet_resnet(d, stride_on="1x1", **kw)

MODELS: tuple[str, ...] = tuple(_BUILDERS)


def build(name: str, *, device: str | torch.device | None = None, channels_last: bool = False,
          **kwargs: Any) -> nn.Module:
    """The reference network ``name`` (see ``MODELS``), on ``device``."""
    if name not in _BUILDERS:
        raise KeyError(f"model {name!r} is not one of: {', '.join(MODELS)}")
    model = _BUILDERS[name](**kwargs)
    if device is not None:
        model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model
