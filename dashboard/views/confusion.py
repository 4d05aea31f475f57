"""Confusion matrices of any run (teacher, fusion or student), and the difference between two runs."""

import streamlit as st

import state
from kdlab.engine.metrics import classification_metrics, confusion_matrix
from kdlab.figures import confusion_difference_figure, confusion_figure

st.title("Confusion matrices")
folder = state.runs_dir()
runs = state.runs_with_predictions(folder, state.require_runs(folder))
if not runs:
    st.info(f"No run in `{folder}` has finished yet (no predictions.npz). {state.make_runs(folder)}.")
    st.stop()


def matrix(run: str):
    p = state.predictions(folder / run)
    return p, confusion_matrix(p.logits, p.labels, len(p.classes))


c1, c2, c3 = st.columns([2, 2, 1])
with c1:
    run_a = state.select_run("Run", runs, "c_run_a", "mkd_streams")
with c3:
    normalise = st.radio("Cells", ["counts", "row-normalised"], index=1, key="c_mode") == "row-normalised"
with c2:
    compare = st.checkbox("compare with another run", value=True, key="c_compare")
    run_b = state.select_run("Second run", runs, "c_run_b", "student_ce" if run_a != "student_ce" else "teacher_iframe") if compare else None

p_a, cm_a = matrix(run_a)
classes = [str(c) for c in p_a.classes]
shown = [("a", run_a, p_a, cm_a)]
if run_b:
    p_b, cm_b = matrix(run_b)
    if [str(c) for c in p_b.classes] != classes:
        st.warning(f"`{run_a}` and `{run_b}` were tested on different classes; no difference to show.")
        run_b = None
    else:
        shown.append(("b", run_b, p_b, cm_b))

columns = st.columns(len(shown))
for column, (which, name, p, cm) in zip(columns, shown):
    with column:
        m = classification_metrics(p.logits, p.labels, len(classes))
        a, b, c = st.columns(3)
        a.metric("top-1", f"{m['top1']:.1f} %")
        b.metric("mean class accuracy", f"{m['mean_class_accuracy']:.1f} %")
        c.metric("calibration error", f"{m['ece']:.3f}")
        st.plotly_chart(confusion_figure(cm, classes, normalise, title=f"{name} ({m['videos']} videos)"),
                        key=f"c_cm_{which}")
if run_b:
    st.plotly_chart(confusion_difference_figure(cm_a, cm_b, classes, (run_a, run_b), normalise), key="c_diff")
