"""`--data` of train, sweep and pretrain: a data_prep folder, or a LabelImg folder prepared here.

A LabelImg folder (images and Pascal-VOC XML, any layout `data-prep` accepts) is prepared once
into `data/prepared-<content hash>`, tracked as a `data_prep` run like `burgerfries data-prep`. The
hash covers every image's and XML file's path and bytes, so the same folder is reused as long as
no file changed, and prepared again into a new folder when one did.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from burgerfries.data.folder import DataFolder, is_prepared
from burgerfries.data.ingest import scan_folder
from burgerfries.data.skip_report import SkipReport
from burgerfries.keys import SKIP_REPORT
from burgerfries.tracking import entry_run_as_parent

PREPARED_ROOT = Path("data")
HASH_CHARACTERS = 12


def is_labelimg_folder(folder: Path) -> bool:
    """A folder that is not a data_prep output and holds at least one Pascal-VOC XML file."""
    folder = Path(folder)
    if not folder.is_dir() or is_prepared(folder):
        return False
    _, xmls = scan_folder(folder.resolve(), SkipReport())
    return bool(xmls)


def content_hash(folder: Path) -> str:
    """sha256 over every image and XML file's relative path and bytes, in path order."""
    root = Path(folder).resolve()
    images, xmls = scan_folder(root, SkipReport())  # the files `data-prep` reads
    digest = hashlib.sha256()
    for path in sorted(images + xmls):
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def resolve_data(data: Path, root: Path = PREPARED_ROOT) -> Path:
    """`data` itself when it is a data_prep folder (or anything else: the job's own check names
    what is missing); a LabelImg folder's prepared folder, preparing it when needed."""
    data = Path(data)
    if not is_labelimg_folder(data):
        return data
    out = Path(root) / f"prepared-{content_hash(data)[:HASH_CHARACTERS]}"
    if is_prepared(out) and DataFolder.open(out).has_validation:
        print(f"{data} is a LabelImg folder; using {out}, prepared from it before (no file changed since)")
        return out
    if is_prepared(out):
        print(f"{out} was prepared with two splits by an older burgerfries; preparing it again with three")
    from burgerfries.jobs.data_prep import run_data_prep

    print(f"{data} is a LabelImg folder; preparing it into {out} (a data_prep run)")
    with entry_run_as_parent() as nested:
        prepared = run_data_prep(str(data), out, nested=nested)
    summary = prepared.summary
    print(
        f"prepared {summary['num_images']['train']} training, {summary['num_images']['validation']} validation "
        f"and {summary['num_images']['eval']} test images into {out}; "
        f"{summary['num_skipped']} skipped (listed in {out / SKIP_REPORT})"
    )
    return out
