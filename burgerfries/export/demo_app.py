"""The demo page: a person uploads a photo and sees what the detector finds.

A Gradio app around an exported SavedModel (the OD API's serving signature). This module imports
nothing from burgerfries — only numpy, Pillow, TensorFlow and Gradio — because `burgerfries export
--space DIR` copies it, unchanged, beside the Space's `app.py`; `burgerfries demo` serves the same
page locally.

Every upload goes through `read_upload`, so a file that is not an image, a truncated one or an
odd one gets a sentence on the page instead of a stack trace.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

MAX_SIDE = 1600  # larger photos are shrunk first: the model sees 300–320 px, the page needs no more
TABLE_COLUMNS = ["class", "score", "ymin", "xmin", "ymax", "xmax"]
BOX_COLOUR = (255, 40, 40)
LABEL_TEXT = (255, 255, 255)
# of the photo's longer side: the page shows a photo scaled to its column (a 960 px wide one at
# about half), where 3.5 % of 960 px still reads as 17 px text
LABEL_HEIGHT = 0.035
MIN_LABEL_PX = 12


class InputProblem(ValueError):
    """An upload the demo cannot use; the message is shown on the page."""


@dataclass
class DemoInfo:
    """What the page says about the model it serves."""

    run_id: str
    model: str
    map_50: float | None  # the run's eval mAP@0.5, when known
    class_names: dict[int, str]
    score_threshold: float

    def markdown(self) -> str:
        # "&#64;": a bare "mAP@0.5" would be rendered as an e-mail link
        quality = (
            f"eval mAP&#64;0.5 **{self.map_50:.3f}**" if self.map_50 is not None else "eval mAP&#64;0.5 not recorded"
        )
        run = f"run `{html.escape(self.run_id)}`" if self.run_id else "an exported model (run not recorded)"
        classes = ", ".join(html.escape(name) for name in self.class_names.values())
        return f"Serving {run} — `{html.escape(self.model)}`, {quality}. Classes: {classes}."


def read_upload(path: str | Path | None) -> tuple[np.ndarray, str]:
    """An uploaded file → RGB uint8 pixels (EXIF orientation applied, transparency on white, at
    most MAX_SIDE px on the long side), and a note on what was changed. Raises InputProblem."""
    if not path:
        raise InputProblem("Upload a photo (JPEG, PNG, …) to see what the detector finds.")
    name = Path(path).name
    try:
        with Image.open(path) as opened:
            opened.load()
            image = ImageOps.exif_transpose(opened)
    except UnidentifiedImageError:
        raise InputProblem(f"{name} is not an image file this page can read (JPEG, PNG, GIF, BMP, WebP).") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise InputProblem(f"{name} could not be read as an image: {error}.") from None
    notes = []
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
        notes.append("transparent parts shown on white")
    image = image.convert("RGB")
    if max(image.size) > MAX_SIDE:
        original = image.size
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        notes.append(f"shrunk from {original[0]}×{original[1]} to {image.size[0]}×{image.size[1]}")
    if min(image.size) < 8:
        notes.append(f"only {image.size[0]}×{image.size[1]} px: too small to show much")
    return np.asarray(image), "; ".join(notes)


class SavedModelRunner:
    """The exported SavedModel's `serving_default`: uint8 [1, H, W, 3] in, OD-API outputs out."""

    def __init__(self, folder: str | Path):
        self.serve = tf.saved_model.load(str(folder)).signatures["serving_default"]

    def __call__(self, image: np.ndarray) -> dict[str, np.ndarray]:
        output = self.serve(input_tensor=tf.constant(image[None], tf.uint8))
        return {key: value.numpy()[0] for key, value in output.items()}


def detection_rows(output: dict[str, np.ndarray], class_names: dict[int, str], threshold: float) -> list[list]:
    """One row per detection scoring at least `threshold`: class, score, normalised box."""
    rows = []
    for index in range(int(output["num_detections"])):
        score = float(output["detection_scores"][index])
        if score < threshold:
            continue
        label = int(output["detection_classes"][index])
        box = [round(float(v), 4) for v in output["detection_boxes"][index]]
        rows.append([class_names.get(label, str(label)), round(score, 4), *box])
    return rows


def label_font(picture: Image.Image) -> ImageFont.FreeTypeFont:
    """Pillow's scalable default font at LABEL_HEIGHT of the photo's longer side (Pillow's bitmap
    font is about 10 px high whatever the photo's size)."""
    return ImageFont.load_default(size=max(MIN_LABEL_PX, round(LABEL_HEIGHT * max(picture.size))))


def draw_rows(pixels: np.ndarray, rows: list[list]) -> Image.Image:
    """The photo with each detection's box, and its class and score in white on a filled tab
    above the box (inside the photo where the box touches its top)."""
    picture = Image.fromarray(pixels)
    draw = ImageDraw.Draw(picture)
    width = max(2, round(max(picture.size) / 250))
    font = label_font(picture)
    for name, score, ymin, xmin, ymax, xmax in rows:
        corners = (xmin * picture.width, ymin * picture.height, xmax * picture.width, ymax * picture.height)
        draw.rectangle(corners, outline=BOX_COLOUR, width=width)
        text = f"{name} {score:.2f}"
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        pad = max(1, font.size // 6)
        tab_height = bottom + 2 * pad
        tab_top = corners[1] - tab_height if corners[1] >= tab_height else corners[1]
        draw.rectangle((corners[0], tab_top, corners[0] + right + 2 * pad, tab_top + tab_height), fill=BOX_COLOUR)
        draw.text((corners[0] + pad, tab_top + pad), text, fill=LABEL_TEXT, font=font)
    return picture


def detect(runner: SavedModelRunner, info: DemoInfo, path: str | None, threshold: float):
    """The page's one action: (the photo as read, annotated photo, detection rows, status
    sentence); the photos are None when the upload could not be read."""
    try:
        pixels, note = read_upload(path)
    except InputProblem as problem:
        return None, None, [], f"⚠️ {problem}"
    rows = detection_rows(runner(pixels), info.class_names, threshold)
    found = f"{len(rows)} detection(s) with score ≥ {threshold:.2f}"
    return Image.fromarray(pixels), draw_rows(pixels, rows), rows, found + (f" ({note})" if note else "")


def build_demo(runner: SavedModelRunner, info: DemoInfo, examples: list[str]):
    """The Gradio Blocks page: upload (or pick an example), threshold slider, result and table."""
    import gradio as gr

    with gr.Blocks(title="burgerfries detector") as demo:
        gr.Markdown("# burgerfries detector\n" + info.markdown())
        with gr.Row():
            with gr.Column():
                upload = gr.File(label="Photo file", file_types=["image"], type="filepath", elem_id="upload")
                # the upload as the detector reads it (`read_upload`): the photo, not its file name
                photo = gr.Image(label="Your photo", type="pil", elem_id="photo", interactive=False)
                threshold = gr.Slider(
                    0.0, 1.0, value=info.score_threshold, step=0.01, label="Score threshold", elem_id="threshold"
                )
                if examples:
                    gr.Examples(examples=[[path] for path in examples], inputs=[upload], label="Eval images")
            with gr.Column():
                result = gr.Image(label="Detections", type="pil", elem_id="result", interactive=False)
                status = gr.Markdown(elem_id="status")
        table = gr.Dataframe(headers=TABLE_COLUMNS, label="Detections", elem_id="detections", interactive=False)

        def answer(path, value):
            return detect(runner, info, path, value)

        for trigger in (upload.change, threshold.release):
            trigger(answer, inputs=[upload, threshold], outputs=[photo, result, table, status])
    return demo
