"""LabelImg folder → validated, repaired samples (boxes normalised to the image the model sees).

Pairs images and XML files by file stem anywhere below the dataset folder, so both LabelImg
layouts work: XML beside each image, and `Annotations/` beside image folders. Every repair or
refusal is itemised in the SkipReport.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from burgerfries.data.images import IMAGE_SUFFIXES, ImageError, decode_image, orient_point
from burgerfries.data.skip_report import OBJECT_DROPPED, REPAIRED, REPORTED, SKIPPED, SkipReport
from burgerfries.data.voc import AnnotationError, PixelBox, VocAnnotation, parse_voc
from burgerfries.model import MODEL_NAMES
from burgerfries.model.config import load_config

TRAIN_FOLDER_NAMES = {"train", "training"}
EVAL_FOLDER_NAMES = {"eval", "test"}
# A val/ folder is the validation split beside a test/ folder, and the held-out (eval) split without one
VALIDATION_FOLDER_NAMES = {"val", "valid", "validation"}
# Training pads or cuts each image's boxes to this many (the model configs' max_number_of_boxes).
MAX_BOXES_PER_IMAGE = min(load_config(model)["train_config"]["max_number_of_boxes"] for model in MODEL_NAMES)


@dataclass
class NormalizedBox:
    """A box in [0, 1] coordinates of the oriented image, as the OD-API TFRecord schema stores it."""

    name: str
    xmin: float
    ymin: float
    xmax: float
    ymax: float
    difficult: bool = False


@dataclass
class Sample:
    rel_path: str  # image path relative to the dataset folder, POSIX separators
    jpeg_bytes: bytes
    width: int
    height: int
    content_sha256: str
    objects: list[NormalizedBox] = field(default_factory=list)
    distractors: list[NormalizedBox] = field(default_factory=list)
    split_hint: str | None = None  # "train" / "validation" / "eval" when the folder layout says so


@dataclass
class IngestResult:
    samples: list[Sample]
    report: SkipReport
    classes: list[str]


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
        return True
    except ValueError:
        return False


def scan_folder(root: Path, report: SkipReport) -> tuple[list[Path], list[Path]]:
    """The (images, XML files) a LabelImg folder (`root`, resolved) holds, hidden names and links
    leading outside it left out (the links reported)."""
    images, xmls = [], []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = Path(folder) / name
            suffix = path.suffix.lower()
            if suffix not in IMAGE_SUFFIXES and suffix != ".xml":
                continue
            if not _inside(path, root):
                report.add(_rel(path, root), "link points outside the dataset folder; not opened", SKIPPED)
                continue
            (xmls if suffix == ".xml" else images).append(path)
    return images, xmls


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _shared_parent_depth(a: Path, b: Path) -> int:
    """How many trailing folder names two paths share (images/train ~ Annotations/train)."""
    depth = 0
    for left, right in zip(reversed(a.parent.parts), reversed(b.parent.parts)):
        if left != right:
            break
        depth += 1
    return depth


def pair_files(root: Path, report: SkipReport) -> list[tuple[Path, Path]]:
    """(image, xml) pairs by stem; unpaired files on either side are reported as skipped."""
    images, xmls = scan_folder(root, report)
    images_by_stem: dict[str, list[Path]] = defaultdict(list)
    for image in images:
        images_by_stem[image.stem].append(image)

    pairs: list[tuple[Path, Path]] = []
    used: set[Path] = set()
    for xml in xmls:
        candidates = [image for image in images_by_stem.get(xml.stem, []) if image not in used]
        if not candidates:
            report.add(_rel(xml, root), "XML without image (no image file with the same name)", SKIPPED)
            continue
        same_folder = [image for image in candidates if image.parent == xml.parent]
        pool = same_folder or candidates
        best = max(pool, key=lambda image: (_shared_parent_depth(image, xml), -len(image.parts)))
        if len(pool) > 1:
            others = ", ".join(_rel(image, root) for image in pool if image != best)
            report.add(
                _rel(xml, root),
                f"several images share its name; paired with {_rel(best, root)}, not {others}",
                REPORTED,
            )
        used.add(best)
        pairs.append((best, xml))
    for image in images:
        if image not in used:
            report.add(_rel(image, root), "image without XML (not annotated in LabelImg)", SKIPPED)
    return sorted(pairs, key=lambda pair: _rel(pair[0], root))


def _split_hint(rel_path: str) -> str | None:
    folders = {part.lower() for part in Path(rel_path).parts[:-1]}
    if folders & TRAIN_FOLDER_NAMES:
        return "train"
    if folders & EVAL_FOLDER_NAMES:
        return "eval"
    if folders & VALIDATION_FOLDER_NAMES:
        return "validation"
    return None


def _frame_for_boxes(
    annotation: VocAnnotation,
    width: int,
    height: int,
    orientation: int,
    boxes: list[PixelBox],
    where: str,
    report: SkipReport,
) -> tuple[list[PixelBox], bool]:
    """Bring boxes into the stored frame; say whether they already are in the oriented frame.

    LabelImg (Qt) shows images without EXIF rotation, so its boxes are in the stored frame and
    need the same rotation as the pixels; if the XML size equals the rotated size, the annotator
    saw the rotated image and the boxes are already right.
    """
    declared = (annotation.declared_width, annotation.declared_height)
    if declared == (0, 0):
        report.add(where, f"<size> is 0x0 or missing; using the real size {width}x{height}", REPAIRED)
        return boxes, False
    if declared == (width, height):
        return boxes, False
    if orientation in (5, 6, 7, 8) and declared == (height, width):
        return boxes, True
    fits_declared = all(b.xmax <= declared[0] + 1 and b.ymax <= declared[1] + 1 for b in boxes)
    exceeds_real = any(b.xmax > width + 1 or b.ymax > height + 1 for b in boxes)
    same_aspect = declared[1] > 0 and abs(declared[0] / declared[1] - width / height) < 0.01
    if boxes and fits_declared and exceeds_real and same_aspect:
        sx, sy = width / declared[0], height / declared[1]
        report.add(
            where,
            f"<size> {declared[0]}x{declared[1]} differs from the real {width}x{height} "
            "and boxes only fit the declared size (image resized after labelling); boxes scaled",
            REPAIRED,
        )
        scaled = [PixelBox(b.name, b.xmin * sx, b.ymin * sy, b.xmax * sx, b.ymax * sy, b.difficult) for b in boxes]
        return scaled, False
    report.add(
        where,
        f"<size> {declared[0]}x{declared[1]} differs from the real {width}x{height}; using the real size",
        REPAIRED,
    )
    return boxes, False


def _normalize(box: PixelBox, raw_w: int, raw_h: int, orientation: int, out_w: int, out_h: int) -> NormalizedBox:
    if orientation != 1:
        corners = [
            orient_point(x, y, raw_w, raw_h, orientation) for x, y in ((box.xmin, box.ymin), (box.xmax, box.ymax))
        ]
        xs, ys = [c[0] for c in corners], [c[1] for c in corners]
        xmin, xmax, ymin, ymax = min(xs), max(xs), min(ys), max(ys)
    else:
        xmin, ymin, xmax, ymax = box.xmin, box.ymin, box.xmax, box.ymax
    return NormalizedBox(box.name, xmin / out_w, ymin / out_h, xmax / out_w, ymax / out_h, box.difficult)


def _valid_boxes(
    boxes: list[PixelBox], width: int, height: int, kind: str, where: str, classes: list[str] | None, report: SkipReport
) -> list[PixelBox]:
    kept = []
    for box in boxes:
        label = f"{kind} '{box.name}' ({box.xmin:g},{box.ymin:g},{box.xmax:g},{box.ymax:g})"
        if kind == "object" and classes is not None and box.name not in classes:
            report.add(where, f"{label}: class not in --classes {','.join(classes)}", OBJECT_DROPPED)
            continue
        coordinates = (box.xmin, box.ymin, box.xmax, box.ymax)
        if not all(math.isfinite(value) for value in coordinates):
            report.add(where, f"{label}: a coordinate is not a finite number", OBJECT_DROPPED)
            continue
        if (
            min(box.xmin, box.xmax) < -width
            or max(box.xmin, box.xmax) > 2 * width
            or min(box.ymin, box.ymax) < -height
            or max(box.ymin, box.ymax) > 2 * height
        ):
            # Clipping a box drawn a little past the edge is a repair; clipping one that reaches
            # more than an image size beyond it would invent an edge nobody drew.
            report.add(where, f"{label}: coordinates far outside the {width}x{height} image", OBJECT_DROPPED)
            continue
        if box.xmax <= box.xmin or box.ymax <= box.ymin:
            report.add(where, f"{label}: zero-area or inverted box", OBJECT_DROPPED)
            continue
        clipped = PixelBox(
            box.name,
            max(0.0, box.xmin),
            max(0.0, box.ymin),
            min(float(width), box.xmax),
            min(float(height), box.ymax),
            box.difficult,
        )
        if clipped.xmax <= clipped.xmin or clipped.ymax <= clipped.ymin:
            report.add(where, f"{label}: entirely outside the {width}x{height} image", OBJECT_DROPPED)
            continue
        if (clipped.xmin, clipped.ymin, clipped.xmax, clipped.ymax) != (box.xmin, box.ymin, box.xmax, box.ymax):
            report.add(where, f"{label}: partly outside the {width}x{height} image; clipped", REPAIRED)
        kept.append(clipped)
    return kept


def load_sample(
    image_path: Path, xml_path: Path, root: Path, classes: list[str] | None, report: SkipReport
) -> Sample | None:
    """One repaired sample, or None (with the reason in the report) when it cannot be used."""
    where = _rel(xml_path, root)
    try:
        annotation = parse_voc(xml_path)
    except AnnotationError as error:
        report.add(where, str(error).split(": ", 1)[-1], SKIPPED)
        return None
    try:
        decoded = decode_image(image_path)
    except ImageError as error:
        report.add(_rel(image_path, root), str(error).split(": ", 1)[-1], SKIPPED)
        return None
    image_where = _rel(image_path, root)
    for note in decoded.notes:
        report.add(image_where, note, REPAIRED)
    for problem in annotation.problems:
        report.add(where, problem, OBJECT_DROPPED)

    raw_w, raw_h = decoded.raw_width, decoded.raw_height
    all_boxes = annotation.objects + annotation.distractors
    framed, already_oriented = _frame_for_boxes(annotation, raw_w, raw_h, decoded.orientation, all_boxes, where, report)
    objects, distractors = framed[: len(annotation.objects)], framed[len(annotation.objects) :]
    frame_w, frame_h = (decoded.width, decoded.height) if already_oriented else (raw_w, raw_h)
    orientation = 1 if already_oriented else decoded.orientation

    def normalize_all(boxes: list[PixelBox]) -> list[NormalizedBox]:
        return [_normalize(b, raw_w, raw_h, orientation, decoded.width, decoded.height) for b in boxes]

    objects = _valid_boxes(objects, frame_w, frame_h, "object", where, classes, report)
    if len(objects) > MAX_BOXES_PER_IMAGE:
        report.add(
            where,
            f"{len(objects)} objects; training reads the first {MAX_BOXES_PER_IMAGE} "
            "(max_number_of_boxes in the model config)",
            REPORTED,
        )
    distractors = _valid_boxes(distractors, frame_w, frame_h, "distractor", where, None, report)
    return Sample(
        rel_path=image_where,
        jpeg_bytes=decoded.jpeg_bytes,
        width=decoded.width,
        height=decoded.height,
        content_sha256=decoded.content_sha256,
        objects=normalize_all(objects),
        distractors=normalize_all(distractors),
        split_hint=_split_hint(image_where),
    )


def ingest_folder(folder: Path, classes: list[str] | None = None, progress: bool = True) -> IngestResult:
    """Read a LabelImg folder; every image either becomes a Sample or a skip-report row."""
    root = Path(folder).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"{folder}: dataset folder does not exist")
    report = SkipReport()
    pairs = pair_files(root, report)
    samples: list[Sample] = []
    first_by_hash: dict[str, str] = {}
    for image_path, xml_path in tqdm(pairs, desc="reading LabelImg files", unit="img", disable=not progress):
        sample = load_sample(image_path, xml_path, root, classes, report)
        if sample is None:
            continue
        if sample.content_sha256 in first_by_hash:
            # Kept (nothing is lost), but reported: copies inflate a class and, split apart, would
            # leak train images into eval — split_samples keeps copies on the same side.
            report.add(
                sample.rel_path,
                f"duplicate image (same content as {first_by_hash[sample.content_sha256]}); "
                "kept, and kept in the same split",
                REPORTED,
            )
        first_by_hash.setdefault(sample.content_sha256, sample.rel_path)
        samples.append(sample)  # an image with no objects stays, as a negative (background) example
    names = sorted({box.name for sample in samples for box in sample.objects})
    return IngestResult(samples, report, list(classes) if classes else names)
