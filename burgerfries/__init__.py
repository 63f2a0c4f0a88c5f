"""burgerfries: train and tune small SSD detectors on LabelImg datasets, tracked in MLflow."""

import os

__version__ = "0.1.0"

# TensorFlow 2.21 runs convolutions and batch norm on its oneDNN kernels by default only on some
# CPUs; on an AVX2-only machine it used plain Eigen kernels and our smoke step took 1.26-1.43x
# longer (bench/RESULTS.md, "Where a step's time goes"). Read when TensorFlow is imported, so set
# here, before any module of ours imports it; a value the user set wins.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
