# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · How to combine teachers, and what matters
#
# *kdlab book, notebook 5 of 6* · previous: [04 · How much smaller, how much cheaper](04_compression.ipynb) ·
# next: [06 · Real datasets and GPUs](06_real_datasets_and_gpus.ipynb)
#
# With several teachers the student must decide how much to trust each one, clip by clip. The literature
# offers many rules; this notebook shows that most of them are one formula with different weights, proves
# that two of them are the same method, and measures what each choice (the rule, the temperature, the KD
# weight, which teachers) changes, over seeds, with the confounds named.
#
# **You will learn to**
# * write every logit-based multi-teacher loss as a weighted sum of per-teacher KD terms, and compute the
#   weights of EBKD and CA-MKD by hand;
# * prove that "the mean of the KD losses" and "KD to the mean soft target" have the same gradient;
# * read an ablation table: which comparisons are like for like, and which differ in more than the named factor;
# * read accuracy against T, the KD weight and the teachers as curves with error bars, and know how small a
#   difference the design can detect.
#
# **Prerequisites**: [notebook 03](03_single_vs_multi_teacher.ipynb) (the KD loss, verdicts from intervals).
# **Run time** on a 2-core CPU: about 30 s reusing `make study`'s runs (without them it trains about 50 small
# runs, about 11 min, as `make study` does); SMOKE mode about 25 s (a handful of variants, one seed).
#
# | loss | teacher weights $w_k$ per clip | labels? |
# |---|---|---|
# | `avg_kd` (AVER) | equal: $1/K$ | no |
# | `kd_to_avg` | KD to the mean of the teachers' soft targets: the **same gradient** as `avg_kd` (exercise 1), not a different method | no |
# | `ebkd` | entropy: a confident (low-entropy) teacher weighs more (Kwon et al. 2020) | no |
# | `camkd` | confidence: a teacher with low cross-entropy on the label weighs more (Zhang et al. 2022); here on logits, offline, and separately online with its feature term (labelled) | yes |
# | `aekd` | one weight per teacher and batch, from a min-norm problem on the teachers' gradients (Du et al. 2020) | no |
# | `dkd` | not a weighting: each teacher's KD split into a target-class part and a non-target part, reweighted (Zhao et al. 2022), warmed up over the first twelfth of the run as in mdistiller | yes |
#
# Every variant is trained over seeds and compared with its reference, `mkd_streams` (the mean of the three
# stream teachers' KD losses, T = 4, KD weight 1, offline teachers), by `kdlab.engine.stats`.

# %% tags=["parameters"]
import os

SMOKE = os.environ.get("KDLAB_SMOKE", "0") == "1"
STATIC = SMOKE or os.environ.get("KDLAB_STATIC", "0") == "1"  # no live kernel (tests, the book): sliders are Plotly's

# %%
import numpy as np
import torch
import torch.nn.functional as F

from kdlab.engine.claims import evaluate_claims, outcomes
from kdlab.engine.runs import RunFolder
from kdlab.engine.study import ABLATIONS, FULL_SEEDS, ablation_claims, ablation_steps, demo_steps, run_steps, workspace
from kdlab.figures import (
    class_distributions_figure,
    differences_figure,
    error_bars_figure,
    experiment_table_figure,
    interactive_figure,
    teacher_weights_figure,
)
from kdlab.losses import avg_kd, confidence_weights, entropy_weights, kd_to_avg, weighted_kd

space = workspace(smoke=SMOKE)
teachers = [s for s in demo_steps((0,)) if s.group == "teachers"]
if SMOKE:
    variants = tuple(v for v in ABLATIONS if (v.factor, v.value) in {("aggregation", "avg_kd"), ("aggregation", "ebkd"),
                                                                     ("aggregation", "dkd"), ("temperature", "2")})
    seeds = (0,)
else:
    variants, seeds = ABLATIONS, FULL_SEEDS
