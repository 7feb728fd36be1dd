"""An ANIMAL-SPOT data folder trains where it lies, reusing the split its index files record."""

from __future__ import annotations

import logging

import pytest

from animal_spot.config import DataConfig
from animal_spot.data.prepare import load_splits
from animal_spot.errors import BadData
from animal_spot.legacy.splits import has_legacy_split, read_legacy_split
from tests.conftest import write_wav

NAMES = {
    "siteA": [
        "target-call_1_2019_TAPE1_100_600.wav",
        "noise-_2_2019_TAPE1_700_1200.wav",
        "target-call_3_2019_TAPE2_100_600.wav",
        "noise-_4_2019_TAPE3_100_600.wav",
    ],
    "siteB": [
        "target-call_5_2020_T9_100_600.wav",
        "noise-_6_2020_T9_700_1200.wav",
    ],
}


def animal_spot_folder(root, with_split=True, index_paths="absolute"):
    """Clips in sub-folders, per-folder headerless CSVs, index files: as ANIMAL-SPOT leaves it."""
    for folder, names in NAMES.items():
        for name in names:
            write_wav(root / folder / name, 0.05, sample_rate_hz=8000)
    if not with_split:
        return root
    split_of = {"siteA": ["train", "train", "val", "test"], "siteB": ["train", "val"]}
    listed: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for folder, names in NAMES.items():
        for split in ("train", "val", "test"):
            rows = [
                f"{folder}/{n}" for n, s in zip(names, split_of[folder], strict=True) if s == split
            ]
            if rows:  # ANIMAL-SPOT writes no CSV for an empty split
                (root / folder / f"{split}.csv").write_text("\n".join(rows) + "\n")
                entry = root / folder if index_paths == "absolute" else folder
                listed[split].append(f"{entry}/{split}.csv")
    for split, csvs in listed.items():
        (root / split).write_text("# ANIMAL-SPOT split\n\n" + "\n".join(csvs) + "\n")
    return root


def names(clips):
    return sorted(clip.path.name for clip in clips)


def test_index_files_give_the_recorded_split_with_labels_and_tapes(tmp_path):
    root = animal_spot_folder(tmp_path / "data")
    assert has_legacy_split(root)
    splits = read_legacy_split(root)
    assert names(splits["train"]) == sorted([*NAMES["siteA"][:2], NAMES["siteB"][0]])
    assert names(splits["val"]) == sorted([NAMES["siteA"][2], NAMES["siteB"][1]])
    assert names(splits["test"]) == [NAMES["siteA"][3]]
    first = next(c for c in splits["train"] if c.path.name == NAMES["siteA"][0])
    assert (first.label, first.group, first.path) == (
        "target",
        "2019_TAPE1",
        root / "siteA" / NAMES["siteA"][0],
    )


def test_a_moved_data_folder_still_reads_its_split(tmp_path):
    animal_spot_folder(tmp_path / "old")
    moved = tmp_path / "new" / "data"
    moved.parent.mkdir()
    (tmp_path / "old").rename(moved)
    splits = read_legacy_split(moved)  # index lines still name tmp_path/old/...
    assert sum(len(clips) for clips in splits.values()) == 6
    assert all(clip.path.is_relative_to(moved) for clip in splits["train"])


def test_rows_are_rejoined_to_their_csv_folder_and_relative_index_lines_work(tmp_path):
    root = animal_spot_folder(tmp_path / "data", index_paths="relative")
    csv = root / "siteB" / "train.csv"
    csv.write_text("/somewhere/else/siteB/target-call_5_2020_T9_100_600.wav\n")
    splits = read_legacy_split(root)
    assert root / "siteB" / NAMES["siteB"][0] in [c.path for c in splits["train"]]


def test_a_missing_csv_is_a_clear_error(tmp_path):
    root = animal_spot_folder(tmp_path / "data")
    (root / "siteA" / "val.csv").unlink()
    with pytest.raises(BadData, match=r"val: line 3 lists .*siteA/val.csv, which does not exist"):
        read_legacy_split(root)


def test_badly_named_or_vanished_clips_are_left_out_with_a_warning(tmp_path, caplog):
    root = animal_spot_folder(tmp_path / "data")
    (root / "siteA" / NAMES["siteA"][1]).unlink()  # e.g. moved to bkp/ after the split
    with (root / "siteA" / "train.csv").open("a") as handle:
        handle.write("siteA/badname.wav\n\n")
    with caplog.at_level(logging.WARNING):
        splits = read_legacy_split(root)
    assert names(splits["train"]) == sorted([NAMES["siteA"][0], NAMES["siteB"][0]])
    assert "2 listed clips left out" in caplog.text


def test_load_splits_reuses_the_index_files_and_writes_nothing(tmp_path):
    root = animal_spot_folder(tmp_path / "data")
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    splits = load_splits(DataConfig(data_dir=root))
    assert names(splits["test"]) == [NAMES["siteA"][3]]
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


def test_load_splits_splits_a_folder_without_index_files_where_it_lies(tmp_path):
    root = animal_spot_folder(tmp_path / "data", with_split=False)
    assert not has_legacy_split(root)
    splits = load_splits(DataConfig(data_dir=root))
    assert sum(len(clips) for clips in splits.values()) == 6
    assert all(clip.path.parent.parent == root for clips in splits.values() for clip in clips)
