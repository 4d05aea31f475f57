"""Figures and tables of a study's results: the experiment table, accuracy against cost, learning curves, compression.

Inputs are the plain rows and dicts that the engine writes: ``study.json``'s ``results`` (``runs``
rows with ``run, group, loss, representation, arch, teachers, params, top1, ...``;
``compression``), ``summary.json`` (``params``, ``flops_per_frame``) and ``metrics.csv`` rows
(``epoch, loss, loss_ce, loss_kd, train_top1, val_top1, ...``), as
:meth:`kdlab.engine.runs.RunFolder.metrics` returns them.

Tables for people (:func:`experiment_table`, :func:`compression_rows`) write numbers as a reader
wants them: percentages with one decimal, parameters and FLOPs in k / M / G (:func:`format_count`),
columns named in words, and a dash where there is no value.

>>> study = json.load(open("runs/demo/study.json"))                                   # doctest: +SKIP
>>> accuracy_cost_figure(study["results"]["runs"], cost="params").show()               # doctest: +SKIP
"""

from __future__ import annotations

import math
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


#: What a missing value shows in a table for people.
MISSING = "–"

#: The losses of :mod:`kdlab.losses` (and a fusion), in words.
LOSS_WORDS = {
    "ce": "labels only", "kd": "KD, one teacher", "avg_kd": "mean of KD losses", "kd_to_avg": "KD to the mean target",
    "weighted_kd": "fixed teacher weights", "ebkd": "entropy weights (EBKD)", "camkd": "confidence weights (CA-MKD)",
    "aekd": "gradient-space weights (AE-KD)", "dkd": "decoupled KD (DKD)", "fitnets": "feature hints (FitNets)",
    "fusion": "late fusion",
}
#: The compressed-video representations, in words.
REPRESENTATION_WORDS = {"iframe": "I-frames", "mv": "motion vectors", "residual": "residuals"}


def format_count(value, unit: str = "") -> str:
    """A count with three significant digits and a k / M / G prefix: ``176584 -> "177 k"``,
    ``49768960 -> "49.8 M"``, ``1.2e9 -> "1.2 G"``; ``unit`` follows the prefix; a dash when not a number."""
    if not is_number(value):
        return MISSING
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g}" + (f" {unit}" if unit else "")


def format_percent(value) -> str:
    """A percentage with one decimal (``33.3333 -> "33.3"``), a dash when not a number."""
    return f"{value:.1f}" if is_number(value) else MISSING


def _words(value, words: dict) -> str:
    """``value`` in words (``"iframe+mv" -> "I-frames + motion vectors"``), a dash when empty."""
    if value in (None, ""):
        return MISSING
    return " + ".join(words.get(part, part) for part in str(value).split("+"))


def experiment_table(rows: Sequence[dict]) -> list[dict]:
    """Experiment rows (``study.json``'s ``results.runs``, plus ``flops_per_frame``) for people: columns in
    words, percentages with one decimal, parameters and FLOPs in k / M / G, a dash where a value is missing
    (a fused system has no single network)."""
    out = []
    for row in rows:
        teachers = row.get("teachers")
        out.append({
            "run": row.get("run", MISSING),
            "group": row.get("group") or MISSING,
            "input": _words(row.get("representation"), REPRESENTATION_WORDS),
            "network": row.get("arch") or MISSING,
            "training": _words(row.get("loss"), LOSS_WORDS),
            "teachers": str(teachers) if is_number(teachers) and teachers > 0 else MISSING,
            "parameters": format_count(row.get("params")),
            "FLOPs per frame": format_count(row.get("flops_per_frame")),
            "test top-1 (%)": format_percent(row.get("top1")),
            "top-1 at the epoch picked on validation (%)": format_percent(row.get("top1_best")),
            "mean class accuracy (%)": format_percent(row.get("mean_class_accuracy")),
            "test protocol": row.get("protocol") or MISSING,
        })
    return out