claims = ablation_claims(variants)
log = print if not STATIC else (lambda message: None)  # a live notebook shows the study's progress; the book does not
results = run_steps(space, [s.name for s in teachers + ablation_steps(seeds, variants)], log=log, claims=claims)

# %% [markdown]
# ## 1. One formula, different weights
#
# With $K$ teachers, `avg_kd`, EBKD, CA-MKD and AE-KD all train on
# $\sum_k w_k\,\mathrm{KD}(z_s, z_k)$, with weights $w_k \ge 0$ that sum to one per clip; they differ only in
# how the weights are chosen. On the test clips, from the stored teacher logits: EBKD trusts low-entropy
# teachers, CA-MKD the teachers that are right about the label. A uniform average would put every bar at 1/3.

# %%
preds = RunFolder(space.runs / "mkd_streams").predictions()
logits = torch.from_numpy(preds.teacher_logits).double()  # (K, N, C)
labels = torch.from_numpy(preds.labels)
names = preds.names
classes = [str(c) for c in preds.classes]
weights = {
    "EBKD (entropy)": entropy_weights(logits).numpy(),
    "CA-MKD (confidence)": confidence_weights(logits, labels).numpy(),
}
teacher_weights_figure(weights, names)

# %% [markdown]
# ### Exercise 1
# Compute EBKD's and CA-MKD's weights yourself and check them against `kdlab.losses`:
# * EBKD: $H_k$ the entropy of teacher $k$'s softmax at T = 1; $w_k = (1 - H_k / \sum_j H_j) / (K - 1)$;
# * CA-MKD: $\mathrm{CE}_k$ teacher $k$'s cross-entropy on the label; $w_k = (1 - \mathrm{softmax}_k(\mathrm{CE})_k) / (K - 1)$.

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# Solution. Both give each clip K weights that sum to one; a teacher that is sure (EBKD) or right (CA-MKD) gets more.
K = len(logits)
p = F.softmax(logits, dim=-1)
entropy = -(p * p.clamp_min(1e-30).log()).sum(-1)  # (K, N)
ebkd_by_hand = (1 - entropy / entropy.sum(0)) / (K - 1)
ce = torch.stack([F.cross_entropy(z, labels, reduction="none") for z in logits])  # (K, N)
camkd_by_hand = (1 - F.softmax(ce, dim=0)) / (K - 1)
assert torch.allclose(ebkd_by_hand, entropy_weights(logits)) and torch.allclose(camkd_by_hand, confidence_weights(logits, labels))
print("mean weight per teacher, EBKD:", np.round(ebkd_by_hand.mean(1).numpy(), 3), " CA-MKD:", np.round(camkd_by_hand.mean(1).numpy(), 3))

# %% [markdown]
# ## 2. Two names, one method
#
# `avg_kd` averages the $K$ KD losses; `kd_to_avg` first averages the teachers' soft targets $\bar p = \frac1K\sum_k p_k$
# and takes one KD loss to it. With $q$ the student's soft targets, for every clip:
#
# $$\frac1K \sum_k \mathrm{KL}(p_k \,\|\, q) = \mathrm{KL}(\bar p \,\|\, q) + \Big[H(\bar p) - \frac1K\sum_k H(p_k)\Big]$$
#
# The bracket (the teachers' Jensen-Shannon divergence) does not involve the student, so both losses have the
# **same gradient** with respect to the student's logits. Their values differ; their training does not: with the
# same seed, in exact arithmetic, they would follow the same path. In floating point the two sums round
# differently, and over hundreds of steps those last-digit differences grow into a different run, about as
# different as another seed. The ablation below keeps "KD to the mean soft target" as a measure of that noise
# floor: whatever difference it shows is noise by construction.
#
# ### Exercise 2
# Check the identity on the stored logits (the three-teacher student and its three teachers, T = 4):
# the two losses differ by $T^2$ times the mean bracket, and their gradients agree.

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# Solution. KL(p_k || q) = -H(p_k) - sum p_k log q; averaging over k turns sum p_k log q into sum p_bar log q.
T = 4.0
z_s = torch.from_numpy(preds.logits).double()  # the trained student's test logits, same clips as the teachers'
p_k = F.softmax(logits / T, dim=-1)
p_bar = p_k.mean(0)


