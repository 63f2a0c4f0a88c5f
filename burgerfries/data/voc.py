"""Pascal VOC (LabelImg) XML reading.

The reader only parses; it never trusts `<filename>`/`<path>` (they point at the annotator's
machine) and never opens a file named inside the XML. Repairs that need the real image (size,
orientation, clipping) happen in `ingest.py`, where the image is known.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path


class AnnotationError(ValueError):
    """An XML file that cannot be used at all; the message names the file and the problem."""


@dataclass
class PixelBox:
    """A box in pixel coordinates of the image as stored on disk (before EXIF orientation)."""

    name: str
    xmin: float
    ymin: float
    xmax: float
    ymax: float
    difficult: bool = False

    @property
    def area(self) -> float:
        return max(0.0, self.xmax - self.xmin) * max(0.0, self.ymax - self.ymin)


@dataclass
class VocAnnotation:
    xml_path: Path
    declared_width: int
    declared_height: int
    objects: list[PixelBox] = field(default_factory=list)
    # Unlabelled look-alikes (cups, plates, empty cartons) that the synthetic generator records so
    # evaluation can tell "wrong detection on a distractor" from "on background". LabelImg ignores
    # the element; real datasets simply have none.
    distractors: list[PixelBox] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _number(element: ET.Element | None, tag: str) -> float:
    if element is None:
        raise ValueError(f"missing <{tag}>")
    child = element.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise ValueError(f"missing <{tag}>")
    try:
        return float(child.text.strip())
    except ValueError as error:
        raise ValueError(f"<{tag}> is not a number: {child.text.strip()!r}") from error


def _read_box(element: ET.Element, kind: str, index: int) -> PixelBox:
    name_element = element.find("name")
    name = (name_element.text or "").strip() if name_element is not None else ""
    if not name:
        raise ValueError(f"{kind} #{index} has no <name>")
    bndbox = element.find("bndbox")
    if bndbox is None:
        raise ValueError(f"{kind} #{index} ({name}) has no <bndbox>")
    coords = [_number(bndbox, tag) for tag in ("xmin", "ymin", "xmax", "ymax")]
    difficult_element = element.find("difficult")
    difficult_text = (difficult_element.text or "0").strip() if difficult_element is not None else "0"
    return PixelBox(name, *coords, difficult=difficult_text in ("1", "true", "True"))


def parse_voc(xml_path: Path) -> VocAnnotation:
    """Parse one LabelImg XML file; raise AnnotationError naming the file on anything unusable.

    A single bad `<object>` does not discard the image: it is dropped and listed in `problems`,
    so the caller can report it and keep the other boxes.
    """
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as error:
        raise AnnotationError(f"{xml_path}: malformed XML ({error})") from error
    except OSError as error:
        raise AnnotationError(f"{xml_path}: cannot read ({error.strerror})") from error
    if root.tag != "annotation":
        raise AnnotationError(f"{xml_path}: root element is <{root.tag}>, expected <annotation>")

    size = root.find("size")
    try:
        width = int(_number(size, "width"))
        height = int(_number(size, "height"))
    except ValueError:
        width, height = 0, 0  # repaired from the real image by the caller

    annotation = VocAnnotation(xml_path, width, height)
    for kind, target in (("object", annotation.objects), ("distractor", annotation.distractors)):
        for index, element in enumerate(root.findall(kind)):
            try:
                target.append(_read_box(element, kind, index))
            except ValueError as error:
                annotation.problems.append(str(error))
    return annotation


def write_voc(
    xml_path: Path,
    image_name: str,
    width: int,
    height: int,
    objects: list[PixelBox],
    distractors: list[PixelBox] = (),
) -> None:
    """Write LabelImg-compatible XML (the synthetic generator uses it, so it shares the real path)."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = xml_path.parent.name
    ET.SubElement(root, "filename").text = image_name
    ET.SubElement(root, "path").text = image_name
    source = ET.SubElement(root, "source")
    ET.SubElement(source, "database").text = "burgerfries synthetic"
    size = ET.SubElement(root, "size")
    ET.SubElement(size, "width").text = str(width)
    ET.SubElement(size, "height").text = str(height)
    ET.SubElement(size, "depth").text = "3"
    ET.SubElement(root, "segmented").text = "0"
    for kind, boxes in (("object", objects), ("distractor", distractors)):
        for box in boxes:
            element = ET.SubElement(root, kind)
            ET.SubElement(element, "name").text = box.name
            ET.SubElement(element, "pose").text = "Unspecified"
            ET.SubElement(element, "truncated").text = "0"
            ET.SubElement(element, "difficult").text = "1" if box.difficult else "0"
            bndbox = ET.SubElement(element, "bndbox")
            for tag in ("xmin", "ymin", "xmax", "ymax"):
                ET.SubElement(bndbox, tag).text = str(int(round(getattr(box, tag))))
    ET.indent(root)
    ET.ElementTree(root).write(xml_path, encoding="utf-8", xml_declaration=False)
