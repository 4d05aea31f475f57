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
# # 03 · The student alone, with one teacher, with several
#
# *kdlab book, notebook 3 of 6* · previous: [02 · Three teachers](02_teachers.ipynb) ·
# next: [04 · How much smaller, how much cheaper](04_compression.ipynb)
#
# The paper's central claim: *a student taught by several teachers learns better than one taught by a single
# teacher*. The student is the small I-frame network that replaces CoViAR's big I-frame network. This
# notebook writes the distillation loss out, looks at what the temperature does, then trains the student
# three ways over several seeds and lets the confidence intervals, not the means, decide.
#
# **You will learn to**
# * write Hinton's knowledge-distillation (KD) loss yourself and check it against `kdlab.losses`;
# * explain what the temperature T does to a teacher's soft targets, and why the loss is multiplied by T²;
# * state the full training loss (cross-entropy and KD weights) and its multi-teacher form;
# * say what "offline" teachers are (their logits stored once per training video) and what that changes;
# * read a comparison over seeds as a difference with a 95 % interval, and say "no difference detected"
#   when the interval holds zero.
#
# **Prerequisites**: [notebook 02](02_teachers.ipynb) (the teachers); softmax, cross-entropy and the
# Kullback-Leibler divergence. **Run time** on a 2-core CPU: about 15 s reusing `make demo`'s runs (the 18
# student runs take about 3 min from nothing); SMOKE mode about 20 s.

# %% tags=["parameters"]
import os

SMOKE = os.environ.get("KDLAB_SMOKE", "0") == "1"
STATIC = SMOKE or os.environ.get("KDLAB_STATIC", "0") == "1"  # no live kernel (tests, the book): sliders are Plotly's

# %%
import numpy as np
import torch
import torch.nn.functional as F

from kdlab.engine.claims import HEADLINE, evaluate_claims, seed_summary
from kdlab.engine.runs import RunFolder
from kdlab.engine.stats import seed_t_interval
from kdlab.engine.study import STREAMS, STUDENTS, demo_steps, run_steps, workspace
from kdlab.figures import (
    class_distributions_figure,
    differences_figure,
    experiment_table_figure,
    interactive_figure,
    learning_curves_figure,
    lines_figure,
    seed_dots_figure,
)
from kdlab.losses import avg_kd, kd_loss, soft_targets

space = workspace(smoke=SMOKE)
seed_runs = [s.name for s in demo_steps(space.seeds) if s.group == "students"]
log = print if not STATIC else (lambda message: None)  # a live notebook shows the study's progress; the book does not
results = run_steps(space, [*STREAMS, *seed_runs, "fusion_teachers"], log=log)

# %% [markdown]
# ## 1. The loss, written out
#
# A teacher's logits $z_t$ and the student's $z_s$ (one row per clip, one column per class) become
# distributions at a **temperature** $T$: $p_t = \mathrm{softmax}(z_t / T)$, $p_s = \mathrm{softmax}(z_s / T)$.
# Hinton's KD loss is their Kullback-Leibler divergence, scaled by $T^2$ and averaged over the batch:
#
# $$\mathrm{KD}(z_s, z_t) = T^2 \cdot \frac{1}{B}\sum_b \sum_c p_t[b, c]\,\big(\log p_t[b, c] - \log p_s[b, c]\big)$$
#
# The student trains on $w_{ce}\,\mathrm{CE}(z_s, y) + w_{kd}\,\mathrm{KD}$; with $K$ teachers kdlab's
# reference (`avg_kd`) takes the mean of the $K$ KD terms. In ten lines:

# %%
def my_kd(z_s, z_t, T):
    """Hinton's KD loss: T^2 * KL(softmax(z_t / T) || softmax(z_s / T)), mean over the batch. z: (B, C)."""
    log_p_s = F.log_softmax(z_s / T, dim=1)
    log_p_t = F.log_softmax(z_t / T, dim=1)
    p_t = log_p_t.exp()
    kl = (p_t * (log_p_t - log_p_s)).sum(dim=1)  # one KL per clip
    return T**2 * kl.mean()


def my_total(z_s, teachers, y, T=4.0, w_ce=1.0, w_kd=1.0):
    """The student's loss with K teachers (K, B, C): w_ce * CE + w_kd * (mean of the K KD terms)."""
    return w_ce * F.cross_entropy(z_s, y) + w_kd * sum(my_kd(z_s, z_t, T) for z_t in teachers) / len(teachers)


# %% [markdown]
# Checked on real logits: the student trained alone (`student_ce`) plays the student, the three teachers of
# notebook 02 the teachers, on the test clips (their logits are stored in the run folders).

