from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from automl.data import from_memory, load_path, resolve_target
from automl.errors import DataError


def test_image_folder_is_read_with_labels_from_sub_folders(digits_folder: Path):
    dataset = load_path(digits_folder)
    assert dataset.modality == "image"
    assert dataset.X.shape == (300, 8, 8, 1)
    assert sorted(set(dataset.y)) == [str(d) for d in range(10)]
    assert dataset.evidence == "300 PNG files in 10 class folders"


def test_mixed_sizes_are_resized_and_unreadable_files_skipped_and_counted(digits_folder: Path):
    Image.new("L", (16, 12), color=128).save(digits_folder / "3" / "big.png")
    (digits_folder / "4" / "broken.png").write_bytes(b"not a png at all")
    dataset = load_path(digits_folder)
    assert dataset.X.shape == (301, 8, 8, 1)
    assert any("resized 1 images" in note for note in dataset.notes)
    assert any("skipped 1 unreadable" in note and "broken.png" in note for note in dataset.notes)


def test_rgb_and_grey_images_share_one_colour_mode(tmp_path: Path):
    colours = {"RGB": (200, 40, 40), "L": 90, "RGBA": (20, 40, 200, 255)}
    for label, mode in (("a", "RGB"), ("b", "L"), ("c", "RGBA")):
        (tmp_path / label).mkdir()
        for i in range(3):
            Image.new(mode, (10, 10), colours[mode]).save(tmp_path / label / f"{i}.png")
    dataset = load_path(tmp_path)
    assert dataset.X.shape == (9, 10, 10, 3)


