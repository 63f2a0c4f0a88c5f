"""A small study definition for the sweep tests, as a mapping a YAML file would hold."""

from burgerfries.keys import STUDY_KNOBS

BASE = {"batch_size": 2, "learning_rate": 0.04, "classification_weight": 1.0, "localization_weight": 1.0}
assert set(BASE) == set(STUDY_KNOBS)


def definition(**changes):
    data = {
        "name": "s",
        "models": ["ssd_mobilenet_v2_320x320"],
        "base": dict(BASE),
        "phases": [{"name": "batch", "grid": {"batch_size": [2, 3]}}],
    }
    data.update(changes)
    return data
