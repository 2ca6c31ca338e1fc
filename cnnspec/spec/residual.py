"""The residual identity, stated symbolically (no torch).

He et al. 2016 §3.1–3.2: a block computes ``y = F(x) + x`` (eq. 1) or ``y = F(x) + W_s x`` when the
shape changes (eq. 2). Two consequences are proved here with sympy, for generic ``F``:

* the Jacobian is ``∂y/∂x = I + ∂F/∂x`` (the gradient reaches ``x`` through the identity term even
  where ``∂F/∂x`` is small), and ``F ≡ 0`` makes the block the identity;
* a branch that ends in batch norm, ``γ·(z − μ)/√(σ² + ε) + β``, is identically zero when
  ``γ = β = 0``, whatever ``z``: setting those two parameters is how a network "learns" the
  identity (§3.1), and how :mod:`cnnspec.networks.model` tests it, bit for bit, on real models.

Option A (§3.3) is a fixed linear map: take every ``s``-th position and append zero channels;
:func:`option_a_matrix` writes it out, so it can be checked to have no parameters and to be a
partial identity.

>>> residual_jacobian(2)[0]
Matrix([
[Derivative(F_0(x_0, x_1), x_0) + 1,     Derivative(F_0(x_0, x_1), x_1)],
[    Derivative(F_1(x_0, x_1), x_0), Derivative(F_1(x_0, x_1), x_1) + 1]])

References
----------
He, Zhang, Ren & Sun, *Deep residual learning for image recognition*, CVPR 2016, eq. (1), (2), §3.3.
He, Zhang, Ren & Sun, *Identity mappings in deep residual networks*, ECCV 2016, eq. (4)–(5).
Ioffe & Szegedy, *Batch normalization*, ICML 2015, Algorithm 1.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import sympy

from .convolution import SpecError, output_size


def residual_jacobian(n: int) -> tuple[sympy.Matrix, sympy.Matrix]:
    """``(J_y, J_F)`` for ``y = x + F(x)`` with ``x ∈ R^n`` and ``F`` a vector of undefined functions."""
    if not isinstance(n, int) or n < 1:
        raise SpecError(f"n: {n!r} must be a positive integer")
    x = sympy.symbols(f"x_0:{n}")
    F = sympy.Matrix([sympy.Function(f"F_{i}")(*x) for i in range(n)])
    y = sympy.Matrix(x) + F
    return y.jacobian(x), F.jacobian(x)


def batchnorm_expr() -> tuple[sympy.Expr, tuple[sympy.Symbol, ...]]:
    """Batch norm's output for one entry: ``γ·(z − μ)/√(σ² + ε) + β`` and its symbols."""
    z, mu, gamma, beta = sympy.symbols("z mu gamma beta", real=True)
    var, eps = sympy.symbols("sigma2 epsilon", positive=True)
    return gamma * (z - mu) / sympy.sqrt(var + eps) + beta, (z, mu, var, eps, gamma, beta)


def option_a_matrix(c_in: int, c_out: int, h: int, w: int, stride: int) -> sp.csr_matrix:
    """The option-A shortcut as a 0/1 matrix from ``vec(x)`` (C_in,H,W) to ``vec(y)`` (C_out,H',W').

    ``y[c, i, j] = x[c, s·i, s·j]`` for ``c < C_in`` and 0 for the ``C_out − C_in`` appended channels.
    """
    if c_out < c_in:
        raise SpecError(f"c_out: {c_out} < c_in {c_in}; option A only adds channels")
    ho, wo = output_size(h, 1, stride), output_size(w, 1, stride)
    c, i, j = np.meshgrid(np.arange(c_in), np.arange(ho), np.arange(wo), indexing="ij")
    rows = ((c * ho + i) * wo + j).ravel()
    cols = ((c * h + stride * i) * w + stride * j).ravel()
    return sp.csr_matrix((np.ones(rows.size, dtype=np.int64), (rows, cols)),
                         shape=(c_out * ho * wo, c_in * h * w))
