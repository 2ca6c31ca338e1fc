"""The child's call forms (cnnspec/conformance/call_forms.py): every layout keeps the values and
changes the strides; the partner beside a target is found in the module the child imported, and a
missing one says so; through a worker, a layout reaches the target."""
import numpy as np
import pytest
import torch

from cnnspec.conformance.call_forms import LAYOUTS, arrange, beside, partner
from cnnspec.conformance.isolation import Call, Worker
from cnnspec.targets import load_op

X = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)


@pytest.mark.parametrize("layout", LAYOUTS["numpy"])
def test_numpy_layouts_keep_the_values_and_change_the_strides(layout):
    a, b, n = arrange([X, X[0, 0, 0], 3], layout, "numpy")
    assert np.array_equal(a, X) and a.dtype == X.dtype and not a.flags.c_contiguous and n == 3
    assert not np.shares_memory(a, X)
    assert np.array_equal(b, X[0, 0, 0])        # a 1-D bias: the same values (channels-last leaves it)
    if layout == "reversed":
        assert all(s < 0 for s in a.strides)
    if layout == "channels_last":
        assert a.strides[1] == a.itemsize        # C innermost


@pytest.mark.parametrize("layout", LAYOUTS["torch"])
def test_torch_layouts_keep_the_values_and_change_the_strides(layout):
    for shape in ((2, 3, 4), (2, 3, 4, 5), (1, 2, 3, 4, 2)):
        t = torch.arange(int(np.prod(shape)), dtype=torch.float32).reshape(shape)
        (a,) = arrange([t], layout, "torch")
        assert torch.equal(a, t) and not a.is_contiguous()
        if layout == "channels_last" and len(shape) > 3:
            fmt = torch.channels_last if len(shape) == 4 else torch.channels_last_3d
            assert a.is_contiguous(memory_format=fmt)


def test_no_layout_leaves_the_arguments_and_an_unknown_one_is_refused():
    args = [X, 1]
    assert arrange(args, None, "numpy") is args
    with pytest.raises(ValueError, match="'reversed' is not one of"):
        arrange(args, "reversed", "torch")          # torch has no negative strides


def test_the_partner_is_the_op_beside_the_target():
    assert partner("torch.nn.functional:conv_transpose2d", "conv2d") is torch.nn.functional.conv2d
    from cnnspec.conformance.shims import numpy_ops
    assert partner("cnnspec.conformance.shims.numpy_ops:conv1d", "conv_transpose1d") is numpy_ops.conv_transpose1d
    assert partner("torch:nn.functional.conv1d", "conv_transpose1d") is torch.nn.functional.conv_transpose1d
    load_op("tests/buggy/transposed_pairs.py:ct_no_kernel_flip")     # as the child imports it
    assert partner("tests/buggy/transposed_pairs.py:ct_no_kernel_flip", "conv2d") is numpy_ops.conv2d
    with pytest.raises(LookupError, match="the target has no conv3d beside it"):
        partner("cnnspec.conformance.shims.scipy_ops:conv2d", "conv3d")
    with pytest.raises(LookupError, match="not callable"):
        partner("cnnspec.conformance.shims.numpy_ops:conv2d", "np")


def test_a_layout_reaches_the_target_in_the_child():
    # a target that reads its buffer in memory order: right on C order and on strided views (whose
    # memory order is C order), wrong on a column-major copy of the same values
    w = np.ones((1, 3, 2, 1))
    with Worker("tests/buggy/layout_bugs.py:conv2d_memory_order") as worker:
        base, fortran, strided, missing = worker.call_many(
            [Call((X, w)), Call((X, w), layout="fortran"), Call((X, w), layout="strided"),
             Call((X, w), partner="conv_transpose2d")])
    assert base.ok and strided.ok and np.array_equal(base.value, strided.value)
    assert fortran.ok and not np.array_equal(base.value, fortran.value)
    assert not missing.ok and not missing.raised and missing.error.startswith("no partner: ")


@pytest.mark.parametrize("target,name,want", [
    ("cnnspec.adapters.jax:conv3d", "conv_transpose3d", "cnnspec.adapters.jax:conv_transpose3d"),
    ("tests/buggy/transposed_pairs.py:ct_no_kernel_flip", "conv2d", "tests/buggy/transposed_pairs.py:conv2d"),
    ("mypkg.mod:ops.conv2d", "conv_transpose2d", "mypkg.mod:ops.conv_transpose2d"),   # the owner is kept
])
def test_the_partners_target_string_names_where_partner_finds_it(target, name, want):
    assert beside(target, name) == want
    if not target.startswith("mypkg"):
        load_op(target)     # as the child imports it
        assert load_op(want) is partner(target, name)
