"""`--data` given a LabelImg folder: prepared once into a folder named by its content, reused while
no file changes, prepared again when one does, and tracked as a data_prep run."""

import mlflow
import pytest
from voc_files import write_image, write_xml

from burgerfries.data.folder import DataFolder
from burgerfries.jobs.data_prep import is_labelimg_folder, resolve_data


def labelimg_folder(root):
    root.mkdir()
    for index in range(6):
        write_image(root / f"p{index}.jpg", colour=(40 * index, 80, 120))
        write_xml(root / f"p{index}.xml", [("burger", 4, 4, 40, 30)], filename=f"p{index}.jpg")
    return root


def test_a_labelimg_folder_is_prepared_once_and_again_when_a_file_changes(tmp_path, tracking_uri, monkeypatch):
    monkeypatch.chdir(tmp_path)
    photos = labelimg_folder(tmp_path / "photos")
    assert is_labelimg_folder(photos)
    first = resolve_data(photos)
    assert first.parent.name == "data" and first.name.startswith("prepared-") and (first / "label_map.pbtxt").is_file()
    assert not is_labelimg_folder(first)  # a data_prep folder is used as it is
    assert resolve_data(first) == first
    assert resolve_data(photos) == first  # unchanged: reused, not prepared again
    runs = mlflow.search_runs(experiment_names=["data_prep"], output_format="list")
    assert len(runs) == 1 and runs[0].data.params["source"] == str(photos)
    write_xml(photos / "p0.xml", [("burger", 2, 2, 30, 30)], filename="p0.jpg")  # a box moved
    second = resolve_data(photos)
    assert second != first and (second / "label_map.pbtxt").is_file()
    assert len(mlflow.search_runs(experiment_names=["data_prep"], output_format="list")) == 2


def test_a_folder_prepared_with_two_splits_is_prepared_again_or_refused_in_one_line(
    tmp_path, tracking_uri, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    photos = labelimg_folder(tmp_path / "photos")
    prepared = resolve_data(photos)
    (prepared / "validation.record").unlink()  # as an older burgerfries left it: train and eval only
    older = DataFolder.open(prepared)
    assert not older.has_validation
    with pytest.raises(ValueError, match=r"no validation split .* prepare it again") as refused:
        older.record("validation")
    assert str(prepared) in str(refused.value) and "\n" not in str(refused.value)
    assert older.eval_record.is_file()  # what needs no choice (the test photos) still reads
    assert resolve_data(photos) == prepared  # the LabelImg folder itself: prepared again, in place
    assert DataFolder.open(prepared).has_validation
    assert len(mlflow.search_runs(experiment_names=["data_prep"], output_format="list")) == 2
