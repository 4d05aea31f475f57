"""Datasets of compressed video: split files, frame sampling, transforms and the synthetic benchmark.

The synthetic benchmark (``kdlab synth``) lives in :mod:`kdlab.data.synthetic`.
"""

from kdlab.data.synthetic import PRESETS, SynthConfig, generate, render_clip

__all__ = ["PRESETS", "SynthConfig", "generate", "render_clip"]
