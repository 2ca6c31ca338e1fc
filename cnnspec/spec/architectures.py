"""Layer tables of LeNet-5 and the ResNets, derived by the spec's own arithmetic (no torch).

Every size comes from :class:`~cnnspec.spec.convolution.ConvSpec` / :func:`output_size`; every count
is an exact integer. A table row (:class:`Layer`) has the input and output shape ``(C, H, W)`` or
``(F,)``, kernel, stride, padding, weights and biases, connections, multiply-adds, and the receptive
field and jump of one output unit on the network's input.

Conventions, stated once:

* **parameters** — trainable tensors: weights and biases of convs and FCs, a batch norm's scale and
  shift (2 per channel; running statistics are buffers, not parameters), the 1998 subsampling
  coefficient and bias. The 1998 RBF prototypes are fixed, not trainable.
* **connections** — LeCun et al. 1998's sense: per output unit, one per input it reads plus one for
  its bias (so a conv's connections are ``outputs x (taps + 1)``).
* **multiply-adds (MACs)** — ``outputs x taps`` of every conv (including 1x1 projections), sparse
  conv and FC; a 1998 subsampling unit counts its 4 inputs, an RBF unit its 84 squared terms. Not
  counted: biases, batch norm, ReLU/tanh, max/average pooling, the residual addition. This is the
  convention of He et al. 2016 Table 1 ("FLOPs", which are multiply-adds) and of torchvision's
  ``_ops`` (GFLOPS, likewise multiply-adds).
* **receptive field / jump** — along the main path: ``r ← r + (k−1)·j``, ``j ← j·s``; an FC or
  global pool over an ``n``-wide map counts as a kernel of size ``n``; a residual addition takes
  the larger field of its two inputs.

References
----------
LeCun, Bottou, Bengio & Haffner 1998, §II.B, Table I.  He, Zhang, Ren & Sun 2016, Table 1, §4.2.
Araujo, Norris & Sim, *Computing receptive fields of convolutional neural networks*, Distill 2019.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import Callable

from .convolution import ConvSpec, SpecError, output_size

Shape = tuple[int, ...]

# Table I of LeCun et al. 1998: C3 map j reads the S2 maps listed (6 of 3, 6 of 4 contiguous,
# 3 of 4 non-contiguous, 1 of all 6: 60 map pairs).
LENET_C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


@dataclass(frozen=True)
class Layer:
    name: str
    kind: str  # conv | sparse_conv | fc | bn | maxpool | subsample | gap | rbf | shortcut_a | add
    in_shape: Shape
    out_shape: Shape
    kernel: int = 0
    stride: int = 1
    padding: int = 0
    weights: int = 0
    biases: int = 0
    connections: int = 0
    macs: int = 0
    rf: int = 1
    jump: int = 1
    block: str | None = None
    shortcut: bool = False  # on a residual block's shortcut path, not its main path

    @property
    def params(self) -> int:
        return self.weights + self.biases


@dataclass(frozen=True)
class Block:
    """A residual (or plain) block: its layers are those whose ``block`` is ``name``."""

    name: str
    kind: str  # basic | bottleneck
    in_shape: Shape
    out_shape: Shape
    stride: int
    shortcut: str  # identity | A | B | none (plain)
    last_bn: str   # the last batch norm of the residual branch


@dataclass(frozen=True)
class Published:
    """A figure printed in a source, compared at the precision it is printed with.

    ``value`` is the printed number as a string (``"1.8"``) in units of ``scale`` (``10**9``); the
    derived figure matches when, rounded half-even to the printed decimals, it equals the value.
    ``rule="either"`` accepts rounding or truncation to the printed digits: needed for He et al.
    Table 1, which truncates some figures (34-layer 3.664e9 printed 3.6, 50-layer 3.858e9 printed
    3.8) and rounds others (101-layer 7.570e9 printed 7.6, 152-layer 11.282e9 printed 11.3).
    ``layer`` is None for a whole-network figure.
    """

    quantity: str  # params | macs | connections | weights
    value: str
    source: str
    scale: int = 1
    layer: str | None = None
    rule: str = "round"  # round | either

    def decimals(self) -> int:
        return len(self.value.split(".")[1]) if "." in self.value else 0

    def rounded(self, derived: int, mode: str = ROUND_HALF_EVEN) -> Decimal:
        """The derived figure at the printed precision."""
        return (Decimal(derived) / self.scale).quantize(Decimal(1).scaleb(-self.decimals()), mode)

    def matches(self, derived: int) -> bool:
        return self.how(derived) is not None

    def how(self, derived: int) -> str | None:
        """``"exact"``, ``"rounded"`` or ``"truncated"``: how the printed value follows from the
        derived one; None when it does not."""
        if Decimal(derived) / self.scale == Decimal(self.value):
            return "exact"
        modes = [(ROUND_HALF_EVEN, "rounded")] + ([(ROUND_DOWN, "truncated")] if self.rule == "either" else [])
        return next((name for m, name in modes if self.rounded(derived, m) == Decimal(self.value)), None)

    def printed(self) -> str:
        return self.value + (f"e{round(math.log10(self.scale))}" if self.scale != 1 else "")


@dataclass(frozen=True)
class Architecture:
    name: str
    title: str
    input_shape: Shape
    layers: tuple[Layer, ...]
    blocks: tuple[Block, ...] = ()
    published: tuple[Published, ...] = ()
    notes: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()

    def total(self, quantity: str, layer: str | None = None) -> int:
        """``params``, ``weights``, ``biases``, ``connections`` or ``macs``, of one layer or all."""
        rows = self.layers if layer is None else [self.layer(layer)]
        return sum(getattr(r, quantity) for r in rows)

    @property
    def params(self) -> int:
        return self.total("params")

    @property
    def macs(self) -> int:
        return self.total("macs")

    def layer(self, name: str) -> Layer:
        for r in self.layers:
            if r.name == name:
                return r
        raise SpecError(f"layer: {name!r} is not a layer of {self.name}")

    def param_layers(self) -> list[Layer]:
        return [r for r in self.layers if r.params]

    def block_layers(self, block: str) -> list[Layer]:
        return [r for r in self.layers if r.block == block]

    def comparisons(self) -> list[tuple[Published, int, bool]]:
        """Each published figure with the derived one and whether they agree."""
        out = []
        for p in self.published:
            d = self.total(p.quantity, p.layer)
            out.append((p, d, p.matches(d)))
        return out


# --- the builder ----------------------------------------------------------------------------------

@dataclass
class _State:
    shape: Shape
    rf: int = 1
    jump: int = 1


@dataclass
class _Net:
    """Walks a network front to back, appending rows; each method applies the spec's arithmetic."""

    state: _State
    layers: list[Layer] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    block: str | None = None
    on_shortcut: bool = False

    def _add(self, name: str, kind: str, out: Shape, *, k: int = 0, s: int = 1, p: int = 0,
             weights: int = 0, biases: int = 0, taps: int = 0, macs: int | None = None) -> Layer:
        st = self.state
        rf, jump = st.rf + max(k - 1, 0) * st.jump, st.jump * s
        units = math.prod(out)
        row = Layer(name, kind, st.shape, out, k, s, p, weights, biases,
                    connections=units * (taps + (1 if biases else 0)) if taps else 0,
                    macs=units * taps if macs is None else macs, rf=rf, jump=jump,
                    block=self.block, shortcut=self.on_shortcut)
        self.layers.append(row)
        self.state = _State(out, rf, jump)
        return row

    def conv(self, name: str, cout: int, k: int, s: int = 1, p: int = 0, bias: bool = True) -> Layer:
        c, h, w = self.state.shape
        spec = ConvSpec.make((h, w), k, in_channels=c, out_channels=cout, stride=s, padding=p)
        return self._add(name, "conv", spec.output_shape, k=k, s=s, p=p, weights=spec.n_weights,
                         biases=cout if bias else 0, taps=spec.taps)

    def sparse_conv(self, name: str, table: tuple[tuple[int, ...], ...], k: int) -> Layer:
        c, h, w = self.state.shape
        if any(not 0 <= i < c for maps in table for i in maps):
            raise SpecError(f"{name}: connection table names an input map outside 0..{c - 1}")
        spec = ConvSpec.make((h, w), k, in_channels=c, out_channels=len(table))
        pairs = sum(len(m) for m in table)
        pos = math.prod(spec.output_size)
        conns = sum(pos * (len(m) * k * k + 1) for m in table)
        row = self._add(name, "sparse_conv", spec.output_shape, k=k, weights=pairs * k * k,
                        biases=len(table), macs=pos * pairs * k * k)
        self.layers[-1] = row = replace(row, connections=conns)
        return row

    def bn(self, name: str) -> Layer:
        c = self.state.shape[0]
        return self._add(name, "bn", self.state.shape, weights=c, biases=c, macs=0)

    def pool(self, name: str, k: int, s: int | None = None, p: int = 0) -> Layer:
        c, h, w = self.state.shape
        s = k if s is None else s
        out = (c, output_size(h, k, s, p), output_size(w, k, s, p))
        return self._add(name, "maxpool", out, k=k, s=s, p=p, macs=0)

    def subsample(self, name: str) -> Layer:
        """LeCun 1998 §II.B: 2x2 sum, times a trainable coefficient, plus a trainable bias."""
        c, h, w = self.state.shape
        out = (c, output_size(h, 2, 2), output_size(w, 2, 2))
        return self._add(name, "subsample", out, k=2, s=2, weights=c, biases=c, taps=4)

    def fc(self, name: str, fout: int, bias: bool = True) -> Layer:
        fin = math.prod(self.state.shape)
        k = self.state.shape[-1] if len(self.state.shape) == 3 else 1
        return self._add(name, "fc", (fout,), k=k, weights=fin * fout, biases=fout if bias else 0,
                         taps=fin)

    def gap(self, name: str) -> Layer:
        c, h, w = self.state.shape
        return self._add(name, "gap", (c,), k=h, macs=0)

    def rbf(self, name: str, classes: int) -> Layer:
        fin = math.prod(self.state.shape)
        row = self._add(name, "rbf", (classes,), macs=classes * fin)
        self.layers[-1] = row = replace(row, connections=classes * fin)
        return row

    # --- residual blocks ---------------------------------------------------------------------
    def residual_block(self, name: str, branch: Callable[["_Net"], str], cout: int, stride: int,
                       shortcut: str, kind: str) -> None:
        """``branch(self)`` builds the main path and returns its last batch norm's name; then the
        shortcut (identity, option A or a B projection) from the block's input, and the addition."""
        entry, self.block = self.state, name
        last_bn = branch(self)
        main = self.state
        if shortcut == "none":
            self.blocks.append(Block(name, kind, entry.shape, main.shape, stride, "none", last_bn))
            self.block = None
            return
        cin = entry.shape[0]
        need = stride != 1 or cin != cout
        used = ("B" if shortcut == "B" else "A") if need else "identity"
        self.state, self.on_shortcut = entry, True
        if used == "B":
            self.conv(f"{name}.downsample.0", cout, 1, stride, bias=False)
            self.bn(f"{name}.downsample.1")
        elif used == "A":
            _, h, w = entry.shape
            out = (cout, output_size(h, 1, stride), output_size(w, 1, stride))
            self._add(f"{name}.downsample", "shortcut_a", out, k=1, s=stride, macs=0)
        short, self.on_shortcut = self.state, False
        if short.shape != main.shape:
            raise SpecError(f"{name}: the shortcut gives {_fmt(short.shape)} but the branch "
                            f"{_fmt(main.shape)}; rule: y = F(x) + W_s x needs equal shapes")
        self.state = _State(main.shape, max(main.rf, short.rf), main.jump)
        self._add(f"{name}.add", "add", main.shape, macs=0)
        self.blocks.append(Block(name, kind, entry.shape, main.shape, stride, used, last_bn))
        self.block = None


