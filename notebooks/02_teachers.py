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
# *kdlab book, notebook 2 of 6* · previous: [01 · What is inside an MPEG-4 file](01_compressed_video.ipynb) ·
# next: [03 · The student alone, with one teacher, with several](03_single_vs_multi_teacher.ipynb)
#
# CoViAR trains one network per representation and adds their scores. These three networks are the
# **teachers** of the paper: before a student can learn from several teachers, we need to know what each
# one knows, and what one knows that another does not.
#
# **You will learn to**
# * name the three teachers, what each one sees, and how the demo's differ from CoViAR's in size;
# * read a training run: learning curves on a validation split held out of the training list;
# * tell *disagreement* from *complementarity*: oracle accuracy, and the clips one teacher gets wrong and
#   another gets right;
# * fuse the teachers' scores, sweep the fusion weights, and see why weights picked on the test set
#   flatter themselves.
#
# **Prerequisites**: [notebook 01](01_compressed_video.ipynb) (the three representations); what logits
# and a softmax are. **Run time** on a 2-core CPU: about 15 s reusing `make demo`'s runs (about a minute more to
# train the three teachers from nothing); SMOKE mode about 15 s.

# %% tags=["parameters"]
import os

SMOKE = os.environ.get("KDLAB_SMOKE", "0") == "1"
STATIC = SMOKE or os.environ.get("KDLAB_STATIC", "0") == "1"  # no live kernel (tests, the book): sliders are Plotly's

# %%
import numpy as np

from kdlab.engine.fuse import fused_correct, held_out_choice
from kdlab.engine.metrics import (
    classification_metrics,
    confusion_matrix,
    softmax,
    teacher_complementarity,
    teacher_disagreement,
)
from kdlab.engine.runs import RunFolder
from kdlab.engine.stats import Outcomes, clip_groups, compare
from kdlab.engine.study import run_steps, workspace
from kdlab.figures import (
    class_distributions_figure,
    confusion_figure,
    disagreement_matrix_figure,
    experiment_table_figure,
    fusion_grid_figure,
    interactive_figure,
    learning_curves_figure,
    per_class_disagreement_figure,
)

space = workspace(smoke=SMOKE)
print(f"data: {space.data}\nruns: {space.runs}")

# %% [markdown]
# ## 1. The teachers
#
# | teacher | input | CoViAR (full size) | the demo |
# |---|---|---|---|
# | I-frame | the decoded I-frame of the GOP (RGB) | ResNet-152 | ResNet-18 at **1/4 width** |
# | motion | accumulated motion vectors (2 channels) | ResNet-18 | ResNet-18 at 1/8 width |
# | residual | accumulated residual (RGB) | ResNet-18 | ResNet-18 at 1/8 width |
#
# The demo's I-frame teacher is **not** a ResNet-152. On two CPU cores and twelve epochs, a 152-layer
# network at 1/8 width underfits (38 % test top-1 against 82 % for this one, measured on an earlier, smaller
# version of the demo), so the demo's I-frame teacher is a ResNet-18 four times *wider* than the student (1/4 width instead
# of 1/8): 0.70 M parameters against the student's 0.18 M. The *student* of notebook 03 is the same network
# at 1/8 width. So at demo size "big teacher, small student" is a matter of width, not depth.
#
# Each teacher is one `kdlab train configs/demo/teacher_<representation>.toml`; the fusion is `kdlab fuse`.
# Finished runs are reused.

# %%
STREAMS = ["teacher_iframe", "teacher_mv", "teacher_residual"]
log = print if not STATIC else (lambda message: None)  # a live notebook shows the study's progress; the book does not
results = run_steps(space, STREAMS + ["fusion_teachers"], log=log)
rows = [r for r in results["runs"] if r["run"] in STREAMS + ["fusion_teachers"]]
for name in STREAMS:
    summary = RunFolder(space.runs / name).summary()
    print(f"{name:17} {summary.arch:15} on {summary.representation:9} {summary.params / 1e3:6.0f} k parameters")
experiment_table_figure(rows, columns=["run", "representation", "arch", "params", "top1", "mean_class_accuracy"])

