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
                        ``learning_curves_figure``, ``compression_figure`` (+ ``compression_rows``)
:mod:`.teachers`        ``predictions_figure``, ``disagreement_matrix_figure`` (+ ``pairwise_matrix``),
                        ``per_class_disagreement_figure``, ``teacher_weights_figure``,
                        ``disagreement_rows``
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
from kdlab.figures.results import (
    accuracy_cost_figure,
    compression_figure,
    compression_rows,
    experiment_table_figure,
    learning_curves_figure,
)
from kdlab.figures.teachers import (
    disagreement_matrix_figure,
    disagreement_rows,
    pairwise_matrix,
    per_class_disagreement_figure,
    predictions_figure,
    teacher_weights_figure,
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
    "colour_wheel",
    "compression_figure",
    "compression_rows",
    "confusion_difference_figure",
    "confusion_figure",
    "disagreement_matrix_figure",
    "disagreement_rows",
    "empty_figure",
    "experiment_table_figure",
    "flow_figure",
    "flow_to_rgb",
    "gop_timeline_figure",
    "hsv_to_rgb",
    "image_figure",
    "learning_curves_figure",
    "motion_arrows_figure",
    "normalise_rows",
    "pairwise_matrix",
    "per_class_disagreement_figure",
    "png_bytes",
    "png_data_uri",
    "predictions_figure",
    "quiver_segments",
    "residual_figure",
    "teacher_weights_figure",
]
