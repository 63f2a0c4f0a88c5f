"""Image decoding by content: whatever the extension says, the bytes decide.

Photos reach LabelImg folders as PNGs named `.jpg`, RGBA screenshots, palette GIF exports,
grayscale scans and CMYK print files; TensorFlow's JPEG decoder would choke on most of them.
Everything is normalised here to RGB JPEG bytes, with EXIF orientation applied, and every change
is returned as a note so ingestion can report it.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
JPEG_QUALITY = 95
EXIF_ORIENTATION_TAG = 0x0112


class ImageError(ValueError):
    """An image file that cannot be decoded; the message names the file."""


@dataclass
class DecodedImage:
    jpeg_bytes: bytes
    width: int  # after EXIF orientation
    height: int
    raw_width: int  # as stored, the frame LabelImg annotates in
    raw_height: int
    orientation: int  # EXIF orientation 1..8 (1 = none)
    content_sha256: str  # hash of the file bytes, for duplicate detection
    notes: list[str] = field(default_factory=list)


def _content_format_note(path: Path, image_format: str | None) -> str | None:
    suffix = path.suffix.lower().lstrip(".")
    expected = {
        "jpg": "JPEG",
        "jpeg": "JPEG",
        "png": "PNG",
        "bmp": "BMP",
        "gif": "GIF",
        "tif": "TIFF",
        "tiff": "TIFF",
        "webp": "WEBP",
    }.get(suffix)
    if image_format and expected and image_format != expected:
        return f"named .{suffix} but content is {image_format}"
    return None


def decode_image(path: Path) -> DecodedImage:
    """Decode by content, apply EXIF orientation, convert to RGB, return JPEG bytes.

    The original bytes are kept when they already are a plain RGB JPEG needing no rotation,
    so real photos are not re-compressed.
    """
    try:
        file_bytes = path.read_bytes()
    except OSError as error:
        raise ImageError(f"{path}: cannot read ({error.strerror})") from error
    try:
        image = Image.open(io.BytesIO(file_bytes))
        image.load()
    except Image.DecompressionBombError as error:
        raise ImageError(f"{path}: refused, larger than Pillow's safety limit ({error})") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageError(f"{path}: not a readable image ({error})") from error

    notes: list[str] = []
    format_note = _content_format_note(path, image.format)
    if format_note:
        notes.append(format_note)
    raw_width, raw_height = image.size
    orientation = int(image.getexif().get(EXIF_ORIENTATION_TAG, 1) or 1)
    if orientation not in range(1, 9):
        orientation = 1
    original_mode = image.mode
    if orientation != 1:
        image = ImageOps.exif_transpose(image)
        notes.append(f"EXIF orientation {orientation} applied")
    if image.mode != "RGB":
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            # Transparent pixels become white rather than whatever colour hides under alpha.
            rgba = image.convert("RGBA")
            background = Image.new("RGB", rgba.size, (255, 255, 255))
            background.paste(rgba, mask=rgba.getchannel("A"))
            image = background
        else:
            image = image.convert("RGB")
        notes.append(f"converted {original_mode} to RGB")

    if image.format == "JPEG" and original_mode == "RGB" and orientation == 1:
        jpeg_bytes = file_bytes
    else:
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
        jpeg_bytes = buffer.getvalue()
        if not notes:
            notes.append(f"re-encoded {image.format or 'image'} as JPEG")
    return DecodedImage(
        jpeg_bytes=jpeg_bytes,
        width=image.size[0],
        height=image.size[1],
        raw_width=raw_width,
        raw_height=raw_height,
        orientation=orientation,
        content_sha256=hashlib.sha256(file_bytes).hexdigest(),
        notes=notes,
    )


def orient_point(x: float, y: float, raw_width: int, raw_height: int, orientation: int) -> tuple[float, float]:
    """Map a point from the stored frame to the EXIF-oriented frame (what exif_transpose shows)."""
    w, h = raw_width, raw_height
    return {
        1: (x, y),
        2: (w - x, y),
        3: (w - x, h - y),
        4: (x, h - y),
        5: (y, x),
        6: (h - y, x),
        7: (h - y, w - x),
        8: (y, w - x),
    }[orientation]