# %% [markdown]
# ## 2. How they learned, and on what they were validated
#
# `metrics.csv` holds one row per epoch. The validation top-1 is measured on **groups held out of the
# training list** (`data.val_share = 0.2`: 8 of each class's 40 training groups; a group is one scene, so no
# scene is on both sides). The test list is read once per run, after the last epoch, and the run's result is
# that last epoch. Validation uses the quick protocol (2 segments, 1 crop); the test uses 4 segments, as
# CoViAR tests with more segments (25 x 10 crops at full size) than it validates with.

# %%
videos = RunFolder(space.runs / "teacher_iframe").summary().videos
print(f"clips: {videos.get('train')} to train on, {videos.get('val')} to validate on (held-out groups), "
      f"{videos.get('test')} to test on (read once)")
assert videos.get("val", 0) > 0, "validation is on groups held out of the training list, not on the test list"
learning_curves_figure({name: RunFolder(space.runs / name).metrics() for name in STREAMS}, metrics=("loss", "val_top1"))

# %% [markdown]
# ## 3. Where the teachers disagree
#
# The fusion run keeps each stream's test logits. Two teachers *disagree* on a clip when their top classes
# differ; the Jensen-Shannon divergence measures how different their whole score distributions are.

# %%
fusion = RunFolder(space.runs / "fusion_teachers").predictions()
names = [str(n) for n in fusion["teacher_names"]]
classes = [str(c) for c in fusion["classes"]]
labels = fusion["labels"]
teacher_logits = fusion["teacher_logits"]  # (K, N, C): the three streams on the N test clips
disagreement = teacher_disagreement(teacher_logits, labels, names, len(classes))
for pair in disagreement["pairs"]:
    print(f"{pair['a']:>16} vs {pair['b']:<16} disagree on {pair['disagreement']:.0%} of the clips, JS {pair['js']:.3f} nats")
print(f"not all three agree on {disagreement['any_disagreement']:.0%} of the clips")
disagreement_matrix_figure(disagreement, names)

# %%
per_class_disagreement_figure(disagreement, classes)

# %% [markdown]
# ## 4. Disagreement is not complementarity
#
# A teacher that disagrees with the I-frame teacher only where the I-frame teacher is right has nothing to
# add: it is merely wrong more often. What a second teacher can teach is what it gets **right where the first
# is wrong**. Two numbers say it:
#
# * the **oracle** accuracy: a clip counts when at least one teacher is right, the most that any use of
#   these teachers (fusion, distillation) could reach with a perfect choice per clip;
# * the share of clips where the I-frame teacher is wrong and another teacher is right.

# %%
c = teacher_complementarity(teacher_logits, labels, names, fused_logits=fusion["logits"])
print(f"I-frame teacher wrong on {c['first_wrong']:.1f}% of the clips; another teacher right there on "
      f"{c['any_right_where_first_wrong']:.1f}% of all clips "
      f"({', '.join(f'{n} {v:.1f}%' for n, v in c['right_where_first_wrong'].items())})")
print(f"oracle top-1 {c['oracle_top1']:.1f}% against {max(c['top1'].values()):.1f}% for the best teacher alone")

right = teacher_logits.argmax(axis=2) == labels[None]  # (K, N)
wrong_first = np.bincount(labels[~right[0]], minlength=len(classes)) / np.maximum(np.bincount(labels, minlength=len(classes)), 1)
rescued = np.bincount(labels[~right[0] & right[1:].any(0)], minlength=len(classes)) / np.maximum(np.bincount(labels, minlength=len(classes)), 1)
print("most rescued classes:", ", ".join(f"{classes[i]} {rescued[i]:.0%}" for i in np.argsort(-rescued)[:4]))
fig = class_distributions_figure({"I-frame teacher wrong": wrong_first, "... and another teacher right": rescued}, classes,
                                 None, "per class: where the I-frame teacher fails, and where another teacher knows better")
fig.update_yaxes(title="share of the class's test clips")

# %% [markdown]
# The benchmark was designed so that the classes where another teacher rescues the I-frame teacher are those
# whose colour two classes share (`Red...`, `Blue...`; see `data/README.md`): one I-frame cannot tell them
# apart, their motion or residual can. The line above the figure says whether the runs agree. A few of those
# clips:

# %%
picked = np.flatnonzero(~right[0] & right[1:].any(0))[:8]
predicted = teacher_logits.argmax(axis=2)
experiment_table_figure([{"clip": str(fusion["video_ids"][i]).split("/")[-1], "true class": classes[labels[i]],
                          **{n: classes[predicted[k, i]] for k, n in enumerate(names)}} for i in picked])

