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
# The paper's central claim: *a student taught by several teachers learns better than one taught by
# a single teacher*. The student is the small I-frame network that replaces CoViAR's ResNet-152
# (here `resnet18_tiny`). We train it three ways, each over several seeds:
#
# | run | what the student learns from |
# |---|---|
# | `student_ce` | the labels only (cross-entropy) |
# | `kd_single` | the labels and the I-frame teacher (Hinton KD, T = 4) |
# | `mkd_streams` | the labels and the I-frame, motion and residual teachers (the mean of their KD losses) |
#
# Hinton's KD loss is `KL(softmax(z_t / T) || softmax(z_s / T)) * T^2`; with K teachers, the mean over
# teachers (`kdlab.losses.avg_kd`). The teachers are frozen; the student sees only I-frames, yet it
# learns from networks that saw motion and residuals.

# %% tags=["parameters"]
import os

SMOKE = os.environ.get("KDLAB_SMOKE", "0") == "1"

# %%
from kdlab.engine.claims import HEADLINE, evaluate_claims, seed_summary
from kdlab.engine.runs import RunFolder
from kdlab.engine.study import STREAMS, STUDENTS, demo_steps, run_steps, workspace
from kdlab.figures import experiment_table_figure, learning_curves_figure

space = workspace(smoke=SMOKE)
seed_runs = [s.name for s in demo_steps(space.seeds) if s.group == "students"]
results = run_steps(space, [*STREAMS, *seed_runs])

# %% [markdown]
# ## Seed 0, epoch by epoch
#
# The validation top-1 is measured on groups held out of the *training* list. The run's result is
# its last epoch (the cosine schedule fixes it in advance); the epoch with the best validation
# top-1 is tested too and reported beside it. The test list is read once per run, after the last
# epoch: nothing is chosen by looking at it.

# %%
learning_curves_figure({name: RunFolder(space.runs / name).metrics() for name in STUDENTS})

# %%
experiment_table_figure([r for r in results["runs"] if r["run"] in STUDENTS],
                        columns=["run", "loss", "teachers", "params", "top1", "best_epoch", "top1_best"])

# %% [markdown]
# ## Over seeds
#
# One run is one draw: initialisation, data order and augmentation change the result by several
# points. Each method is trained with the same seeds, so seed `s` of one method and seed `s` of
# another saw the same initial weights and the same batches: the comparison is *paired* by seed,
# and by test clip. `kdlab.engine.stats` turns that into a difference with a 95 % interval.

# %%
for row in seed_summary(space.runs, list(STUDENTS)):
    per_seed = ", ".join(f"{v:.1f}" for v in row["top1_per_seed"])
    print(f"{row['run']:12} top-1 {row['top1']:5.1f} [{row['low']:.1f}, {row['high']:.1f}] over seeds {row['seeds']}: {per_seed}")

# %% [markdown]
# ## What to take away
#
# Each line is a verdict from the confidence interval, not from the ordering of means: "better"
# only when the whole 95 % interval lies above zero, "no difference detected" otherwise, with the
# smallest difference this design would have detected.

# %%
claims = evaluate_claims(space.runs, HEADLINE)
for claim in claims:
    print(f"- {claim['title']}: {claim['verdict']} ({claim['seeds']} seed(s), {claim['clips']} test clips)")
    assert (claim["decided"] == 0) == (claim["low"] <= 0 <= claim["high"]), "the verdict follows the interval"
if SMOKE:
    print("- (SMOKE mode: one epoch on tiny data, one seed; run without SMOKE for the real study.)")
