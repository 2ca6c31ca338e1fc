"""LeNet-5, twice: the lecture's version and the paper's (LeCun, Bottou, Bengio & Haffner 1998).

Layers are named as in the paper's Fig. 2: C1, S2, C3, S4, C5, F6, then the output layer.

* :class:`LeNet5` — the lecture's slides: 32x32x1 input, C1 conv 5x5x6, S2 2x2 max pool, C3 conv
  5x5x16 (every S2 map), S4 pool, C5 = FC 400->120, F6 = FC 120->84, OUTPUT = FC 84->10, ReLU;
  61,706 parameters.
* :class:`LeNet5_1998` — the paper's: scaled tanh ``1.7159·tanh(2a/3)`` (Appendix A), trainable
  subsampling (one coefficient and one bias per map, §II.B), C3 with Table I's sparse connection
  scheme (60 map pairs), C5, F6, and an RBF output with fixed prototypes; 60,000 trainable
  parameters.

``input_size=28`` pads C1 by 2 so that MNIST-sized images give the same maps as the paper's 32x32
(the paper itself pads the 28x28 digits into a 32x32 field, §III.A); without it C5 would see
16x4x4 = 256 inputs and the 400x120 matrix would not fit.

References
----------
LeCun, Bottou, Bengio & Haffner, *Gradient-based learning applied to document recognition*,
Proc. IEEE 86(11), 1998: §II.B (LeNet-5), Table I (C3 connections), Appendix A (squashing function),
eq. (7) (RBF output), eq. (9) (MAP loss).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Table I of LeCun et al. 1998: column j lists the S2 feature maps combined by C3 feature map j.
C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


def _c1_padding(input_size: int) -> int:
    if input_size not in (28, 32):
        raise ValueError(f"input_size={input_size} must be 32 (the paper's field) or 28 (MNIST, padded by 2)")
    return (32 - input_size) // 2


class LeNet5(nn.Module):
    """The lecture's LeNet-5 (ReLU, max pooling, full C3, FC 400-120-84-10)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, input_size: int = 32):
        super().__init__()
        self.C1 = nn.Conv2d(in_channels, 6, 5, padding=_c1_padding(input_size))
        self.S2 = nn.MaxPool2d(2)
        self.C3 = nn.Conv2d(6, 16, 5)
        self.S4 = nn.MaxPool2d(2)
        self.C5 = nn.Linear(16 * 5 * 5, 120)
        self.F6 = nn.Linear(120, 84)
        self.OUTPUT = nn.Linear(84, num_classes)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The lecture's order is conv -> ReLU -> pool. Max pooling commutes with any nondecreasing
        # function (max(relu(a), relu(b)) = relu(max(a, b)); claims conformance.max_pool.monotone and
        # trained.maxpool.invariance), so pooling first gives bit-identical outputs and gradients
        # while the ReLU and its backward touch 4x fewer values (10-18% of a CPU training step at
        # batch 256-512, reference/README.md). tests/test_reference_models.py checks the equality.
        x = self.relu(self.S2(self.C1(x)))
        x = self.relu(self.S4(self.C3(x)))
        x = torch.flatten(x, 1)
        x = self.relu(self.C5(x))
        x = self.relu(self.F6(x))
        return self.OUTPUT(x)


class ScaledTanh(nn.Module):
    """The paper's squashing function ``f(a) = A·tanh(S·a)`` with A = 1.7159, S = 2/3 (Appendix A)."""

    A = 1.7159
    S = 2.0 / 3.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.A * torch.tanh(self.S * x)