# %% [markdown]
# ### Exercise 1
# Compute the oracle accuracy and the share "I-frame teacher wrong, another right" yourself from
# `teacher_logits` and `labels`, and check them against `teacher_complementarity`.

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# Solution. right[k, n]: teacher k names clip n's class.
oracle = 100 * right.any(axis=0).mean()
others_rescue = 100 * (~right[0] & right[1:].any(axis=0)).mean()
assert abs(oracle - c["oracle_top1"]) < 1e-9 and abs(others_rescue - c["any_right_where_first_wrong"]) < 1e-9
print(f"oracle {oracle:.1f}%, rescued by another teacher {others_rescue:.1f}% of the clips")

# %% [markdown]
# ## 5. Fusion, and its weights
#
# CoViAR's late fusion adds the streams' scores (logits averaged over segments) with weights 2, 1 and 1
# (I-frame, motion, residual) and takes the argmax. Only the *ratios* of the weights matter, so fix the I-frame
# weight at 1 and sweep the other two: 2:1:1 is the point (0.5, 0.5).

# %%
stream_top1 = {n: classification_metrics(teacher_logits[k], labels, len(classes))["top1"] for k, n in enumerate(names)}
fused_top1 = classification_metrics(fusion["logits"], labels, len(classes))["top1"]
best_stream = max(stream_top1, key=stream_top1.get)
print({**{k: round(v, 1) for k, v in stream_top1.items()}, "fusion 2:1:1": round(fused_top1, 1)})

ratios = [0.0, 0.125, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0]
settings = [(1.0, m, r) for r in ratios for m in ratios]
correct = fused_correct(teacher_logits, labels, settings)  # (settings, N): right or wrong under each weighting
grid = 100 * correct.mean(axis=1).reshape(len(ratios), len(ratios))  # rows: residual ratio; columns: motion ratio
choice = held_out_choice(correct, clip_groups(fusion["video_ids"]))
best_weights = settings[choice["best"]]
print(f"best weights on the test clips: 1 : {best_weights[1]:g} : {best_weights[2]:g}, top-1 {choice['best_top1']:.1f}%; "
      f"chosen on half the groups and scored on the other half: {choice['held_out_top1']:.1f}% "
      f"(picking on the test set flatters by {choice['optimism']:.1f} points)")

# %% [markdown]
# **Try this.** Set the motion and residual weights (relative to the I-frame's) and see the fused accuracy.
# The map is computed from the stored test logits, so it answers instantly; remember the last printed line
# before you trust the brightest square.

# %%
marks = {"CoViAR 2:1:1": (0.5, 0.5), "best on the test set": (best_weights[1], best_weights[2])}


def fused_at(motion, residual):
    top1 = 100 * fused_correct(teacher_logits, labels, [(1.0, motion, residual)])[0].mean()
    fig = fusion_grid_figure(grid, ratios, ratios, marks={**marks, "your weights": (motion, residual)})
    fig.update_layout(title=f"your weights 1 : {motion:g} : {residual:g}: fused top-1 {top1:.1f}%")
    return fig


interactive_figure(fused_at, {"motion": ratios, "residual": ratios}, value={"motion": 0.5, "residual": 0.5},
                   static=STATIC, static_figure=fusion_grid_figure(grid, ratios, ratios, marks=marks))

# %% [markdown]
# ### Exercise 2
# Fuse by hand: `2 * z_I + z_MV + z_R` on the test logits, and check that you get the fusion run's stored
# logits and its top-1.

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# Solution. The fusion run stores exactly this weighted sum.
by_hand = 2 * teacher_logits[0] + teacher_logits[1] + teacher_logits[2]
assert np.allclose(by_hand, fusion["logits"], atol=1e-4)
print(f"fused by hand: top-1 {100 * (by_hand.argmax(1) == labels).mean():.1f}% (stored: {fused_top1:.1f}%)")

# %% [markdown]
# ### Exercise 3
# The fusion is sometimes right where **every** teacher is wrong. Count those clips. How is that possible,
# when each teacher's vote is a wrong class?

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# Solution. Fusion adds whole score vectors, not votes: a class that is every teacher's second choice can
# collect the largest sum. So the fusion can beat the oracle's "at least one teacher right".
fused_right = fusion["logits"].argmax(1) == labels
beyond_oracle = fused_right & ~right.any(axis=0)
print(f"fusion right and every teacher wrong on {beyond_oracle.sum()} clips ({100 * beyond_oracle.mean():.1f}%); "
      f"oracle {c['oracle_top1']:.1f}%, fusion {fused_top1:.1f}%")

