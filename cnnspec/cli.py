"""The ``cnnspec`` command (contract: ``docs/cli.md``).

Each subcommand lives in ``cnnspec/commands/<name>.py`` with ``add_parser(subparsers)`` and
``run(args) -> int``. Exit codes: 0 every check holds, 1 a check failed, 2 usage or input error.
User errors are one line on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from ._version import __version__
from .errors import UsageError

# Subcommands in the order `--help` lists them; a module that is not there is left out.
COMMANDS = ["derive", "prove", "arch", "validate", "matrix", "train", "verify", "report", "vectors"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse prints usage too; keep it short)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``cnnspec`` parser. With ``command`` (one of :data:`COMMANDS`) only that subcommand's
    module is imported and its options defined; the others are named without options, so a typo
    still lists every command. Each module imports what its command needs (``derive``: sympy,
    scipy): ``cnnspec validate`` starts without paying for the others."""
    parser = _Parser(prog="cnnspec", description="The mathematics of CNNs, stated exactly and checked.")
    parser.add_argument("--version", action="version", version=f"cnnspec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        if command in COMMANDS and name != command:
            sub.add_parser(name)
            continue
        try:
            mod = importlib.import_module(f"cnnspec.commands.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"cnnspec.commands.{name}":
                continue
            raise
        p = mod.add_parser(sub)
        p.set_defaults(_run=mod.run)
    return parser


def _command(argv: list[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is not an option), if any."""
    return next((a for a in argv if not a.startswith("-")), None)


def _usage_error(e: Exception) -> bool:
    """A user's error: :class:`UsageError`, or the spec's ``SpecError`` (a geometry that breaks a
    rule). The spec module is not imported to ask: if it is not loaded, nothing raised its error."""
    spec = sys.modules.get("cnnspec.spec.convolution")
    return isinstance(e, UsageError) or (spec is not None and isinstance(e, spec.SpecError))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_command(argv)).parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print(f"cnnspec {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:
        if not _usage_error(e):
            raise
        print(f"cnnspec {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
