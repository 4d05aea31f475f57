"""The ``kdlab`` command line: one subcommand per step of the study.

Each ``kdlab/cli/<group>.py`` module defines ``register(subparsers)``, adding its commands with a
``handler`` default that takes the parsed arguments. Errors that users can cause
(:class:`~kdlab.errors.KdlabError`) are printed as one message without a traceback (exit 2).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from kdlab import __version__
from kdlab.errors import KdlabError

#: Command groups, in the order ``kdlab --help`` lists them.
GROUPS = ("kdlab.cli.codec", "kdlab.cli.synth", "kdlab.cli.data", "kdlab.cli.engine", "kdlab.cli.demo", "kdlab.cli.bench")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kdlab",
        description="Multi-teacher knowledge distillation for compressed-video action recognition.",
    )
    parser.add_argument("--version", action="version", version=f"kdlab {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in GROUPS:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KdlabError as exc:
        print(f"kdlab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `kdlab inspect ... | head`
        return 0
    except KeyboardInterrupt:
        print(f"kdlab {args.command}: interrupted; finished outputs are kept, rerun to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
