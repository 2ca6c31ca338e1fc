"""Errors a user can cause. The command line prints them as one line and exits with code 2."""
from __future__ import annotations


class UsageError(Exception):
    """Bad arguments or input: the message names the argument, the value, the rule and the fix."""

    exit_code = 2
