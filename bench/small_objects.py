"""The small-object set the starts issue (#43) asks for, made at run time from a real LabelImg folder
(nothing of it is copied into the repo), and the one command's mAP@0.5 on its shrunk and on its
unshrunk test photos, told apart.

A seeded half of the photos in each of the folder's `images/train/` and `images/test/` folders is
shrunk by --shrink and pasted at a seeded place onto a canvas of the photo's own size, filled with the
photo's mean colour; its boxes follow. The other half is copied unchanged. On cards (object sides
√(w·h) 0.24 … 0.46 of the photo's, p10 … p90) --shrink 0.3 makes them 0.07 … 0.14: 12 … 22 px at a
160 px input. A photo whose oriented size differs from its XML's is copied unchanged and listed.

Each run is `burgerfries train --data SMALL_SET --seed S [--train-args]` in its own process, then
`burgerfries evaluate --run-id R --data SUBSET --new-run` on two folders holding the label map and the
test photos that were shrunk, or those that were not. Printed per seed: both mAP@0.5, the run's own
test mAP@0.5 (all test photos) and its seconds; then each column's mean and σ (n − 1 dof).

    python bench/small_objects.py --data ../shared/datasets/cards [--shrink 0.3] [--seeds 0 1 2]
        [--train-args "--input-size 320"] [--out F.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from burgerfries.machine import describe_machine

SPLITS = ("train", "test")
SUBSETS = ("shrunk", "unshrunk")
LABEL_MAP, EVAL_RECORD = "label_map.pbtxt", "eval.record"
MAP_50 = "eval/mAP_50"


def shrink_photo(image_path: Path, xml_path: Path, out_dir: Path, shrink: float, chooser: random.Random) -> bool:
    """Write the photo shrunk onto its own-size canvas, and its XML with the boxes moved; False
    (and the photo copied unchanged) where the oriented image and the XML disagree on the size."""
    image = ImageOps.exif_transpose(Image.open(image_path)).convert("RGB")
    tree = ET.parse(xml_path)
    size = tree.find("size")
    width, height = int(size.findtext("width")), int(size.findtext("height"))
    if image.size != (width, height):
        shutil.copy2(image_path, out_dir / image_path.name)
        shutil.copy2(xml_path, out_dir / xml_path.name)
        return False
    small = image.resize((max(1, round(width * shrink)), max(1, round(height * shrink))), Image.BILINEAR)
    left = chooser.randint(0, width - small.width)
    top = chooser.randint(0, height - small.height)
    mean = tuple(int(channel) for channel in np.asarray(image).reshape(-1, 3).mean(axis=0))
    canvas = Image.new("RGB", (width, height), mean)
    canvas.paste(small, (left, top))
    canvas.save(out_dir / image_path.name, format="JPEG", quality=95)
    for box in tree.iter("bndbox"):
        for key, offset in (("xmin", left), ("xmax", left), ("ymin", top), ("ymax", top)):
            element = box.find(key)
            element.text = str(round(offset + float(element.text) * shrink))
    tree.write(out_dir / xml_path.name)
    return True


def make_small_set(source: Path, out: Path, shrink: float, seed: int) -> tuple[set[str], list[str]]:
    """The shrunk-and-unshrunk copy of `source` in `out`; returns (the test photos shrunk, as
    `test/NAME` like the records' source ids, and the photos left unshrunk for a size mismatch)."""
    chooser = random.Random(seed)
    shrunk_test, mismatched = set(), []
    for split in SPLITS:
        (out / "images" / split).mkdir(parents=True)
        xml_paths = sorted((source / "images" / split).glob("*.xml"))
        chosen = set(chooser.sample(range(len(xml_paths)), len(xml_paths) // 2))
        for index, xml_path in enumerate(xml_paths):
            image_path = xml_path.with_name(ET.parse(xml_path).findtext("filename"))
            if index not in chosen:
                shutil.copy2(image_path, out / "images" / split / image_path.name)
                shutil.copy2(xml_path, out / "images" / split / xml_path.name)
            elif shrink_photo(image_path, xml_path, out / "images" / split, shrink, chooser):
                if split == "test":
                    shrunk_test.add(image_path.name)
            else:
                mismatched.append(f"{split}/{image_path.name}")
    return shrunk_test, mismatched


def write_subsets(prepared: Path, shrunk_names: set[str], out: Path) -> dict[str, Path]:
    """Two folders with the label map and the test photos that were shrunk / were not."""
    import tensorflow as tf

    folders = {name: out / name for name in SUBSETS}
    writers = {}
    for name, folder in folders.items():
        folder.mkdir(parents=True)
        shutil.copy2(prepared / LABEL_MAP, folder / LABEL_MAP)
        writers[name] = tf.io.TFRecordWriter(str(folder / EVAL_RECORD))
    counts = dict.fromkeys(SUBSETS, 0)
    for raw in tf.data.TFRecordDataset(str(prepared / EVAL_RECORD)):
        example = tf.train.Example.FromString(raw.numpy())
        source_id = example.features.feature["image/source_id"].bytes_list.value[0].decode("utf-8")
        name = "shrunk" if Path(source_id).name in shrunk_names else "unshrunk"
        writers[name].write(raw.numpy())
        counts[name] += 1
    for writer in writers.values():
        writer.close()
    print(f"test photos: {counts['shrunk']} shrunk, {counts['unshrunk']} unshrunk", flush=True)
    return folders


def burgerfries(arguments: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run one command; its last printed line (the run id)."""
    completed = subprocess.run(
        [sys.executable, "-m", "burgerfries", *arguments], capture_output=True, text=True, env=env, cwd=cwd
    )
    if completed.returncode:
        raise RuntimeError(f"burgerfries {' '.join(arguments)}: {completed.stderr[-2000:]}")
    return completed.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets/cards"))
    parser.add_argument("--shrink", type=float, default=0.3)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--split-seed", type=int, default=0, help="seed of which photos are shrunk, and where")
    parser.add_argument("--train-args", default="", help="more `burgerfries train` flags for every run")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    print(describe_machine(), flush=True)
    work = Path(tempfile.mkdtemp(prefix="small-objects-"))
    shrunk_test, mismatched = make_small_set(args.data.resolve(), work / "photos", args.shrink, args.split_seed)
    if mismatched:
        print(f"left unshrunk (oriented size differs from the XML's): {', '.join(mismatched)}", flush=True)
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}", "TF_CPP_MIN_LOG_LEVEL": "2"}
    subprocess.run(
        [sys.executable, "-m", "burgerfries", "data-prep", str(work / "photos"), "--out", str(work / "prepared")],
        env=env,
        cwd=work,
        check=True,
    )
    subsets = write_subsets(work / "prepared", shrunk_test, work / "subsets")
    import mlflow

    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    client = mlflow.MlflowClient()
    rows = []
    for seed in args.seeds:
        started = time.perf_counter()
        train = ["train", "--data", str(work / "prepared"), "--seed", str(seed), *shlex.split(args.train_args)]
        run_id = burgerfries(train, env, work)
        seconds = time.perf_counter() - started
        row = {"seed": seed, "run_id": run_id, "seconds": round(seconds, 1)}
        row["all test photos"] = client.get_run(run_id).data.metrics.get("test/mAP_50", float("nan"))
        for name, folder in subsets.items():
            evaluated = burgerfries(["evaluate", "--run-id", run_id, "--data", str(folder), "--new-run"], env, work)
            row[name] = client.get_run(evaluated).data.metrics[MAP_50]
        print(json.dumps(row), flush=True)
        rows.append(row)
        if args.out:
            args.out.write_text(json.dumps(rows, indent=1))
    print("| mAP@0.5 | " + " | ".join(f"seed {row['seed']}" for row in rows) + " | mean | σ (n − 1 dof) |")
    print("|---|" + "---|" * (len(rows) + 2))
    for column in ("shrunk", "unshrunk", "all test photos", "seconds"):
        values = np.array([row[column] for row in rows], dtype=float)
        sigma = f"{values.std(ddof=1):.3f} ({len(values) - 1})" if len(values) > 1 else "—"
        print(f"| {column} | " + " | ".join(f"{v:.3f}" for v in values) + f" | {values.mean():.3f} | {sigma} |")


if __name__ == "__main__":
    main()
