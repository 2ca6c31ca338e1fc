"""Errors a user can cause. The command line prints them as one line and exits with code 2."""
from __future__ import annotations


class UsageError(Exception):
    """Bad arguments or input: the message names the argument, the value, the rule and the fix."""

    exit_code = 2


class OutputError(UsageError):
    """An output that cannot be written (a read-only or full disk, a path under a file).

    Raised before any work where it can be found up front, and for a write that fails on the way
    (ENOSPC); the previous output is left as it was.
    """
