"""Figures of a study's results: the experiment table, accuracy against cost, learning curves, compression.

Inputs are the plain rows and dicts that the engine writes: ``study.json``'s ``results`` (``runs``
rows with ``run, group, loss, representation, arch, teachers, params, top1, ...``;
``compression``), ``summary.json`` (``params``, ``flops_per_frame``) and ``metrics.csv`` rows
(``epoch, loss, loss_ce, loss_kd, train_top1, val_top1, ...``), as
:meth:`kdlab.engine.runs.RunFolder.metrics` returns them.

>>> study = json.load(open("runs/demo/study.json"))                                   # doctest: +SKIP
>>> accuracy_cost_figure(study["results"]["runs"], cost="params").show()               # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from kdlab.figures._common import GROUP_COLOURS, PALETTE, empty_figure, is_number

#: Axis titles of the columns that the figures plot.
LABELS = {
    "params": "parameters",
    "flops_per_frame": "FLOPs per frame (2 x multiply-adds)",
    "top1": "test top-1 (%)",
    "mean_class_accuracy": "test mean class accuracy (%)",
    "loss": "training loss (total)",
    "loss_ce": "cross-entropy loss",
    "loss_kd": "distillation loss",
    "loss_feat": "feature loss",
    "train_top1": "training top-1 (%)",
    "val_top1": "validation top-1 (%)",
    "val_top5": "validation top-5 (%)",
    "lr": "learning rate",
    "epoch_seconds": "seconds per epoch",
}


def experiment_table_figure(rows: Sequence[dict], columns: Sequence[str] | None = None, height: int | None = None) -> go.Figure:
    """``rows`` (one dict per run) as a ``go.Table``; ``columns`` default to the first row's keys."""
    if not rows:
        return empty_figure("no runs yet")
    columns = list(columns or rows[0])

    def cell(value):
        if isinstance(value, float):
            return f"{value:.2f}"
        return "" if value is None else str(value)

    fig = go.Figure(go.Table(
        header=dict(values=columns, align="left", fill_color="#e8e8e8"),
        cells=dict(values=[[cell(row.get(c)) for row in rows] for c in columns], align="left"),
    ))
    fig.update_layout(margin=dict(l=0, r=0, t=10, b=0), height=height or 40 + 24 * (len(rows) + 1))
    return fig


def accuracy_cost_figure(
    rows: Sequence[dict], cost: str = "params", accuracy: str = "top1", log_x: bool = True, height: int | None = 420
) -> go.Figure:
    """Accuracy against cost, one marker per run labelled by its name, one trace per ``group``.

    ``cost``: a row key, ``"params"`` or ``"flops_per_frame"`` (``summary.json``'s). Rows without a
    number for ``cost`` or ``accuracy`` (fused systems have no single network) are left out.
    """
    kept = [r for r in rows if is_number(r.get(cost)) and is_number(r.get(accuracy))]
    if not kept:
        return empty_figure(f"no run has both {cost} and {accuracy}")
    fig = go.Figure()
    for group in dict.fromkeys(r.get("group", "") for r in kept):
        members = [r for r in kept if r.get("group", "") == group]
        fig.add_trace(go.Scatter(
            x=[r[cost] for r in members], y=[r[accuracy] for r in members], text=[r["run"] for r in members],
            mode="markers+text", textposition="top center", name=group or "runs",
            marker=dict(size=11, color=GROUP_COLOURS.get(group, "#2ca02c")),
            hovertemplate="%{text}<br>" + LABELS.get(cost, cost) + " %{x:,.0f}<br>" + LABELS.get(accuracy, accuracy)
            + " %{y:.1f}<extra></extra>",
        ))
    fig.update_xaxes(title=LABELS.get(cost, cost), type="log" if log_x else "linear")
    fig.update_yaxes(title=LABELS.get(accuracy, accuracy))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10),
                      title=f"{LABELS.get(accuracy, accuracy)} vs {LABELS.get(cost, cost)}")
    return fig


