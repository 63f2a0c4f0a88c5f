"""The three splits: validation photos carved from the training photos, stratified, apart from
the test photos; folder layouts kept; the same for the same seed."""

from __future__ import annotations

import hashlib

import pytest

from burgerfries.data.ingest import NormalizedBox, Sample
from burgerfries.data.split import split_samples


def sample(name: str, classes: tuple[str, ...], hint: str | None = None, content: str | None = None) -> Sample:
    objects = [NormalizedBox(c, 0.1, 0.1, 0.5, 0.5) for c in classes]
    digest = hashlib.sha256((content or name).encode()).hexdigest()
    return Sample(name, b"", 10, 10, digest, objects, split_hint=hint)


def files(split: list[Sample]) -> list[str]:
    return [s.rel_path for s in split]


def test_validation_is_carved_from_the_training_photos_stratified_and_disjoint():
    samples = [sample(f"a{i:02d}.jpg", ("burger",)) for i in range(20)]
    samples += [sample(f"b{i:02d}.jpg", ("fries",)) for i in range(10)]
    split = split_samples(samples, eval_fraction=0.2, seed=0, validation_fraction=0.25)
    sizes = {name: len(part) for name, part in split.items()}
    # per class set: 20 → 4 test, 16 → 4 validation; 10 → 2 test, 8 → 2 validation
    assert sizes == {"train": 18, "validation": 6, "eval": 6}
    for part in split.values():
        assert {box.name for s in part for box in s.objects} == {"burger", "fries"}
    assert sorted(sum(map(files, split.values()), [])) == sorted(files(samples))
    again = split_samples(list(reversed(samples)), eval_fraction=0.2, seed=0, validation_fraction=0.25)
    assert {k: files(v) for k, v in again.items()} == {k: files(v) for k, v in split.items()}
    other = split_samples(samples, eval_fraction=0.2, seed=1, validation_fraction=0.25)
    assert files(other["validation"]) != files(split["validation"])


def test_a_train_test_layout_keeps_its_test_photos_and_carves_validation_from_train():
    samples = [sample(f"train/t{i}.jpg", ("card",), "train") for i in range(10)]
    samples += [sample(f"test/e{i}.jpg", ("card",), "eval") for i in range(3)]
    split = split_samples(samples, eval_fraction=0.5, seed=0, validation_fraction=0.2)
    assert files(split["eval"]) == [f"test/e{i}.jpg" for i in range(3)]
    assert len(split["validation"]) == 2 and all(name.startswith("train/") for name in files(split["validation"]))


def test_a_valid_folder_is_validation_beside_test_and_the_held_out_split_without_it():
    layout = [sample("train/a.jpg", ("x",), "train"), sample("train/b.jpg", ("x",), "train")]
    with_test = layout + [sample("valid/c.jpg", ("x",), "validation"), sample("test/d.jpg", ("x",), "eval")]
    split = split_samples(with_test, 0.2, 0)
    assert (files(split["validation"]), files(split["eval"])) == (["valid/c.jpg"], ["test/d.jpg"])
    without_test = layout + [sample("val/c.jpg", ("x",), "validation")]
    split = split_samples(without_test, 0.2, 0, validation_fraction=0.5)
    assert files(split["eval"]) == ["val/c.jpg"] and len(split["validation"]) == 1


def test_copies_of_one_image_never_straddle_splits():
    samples = [sample(f"{i:02d}.jpg", ("x",), content=f"c{i // 2}") for i in range(20)]  # ten pairs
    split = split_samples(samples, 0.2, 0, validation_fraction=0.25)
    where = {s.content_sha256: name for name, part in split.items() for s in part}
    for name, part in split.items():
        assert all(where[s.content_sha256] == name for s in part)
    assert {name: len(part) for name, part in split.items()} == {"train": 12, "validation": 4, "eval": 4}


def test_a_fraction_of_one_is_refused():
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        split_samples([sample("a.jpg", ("x",))], eval_fraction=0.2, seed=0, validation_fraction=1.0)