def H(p):
    return -(p * p.clamp_min(1e-30).log()).sum(-1)


bracket = (H(p_bar) - H(p_k).mean(0)).mean()
assert torch.allclose(avg_kd(z_s, logits, T) - kd_to_avg(z_s, logits, T), T**2 * bracket)
z1, z2 = z_s.clone().requires_grad_(True), z_s.clone().requires_grad_(True)
(g1,) = torch.autograd.grad(avg_kd(z1, logits, T), z1)
(g2,) = torch.autograd.grad(kd_to_avg(z2, logits, T), z2)
assert torch.allclose(g1, g2)
print(f"avg_kd {avg_kd(z_s, logits, T).item():.4f} = kd_to_avg {kd_to_avg(z_s, logits, T).item():.4f} "
      f"+ T^2 x JS {T**2 * bracket.item():.4f}; gradients equal to {float((g1 - g2).abs().max()):.1e}")

# %% [markdown]
# **Try this.** Any weighting pulls the student towards one mixed target, $m = \sum_k w_k\,p_k$ (the same
# identity with weights). Step through the clips where the I-frame teacher is wrong and another teacher right,
# and compare the targets that the mean, EBKD and CA-MKD build from the three teachers at T = 4.

# %%
right = (logits.argmax(-1) == labels).numpy()
clips = np.flatnonzero(~right[0] & right[1:].any(0))[:8]
clips = clips if len(clips) else np.arange(min(4, len(labels)))
mixes = {"mean": torch.full_like(entropy_weights(logits), 1 / len(logits)), "EBKD": entropy_weights(logits),
         "CA-MKD": confidence_weights(logits, labels)}


def targets_for(clip):
    targets = {n: F.softmax(logits[k, clip] / 4.0, dim=-1).numpy() for k, n in enumerate(names)}
    for rule, w in mixes.items():
        targets[f"target: {rule}"] = (w[:, clip, None] * F.softmax(logits[:, clip] / 4.0, dim=-1)).sum(0).numpy()
    return class_distributions_figure(targets, classes, int(labels[clip]),
                                      f"clip {clip}: the teachers' soft targets (T = 4) and the mixed targets")


interactive_figure(targets_for, {"clip": [int(c) for c in clips]}, value={"clip": int(clips[0])}, static=STATIC)

# %% [markdown]
# ## 3. Every variant against its reference, with its confounds
#
# Paired by seed and test clip; the interval is the 95 % interval of the difference of top-1. A comparison
# isolates its factor only when everything else is equal. Most are like for like (offline teachers, logits
# only, the same schedule and seeds); three are not, and the table says how.

# %%
CONFOUNDS = {
    "aggregation_kd_to_avg": "same gradient as the reference: a difference is noise by construction",
    "aggregation_dkd": "another loss form (target and non-target parts, beta 8) warmed up over 1 of 12 epochs "
                       "(mdistiller: 20 of 240)",
    "aggregation_camkd_online": "not like for like: teachers run online on the student's augmented view, "
                                "plus a feature term of weight 50",
    "capacity_3_depths": "against one I-frame teacher (kd_single), not against the three streams",
}
rows = [{"variant": c["title"], "against": c["b_label"], "difference": round(c["difference"], 1),
         "interval": f"[{c['low']:+.1f}, {c['high']:+.1f}]", "detectable": round(c["mdd"], 1), "seeds": c["seeds"],
         "confounds": CONFOUNDS.get(c["key"], "none: offline, logits only, same schedule")}
        for c in results["claims"]]
experiment_table_figure(rows, columns=["variant", "against", "difference", "interval", "detectable", "seeds", "confounds"],
                        height=60 + 80 * len(rows))