def _fmt(shape: Shape) -> str:
    return "x".join(map(str, shape))


# --- published figures ------------------------------------------------------------------------

_LECUN = "LeCun et al. 1998, §II.B"
_LECTURE = "CNN lecture, LeNet-5 slides (32x32x1, 5x5x6, 2x2 pool, 5x5x16, FC 400-120-84-10)"
_HE_T1 = "He et al. 2016, Table 1 (FLOPs, multiply-adds)"
_HE_T6 = "He et al. 2016, Table 6 (# params)"
_TV = "torchvision models/resnet.py, ResNet{d}_Weights.IMAGENET1K_V1 meta"
_DERIVED = "derived here: exact counts of the paper's option-A networks (Table 6 prints them rounded)"

LENET_1998_TABLE = {  # layer: (trainable parameters, connections), LeCun et al. 1998 §II.B
    "C1": (156, 122_304), "S2": (12, 5_880), "C3": (1_516, 151_600), "S4": (32, 2_000),
    "C5": (48_120, 48_120), "F6": (10_164, None),
}
CIFAR_PARAMS = {  # exact count (derived here), printed in Table 6 as
    20: (269_722, "0.27"), 32: (464_154, "0.46"), 44: (658_586, "0.66"), 56: (853_018, "0.85"),
    110: (1_727_962, "1.7"), 1202: (19_421_274, "19.4"),
}
TORCHVISION_PARAMS = {18: 11_689_512, 34: 21_797_672, 50: 25_557_032, 101: 44_549_160,
                      152: 60_192_808}  # num_params
