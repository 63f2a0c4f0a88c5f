"""The pretraining set: deterministic, every class drawn, boxes inside the image, and nothing of
the burger/fries task in it (no class, no distractor, no image)."""

import hashlib

import numpy as np

from burgerfries.scenes import synthetic
from burgerfries.scenes.pretraining_scenes import CLASSES, render_pretraining_scene


def test_scenes_are_deterministic_and_differ_by_index_and_seed():
    first, again = render_pretraining_scene(0, 3), render_pretraining_scene(0, 3)
    assert np.array_equal(np.asarray(first.image), np.asarray(again.image)) and first.objects == again.objects
    assert not np.array_equal(np.asarray(first.image), np.asarray(render_pretraining_scene(0, 4).image))
    assert not np.array_equal(np.asarray(first.image), np.asarray(render_pretraining_scene(1, 3).image))


def test_every_class_appears_with_boxes_inside_the_image():
    seen = set()
    for index in range(120):
        scene = render_pretraining_scene(0, index)
        width, height = scene.image.size
        for box in scene.objects + scene.distractors:
            assert 0 <= box.xmin < box.xmax <= width and 0 <= box.ymin < box.ymax <= height
        seen.update(box.name for box in scene.objects)
    assert seen == set(CLASSES)


def test_nothing_of_the_task_set_is_in_it():
    task_names = set(synthetic.CLASSES) | set(synthetic.DISTRACTORS)
    assert not task_names & set(CLASSES)

    def digest(scene):
        return hashlib.sha256(scene.image.tobytes()).hexdigest()

    # the default set's seed 0: its training scenes and its held-out scenes (indices 63 on)
    task = {digest(synthetic.render_scene(0, index)) for index in range(0, 153, 5)}
    assert not task & {digest(render_pretraining_scene(0, index)) for index in range(0, 153, 5)}
