"""Every LabelImg quirk of the data_prep issue, each with a small file the test makes."""

import io

import numpy as np
import pytest
from PIL import Image
from voc_files import write_image, write_xml

from burgerfries.data import images as images_module
from burgerfries.data.ingest import ingest_folder
from burgerfries.data.skip_report import OBJECT_DROPPED, REPAIRED, REPORTED, SKIPPED


def rows_for(result, fragment):
    return [row for row in result.report.rows if fragment in row[1]]


def only_sample(result):
    assert len(result.samples) == 1, result.report.rows
    return result.samples[0]


def test_zero_size_uses_real_image_size(tmp_path):
    write_image(tmp_path / "a.jpg", 80, 40)
    write_xml(tmp_path / "a.xml", [("burger", 8, 4, 40, 20)], width=0, height=0)
    result = ingest_folder(tmp_path, progress=False)
    sample = only_sample(result)
    assert (sample.width, sample.height) == (80, 40)
    box = sample.objects[0]
    assert (box.xmin, box.ymin, box.xmax, box.ymax) == pytest.approx((0.1, 0.1, 0.5, 0.5))
    assert rows_for(result, "0x0")[0][2] == REPAIRED


def test_declared_size_differs_from_real(tmp_path):
    write_image(tmp_path / "a.jpg", 80, 40)
    write_xml(tmp_path / "a.xml", [("burger", 8, 4, 40, 20)], width=100, height=100)
    result = ingest_folder(tmp_path, progress=False)
    assert only_sample(result).objects[0].xmax == pytest.approx(0.5)
    assert rows_for(result, "differs from the real 80x40")[0][2] == REPAIRED


def test_image_resized_after_labelling_scales_boxes(tmp_path):
    write_image(tmp_path / "a.jpg", 80, 40)
    write_xml(tmp_path / "a.xml", [("burger", 16, 8, 160, 80)], width=160, height=80)
    result = ingest_folder(tmp_path, progress=False)
    box = only_sample(result).objects[0]
    assert (box.xmin, box.ymin, box.xmax, box.ymax) == pytest.approx((0.1, 0.1, 1.0, 1.0))
    assert "scaled" in rows_for(result, "differs")[0][1]


@pytest.mark.parametrize(
    "mode,fmt,note",
    [
        ("RGB", "PNG", "content is PNG"),
        ("RGBA", "PNG", "converted RGBA"),
        ("P", "PNG", "converted P"),
        ("L", "JPEG", "converted L"),
        ("CMYK", "JPEG", "converted CMYK"),
    ],
)
def test_misnamed_and_non_rgb_images_become_rgb_jpeg(tmp_path, mode, fmt, note):
    write_image(tmp_path / "a.jpg", mode=mode, fmt=fmt)
    write_xml(tmp_path / "a.xml", [("fries", 1, 1, 30, 30)])
    result = ingest_folder(tmp_path, progress=False)
    sample = only_sample(result)
    decoded = Image.open(io.BytesIO(sample.jpeg_bytes))
    assert decoded.format == "JPEG" and decoded.mode == "RGB"
    assert rows_for(result, note), result.report.rows


def test_exif_orientation_rotates_pixels_and_boxes_together(tmp_path):
    # Stored frame 60x40 with a red block at x 5..20, y 10..30; EXIF 6 means "rotate 90° clockwise".
    raw = np.full((40, 60, 3), 200, np.uint8)
    raw[10:30, 5:20] = (255, 0, 0)
    exif = Image.Exif()
    exif[images_module.EXIF_ORIENTATION_TAG] = 6
    Image.fromarray(raw).save(tmp_path / "a.jpg", exif=exif, quality=100)
    write_xml(tmp_path / "a.xml", [("burger", 5, 10, 20, 30)], width=60, height=40)
    sample = only_sample(ingest_folder(tmp_path, progress=False))
    assert (sample.width, sample.height) == (40, 60)
    pixels = np.asarray(Image.open(io.BytesIO(sample.jpeg_bytes)))
    box = sample.objects[0]
    x0, y0, x1, y1 = (round(box.xmin * 40), round(box.ymin * 60), round(box.xmax * 40), round(box.ymax * 60))
    inside = pixels[y0 + 2 : y1 - 2, x0 + 2 : x1 - 2]
    assert inside[..., 0].mean() > 230 and inside[..., 1].mean() < 40  # the box sits on the red block
    assert (x1 - x0, y1 - y0) == (20, 15)


def test_boxes_clipped_dropped_and_unknown_classes(tmp_path):
    write_image(tmp_path / "a.jpg", 64, 48)
    write_xml(
        tmp_path / "a.xml",
        [
            ("burger", -10, 5, 30, 60),  # partly outside → clipped
            ("burger", 10, 10, 10, 20),  # zero area → dropped
            ("fries", 30, 20, 10, 40),  # inverted → dropped
            ("fries", 100, 100, 120, 120),  # entirely outside → dropped
            ("hotdog", 1, 1, 5, 5),  # not in --classes → dropped
            ("fries", 2, 2, 20, 20, 1),  # difficult → kept with the flag
        ],
    )
    result = ingest_folder(tmp_path, classes=["burger", "fries"], progress=False)
    sample = only_sample(result)
    assert [(b.name, b.difficult) for b in sample.objects] == [("burger", False), ("fries", True)]
    clipped = sample.objects[0]
    assert (clipped.xmin, clipped.ymax) == (0.0, 1.0)
    actions = [row[2] for row in result.report.rows]
    assert actions.count(OBJECT_DROPPED) == 4 and actions.count(REPAIRED) == 1
    assert rows_for(result, "class not in --classes")