TORCHVISION_GFLOPS = {18: "1.814", 34: "3.664", 50: "4.089", 101: "7.801", 152: "11.514"}  # _ops
TABLE1_GFLOPS = {18: "1.8", 34: "3.6", 50: "3.8", 101: "7.6", 152: "11.3"}


# --- the networks -------------------------------------------------------------------------------

def lenet5(input_size: int = 32, c1_padding: int | None = None, in_channels: int = 1,
           classes: int = 10) -> Architecture:
    """The lecture's LeNet-5: conv 5x5x6, 2x2 max pool, conv 5x5x16, pool, FC 400-120-84-10.

    ``input_size=28`` pads C1 by 2 (``c1_padding`` overrides): the lecture's shapes again. With
    ``c1_padding=0`` on 28x28 the FC after S4 sees 16x4x4 = 256 inputs, not 400.
    """
    pad = (32 - input_size) // 2 if c1_padding is None else c1_padding
    net = _Net(_State((in_channels, input_size, input_size)))
    net.conv("C1", 6, 5, p=max(pad, 0))
    net.pool("S2", 2)
    net.conv("C3", 16, 5)
    net.pool("S4", 2)
    net.fc("C5", 120)
    net.fc("F6", 84)
    net.fc("OUTPUT", classes)
    pub: list[Published] = []
    if (input_size, in_channels, classes) == (32, 1, 10) and pad == 0:
        pub = [Published("params", "61706", _LECTURE),
               Published("params", "48120", _LECTURE + ": the 400x120 matrix with its bias", layer="C5"),
               Published("weights", "48000", _LECTURE + ": 400x120", layer="C5"),
               Published("weights", "10080", _LECTURE + ": 120x84", layer="F6"),
               Published("weights", "840", _LECTURE + ": 84x10", layer="OUTPUT")]
    elif (input_size, in_channels, classes) == (28, 1, 10) and pad == 0:
        pub = [Published("params", "44426", "derived here: the 28x28-without-padding pitfall (16x4x4 = 256 features into the 400x120 layer)")]
    name = "lenet5" if input_size == 32 else f"lenet5-{input_size}" + ("-nopad" if pad == 0 else "")
    return Architecture(name, f"LeNet-5, lecture version, {input_size}x{input_size} input, C1 padding {pad}",
                        (in_channels, input_size, input_size), tuple(net.layers), published=tuple(pub),
                        notes=("ReLU; max pooling; C3 reads every S2 map",))


