"""Errors a user can cause. The command line prints them as one line and exits with code 2."""
from __future__ import annotations

import contextlib
from typing import Iterator


class UsageError(Exception):
    """Bad arguments or input: the message names the argument, the value, the rule and the fix.

    Library code names the argument as the caller wrote it (``argument="spec_name"``); the command
    layer renames it to the option its user typed (:func:`argument_names`), so no library message names a
    command-line flag it does not own.
    """

    exit_code = 2
    argument: str | None = None

    def __init__(self, message: str, *, argument: str | None = None):
        super().__init__(message)
        self.detail, self.argument = message, argument

    # A subclass that also derives from a built-in exception (``class E(ValueError, UsageError)``)
    # may be built by the built-in's ``__init__``: then the message is ``args[0]``, no argument.
    @property
    def detail(self) -> str:
        return self.__dict__.get("detail", str(self.args[0]) if self.args else "")

    @detail.setter
    def detail(self, value: str) -> None:
        self.__dict__["detail"] = value

    def __str__(self) -> str:
        return f"{self.argument}: {self.detail}" if self.argument else self.detail

    def __reduce__(self):  # picklable with its keyword
        return (_rebuild, (self.detail, self.argument))


def _rebuild(detail: str, argument: str | None) -> UsageError:
    return UsageError(detail, argument=argument)


@contextlib.contextmanager
def argument_names(**names: str) -> Iterator[None]:
    """Rename library argument names to command-line options in the errors raised inside the block.

    >>> try:
    ...     with argument_names(spec_name="--spec"):
    ...         raise UsageError("'lenet9' is not a known architecture", argument="spec_name")
    ... except UsageError as e:
    ...     print(e)
    --spec: 'lenet9' is not a known architecture
    """
    try:
        yield
    except UsageError as e:
        if e.argument in names:
            raise UsageError(e.detail, argument=names[e.argument]) from None
        raise

class OutputError(UsageError):
    """An output that cannot be written (a read-only or full disk, a path under a file).

    Raised before any work where it can be found up front, and for a write that fails on the way
    (ENOSPC); the previous output is left as it was.
    """
