"""Statistics for comparing runs: intervals, paired differences, verdicts in words.

Every comparison kdlab states (``results.txt``, ``study.json``, the notebooks, the dashboard)
comes from :func:`compare`, so that all of them say the same thing, with the same interval.

What varies, and how each function accounts for it:

* **Test clips.** Accuracy on ``n`` clips is an estimate: about ``sqrt(p (1 - p) / n)`` of
  binomial error (4 points at n = 120, p = 0.75). Clips of one *group* (UCF-101's ``gXX``: same
  actor and scene; the synthetic set's groups likewise) are not independent, so the bootstrap
  resamples whole groups (:func:`clip_groups`), keeping their clips together, and draws them
  within each class (the test list's share of each class is fixed by its design).
* **Pairing.** Two models scored on the same clips are compared clip by clip: the paired
  bootstrap resamples groups once for both, and McNemar's exact test looks only at the
  *discordant* clips (``b``: A right and B wrong; ``c``: the reverse):
  ``p = min(1, 2 P[Binom(b + c, 1/2) <= min(b, c)])``.
* **Training runs (seeds).** Each seed gives one paired difference ``d_s`` (A and B trained with
  the same seed: same initialisation, data order and augmentation). Over ``S`` seeds:
  ``mean(d) +- t_{S-1} sd(d) / sqrt(S)`` (:func:`seed_t_interval`). But the test clips are shared
  by all seeds, so their sampling error does not average out over seeds, and the t-interval
  misses it. :func:`seed_and_clip_interval` adds it: seeds and clips form a crossed design, whose
  variance components (seeds, clips, seed-by-clip) it estimates by the method of moments, with a
  Welch-Satterthwaite t. :func:`compare` draws its verdict from that interval and reports the
  t-interval and the two-level bootstrap (:func:`two_level_bootstrap`: seeds and groups resampled
  together, which is conservative: it counts the seed-by-clip part about twice) beside it.

**Minimal detectable difference** (:func:`minimal_detectable_difference`): the true difference
that a design detects at ``level`` confidence with probability ``power``, about
``(q_{1-alpha/2} + q_{power}) x SE``: 2.8 standard errors for a normal statistic at 95 % and
80 % power, more for a t-statistic with few degrees of freedom.

Accuracies and differences are in percentage points. Everything here is a pure function of
numpy arrays; reading run folders is :mod:`kdlab.engine.runs`' job.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats as _scipy

from kdlab.data.splits import group_of
from kdlab.engine.records import alignment
from kdlab.errors import KdlabError

LEVEL = 0.95
POWER = 0.8
BOOTSTRAP_SAMPLES = 10_000


@dataclass(frozen=True)
class Resampling:
    """How a bootstrap draws: ``samples`` replicates from ``numpy.random.default_rng(seed)``."""

    samples: int = BOOTSTRAP_SAMPLES
    seed: int = 0

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)


#: The bootstraps' default draws (10 000 replicates, seed 0): every reported interval uses them.
BOOTSTRAP = Resampling()


# --- groups ------------------------------------------------------------------------------------

def clip_groups(video_ids) -> np.ndarray:
    """``(N,)`` group label of each clip: ``"Class/v_Class_g04_c01"`` -> ``"Class/g04"``.

    UCF-101 and the synthetic set name groups ``gXX`` within a class; a clip without one
    (HMDB-51, a plain folder of videos) is its own group (:func:`kdlab.data.splits.group_of`).
    """
    return np.array([group_of(v) for v in video_ids])


def _group_index(groups, n: int) -> tuple[np.ndarray, int]:
    """``(N,)`` integer group of each clip (each clip its own when ``groups`` is None), and the count."""
    if groups is None:
        return np.arange(n), n
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise KdlabError(f"groups: expected one label per clip ({n}), got shape {groups.shape}")
    _, index = np.unique(groups, return_inverse=True)
    return index, int(index.max()) + 1 if n else 0


def _group_strata(strata, index: np.ndarray, count: int) -> np.ndarray:
    """``(G,)`` stratum of each group (that of its first clip); one stratum for all when ``strata`` is None
    or when a stratum has a single group (which a stratified draw could only repeat, hiding its variance)."""
    if strata is None:
        return np.zeros(count, int)
    strata = np.asarray(strata)
    if strata.shape != index.shape:
        raise KdlabError(f"strata: expected one label per clip ({len(index)}), got shape {strata.shape}")
    out = np.empty(count, strata.dtype)
    out[index[::-1]] = strata[::-1]  # the first clip of each group writes last
    _, sizes = np.unique(out, return_counts=True)
    return out if sizes.min() >= 2 else np.zeros(count, int)


def _group_sums(values: np.ndarray, index: np.ndarray, count: int) -> np.ndarray:
    """Sum of ``values (..., N)`` over the clips of each group: ``(..., G)``."""
    out = np.zeros(values.shape[:-1] + (count,))
    np.add.at(out, (..., index), values)
    return out


def _multiplicities(rng: np.random.Generator, samples: int, strata: np.ndarray) -> np.ndarray:
    """``(samples, U)``: how often each of ``U`` units is drawn in each bootstrap replicate.

    ``strata (U,)``: each stratum's units are drawn from that stratum only, as many as it has
    (a stratified bootstrap: a test list's share of each class is fixed by its design, so a
    replicate keeps it).
    """
    units = len(strata)
    draws = np.empty((samples, units), np.int64)
    column = 0
    for stratum in np.unique(strata):
        members = np.flatnonzero(strata == stratum)
        draws[:, column : column + len(members)] = members[rng.integers(0, len(members), size=(samples, len(members)))]
        column += len(members)
    flat = (draws + units * np.arange(samples)[:, None]).ravel()
    return np.bincount(flat, minlength=samples * units).reshape(samples, units).astype(float)


def _percentile(replicates: np.ndarray, level: float) -> tuple[float, float]:
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(replicates, [tail, 100 - tail])
    return float(low), float(high)


# --- intervals of one model ---------------------------------------------------------------------

@dataclass(frozen=True)
class Interval:
    """An estimate with its confidence interval (percentage points) and standard error."""

    estimate: float
    low: float
    high: float
    se: float
    level: float = LEVEL
    method: str = ""
    df: float = math.inf  # degrees of freedom of the t behind the interval (inf: normal or bootstrap)

    def __str__(self) -> str:
        return f"{self.estimate:.1f} [{self.low:.1f}, {self.high:.1f}]"


def accuracy_interval(correct, groups=None, strata=None, level: float = LEVEL, draws: Resampling = BOOTSTRAP) -> Interval:
    """Top-1 accuracy (%) of ``correct (N,)`` (bool: clip right) with a bootstrap interval by group.

    Each replicate draws groups with replacement (within each stratum, e.g. class, when
    ``strata (N,)`` is given) and takes the share of right clips among the clips of the drawn
    groups (a ratio, since groups differ in size). Percentile interval.
    """
    correct = np.asarray(correct, dtype=float)
    index, count = _group_index(groups, len(correct))
    if count == 0:
        raise KdlabError("accuracy_interval: no clips")
    right, size = _group_sums(correct, index, count), np.bincount(index, minlength=count).astype(float)
    w = _multiplicities(draws.rng(), draws.samples, _group_strata(strata, index, count))
    replicates = 100 * (w @ right) / (w @ size)
    low, high = _percentile(replicates, level)
    return Interval(100 * correct.mean(), low, high, float(replicates.std(ddof=1)), level, "bootstrap by group")


def mean_class_accuracy_interval(predicted, labels, num_classes: int | None = None, groups=None, level: float = LEVEL,
                                 draws: Resampling = BOOTSTRAP) -> Interval:
    """Mean over classes of the per-class recall (%), with a bootstrap interval by group.

    ``predicted, labels (N,)`` are class indices. A class absent from a replicate is left out of
    that replicate's mean (as :func:`kdlab.engine.metrics.mean_class_accuracy` leaves out absent classes).
    """
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    num_classes = int(num_classes or labels.max() + 1)
    index, count = _group_index(groups, len(labels))
    onehot = np.eye(num_classes)[labels].T  # (C, N)
    right = _group_sums(onehot * (predicted == labels), index, count)  # (C, G)
    size = _group_sums(onehot, index, count)
    w = _multiplicities(draws.rng(), draws.samples, _group_strata(labels, index, count))

    def mean_recall(right_c, size_c):
        present = size_c > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            recall = np.where(present, right_c / np.where(present, size_c, 1), 0.0)
        return 100 * recall.sum(-1) / present.sum(-1)

    estimate = float(mean_recall(right.sum(1), size.sum(1)))
    replicates = mean_recall(w @ right.T, w @ size.T)
    low, high = _percentile(replicates, level)
    return Interval(estimate, low, high, float(replicates.std(ddof=1)), level, "bootstrap by group")


def seeds_interval(values, level: float = LEVEL) -> Interval:
    """Mean of per-seed values (e.g. top-1 of each seed) with a t-interval (``S - 1`` degrees of freedom)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return Interval(float(values.mean()), math.nan, math.nan, math.nan, level, "one seed: no interval")
    se = float(values.std(ddof=1) / math.sqrt(len(values)))
    half = t_quantile(1 - (1 - level) / 2, len(values) - 1) * se
    mean = float(values.mean())
    return Interval(mean, mean - half, mean + half, se, level, f"t-interval over {len(values)} seeds", len(values) - 1)