# %% [markdown]
# ### Exercise 4
# Fuse the teachers' **probabilities** (softmax of each stream's logits) instead of their logits, with the same
# 2:1:1 weights. Better or worse? Answer with a paired comparison (`kdlab.engine.stats.compare`), not by
# comparing two accuracies.

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# Solution. Same clips, so the comparison is paired: McNemar's test and a bootstrap by group.
probabilities = 2 * softmax(teacher_logits[0]) + softmax(teacher_logits[1]) + softmax(teacher_logits[2])
ids = fusion["video_ids"]
verdict = compare(Outcomes.from_logits("fusing probabilities", [(probabilities, labels, ids)]),
                  Outcomes.from_logits("fusing logits", [(fusion["logits"], labels, ids)]))
print(verdict.verdict)

# %%
confusion_figure(confusion_matrix(fusion["logits"], labels, len(classes)), classes, normalise=True,
                 title="fusion 2:1:1, row-normalised confusion")

# %% [markdown]
# ## What to take away
#
# Each line is computed from the runs above; comparisons come with their interval or test, never from an
# ordering of two numbers.

# %%
spread = max(stream_top1.values()) - min(stream_top1.values())
accuracies = ", ".join(f"{k} {v:.1f}%" for k, v in stream_top1.items())
print(f"- The teachers reach {'clearly different' if spread >= 2 else 'similar'} accuracies here ({accuracies}); "
      "the demo's I-frame teacher is a ResNet-18 at 1/4 width, not CoViAR's ResNet-152.")
print(f"- Disagreement is not complementarity: on {c['any_right_where_first_wrong']:.1f}% of the test clips the I-frame "
      f"teacher is wrong and another teacher is right (it is wrong on {c['first_wrong']:.1f}%; oracle "
      f"{c['oracle_top1']:.1f}%): that is what the other teachers can teach.")
ids = fusion["video_ids"]
verdict = compare(Outcomes.from_logits("the 2:1:1 fusion", [(fusion["logits"], labels, ids)]),
                  Outcomes.from_logits(f"the best teacher ({best_stream})", [(teacher_logits[names.index(best_stream)], labels, ids)]))
print(f"- {verdict.verdict} (one run of each, paired on {verdict.clips} test clips; McNemar p = {verdict.p_value:.3g}).")
print(f"- Fusion weights picked on the test clips score {choice['best_top1']:.1f}%, but {choice['held_out_top1']:.1f}% on clips "
      f"they were not picked on: choose weights (and epochs) on validation data, never on the test list.")
if SMOKE:
    print("- (SMOKE mode: tiny data and one epoch, so these numbers mean little; run without SMOKE for the real ones.)")

# %% [markdown]
# ## References
#
# * C.-Y. Wu et al. *Compressed Video Action Recognition.* CVPR 2018. [arXiv:1712.00636](https://arxiv.org/abs/1712.00636)
#   (the three streams and their 2:1:1 late fusion).
# * K. He, X. Zhang, S. Ren, J. Sun. *Deep Residual Learning for Image Recognition.* CVPR 2016.
#   [arXiv:1512.03385](https://arxiv.org/abs/1512.03385) (ResNet-18 and -152).
# * L. Wang et al. *Temporal Segment Networks: Towards Good Practices for Deep Action Recognition.* ECCV 2016.
#   [arXiv:1608.00859](https://arxiv.org/abs/1608.00859) (segment sampling, averaging scores over segments).
# * L. I. Kuncheva, C. J. Whitaker. *Measures of diversity in classifier ensembles and their relationship with the
#   ensemble accuracy.* Machine Learning 51, 2003. [doi:10.1023/A:1022859003006](https://doi.org/10.1023/A:1022859003006)
#   (disagreement, the oracle).
# * M.-C. Wu, C.-T. Chiu. *Multi-teacher knowledge distillation for compressed video action recognition based on
#   deep learning.* J. Systems Architecture 103 (2020) 101695. [doi:10.1016/j.sysarc.2019.101695](https://doi.org/10.1016/j.sysarc.2019.101695).
#
# Next: [03 · The student alone, with one teacher, with several](03_single_vs_multi_teacher.ipynb).
