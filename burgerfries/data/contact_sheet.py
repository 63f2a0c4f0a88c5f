"""A grid of dataset images with their boxes drawn — the first thing to look at after data_prep."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw

from burgerfries.data.ingest import Sample

PALETTE = [(0, 220, 0), (255, 140, 0), (0, 160, 255), (255, 0, 200), (255, 255, 0), (0, 255, 255)]
DISTRACTOR_COLOUR = (160, 160, 160)


def draw_contact_sheet(
    samples: list[Sample], classes: list[str], path: Path, count: int = 12, tile: int = 240, columns: int = 4
) -> Path:
    chosen = samples[:count]
    rows = max(1, (len(chosen) + columns - 1) // columns)
    sheet = Image.new("RGB", (columns * tile, rows * tile), (30, 30, 30))
    for index, sample in enumerate(chosen):
        image = Image.open(io.BytesIO(sample.jpeg_bytes)).convert("RGB")
        draw = ImageDraw.Draw(image)
        width, height = image.size
        line = max(1, round(max(width, height) / tile))
        for box, colour, label in [
            (b, PALETTE[classes.index(b.name) % len(PALETTE)] if b.name in classes else PALETTE[-1], b.name)
            for b in sample.objects
        ] + [(b, DISTRACTOR_COLOUR, f"({b.name})") for b in sample.distractors]:
            xy = (box.xmin * width, box.ymin * height, box.xmax * width, box.ymax * height)
            draw.rectangle(xy, outline=colour, width=line * 2)
            draw.text((xy[0] + 2 * line, xy[1] + line), label, fill=colour)
        image.thumbnail((tile - 4, tile - 4))
        sheet.paste(image, ((index % columns) * tile + 2, (index // columns) * tile + 2))
    sheet.save(path)
    return path