# --- paired differences --------------------------------------------------------------------------

def t_quantile(q: float, df: float) -> float:
    """Quantile of Student's t with ``df`` degrees of freedom (normal when ``df`` is infinite)."""
    return float(_scipy.norm.ppf(q) if math.isinf(df) else _scipy.t.ppf(q, df))


def mcnemar_exact(correct_a, correct_b) -> tuple[int, int, float]:
    """McNemar's exact test of two models on the same clips: ``(b, c, p)``.

    ``b``: clips A gets right and B wrong; ``c``: the reverse. Under "no difference" each
    discordant clip is a fair coin: ``p = min(1, 2 sum_{k <= min(b, c)} C(b + c, k) / 2^(b + c))``.
    """
    a, bb = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    b, c = int((a & ~bb).sum()), int((~a & bb).sum())
    n = b + c
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1)) / 2**n if n else 1.0
    return b, c, min(1.0, 2 * tail)


def paired_bootstrap(correct_a, correct_b, groups=None, strata=None, level: float = LEVEL,
                     draws: Resampling = BOOTSTRAP) -> Interval:
    """Difference of top-1 (A - B, points) on the same clips, resampling groups (within ``strata``) once for both."""
    a, b = np.asarray(correct_a, float), np.asarray(correct_b, float)
    if a.shape != b.shape:
        raise KdlabError(f"paired_bootstrap: the two runs scored different numbers of clips ({len(a)}, {len(b)})")
    index, count = _group_index(groups, len(a))
    diff, size = _group_sums(a - b, index, count), np.bincount(index, minlength=count).astype(float)
    w = _multiplicities(draws.rng(), draws.samples, _group_strata(strata, index, count))
    replicates = 100 * (w @ diff) / (w @ size)
    low, high = _percentile(replicates, level)
    return Interval(100 * float((a - b).mean()), low, high, float(replicates.std(ddof=1)), level,
                    "paired bootstrap by group")