def seeds_table(seeds: Sequence[dict]) -> list[dict]:
    """``study.json``'s ``results.seeds`` rows (:func:`kdlab.engine.claims.seed_summary`) for people."""
    return [{
        "method": row["run"], "seeds": len(row.get("seeds", ())),
        "test top-1 (%), mean over seeds": format_percent(row.get("top1")),
        "95 % interval": (f"[{row['low']:.1f}, {row['high']:.1f}]" if is_number(row.get("low")) and is_number(row.get("high"))
                          else MISSING),
        "per seed": ", ".join(format_percent(v) for v in row.get("top1_per_seed", ())) or MISSING,
    } for row in seeds]


def log_ticks(values: Sequence[float], unit: str = "", counts: bool = True) -> tuple[list[float], list[str]]:
    """Tick positions and labels for a log axis over ``values``: 1, 2, 5 per decade (decades only when the
    values span more than four), written with :func:`format_count` (``counts``) or as plain numbers.

    Plotly's own log ticks label the minor steps with their leading digit alone ("100, 5, 2, 10, 5, 2").
    """
    positive = [float(v) for v in values if is_number(v) and v > 0]
    if not positive:
        return [], []
    low, high = math.floor(math.log10(min(positive))), math.ceil(math.log10(max(positive)))
    steps = (1,) if math.log10(max(positive) / min(positive)) > 4 else (1, 2, 5)
    ticks = [float(f"{m * 10.0**e:.6g}") for e in range(low - 1, high + 2) for m in steps]
    text = [format_count(t, unit) if counts else f"{t:g}" for t in ticks]
    return ticks, text


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
    rows: Sequence[dict], cost: str = "params", accuracy: str = "top1", log_x: bool = True, height: int | None = 420,
    seeds: Sequence[dict] | None = None, hidden_groups: Sequence[str] = ("ablation",),
) -> go.Figure:
    """Accuracy against cost, one marker per method, one trace (colour, legend entry) per ``group``.

    ``cost``: a row key, ``"params"`` or ``"flops_per_frame"`` (``summary.json``'s). Rows without a
    number for ``cost`` or ``accuracy`` (fused systems have no single network) are left out. Rows with
    the same ``method`` (default: the run's name; a page sets it to the run without its ``_seedN``)
    are one marker at their mean; with ``seeds`` (``study.json``'s ``results.seeds``: ``run, top1, low,
    high`` per method) and ``accuracy == "top1"``, the marker sits at that mean with its 95 % interval as
    an error bar. Names show on hover, not on the markers (they would overlap); log axes get
    readable ticks (:func:`log_ticks`). Groups in ``hidden_groups`` start hidden (a click on the legend
    shows them): the ablations share the students' network and would pile up on one column.
    """
    kept = [r for r in rows if is_number(r.get(cost)) and is_number(r.get(accuracy))]
    if not kept:
        return empty_figure(f"no run has both {cost} and {accuracy}")
    intervals = {row["run"]: row for row in seeds or () if accuracy == "top1"}
    methods: dict[str, list[dict]] = {}
    for row in kept:
        methods.setdefault(row.get("method") or row["run"], []).append(row)
    fig = go.Figure()
    for group in dict.fromkeys(r.get("group", "") for r in kept):
        points = []
        for method, members in methods.items():
            if members[0].get("group", "") != group:
                continue
            values = [r[accuracy] for r in members]
            interval = intervals.get(method)
            y = interval["top1"] if interval else sum(values) / len(values)
            low, high = (interval["low"], interval["high"]) if interval else (None, None)
            seeds_text = f"mean of {len(members)} seeds" if len(members) > 1 else members[0]["run"]
            span = f" [{low:.1f}, {high:.1f}]" if is_number(low) and is_number(high) else ""
            points.append((method, members[0][cost], y, low, high,
                           f"<b>{method}</b> ({seeds_text})<br>{LABELS.get(accuracy, accuracy)} {y:.1f}{span}"
                           f"<br>{LABELS.get(cost, cost)} {format_count(members[0][cost])}"))
        has_bars = any(is_number(p[3]) for p in points)
        fig.add_trace(go.Scatter(
            x=[p[1] for p in points], y=[p[2] for p in points], customdata=[p[0] for p in points],
            text=[p[5] for p in points], mode="markers", name=group or "runs",
            visible="legendonly" if group in hidden_groups else True,
            marker=dict(size=11, color=GROUP_COLOURS.get(group, "#2ca02c"), line=dict(width=1, color="white")),
            error_y=dict(type="data", symmetric=False, thickness=1.5, width=4,
                         array=[p[4] - p[2] if is_number(p[4]) else None for p in points],
                         arrayminus=[p[2] - p[3] if is_number(p[3]) else None for p in points]) if has_bars else None,
            hovertemplate="%{text}<extra></extra>",
        ))
    fig.update_xaxes(title=LABELS.get(cost, cost), type="log" if log_x else "linear")
    if log_x:
        ticks, text = log_ticks([r[cost] for r in kept])
        fig.update_xaxes(tickvals=ticks, ticktext=text)
    fig.update_yaxes(title=LABELS.get(accuracy, accuracy))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), hovermode="closest",
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