# %%
teachers_run = RunFolder(space.runs / "fusion_teachers").predictions()
ids = teachers_run.ids
z_teachers = torch.from_numpy(teachers_run.teacher_logits).double()  # (3, N, C): I-frame, motion, residual
z_student = torch.from_numpy(RunFolder(space.runs / "student_ce").predictions().aligned(ids)).double()  # (N, C)
y = torch.from_numpy(teachers_run.labels)
classes = [str(c) for c in teachers_run.classes]
names = teachers_run.names

mine, library = my_kd(z_student, z_teachers[0], 4.0), kd_loss(z_student, z_teachers[0], 4.0)
assert torch.allclose(mine, library), "the KD loss written by hand equals kdlab's"
assert torch.allclose(my_total(z_student, z_teachers, y) - F.cross_entropy(z_student, y), avg_kd(z_student, z_teachers, 4.0))
config = RunFolder(space.runs / "mkd_streams").config()
print(f"KD at T = 4: by hand {mine.item():.6f}, kdlab.losses.kd_loss {library.item():.6f}")
print(f"the demo's student: CE weight {config.distill.ce_weight:g}, KD weight {config.distill.kd_weight:g}, "
      f"loss {config.distill.loss!r}, T = {config.distill.loss_options.get('temperature', 4.0):g}, offline teachers: {config.distill.offline}")

# %% [markdown]
# ## 2. What the temperature does
#
# At T = 1 a confident teacher's softmax is almost one-hot: it says little more than the label. Raising T
# flattens it, so the small probabilities, how the teacher ranks the *wrong* classes (Hinton's "dark
# knowledge"), weigh in the loss. Below, the three teachers' soft targets on one test clip that the I-frame
# teacher gets wrong and another teacher gets right.

# %%
right = (z_teachers.argmax(dim=2) == y).numpy()  # (K, N)
rescued = np.flatnonzero(~right[0] & right[1:].any(0))
clip = int(rescued[0]) if len(rescued) else 0
print(f"clip {ids[clip]}: true class {classes[y[clip]]}; teachers say "
      + ", ".join(f"{n} {classes[int(z_teachers[k, clip].argmax())]}" for k, n in enumerate(names)))
for T in (1, 4, 10):
    p = soft_targets(z_teachers[:, clip], T)
    entropy = -(p * p.clamp_min(1e-12).log()).sum(1)
    print(f"T = {T:2d}: largest probability per teacher {np.round(p.max(1).values.numpy(), 2)}, "
          f"entropy {np.round(entropy.numpy(), 2)} nats (uniform: {np.log(len(classes)):.2f})")

# %% [markdown]
# **Try this.** Move T and watch the targets flatten; note at which T the motion teacher's second choice
# becomes visible.

# %%
def targets_at(T):
    p = soft_targets(z_teachers[:, clip], T).numpy()
    fig = class_distributions_figure(dict(zip(names, p)), classes, int(y[clip]), f"soft targets at T = {T:g}")
    return fig.update_yaxes(range=[0, 1.05])


interactive_figure(targets_at, {"T": [1, 2, 4, 6, 10, 20]}, value={"T": 4}, static=STATIC)

# %% [markdown]
# ## 3. Why T²
#
# The gradient of $\mathrm{KL}(p_t \,\|\, p_s)$ with respect to the student's logits is $(p_s - p_t)/T$, and
# for large T the difference $p_s - p_t$ itself shrinks like $1/T$: without a correction the KD term's
# gradient fades like $1/T^2$, and changing T would silently change its weight against the cross-entropy.
# Multiplying by $T^2$ keeps the gradient's size of the same order at every T (it tends to a constant: logit
# matching, exercise 2). Measured on the stored logits:

# %%
temperatures = [1, 2, 4, 8, 16, 32, 64]
norms = {"with T^2 (kdlab)": [], "without T^2": []}
for T in temperatures:
    z = z_student.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(kd_loss(z, z_teachers[0], T), z)
    norms["with T^2 (kdlab)"].append(grad.norm(dim=1).mean().item() * len(z))  # per clip, undoing the batch mean
    norms["without T^2"].append(norms["with T^2 (kdlab)"][-1] / T**2)
lines_figure(temperatures, norms, "temperature T", "gradient norm per clip",
             log_x=True, log_y=True, title="the KD term's gradient (w.r.t. the student's logits) against T")

