"""Reports: ``report.json`` (its schema ships here), and the forms people and CI read: ``index.html``,
``junit.xml``, ``summary.md`` and the closing lines on the terminal (see the modules here)."""
from .schema import build_report, environment, exit_code, summary, validate, verdict, write_atomic

__all__ = ["build_report", "environment", "exit_code", "summary", "validate", "verdict", "write_atomic"]
