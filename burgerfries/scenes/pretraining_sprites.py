"""The pretraining set's objects, drawn as RGBA sprites: one function per class (`SPRITES`),
each taking a random stream and a width, plus the unlabelled clutter shapes. Colours come from a
small palette with jitter; some sprites carry stripes, dots, a printed letter or a piece of a real
photograph (`sample_photos.py`) as texture.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from burgerfries.scenes import scene_drawing as drawing
from burgerfries.scenes.sample_photos import photo_crop

PALETTE = [(220, 40, 40), (40, 110, 210), (250, 200, 40), (60, 160, 80), (150, 70, 180), (240, 240, 240), (40, 40, 40)]


def _pick(rng: np.random.Generator) -> tuple[int, int, int]:
    return drawing.colour(rng, PALETTE[rng.integers(len(PALETTE))], 35)


def _canvas(width: int, height: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    sprite = Image.new("RGBA", (max(4, width), max(4, height)), (0, 0, 0, 0))
    return sprite, ImageDraw.Draw(sprite)


def _stripes(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], colour, rng: np.random.Generator) -> None:
    """A texture on part of a sprite: stripes or dots in a second colour."""
    x0, y0, x1, y1 = box
    step = max(3, int((x1 - x0) / rng.uniform(3, 8)))
    if rng.random() < 0.5:
        for x in range(x0, x1, step * 2):
            draw.rectangle((x, y0, min(x1, x + step - 1), y1), fill=colour)
    else:
        for y in range(y0 + step // 2, y1, step):
            for x in range(x0 + step // 2, x1, step):
                draw.ellipse((x - step // 4, y - step // 4, x + step // 4, y + step // 4), fill=colour)


def _ball(rng, width):
    sprite, draw = _canvas(width, width)
    draw.ellipse((0, 0, width - 1, width - 1), fill=_pick(rng))
    seam = _pick(rng)
    draw.arc((-width // 2, width // 6, width // 2, width), -60, 60, fill=seam, width=max(2, width // 14))
    draw.arc((width // 2, 0, width * 3 // 2, width * 5 // 6), 120, 240, fill=seam, width=max(2, width // 14))
    return sprite


def _clock(rng, width):
    sprite, draw = _canvas(width, width)
    rim, face = _pick(rng), drawing.colour(rng, (235, 235, 225), 20)
    draw.ellipse((0, 0, width - 1, width - 1), fill=rim)
    inset = max(2, width // 10)
    draw.ellipse((inset, inset, width - 1 - inset, width - 1 - inset), fill=face)
    centre, radius = width / 2, width / 2 - inset
    for tick in range(12):
        angle = tick * np.pi / 6
        x, y = centre + 0.8 * radius * np.cos(angle), centre + 0.8 * radius * np.sin(angle)
        draw.ellipse((x - 1, y - 1, x + 1, y + 1), fill=(30, 30, 30))
    for length, thickness in ((0.5, 3), (0.75, 2)):
        angle = rng.uniform(0, 2 * np.pi)
        end = (centre + length * radius * np.cos(angle), centre + length * radius * np.sin(angle))
        draw.line([(centre, centre), end], fill=(20, 20, 20), width=max(1, thickness * width // 60))
    return sprite


def _book(rng, width):
    height = int(width * rng.uniform(1.2, 1.5))
    sprite, draw = _canvas(width, height)
    cover = _pick(rng)
    draw.rectangle((0, 0, width - 1, height - 1), fill=cover)
    draw.rectangle((0, 0, max(2, width // 8), height - 1), fill=drawing.darker(cover, 0.6))
    for line in range(int(rng.integers(1, 4))):
        y = int(height * (0.2 + 0.12 * line))
        draw.rectangle((width // 4, y, int(width * 0.85), y + max(1, height // 30)), fill=_pick(rng))
    return sprite


def _bottle(rng, width):
    height = int(width * rng.uniform(2.2, 3.0))
    sprite, draw = _canvas(width, height)
    glass = _pick(rng)
    neck = int(width * rng.uniform(0.28, 0.4))
    shoulder = int(height * rng.uniform(0.25, 0.35))
    left = (width - neck) // 2
    draw.rectangle((left, 0, left + neck, shoulder), fill=glass)
    draw.polygon(
        [(left, shoulder), (left + neck, shoulder), (width - 1, shoulder + width // 3), (0, shoulder + width // 3)],
        fill=glass,
    )
    draw.rounded_rectangle((0, shoulder + width // 3, width - 1, height - 1), radius=width // 6, fill=glass)
    label = (0, int(height * 0.55), width - 1, int(height * 0.75))
    draw.rectangle(label, fill=_pick(rng))
    return sprite


def _mug(rng, width):
    height = int(width * rng.uniform(0.75, 0.95))
    sprite, draw = _canvas(width, height)
    body = _pick(rng)
    right = int(width * 0.75)
    draw.rounded_rectangle((0, 0, right, height - 1), radius=width // 12, fill=body)
    draw.ellipse((right - width // 8, height // 5, width - 1, height * 4 // 5), outline=body, width=max(2, width // 12))
    if rng.random() < 0.6:
        _stripes(draw, (width // 10, height // 4, right - width // 10, height * 3 // 4), _pick(rng), rng)
    return sprite


def _key(rng, width):
    height = int(width * rng.uniform(0.35, 0.45))
    sprite, draw = _canvas(width, height)
    metal = drawing.colour(rng, [(200, 170, 60), (180, 180, 185), (150, 110, 60)][rng.integers(3)], 20)
    draw.ellipse((0, 0, height - 1, height - 1), fill=metal)
    hole = height // 3
    draw.ellipse((hole, hole, height - 1 - hole, height - 1 - hole), fill=(0, 0, 0, 0))
    shaft = height // 4
    draw.rectangle((height - 2, height // 2 - shaft // 2, width - 1, height // 2 + shaft // 2), fill=metal)
    for x in range(int(width * 0.65), width - 2, max(3, width // 12)):
        draw.rectangle(
            (x, height // 2, x + max(2, width // 20), height // 2 + shaft + int(rng.integers(1, 4))), fill=metal
        )
    return sprite


def _leaf(rng, width):
    height = int(width * rng.uniform(0.4, 0.6))
    sprite, draw = _canvas(width, height)
    green = drawing.colour(rng, [(70, 150, 50), (120, 170, 40), (170, 120, 40), (190, 70, 30)][rng.integers(4)], 20)
    outline = [(x, height / 2 - np.sin(np.pi * x / (width - 1)) * height / 2 * 0.98) for x in range(0, width, 2)]
    outline += [(x, height - 1 - y) for x, y in reversed(outline)]
    draw.polygon(outline, fill=green)
    vein = drawing.darker(green, 0.7)
    draw.line([(0, height // 2), (width - 1, height // 2)], fill=vein, width=max(1, width // 40))
    for x in range(width // 5, width * 4 // 5, max(4, width // 7)):
        draw.line([(x, height // 2), (x + width // 10, height // 5)], fill=vein)
        draw.line([(x, height // 2), (x + width // 10, height * 4 // 5)], fill=vein)
    return sprite


def _star(rng, width):
    sprite, draw = _canvas(width, width)
    points = int(rng.integers(5, 8))
    inner = rng.uniform(0.38, 0.55)
    centre = width / 2
    corners = [
        (
            centre + centre * (1 if k % 2 == 0 else inner) * np.sin(np.pi * k / points),
            centre - centre * (1 if k % 2 == 0 else inner) * np.cos(np.pi * k / points),
        )
        for k in range(2 * points)
    ]
    draw.polygon(corners, fill=_pick(rng))
    return sprite


def _umbrella(rng, width):
    height = int(width * rng.uniform(0.85, 1.0))
    sprite, draw = _canvas(width, height)
    canopy = _pick(rng)
    draw.pieslice((0, 0, width - 1, height), 180, 360, fill=canopy)
    for rib in range(1, 4):
        x = width * rib // 4
        draw.line([(width // 2, 0), (x, height // 2)], fill=drawing.darker(canopy, 0.6), width=max(1, width // 60))
    handle = max(2, width // 25)
    draw.rectangle(
        (width // 2 - handle // 2, height // 2, width // 2 + handle // 2, height - width // 8), fill=(60, 50, 40)
    )
    draw.arc(
        (width // 2 - width // 8, height - width // 4, width // 2 + handle // 2, height - 1),
        0,
        180,
        fill=(60, 50, 40),
        width=handle,
    )
    return sprite


def _glasses(rng, width):
    height = int(width * rng.uniform(0.3, 0.4))
    sprite, draw = _canvas(width, height)
    frame = _pick(rng)
    lens = int(width * 0.42)
    thickness = max(2, width // 30)
    tint = (*drawing.colour(rng, (90, 110, 130), 30), 160)
    for left in (0, width - lens):
        if rng.random() < 0.5:
            draw.ellipse((left, 0, left + lens - 1, height - 1), fill=tint, outline=frame, width=thickness)
        else:
            draw.rounded_rectangle(
                (left, 0, left + lens - 1, height - 1), radius=height // 4, fill=tint, outline=frame, width=thickness
            )
    draw.line([(lens, height // 3), (width - lens, height // 3)], fill=frame, width=thickness)
    return sprite


def _pencil(rng, width):
    height = max(5, int(width * rng.uniform(0.08, 0.12)))
    sprite, draw = _canvas(width, height)
    body = _pick(rng)
    tip = int(width * 0.15)
    draw.rectangle((0, 0, width - tip, height - 1), fill=body)
    draw.rectangle((0, 0, int(width * 0.08), height - 1), fill=(230, 150, 160))
    draw.polygon([(width - tip, 0), (width - 1, height // 2), (width - tip, height - 1)], fill=(230, 200, 150))
    draw.polygon(
        [(width - tip // 3, height // 3), (width - 1, height // 2), (width - tip // 3, height * 2 // 3)],
        fill=(40, 40, 40),
    )
    return sprite


def _shoe(rng, width):
    height = int(width * rng.uniform(0.4, 0.55))
    sprite, draw = _canvas(width, height)
    upper, sole = _pick(rng), drawing.colour(rng, (235, 235, 230), 20)
    sole_height = max(2, height // 6)
    draw.polygon(
        [
            (0, height - sole_height),
            (int(width * 0.1), height // 4),
            (int(width * 0.45), 0),
            (int(width * 0.6), height // 3),
            (width - 1, int(height * 0.6)),
            (width - 1, height - sole_height),
        ],
        fill=upper,
    )
    draw.rectangle((0, height - sole_height, width - 1, height - 1), fill=sole)
    for lace in range(3):
        x = int(width * (0.45 + 0.07 * lace))
        draw.line(
            [(x, int(height * 0.15) + lace * height // 10), (x + width // 12, int(height * 0.3) + lace * height // 10)],
            fill=sole,
            width=max(1, width // 50),
        )
    if rng.random() < 0.5:
        _stripes(
            draw,
            (int(width * 0.15), height // 2, int(width * 0.7), height - sole_height - 1),
            drawing.darker(upper, 0.7),
            rng,
        )
    return sprite


SIGN_LETTERS = "AEHKMRSTXZ"  # printed on signs: the plate's shape and colour do not tell a sign apart


def _sign(rng, width):
    """A plate (round, square or diamond) bearing a big letter: shape and colours vary freely, so
    telling signs from other objects needs the printed glyph as well as the outline."""
    sprite, draw = _canvas(width, width)
    plate, ink = _pick(rng), _pick(rng)
    shape = rng.integers(3)
    if shape == 0:
        draw.ellipse((0, 0, width - 1, width - 1), fill=plate)
    elif shape == 1:
        draw.rounded_rectangle((0, 0, width - 1, width - 1), radius=width // 8, fill=plate)
    else:
        draw.polygon([(width // 2, 0), (width - 1, width // 2), (width // 2, width - 1), (0, width // 2)], fill=plate)
    font = ImageFont.load_default(size=max(8, int(width * 0.55)))
    letter = SIGN_LETTERS[rng.integers(len(SIGN_LETTERS))]
    draw.text((width / 2, width / 2), letter, fill=ink, font=font, anchor="mm")
    return sprite


def _can(rng, width):
    height = int(width * rng.uniform(1.3, 1.9))
    sprite, draw = _canvas(width, height)
    metal = drawing.colour(rng, (190, 190, 195), 25)
    rim = max(2, height // 14)
    draw.rectangle((0, rim, width - 1, height - rim), fill=_pick(rng))
    draw.ellipse((0, 0, width - 1, 2 * rim), fill=metal)
    draw.ellipse((0, height - 2 * rim - 1, width - 1, height - 1), fill=metal)
    if rng.random() < 0.5:
        label = photo_crop(rng, width, max(4, height // 3))
        sprite.paste(label, (0, height // 3))
    else:
        _stripes(draw, (0, height // 3, width - 1, height * 2 // 3), _pick(rng), rng)
    return sprite


def _box(rng, width):
    """A carton seen from above a corner: front face and a lighter top face."""
    height = int(width * rng.uniform(0.7, 1.2))
    sprite, draw = _canvas(width, height)
    side = _pick(rng)
    depth = int(min(width, height) * rng.uniform(0.2, 0.35))
    draw.polygon([(depth, 0), (width - 1, 0), (width - 1 - depth, depth), (0, depth)], fill=side)
    draw.rectangle((0, depth, width - 1 - depth, height - 1), fill=drawing.darker(side, 0.85))
    draw.polygon(
        [(width - 1 - depth, depth), (width - 1, 0), (width - 1, height - 1 - depth), (width - 1 - depth, height - 1)],
        fill=drawing.darker(side, 0.6),
    )
    if rng.random() < 0.5:
        face_w, face_h = max(4, width - depth - 2 * (width // 8)), max(4, (height - depth) // 2)
        sprite.paste(photo_crop(rng, face_w, face_h), (width // 8, depth + (height - depth) // 4))
    return sprite


SPRITES = {
    "ball": _ball,
    "clock": _clock,
    "book": _book,
    "bottle": _bottle,
    "mug": _mug,
    "key": _key,
    "leaf": _leaf,
    "star": _star,
    "umbrella": _umbrella,
    "glasses": _glasses,
    "pencil": _pencil,
    "shoe": _shoe,
    "sign": _sign,
    "can": _can,
    "box": _box,
}


def clutter(rng: np.random.Generator, width: int) -> Image.Image:
    """An unlabelled irregular shape: something a detector must learn to leave alone."""
    height = int(width * rng.uniform(0.4, 1.2))
    sprite, draw = _canvas(width, height)
    corners = int(rng.integers(3, 8))
    angles = np.sort(rng.uniform(0, 2 * np.pi, corners))
    radii = rng.uniform(0.5, 1.0, corners)
    draw.polygon(
        [(width / 2 * (1 + r * np.cos(a)), height / 2 * (1 + r * np.sin(a))) for a, r in zip(angles, radii)],
        fill=drawing.colour(rng, tuple(int(c) for c in rng.integers(0, 256, 3)), 10),
    )
    return sprite