def _setting_label(name: str, table: dict) -> str:
    """``"full size (224 px, 101 classes)"``, leaving out what the table does not state."""
    parts = [f"{table['size']} px" if table.get("size") else "",
             f"{table['num_classes']} classes" if table.get("num_classes") else ""]
    parts = [p for p in parts if p]
    return f"{name} ({', '.join(parts)})" if parts else name


def _settings(table: dict) -> list[tuple[str, dict]]:
    """``(label, table)`` of the full-size table (when present) and the demo-size one."""
    out = []
    if table.get("full_size"):
        out.append((_setting_label("full size", table["full_size"]), table["full_size"]))
    if table.get("rows"):
        out.append((_setting_label("demo size", table), table))
    return out


def _ratio(value) -> str:
    return f"{value:.2f}x" if is_number(value) else MISSING


def compression_rows(table: dict | None) -> list[dict]:
    """Rows of a compression table (``study.json``'s ``results.compression``) for people.

    One row per (setting, system): the three networks, parameters and FLOPs per GOP and per
    (I, MV, R) triple in k / M / G, the fused top-1 when measured (%), and the setting's ratios
    (CoViAR-style over distilled).
    """
    if not table:
        return []
    rows = []
    for label, t in _settings(table):
        for row in t["rows"]:
            gflops = row.get("gflops_per_gop"), row.get("gflops_per_triple")
            rows.append({
                "setting": label, "system": row.get("system") or MISSING,
                "I-frame network": row.get("iframe_net") or MISSING, "motion network": row.get("mv_net") or MISSING,
                "residual network": row.get("residual_net") or MISSING,
                "parameters": format_count(row["params_M"] * 1e6 if is_number(row.get("params_M")) else None),
                "FLOPs per GOP": format_count(gflops[0] * 1e9 if is_number(gflops[0]) else None),
                "FLOPs per I/MV/R triple": format_count(gflops[1] * 1e9 if is_number(gflops[1]) else None),
                "fused top-1 (%)": format_percent(row.get("fused_top1")),
                "fewer parameters": _ratio(t.get("param_ratio")),
                "fewer FLOPs per GOP": _ratio(t.get("flops_ratio_per_gop")),
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
    for col, (key, *_) in enumerate(panels, start=1):
        ticks, text = log_ticks([row.get(key) for _, t in _settings(table) for row in t["rows"]], counts=False)
        fig.update_yaxes(type="log", tickvals=ticks, ticktext=text, row=1, col=col)
    fig.update_layout(barmode="group", height=height, margin=dict(l=10, r=10, t=40, b=10))
    return fig
