"""Training, evaluation, fusion and profiling: the engine behind kdlab train/distill/evaluate/fuse/profile."""