# %%
differences_figure(results["claims"], title="each variant minus its reference (points), 95 % interval")

# %% [markdown]
# ## 4. Accuracy against the temperature, the KD weight and the teachers
#
# Each point is the mean over the same seeds with its 95 % interval (seeds and test clips); the reference
# (T = 4, KD weight 1, the three teachers) is one point of every curve. Overlapping bars do not prove two
# settings equal, and separate bars are not the paired test: the table above is the test.

# %%
def point(run, x):
    o = outcomes(space.runs, run, seeds=list(seeds))
    if o is None:
        return {"x": x, "top1": None}
    interval = o.accuracy()
    return {"x": x, "top1": interval.estimate, "low": interval.low, "high": interval.high, "label": run}


def factor(name):
    return [v for v in ABLATIONS if v.factor == name]  # runs not trained (SMOKE mode) are left out of the figure


error_bars_figure({"temperature": [point(v.name, float(v.value)) for v in factor("temperature")]},
                  "temperature T", log_x=True, title="test top-1 against T")

# %%
error_bars_figure({"KD weight": [point(v.name, float(v.value)) for v in factor("kd_weight")]},
                  "KD weight (cross-entropy weight 1)", log_x=True, title="test top-1 against the KD weight")

# %%
subsets = sorted(factor("teachers"), key=lambda v: (v.value.count("+"), v.value))
error_bars_figure({"teachers": [point(v.name, v.value) for v in subsets]}, "teachers (I-frame, motion, residual)",
                  title="test top-1 against the teachers, from one to three")

# %% [markdown]
# ### Exercise 3
# How many seeds would this design need to detect a difference of 1 point between an aggregation and the
# reference? Use the minimal detectable difference (`mdd`) of "KD to the mean soft target": it shrinks about
# like $1/\sqrt{\text{seeds}}$ while the seed-to-seed spread dominates.

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# Solution. mdd ~ c / sqrt(n): n_needed ~ n * (mdd / 1 point)^2. The test clips' share of the variance does not
# shrink with seeds, so this is a lower bound.
claim = next((c for c in results["claims"] if c["key"] == "aggregation_kd_to_avg"), results["claims"][0])
needed = int(np.ceil(claim["seeds"] * (claim["mdd"] / 1.0) ** 2))
print(f"{claim['title']}: {claim['seeds']} seed(s) detect {claim['mdd']:.1f} points; about {needed} seeds for 1 point")

# %% [markdown]
# ### Exercise 4
# With fixed weights $w = (0.5, 0.25, 0.25)$ (`weighted_kd`), which target does the student move towards?
# Check that its gradient equals the one of KD to $m = \sum_k w_k p_k$.

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# Solution. The same identity with weights: sum_k w_k KL(p_k || q) = KL(m || q) + const.
w = torch.tensor([0.5, 0.25, 0.25], dtype=torch.float64)
m = (w[:, None, None] * F.softmax(logits / T, dim=-1)).sum(0)
z1, z2 = z_s.clone().requires_grad_(True), z_s.clone().requires_grad_(True)
(g1,) = torch.autograd.grad(weighted_kd(z1, logits, w, T), z1)
(g2,) = torch.autograd.grad(T**2 * (m * (m.clamp_min(1e-30).log() - F.log_softmax(z2 / T, -1))).sum(-1).mean(), z2)
assert torch.allclose(g1, g2)
print("weighted KD pulls the student towards m = sum_k w_k p_k: gradients equal")