def seed_t_interval(differences, level: float = LEVEL) -> Interval:
    """Mean of per-seed paired differences ``d_s`` with its t-interval: ``mean +- t_{S-1} sd / sqrt(S)``."""
    return seeds_interval(differences, level)


def two_level_bootstrap(correct_a, correct_b, groups=None, strata=None, level: float = LEVEL,
                        draws: Resampling = BOOTSTRAP) -> Interval:
    """Mean over seeds of the paired difference (points), resampling seeds and groups.

    ``correct_a, correct_b (S, N)``: row ``s`` of both comes from seed ``s``. Each replicate draws
    ``S`` seeds and ``G`` groups (within ``strata``) with replacement; the groups drawn are the
    same for every seed, because every seed is scored on the same test clips.
    """
    a, b = np.atleast_2d(np.asarray(correct_a, float)), np.atleast_2d(np.asarray(correct_b, float))
    if a.shape != b.shape:
        raise KdlabError(f"two_level_bootstrap: shapes differ ({a.shape}, {b.shape}); pair the runs by seed")
    seeds = a.shape[0]
    index, count = _group_index(groups, a.shape[1])
    diff, size = _group_sums(a - b, index, count), np.bincount(index, minlength=count).astype(float)  # (S, G), (G,)
    rng = draws.rng()
    v = _multiplicities(rng, draws.samples, np.zeros(seeds, int)) / seeds  # (B, S): weight of each seed
    w = _multiplicities(rng, draws.samples, _group_strata(strata, index, count))  # (B, G)
    replicates = 100 * ((v @ diff) * w).sum(1) / (w @ size)
    low, high = _percentile(replicates, level)
    return Interval(100 * float((a - b).mean()), low, high, float(replicates.std(ddof=1)), level,
                    "two-level bootstrap (seeds, then groups)")