# %% [markdown]
# ### Exercise 1
# Show that the gradient of `kd_loss` with respect to the student's logits is $T\,(p_s - p_t)/B$ (the $1/B$
# from the batch mean), and check it with autograd at T = 4.

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# Solution. d/dz_s KL(p_t || softmax(z_s / T)) = (p_s - p_t) / T; times T^2 gives T (p_s - p_t); the mean over B divides by B.
T = 4.0
z = z_student.clone().requires_grad_(True)
(grad,) = torch.autograd.grad(kd_loss(z, z_teachers[0], T), z)
by_hand = T * (soft_targets(z_student, T) - soft_targets(z_teachers[0], T)) / len(z)
assert torch.allclose(grad, by_hand)
print("autograd == T (p_s - p_t) / B")

# %% [markdown]
# ### Exercise 2
# Hinton et al. note that at high temperature KD becomes *logit matching*. Show numerically that as T grows,
# $T^2\,\mathrm{KL}$ tends to $\frac{1}{2C}\sum_c (d_c - \bar d)^2$ with $d = z_t - z_s$ (per clip; $C$ classes,
# $\bar d$ the mean of $d$ over the classes).

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# Solution. softmax(z / T) ~ (1 + (z - mean z) / T) / C for large T; a second-order expansion of KL gives the limit.
d = z_teachers[0] - z_student
limit = ((d - d.mean(1, keepdim=True)) ** 2).sum(1).mean() / (2 * len(classes))
for T in (4, 16, 64, 256):
    print(f"T = {T:3d}: T^2 KL = {kd_loss(z_student, z_teachers[0], T).item():.4f}   limit {limit.item():.4f}")
assert abs(kd_loss(z_student, z_teachers[0], 256).item() - limit.item()) < 0.01 * limit.item()

# %% [markdown]
# ## 4. Offline teachers
#
# The teachers are frozen. kdlab runs them **offline** by default (`distill.offline = true`): before the first
# epoch it computes each teacher's logits on every training video once, on the test view (segment centres,
# centre crop), and looks them up per batch. What that changes:
#
# * **cost**: a distillation epoch costs about a cross-entropy epoch (`kdlab bench distill`: 0.96-1.02x with
#   three stored teachers, 2.3x with three teachers run alongside the student);
# * **the target is per video, not per crop**: the student sees random crops and flips of random frames,
#   while the teacher's soft target is the one of the video's centre view; a teacher run online would judge
#   the very crop the student sees;
# * **logits only**: losses that need the teachers' feature maps (FitNets, CA-MKD's feature term) must run
#   online; notebook 05 labels the one run that does.
#
# ## 5. The three students, over seeds
#
# | run | what the student learns from |
# |---|---|
# | `student_ce` | the labels only (cross-entropy) |
# | `kd_single` | the labels and the I-frame teacher (Hinton KD, T = 4) |
# | `mkd_streams` | the labels and the I-frame, motion and residual teachers (the mean of their KD losses) |
#
# The student (`resnet18_tiny`, a ResNet-18 at 1/8 width) sees only I-frames, yet two of its teachers saw
# motion and residuals. The validation top-1 is measured on groups held out of the *training* list; the
# run's result is its last epoch (the cosine schedule fixes it in advance), and the epoch with the best
# validation top-1 is tested too and reported beside it. The test list is read once per run, after the last
# epoch: nothing is chosen by looking at it.

# %%
learning_curves_figure({name: RunFolder(space.runs / name).metrics() for name in STUDENTS})

# %%
experiment_table_figure([r for r in results["runs"] if r["run"] in STUDENTS],
                        columns=["run", "loss", "teachers", "params", "top1", "best_epoch", "top1_best"])

# %% [markdown]
# One run is one draw: initialisation, data order and augmentation move the result by several points. Each
# method is trained with the same seeds, so seed `s` of one method and seed `s` of another saw the same
# initial weights and the same batches: the comparison is *paired* by seed, and by test clip.
# `kdlab.engine.stats` turns that into a difference with a 95 % interval that counts both the seeds and the
# test clips as random draws. Each dot below is one seed; the diamond is the mean with its interval.

# %%
LABELS = {"student_ce": "student alone", "kd_single": "one teacher (I-frame)", "mkd_streams": "three teachers (I, MV, R)"}
seeds = seed_summary(space.runs, list(STUDENTS))
for row in seeds:
    per_seed = ", ".join(f"{v:.1f}" for v in row["top1_per_seed"])
    print(f"{row['run']:12} top-1 {row['top1']:5.1f} [{row['low']:.1f}, {row['high']:.1f}] over seeds {row['seeds']}: {per_seed}")
seed_dots_figure(seeds, LABELS, title="test top-1 per seed (dots) and mean with its 95 % interval")

# %% [markdown]
# Each comparison of the paper as a difference with its 95 % interval: green when the interval lies above
# zero, red below, grey when it holds zero ("no difference detected").

