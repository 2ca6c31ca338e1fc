"""The ONNX Runtime adapter (``cnnspec.adapters.onnxruntime``: one-node ``onnx.helper`` graphs on the
CPU execution provider) against ``torch.nn.functional`` on exact data, and the wrong translations
its tests must catch."""
import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="ONNX Runtime is not installed: pip install 'cnnspec[onnxruntime]'")

import adapter_cases as A  # noqa: E402
from cnnspec.adapters import NotExpressible  # noqa: E402
from cnnspec.adapters import onnxruntime as M  # noqa: E402


def _pads_interleaved(monkeypatch):
    # the classic ONNX mistake: [x1_begin, x1_end, x2_begin, x2_end] instead of all begins, then ends
    monkeypatch.setattr(M, "_onnx_pads", lambda p: [v for lo_hi in p for v in lo_hi])
    M._session.cache_clear()


globals().update(A.suite("onnxruntime", M, skips={"avg_pool2d/divisor-override", "adaptive_avg_pool2d/uneven"},
                         layout_wrong=_pads_interleaved))


def test_pads_interleaved_is_caught_on_lo_hi_pads(monkeypatch):
    _pads_interleaved(monkeypatch)
    fails, _ = A.run_cases(M, A.cases(["conv2d/lo-hi-pads", "max_pool2d/lo-hi-pads"]))
    assert set(fails) == {"conv2d/lo-hi-pads", "max_pool2d/lo-hi-pads"}


def test_sessions_are_cached_per_attribute_set():
    M._session.cache_clear()
    x, w = A.ints(1, 2, 5, 5), A.ints(3, 2, 3, 3)
    for _ in range(3):
        M.conv2d(x, w, padding=1)
    M.conv2d(A.ints(2, 2, 7, 6), w, padding=1)          # another shape, the same attributes
    assert M._session.cache_info().misses == 1 and M._session.cache_info().hits == 3
    M.conv2d(x, w, padding=2)
    assert M._session.cache_info().misses == 2


def test_indices_are_torch_plane_indices():
    # ONNX flattens Indices over N, C, H, W; torch indexes each plane: the adapter subtracts the offset
    x = A.ints(2, 3, 4, 4, lo=-50, hi=50)
    y, idx = M.max_pool2d(x, 2, return_indices=True)
    assert idx.dtype == np.int64 and idx.max() < 16
    assert np.array_equal(np.take_along_axis(x.reshape(2, 3, 16), idx.reshape(2, 3, -1), 2), y.reshape(2, 3, -1))


def test_divisor_override_is_not_expressible():
    with pytest.raises(NotExpressible, match="divisor_override .* not expressible in ONNX Runtime"):
        M.avg_pool2d(A.ints(1, 1, 4, 4), 2, divisor_override=3)


def test_a_dtype_without_cpu_kernel_is_not_expressible():
    # ONNX Runtime's CPU provider has no float64 Conv: a skip naming it, not a failure
    x, w = A.ints(1, 2, 5, 5).astype(np.float64), A.ints(3, 2, 3, 3).astype(np.float64)
    with pytest.raises(NotExpressible, match=r"Conv on float64 \(CPUExecutionProvider has no kernel"):
        M.conv2d(x, w)
    assert M.max_pool2d(x, 2).dtype == np.float64     # MaxPool has one


def test_framework_refusals_are_raised_not_hidden():
    # ONNX Runtime refuses pads >= kernel (torch refuses pads > kernel // 2); the adapter passes it on
    with pytest.raises(Exception, match="Pad should be smaller than kernel"):
        M.max_pool2d(A.ints(1, 1, 5, 5), 2, padding=2)
