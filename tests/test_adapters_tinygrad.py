"""The tinygrad adapter (``cnnspec.adapters.tinygrad``: ``Tensor.conv2d``, ``max_pool2d``,
``avg_pool2d``, ``pad`` on its clang-compiled CPU device) against ``torch.nn.functional`` on exact
data, and the wrong translations its tests must catch. tinygrad builds each new geometry's kernel
in Python (about a second), so these tests run a chosen subset of the cases."""
import shutil

import numpy as np
import pytest

pytest.importorskip("tinygrad", reason="tinygrad is not installed: pip install 'cnnspec[tinygrad]' "
                                      "&& apt-get install -y clang")
if shutil.which("clang") is None:
    pytest.skip("tinygrad's CPU device compiles with clang: apt-get install -y clang", allow_module_level=True)

import adapter_cases as A  # noqa: E402
from cnnspec.adapters import NotExpressible  # noqa: E402
from cnnspec.adapters import tinygrad as M  # noqa: E402

CASES = ("conv2d/stride-pad-dilation-groups-bias", "conv2d/lo-hi-pads", "conv1d/lo-hi-pads",
         "conv3d/stride-pad", "conv_transpose2d/stride-pad-outpad-bias", "conv_transpose2d/lo-hi-pads",
         "max_pool2d/ceil", "max_pool2d/ceil-last-window-in-padding",
         "max_pool2d/dilation", "max_pool2d/lo-hi-pads", "max_pool2d/indices", "avg_pool2d/ceil-include",
         "avg_pool2d/ceil-exclude", "avg_pool2d/same-exclude", "avg_pool2d/divisor-override",
         "adaptive_max_pool2d/divisible-indices", "pad/constant", "pad/reflect", "pad/replicate", "pad/circular",
         # not lp_pool1d/p3: tinygrad's pow is exp2(y·log2 x) in float32, whose cube root was seen 4.2 units
         # of roundoff off (outside the bound of a correctly rounded root); p = 1, 2 are within it
         "adaptive_avg_pool2d/global", "lp_pool2d/p2", "lp_pool2d/p1-signed", "lp_pool1d/p1-ceil",
         "max_unpool2d/from-pool", "max_unpool1d/output-size")


def _pads_first_axis_first(monkeypatch):
    # tinygrad reads a flat padding last axis first, as F.pad does; forgetting to reverse is wrong
    monkeypatch.setattr(M, "_flat", lambda pairs: [v for lo_hi in pairs for v in lo_hi])


globals().update(A.suite("tinygrad", M, skips={"avg_pool2d/divisor-override"},
                         layout_wrong=_pads_first_axis_first, layout_cases=("conv2d/lo-hi-pads",),
                         case_ids=CASES, variant_cases=1))


def test_divisor_override_is_not_expressible():
    with pytest.raises(NotExpressible, match="not expressible in tinygrad"):
        M.avg_pool2d(np.ones((1, 1, 4, 4), np.float32), 2, divisor_override=3)