# %%
claims = evaluate_claims(space.runs, HEADLINE)
differences_figure(claims, title="the paper's comparisons: difference of top-1 (points) with its 95 % interval")

# %% [markdown]
# ### Exercise 3
# Take the per-seed top-1 of `mkd_streams` and `kd_single`, compute the per-seed differences and a t-interval
# over the seeds alone (`kdlab.engine.stats.seed_t_interval`). Is it wider or narrower than the claim's
# interval, and what does each one count as random?

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# Solution. The seed-only interval treats the 1200 test clips as fixed; the claim's interval (seeds and clips)
# also counts the clips as a sample of all clips, so it answers "would this hold on other clips too?".
by_run = {row["run"]: row for row in seeds}
a, b = by_run["mkd_streams"], by_run["kd_single"]
common = [s for s in a["seeds"] if s in b["seeds"]]
diffs = [a["top1_per_seed"][a["seeds"].index(s)] - b["top1_per_seed"][b["seeds"].index(s)] for s in common]
claim = next(c for c in claims if c["key"] == "multi_vs_single")
print("per-seed differences:", np.round(diffs, 1))
if len(diffs) > 1:
    t = seed_t_interval(diffs)
    print(f"seeds only: {t.estimate:+.1f} [{t.low:+.1f}, {t.high:+.1f}]; seeds and clips (the claim): "
          f"{claim['difference']:+.1f} [{claim['low']:+.1f}, {claim['high']:+.1f}]")
else:
    print("one seed only (SMOKE mode): a t-interval needs two seeds or more")

# %% [markdown]
# ## What to take away
#
# Each line is a verdict from the confidence interval, not from the ordering of means: "better" only when
# the whole 95 % interval lies above zero, "no difference detected" otherwise, with the smallest difference
# this design would have detected.

# %%
for claim in claims:
    print(f"- {claim['title']}: {claim['verdict']} ({claim['seeds']} seed(s), {claim['clips']} test clips)")
    assert (claim["decided"] == 0) == (claim["low"] <= 0 <= claim["high"]), "the verdict follows the interval"
kept = norms["with T^2 (kdlab)"]
print(f"- The KD loss written by hand equals kdlab's ({mine.item():.4f}). From T = 1 to {temperatures[-1]} its gradient stays "
      f"within a factor {max(kept) / min(kept):.1f} with the T^2 factor, and falls {kept[0] / norms['without T^2'][-1]:.0f}-fold "
      "without it.")
if SMOKE:
    print("- (SMOKE mode: one epoch on tiny data, one seed; run without SMOKE for the real study.)")

# %% [markdown]
# ## References
#
# * G. Hinton, O. Vinyals, J. Dean. *Distilling the Knowledge in a Neural Network.* NIPS Deep Learning Workshop 2014.
#   [arXiv:1503.02531](https://arxiv.org/abs/1503.02531) (soft targets, temperature, the T² factor, logit matching).
# * S. You, C. Xu, C. Xu, D. Tao. *Learning from Multiple Teacher Networks.* KDD 2017.
#   [doi:10.1145/3097983.3098135](https://doi.org/10.1145/3097983.3098135) (averaging several teachers).
# * M.-C. Wu, C.-T. Chiu. *Multi-teacher knowledge distillation for compressed video action recognition based on
#   deep learning.* J. Systems Architecture 103 (2020) 101695. [doi:10.1016/j.sysarc.2019.101695](https://doi.org/10.1016/j.sysarc.2019.101695).
# * C.-Y. Wu et al. *Compressed Video Action Recognition.* CVPR 2018. [arXiv:1712.00636](https://arxiv.org/abs/1712.00636).
# * L. Beyer, X. Zhai, A. Royer, L. Markeeva, R. Anil, A. Kolesnikov. *Knowledge distillation: A good teacher is
#   patient and consistent.* CVPR 2022. [arXiv:2106.05237](https://arxiv.org/abs/2106.05237) (teacher and student on
#   the same view, which offline teachers give up).
# * X. Bouthillier et al. *Accounting for Variance in Machine Learning Benchmarks.* MLSys 2021.
#   [arXiv:2103.03098](https://arxiv.org/abs/2103.03098) (seeds and test sets as sources of variance).
# * T. G. Dietterich. *Approximate Statistical Tests for Comparing Supervised Classification Learning Algorithms.*
#   Neural Computation 10(7), 1998. [doi:10.1162/089976698300017197](https://doi.org/10.1162/089976698300017197) (McNemar).
#
# Next: [04 · How much smaller, how much cheaper](04_compression.ipynb).