def lenet5_1998() -> Architecture:
    """LeCun et al. 1998 §II.B: trainable subsampling, Table I's C3, C5, F6, RBF output."""
    net = _Net(_State((1, 32, 32)))
    net.conv("C1", 6, 5)
    net.subsample("S2")
    net.sparse_conv("C3", LENET_C3_TABLE, 5)
    net.subsample("S4")
    net.conv("C5", 120, 5)
    net.fc("F6", 84)
    net.rbf("OUTPUT", 10)
    pub = []
    for layer, (params, conns) in LENET_1998_TABLE.items():
        pub.append(Published("params", str(params), f"{_LECUN} ({layer})", layer=layer))
        if conns is not None:
            pub.append(Published("connections", str(conns), f"{_LECUN} ({layer})", layer=layer))
    pub.append(Published("params", "60000", f"{_LECUN}: the per-layer figures sum to 60,000 trainable "
                                            "parameters"))
    return Architecture("lenet5-1998", "LeNet-5 as in LeCun et al. 1998", (1, 32, 32),
                        tuple(net.layers), published=tuple(pub),
                        notes=("activation 1.7159 tanh(2a/3) (Appendix A)",
                               "OUTPUT: Euclidean RBF units with fixed ±1 prototypes (eq. 7), not trainable"))


