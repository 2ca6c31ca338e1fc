"""Reports: the JSON of DESIGN.md §5, and (see the modules here) the forms people and CI read."""
from .schema import build_report, environment, verdict, write_atomic

__all__ = ["build_report", "environment", "verdict", "write_atomic"]
