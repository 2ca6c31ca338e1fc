"""Shared test set-up: the hypothesis profiles of :mod:`cnnspec.strategies`.

The suite runs under ``cnnspec-ci`` (fast, derandomized) unless hypothesis's own option picks
another: ``python3 -m pytest --hypothesis-profile cnnspec-thorough`` (``--hypothesis-seed`` too).
"""
from hypothesis import settings

import cnnspec.strategies  # noqa: F401 - registers cnnspec-ci and cnnspec-thorough

settings.load_profile("cnnspec-ci")  # hypothesis's pytest plugin loads --hypothesis-profile after this