def _basic(planes: int, stride: int, name: str) -> Callable[[_Net], str]:
    def build(net: _Net) -> str:
        net.conv(f"{name}.conv1", planes, 3, stride, 1, bias=False)
        net.bn(f"{name}.bn1")
        net.conv(f"{name}.conv2", planes, 3, 1, 1, bias=False)
        net.bn(f"{name}.bn2")
        return f"{name}.bn2"
    return build


def _bottleneck(planes: int, stride: int, name: str, stride_on: str) -> Callable[[_Net], str]:
    s1, s2 = (stride, 1) if stride_on == "1x1" else (1, stride)

    def build(net: _Net) -> str:
        net.conv(f"{name}.conv1", planes, 1, s1, bias=False)
        net.bn(f"{name}.bn1")
        net.conv(f"{name}.conv2", planes, 3, s2, 1, bias=False)
        net.bn(f"{name}.bn2")
        net.conv(f"{name}.conv3", planes * 4, 1, bias=False)
        net.bn(f"{name}.bn3")
        return f"{name}.bn3"
    return build


def _stages(net: _Net, layers: tuple[int, ...], widths: tuple[int, ...], *, bottleneck: bool,
            shortcut: str, stride_on: str = "3x3") -> list[str]:
    stages = []
    for i, (n, planes) in enumerate(zip(layers, widths)):
        for b in range(n):
            name = f"layer{i + 1}.{b}"
            stride = 2 if (b == 0 and i > 0) else 1  # "spatial size halves when filters double"
            if bottleneck:
                net.residual_block(name, _bottleneck(planes, stride, name, stride_on), planes * 4,
                                   stride, shortcut, "bottleneck")
            else:
                net.residual_block(name, _basic(planes, stride, name), planes, stride, shortcut, "basic")
        stages.append(f"layer{i + 1}")
    return stages


def cifar_resnet(depth: int, shortcut: str = "A", in_channels: int = 3, input_size: int = 32,
                 classes: int = 10) -> Architecture:
    """He et al. 2016 §4.2: 3x3 conv stem, 3 stages of 2n layers (16/32/64 filters), GAP, FC.

    ``shortcut``: ``"A"`` (zero-padded identity), ``"B"`` (projection where the shape changes) or
    ``"none"`` (the plain counterpart).
    """
    if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise SpecError(f"depth: {depth!r} must be 6n+2 with n >= 1 (20, 32, 44, 56, 110, 1202)")
    if shortcut not in ("A", "B", "none"):
        raise SpecError(f"shortcut: {shortcut!r} is not 'A', 'B' or 'none'")
    n = (depth - 2) // 6
    net = _Net(_State((in_channels, input_size, input_size)))
    net.conv("conv1", 16, 3, 1, 1, bias=False)
    net.bn("bn1")
    stages = _stages(net, (n, n, n), (16, 32, 64), bottleneck=False, shortcut=shortcut)
    net.gap("avgpool")
    net.fc("fc", classes)
    prefix = "plain" if shortcut == "none" else "resnet"
    name = f"{prefix}{depth}" + ("-B" if shortcut == "B" else "")
    pub: list[Published] = []
    if shortcut == "A" and depth in CIFAR_PARAMS and (in_channels, classes) == (3, 10):
        exact, printed = CIFAR_PARAMS[depth]
        pub = [Published("params", str(exact), _DERIVED),
               Published("params", printed, _HE_T6, scale=10**6)]
    kind = {"A": "option A shortcuts", "B": "option B shortcuts", "none": "no shortcuts (plain)"}[shortcut]
    return Architecture(name, f"CIFAR-10 {'plain net' if prefix == 'plain' else 'ResNet'}, {depth} layers, {kind}",
                        (in_channels, input_size, input_size), tuple(net.layers), tuple(net.blocks),
                        tuple(pub), stages=tuple(stages))


