"""Reports: the JSON of ``docs/report-schema.md``, and (see the modules here) the forms people and CI read."""
from .schema import build_report, environment, verdict, write_atomic

__all__ = ["build_report", "environment", "verdict", "write_atomic"]
