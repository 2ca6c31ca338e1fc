"""Conformance of third-party ops: the engine (properties, isolation, runner, diagnose), the claims
of each op family, the pytest plugin, golden vectors and the NumPy/SciPy shims.

:data:`OPS` is the one list of ops that conformance covers; the command line, the plugin, the
stages and the vectors take it from here.
"""

OPS: tuple[str, ...] = ("conv1d", "conv2d", "max_pool2d", "avg_pool2d")
# the pooling family (claims in pool_family_claims)
OPS += ("max_pool1d", "max_pool3d", "avg_pool1d", "avg_pool3d", "lp_pool1d", "lp_pool2d",
        "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
        "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d")
OPS += ("conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "pad")   # conv_family_claims
OPS += ("max_unpool1d", "max_unpool2d", "max_unpool3d")   # pool_indices_claims (and return_indices)
OPS += ("conv2d_integer", "qlinear_conv2d")   # integer_claims (ONNX ConvInteger, QLinearConv)
# ops that torch.nn.functional does not have (verify validates torch's own ops: these are left out)
NOT_IN_TORCH: tuple[str, ...] = ("conv2d_integer", "qlinear_conv2d")
