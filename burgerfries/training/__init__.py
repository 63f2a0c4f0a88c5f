"""Training: the learning-rate schedule, the step, the loop with checkpoints and tracking."""