def test_xml_paths_are_ignored_and_never_opened(tmp_path, monkeypatch):
    root = tmp_path / "dataset"
    root.mkdir()
    secret = write_image(tmp_path / "secret.jpg")
    write_image(root / "a.jpg")
    write_xml(
        root / "a.xml",
        [("burger", 1, 1, 30, 30)],
        filename="../secret.jpg",
        folder_path="C:\\Users\\someone\\Pictures\\a.jpg",
    )
    (root / "escape.jpg").symlink_to(secret)
    write_xml(root / "escape.xml", [("burger", 1, 1, 30, 30)])
    opened = []
    real_decode = images_module.decode_image
    monkeypatch.setattr("burgerfries.data.ingest.decode_image", lambda p: opened.append(p.resolve()) or real_decode(p))
    result = ingest_folder(root, progress=False)
    assert [s.rel_path for s in result.samples] == ["a.jpg"]
    assert secret.resolve() not in opened
    assert rows_for(result, "outside the dataset folder")[0][2] == SKIPPED


def test_unusable_files_are_itemised(tmp_path):
    (tmp_path / "bad.xml").write_text("<annotation><object>")  # malformed XML
    write_image(tmp_path / "bad.jpg")
    write_xml(tmp_path / "lonely.xml", [("burger", 1, 1, 5, 5)])  # XML without image
    write_image(tmp_path / "unlabelled.jpg", colour=(1, 2, 3))  # image without XML
    (tmp_path / "broken.jpg").write_bytes(b"not an image at all")  # unreadable image
    write_xml(tmp_path / "broken.xml", [("burger", 1, 1, 5, 5)])
    write_image(tmp_path / "good.jpg", colour=(9, 9, 9))
    write_xml(tmp_path / "good.xml", [("burger", 1, 1, 5, 5)])
    result = ingest_folder(tmp_path, progress=False)
    assert [s.rel_path for s in result.samples] == ["good.jpg"]
    problems = {row[0]: row for row in result.report.rows}
    assert "malformed XML" in problems["bad.xml"][1]
    assert "XML without image" in problems["lonely.xml"][1]
    assert "image without XML" in problems["unlabelled.jpg"][1]
    assert "not a readable image" in problems["broken.jpg"][1]
    assert result.report.skipped_files == {"bad.xml", "lonely.xml", "unlabelled.jpg", "broken.jpg"}


def test_duplicates_reported_and_negatives_kept(tmp_path):
    write_image(tmp_path / "one.jpg", colour=(10, 200, 10))
    write_image(tmp_path / "copy.jpg", colour=(10, 200, 10))
    write_xml(tmp_path / "one.xml", [("burger", 1, 1, 30, 30)])
    write_xml(tmp_path / "copy.xml", [("burger", 1, 1, 30, 30)])
    write_image(tmp_path / "empty.jpg", colour=(50, 50, 50))
    write_xml(tmp_path / "empty.xml", [])
    result = ingest_folder(tmp_path, progress=False)
    assert len(result.samples) == 3
    assert rows_for(result, "duplicate image")[0][2] == REPORTED
    assert [s for s in result.samples if s.rel_path == "empty.jpg"][0].objects == []


def test_annotations_folder_layout_pairs_by_stem(tmp_path):
    (tmp_path / "images" / "train").mkdir(parents=True)
    (tmp_path / "Annotations").mkdir()
    write_image(tmp_path / "images" / "train" / "my photo (1).jpg")
    write_xml(tmp_path / "Annotations" / "my photo (1).xml", [("burger", 1, 1, 30, 30)])
    result = ingest_folder(tmp_path, progress=False)
    assert only_sample(result).rel_path == "images/train/my photo (1).jpg"
    assert result.samples[0].split_hint == "train"


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares width × height pixels, with no pixel data behind it."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "kind,objects,fragment,action",
    [
        ("nan coordinate", [("burger", "nan", 5, 30, 40)], "not a finite number", OBJECT_DROPPED),
        ("inf coordinate", [("burger", 1, 5, "inf", 40)], "not a finite number", OBJECT_DROPPED),
        ("huge coordinate", [("burger", 1, 5, "1e308", 40)], "far outside", OBJECT_DROPPED),
        (
            "more boxes than training reads",
            [("burger", i % 60, 1, i % 60 + 4, 9) for i in range(150)],
            "150 objects; training reads the first 100",
            REPORTED,
        ),
    ],
)
def test_bad_boxes_are_itemised_not_invented_or_cut_silently(tmp_path, kind, objects, fragment, action):
    write_image(tmp_path / "a.jpg", 64, 48)
    write_xml(tmp_path / "a.xml", objects)
    result = ingest_folder(tmp_path, progress=False)
    rows = rows_for(result, fragment)
    assert len(rows) == 1 and rows[0][2] == action, result.report.rows
    kept = only_sample(result).objects
    assert len(kept) == (150 if action == REPORTED else 0)


def test_a_decompression_bomb_is_skipped_and_the_rest_kept(tmp_path):
    (tmp_path / "bomb.png").write_bytes(png_declaring(30000, 30000))
    write_xml(tmp_path / "bomb.xml", [("burger", 1, 1, 5, 5)])
    write_image(tmp_path / "good.jpg")
    write_xml(tmp_path / "good.xml", [("burger", 1, 1, 5, 5)])
    result = ingest_folder(tmp_path, progress=False)
    assert [s.rel_path for s in result.samples] == ["good.jpg"]
    assert "safety limit" in rows_for(result, "safety limit")[0][1] and "bomb.png" in result.report.skipped_files
