"""Box sizes: an object's side √(w·h) as a share of its image's, its pixels at each input size,
and what data_prep records and prints of them."""

import math

import pytest

from burgerfries.data.box_sizes import CANDIDATE_SIZES, box_sizes, describe


def test_sides_quantiles_and_pixels_per_input_size():
    boxes = [("card", 0.0, 0.0, 0.5, 0.5)] * 9 + [("mark", 0.1, 0.1, 0.2, 0.14)]  # 0.5 and √(0.1·0.04) = 0.063
    sizes = box_sizes(boxes)
    assert sizes.sides["all"][-1] == pytest.approx(math.sqrt(0.1 * 0.04))
    assert sizes.quantile(0.5, "card") == pytest.approx(0.5)
    # numpy's linear quantile: 0.1 of the way over 9 gaps is position 0.9, between the mark and a card
    assert sizes.quantile(0.1) == pytest.approx(0.063245553 + 0.9 * (0.5 - 0.063245553))
    assert sizes.pixels(320, name="mark") == pytest.approx(320 * math.sqrt(0.004))
    recorded = sizes.as_dict()
    assert set(recorded["p10_pixels"]) == {str(size) for size in CANDIDATE_SIZES}
    assert recorded["objects"] == {"all": 10, "card": 9, "mark": 1}
    text = describe(recorded)
    assert "smallest class 'mark': 10 px at 160" in text and f"px at {CANDIDATE_SIZES[-1]}" in text
    assert describe(None) == "box sizes: no objects recorded"
    assert box_sizes([]).as_dict()["objects"] == {"all": 0}


def test_data_prep_records_the_training_splits_box_sizes(synthetic_data):
    import json

    summary = json.loads((synthetic_data / "dataset.json").read_text())
    recorded = summary["box_sizes"]
    objects = sum(summary["num_objects"]["train"].values())
    assert recorded["objects"]["all"] == objects
    assert 0 < recorded["side_share"]["all"]["p10"] <= recorded["side_share"]["all"]["p50"] <= 1
    assert recorded["p10_pixels"]["320"] == pytest.approx(2 * recorded["p10_pixels"]["160"], abs=0.11)
