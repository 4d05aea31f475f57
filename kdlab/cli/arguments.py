"""Argument types shared by the subcommands: numbers checked by argparse (one line, exit status 2)."""

from __future__ import annotations

import argparse


def bounded_int(low: int, high: int | None = None):
    """An argparse ``type``: an integer in ``[low, high]`` (no upper bound when ``high`` is None)."""
    span = f"from {low} to {high}" if high is not None else f">= {low}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer {span}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected an integer {span}, got {value}")
        return value

    parse.__name__ = f"integer {span}"
    return parse
