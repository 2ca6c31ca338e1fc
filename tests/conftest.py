"""Shared test set-up: hypothesis profiles (fast for CI, thorough on demand).

Select with ``CNNSPEC_PROFILE=thorough python -m pytest``; the default is ``ci``.
"""
import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=1000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("CNNSPEC_PROFILE", "ci"))
