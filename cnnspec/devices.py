"""The one place that decides which torch device a run uses.

``auto`` is CUDA when torch sees a CUDA device, else the CPU; ``cpu`` and ``cuda`` / ``cuda:N``
are taken as given, and asking for CUDA where there is none is a usage error (never a silent
fall-back to the CPU: a user who asks for a GPU run must not get a CPU verdict labelled GPU).
"""
from __future__ import annotations

from .errors import UsageError

CHOICES = ("auto", "cpu", "cuda")


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def resolve_device(device: str | None, argument: str = "device") -> str:
    """``"cpu"``, ``"cuda"`` or ``"cuda:N"`` for ``device`` (``None`` and ``"auto"`` choose)."""
    name = "auto" if device is None else str(device)
    if name == "auto":
        return "cuda" if _cuda_available() else "cpu"
    if name != "cpu" and name != "cuda" and not (name.startswith("cuda:") and name[5:].isdigit()):
        raise UsageError(f"{argument}: {name!r} is not one of auto, cpu, cuda, cuda:N")
    if name.startswith("cuda") and not _cuda_available():
        raise UsageError(f"{argument}: {name!r} was asked for but torch sees no CUDA device "
                         f"(torch.cuda.is_available() is False); use cpu or auto")
    return name


def devices_for(device: str | None) -> list[str]:
    """The devices a whole run covers: ``auto`` is the CPU, and CUDA too when present."""
    if device in (None, "auto"):
        return ["cpu", "cuda"] if _cuda_available() else ["cpu"]
    return [resolve_device(device)]
