"""Training without tracking: assembling detector + optimizer + input + step from a config, the
learning-rate schedule, the step, the loop (a generator of per-step results) and checkpoints."""
