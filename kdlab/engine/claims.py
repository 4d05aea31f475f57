"""The paper's comparisons, each with its difference, 95 % interval and verdict in words.

A :class:`Claim` names two methods by their run (seed 0: ``mkd_streams``; further seeds:
``mkd_streams_seed1``, ...). :func:`evaluate_claim` reads their test predictions, pairs the
runs by seed and clip, and asks :func:`kdlab.engine.stats.compare` for the verdict. ``kdlab demo``
prints these, ``study.json`` stores them, and the notebooks and the dashboard show the same
dicts, so every face of kdlab states the same finding with the same interval.

The paper's comparisons (:data:`HEADLINE`): several teachers against one, one teacher against
none, and the distilled system (the student fused with the motion and residual teachers) against
the CoViAR-style fusion of the three teachers. Each is evaluated twice: on the last epoch
(``logits``: the run's result, fixed in advance by the schedule) and on the epoch picked on the
validation groups (``logits_best``). Neither looks at the test list to choose.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from kdlab.engine import stats
from kdlab.engine.runs import RunFolder


@dataclass(frozen=True)
class Claim:
    """``a`` against ``b`` (run names at seed 0), in words: ``"three teachers"`` vs ``"one teacher"``."""

    key: str
    title: str
    a: str
    b: str
    a_label: str
    b_label: str
    note: str = ""


HEADLINE: tuple[Claim, ...] = (
    Claim("multi_vs_single", "several teachers vs one (the paper's claim)", "mkd_streams", "kd_single",
          "three teachers", "one teacher",
          "the same student, schedule and offline teachers; the one teacher is the I-frame teacher, one of the three"),
    Claim("single_vs_none", "one teacher vs none", "kd_single", "student_ce", "one teacher", "the student alone"),
    Claim("multi_vs_none", "several teachers vs none", "mkd_streams", "student_ce", "three teachers", "the student alone"),
    Claim("distilled_vs_coviar", "the distilled system vs CoViAR-style fusion", "fusion_mkd_streams", "fusion_teachers",
          "the distilled system", "the teachers' fusion",
          "both fused 2:1:1 with the same motion and residual teachers; one set of teachers (seed 0), so the interval "
          "holds the students' seeds and the test clips, not the teachers' training noise"),
)


def seed_name(base: str, seed: int) -> str:
    """Seed 0 keeps the plain name (``mkd_streams``); others get ``_seed<s>``."""
    return base if seed == 0 else f"{base}_seed{seed}"


def base_name(run: str) -> str:
    """``mkd_streams_seed3`` -> ``mkd_streams``."""
    stem, _, seed = run.rpartition("_seed")
    return stem if stem and seed.isdigit() else run


def seed_of(run: str) -> int:
    stem, _, seed = run.rpartition("_seed")
    return int(seed) if stem and seed.isdigit() else 0


def finished_runs(runs_dir: str | Path, base: str) -> dict[int, str]:
    """``{seed: run name}`` of the finished runs (with predictions) of ``base`` in ``runs_dir``."""
    runs_dir = Path(runs_dir)
    names = sorted(p.name for p in runs_dir.glob(f"{base}_seed*")) + [base] if runs_dir.is_dir() else []
    found = {seed_of(n): n for n in names  # the plain name wins over "_seed0"
             if base_name(n) == base and RunFolder(runs_dir / n).predictions_file.exists() and RunFolder(runs_dir / n).is_complete()}
    return dict(sorted(found.items()))


def finished_seeds(runs_dir: str | Path, base: str) -> list[int]:
    """The seeds of ``base`` whose run has finished in ``runs_dir``."""
    return list(finished_runs(runs_dir, base))


def outcomes(runs_dir: str | Path, base: str, label: str | None = None, which: str = "last",
             seeds: list[int] | None = None) -> stats.Outcomes | None:
    """Right/wrong per test clip of every finished seed of ``base`` (None when none has finished)."""
    found = finished_runs(runs_dir, base)
    seeds = list(found) if seeds is None else [s for s in seeds if s in found]
    if not seeds:
        return None
    runs = []
    for seed in seeds:
        p = RunFolder(Path(runs_dir) / found[seed]).predictions()
        runs.append((p.epoch(which), p.labels, p.video_ids))
    return stats.Outcomes.from_logits(label or base, runs, seeds)


def _replicate(o: stats.Outcomes, seeds: tuple[int, ...]) -> stats.Outcomes:
    """A single fixed system (one seed) compared with every seed of the other side."""
    return stats.Outcomes(o.name, np.repeat(o.correct[:1], len(seeds), 0), o.video_ids, seeds,
                          None if o.predicted is None else np.repeat(o.predicted[:1], len(seeds), 0), o.labels)


def evaluate_claim(runs_dir: str | Path, claim: Claim, which: str = "last") -> dict | None:
    """The claim's comparison as a dict (:meth:`stats.Comparison.to_dict` and the claim's fields), or None
    while either side has no finished run. A side with one run only (a fusion of seed-0 teachers)
    is set against every seed of the other."""
    a = outcomes(runs_dir, claim.a, claim.a_label, which)
    b = outcomes(runs_dir, claim.b, claim.b_label, which)
    if a is None or b is None:
        return None
    if len(a.seeds) == 1 and len(b.seeds) > 1 and a.seeds[0] not in b.seeds[1:]:
        a = _replicate(a, b.seeds)
    elif len(b.seeds) == 1 and len(a.seeds) > 1:
        b = _replicate(b, a.seeds)
    comparison = stats.compare(a, b)
    return {**asdict(claim), **comparison.to_dict(),
            "a_top1": a.accuracy().__dict__, "b_top1": b.accuracy().__dict__}


def evaluate_claims(runs_dir: str | Path, claims: tuple[Claim, ...] = HEADLINE) -> list[dict]:
    """Every claim that has runs, on the last epoch, with the same on the epoch picked on validation (``"best"``)."""
    out = []
    for claim in claims:
        last = evaluate_claim(runs_dir, claim, "last")
        if last is not None:
            out.append({**last, "best": evaluate_claim(runs_dir, claim, "best")})
    return out


def seed_summary(runs_dir: str | Path, bases: list[str], which: str = "last") -> list[dict]:
    """Per method: top-1 of each seed, and the mean with its 95 % interval (:meth:`stats.Outcomes.accuracy`)."""
    rows = []
    for base in bases:
        o = outcomes(runs_dir, base, which=which)
        if o is None:
            continue
        interval = o.accuracy()
        rows.append({"run": base, "seeds": list(o.seeds), "top1_per_seed": (100 * o.correct.mean(1)).tolist(),
                     "top1": interval.estimate, "low": interval.low, "high": interval.high, "method": interval.method})
    return rows