def cluster_variance(values, groups=None, strata=None) -> float:
    """Sampling variance of the mean of ``values (N,)`` when whole groups are drawn (within strata).

    The linearised (delta-method) variance of a ratio estimator under cluster sampling with
    replacement, what the bootstrap by group estimates by simulation: with ``z_g = (T_g - m n_g) / N``
    (``T_g`` the group's sum, ``n_g`` its clips, ``m`` the mean),
    ``V = sum_h G_h / (G_h - 1) sum_{g in h} (z_g - mean_h z)^2`` over strata ``h`` of ``G_h`` groups.
    """
    values = np.asarray(values, float)
    index, count = _group_index(groups, len(values))
    totals, sizes = _group_sums(values, index, count), np.bincount(index, minlength=count).astype(float)
    z = (totals - values.mean() * sizes) / len(values)
    group_strata = _group_strata(strata, index, count)
    variance = 0.0
    for stratum in np.unique(group_strata):
        zh = z[group_strata == stratum]
        if len(zh) > 1:
            variance += len(zh) / (len(zh) - 1) * float(((zh - zh.mean()) ** 2).sum())
    return variance


def seed_and_clip_interval(correct_a, correct_b, groups=None, strata=None, level: float = LEVEL) -> Interval:
    """Mean over seeds of the paired difference (points), with an interval for both seeds and test clips.

    ``correct_a, correct_b (S, N)``, row ``s`` from seed ``s``, ``S >= 2``. The seeds are drawn at
    random and so are the test clips (by group), and every seed is scored on the *same* clips: a
    crossed design. With ``x_si`` the difference on clip ``i`` at seed ``s``, the mean ``d`` has

    ``Var(d) = sigma_seed^2 / S + C + I / S``

    where ``sigma_seed^2`` is the spread of the seeds' true differences, ``C`` the clips' shared
    sampling variance and ``I`` the seed-by-clip part (which clips flip from seed to seed). Three
    observable quantities estimate them (method of moments): ``s_d^2``, the variance of the
    per-seed differences (``E = sigma_seed^2 + I``); ``V_1``, the mean over seeds of each seed's
    clip variance (:func:`cluster_variance`; ``E = C + I``); and ``V_S``, the clip variance of the
    seeds' mean (``E = C + I / S``). Hence ``I = (V_1 - V_S) S / (S - 1)`` and

    ``Var(d) = s_d^2 / S + V_S - (V_1 - V_S) / (S - 1)``

    (unbiased; floored, rarely, at the smaller of ``s_d^2 / S`` and ``V_S``). The t-interval over
    seeds alone misses ``C``; resampling seeds and groups together (:func:`two_level_bootstrap`)
    counts ``I`` about twice (measured in the tests). The interval is
    ``d +- t_df SE`` with Welch-Satterthwaite's ``df`` for that combination (``s_d^2`` has ``S - 1``
    degrees of freedom, the clip variances about ``G - 1``): near ``S - 1`` when the per-seed
    differences carry most of the variance, near ``G - 1`` when the shared clips do.
    """
    a, b = np.atleast_2d(np.asarray(correct_a, float)), np.atleast_2d(np.asarray(correct_b, float))
    if a.shape != b.shape:
        raise KdlabError(f"seed_and_clip_interval: shapes differ ({a.shape}, {b.shape}); pair the runs by seed")
    x = 100 * (a - b)
    seeds = x.shape[0]
    if seeds < 2:
        raise KdlabError("seed_and_clip_interval: needs two seeds or more (one seed: paired_bootstrap)")
    per_seed = x.mean(1)
    s2 = float(per_seed.var(ddof=1))
    v1 = float(np.mean([cluster_variance(row, groups, strata) for row in x]))
    vs = cluster_variance(x.mean(0), groups, strata)
    # unbiased as a whole; floored (rarely) at the smaller of its two observable parts
    terms = (s2 / seeds, vs * seeds / (seeds - 1), -v1 / (seeds - 1))
    variance = max(sum(terms), min(s2 / seeds, vs))
    # Welch-Satterthwaite: s_d^2 has S - 1 degrees of freedom, the clip variances about G - 1
    _, count = _group_index(groups, x.shape[1])
    denominator = terms[0] ** 2 / (seeds - 1) + (terms[1] ** 2 + terms[2] ** 2) / max(1, count - 1)
    df = min(variance**2 / denominator, math.inf) if denominator > 0 else math.inf
    se = math.sqrt(variance)
    half = t_quantile(1 - (1 - level) / 2, df) * se
    mean = float(per_seed.mean())
    return Interval(mean, mean - half, mean + half, se, level,
                    f"seeds and test clips (variance components, t with {df:.0f} df)", df)


