"""Group splits: whole groups, stratified by class, seeded; merging groups that share content."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from animal_spot.data.manifest import Clip
from animal_spot.data.splits import merge_groups, split_by_group, split_counts
from animal_spot.errors import BadConfig, BadData


def random_clips(seed: int) -> list[Clip]:
    """1–5 classes, 1–30 groups each, 1–20 clips per group; some groups hold two classes."""
    rng = np.random.default_rng(seed)
    labels = [f"class{i}" for i in range(rng.integers(1, 6))]
    clips = []
    for label in labels:
        for g in range(rng.integers(1, 31)):
            for c in range(rng.integers(1, 21)):
                other = labels[rng.integers(len(labels))] if rng.random() < 0.1 else label
                clips.append(Clip(Path(f"{label}_{g}_{c}.wav"), other, f"{label}-tape{g}"))
    return clips


def groups_of(clips: list[Clip]) -> set[str]:
    return {clip.group for clip in clips}


@pytest.mark.parametrize("data_seed", range(12))
def test_no_group_lies_in_two_splits_and_every_clip_lands_once(data_seed):
    clips = random_clips(data_seed)
    for seed in range(3):
        splits = split_by_group(clips, seed=seed)
        train, val, test = (groups_of(splits[name]) for name in ("train", "val", "test"))
        assert not (train & val)
        assert not (train & test)
        assert not (val & test)
        assert sorted(id(c) for part in splits.values() for c in part) == sorted(map(id, clips))
        if len(groups_of(clips)) >= 3:
            assert all(splits.values())
        assert split_by_group(clips, seed=seed) == splits


def test_the_same_seed_gives_the_same_split_and_another_seed_another():
    clips = random_clips(100)
    assert split_by_group(clips, seed=7) == split_by_group(list(clips), seed=7)
    assert split_by_group(clips, seed=7) != split_by_group(clips, seed=8)


def test_fractions_are_roughly_honoured_within_each_class():
    clips = [
        Clip(Path(f"{label}{g}_{c}.wav"), label, f"{label}{g}")
        for label, n_groups in (("a", 60), ("b", 20))
        for g in range(n_groups)
        for c in range(1 + g % 5)
    ]
    counts = split_counts(split_by_group(clips, fractions=(0.6, 0.2, 0.2), seed=3))
    for label in ("a", "b"):
        total = sum(counts[name][label] for name in counts)
        shares = [counts[name][label] / total for name in ("train", "val", "test")]
        assert shares == pytest.approx([0.6, 0.2, 0.2], abs=0.05)


def test_a_class_with_one_or_two_groups_is_reported_not_refused(caplog):
    clips = [Clip(Path(f"{g}_{c}.wav"), "common", f"c{g}") for g in range(9) for c in range(3)]
    clips += [Clip(Path("r0.wav"), "rare", "r0"), Clip(Path("r1.wav"), "rare", "r1")]
    with caplog.at_level(logging.WARNING, logger="animal_spot.data.splits"):
        splits = split_by_group(clips, seed=0)
    assert "class 'rare' has 2 group(s)" in caplog.text
    counts = split_counts(splits)
    assert counts["train"]["rare"] == 1
    assert counts["val"]["rare"] + counts["test"]["rare"] == 1
    assert all(counts[name]["common"] > 0 for name in counts)


def test_singleton_classes_still_fill_every_split():
    clips = [Clip(Path(f"{label}.wav"), label, f"tape_{label}") for label in "abcde"]
    splits = split_by_group(clips, seed=2)
    assert [len(splits[name]) for name in ("train", "val", "test")] == [3, 1, 1]


def test_a_zero_fraction_leaves_its_split_empty():
    splits = split_by_group(random_clips(5), fractions=(0.8, 0.2, 0.0))
    assert splits["train"]
    assert splits["val"]
    assert not splits["test"]


@pytest.mark.parametrize(
    "fractions", [(0.7, 0.3), (0.7, -0.1, 0.4), (0, 0, 0), (1, float("nan"), 0)]
)
def test_unusable_fractions_raise_bad_config(fractions):
    with pytest.raises(BadConfig, match="fractions"):
        split_by_group(random_clips(0), fractions=fractions)


def test_no_clips_raises_bad_data():
    with pytest.raises(BadData, match="no clips"):
        split_by_group([])


def test_merged_groups_get_one_name_and_stay_together_in_every_split():
    clips = [Clip(Path(f"{g}_{c}.wav"), "x", f"g{g:02d}") for g in range(30) for c in range(2)]
    merged = merge_groups(
        clips, [("g03", "g17"), ("g17", "g29"), ("g05", "absent"), ("absent", "g06")]
    )
    names = {clip.path.name.split("_")[0]: clip.group for clip in merged}
    assert names["3"] == names["17"] == names["29"] == "g03+g17+g29"
    assert names["5"] == names["6"] == "g05+g06"
    assert names["4"] == "g04"
    for seed in range(10):
        splits = split_by_group(merged, seed=seed)
        home = {
            clip.path.name.split("_")[0]: name for name, part in splits.items() for clip in part
        }
        assert home["3"] == home["17"] == home["29"]
        assert home["5"] == home["6"]


def test_split_counts_list_every_class_in_every_split():
    clips = [Clip(Path("a.wav"), "a", "1"), Clip(Path("b.wav"), "b", "2")]
    counts = split_counts({"train": clips, "val": clips[:1], "test": []})
    assert counts == {"train": {"a": 1, "b": 1}, "val": {"a": 1, "b": 0}, "test": {"a": 0, "b": 0}}
