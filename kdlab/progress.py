"""Progress bars: tqdm in terminals and notebooks, silent under CI (``CI`` set) or ``KDLAB_QUIET=1``."""

from __future__ import annotations

import os

from tqdm.auto import tqdm


def quiet() -> bool:
    """Whether progress bars are off for this process."""
    return bool(os.environ.get("CI") or os.environ.get("KDLAB_QUIET"))


def bar(iterable=None, enabled: bool = True, **options):
    """A tqdm bar, disabled when ``enabled`` is False or :func:`quiet` says so."""
    return tqdm(iterable, disable=not enabled or quiet(), **options)
