"""A seeded synthetic detection set of everyday objects that are not burger or fries: the
pretraining set, playing the role COCO plays for the model zoo (transfer, not leakage).

Fifteen classes of varied shape (round, long, flat, hollow, spiky), colour and texture — some
told apart only by what is printed on them (signs bearing a letter), some covered with real
photo texture — at many scales (from a tenth to two thirds of the short side), tilted, partly
occluding each other and partly hidden behind unlabelled patches of photographs, on real
photographs (`sample_photos.py`) or drawn backgrounds, among unlabelled clutter, through a
camera: colour cast, vignetting, sensor noise, blur, motion blur and low resolution. Each scene is
drawn from a random stream keyed by `STREAM`, which no burger/fries scene uses, and none of its
classes or sprites is a burger, fries, or one of that set's distractors, so no image or scene of
the task set, nor of its eval split, can appear here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from burgerfries.data.voc import PixelBox
from burgerfries.scenes import scene_drawing as drawing
from burgerfries.scenes.pretraining_sprites import SPRITES, clutter
from burgerfries.scenes.sample_photos import photo_crop
from burgerfries.scenes.scene_drawing import Scene

CLASSES = [
    "ball",
    "clock",
    "book",
    "bottle",
    "mug",
    "key",
    "leaf",
    "star",
    "umbrella",
    "glasses",
    "pencil",
    "shoe",
    "sign",
    "can",
    "box",
]
SCENES_VERSION = 2  # 1: drawn backgrounds and twelve classes (the weights shipped before 2026-12-05)
STREAM = 7_301_517  # first entry of each scene's random stream; the burger/fries scenes use [seed, index]
PRETRAINING_IMAGES = 4000  # training scenes of the set the shipped weights were pretrained on
PRETRAINING_EVAL_IMAGES = 200  # its held-out scenes (the mAP in provenance.json)
SCENE_SIZES = [(256, 192), (224, 224), (240, 180), (192, 256), (288, 216)]


def _photo_patch(rng: np.random.Generator, width: int) -> Image.Image:
    """An unlabelled irregular piece of a photograph: an occluder or a distractor that looks like
    the real world rather than a flat shape."""
    height = int(width * rng.uniform(0.5, 1.5))
    mask = clutter(rng, width).getchannel("A").resize((width, height))
    patch = photo_crop(rng, width, height).convert("RGBA")
    patch.putalpha(mask)
    return patch


def _occlude(scene: Scene, rng: np.random.Generator, taken: list[tuple[int, int, int, int]]) -> None:
    """One or two photo patches over the scene, allowed to cover up to 30 % of a labelled object
    (whose box stays as it was: a partly hidden object is still labelled, as in COCO)."""
    short_side = min(scene.image.size)
    for _ in range(int(rng.integers(1, 3))):
        patch = _photo_patch(rng, max(12, int(short_side * rng.uniform(0.08, 0.3))))
        placed = drawing.place(patch, rng, scene.image, taken, 0.0, max_overlap=0.3, min_fill=0.0)
        if placed is not None:
            scene.distractors.append(PixelBox("clutter", *placed[0]))


def _through_a_camera(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """What a phone camera adds beyond `drawing.finish`: a colour cast, vignetting, noise of
    varying strength, sometimes motion blur or a low-resolution capture."""
    width, height = image.size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    radius = ((xx / width - 0.5) ** 2 + (yy / height - 0.5) ** 2) * 2
    vignette = 1 - rng.uniform(0, 0.45) * radius
    cast = rng.uniform(0.85, 1.15, 3)
    noise = rng.normal(0, rng.uniform(1, 9), (height, width, 3))
    pixels = np.asarray(image).astype(np.float32) * vignette[..., None] * cast[None, None, :] + noise
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    if rng.random() < 0.15:  # motion blur: a 3- or 5-pixel streak, across or down (PIL's kernels are 3×3 or 5×5)
        size = int(rng.choice([3, 5]))
        streak = np.zeros((size, size), np.float32)
        streak[size // 2, :] = 1.0 / size
        streak = streak.T if rng.random() < 0.5 else streak
        image = image.filter(ImageFilter.Kernel((size, size), streak.flatten().tolist(), 1))
    if rng.random() < 0.2:
        factor = rng.uniform(0.35, 0.7)
        small = image.resize((max(8, int(width * factor)), max(8, int(height * factor))), Image.BILINEAR)
        image = small.resize((width, height), Image.BILINEAR)
    return image


def render_pretraining_scene(seed: int, index: int) -> Scene:
    """Scene `index` of the pretraining set `seed`: the same pixels and boxes on every machine."""
    rng = np.random.default_rng([STREAM, seed, index])
    width, height = SCENE_SIZES[rng.integers(len(SCENE_SIZES))]
    backdrop = photo_crop(rng, width, height) if rng.random() < 0.6 else drawing.background(rng, width, height)
    scene = Scene(backdrop)
    taken: list[tuple[int, int, int, int]] = []
    kinds = [CLASSES[rng.integers(len(CLASSES))] for _ in range(int(rng.integers(1, 6)))]
    kinds += ["clutter"] * int(rng.choice([0, 1, 1, 2, 3]))
    short_side = min(width, height)
    for kind in rng.permutation(kinds):
        scale = rng.uniform(0.1, 0.65) if len(kinds) < 3 else rng.uniform(0.1, 0.45)
        sprite_width = max(16, int(short_side * scale))
        if kind == "clutter":
            sprite = _photo_patch(rng, sprite_width) if rng.random() < 0.5 else clutter(rng, sprite_width)
        else:
            sprite = SPRITES[kind](rng, sprite_width)
        drawing.shade(sprite, rng)
        angle = float(rng.uniform(-40, 40)) if rng.random() < 0.6 else 0.0
        placed = drawing.place(sprite, rng, scene.image, taken, angle, max_overlap=0.35, min_fill=0.0)
        if placed is None:
            continue
        box, fill = placed
        taken.append(box)
        if kind == "clutter":
            scene.distractors.append(PixelBox("clutter", *box))
        else:
            scene.objects.append(PixelBox(str(kind), *box))
            scene.fills.append(fill)
    if scene.objects and rng.random() < 0.35:
        _occlude(scene, rng, taken)
    scene.image = _through_a_camera(drawing.finish(scene.image, rng), rng)
    return scene


def write_pretraining_dataset(
    folder: Path,
    num_images: int,
    seed: int = 0,
    progress: bool = True,
    eval_images: int = 0,
    validation_images: int = 0,
) -> Path:
    """Write `num_images` training, `eval_images` held-out and `validation_images` validation
    pretraining scenes as LabelImg pairs."""
    return drawing.write_scenes(
        folder,
        render_pretraining_scene,
        num_images,
        seed,
        eval_images,
        progress,
        "pretraining scenes",
        validation_images,
    )
