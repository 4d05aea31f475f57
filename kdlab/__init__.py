"""kdlab: multi-teacher knowledge distillation for compressed-video action recognition.

Submodules, one concern each: :mod:`kdlab.codec` (MPEG-4 video to CoViAR's I-frame, motion and
residual representations), :mod:`kdlab.data` (datasets, sampling, the synthetic benchmark),
:mod:`kdlab.models`, :mod:`kdlab.losses`, :mod:`kdlab.distill`, :mod:`kdlab.engine` (training,
evaluation, profiling), :mod:`kdlab.figures` and :mod:`kdlab.cli`.
"""

__version__ = "0.1.0"
