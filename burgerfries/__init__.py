"""burgerfries: train and tune small SSD detectors on LabelImg datasets, tracked in MLflow."""

import os

__version__ = "0.1.0"

# TensorFlow 2.21 runs convolutions and batch norm on its oneDNN kernels by default only on some
# CPUs; on an AVX2-only machine it used its Eigen kernels and our smoke step took longer
# (bench/RESULTS.md, "Where a step's time goes, op by op"). TensorFlow reads
# the variable when it is imported, so it is set here, before any module of ours imports it; a value
# the user set wins.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def __getattr__(name: str):
    """`from burgerfries import train`: the Python API (`burgerfries/api.py`), imported when first
    asked for, so `import burgerfries` alone does not start TensorFlow."""
    if name == "train":
        from burgerfries.api import train

        return train
    raise AttributeError(f"module 'burgerfries' has no attribute {name!r}")
