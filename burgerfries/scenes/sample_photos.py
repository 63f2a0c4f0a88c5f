"""Real photographs for the pretraining scenes' backgrounds and occluders: the sample photos that
scikit-image ships inside its wheel (`skimage/data/`), so no download is needed.

Only photos whose licence lets anyone reuse them are listed, each with the licence its
`skimage.data` docstring states (scikit-image 0.26). Crops of them are random: position, size,
mirror and colour cast vary, so a few photos give many different backgrounds.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

# file in skimage/data → its licence, as the matching skimage.data function's docstring says
PHOTOS = {
    "astronaut.png": "public domain (NASA)",
    "brick.png": "CC0 (CC0Textures)",
    "camera.png": "CC0 (Lav Varshney)",
    "chelsea.png": "CC0 (Stefan van der Walt)",
    "coffee.png": "CC0 (Rachel Michetti)",
    "coins.png": "no known copyright restrictions (Brooklyn Museum Collection)",
    "grass.png": "CC0 (CC0Textures)",
    "gravel.png": "CC0 (CC0Textures)",
    "rocket.jpg": "public domain (SpaceX)",
    "text.png": "public domain",
}
INSTALL_HINT = "the pretraining scenes use scikit-image's sample photos: pip install 'burgerfries[pretrain]'"


def photo_folder() -> Path:
    """Where scikit-image keeps its bundled sample photos."""
    try:
        import skimage
    except ImportError as error:
        raise ImportError(INSTALL_HINT) from error
    return Path(skimage.__file__).parent / "data"


@cache
def load_photo(name: str) -> Image.Image:
    """One sample photo as RGB (grey ones as three equal channels), read once per process."""
    path = photo_folder() / name
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found — {INSTALL_HINT}")
    with Image.open(path) as image:
        return image.convert("RGB")


def photo_crop(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A `width` × `height` crop of a random sample photo: a random window of 35–100 % of what
    fits at the output's aspect ratio, resized, sometimes mirrored, with a colour cast (a tint on
    the grey photos) and a brightness change."""
    photo = load_photo(sorted(PHOTOS)[rng.integers(len(PHOTOS))])
    aspect = width / height
    fit_w = min(photo.width, int(photo.height * aspect))
    scale = rng.uniform(0.35, 1.0)
    crop_w, crop_h = max(8, int(fit_w * scale)), max(8, int(fit_w * scale / aspect))
    left = int(rng.integers(0, photo.width - crop_w + 1))
    top = int(rng.integers(0, photo.height - crop_h + 1))
    crop = photo.crop((left, top, left + crop_w, top + crop_h)).resize((width, height), Image.BILINEAR)
    if rng.random() < 0.5:
        crop = ImageOps.mirror(crop)
    cast = rng.uniform(0.75, 1.2, 3) * rng.uniform(0.55, 1.15)
    pixels = np.asarray(crop).astype(np.float32) * cast[None, None, :]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
