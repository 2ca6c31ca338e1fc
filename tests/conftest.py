"""Shared test set-up: the hypothesis profiles of :mod:`cnnspec.strategies`.

The suite runs under ``cnnspec-ci`` (fast, derandomized) unless hypothesis's own option picks
another: ``python3 -m pytest --hypothesis-profile cnnspec-thorough`` (``--hypothesis-seed`` too).
"""
from hypothesis import settings

import cnnspec.strategies  # noqa: F401 - registers cnnspec-ci and cnnspec-thorough

settings.load_profile("cnnspec-ci")  # hypothesis's pytest plugin loads --hypothesis-profile after this


def opinfo_db():
    """torch's OpInfo database (``torch.testing._internal``). Importing it loads a hypothesis
    profile of PyTorch's own (``dev``: 10 examples) for the whole process; the profile this suite
    runs under is loaded again, so later tests keep their examples."""
    active = settings._current_profile
    from torch.testing._internal.common_methods_invocations import op_db

    settings.load_profile(active)
    return op_db
