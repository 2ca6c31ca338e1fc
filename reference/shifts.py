"""Translations of image batches, and the shift consistency of a classifier (Zhang 2019).

Definition (Zhang 2019, §4.1, "classification consistency"): for an image ``X`` and two shifts
``(h1, w1)``, ``(h2, w2)`` drawn independently and uniformly from ``{-k, …, k}²``,

    consistency = E_{X, h1, w1, h2, w2} 1[ argmax f(Shift_{h1,w1}(X)) = argmax f(Shift_{h2,w2}(X)) ]

the fraction of images whose predicted class agrees for two random shifts of the same image.
Here ``Shift`` moves the content by whole pixels and fills what comes in with a constant
(``fill``; zero fill in pixel space is the background value after normalisation), as in
:func:`translate`. A model that is exactly shift-invariant on the data has consistency 1;
convolutions are equivariant but striding (pooling, strided convolutions) breaks invariance,
which is Zhang's point, so trained CNNs sit below 1.

References
----------
R. Zhang, *Making Convolutional Networks Shift-Invariant Again*, ICML 2019, arXiv:1904.11486.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

__all__ = ["translate", "random_shifts", "shift_consistency"]


def translate(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, fill: float = 0.0) -> torch.Tensor:
    """Move image ``n`` of ``x`` (N, C, H, W) down by ``dy[n]`` and right by ``dx[n]`` pixels.

    ``out[n, :, i, j] = x[n, :, i − dy[n], j − dx[n]]`` where that index is inside the image, else
    ``fill``. Vectorised: one padded copy, a zero-copy window view, one gather of N whole images.
    """
    n, _, h, w = x.shape
    s = int(max(dy.abs().max(), dx.abs().max())) if n else 0
    if s == 0:
        return x.clone()
    xp = F.pad(x, (s, s, s, s), value=fill)
    windows = xp.unfold(2, h, 1).unfold(3, w, 1)        # (N, C, 2s+1, 2s+1, H, W), a view
    idx = torch.arange(n, device=x.device)
    return windows[idx, :, s - dy.to(x.device), s - dx.to(x.device)]


def random_shifts(n: int, max_shift: int, generator: torch.Generator | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` shifts ``(dy, dx)``, each coordinate uniform on ``{-max_shift, …, max_shift}``."""
    if max_shift < 0:
        raise ValueError(f"max_shift={max_shift} must be >= 0")
    d = torch.randint(-max_shift, max_shift + 1, (2, n), generator=generator)
    return d[0], d[1]


@torch.no_grad()
def shift_consistency(predict: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, *,
                      max_shift: int = 2, fill: float = 0.0, seed: int = 0,
                      batch_size: int = 1000) -> dict:
    """Zhang's consistency of ``predict`` (images → logits) on ``images`` (N, C, H, W).

    Returns ``{"consistency", "agree", "n", "max_shift", "fill", "definition"}``; each image is
    used once with its own pair of independent random shifts (seeded: the figure is reproducible).
    """
    g = torch.Generator().manual_seed(seed)
    dy1, dx1 = random_shifts(len(images), max_shift, g)
    dy2, dx2 = random_shifts(len(images), max_shift, g)
    agree = 0
    for i in range(0, len(images), batch_size):
        x = images[i:i + batch_size]
        sl = slice(i, i + len(x))
        a = predict(translate(x, dy1[sl], dx1[sl], fill)).argmax(1)
        b = predict(translate(x, dy2[sl], dx2[sl], fill)).argmax(1)
        agree += int((a == b).sum())
    n = len(images)
    return {"consistency": agree / n if n else float("nan"), "agree": agree, "n": n,
            "max_shift": max_shift, "fill": fill,
            "definition": "P[argmax f(Shift_{h1,w1} X) = argmax f(Shift_{h2,w2} X)], shifts i.i.d. "
                          f"uniform in {{-{max_shift}..{max_shift}}}^2, constant fill (Zhang 2019)"}