# %% [markdown]
# ## 5. Newer methods on the same bench: learned fusion, PKD, MMKD
#
# Three later lines of work act on what this notebook studies (issue 17):
#
# * **Learned fusion** (WISE, Soufleri et al. 2024): instead of CoViAR's fixed 2:1:1, each stream's logits are
#   calibrated by a temperature $\tau_k$ and the streams' probabilities mixed with weights $w_k$ (summing to 1),
#   $p(c\mid x) = \sum_k w_k\,\mathrm{softmax}(z_k/\tau_k)_c$, both **fitted on the validation split** (the
#   held-out groups of the training list, stored by every run as `val_logits`), never on the test list.
# * **PKD** (same paper): early exits on each stream's network, trained in a chain motion → residual → I-frame,
#   each stage taught by the previous (`loss = "pkd"`); its exits give a speed/accuracy trade-off.
# * **MMKD** (Zhang et al. 2023): per-clip teacher weights from a small network trained by a meta step
#   (`loss = "mmkd"`), one more aggregation of section 3 (in the full run).
#
# Here: the learned fusion of the three teachers against their 2:1:1 fusion, with the interval of the difference
# (without SMOKE, also the distilled system, the PKD streams per exit and fused, and MMKD).

# %%
from kdlab.engine.claims import seed_name
from kdlab.engine.findings import exit_comparisons
from kdlab.engine.study import CE_EXITS, NEWER_CLAIMS, newer_steps

if SMOKE:
    newer, newer_claims = ["fusion_teachers", "fusion_teachers_learned"], NEWER_CLAIMS[:1]
else:
    newer = ["student_ce", "fusion_teachers", "fusion_student_ce",
             *(seed_name(base, s) for s in FULL_SEEDS for base in ("mkd_streams", "fusion_mkd_streams")),
             *(step.name for step in newer_steps(FULL_SEEDS))]
    newer_claims = NEWER_CLAIMS
run_steps(space, [s.name for s in teachers] + newer, log=log, claims=newer_claims)
learned = RunFolder(space.runs / "fusion_teachers_learned").summary()
print("fitted on", learned["fitted_on"])
for name, w, t in zip(["I-frame", "motion", "residual"], learned["weights"], learned["temperatures"]):
    print(f"  {name:9} weight {w:.2f}  temperature {t:.2f}")
newer_results = evaluate_claims(space.runs, newer_claims)
for c in newer_results:
    print(f"{c['title']}: {c['a_top1']['estimate']:.1f} % vs {c['b_top1']['estimate']:.1f} %, difference "
          f"{c['difference']:+.1f} points [{c['low']:+.1f}, {c['high']:+.1f}]: {c['verdict']}")
    assert (c["decided"] == 0) == (c["low"] <= 0 <= c["high"]), "the verdict follows the interval"
differences_figure(newer_results, title="newer methods minus the existing ones (points), 95 % interval")

# %%
exits = exit_comparisons(space.runs, CE_EXITS)  # empty in SMOKE mode (no PKD runs)
if exits:
    experiment_table_figure(
        [{"stage": e["stage"], "exit": e["exit"], "MFLOPs/frame": round(e["flops_per_frame"] / 1e6, 2),
          "PKD": round(e["a_top1"]["estimate"], 1), "labels only": round(e["b_top1"]["estimate"], 1),
          "difference": f"{e['difference']:+.1f} [{e['low']:+.1f}, {e['high']:+.1f}]", "verdict": e["verdict"]}
         for e in exits], columns=["stage", "exit", "MFLOPs/frame", "PKD", "labels only", "difference", "verdict"],
        height=60 + 40 * len(exits))

# %% [markdown]
# ## What to take away
#
# A variant "beats" its reference only when the interval of the difference lies above zero; on a benchmark this
# size most differences between aggregations are inside the noise, and the verdicts say so.

# %%
for claim in evaluate_claims(space.runs, claims):
    print(f"- {claim['title']}: {claim['verdict']}")
    assert (claim["decided"] == 0) == (claim["low"] <= 0 <= claim["high"]), "the verdict follows the interval"
print("- The mean of the KD losses and KD to the mean soft target differ by a constant (the teachers' Jensen-Shannon "
      "divergence) and have the same gradient: one method under two names.")
print("- Not like for like: CA-MKD online (online teachers and a feature term), DKD (another loss form with its own "
      "warm-up) and the capacity reading (another reference); the rest differ only in the named factor.")
