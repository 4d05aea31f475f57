"""Plotly figure builders shared by the notebooks and the dashboard.

Each builder is a pure function: arrays, rows or dicts in, a ``plotly.graph_objects.Figure``
out, no file access, so a notebook and a dashboard page draw the same figure from the same data.

======================  ==================================================================
module                  builders
======================  ==================================================================
:mod:`.colour`          ``flow_to_rgb`` (motion field -> HSV colour), ``colour_wheel``,
                        ``hsv_to_rgb``, ``png_data_uri`` (numpy only)
:mod:`.video`           ``image_figure``, ``motion_arrows_figure`` (+ ``quiver_segments``,
                        ``auto_arrow_scale``), ``flow_figure``, ``residual_figure``,
                        ``gop_timeline_figure``
:mod:`.results`         ``experiment_table_figure``, ``accuracy_cost_figure``,
                        ``learning_curves_figure``, ``compression_figure`` (+ ``compression_rows``,
                        ``experiment_table``, ``seeds_table``, ``format_count``, ``log_ticks``)
:mod:`.teachers`        ``predictions_figure``, ``disagreement_matrix_figure`` (+ ``pairwise_matrix``),
                        ``per_class_disagreement_figure``, ``teacher_weights_figure``,
                        ``disagreement_rows``
:mod:`.distillation`    ``class_distributions_figure``, ``clip_weights_figure``,
                        ``kd_losses_figure``, ``class_weights_figure``
:mod:`.fusion`          ``fusion_grid_figure``
:mod:`.teaching`        ``gop_strip_figure``, ``channels_figure``, ``seed_dots_figure``,
                        ``differences_figure``, ``error_bars_figure``, ``lines_figure``, ``cost_breakdown_figure``,
                        ``stepped_figure``, ``interactive_figure`` (the notebooks' sliders)
:mod:`.confusion`       ``confusion_figure``, ``confusion_difference_figure`` (+ ``normalise_rows``)
======================  ==================================================================

>>> from kdlab.codec import extract
>>> from kdlab.figures import motion_arrows_figure, flow_figure
>>> reps = extract("clip.avi", accumulate=True, keep_frames=True)    # doctest: +SKIP
>>> motion_arrows_figure(reps.mv[5], reps.frames[5])                 # doctest: +SKIP
"""

from kdlab.figures._common import empty_figure
from kdlab.figures.colour import colour_wheel, flow_to_rgb, hsv_to_rgb, png_bytes, png_data_uri
from kdlab.figures.confusion import confusion_difference_figure, confusion_figure, normalise_rows
from kdlab.figures.distillation import (
    class_distributions_figure,
    class_weights_figure,
    clip_weights_figure,
    kd_losses_figure,
)
from kdlab.figures.fusion import fusion_grid_figure
from kdlab.figures.results import (
    accuracy_cost_figure,
    compression_figure,
    compression_rows,
    experiment_table,
    experiment_table_figure,
    format_count,
    learning_curves_figure,
    log_ticks,
    seeds_table,
)
from kdlab.figures.teachers import (
    disagreement_matrix_figure,
    disagreement_rows,
    pairwise_matrix,
    per_class_disagreement_figure,
    predictions_figure,
    teacher_weights_figure,
)
from kdlab.figures.teaching import (
    channels_figure,
    cost_breakdown_figure,
    differences_figure,
    error_bars_figure,
    gop_strip_figure,
    interactive_figure,
    lines_figure,
    seed_dots_figure,
    stepped_figure,
)
from kdlab.figures.video import (
    auto_arrow_scale,
    flow_figure,
    gop_timeline_figure,
    image_figure,
    motion_arrows_figure,
    quiver_segments,
    residual_figure,
)

__all__ = [
    "accuracy_cost_figure",
    "auto_arrow_scale",
    "channels_figure",
    "class_distributions_figure",
    "class_weights_figure",
    "clip_weights_figure",
    "colour_wheel",
    "compression_figure",
    "compression_rows",
    "confusion_difference_figure",
    "confusion_figure",
    "cost_breakdown_figure",
    "differences_figure",
    "disagreement_matrix_figure",
    "disagreement_rows",
    "empty_figure",
    "error_bars_figure",
    "experiment_table",
    "experiment_table_figure",
    "flow_figure",
    "flow_to_rgb",
    "format_count",
    "fusion_grid_figure",
    "gop_strip_figure",
    "gop_timeline_figure",
    "hsv_to_rgb",
    "image_figure",
    "interactive_figure",
    "kd_losses_figure",
    "learning_curves_figure",
    "lines_figure",
    "log_ticks",
    "motion_arrows_figure",
    "normalise_rows",
    "pairwise_matrix",
    "per_class_disagreement_figure",
    "png_bytes",
    "png_data_uri",
    "predictions_figure",
    "quiver_segments",
    "residual_figure",
    "seed_dots_figure",
    "seeds_table",
    "stepped_figure",
    "teacher_weights_figure",
]
