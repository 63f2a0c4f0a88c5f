"""Deterministic, photo-like burger/fries scenes so the main job works with no dataset at hand.

The variety mirrors what the original data collection aimed for: burgers with and without
vegetables, cheese or sesame, several patty colours; fries thin or thick, pale, golden or burnt,
along the side, tip-on, loose or in a carton; objects tilted and at several scales; backgrounds
of many colours, textures and brightness levels; and unlabelled distractors (cups, plates, empty
cartons) so that false positives can happen and be measured. Boxes are tight: at least 85 % of
each labelled box is object (the original labelling rule), which `render_scene` checks.

Scenes are written as JPEG + LabelImg XML and then read back through the same ingestion as a
real dataset, so the synthetic path tests the real one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from burgerfries.data.voc import PixelBox
from burgerfries.scenes import scene_drawing as drawing
from burgerfries.scenes.scene_drawing import Scene

CLASSES = ["burger", "fries"]
DISTRACTORS = ["cup", "plate", "empty_carton"]
SCENE_SIZES = [(320, 240), (320, 320), (400, 300), (300, 400), (360, 270), (256, 320)]


# ---------------------------------------------------------------- sprites (RGBA, tight canvas)


def _burger(rng: np.random.Generator, width: int) -> Image.Image:
    height = int(width * rng.uniform(0.62, 0.85))
    sprite = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(sprite)
    bun = drawing.colour(rng, [(214, 150, 72), (196, 120, 50), (228, 178, 100), (170, 100, 40)][rng.integers(4)])
    patty = drawing.colour(rng, [(92, 52, 30), (60, 35, 22), (120, 62, 40), (78, 70, 40)][rng.integers(4)], 15)
    y = height
    bottom = int(height * rng.uniform(0.16, 0.22))
    draw.rounded_rectangle((int(width * 0.03), y - bottom, int(width * 0.97), y - 1), radius=bottom // 3, fill=bun)
    y -= bottom
    layers = [("patty", patty, rng.uniform(0.15, 0.22))]
    if rng.random() < 0.6:
        layers.append(("cheese", drawing.colour(rng, (245, 196, 40)), 0.05))
    if rng.random() < 0.5:
        layers.append(("tomato", drawing.colour(rng, (200, 40, 35)), 0.07))
    if rng.random() < 0.6:
        layers.append(("lettuce", drawing.colour(rng, (90, 170, 50)), 0.07))
    for name, colour, share in layers:
        thickness = max(2, int(height * share))
        box = (0, y - thickness, width - 1, y)
        if name == "lettuce":
            wave = [(x, y - thickness + int(3 * np.sin(x / 5.0))) for x in range(0, width, 4)]
            draw.polygon([(0, y)] + wave + [(width - 1, y)], fill=colour)
        elif name == "cheese":
            draw.rectangle(box, fill=colour)
            for x in range(int(width * 0.1), int(width * 0.9), max(6, width // 6)):
                draw.polygon([(x, y), (x + 6, y), (x + 3, y + thickness + 4)], fill=colour)
        else:
            draw.rounded_rectangle(box, radius=thickness // 3, fill=colour)
            if name == "patty":
                for _ in range(width // 4):
                    px, py = rng.integers(2, width - 2), rng.integers(y - thickness + 1, y)
                    draw.point((px, py), fill=drawing.darker(colour, 0.7))
        y -= thickness
    top = max(4, y)
    draw.rounded_rectangle(
        (int(width * 0.02), 0, int(width * 0.98), top),
        radius=int(top * 0.45),
        corners=(True, True, False, False),
        fill=bun,
    )
    draw.rectangle((int(width * 0.02), int(top * 0.6), int(width * 0.98), top), fill=bun)
    if rng.random() < 0.6:  # sesame
        seed_colour = drawing.colour(rng, (245, 235, 200), 10)
        for _ in range(int(rng.integers(8, 22))):
            sx, sy = rng.integers(int(width * 0.12), int(width * 0.88)), rng.integers(int(top * 0.12), int(top * 0.7))
            draw.ellipse((sx - 2, sy - 1, sx + 2, sy + 1), fill=seed_colour)
    drawing.shade(sprite, rng)
    return sprite


def _fry_colour(rng: np.random.Generator) -> tuple[tuple[int, int, int], bool]:
    choice = rng.integers(4)
    base = [(250, 214, 90), (240, 190, 60), (252, 232, 150), (190, 120, 40)][choice]
    return drawing.colour(rng, base, 12), choice == 3


def _fries(rng: np.random.Generator, width: int) -> Image.Image:
    style = ["carton", "side", "tip"][rng.integers(3)]
    colour, burnt = _fry_colour(rng)
    edge = drawing.darker(colour, 0.75)
    thick = rng.random() < 0.5
    stick = max(3, int(width * (rng.uniform(0.09, 0.13) if thick else rng.uniform(0.045, 0.07))))
    if style == "carton":
        height = int(width * rng.uniform(1.0, 1.3))
        sprite = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        draw = ImageDraw.Draw(sprite)
        carton_top = int(height * 0.42)
        x = int(width * 0.05)
        while x < width * 0.95 - stick:
            top = int(rng.integers(0, int(height * 0.1) + 1))
            draw.rectangle((x, top, x + stick - 1, carton_top + 5), fill=colour, outline=edge)
            if burnt or rng.random() < 0.15:
                draw.rectangle((x, top, x + stick - 1, top + stick), fill=drawing.darker(colour, 0.55))
            x += stick
        cartons = [(200, 30, 30), (230, 60, 40), (240, 240, 235), (40, 90, 170)]
        carton = drawing.colour(rng, cartons[rng.integers(4)], 15)
        inset = int(width * 0.08)
        draw.polygon(
            [(0, carton_top), (width - 1, carton_top), (width - 1 - inset, height - 1), (inset, height - 1)],
            fill=carton,
        )
        draw.line([(0, carton_top), (width - 1, carton_top)], fill=drawing.darker(carton, 0.7), width=2)
    else:
        height = int(width * (rng.uniform(0.45, 0.65) if style == "side" else rng.uniform(0.8, 1.0)))
        sprite = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        draw = ImageDraw.Draw(sprite)
        if style == "side":  # sticks lying along the image, densely piled
            y = 0
            while y < height:
                offset = int(rng.integers(0, max(1, width // 10)))
                draw.rectangle(
                    (offset, y, width - 1 - int(rng.integers(0, max(1, width // 10))), min(height - 1, y + stick - 1)),
                    fill=colour,
                    outline=edge,
                )
                if burnt or rng.random() < 0.15:
                    draw.rectangle(
                        (offset, y, offset + stick, min(height - 1, y + stick - 1)), fill=drawing.darker(colour, 0.55)
                    )
                y += stick - 1
            draw.rectangle((0, 0, width // 12, height - 1), fill=colour, outline=edge)
            draw.rectangle((width - 1 - width // 12, 0, width - 1, height - 1), fill=colour, outline=edge)
        else:  # tip-on: a bundle of cut ends
            for y in range(0, height, stick):
                for x in range(0, width, stick):
                    shade = drawing.darker(colour, rng.uniform(0.85, 1.0) if not burnt else rng.uniform(0.5, 0.8))
                    draw.rectangle(
                        (x, y, min(width - 1, x + stick - 1), min(height - 1, y + stick - 1)), fill=shade, outline=edge
                    )
    drawing.shade(sprite, rng)
    return sprite


def _distractor(rng: np.random.Generator, kind: str, width: int) -> Image.Image:
    if kind == "plate":
        height = int(width * rng.uniform(0.35, 0.6))
        sprite = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        draw = ImageDraw.Draw(sprite)
        rims = [(245, 245, 245), (230, 220, 200), (120, 160, 210), (220, 120, 90)]
        rim = drawing.colour(rng, rims[rng.integers(4)], 10)
        draw.ellipse((0, 0, width - 1, height - 1), fill=rim)
        draw.ellipse((width * 0.15, height * 0.15, width * 0.85, height * 0.85), fill=drawing.darker(rim, 0.92))
    elif kind == "cup":
        height = int(width * rng.uniform(1.3, 1.7))
        sprite = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        draw = ImageDraw.Draw(sprite)
        body = drawing.colour(rng, [(220, 40, 40), (250, 250, 250), (40, 120, 200), (60, 60, 60)][rng.integers(4)], 15)
        lid = int(height * 0.12)
        inset = int(width * 0.12)
        draw.polygon([(0, lid), (width - 1, lid), (width - 1 - inset, height - 1), (inset, height - 1)], fill=body)
        draw.rectangle((0, lid - max(2, lid // 2), width - 1, lid), fill=drawing.darker(body, 0.8))
        straw_x = int(width * rng.uniform(0.3, 0.7))
        draw.rectangle((straw_x, 0, straw_x + max(2, width // 14), lid), fill=drawing.colour(rng, (230, 230, 80), 40))
    else:  # empty_carton: a fries carton with nothing in it — the hardest look-alike
        height = int(width * rng.uniform(0.55, 0.75))
        sprite = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        draw = ImageDraw.Draw(sprite)
        carton = drawing.colour(rng, [(200, 30, 30), (230, 60, 40), (240, 240, 235)][rng.integers(3)], 15)
        inset = int(width * 0.08)
        draw.polygon([(0, 0), (width - 1, 0), (width - 1 - inset, height - 1), (inset, height - 1)], fill=carton)
        draw.polygon([(0, 0), (width - 1, 0), (width // 2, int(height * 0.25))], fill=drawing.darker(carton, 0.6))
    drawing.shade(sprite, rng)
    return sprite


# ---------------------------------------------------------------- scene


def render_scene(seed: int, index: int) -> Scene:
    """Scene `index` of the synthetic set `seed`: the same pixels and boxes on every machine,
    whatever the number of images asked for."""
    rng = np.random.default_rng([seed, index])
    width, height = SCENE_SIZES[rng.integers(len(SCENE_SIZES))]
    scene = Scene(drawing.background(rng, width, height))
    taken: list[tuple[int, int, int, int]] = []
    n_objects = 0 if rng.random() < 0.06 else int(rng.integers(1, 4))
    n_distractors = int(rng.choice([0, 0, 1, 1, 2]))
    kinds = [CLASSES[rng.integers(2)] for _ in range(n_objects)] + [
        DISTRACTORS[rng.integers(3)] for _ in range(n_distractors)
    ]
    short_side = min(width, height)
    for kind in kinds:
        scale = rng.uniform(0.2, 0.5) if n_objects + n_distractors > 1 else rng.uniform(0.3, 0.65)
        sprite_width = max(24, int(short_side * scale))
        if kind == "burger":
            sprite = _burger(rng, sprite_width)
        elif kind == "fries":
            sprite = _fries(rng, sprite_width)
        else:
            sprite = _distractor(rng, kind, sprite_width)
        angle = float(rng.uniform(-25, 25)) if rng.random() < 0.6 else 0.0
        placed = drawing.place(sprite, rng, scene.image, taken, angle)
        if placed is None:
            continue
        box, fill = placed
        taken.append(box)
        pixel_box = PixelBox(kind, *box)
        if kind in CLASSES:
            scene.objects.append(pixel_box)
            scene.fills.append(fill)
        else:
            scene.distractors.append(pixel_box)
    scene.image = drawing.finish(scene.image, rng)
    return scene


def write_synthetic_dataset(
    folder: Path,
    num_images: int = 63,
    seed: int = 0,
    progress: bool = True,
    eval_images: int = 0,
    validation_images: int = 0,
) -> Path:
    """Write `num_images` scenes (and `eval_images` held-out and `validation_images` validation
    ones) as LabelImg pairs into `folder`."""
    return drawing.write_scenes(
        folder, render_scene, num_images, seed, eval_images, progress, "synthetic scenes", validation_images
    )
