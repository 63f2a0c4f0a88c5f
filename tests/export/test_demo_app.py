"""The demo page's drawing: labels a person can read on a large photo."""

import numpy as np

from burgerfries.export.demo_app import BOX_COLOUR, draw_rows


def label_rows(drawn: np.ndarray, box_top: int) -> int:
    """Rows above the box's top edge that hold the filled label tab (BOX_COLOUR) beside the box's left edge."""
    tab = np.all(drawn[:box_top, :, :] == BOX_COLOUR, axis=2).sum(axis=1)
    return int((tab > 20).sum())


def test_a_label_is_at_least_two_percent_of_the_photos_height():
    for height, width in ((1200, 1600), (504, 378)):
        photo = np.zeros((height, width, 3), np.uint8)
        drawn = np.asarray(draw_rows(photo, [["queen", 0.91, 0.5, 0.1, 0.9, 0.6]]))
        assert label_rows(drawn, int(0.5 * height)) >= 0.02 * height
        assert drawn[int(0.5 * height) - 2 : int(0.5 * height), :, :].any()  # the label's text and tab are drawn


def test_a_box_at_the_top_keeps_its_label_inside_the_photo():
    photo = np.zeros((400, 600, 3), np.uint8)
    drawn = np.asarray(draw_rows(photo, [["ace", 0.5, 0.0, 0.2, 0.5, 0.7]]))
    inside = np.all(drawn[:100, 120:420] == BOX_COLOUR, axis=2).sum(axis=1)
    assert (inside > 20).sum() >= 0.02 * 400