IMAGENET_LAYERS = {18: (False, (2, 2, 2, 2)), 34: (False, (3, 4, 6, 3)), 50: (True, (3, 4, 6, 3)),
                   101: (True, (3, 4, 23, 3)), 152: (True, (3, 8, 36, 3))}


def imagenet_resnet(depth: int, stride_on: str = "3x3", input_size: int = 224,
                    classes: int = 1000) -> Architecture:
    """He et al. 2016 Table 1 with option B shortcuts. ``stride_on="3x3"``: torchvision's v1.5;
    ``"1x1"``: the paper's bottleneck (stride on conv1). Basic-block nets are the same either way."""
    if depth not in IMAGENET_LAYERS:
        raise SpecError(f"depth: {depth!r} is not one of {sorted(IMAGENET_LAYERS)}")
    if stride_on not in ("1x1", "3x3"):
        raise SpecError(f"stride_on: {stride_on!r} is not '1x1' (paper) or '3x3' (v1.5)")
    bottleneck, layers = IMAGENET_LAYERS[depth]
    net = _Net(_State((3, input_size, input_size)))
    net.conv("conv1", 64, 7, 2, 3, bias=False)
    net.bn("bn1")
    net.pool("maxpool", 3, 2, 1)
    stages = _stages(net, layers, (64, 128, 256, 512), bottleneck=bottleneck, shortcut="B",
                     stride_on=stride_on)
    net.gap("avgpool")
    net.fc("fc", classes)
    v1 = bottleneck and stride_on == "1x1"
    name = f"resnet{depth}" + ("-v1" if v1 else "")
    pub: list[Published] = []
    if (input_size, classes) == (224, 1000):
        pub.append(Published("params", str(TORCHVISION_PARAMS[depth]),
                             _TV.format(d=depth) + " num_params" + (" (same in both layouts)" if bottleneck else "")))
        if stride_on == "3x3":
            pub.append(Published("macs", TORCHVISION_GFLOPS[depth], _TV.format(d=depth) + " _ops (GFLOPS)",
                                 scale=10**9))
        if stride_on == "1x1" or not bottleneck:
            pub.append(Published("macs", TABLE1_GFLOPS[depth], _HE_T1, scale=10**9, rule="either"))
    layout = ("the paper's bottleneck (stride on the first 1x1)" if v1 else
              "torchvision's v1.5 bottleneck (stride on the 3x3)" if bottleneck else "basic blocks")
    return Architecture(name, f"ImageNet ResNet-{depth}, {layout}", (3, input_size, input_size),
                        tuple(net.layers), tuple(net.blocks), tuple(pub), stages=tuple(stages))


# --- the catalogue --------------------------------------------------------------------------------

def _catalogue() -> dict[str, Callable[[], Architecture]]:
    cat: dict[str, Callable[[], Architecture]] = {
        "lenet5": lambda: lenet5(),
        "lenet5-28": lambda: lenet5(28),
        "lenet5-28-nopad": lambda: lenet5(28, c1_padding=0),
        "lenet5-1998": lenet5_1998,
    }
    for d in (20, 32, 44, 56, 110, 1202):
        cat[f"resnet{d}"] = lambda d=d: cifar_resnet(d, "A")
        cat[f"resnet{d}-B"] = lambda d=d: cifar_resnet(d, "B")
        if d != 1202:
            cat[f"plain{d}"] = lambda d=d: cifar_resnet(d, "none")
    for d, (bottleneck, _) in IMAGENET_LAYERS.items():
        cat[f"resnet{d}"] = lambda d=d: imagenet_resnet(d, "3x3")
        if bottleneck:
            cat[f"resnet{d}-v1"] = lambda d=d: imagenet_resnet(d, "1x1")
    return cat


_CATALOGUE = _catalogue()
SPECS: tuple[str, ...] = tuple(_CATALOGUE)
_CACHE: dict[str, Architecture] = {}


def get(name: str) -> Architecture:
    """The architecture ``name`` (one of :data:`SPECS`); built once, then cached (it is immutable)."""
    if name not in _CATALOGUE:
        raise SpecError(f"spec: {name!r} is not a known architecture; known: {', '.join(SPECS)}")
    if name not in _CACHE:
        _CACHE[name] = _CATALOGUE[name]()
    return _CACHE[name]
