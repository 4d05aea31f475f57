"""Fusion by hand: CoViAR's late fusion of the I-frame, motion and residual streams with weights set by sliders,
its test top-1 with an interval, and a map of top-1 over the weights (with the optimism of picking the best);
the early exits of PKD runs against their cost; then the learned fusion (temperatures and weights fitted on the
validation split) against 2:1:1, with intervals."""

import numpy as np
import streamlit as st

import state
from kdlab.errors import KdlabError
from kdlab.figures import fusion_grid_figure
from kdlab.models import COVIAR_FUSION_WEIGHTS

STREAMS = {"iframe": "I-frame", "mv": "motion", "residual": "residual"}
PREFERRED = {"iframe": "teacher_iframe", "mv": "teacher_mv", "residual": "teacher_residual"}
RATIOS = np.round(np.arange(0.0, 3.0001, 0.1), 2)  # weights relative to the I-frame's
MAX_WEIGHT = 4.0

st.title("Fusion")
st.caption("CoViAR classifies with three networks, one per stream of the compressed video, and adds their scores: "
           "2 x I-frame + 1 x motion + 1 x residual. Set the weights yourself: the fused top-1 on the test set is "
           "recomputed from the runs' stored logits (`kdlab.engine.fuse`, `kdlab.models.late_fusion`).")

folder = state.runs_dir()
names = state.require_runs(folder)
finished = state.runs_with_predictions(folder, names)
candidates = {stream: [n for n in finished if state.representation(folder / n) == stream] for stream in STREAMS}
missing = [STREAMS[s] for s, runs in candidates.items() if not runs]
if missing:
    damaged = " (or only damaged ones, named above)" if state.damaged_runs(folder) else ""
    st.info(f"Fusion needs a finished run for each stream; none yet{damaged} for {', '.join(missing)} in `{folder}` "
            f"(teacher_iframe, teacher_mv, teacher_residual). {state.make_runs(folder)}.")
    st.stop()
groups = {step["name"]: step.get("group", "") for step in (state.study(folder) or {}).get("steps", [])}


def choose(stream: str, label: str):
    """The run of one stream; a select box only where there is a choice."""
    runs = candidates[stream]
    preferred = PREFERRED[stream] if PREFERRED[stream] in runs else runs[0]
    key = f"f_{stream}"
    state.from_url(key, preferred, runs)
    if len(runs) > 1:
        st.selectbox(label, runs, key=key, format_func=lambda n: f"{n} ({groups[n]})" if groups.get(n) else n)
    state.to_url(key, preferred)
    return st.session_state[key]


left, right = st.columns([2, 3])
with left:
    iframe = choose("iframe", "I-frame network: the teacher, or a distilled student")
    mv, residual = choose("mv", "Motion network"), choose("residual", "Residual network")
    st.caption(f"streams: `{iframe}` + `{mv}` + `{residual}`")
with right:
    weights = []
    for stream, column in zip(STREAMS, st.columns(3)):
        key, default = f"f_w_{stream}", COVIAR_FUSION_WEIGHTS[stream]
        state.from_url(key, default, cast=state.number_in(0.0, MAX_WEIGHT, 0.1))
        with column:
            weights.append(st.slider(f"{STREAMS[stream]} weight", 0.0, MAX_WEIGHT, step=0.1, key=key))
        state.to_url(key, default)
runs = [folder / iframe, folder / mv, folder / residual]
if not any(weights):
    st.warning("Every weight is 0: there is nothing to fuse. Give at least one stream a weight above 0.")
    st.stop()

try:
    logits, labels, ids = state.fused(runs, weights)
    coviar_logits, _, _ = state.fused(runs, list(COVIAR_FUSION_WEIGHTS.values()))
except KdlabError as exc:  # runs of different test lists: ConfigError names the first missing clip
    st.error(f"These runs cannot be fused: {exc}")
    st.stop()
correct = logits.argmax(1) == labels
coviar_correct = coviar_logits.argmax(1) == labels
fused_top1 = state.accuracy_interval(correct, ids, labels)
versus = state.comparison(correct, coviar_correct, ids, labels, "your weights", "2:1:1")
alone = {name: state.accuracy_interval(state.fused([run], [1.0])[0].argmax(1) == labels, ids, labels)
         for name, run in zip(STREAMS.values(), runs)}

columns = st.columns(5)
columns[0].metric("fused top-1", f"{fused_top1.estimate:.1f} %",
                  help=f"95 % interval [{fused_top1.low:.1f}, {fused_top1.high:.1f}] ({fused_top1.method}, "
                       f"{len(labels)} test clips)")
columns[0].caption(f"95 % interval [{fused_top1.low:.1f}, {fused_top1.high:.1f}]")
columns[1].metric("vs 2:1:1, same networks", f"{versus.difference:+.1f} points")
columns[1].caption(f"95 % interval [{versus.low:+.1f}, {versus.high:+.1f}], same clips")
for column, (name, interval) in zip(columns[2:], alone.items()):
    column.metric(f"{name} alone", f"{interval.estimate:.1f} %")
    column.caption(f"[{interval.low:.1f}, {interval.high:.1f}]")
