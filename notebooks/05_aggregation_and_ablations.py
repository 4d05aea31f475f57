# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · How to combine teachers, and what matters
#
# With several teachers, the student must decide how much to trust each one, per clip:
#
# | loss | teacher weights |
# |---|---|
# | `avg_kd` | equal: the mean of the per-teacher KD losses |
# | `kd_to_avg` | KD to the mean of the teachers' soft targets (not the same thing) |
# | `ebkd` | entropy-based: a confident (low-entropy) teacher weighs more (Kwon et al. 2020) |
# | `camkd` | confidence-aware: a teacher with low cross-entropy on the label weighs more, plus a feature term (Zhang et al. 2022) |
# | `aekd` | adaptive ensemble in gradient space: weights from a min-norm solve (Du et al. 2020) |
# | `dkd` | decoupled KD per teacher: target and non-target parts (Zhao et al. 2022) |
#
# Then the ablations: temperature, KD weight and number of teachers, each over seeds, with spreads.
# Full mode trains about 40 small runs (reusing any that exist); SMOKE mode a handful.

# %% tags=["parameters"]
import os

SMOKE = os.environ.get("KDLAB_SMOKE", "0") == "1"

# %%
import numpy as np

from kdlab.engine.runs import RunFolder
from kdlab.engine.study import ablation_steps, ablation_table, demo_steps, run_study, workspace
from kdlab.figures import experiment_table_figure, teacher_weights_figure
from kdlab.losses import confidence_weights, entropy_weights

space = workspace(smoke=SMOKE)
teachers = [s for s in demo_steps(seeds=(0,)) if s.group == "teachers"]
if SMOKE:
    steps = ablation_steps(seeds=(0,), aggregations=("avg_kd", "ebkd", "dkd"), temperatures=(2.0, 4.0),
                           kd_weights=(1.0,), teacher_counts=(1, 3))
else:
    steps = ablation_steps(seeds=(0, 1, 2))
results = run_study(teachers + steps, space.runs, overrides=list(space.overrides))
table = ablation_table(results)

# %% [markdown]
# ## The weights each aggregation gives each teacher
#
# On the test clips, from the stored teacher logits: EBKD trusts low-entropy teachers, CA-MKD the
# teachers that are right about the label. A uniform average would put every bar at 1/3.

# %%
import torch

preds = RunFolder(space.runs / "aggregation_avg_kd_seed0").predictions()
logits = torch.from_numpy(preds["teacher_logits"])
weights = {
    "EBKD (entropy)": entropy_weights(logits).numpy(),
    "CA-MKD (confidence)": confidence_weights(logits, torch.from_numpy(preds["labels"])).numpy(),
}
teacher_weights_figure(weights, [str(n) for n in preds["teacher_names"]])

# %% [markdown]
# ## Aggregations, temperature, KD weight, number of teachers

# %%
experiment_table_figure(table, columns=["factor", "value", "seeds", "top1_mean", "top1_std"])

# %% [markdown]
# ## What to take away

# %%
for factor in ("aggregation", "temperature", "kd_weight", "teachers"):
    rows = [r for r in table if r["factor"] == factor]
    if not rows:
        continue
    best = max(rows, key=lambda r: r["top1_mean"])
    worst = min(rows, key=lambda r: r["top1_mean"])
    spread = max(r["top1_std"] for r in rows)
    print(f"- {factor}: best {best['value']} ({best['top1_mean']:.1f}%), worst {worst['value']} "
          f"({worst['top1_mean']:.1f}%); a gap of {best['top1_mean'] - worst['top1_mean']:.1f} points against a "
          f"seed spread of up to {spread:.1f}" + (" -- within the noise." if best["top1_mean"] - worst["top1_mean"] <= spread else "."))
if SMOKE:
    print("- (SMOKE mode: one seed, one epoch; run without SMOKE for the real ablation.)")