learned_claim = next(c for c in newer_results if c["key"] == "learned_vs_fixed_teachers")
print(f"- Learned fusion of the teachers (fitted on validation) vs 2:1:1: {learned_claim['difference']:+.1f} points "
      f"[{learned_claim['low']:+.1f}, {learned_claim['high']:+.1f}], {learned_claim['verdict']}.")
if SMOKE:
    print("- (SMOKE mode: one seed, one epoch; run without SMOKE for the real ablation.)")

# %% [markdown]
# ## References
#
# * G. Hinton, O. Vinyals, J. Dean. *Distilling the Knowledge in a Neural Network.* 2015.
#   [arXiv:1503.02531](https://arxiv.org/abs/1503.02531).
# * S. You, C. Xu, C. Xu, D. Tao. *Learning from Multiple Teacher Networks.* KDD 2017.
#   [doi:10.1145/3097983.3098135](https://doi.org/10.1145/3097983.3098135) (AVER, the average of the teachers).
# * K. Kwon, H. Na, H. Lee, N. S. Kim. *Adaptive Knowledge Distillation Based on Entropy.* ICASSP 2020.
#   [doi:10.1109/ICASSP40776.2020.9054698](https://doi.org/10.1109/ICASSP40776.2020.9054698) (EBKD).
# * H. Zhang, D. Chen, C. Wang. *Confidence-Aware Multi-Teacher Knowledge Distillation.* ICASSP 2022.
#   [arXiv:2201.00007](https://arxiv.org/abs/2201.00007) (CA-MKD; code github.com/Rorozhl/CA-MKD).
# * S. Du, S. You, X. Li, J. Wu, F. Wang, C. Qian, C. Zhang. *Agree to Disagree: Adaptive Ensemble Knowledge
#   Distillation in Gradient Space.* NeurIPS 2020.
#   [proceedings](https://proceedings.neurips.cc/paper/2020/hash/91c77393975889bd08f301c9e13a44b7-Abstract.html) (AE-KD).
# * B. Zhao, Q. Cui, R. Song, Y. Qiu, J. Liang. *Decoupled Knowledge Distillation.* CVPR 2022.
#   [arXiv:2203.08679](https://arxiv.org/abs/2203.08679) (DKD; code github.com/megvii-research/mdistiller).
# * A. Romero et al. *FitNets: Hints for Thin Deep Nets.* ICLR 2015. [arXiv:1412.6550](https://arxiv.org/abs/1412.6550)
#   (feature terms, which need online teachers).
# * J. Lin. *Divergence measures based on the Shannon entropy.* IEEE Trans. Information Theory 37(1), 1991.
#   [doi:10.1109/18.61115](https://doi.org/10.1109/18.61115) (the Jensen-Shannon divergence).
# * M.-C. Wu, C.-T. Chiu. *Multi-teacher knowledge distillation for compressed video action recognition based on
#   deep learning.* J. Systems Architecture 103 (2020) 101695. [doi:10.1016/j.sysarc.2019.101695](https://doi.org/10.1016/j.sysarc.2019.101695).
# * E. Soufleri, D. Ravikumar, K. Roy. *Advancing Compressed Video Action Recognition through Progressive Knowledge
#   Distillation.* 2024. [arXiv:2407.02713](https://arxiv.org/abs/2407.02713) (PKD and WISE, the learned fusion).
# * H. Zhang, D. Chen, C. Wang. *Adaptive Multi-Teacher Knowledge Distillation with Meta-Learning.* ICME 2023.
#   [arXiv:2306.06634](https://arxiv.org/abs/2306.06634) (MMKD; code github.com/Rorozhl/MMKD).
# * C. Guo, G. Pleiss, Y. Sun, K. Q. Weinberger. *On Calibration of Modern Neural Networks.* ICML 2017.
#   [arXiv:1706.04599](https://arxiv.org/abs/1706.04599) (temperature scaling).
#
# Next: [06 · Real datasets and GPUs](06_real_datasets_and_gpus.ipynb).
