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


def pytest_configure(config):
    """The suite's drawn cases go to a cache folder of its own (cnnspec.conformance.case_cache),
    never into the user's: one folder per test process, removed when it ends; the CLI's
    subprocesses inherit it. A folder given in CNNSPEC_CACHE_DIR (or ``off``) is kept."""
    import os
    import tempfile

    if "CNNSPEC_CACHE_DIR" not in os.environ:
        folder = tempfile.TemporaryDirectory(prefix="cnnspec-test-cases-")
        config._cnnspec_cases = folder            # removed with the config at the end
        os.environ["CNNSPEC_CACHE_DIR"] = folder.name
