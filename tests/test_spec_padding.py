"""cnnspec.spec.padding: padding operators as matrices, against the oracle's np.pad-based padding and
torch, and SAME's split against ONNX's rule."""
import doctest
import importlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnspec import oracle
from cnnspec.spec.convolution import ConvSpec, SpecError
from cnnspec.spec.padding import (MODES, pad_matrix, pad_operator, padded_table, rows_touching_padding,
                                  same_pads, source_index)
from cnnspec.spec.toeplitz import BilinearTable

padding = importlib.import_module("cnnspec.spec.padding")
CONV_MODE = {"constant": "zeros", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}


def test_doctests():
    assert doctest.testmod(padding).failed == 0


@settings(max_examples=60)
@given(st.sampled_from(MODES), st.integers(1, 6), st.integers(0, 5), st.integers(0, 5))
def test_r_equals_the_oracles_and_torchs_padding(mode, n, lo, hi):
    lim = n - 1 if mode == "reflect" else n if mode == "circular" else 5
    lo, hi = min(lo, lim), min(hi, lim)
    x = np.arange(1, n + 1, dtype=np.float64)
    want = pad_matrix(n, lo, hi, mode) @ x
    assert np.array_equal(oracle.functional_pad(x[None], (lo, hi), mode)[0], want)
    assert np.array_equal(F.pad(torch.tensor(x)[None, None], (lo, hi), mode=mode)[0, 0].numpy(), want)


@settings(max_examples=30)
@given(st.sampled_from(MODES), st.integers(0, 2 ** 32 - 1))
def test_oracle_conv_with_padding_mode_equals_t_valid_times_r(mode, seed):
    rng = np.random.default_rng(seed)
    spec = ConvSpec.make((4, 5), (3, 2), in_channels=2, out_channels=2, stride=(1, 2),
                         padding=((int(rng.integers(0, 3)), 1), (1, int(rng.integers(0, 2)))))
    w = rng.integers(-3, 4, spec.weight_shape)
    x = rng.integers(-3, 4, (2, *spec.input_shape))
    t = padded_table(spec, mode)
    M = np.zeros((spec.n_out, spec.n_in), np.int64)
    np.add.at(M, (t.rows, t.cols), t.coef * w.reshape(-1)[t.widx])
    want = (M @ x.reshape(2, -1).T).T.reshape(2, *spec.output_shape)
    got = oracle.conv(x.astype(float), w.astype(float), None, spec.stride, list(spec.padding),
                      padding_mode=CONV_MODE[mode])
    assert np.array_equal(got, want)


def test_replicate_edge_entry_is_a_sum_of_taps():
    spec = ConvSpec.make(4, 3, padding=2)
    t = padded_table(spec, "replicate")
    first = {(int(i), int(c)): int(v) for r, i, c, v in zip(*t.arrays()) if r == 0}
    assert first == {(0, 0): 1, (1, 0): 1, (2, 0): 1}           # s[0] = (w0 + w1 + w2)·u0
    assert rows_touching_padding(spec).tolist() == [0, 1, 4, 5]


def test_reflect_refuses_padding_as_large_as_the_input():
    with pytest.raises(SpecError, match=r"^padding: \(3, 0\) with input size 3; rule: reflect"):
        source_index(3, 3, 0, "reflect")
    with pytest.raises(SpecError, match=r"^padding-mode: 'mirror'"):
        pad_operator(ConvSpec.make(3, 2, padding=1), "mirror")


@pytest.mark.parametrize("n,k,s,d", [(5, 2, 1, 1), (7, 4, 2, 1), (6, 3, 2, 2), (4, 5, 3, 1)])
def test_same_split_equals_onnx_auto_pad(n, k, s, d):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    from onnx.reference import ReferenceEvaluator
    x = np.arange(n, dtype=np.float32).reshape(1, 1, n)
    w = np.ones((1, 1, k), np.float32)
    for auto, upper in (("SAME_UPPER", True), ("SAME_LOWER", False)):
        node = helper.make_node("Conv", ["x", "w"], ["y"], auto_pad=auto, strides=[s], dilations=[d])
        g = helper.make_graph([node], "g", [helper.make_tensor_value_info(v, TensorProto.FLOAT, None)
                                            for v in "xw"], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
        want = ReferenceEvaluator(helper.make_model(g)).run(None, {"x": x, "w": w})[0]
        got = oracle.conv(x, w, None, s, [same_pads(n, k, s, d, upper)], d)
        assert np.array_equal(got, want)


def test_a_table_that_drops_the_sum_breaks_equality():
    spec = ConvSpec.make(4, 3, padding=2)
    t = padded_table(spec, "replicate")
    broken = BilinearTable(t.rows, t.widx, t.cols, np.minimum(t.coef, 0))
    assert broken != t