def learning_curves_figure(
    curves: dict[str, Sequence[dict]], metrics: Sequence[str] = ("loss", "val_top1"), height: int | None = 380
) -> go.Figure:
    """One panel per metric, one line per run: ``curves`` maps a run name to its ``metrics.csv`` rows.

    The x axis is ``epoch`` (the row's index when absent); empty cells are skipped.
    """
    curves = {name: rows for name, rows in curves.items() if rows}
    if not curves or not metrics:
        return empty_figure("no metrics.csv rows to draw")
    fig = make_subplots(rows=1, cols=len(metrics), subplot_titles=[LABELS.get(m, m) for m in metrics])
    for i, (name, rows) in enumerate(curves.items()):
        colour = PALETTE[i % len(PALETTE)]
        for col, metric in enumerate(metrics, start=1):
            points = [(row.get("epoch", k), row[metric]) for k, row in enumerate(rows) if is_number(row.get(metric))]
            fig.add_trace(go.Scatter(
                x=[p[0] for p in points], y=[p[1] for p in points], mode="lines+markers", name=name,
                legendgroup=name, showlegend=col == 1, line=dict(color=colour), marker=dict(size=5),
            ), row=1, col=col)
    fig.update_xaxes(title="epoch")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def _settings(table: dict) -> list[tuple[str, dict]]:
    """``(label, table)`` of the full-size table (when present) and the demo-size one."""
    out = []
    if table.get("full_size"):
        full = table["full_size"]
        out.append((f"full size ({full.get('size')} px, {full.get('num_classes')} classes)", full))
    if table.get("rows"):
        out.append((f"demo size ({table.get('size')} px, {table.get('num_classes')} classes)", table))
    return out


def compression_rows(table: dict | None) -> list[dict]:
    """Flat rows of a compression table (``study.json``'s ``results.compression``) for a data frame.

    One row per (setting, system): the three networks, parameters (M), GFLOPs per GOP and per
    (I, MV, R) triple, the fused top-1 when measured, and the setting's ratios.
    """
    if not table:
        return []
    rows = []
    for label, t in _settings(table):
        for row in t["rows"]:
            rows.append({
                "setting": label, "system": row.get("system"),
                "iframe_net": row.get("iframe_net"), "mv_net": row.get("mv_net"), "residual_net": row.get("residual_net"),
                "params_M": row.get("params_M"), "gflops_per_gop": row.get("gflops_per_gop"),
                "gflops_per_triple": row.get("gflops_per_triple"), "fused_top1": row.get("fused_top1"),
                "param_ratio": t.get("param_ratio"), "flops_ratio_per_gop": t.get("flops_ratio_per_gop"),
            })
    return rows


def compression_figure(table: dict | None, height: int | None = 380) -> go.Figure:
    """Parameters and GFLOPs per GOP of the CoViAR-style and the distilled system, per setting (log axes).

    The x labels carry the ratios (``param_ratio``, ``flops_ratio_per_gop``) that the table states.
    """
    if not table or not _settings(table):
        return empty_figure("no compression table (the study has not trained teacher_iframe and mkd_streams yet)")
    panels = (("params_M", "param_ratio", "parameters (M)", "x fewer parameters"),
              ("gflops_per_gop", "flops_ratio_per_gop", "GFLOPs per GOP", "x fewer FLOPs per GOP"))
    fig = make_subplots(rows=1, cols=2, subplot_titles=[p[2] for p in panels])
    systems = list(dict.fromkeys(row["system"] for _, t in _settings(table) for row in t["rows"]))
    for col, (key, ratio, _, words) in enumerate(panels, start=1):
        for i, system in enumerate(systems):
            xs, ys, texts = [], [], []
            for label, t in _settings(table):
                for row in t["rows"]:
                    if row["system"] == system:
                        xs.append(f"{label}<br>{t.get(ratio, float('nan')):.2f}{words}")
                        ys.append(row[key])
                        texts.append(f"{row.get('iframe_net')}: {row[key]:.3g}")
            fig.add_trace(go.Bar(x=xs, y=ys, text=texts, textposition="outside", name=system, legendgroup=system,
                                 showlegend=col == 1, marker_color=PALETTE[i % len(PALETTE)]), row=1, col=col)
    fig.update_yaxes(type="log")
    fig.update_layout(barmode="group", height=height, margin=dict(l=10, r=10, t=40, b=10))
    return fig