class Subsampling(nn.Module):
    """§II.B: the four inputs of each 2x2 unit are added, multiplied by a trainable coefficient, and
    a trainable bias is added (one coefficient and one bias per feature map).

    Written as a depthwise 2x2 stride-2 convolution whose four taps share the coefficient.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.kernel_size, self.stride, self.padding = (2, 2), (2, 2), (0, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.weight.numel()
        w = self.weight.view(c, 1, 1, 1).expand(c, 1, 2, 2)
        return F.conv2d(x, w, self.bias, stride=2, groups=c)

    def multiply_adds(self, out: torch.Tensor) -> int:
        return out[0].numel() * 4


class SparseConv2d(nn.Module):
    """A convolution that connects output map j only to the input maps ``table[j]`` (Table I).

    Only the connected kernels are parameters (60 map pairs x 5x5 for C3), so ``numel`` counts what
    the paper counts; the forward scatters them into a dense zero weight and calls one conv2d.
    """

    def __init__(self, in_channels: int, table: tuple[tuple[int, ...], ...], kernel_size: int):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, len(table)
        self.kernel_size, self.stride, self.padding = (kernel_size, kernel_size), (1, 1), (0, 0)
        pairs = [j * in_channels + i for j, maps in enumerate(table) for i in maps]
        self.register_buffer("pairs", torch.tensor(pairs), persistent=False)
        fan_in = kernel_size * kernel_size * torch.tensor([len(m) for m in table], dtype=torch.float)
        bound = (1.0 / fan_in).sqrt()  # PyTorch's default Conv2d bound 1/sqrt(fan_in), per output map
        per_pair = torch.cat([bound[j].expand(len(m)) for j, m in enumerate(table)])
        self.weight = nn.Parameter((torch.rand(len(pairs), kernel_size, kernel_size) * 2 - 1)
                                   * per_pair.view(-1, 1, 1))
        self.bias = nn.Parameter((torch.rand(len(table)) * 2 - 1) * bound)

    def dense_weight(self) -> torch.Tensor:
        k = self.kernel_size[0]
        w = self.weight.new_zeros(self.out_channels * self.in_channels, k, k)
        w = w.index_copy(0, self.pairs, self.weight)
        return w.view(self.out_channels, self.in_channels, k, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.dense_weight(), self.bias)

    def multiply_adds(self, out: torch.Tensor) -> int:
        return out[0, 0].numel() * self.weight.numel()


def rbf_prototypes(num_classes: int = 10, dim: int = 84, seed: int = 1998) -> torch.Tensor:
    """Fixed ±1 prototypes, one per class.

    The paper draws them as stylised 7x12 bitmaps of the ASCII characters (§II.B, Fig. 3) with
    entries −1 or +1; those bitmaps are not published in machine-readable form, so we use a fixed
    pseudo-random ±1 code of the same size (seeded, so every run and every machine gets the same).
    """
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, (num_classes, dim), generator=g).float() * 2 - 1


class RBF(nn.Module):
    """Eq. (7): ``y_i = Σ_j (x_j − w_ij)²``, the squared distance to prototype i (not trainable)."""

    def __init__(self, in_features: int = 84, num_classes: int = 10):
        super().__init__()
        self.register_buffer("prototypes", rbf_prototypes(num_classes, in_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.unsqueeze(1) - self.prototypes).pow(2).sum(-1)

    def multiply_adds(self, out: torch.Tensor) -> int:
        return self.prototypes.numel()


class LeNet5_1998(nn.Module):
    """The paper's LeNet-5; ``forward`` returns logits ``−y`` (negated RBF distances).

    Initialisation is PyTorch's default (uniform ±1/√fan_in) rather than the paper's uniform
    ±2.4/F_i (LeCun et al. 1998 Appendix C; PyTorch ``nn.Conv2d`` docs): the scale differs by 2.4.

    Departure: the paper trains with its MAP criterion eq. (9),
    ``E = y_D + log(e^{−j} + Σ_i e^{−y_i})``; with the constant ``j → ∞`` that is exactly the
    cross-entropy of the logits ``−y`` (LeCun et al. 1998 eq. (9); PyTorch ``nn.CrossEntropyLoss``),
    so the model returns ``−y`` and trains with ordinary cross-entropy. ``distances`` gives ``y``.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, input_size: int = 32):
        super().__init__()
        self.C1 = nn.Conv2d(in_channels, 6, 5, padding=_c1_padding(input_size))
        self.S2 = Subsampling(6)
        self.C3 = SparseConv2d(6, C3_TABLE, 5)
        self.S4 = Subsampling(16)
        self.C5 = nn.Conv2d(16, 120, 5)
        self.F6 = nn.Linear(120, 84)
        self.OUTPUT = RBF(84, num_classes)
        self.squash = ScaledTanh()

    def distances(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squash(self.S2(self.squash(self.C1(x))))
        x = self.squash(self.S4(self.squash(self.C3(x))))
        x = self.squash(self.C5(x)).flatten(1)
        x = self.squash(self.F6(x))
        return self.OUTPUT(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -self.distances(x)