if np.array_equal(logits.argmax(1), coviar_logits.argmax(1)):  # 2:1:1 itself, or weights in its ratios
    st.markdown("**Verdict:** your weights predict every test clip as 2:1:1 does: the same system.")
else:
    st.markdown(f"**Verdict:** {versus.verdict} (one run each, the same test clips).")

grid, grid_labels, grid_ids = state.fusion_grid(runs, RATIOS)
accuracy = 100 * grid.mean(1).reshape(len(RATIOS), len(RATIOS))  # (residual, motion)
choice = state.held_out_choice(grid, grid_ids)
best_r, best_m = divmod(choice["best"], len(RATIOS))
marks = {"CoViAR 2:1:1": (0.5, 0.5), "best on the test set": (float(RATIOS[best_m]), float(RATIOS[best_r]))}
if weights[0] > 0 and max(weights[1], weights[2]) / weights[0] <= RATIOS[-1]:
    marks["your weights"] = (weights[1] / weights[0], weights[2] / weights[0])
left, right = st.columns([3, 2])
with left:
    st.plotly_chart(fusion_grid_figure(accuracy, RATIOS, RATIOS, marks), key="f_grid")
with right:
    st.markdown(f"**Best on the test set:** {choice['best_top1']:.1f} % at 1 : {RATIOS[best_m]:g} : {RATIOS[best_r]:g} "
                f"(I : motion : residual); CoViAR's 2:1:1 gives {100 * coviar_correct.mean():.1f} %.")
    st.markdown(f"**That best is optimistic:** it was picked on the very clips that score it. Picked on half of the "
                f"test groups and scored on the other half (and the reverse, over 20 random halvings), the best "
                f"weights give **{choice['held_out_top1']:.1f} %**: {choice['optimism']:.1f} points of the best "
                "point's lead are the luck of choosing on the test set.")
    st.caption("Choose fusion weights on validation clips, never on the test set: the learned fusion below does. "
               "Only the ratios matter: doubling every weight changes no prediction, so the map fixes the I-frame "
               "weight at 1. "
               + ("" if "your weights" in marks else "Your weights are off this map (the I-frame weight is 0 or the "
                                                     "others exceed 3 times it)."))

with_exits = [run for run in runs if state.exits(run) is not None]
if with_exits:
    st.subheader("Early exits: accuracy against cost")
    st.caption("PKD runs (Soufleri et al. 2024) carry internal classifiers after their first stages; an exit needs "
               "only the network up to it. Test top-1 with its 95 % interval (by clip group), FLOPs = 2 x multiply-adds "
               "of one frame up to the exit (`exits.npz`, `kdlab.engine.exits`).")
    rows = []
    for run in with_exits:
        e = state.exits(run)
        for name, z, flops in zip(e.names.tolist(), e.logits, e.flops_per_frame.tolist()):
            interval = state.accuracy_interval(z.argmax(1) == e.labels, e.video_ids, e.labels)
            rows.append({"run": run.name, "exit": name, "MFLOPs / frame": round(flops / 1e6, 2),
                         "test top-1 %": round(interval.estimate, 1),
                         "95 % interval": f"[{interval.low:.1f}, {interval.high:.1f}]"})
    st.dataframe(rows, hide_index=True, key="f_exits")

st.subheader("Learned fusion: fitted on the validation split")
st.caption("WISE-style (Soufleri et al. 2024): each stream's logits are calibrated by a temperature, then the "
           "streams' temperature-scaled log-probabilities are summed with weights that sum to 1 (a logarithmic opinion "
           "pool); both are fitted on the runs' validation "
           "groups (held-out groups of the training list, scored like the test list), never on the test clips "
           "(`kdlab fuse --learn`, `kdlab.engine.learned_fusion`).")
try:
    fit, learned_logits, _, _ = state.learned_fusion(runs)
except KdlabError as exc:  # runs from before validation logits were stored (no st.stop: the page ends normally)
    fit = None
    st.info(f"No learned fusion for these runs: {exc}.")
if fit is not None:
    learned_correct = learned_logits.argmax(1) == labels
    learned_top1 = state.accuracy_interval(learned_correct, ids, labels)
    learned_vs = state.comparison(learned_correct, coviar_correct, ids, labels, "the learned fusion", "2:1:1")
    columns = st.columns(3)
    columns[0].metric("learned fusion top-1", f"{learned_top1.estimate:.1f} %")
    columns[0].caption(f"95 % interval [{learned_top1.low:.1f}, {learned_top1.high:.1f}]")
    columns[1].metric("learned vs 2:1:1", f"{learned_vs.difference:+.1f} points")
    columns[1].caption(f"95 % interval [{learned_vs.low:+.1f}, {learned_vs.high:+.1f}], same clips")
    columns[2].metric("validation top-1 (fitted there)", f"{fit['val_top1']:.1f} %")
    st.markdown("weights " + ", ".join(f"{name} **{w:.2f}**" for name, w in zip(STREAMS.values(), fit["weights"]))
                + "; temperatures " + ", ".join(f"{name} {t:.2f}" for name, t in zip(STREAMS.values(), fit["temperatures"])))
    st.markdown(f"**Verdict:** {learned_vs.verdict} (one run each, the same test clips).")
