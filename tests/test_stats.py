"""The statistics module against hand-computed cases and against scipy where scipy has the same statistic."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from kdlab.engine import stats
from kdlab.engine.metrics import mean_class_accuracy
from kdlab.errors import KdlabError


def test_clip_groups_follow_ucf101_names_and_fall_back_to_one_clip_per_group():
    ids = ["ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01", "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c02",
           "Archery/v_Archery_g08_c01", "brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0"]
    assert stats.clip_groups(ids).tolist() == ["ApplyEyeMakeup/g08", "ApplyEyeMakeup/g08", "Archery/g08",
                                               "brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0"]


def test_mcnemar_exact_by_hand():
    # b = 5 (A right, B wrong), c = 0: p = 2 * (1/2)^5
    a = np.array([1, 1, 1, 1, 1, 1, 0], bool)
    b = np.array([0, 0, 0, 0, 0, 1, 0], bool)
    assert stats.mcnemar_exact(a, b) == (5, 0, pytest.approx(2 / 32))
    # equal discordant counts: p = 1; no discordant clip: p = 1
    assert stats.mcnemar_exact([1, 0], [0, 1])[2] == 1.0
    assert stats.mcnemar_exact([1, 1], [1, 1]) == (0, 0, 1.0)
    # b = 2, c = 8: 2 * (C(10,0) + C(10,1) + C(10,2)) / 2^10 = 2 * 56 / 1024
    a = np.array([1] * 2 + [0] * 8 + [1] * 5, bool)
    b = np.array([0] * 2 + [1] * 8 + [1] * 5, bool)
    assert stats.mcnemar_exact(a, b)[2] == pytest.approx(112 / 1024)


@pytest.mark.parametrize("seed", range(5))
def test_mcnemar_exact_equals_scipys_binomial_test(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.random(300) < 0.7, rng.random(300) < 0.6
    nb, nc, p = stats.mcnemar_exact(a, b)
    assert p == pytest.approx(scipy_stats.binomtest(min(nb, nc), nb + nc, 0.5).pvalue, rel=1e-9)


def test_seed_t_interval_by_hand_and_against_scipy():
    # d = (1, 2, 3): mean 2, sd 1, se 1/sqrt(3), t_{0.975, 2} = 4.302653
    interval = stats.seed_t_interval([1.0, 2.0, 3.0])
    half = 4.302653 / math.sqrt(3)
    assert (interval.estimate, interval.low, interval.high) == pytest.approx((2, 2 - half, 2 + half), abs=1e-5)
    d = np.array([0.4, -1.3, 2.2, 0.9, 1.7])
    expected = scipy_stats.ttest_1samp(d, 0).confidence_interval(0.95)
    got = stats.seed_t_interval(d)
    assert (got.low, got.high) == pytest.approx((expected.low, expected.high))


def test_minimal_detectable_difference_is_2_8_standard_errors_for_a_normal_statistic():
    assert stats.minimal_detectable_difference(1.0) == pytest.approx(1.959964 + 0.841621, abs=1e-5)
    # few seeds cost more: t with 2 degrees of freedom
    assert stats.minimal_detectable_difference(1.0, df=2) == pytest.approx(4.302653 + 1.060660, abs=1e-5)


def test_accuracy_interval_agrees_with_scipys_bootstrap_without_groups():
    rng = np.random.default_rng(0)
    correct = rng.random(400) < 0.75
    ours = stats.accuracy_interval(correct, draws=stats.Resampling(20_000))
    theirs = scipy_stats.bootstrap((correct.astype(float) * 100,), np.mean, n_resamples=20_000, method="percentile",
                                   random_state=1).confidence_interval
    assert ours.estimate == pytest.approx(100 * correct.mean())
    assert ours.low == pytest.approx(theirs.low, abs=0.4) and ours.high == pytest.approx(theirs.high, abs=0.4)
    # and with the binomial standard error sqrt(p (1 - p) / n)
    p = correct.mean()
    assert ours.se == pytest.approx(100 * math.sqrt(p * (1 - p) / 400), rel=0.05)


def test_groups_resample_whole_groups():
    # 50 groups of 4 identical clips: the bootstrap is the bootstrap of 50 group means, twice as wide as 200 free clips
    rng = np.random.default_rng(1)
    per_group = rng.random(50) < 0.7
    correct = np.repeat(per_group, 4)
    groups = np.repeat(np.arange(50), 4)
    grouped = stats.accuracy_interval(correct, groups, draws=stats.Resampling(20_000))
    free = stats.accuracy_interval(correct, draws=stats.Resampling(20_000))
    theirs = scipy_stats.bootstrap((per_group.astype(float) * 100,), np.mean, n_resamples=20_000, method="percentile",
                                   random_state=2).confidence_interval
    assert grouped.low == pytest.approx(theirs.low, abs=0.6) and grouped.high == pytest.approx(theirs.high, abs=0.6)
    assert grouped.se == pytest.approx(2 * free.se, rel=0.1)


def test_mean_class_accuracy_interval_estimate_equals_the_metric():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 5, 300)
    predicted = np.where(rng.random(300) < 0.6, labels, rng.integers(0, 5, 300))
    logits = np.eye(5)[predicted]
    interval = stats.mean_class_accuracy_interval(predicted, labels, 5, draws=stats.Resampling(2000))
    assert interval.estimate == pytest.approx(100 * mean_class_accuracy(logits, labels, 5))
    assert interval.low < interval.estimate < interval.high


def test_paired_bootstrap_agrees_with_scipys_paired_bootstrap():
    rng = np.random.default_rng(3)
    a = rng.random(500) < 0.8
    b = np.where(rng.random(500) < 0.85, a, ~a)  # B agrees with A on most clips
    ours = stats.paired_bootstrap(a, b, draws=stats.Resampling(20_000))
    theirs = scipy_stats.bootstrap((a * 100.0, b * 100.0), lambda x, y: np.mean(x - y), paired=True,
                                   n_resamples=20_000, method="percentile", random_state=4).confidence_interval
    assert ours.estimate == pytest.approx(100 * (a.mean() - b.mean()))
    assert ours.low == pytest.approx(theirs.low, abs=0.4) and ours.high == pytest.approx(theirs.high, abs=0.4)
    same = stats.paired_bootstrap(a, a, draws=stats.Resampling(500))
    assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0)


def test_two_level_bootstrap_with_one_seed_is_the_paired_bootstrap_and_adds_seed_spread():
    rng = np.random.default_rng(5)
    groups = np.repeat(np.arange(100), 3)
    a = rng.random((1, 300)) < 0.8
    b = rng.random((1, 300)) < 0.7
    one = stats.two_level_bootstrap(a, b, groups, draws=stats.Resampling(20_000))
    paired = stats.paired_bootstrap(a[0], b[0], groups, draws=stats.Resampling(20_000))
    assert one.se == pytest.approx(paired.se, rel=0.05)
    # five seeds that differ a lot from one another: the seed spread dominates the interval
    a5 = np.stack([rng.random(300) < p for p in (0.6, 0.9, 0.7, 0.95, 0.65)])
    b5 = np.stack([rng.random(300) < 0.7 for _ in range(5)])
    five = stats.two_level_bootstrap(a5, b5, groups, draws=stats.Resampling(20_000))
    per_seed = 100 * (a5.astype(float) - b5).mean(1)
    assert five.estimate == pytest.approx(per_seed.mean())
    assert five.se > per_seed.std(ddof=0) / math.sqrt(5) * 0.9


def _outcomes(name, correct, ids, seeds=(0,)):
    return stats.Outcomes(name, np.atleast_2d(np.asarray(correct, bool)), np.asarray(ids), tuple(seeds))


def test_compare_verdicts_in_words():
    ids = [f"C/v_C_g{g:02d}_c{c:02d}" for g in range(60) for c in range(4)]
    rng = np.random.default_rng(6)
    strong = rng.random(240) < 0.95
    weak = np.where(rng.random(240) < 0.6, strong, False)
    better = stats.compare(_outcomes("three teachers", strong, ids), _outcomes("one teacher", weak, ids))
    assert better.decided == 1 and better.verdict.startswith("three teachers better than one teacher by ")
    assert better.p_value == pytest.approx(stats.mcnemar_exact(strong, weak)[2])
    worse = stats.compare(_outcomes("one teacher", weak, ids), _outcomes("three teachers", strong, ids))
    assert worse.decided == -1 and "worse than" in worse.verdict
    assert worse.difference == pytest.approx(-better.difference)
    tie = stats.compare(_outcomes("A", strong, ids), _outcomes("B", strong, ids))
    assert tie.decided == 0 and tie.verdict.startswith("no difference detected between A and B: +0.0 points")
    assert "detects" in tie.verdict


def test_compare_over_seeds_pairs_by_seed_and_clip():
    ids = [f"C/v_C_g{g:02d}_c01" for g in range(200)]
    rng = np.random.default_rng(7)
    a = rng.random((3, 200)) < 0.8
    b = rng.random((3, 200)) < 0.75
    # B's seeds listed in another order: compare must pair seed with seed
    got = stats.compare(_outcomes("A", a, ids, (0, 1, 2)), _outcomes("B", b[[2, 0, 1]], ids, (2, 0, 1)))
    per_seed = 100 * (a.astype(float) - b).mean(1)
    assert got.per_seed == pytest.approx(per_seed.tolist())
    expected = stats.seed_and_clip_interval(a, b, stats.clip_groups(ids))
    assert (got.low, got.high) == pytest.approx((expected.low, expected.high))
    assert got.p_value == pytest.approx(2 * scipy_stats.t.sf(abs(expected.estimate) / expected.se, expected.df))
    assert set(got.intervals) == {"seed_and_clip", "seed_t", "two_level_bootstrap"}
    assert got.seeds == 3 and got.clips == 200 and got.groups == 200


def _crossed(rng, seeds, groups, per_group, sd_seed, sd_group, sd_cell, effect=0.0):
    """Real-valued differences x_si = effect + seed_s + group_g(i) + e_si (a crossed random-effects model)."""
    seed = rng.normal(0, sd_seed, (seeds, 1))
    group = np.repeat(rng.normal(0, sd_group, groups), per_group)[None]
    return effect + seed + group + rng.normal(0, sd_cell, (seeds, groups * per_group))


@pytest.mark.parametrize("sd_seed, sd_group, sd_cell", [(0.02, 0.1, 0.4), (0.0, 0.0, 0.5), (0.05, 0.0, 0.2)])
def test_seed_and_clip_variance_matches_the_true_variance_of_the_mean(sd_seed, sd_group, sd_cell):
    rng = np.random.default_rng(8)
    seeds, groups, per_group = 4, 150, 2
    labels = np.repeat(np.arange(groups), per_group)
    means, variances, covered = [], [], 0
    for _ in range(400):
        x = _crossed(rng, seeds, groups, per_group, sd_seed, sd_group, sd_cell)
        interval = stats.seed_and_clip_interval(x / 100 + 0.5, np.full_like(x, 0.5), labels)  # differences in points
        means.append(interval.estimate)
        variances.append(interval.se**2)
        covered += interval.low <= 0 <= interval.high
    truth = sd_seed**2 / seeds + sd_group**2 / groups + sd_cell**2 / (seeds * groups * per_group)
    assert np.var(means) == pytest.approx(truth, rel=0.2)
    assert np.mean(variances) == pytest.approx(truth, rel=0.15)
    assert 0.91 <= covered / 400 <= 0.995  # at least nominal; conservative by up to 4 points with few seeds


def test_the_two_level_bootstrap_overstates_the_seed_by_clip_part():
    # only seed-by-clip noise: the true variance of the mean is sd^2 / (S N); resampling seeds and
    # groups together counts it about twice, the variance components about once
    rng = np.random.default_rng(9)
    truth = 0.5**2 / (4 * 300)
    ours, boot = [], []
    for i in range(100):
        x = _crossed(rng, 4, 300, 1, 0.0, 0.0, 0.5)
        a, b = x / 100 + 0.5, np.full_like(x, 0.5)
        ours.append(stats.seed_and_clip_interval(a, b).se ** 2)
        boot.append(stats.two_level_bootstrap(a, b, draws=stats.Resampling(500, i)).se ** 2)
    assert np.mean(ours) == pytest.approx(truth, rel=0.2)
    assert np.mean(boot) == pytest.approx(2 * truth, rel=0.25)


def test_compare_refuses_runs_of_different_clips_or_seeds():
    with pytest.raises(KdlabError, match="different test clips"):
        stats.compare(_outcomes("A", [1, 0], ["a", "b"]), _outcomes("B", [1, 0], ["a", "c"]))
    with pytest.raises(KdlabError, match="no seed in common"):
        stats.compare(_outcomes("A", [1, 0], ["a", "b"], (0,)), _outcomes("B", [1, 0], ["a", "b"], (1,)))


def test_outcomes_from_logits_aligns_clips_by_id():
    labels = np.array([0, 1, 2])
    logits0 = np.eye(3)[[0, 1, 0]]
    logits1 = np.eye(3)[[2, 1, 0]][[2, 0, 1]]  # seed 1 listed its clips as c, a, b
    out = stats.Outcomes.from_logits("m", [(logits0, labels, ["a", "b", "c"]), (logits1, labels[[2, 0, 1]], ["c", "a", "b"])])
    assert out.correct.tolist() == [[True, True, False], [False, True, False]]
    assert out.accuracy().estimate == pytest.approx(100 * 3 / 6)


def test_strata_keep_each_class_share_and_need_two_groups_each():
    # two classes of 20 groups: one always right, one always wrong. Drawing groups within classes keeps
    # the accuracy at 50 % exactly; drawing across classes would not.
    correct = np.repeat([True, False], 40)
    groups = np.repeat(np.arange(40), 2)
    labels = np.repeat([0, 1], 40)
    stratified = stats.accuracy_interval(correct, groups, labels, draws=stats.Resampling(2000))
    assert (stratified.low, stratified.high) == (50.0, 50.0)
    assert stats.accuracy_interval(correct, groups, draws=stats.Resampling(2000)).se > 5
    # one group per class: a stratified draw would only repeat it, so the bootstrap does not stratify
    single = stats.accuracy_interval([True, False, True, False], [0, 1, 2, 3], [0, 1, 2, 3], draws=stats.Resampling(2000))
    assert single.se > 10
