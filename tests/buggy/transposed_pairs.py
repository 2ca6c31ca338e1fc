"""The wrong transposed convolutions of ``conv_family_bugs.py``, each beside a correct ``conv2d``, as
a library that ships both ops would have them: the adjoint claim (``conformance.conv.adjoint``)
pairs ``ct_*`` with this module's ``conv2d`` and catches each one without the oracle:

    cnnspec validate tests/buggy/transposed_pairs.py:ct_no_kernel_flip --op conv_transpose2d \\
        --claims conformance.conv.adjoint
"""
from conv_family_bugs import (ct_drops_output_padding, ct_no_kernel_flip,  # noqa: F401 - the targets
                              ct_weight_axes_swapped)

from cnnspec.conformance.shims.numpy_ops import conv2d, conv_transpose2d  # noqa: F401 - correct ops

MUTANTS = {   # name -> what the adjoint relation sees
    "ct_no_kernel_flip": "⟨u, ct(v)⟩ pairs each tap with the mirrored one",
    "ct_weight_axes_swapped": "the weight's channel axes read as (C_out, C_in/g)",
    "ct_drops_output_padding": "an output smaller than the input space of conv2d",
}