def test_csv_target_is_guessed_by_name_and_the_guess_reported(tmp_path: Path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": [1, 2, 3], "Label": ["x", "y", "x"]}).to_csv(path, index=False)
    dataset = load_path(path)
    assert dataset.target_name == "Label"
    assert list(dataset.X.columns) == ["a"]
    assert any("chosen by its name" in note for note in dataset.notes)


def test_parquet_with_explicit_target_and_missing_targets_dropped(tmp_path: Path):
    path = tmp_path / "t.parquet"
    frame = pd.DataFrame(
        {"a": [1.0, 2, 3, 4], "b": ["u", "v", None, "u"], "out": [1.5, None, 2, 3]}
    )
    frame.to_parquet(path)
    dataset = load_path(path, target="out")
    assert len(dataset) == 3
    assert any("dropped 1 rows" in note for note in dataset.notes)


def test_target_column_missing_or_ambiguous_names_the_fix():
    with pytest.raises(DataError, match="'price' is not in the table"):
        resolve_target(["a", "b"], "price")
    with pytest.raises(DataError, match="ambiguous.*--target"):
        resolve_target(["label", "target", "x"], None)
    column, note = resolve_target(["a", "b"], None)  # no label column: unlabelled, and said
    assert column is None and "unlabelled; pass --target COL" in note


def test_bad_paths_and_folders(tmp_path: Path):
    with pytest.raises(DataError, match="does not exist"):
        load_path(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="is empty"):
        load_path(tmp_path / "empty")
    flat = tmp_path / "flat"
    flat.mkdir()
    Image.new("L", (8, 8)).save(flat / "x.png")
    assert load_path(flat).y is None  # images without class folders are unlabelled
    (flat / "cats").mkdir()
    Image.new("L", (8, 8)).save(flat / "cats" / "y.png")
    with pytest.raises(DataError, match="directly inside it and others in sub-folders"):
        load_path(flat)
    corrupt = tmp_path / "bad.parquet"
    corrupt.write_bytes(b"PAR1 nonsense")
    with pytest.raises(DataError, match="Cannot read"):
        load_path(corrupt, target="x")


def test_in_memory_arrays_and_frames(breast_cancer_frame, digits_images):
    frame, y = breast_cancer_frame
    table = from_memory(frame, y)
    assert table.modality == "table" and table.X.shape == frame.shape
    images, labels = digits_images
    stack = from_memory(images[:50], labels[:50])
    assert stack.modality == "image" and stack.X.shape == (50, 8, 8, 1)
    rgb = from_memory(np.zeros((5, 9, 9, 4)), np.arange(5))
    assert rgb.X.shape == (5, 9, 9, 3)
    flat = from_memory(images[:50].reshape(50, -1), labels[:50])
    assert flat.modality == "table" and flat.X.shape == (50, 64)


def test_in_memory_errors_say_what_to_fix(digits_images):
    images, labels = digits_images
    with pytest.raises(DataError, match="X has 50 rows but y has 49"):
        from_memory(images[:50], labels[:49])
    assert from_memory(images[:50]).y is None  # no y: unlabelled
    with pytest.raises(DataError, match="missing labels"):
        from_memory(np.zeros((4, 2)), [1.0, np.nan, 0.0, 1.0])
    with pytest.raises(DataError, match="shape"):
        from_memory(np.zeros((4, 2, 2, 2, 2)), [0, 1, 0, 1])


def test_split_folders_are_used_as_given_not_mistaken_for_classes(tmp_path: Path, digits_images):
    from tests.support.images import write_image_folder

    images, labels = digits_images
    write_image_folder(tmp_path / "pets" / "train", images[:6], labels[:6])
    write_image_folder(tmp_path / "pets" / "test", images[6:10], labels[6:10])
    dataset = load_path(tmp_path / "pets")
    assert sorted(dataset.split.tolist()) == ["test"] * 4 + ["train"] * 6
    assert set(dataset.y) == {str(v) for v in labels[:10]}  # classes, not split names
    assert load_path(tmp_path / "pets" / "train").name == "pets"
    write_image_folder(tmp_path / "only_test" / "test", images[:4], labels[:4])
    with pytest.raises(DataError, match="no train/ folder"):
        load_path(tmp_path / "only_test")


def test_integer_target_with_gaps_keeps_integer_labels(tmp_path: Path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": range(6), "label": [1, 2, None, 1, 2, 1]}).to_csv(path, index=False)
    dataset = load_path(path)
    assert dataset.y.dtype.kind == "i" and sorted(set(dataset.y.tolist())) == [1, 2]


def test_mixed_label_types_are_compared_as_text():
    dataset = from_memory(np.zeros((4, 2)), np.asarray([1, "a", 1, "a"], dtype=object))
    assert dataset.y.tolist() == ["1", "a", "1", "a"]


def test_16_bit_images_keep_their_range(tmp_path: Path):
    gradient = np.linspace(0, 65535, 32 * 32).reshape(32, 32).astype(np.uint16)
    for label in ("a", "b"):
        (tmp_path / label).mkdir()
        Image.fromarray(gradient).save(tmp_path / label / "g.png")
    dataset = load_path(tmp_path)
    assert len(np.unique(dataset.X[0])) > 200 and dataset.X.max() == 255


def test_3d_arrays_are_series_when_an_axis_is_too_short_for_an_image():
    """Keras' (n, T, 1) and aeon's (n, 1, T) or (n, C, T) are series; (n, 28, 28) stays
    images; a shape that could be either names modality=."""
    rng = np.random.default_rng(0)
    cases = {
        (12, 150, 1): ("series", "(n, T, F)", (12, 150, 1)),
        (12, 1, 150): ("series", "(n, F, T)", (12, 150, 1)),
        (12, 3, 150): ("series", "(n, F, T)", (12, 150, 3)),
        (12, 150, 3): ("series", "(n, T, F)", (12, 150, 3)),
        (12, 28, 28): ("image", None, (12, 28, 28, 1)),
    }
    for shape, (modality, layout, data_shape) in cases.items():
        dataset = from_memory(rng.random(shape), np.arange(12) % 2)
        assert dataset.modality == modality, shape
        assert dataset.data_shape == data_shape, shape
        if layout:
            assert dataset.evidence.endswith(f"from an array of shape {layout}"), dataset.evidence
    aeon = rng.random((12, 1, 150))
    assert np.allclose(from_memory(aeon).X[3][:, 0], aeon[3, 0])  # time runs along axis 2
    for shape in [(12, 6, 100), (12, 100, 6)]:
        with pytest.raises(DataError, match='modality="series".*or modality="image"'):
            from_memory(rng.random(shape))
        assert from_memory(rng.random(shape), modality="series").modality == "series"
    with pytest.raises(
        DataError, match='too small for images and too short for series; pass modality="series"'
    ):
        from_memory(rng.random((12, 3, 3)))
