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

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from tqdm import tqdm

from burgerfries.data.voc import PixelBox, write_voc

CLASSES = ["burger", "fries"]
DISTRACTORS = ["cup", "plate", "empty_carton"]
MIN_FILL = 0.85
SCENE_SIZES = [(320, 240), (320, 320), (400, 300), (300, 400), (360, 270), (256, 320)]


@dataclass
class Scene:
    image: Image.Image
    objects: list[PixelBox] = field(default_factory=list)
    distractors: list[PixelBox] = field(default_factory=list)
    fills: list[float] = field(default_factory=list)  # object pixels / box pixels, per object


def _colour(rng: np.random.Generator, base: tuple[int, int, int], spread: int = 25) -> tuple[int, int, int]:
    return tuple(int(np.clip(c + rng.integers(-spread, spread + 1), 0, 255)) for c in base)


def _darker(colour: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    return tuple(int(c * factor) for c in colour)


# ---------------------------------------------------------------- sprites (RGBA, tight canvas)


def _burger(rng: np.random.Generator, width: int) -> Image.Image:
    height = int(width * rng.uniform(0.62, 0.85))
    sprite = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(sprite)
    bun = _colour(rng, [(214, 150, 72), (196, 120, 50), (228, 178, 100), (170, 100, 40)][rng.integers(4)])
    patty = _colour(rng, [(92, 52, 30), (60, 35, 22), (120, 62, 40), (78, 70, 40)][rng.integers(4)], 15)
    y = height
    bottom = int(height * rng.uniform(0.16, 0.22))
    draw.rounded_rectangle((int(width * 0.03), y - bottom, int(width * 0.97), y - 1), radius=bottom // 3, fill=bun)
    y -= bottom
    layers = [("patty", patty, rng.uniform(0.15, 0.22))]
    if rng.random() < 0.6:
        layers.append(("cheese", _colour(rng, (245, 196, 40)), 0.05))
    if rng.random() < 0.5:
        layers.append(("tomato", _colour(rng, (200, 40, 35)), 0.07))
    if rng.random() < 0.6:
        layers.append(("lettuce", _colour(rng, (90, 170, 50)), 0.07))
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
                    draw.point((px, py), fill=_darker(colour, 0.7))
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
        seed_colour = _colour(rng, (245, 235, 200), 10)
        for _ in range(int(rng.integers(8, 22))):
            sx, sy = rng.integers(int(width * 0.12), int(width * 0.88)), rng.integers(int(top * 0.12), int(top * 0.7))
            draw.ellipse((sx - 2, sy - 1, sx + 2, sy + 1), fill=seed_colour)
    _shade(sprite, rng)
    return sprite


def _fry_colour(rng: np.random.Generator) -> tuple[tuple[int, int, int], bool]:
    choice = rng.integers(4)
    base = [(250, 214, 90), (240, 190, 60), (252, 232, 150), (190, 120, 40)][choice]
    return _colour(rng, base, 12), choice == 3


def _fries(rng: np.random.Generator, width: int) -> Image.Image:
    style = ["carton", "side", "tip"][rng.integers(3)]
    colour, burnt = _fry_colour(rng)
    edge = _darker(colour, 0.75)
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
                draw.rectangle((x, top, x + stick - 1, top + stick), fill=_darker(colour, 0.55))
            x += stick
        carton = _colour(rng, [(200, 30, 30), (230, 60, 40), (240, 240, 235), (40, 90, 170)][rng.integers(4)], 15)
        inset = int(width * 0.08)
        draw.polygon(
            [(0, carton_top), (width - 1, carton_top), (width - 1 - inset, height - 1), (inset, height - 1)],
            fill=carton,
        )
        draw.line([(0, carton_top), (width - 1, carton_top)], fill=_darker(carton, 0.7), width=2)
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
                        (offset, y, offset + stick, min(height - 1, y + stick - 1)), fill=_darker(colour, 0.55)
                    )
                y += stick - 1
            draw.rectangle((0, 0, width // 12, height - 1), fill=colour, outline=edge)
            draw.rectangle((width - 1 - width // 12, 0, width - 1, height - 1), fill=colour, outline=edge)
        else:  # tip-on: a bundle of cut ends
            for y in range(0, height, stick):
                for x in range(0, width, stick):
                    shade = _darker(colour, rng.uniform(0.85, 1.0) if not burnt else rng.uniform(0.5, 0.8))
                    draw.rectangle(
                        (x, y, min(width - 1, x + stick - 1), min(height - 1, y + stick - 1)), fill=shade, outline=edge
                    )
    _shade(sprite, rng)
    return sprite


def _distractor(rng: np.random.Generator, kind: str, width: int) -> Image.Image:
    if kind == "plate":
        height = int(width * rng.uniform(0.35, 0.6))
        sprite = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        draw = ImageDraw.Draw(sprite)
        rim = _colour(rng, [(245, 245, 245), (230, 220, 200), (120, 160, 210), (220, 120, 90)][rng.integers(4)], 10)
        draw.ellipse((0, 0, width - 1, height - 1), fill=rim)
        draw.ellipse((width * 0.15, height * 0.15, width * 0.85, height * 0.85), fill=_darker(rim, 0.92))
    elif kind == "cup":
        height = int(width * rng.uniform(1.3, 1.7))
        sprite = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        draw = ImageDraw.Draw(sprite)
        body = _colour(rng, [(220, 40, 40), (250, 250, 250), (40, 120, 200), (60, 60, 60)][rng.integers(4)], 15)
        lid = int(height * 0.12)
        inset = int(width * 0.12)
        draw.polygon([(0, lid), (width - 1, lid), (width - 1 - inset, height - 1), (inset, height - 1)], fill=body)
        draw.rectangle((0, lid - max(2, lid // 2), width - 1, lid), fill=_darker(body, 0.8))
        straw_x = int(width * rng.uniform(0.3, 0.7))
        draw.rectangle((straw_x, 0, straw_x + max(2, width // 14), lid), fill=_colour(rng, (230, 230, 80), 40))
    else:  # empty_carton: a fries carton with nothing in it — the hardest look-alike
        height = int(width * rng.uniform(0.55, 0.75))
        sprite = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        draw = ImageDraw.Draw(sprite)
        carton = _colour(rng, [(200, 30, 30), (230, 60, 40), (240, 240, 235)][rng.integers(3)], 15)
        inset = int(width * 0.08)
        draw.polygon([(0, 0), (width - 1, 0), (width - 1 - inset, height - 1), (inset, height - 1)], fill=carton)
        draw.polygon([(0, 0), (width - 1, 0), (width // 2, int(height * 0.25))], fill=_darker(carton, 0.6))
    _shade(sprite, rng)
    return sprite


def _shade(sprite: Image.Image, rng: np.random.Generator) -> None:
    """Top-lit gradient plus grain, so sprites are not flat colour fields."""
    pixels = np.asarray(sprite).astype(np.float32)
    height = pixels.shape[0]
    light = np.linspace(rng.uniform(1.0, 1.15), rng.uniform(0.7, 0.9), height)[:, None, None]
    pixels[..., :3] = pixels[..., :3] * light + rng.normal(0, 6, pixels[..., :3].shape)
    sprite.paste(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGBA"))


# ---------------------------------------------------------------- scene


def _background(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    base = np.array([rng.integers(0, 256) for _ in range(3)], dtype=np.float32)
    brightness = rng.uniform(0.35, 1.1)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    style = rng.integers(5)
    if style == 0:  # plain
        pattern = np.zeros((height, width), np.float32)
    elif style == 1:  # gradient
        pattern = (xx * rng.uniform(-1, 1) + yy * rng.uniform(-1, 1)) / max(width, height) * 60
    elif style == 2:  # tablecloth stripes / checks
        period = rng.integers(12, 40)
        pattern = (((xx // period) + (yy // period * rng.integers(0, 2))) % 2) * rng.uniform(30, 90)
    elif style == 3:  # wood grain
        pattern = np.sin(yy / rng.uniform(3, 9) + np.sin(xx / rng.uniform(20, 60)) * 3) * rng.uniform(15, 35)
    else:  # mottled texture
        coarse = rng.normal(0, 40, (height // 16 + 2, width // 16 + 2)).astype(np.float32)
        pattern = np.asarray(Image.fromarray(coarse).resize((width, height), Image.BILINEAR))
    pixels = (base[None, None, :] + pattern[..., None]) * brightness + rng.normal(0, 8, (height, width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def _place(
    sprite: Image.Image,
    rng: np.random.Generator,
    canvas: Image.Image,
    taken: list[tuple[int, int, int, int]],
    angle: float,
) -> tuple[tuple[int, int, int, int], float] | None:
    """Rotate, find a free spot, paste with a soft shadow; return the tight box and its fill."""
    for attempt in range(4):
        rotated = sprite.rotate(angle, resample=Image.BICUBIC, expand=True) if angle else sprite
        alpha = np.asarray(rotated.getchannel("A")) > 127
        ys, xs = np.nonzero(alpha)
        if len(xs) == 0:
            return None
        x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
        fill = alpha[y0:y1, x0:x1].mean()
        if fill >= MIN_FILL:
            break
        angle *= 0.5 if attempt < 2 else 0.0
    else:
        return None
    rotated = rotated.crop((x0, y0, x1, y1))
    w, h = rotated.size
    if w >= canvas.width or h >= canvas.height:
        return None
    for _ in range(30):
        left, top = int(rng.integers(0, canvas.width - w)), int(rng.integers(0, canvas.height - h))
        box = (left, top, left + w, top + h)
        if all(_overlap(box, other) < 0.05 for other in taken):
            break
    else:
        return None
    shadow = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    shadow_alpha = rotated.getchannel("A").point(lambda a: int(a * 0.45))
    offset = int(max(2, w * 0.04))
    shadow.paste(Image.new("RGBA", rotated.size, (0, 0, 0, 255)), (left + offset, top + offset), shadow_alpha)
    canvas.paste(
        Image.alpha_composite(canvas.convert("RGBA"), shadow.filter(ImageFilter.GaussianBlur(offset))).convert("RGB")
    )
    canvas.paste(rotated, (left, top), rotated)
    return box, float(fill)


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return inter / smaller if smaller else 0.0


def render_scene(seed: int, index: int) -> Scene:
    """Scene `index` of the synthetic set `seed`: the same pixels and boxes on every machine,
    whatever the number of images asked for."""
    rng = np.random.default_rng([seed, index])
    width, height = SCENE_SIZES[rng.integers(len(SCENE_SIZES))]
    scene = Scene(_background(rng, width, height))
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
        placed = _place(sprite, rng, scene.image, taken, angle)
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
    lighting = np.linspace(rng.uniform(0.75, 1.15), rng.uniform(0.75, 1.15), width)[None, :, None]
    pixels = np.asarray(scene.image).astype(np.float32) * lighting + rng.normal(0, 4, (height, width, 3))
    scene.image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    if rng.random() < 0.3:
        scene.image = scene.image.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.0)))
    return scene


def write_synthetic_dataset(
    folder: Path, num_images: int = 63, seed: int = 0, progress: bool = True, eval_images: int = 0
) -> Path:
    """Write `num_images` scenes as LabelImg JPEG + XML pairs into `folder` and return it; with
    `eval_images`, the training scenes go to `train/` and that many more scenes (other scene
    indices, so no scene is in both) to `eval/`, a split that data_prep keeps."""
    folder.mkdir(parents=True, exist_ok=True)
    total = num_images + eval_images
    for index in tqdm(range(total), desc="drawing synthetic scenes", unit="img", disable=not progress):
        scene = render_scene(seed, index)
        name = f"scene_{index:04d}"
        where = folder if not eval_images else folder / ("train" if index < num_images else "eval")
        where.mkdir(exist_ok=True)
        buffer = io.BytesIO()
        scene.image.save(buffer, format="JPEG", quality=int(np.random.default_rng([seed, index, 1]).integers(80, 96)))
        (where / f"{name}.jpg").write_bytes(buffer.getvalue())
        write_voc(
            where / f"{name}.xml",
            f"{name}.jpg",
            scene.image.width,
            scene.image.height,
            scene.objects,
            scene.distractors,
        )
    return folder
