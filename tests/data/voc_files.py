"""Helpers that write small LabelImg-style files for the ingestion tests."""

from pathlib import Path

from PIL import Image


def write_xml(path: Path, objects, width=64, height=48, filename="x.jpg", folder_path=None, extra=""):
    """objects: (name, xmin, ymin, xmax, ymax[, difficult])."""
    body = "".join(
        f"<object><name>{o[0]}</name><difficult>{o[5] if len(o) > 5 else 0}</difficult>"
        f"<bndbox><xmin>{o[1]}</xmin><ymin>{o[2]}</ymin><xmax>{o[3]}</xmax><ymax>{o[4]}</ymax></bndbox></object>"
        for o in objects
    )
    path_element = f"<path>{folder_path}</path>" if folder_path else ""
    path.write_text(
        f"<annotation><folder>f</folder><filename>{filename}</filename>{path_element}"
        f"<size><width>{width}</width><height>{height}</height><depth>3</depth></size>{body}{extra}</annotation>"
    )


def write_image(path: Path, width=64, height=48, colour=(120, 60, 30), mode="RGB", fmt="JPEG", exif=None):
    image = Image.new("RGB", (width, height), colour)
    if mode != "RGB":
        image = image.convert(mode)
    kwargs = {"exif": exif} if exif is not None else {}
    image.save(path, format=fmt, **kwargs)
    return path
