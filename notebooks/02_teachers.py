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
# # 02 · Three teachers, three views of the same clips
#
# CoViAR trains one network per representation: a deep one on I-frames (ResNet-152) and two
# ResNet-18s on motion vectors and residuals, and adds their scores 2:1:1 (late fusion). These are
# the *teachers* of the paper. Here we train their demo-size twins on the synthetic benchmark and
# look at what each one gets right, where they disagree, and what fusion buys.
#
# In full mode this notebook reuses the runs of `make demo` (`runs/demo/`) and trains only what is
# missing; in SMOKE mode it trains tiny versions in a minute.

# %% tags=["parameters"]
import os

SMOKE = os.environ.get("KDLAB_SMOKE", "0") == "1"

# %%
import numpy as np

from kdlab.engine.metrics import classification_metrics, confusion_matrix, teacher_complementarity, teacher_disagreement
from kdlab.engine.runs import RunFolder
from kdlab.engine.stats import Outcomes, compare
from kdlab.engine.study import run_steps, workspace
from kdlab.figures import (
    confusion_figure,
    disagreement_matrix_figure,
    experiment_table_figure,
    learning_curves_figure,
    per_class_disagreement_figure,
)

space = workspace(smoke=SMOKE)
print(f"data: {space.data}\nruns: {space.runs}")

# %% [markdown]
# ## Train (or reuse) the three teachers and fuse them
#
# Each teacher is one `kdlab train configs/demo/teacher_<representation>.toml`; the fusion is
# `kdlab fuse`. Finished runs are reused.

# %%
STREAMS = ["teacher_iframe", "teacher_mv", "teacher_residual"]
results = run_steps(space, STREAMS + ["fusion_teachers"])
rows = [r for r in results["runs"] if r["run"] in STREAMS + ["fusion_teachers"]]
experiment_table_figure(rows, columns=["run", "representation", "arch", "params", "top1", "mean_class_accuracy"])

# %% [markdown]
# ## How they learned
#
# `metrics.csv` holds one row per epoch. Validation here is the quick training-time protocol
# (3 segments, 1 crop); the test numbers above use the test protocol (more segments), as in CoViAR.

# %%
learning_curves_figure({name: RunFolder(space.runs / name).metrics() for name in STREAMS}, metrics=("loss", "val_top1"))

# %% [markdown]
# ## Where the teachers disagree
#
# The fusion run keeps each stream's test logits. Two teachers *disagree* on a clip when their top
# classes differ; the Jensen-Shannon divergence measures how different their whole score
# distributions are.

# %%
fusion = RunFolder(space.runs / "fusion_teachers").predictions()
names = [str(n) for n in fusion["teacher_names"]]
classes = [str(c) for c in fusion["classes"]]
labels = fusion["labels"]
disagreement = teacher_disagreement(fusion["teacher_logits"], labels, names, len(classes))
for pair in disagreement["pairs"]:
    print(f"{pair['a']:>16} vs {pair['b']:<16} disagree on {pair['disagreement']:.0%} of the clips, JS {pair['js']:.3f} nats")
print(f"not all three agree on {disagreement['any_disagreement']:.0%} of the clips")
disagreement_matrix_figure(disagreement, names)

# %%
per_class_disagreement_figure(disagreement, classes)

# %% [markdown]
# ## What fusion buys
#
# CoViAR's late fusion is a weighted sum of the streams' scores, 2 x I-frame + MV + residual.

# %%
stream_top1 = {n: classification_metrics(fusion["teacher_logits"][k], labels, len(classes))["top1"] for k, n in enumerate(names)}
fused_top1 = classification_metrics(fusion["logits"], labels, len(classes))["top1"]
best_stream = max(stream_top1, key=stream_top1.get)
print({**{k: round(v, 1) for k, v in stream_top1.items()}, "fusion 2:1:1": round(fused_top1, 1)})
confusion_figure(confusion_matrix(fusion["logits"], labels, len(classes)), classes, normalise=True,
                 title="fusion 2:1:1, row-normalised confusion")

# %% [markdown]
# ## What to take away

# %%
spread = max(stream_top1.values()) - min(stream_top1.values())
accuracies = ", ".join(f"{k} {v:.1f}%" for k, v in stream_top1.items())
if spread >= 2:
    print(f"- The teachers reach different accuracies ({accuracies}; a spread of {spread:.1f} points): "
          "each representation carries different evidence.")
else:
    print(f"- The teachers reach similar accuracies here ({accuracies}).")
# disagreement is not complementarity: what counts is a teacher that is right where the I-frame teacher is wrong
c = teacher_complementarity(fusion["teacher_logits"], labels, names)
print(f"- Not all three agree on {disagreement['any_disagreement']:.0%} of the test clips; the I-frame teacher is wrong on "
      f"{c['first_wrong']:.1f}% of them, and another teacher is right on {c['any_right_where_first_wrong']:.1f}% of all clips "
      f"where it is wrong (oracle: {c['oracle_top1']:.1f}%).")
ids = fusion["video_ids"]
verdict = compare(Outcomes.from_logits("the 2:1:1 fusion", [(fusion["logits"], labels, ids)]),
                  Outcomes.from_logits(f"the best teacher ({best_stream})", [(fusion["teacher_logits"][names.index(best_stream)], labels, ids)]))
print(f"- {verdict.verdict} (one run of each, paired on {verdict.clips} test clips; McNemar p = {verdict.p_value:.3g}).")
if SMOKE:
    print("- (SMOKE mode: tiny data and one epoch, so these numbers mean little; run without SMOKE for the real ones.)")
