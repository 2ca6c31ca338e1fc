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
from .spec.convolution import SpecError

# Subcommands in the order `--help` lists them; a module that is not there is left out.
COMMANDS = ["derive", "prove", "arch", "validate", "matrix", "train", "verify", "report", "vectors"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse prints usage too; keep it short)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cnnspec", description="The mathematics of CNNs, stated exactly and checked.")
    parser.add_argument("--version", action="version", version=f"cnnspec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f"cnnspec.commands.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"cnnspec.commands.{name}":
                continue
            raise
        p = mod.add_parser(sub)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except (UsageError, SpecError) as e:
        print(f"cnnspec {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"cnnspec {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
