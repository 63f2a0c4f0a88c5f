"""data_prep end to end: records round-trip, determinism, the synthetic set, macncheese, tracking."""

import json

import mlflow
import numpy as np
import pytest
import tensorflow as tf
from voc_files import write_image, write_xml

from burgerfries.cli import main
from burgerfries.data.folder import read_label_map
from burgerfries.data.prepare import StrictModeError, prepare_dataset
from burgerfries.data.tfrecord import parse_example
from burgerfries.scenes.scene_drawing import MIN_FILL
from burgerfries.scenes.synthetic import render_scene
from burgerfries.tracking import MAX_DIGEST_LENGTH


def decode_all(record_path):
    return [parse_example(raw) for raw in tf.data.TFRecordDataset(str(record_path))]


def test_records_round_trip(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    write_image(source / "a.jpg", 80, 40)
    write_xml(source / "a.xml", [("burger", 8, 4, 40, 20), ("fries", 40, 20, 80, 40, 1)], width=80, height=40)
    write_image(source / "b.jpg", 50, 60, colour=(1, 100, 200))
    write_xml(source / "b.xml", [("fries", 5, 6, 25, 30)], width=50, height=60)
    prepared = prepare_dataset(source, tmp_path / "out", eval_fraction=0.5, progress=False)
    examples = {
        e["filename"].numpy().decode(): e
        for e in decode_all(prepared.folder.train_record) + decode_all(prepared.folder.eval_record)
    }
    assert set(examples) == {"a.jpg", "b.jpg"}
    a = examples["a.jpg"]
    assert a["image"].shape == (40, 80, 3) and int(a["height"]) == 40 and int(a["width"]) == 80
    np.testing.assert_allclose(a["boxes"].numpy(), [[0.1, 0.1, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0]], atol=1e-6)
    assert a["labels"].numpy().tolist() == [1, 2] and a["difficult"].numpy().tolist() == [False, True]
    b = examples["b.jpg"]
    assert b["image"].shape == (60, 50, 3) and b["labels"].numpy().tolist() == [2]
    assert read_label_map(prepared.folder.label_map) == {1: "burger", 2: "fries"}


def test_synthetic_set_is_deterministic_and_tight():
    first, again = render_scene(7, 3), render_scene(7, 3)
    assert np.array_equal(np.asarray(first.image), np.asarray(again.image))
    assert first.objects == again.objects
    assert not np.array_equal(np.asarray(render_scene(8, 3).image), np.asarray(first.image))
    fills = [fill for index in range(40) for fill in render_scene(0, index).fills]
    assert len(fills) > 40 and min(fills) >= MIN_FILL
    assert any(render_scene(0, index).distractors for index in range(10))


def test_split_and_hash_are_deterministic(tmp_path):
    one = prepare_dataset("synthetic", tmp_path / "one", num_images=20, seed=3, eval_images=0, progress=False)
    two = prepare_dataset("synthetic", tmp_path / "two", num_images=20, seed=3, eval_images=0, progress=False)
    other = prepare_dataset("synthetic", tmp_path / "other", num_images=20, seed=4, eval_images=0, progress=False)

    def splits(prepared):
        return [(f["file"], f["split"]) for f in prepared.summary["files"]]

    assert splits(one) == splits(two) and one.summary["hash"] == two.summary["hash"]
    assert other.summary["hash"] != one.summary["hash"]
    # 20 % of 20 held out for the test photos, then 20 % of the other 16 as validation photos
    assert one.summary["num_images"] == {"train": 13, "validation": 3, "eval": 4}
    # stratified: each class appears on every side
    for split in ("train", "validation", "eval"):
        assert all(n > 0 for n in one.summary["num_objects"][split].values()), one.summary["num_objects"]


def test_strict_refuses_any_problem(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    write_image(source / "a.jpg")
    write_xml(source / "a.xml", [("burger", -5, 1, 30, 30)])
    with pytest.raises(StrictModeError, match="a.xml"):
        prepare_dataset(source, tmp_path / "out", strict=True, progress=False)
    assert (tmp_path / "out" / "skip_report.csv").read_text().count("\n") == 2


def test_macncheese_ingests_every_image_in_both_layouts(shared_dir, tmp_path):
    prepared = prepare_dataset(shared_dir / "datasets" / "macncheese", tmp_path / "mac", progress=False)
    summary = prepared.summary
    assert summary["num_skipped"] == 0
    # images/train (Annotations/) and images/test (XML beside); a fifth of train/ carved as validation
    assert summary["num_images"] == {"train": 114, "validation": 28, "eval": 12}
    assert summary["classes"] == ["macncheese"]
    assert len(decode_all(prepared.folder.train_record)) == 114 and len(decode_all(prepared.folder.eval_record)) == 12
    assert len(decode_all(prepared.folder.validation_record)) == 28
    test_files = {f["file"] for f in summary["files"] if f["split"] == "eval"}
    assert all("test" in name.split("/")[:-1] for name in test_files)  # the author's test photos stay the test
    assert any(" " in f["file"] for f in summary["files"])


def test_cli_tracks_a_finished_run_with_artifacts(tracking_uri, tmp_path, capsys):
    out = tmp_path / "prepared"
    command = ["data-prep", "synthetic", "--out", str(out), "--num-images", "12", "--eval-images", "5"]
    assert main(command) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out.resolve())
    summary = json.loads((out / "dataset.json").read_text())
    # 12 training scenes, 5 more held out and 5 validation scenes: other scenes, never one twice
    assert summary["num_images"] == {"train": 12, "validation": 5, "eval": 5}
    scenes = {
        split: {f["file"].rsplit("/", 1)[-1] for f in summary["files"] if f["split"] == split}
        for split in ("train", "validation", "eval")
    }
    assert len(set.union(*scenes.values())) == 22
    run = mlflow.search_runs(experiment_names=["data_prep"], output_format="list")[0]
    assert run.info.status == "FINISHED"
    assert run.data.tags["dataset_hash"] == summary["hash"]
    assert {i.dataset.digest for i in run.inputs.dataset_inputs} == {summary["hash"][:MAX_DIGEST_LENGTH]}
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id)}
    assert {"skip_report.csv", "dataset.json", "contact_sheet.png", "label_map.pbtxt"} <= artifacts


def test_cli_strict_exits_non_zero_with_the_list(tracking_uri, tmp_path, capsys):
    source = tmp_path / "src"
    source.mkdir()
    write_image(source / "a.jpg")
    write_xml(source / "a.xml", [("burger", 1, 1, 30, 30)], width=0, height=0)
    assert main(["data-prep", str(source), "--out", str(tmp_path / "out"), "--strict"]) == 2
    assert "a.xml" in capsys.readouterr().err
