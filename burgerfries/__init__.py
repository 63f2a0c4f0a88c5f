"""burgerfries: train and tune small SSD detectors on LabelImg datasets, tracked in MLflow."""

__version__ = "0.1.0"
