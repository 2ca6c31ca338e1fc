"""``conv1d``/``conv2d`` built on ``scipy.signal.correlate`` (direct method), one call per
(sample, output channel, input channel): a target for ``cnnspec validate`` and a peer of the oracle."""
from __future__ import annotations

import numpy as np
from scipy import signal


def _tuple(name: str, v, nd: int, lo: int) -> tuple[int, ...]:
    a = (v,) * nd if isinstance(v, (int, np.integer)) else tuple(v)
    if len(a) == 1:
        a = a * nd
    if len(a) != nd or any(int(t) < lo for t in a):
        raise ValueError(f"{name}={v!r}: expected {nd} ints >= {lo}")
    return tuple(int(t) for t in a)


def _conv(x, weight, bias, stride, padding, dilation, groups, nd):
    x, weight = np.asarray(x), np.asarray(weight)
    if x.ndim == nd + 1:   # unbatched (C, *spatial), which torch.nn.functional takes too
        return _conv(x[None], weight, bias, stride, padding, dilation, groups, nd)[0]
    s, p, d = _tuple("stride", stride, nd, 1), _tuple("padding", padding, nd, 0), \
        _tuple("dilation", dilation, nd, 1)
    n, c = x.shape[:2]
    o, cg = weight.shape[:2]
    if groups < 1 or c % groups or o % groups or cg * groups != c:
        raise ValueError(f"groups={groups} does not fit input channels {c} and weight {weight.shape}")
    k = weight.shape[2:]
    dil = np.zeros((o, cg, *[dd * (kk - 1) + 1 for kk, dd in zip(k, d)]), weight.dtype)
    dil[(slice(None), slice(None)) + tuple(slice(None, None, dd) for dd in d)] = weight
    xp = np.pad(x, [(0, 0), (0, 0)] + [(q, q) for q in p])
    if any(a < b for a, b in zip(xp.shape[2:], dil.shape[2:])):
        raise ValueError("the dilated kernel is larger than the padded input")
    og = o // groups
    rows = []
    for i in range(n):
        chans = []
        for oc in range(o):
            g = oc // og
            acc = sum(signal.correlate(xp[i, g * cg + ci], dil[oc, ci], mode="valid", method="direct")
                      for ci in range(cg))
            chans.append(acc[tuple(slice(None, None, ss) for ss in s)])
        rows.append(np.stack(chans))
    out = np.stack(rows).astype(x.dtype)
    if bias is not None:
        out = out + np.asarray(bias, x.dtype).reshape(o, *[1] * nd)
    return out


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv(x, weight, bias, stride, padding, dilation, groups, 2)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv(x, weight, bias, stride, padding, dilation, groups, 1)