def minimal_detectable_difference(se: float, df: float = math.inf, level: float = LEVEL, power: float = POWER) -> float:
    """The smallest true difference detected at ``level`` with probability ``power``:
    ``(q_{1-(1-level)/2} + q_{power}) x se``, quantiles of t(``df``) (normal by default: 2.80 x se)."""
    return (t_quantile(1 - (1 - level) / 2, df) + t_quantile(power, df)) * se


# --- one comparison, in words -------------------------------------------------------------------

@dataclass(frozen=True)
class Outcomes:
    """Which test clips a method got right, per seed: what :func:`compare` needs of a method.

    ``correct (S, N)`` bool, row ``s`` from ``seeds[s]``; ``video_ids (N,)`` name the clips (the
    same for every seed); ``predicted``/``labels`` (optional, ``(S, N)`` / ``(N,)``) give class-wise
    accuracy.
    """

    name: str
    correct: np.ndarray
    video_ids: np.ndarray
    seeds: tuple[int, ...] = (0,)
    predicted: np.ndarray | None = None
    labels: np.ndarray | None = None

    @classmethod
    def from_logits(cls, name: str, runs: list[tuple[np.ndarray, np.ndarray, list]], seeds=None) -> Outcomes:
        """From ``[(logits (N, C), labels (N,), video_ids), ...]``, one triple per seed, aligned on the first's ids."""
        if not runs:
            raise KdlabError(f"{name}: no runs to compare")
        ids = np.asarray(runs[0][2]).astype(str)
        predicted = []
        for logits, labels, video_ids in runs:
            if set(np.asarray(video_ids).astype(str).tolist()) != set(ids.tolist()):
                raise KdlabError(f"{name}: its runs scored different test clips; compare runs of one test list")
            predicted.append(np.asarray(logits).argmax(1)[alignment(video_ids, ids)])
        predicted = np.stack(predicted)
        labels = np.asarray(runs[0][1])
        return cls(name, predicted == labels, ids, tuple(seeds if seeds is not None else range(len(runs))),
                   predicted, labels)

    @property
    def strata(self) -> np.ndarray | None:
        """The clips' classes (the bootstrap draws groups within them), when known."""
        return self.labels

    def accuracy(self, level: float = LEVEL) -> Interval:
        """Top-1 (%): one seed, a bootstrap interval by group; several, the mean over seeds with
        :func:`seed_and_clip_interval` (as :func:`compare` treats a difference)."""
        groups = clip_groups(self.video_ids)
        if len(self.seeds) == 1:
            return accuracy_interval(self.correct[0], groups, self.strata, level)
        return seed_and_clip_interval(self.correct, np.zeros_like(self.correct), groups, self.strata, level)

    def mean_class_accuracy(self, level: float = LEVEL) -> Interval:
        """Mean class accuracy (%) of the first seed with its bootstrap interval by group."""
        if self.predicted is None or self.labels is None:
            raise KdlabError(f"{self.name}: no predictions, only right/wrong; build it with Outcomes.from_logits")
        return mean_class_accuracy_interval(self.predicted[0], self.labels, groups=clip_groups(self.video_ids), level=level)


