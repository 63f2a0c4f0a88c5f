"""Sweeps: study YAML schema, phase chaining, the Optuna driver."""
