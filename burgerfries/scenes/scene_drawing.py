"""Drawing helpers shared by the synthetic scene sets (burger/fries, and the pretraining set):
sprites' colours and shading, backgrounds, placing a sprite with its tight box, the last
camera-like touches, and writing scenes as LabelImg JPEG + XML pairs that data_prep ingests
like a real dataset.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter
from tqdm import tqdm

from burgerfries.data.voc import PixelBox, write_voc

MIN_FILL = 0.85  # a labelled box is at least this much object (the original labelling rule)


@dataclass
class Scene:
    image: Image.Image
    objects: list[PixelBox] = field(default_factory=list)
    distractors: list[PixelBox] = field(default_factory=list)
    fills: list[float] = field(default_factory=list)  # object pixels / box pixels, per object


def colour(rng: np.random.Generator, base: tuple[int, int, int], spread: int = 25) -> tuple[int, int, int]:
    return tuple(int(np.clip(c + rng.integers(-spread, spread + 1), 0, 255)) for c in base)


def darker(colour: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    return tuple(int(c * factor) for c in colour)


def shade(sprite: Image.Image, rng: np.random.Generator) -> None:
    """Top-lit gradient plus grain, so sprites are not flat colour fields."""
    pixels = np.asarray(sprite).astype(np.float32)
    height = pixels.shape[0]
    light = np.linspace(rng.uniform(1.0, 1.15), rng.uniform(0.7, 0.9), height)[:, None, None]
    pixels[..., :3] = pixels[..., :3] * light + rng.normal(0, 6, pixels[..., :3].shape)
    sprite.paste(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGBA"))


def background(rng: np.random.Generator, width: int, height: int) -> Image.Image:
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


def place(
    sprite: Image.Image,
    rng: np.random.Generator,
    canvas: Image.Image,
    taken: list[tuple[int, int, int, int]],
    angle: float,
    max_overlap: float = 0.05,
    min_fill: float = MIN_FILL,
) -> tuple[tuple[int, int, int, int], float] | None:
    """Rotate (less, then not at all, if the box would be less than `min_fill` object), find a
    spot overlapping no placed box by `max_overlap` or more (of the smaller box), paste with a
    soft shadow; return the tight box and its fill."""
    for attempt in range(4):
        rotated = sprite.rotate(angle, resample=Image.BICUBIC, expand=True) if angle else sprite
        alpha = np.asarray(rotated.getchannel("A")) > 127
        ys, xs = np.nonzero(alpha)
        if len(xs) == 0:
            return None
        x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
        fill = alpha[y0:y1, x0:x1].mean()
        if fill >= min_fill:
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
        if all(overlap(box, other) < max_overlap for other in taken):
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


def overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return inter / smaller if smaller else 0.0


def finish(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Uneven lighting across the frame, sensor noise, and sometimes a little blur."""
    width, height = image.size
    lighting = np.linspace(rng.uniform(0.75, 1.15), rng.uniform(0.75, 1.15), width)[None, :, None]
    pixels = np.asarray(image).astype(np.float32) * lighting + rng.normal(0, 4, (height, width, 3))
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.0)))
    return image


def write_scenes(
    folder: Path,
    render: Callable[[int, int], Scene],
    num_images: int,
    seed: int,
    eval_images: int = 0,
    progress: bool = True,
    what: str = "scenes",
    validation_images: int = 0,
) -> Path:
    """Write scenes `render(seed, index)` as LabelImg JPEG + XML pairs into `folder` and return it;
    with `eval_images`, the first `num_images` go to `train/`, the next `eval_images` to `eval/`
    and the next `validation_images` to `validation/` (other scene indices, so no scene is in two
    splits; the train and eval scenes are those drawn before validation scenes existed), a split
    that data_prep keeps."""
    folder.mkdir(parents=True, exist_ok=True)
    total = num_images + eval_images + (validation_images if eval_images else 0)
    for index in tqdm(range(total), desc=f"drawing {what}", unit="img", disable=not progress):
        scene = render(seed, index)
        name = f"scene_{index:04d}"
        split = "train" if index < num_images else "eval" if index < num_images + eval_images else "validation"
        where = folder if not eval_images else folder / split
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
