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
# With several teachers, the student must decide how much to trust each one, per clip:
#
# | loss | teacher weights |
# |---|---|
# | `avg_kd` | equal: the mean of the per-teacher KD losses |
# | `kd_to_avg` | KD to the mean of the teachers' soft targets: the same gradient for the student as `avg_kd` (their values differ by the teachers' Jensen-Shannon divergence, a constant) |
# | `ebkd` | entropy-based: a confident (low-entropy) teacher weighs more (Kwon et al. 2020) |
# | `camkd` | confidence-aware: a teacher with low cross-entropy on the label weighs more (Zhang et al. 2022); run here on logits only, offline like the others, and separately online with its feature term (labelled) |
# | `aekd` | adaptive ensemble in gradient space: weights from a min-norm solve (Du et al. 2020) |
# | `dkd` | decoupled KD per teacher: target and non-target parts (Zhao et al. 2022), warmed up over the first twelfth of the run as in mdistiller |
#
# Then the ablations: temperature, KD weight, every subset of the three teachers, and teachers of one
# representation but different capacity, each over seeds and each compared with its reference run
# (`mkd_streams`: the mean of the three stream teachers' KD losses, T = 4, KD weight 1) by
# `kdlab.engine.stats`. Full mode trains what `make study` trains (about 50 small runs, reusing any
# that exist; `make study` runs the same from the command line); SMOKE mode a handful.

# %% tags=["parameters"]
import os

SMOKE = os.environ.get("KDLAB_SMOKE", "0") == "1"

# %%
import torch

from kdlab.engine.claims import evaluate_claims
from kdlab.engine.runs import RunFolder
from kdlab.engine.study import ABLATIONS, FULL_SEEDS, ablation_claims, ablation_steps, demo_steps, run_study, workspace
from kdlab.figures import experiment_table_figure, teacher_weights_figure
from kdlab.losses import confidence_weights, entropy_weights

space = workspace(smoke=SMOKE)
teachers = [s for s in demo_steps((0,)) if s.group == "teachers"]
if SMOKE:
    variants = tuple(v for v in ABLATIONS if (v.factor, v.value) in {("aggregation", "avg_kd"), ("aggregation", "ebkd"),
                                                                     ("aggregation", "dkd"), ("temperature", "2")})
    seeds = (0,)
else:
    variants, seeds = ABLATIONS, FULL_SEEDS
claims = ablation_claims(variants)
results = run_study(teachers + ablation_steps(seeds, variants), space.runs, overrides=list(space.overrides), claims=claims)

# %% [markdown]
# ## The weights each aggregation gives each teacher
#
# On the test clips, from the stored teacher logits: EBKD trusts low-entropy teachers, CA-MKD the
# teachers that are right about the label. A uniform average would put every bar at 1/3.

# %%
preds = RunFolder(space.runs / "mkd_streams").predictions()
logits = torch.from_numpy(preds["teacher_logits"])
weights = {
    "EBKD (entropy)": entropy_weights(logits).numpy(),
    "CA-MKD (confidence)": confidence_weights(logits, torch.from_numpy(preds["labels"])).numpy(),
}
teacher_weights_figure(weights, [str(n) for n in preds["teacher_names"]])

# %% [markdown]
# ## Every variant against its reference
#
# Paired by seed and test clip; the interval is the 95 % interval of the difference of top-1.

# %%
rows = [{"variant": c["title"], "against": c["b_label"], "difference": round(c["difference"], 1),
         "low": round(c["low"], 1), "high": round(c["high"], 1), "seeds": c["seeds"], "verdict": c["verdict"]}
        for c in results["claims"]]
experiment_table_figure(rows, columns=["variant", "against", "difference", "low", "high", "seeds"])

# %% [markdown]
# ## What to take away
#
# A variant "beats" its reference only when the interval of the difference lies above zero; most
# differences between aggregations on a benchmark this size are inside the noise, and the verdicts
# say so.

# %%
for claim in evaluate_claims(space.runs, claims):
    print(f"- {claim['title']}: {claim['verdict']}")
    assert (claim["decided"] == 0) == (claim["low"] <= 0 <= claim["high"]), "the verdict follows the interval"
if SMOKE:
    print("- (SMOKE mode: one seed, one epoch; run without SMOKE for the real ablation.)")
