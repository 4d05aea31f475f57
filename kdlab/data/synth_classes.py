"""The synthetic benchmark's classes: three factors, one per stream, and the table that combines them.

Appearance (the actor's colour, seen in I-frames), motion (a pattern, seen in the motion vectors)
and a residual effect (flicker, sparkle, ripple, wobble, seen in the residual) each take a few
levels; :func:`class_table` picks ``N`` combinations so that any two classes differ in at least two
factors, which is what makes every single stream insufficient on its own. See
:mod:`kdlab.data.synthetic` and ``data/README.md`` for the whole design.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections import Counter
from dataclasses import dataclass

from kdlab.errors import ConfigError

MAX_CLASSES = 24  # beyond this the levels run out and classes repeat two factors

_HUES = (("Red", 0.0), ("Blue", 222.0), ("Green", 125.0), ("Yellow", 52.0),
         ("Purple", 282.0), ("Cyan", 185.0), ("Orange", 27.0), ("Pink", 325.0))


@dataclass(frozen=True)
class Appearance:
    """An appearance level: the actor's colour (hue in degrees, saturation, value)."""

    name: str
    hue: float
    saturation: float
    value: float


#: Appearance levels in the order the class table takes them (I-frame evidence): eight vivid
#: hues, then the same hues pale. Colour, not texture or shape: the actor's texture is a grey
#: pattern on top of its colour, so motion-compensation errors in the residual come out grey, and
#: motion vectors carry no colour at all (texture and shape are nuisances, drawn per group).
APPEARANCES: tuple[Appearance, ...] = tuple(
    [Appearance(name, hue, 0.85, 0.8) for name, hue in _HUES]
    + [Appearance("Pale" + name, hue, 0.38, 0.95) for name, hue in _HUES]
)
#: Motion levels (motion-vector evidence): translations first (Rise/Fall differ only in sign); rotation
#: and zoom last, because MPEG-4's one translation per macroblock describes them poorly and what it
#: misses shows in the residual. None depends on left/right, so horizontal flips keep labels.
MOTIONS: tuple[str, ...] = ("Rise", "Fall", "Slide", "Swing", "Bounce", "Spin", "Orbit", "Grow", "Shrink")
#: Residual levels (residual evidence): what changes inside the silhouette.
RESIDUALS: tuple[str, ...] = ("Steady", "Flicker", "Sparkle", "Ripple", "Wobble")
#: Levels per factor as a share of the number of classes (the ceiling of a stream that sees only its factor).
LEVEL_SHARE: dict[str, float] = {"appearance": 0.8, "motion": 0.6, "residual": 0.5}


@dataclass(frozen=True)
class ClassDef:
    """One class: its 0-based label, name and the three factor levels that define it."""

    label: int
    name: str
    appearance: str
    motion: str
    residual: str


def factor_levels(num_classes: int) -> dict[str, int]:
    """How many levels of each factor a design of ``num_classes`` classes uses (:data:`LEVEL_SHARE`)."""
    available = {"appearance": len(APPEARANCES), "motion": len(MOTIONS), "residual": len(RESIDUALS)}
    return {k: min(available[k], max(2, round(share * num_classes))) for k, share in LEVEL_SHARE.items()}


def class_table(num_classes: int) -> list[ClassDef]:
    """The ``num_classes`` factor combinations of the design (deterministic).

    Every level of :func:`factor_levels` is used, each about equally often, and any two classes
    differ in at least two factors, so that any two streams together can tell every class apart
    (a depth-first search; where no such table exists, a greedy one that may repeat two factors).
    """
    levels = factor_levels(num_classes)
    chosen = _combinations(num_classes, (levels["appearance"], levels["motion"], levels["residual"]))
    table = []
    for label, (a, m, r) in enumerate(chosen):
        name = APPEARANCES[a].name + MOTIONS[m] + RESIDUALS[r]
        table.append(ClassDef(label, name, APPEARANCES[a].name, MOTIONS[m], RESIDUALS[r]))
    return table


@functools.lru_cache(maxsize=None)
def _combinations(n: int, sizes: tuple[int, int, int]) -> tuple[tuple[int, ...], ...]:
    return tuple(_search_table(n, sizes) or _greedy_table(n, sizes))


def _distance(c: tuple, d: tuple) -> int:
    return sum(x != y for x, y in zip(c, d))


def _search_table(n: int, sizes: tuple[int, ...], budget: int = 20000) -> list[tuple[int, ...]] | None:
    """``n`` level triples, pairwise distance >= 2, each level used ``<= ceil(n / levels)`` times and at least once."""
    candidates = list(itertools.product(*(range(s) for s in sizes)))
    caps = [math.ceil(n / s) for s in sizes]
    counts = [[0] * s for s in sizes]
    chosen: list[tuple[int, ...]] = []
    steps = 0

    def extend(start: int) -> bool:
        nonlocal steps
        if len(chosen) == n:
            return True
        steps += 1
        if steps > budget:
            return False
        for index in range(start, len(candidates)):
            c = candidates[index]
            if any(counts[i][c[i]] >= caps[i] for i in range(3)) or any(_distance(c, d) < 2 for d in chosen):
                continue
            chosen.append(c)
            for i in range(3):
                counts[i][c[i]] += 1
            left = n - len(chosen)
            if all(row.count(0) <= left for row in counts) and extend(index + 1):
                return True
            chosen.pop()
            for i in range(3):
                counts[i][c[i]] -= 1
        return False

    return chosen if extend(0) else None


def _greedy_table(n: int, sizes: tuple[int, ...]) -> list[tuple[int, ...]]:
    candidates = list(itertools.product(*(range(s) for s in sizes)))
    if n > len(candidates):
        raise ConfigError(f"classes={n} is more than the {len(candidates)} factor combinations")
    chosen: list[tuple[int, ...]] = []
    counts = [Counter(), Counter(), Counter()]
    for _ in range(n):
        free = [c for c in candidates if c not in chosen]
        best = min(free, key=lambda c: (-min([_distance(c, d) for d in chosen] + [2]),
                                        sum(counts[i][c[i]] for i in range(3))))
        chosen.append(best)
        for i in range(3):
            counts[i][best[i]] += 1
    return chosen