@dataclass(frozen=True)
class Comparison:
    """``a`` against ``b`` on the same test clips: the difference of top-1 (points), its interval, a verdict."""

    a: str
    b: str
    difference: float
    low: float
    high: float
    level: float
    seeds: int
    clips: int
    groups: int
    method: str
    p_value: float  # McNemar's exact test (one seed) or the paired t-test over seeds
    mdd: float  # minimal detectable difference of this design (80 % power)
    per_seed: list[float] = field(default_factory=list)
    intervals: dict = field(default_factory=dict)  # every interval computed, by method

    @property
    def decided(self) -> int:
        """+1: A better; -1: A worse; 0: the interval contains 0 (no difference detected)."""
        return 1 if self.low > 0 else -1 if self.high < 0 else 0

    @property
    def verdict(self) -> str:
        """The comparison in words, e.g. ``"three teachers better than one teacher by 3.1 points [1.2, 5.0]"``."""
        span = f"[{self.low:+.1f}, {self.high:+.1f}]"
        if self.decided > 0:
            return f"{self.a} better than {self.b} by {self.difference:.1f} points {span}"
        if self.decided < 0:
            return f"{self.a} worse than {self.b} by {-self.difference:.1f} points {span}"
        return (f"no difference detected between {self.a} and {self.b}: {self.difference:+.1f} points {span}; "
                f"this design detects {self.mdd:.1f} points or more")

    def to_dict(self) -> dict:
        return {**asdict(self), "verdict": self.verdict, "decided": self.decided}


def compare(a: Outcomes, b: Outcomes, level: float = LEVEL, draws: Resampling = BOOTSTRAP) -> Comparison:
    """Top-1 of ``a`` minus ``b`` on the same clips, paired by seed, with a verdict.

    One seed: the paired bootstrap by group (interval) and McNemar's exact test (p-value).
    Several: the mean per-seed difference with :func:`seed_and_clip_interval` (seeds and test
    clips both random) and its t-test's p-value; the t-interval over seeds alone and the two-level
    bootstrap are reported beside it (``intervals``). The verdict says "better" or "worse" only
    when the interval excludes 0; the minimal detectable difference is that of the same interval.
    """
    common = [s for s in a.seeds if s in b.seeds]
    if not common:
        raise KdlabError(f"{a.name} vs {b.name}: no seed in common ({list(a.seeds)} vs {list(b.seeds)}); pair runs by seed")
    if list(a.video_ids) != list(b.video_ids):
        if set(a.video_ids.tolist()) != set(b.video_ids.tolist()):
            raise KdlabError(f"{a.name} vs {b.name}: scored on different test clips; compare runs of one test list")
        b = Outcomes(b.name, b.correct[:, alignment(b.video_ids, a.video_ids)], a.video_ids, b.seeds)
    strata = a.strata
    ca = a.correct[[a.seeds.index(s) for s in common]]
    cb = b.correct[[b.seeds.index(s) for s in common]]
    groups = clip_groups(a.video_ids)
    n_groups = len(set(groups.tolist()))
    per_seed = (100 * (ca.astype(float) - cb).mean(1)).tolist()
    if len(common) == 1:
        interval = paired_bootstrap(ca[0], cb[0], groups, strata, level, draws)
        _, _, p = mcnemar_exact(ca[0], cb[0])
        intervals = {"paired_bootstrap": asdict(interval)}
    else:
        interval = seed_and_clip_interval(ca, cb, groups, strata, level)
        t = seed_t_interval(per_seed, level)
        boot = two_level_bootstrap(ca, cb, groups, strata, level, draws)
        p = float(2 * _scipy.t.sf(abs(interval.estimate) / interval.se, interval.df)) if interval.se > 0 else (
            1.0 if interval.estimate == 0 else 0.0)
        intervals = {"seed_and_clip": asdict(interval), "seed_t": asdict(t), "two_level_bootstrap": asdict(boot)}
    mdd = minimal_detectable_difference(interval.se, interval.df, level)
    return Comparison(a.name, b.name, interval.estimate, interval.low, interval.high, level, len(common),
                      ca.shape[1], n_groups, interval.method, float(p), float(mdd), per_seed, intervals)
