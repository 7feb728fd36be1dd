"""The split audit: shared audio, label conflicts, rate leakage, bad clips and small classes."""

from __future__ import annotations

import csv
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from animal_spot.data.audit import audit, groups_to_merge
from animal_spot.data.fingerprint import (
    clip_key,
    find_shared_content,
    fingerprint_clips,
)
from animal_spot.data.manifest import Clip
from tests.conftest import synth, write_wav

RATE = 44100


def noise(duration_s: float, seed: int, sample_rate_hz: int = RATE) -> np.ndarray:
    """Loud noise plus a tone, as float32, exactly representable in 16 bits."""
    samples = synth(
        duration_s,
        sample_rate_hz=sample_rate_hz,
        noise_level=0.1,
        calls=[(0.0, duration_s, 1000.0)],
        seed=seed,
    )
    return np.round(samples * 32768) / 32768


def save(path: Path, samples: np.ndarray, sample_rate_hz: int = RATE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), samples, sample_rate_hz, subtype="PCM_16")
    return path


def shared_of(*clips: Clip):
    return find_shared_content(fingerprint_clips(clips))


def test_byte_identical_clips_in_train_and_test_are_cross_split_duplicates(tmp_path):
    a = write_wav(tmp_path / "a.wav", 0.5, noise_level=0.1)
    b = tmp_path / "b.wav"
    shutil.copyfile(a, b)
    report = audit({"train": [Clip(a, "whale", "tape1")], "test": [Clip(b, "whale", "tape2")]})
    (duplicate,) = report.cross_split_duplicates
    assert duplicate.kind == "byte-identical"
    assert {duplicate.a.group, duplicate.b.group} == {"tape1", "tape2"}
    assert {duplicate.a.split, duplicate.b.split} == {"train", "test"}
    assert duplicate.shared_s == pytest.approx(0.5)
    assert report.group_overlaps[0].n_clip_pairs == 1
    assert not report.is_clean


def test_same_samples_in_flac_and_wav_are_sample_identical(tmp_path):
    samples = noise(0.5, seed=1)
    wav = save(tmp_path / "call.wav", samples)
    flac = save(tmp_path / "call.flac", samples)
    (shared,) = shared_of(Clip(wav, "whale", "t1"), Clip(flac, "whale", "t2"))
    assert shared.kind == "identical"
    assert not shared.is_byte_identical
    report = audit({"train": [Clip(wav, "whale", "t1")], "val": [Clip(flac, "whale", "t2")]})
    assert [d.kind for d in report.cross_split_duplicates] == ["sample-identical"]


def test_clip_cut_from_the_middle_of_another_is_contained(tmp_path):
    long = noise(2.0, seed=2)
    whole = save(tmp_path / "whole.wav", long)
    cut = save(tmp_path / "cut.wav", long[round(0.7 * RATE) : round(1.2 * RATE)])
    (shared,) = shared_of(Clip(cut, "whale", "t2"), Clip(whole, "whale", "t1"))
    assert shared.kind == "contained"
    assert (shared.a, shared.b) == (clip_key(Clip(whole, "", "")), clip_key(Clip(cut, "", "")))
    assert shared.shared_s == pytest.approx(0.5)
    assert shared.a_start_s == pytest.approx(0.7)
    assert shared.b_start_s == 0


def test_clips_overlapping_by_half_a_second_are_an_overlap_and_their_groups_merge(tmp_path):
    tape = noise(2.5, seed=3)
    first = Clip(save(tmp_path / "first.wav", tape[: round(1.5 * RATE)]), "whale", "tape1")
    second = Clip(save(tmp_path / "second.wav", tape[round(1.0 * RATE) :]), "whale", "tape2")
    other = Clip(write_wav(tmp_path / "other.wav", 1.0, seed=9), "whale", "tape3")
    shared = shared_of(first, second, other)
    (overlap,) = shared
    assert overlap.kind == "overlap"
    assert overlap.shared_s == pytest.approx(0.5)
    assert groups_to_merge(shared, [first, second, other]) == [("tape1", "tape2")]
    report = audit({"train": [first, other], "test": [second]})
    assert [o.kind for o in report.cross_split_overlaps] == ["overlap"]
    (groups,) = report.group_overlaps
    assert {groups.a_group, groups.b_group} == {"tape1", "tape2"}


def test_overlapping_spans_of_one_recording_share_content_and_lie_inside_it(tmp_path):
    tape = save(tmp_path / "tape.wav", noise(3.0, seed=4))
    spans = [Clip(tape, "whale", "a", 0.0, 1.0), Clip(tape, "whale", "b", 0.75, 2.0)]
    (overlap,) = shared_of(*spans)
    assert overlap.kind == "overlap"
    assert overlap.shared_s == pytest.approx(0.25)
    whole = Clip(tape, "whale", "c")
    kinds = {(s.a, s.b): s.kind for s in shared_of(whole, *spans)}
    assert kinds[(clip_key(whole), clip_key(spans[0]))] == "contained"
    assert kinds[(clip_key(whole), clip_key(spans[1]))] == "contained"


def test_a_shared_run_as_short_as_the_guarantee_is_found(tmp_path):
    run = noise(0.01, seed=5)[:95]  # kgram_samples + window - 1 at the defaults
    a = save(tmp_path / "a.wav", np.concatenate([noise(0.2, seed=6), run, noise(0.2, seed=7)]))
    b = save(tmp_path / "b.wav", np.concatenate([noise(0.3, seed=8), run]))
    fingerprints = fingerprint_clips([Clip(a, "x", "1"), Clip(b, "x", "2")])
    assert {fp.min_shared_samples for fp in fingerprints.values()} == {95}
    (overlap,) = find_shared_content(fingerprints)
    assert overlap.kind == "overlap"
    assert overlap.shared_s * RATE == pytest.approx(95, abs=1)


def test_independent_noise_clips_are_not_matched(tmp_path):
    clips = [Clip(write_wav(tmp_path / f"{i}.wav", 1.0, seed=i), "whale", str(i)) for i in range(3)]
    assert shared_of(*clips) == []


def test_silence_padded_clips_whose_sounds_start_alike_are_not_matched(tmp_path):
    pad = np.zeros(2000, dtype=np.float32)
    first, second = noise(0.2, seed=12), noise(0.2, seed=13)
    second[:3] = first[:3]
    clips = [
        Clip(save(tmp_path / f"{i}.wav", np.concatenate([pad, sound, pad])), "whale", f"{i}")
        for i, sound in enumerate((first, second))
    ]
    assert shared_of(*clips) == []


def test_digital_silence_is_reported_silent_and_matches_nothing(tmp_path):
    quiet = np.zeros(RATE, dtype=np.float32)
    gap = np.concatenate([quiet[: RATE // 2], noise(0.5, seed=10), quiet[: RATE // 2]])
    silence = Clip(save(tmp_path / "silence.wav", quiet), "whale", "t1")
    shorter = Clip(save(tmp_path / "shorter.wav", quiet[: RATE // 2]), "whale", "t2")
    gappy = Clip(save(tmp_path / "gappy.wav", gap), "whale", "t3")
    report = audit({"train": [silence, gappy], "test": [shorter]})
    assert report.n_shared_pairs == 0
    assert [Path(b.path).name for b in report.broken_clips] == ["shorter.wav", "silence.wav"]
    assert all(b.reason.startswith("silent") for b in report.broken_clips)


def test_unreadable_nan_and_empty_files_are_reported_broken_once_each(tmp_path):
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"RIFF this is not audio at all" * 10)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    nan = tmp_path / "nan.wav"
    sf.write(str(nan), np.full(1000, np.nan, dtype=np.float32), RATE, subtype="FLOAT")
    header_only = tmp_path / "header_only.wav"
    sf.write(str(header_only), np.zeros(0, dtype=np.float32), RATE, subtype="PCM_16")
    good = write_wav(tmp_path / "good.wav", 0.5, noise_level=0.1)
    paths = (garbage, empty, nan, header_only, good)
    clips = [Clip(path, "whale", path.stem) for path in paths]
    report = audit({"train": clips[:4], "test": clips[4:]})
    reasons = {Path(b.path).name: b.reason for b in report.broken_clips}
    assert sorted(reasons) == ["empty.wav", "garbage.wav", "header_only.wav", "nan.wav"]
    assert len(report.broken_clips) == 4
    assert "empty" in reasons["empty.wav"]
    assert "NaN" in reasons["nan.wav"]
    assert "no samples" in reasons["header_only.wav"]
    assert "broken clips: 4 clips" in report.format_text()


def test_class_recorded_only_at_8khz_is_named_as_sample_rate_leakage(tmp_path):
    splits: dict[str, list[Clip]] = {"train": [], "test": []}
    for i in range(8):
        split = "train" if i < 6 else "test"
        whale = write_wav(tmp_path / f"whale{i}.wav", 0.2, sample_rate_hz=8000, seed=i)
        dolphin = write_wav(tmp_path / f"dolphin{i}.wav", 0.2, sample_rate_hz=RATE, seed=i)
        splits[split] += [Clip(whale, "whale", f"w{i}"), Clip(dolphin, "dolphin", f"d{i}")]
    leakage = audit(splits).sample_rate_leakage
    assert leakage is not None
    assert leakage.classes["whale"] == (8000,)
    assert leakage.baseline_accuracy == 1.0
    assert leakage.chance == 0.5
    assert (leakage.fit_on, leakage.scored_on, leakage.n_scored) == ("train", "test", 4)
    assert "whale only at 8 kHz" in audit(splits).format_text()


def test_only_the_class_with_a_rate_of_its_own_is_named(tmp_path):
    clips = [
        Clip(
            write_wav(tmp_path / f"{label}{i}.wav", 0.1, sample_rate_hz=rate, seed=i), label, f"{i}"
        )
        for label, rate in (("whale", 8000), ("dolphin", RATE), ("seal", RATE))
        for i in range(3)
    ]
    leakage = audit({"train": clips}).sample_rate_leakage
    assert leakage is not None
    assert leakage.classes == {"whale": (8000,)}
    assert leakage.rates_by_class["seal"] == (RATE,)
    assert leakage.scored_on == "all"
    assert leakage.baseline_accuracy == pytest.approx(2 / 3)


def test_one_sound_under_two_labels_is_a_label_conflict(tmp_path):
    long = noise(1.0, seed=11)
    whole = Clip(save(tmp_path / "whole.wav", long), "whale", "t1")
    copy = Clip(save(tmp_path / "copy.wav", long), "dolphin", "t2")
    part = Clip(save(tmp_path / "part.wav", long[1000:9000]), "seal", "t3")
    report = audit({"train": [whole, copy, part]})
    kinds = sorted((c.kind, c.a.label, c.b.label) for c in report.label_conflicts)
    assert kinds == [
        ("byte-identical", "dolphin", "whale"),
        ("contained", "dolphin", "seal"),
        ("contained", "whale", "seal"),
    ]


def test_class_with_too_few_clips_or_missing_from_a_split_is_small(tmp_path):
    def clip(name: str, label: str) -> Clip:
        return Clip(write_wav(tmp_path / f"{name}.wav", 0.1, seed=len(name)), label, name)

    splits = {
        "train": [clip("a", "whale"), clip("bb", "whale"), clip("ccc", "dolphin")],
        "test": [clip("dddd", "whale"), clip("eeeee", "dolphin"), clip("ffffff", "dolphin")],
        "val": [],
    }
    report = audit(splits, min_clips_per_class=3)
    assert [(s.label, s.n_clips, s.missing_from) for s in report.small_classes] == []
    assert report.empty_splits == ("val",)  # an empty split is a finding of its own
    report = audit(splits, min_clips_per_class=4)
    assert [(s.label, s.n_clips) for s in report.small_classes] == [("dolphin", 3), ("whale", 3)]
    splits["val"] = [clip("ggggggg", "whale")]
    (small,) = audit(splits).small_classes
    assert (small.label, small.missing_from) == ("dolphin", ("val",))


def test_clean_report_round_trips_through_json_and_says_ok(tmp_path):
    clips = [
        Clip(write_wav(tmp_path / f"{label}{i}.wav", 0.2, seed=i + 10 * n), label, f"{label}{i}")
        for n, label in enumerate(("whale", "dolphin"))
        for i in range(3)
    ]
    report = audit({"train": clips[0:2] + clips[3:5], "test": [clips[2], clips[5]]})
    assert report.is_clean
    text = report.format_text()
    assert "cross-split duplicates: OK" in text
    assert "sample-rate leakage: OK" in text
    path = report.write_json(tmp_path / "out" / "audit.json")
    loaded = json.loads(path.read_text())
    assert loaded["is_clean"] is True
    assert loaded["split_sizes"] == {"train": 4, "test": 2}
    assert loaded == json.loads(json.dumps(report.to_dict()))


def test_fingerprints_from_worker_processes_equal_those_of_one_process(tmp_path):
    clips = [Clip(write_wav(tmp_path / f"{i}.wav", 0.3, seed=i), "x", str(i)) for i in range(4)]
    one, many = fingerprint_clips(clips), fingerprint_clips(clips, workers=2)
    assert one.keys() == many.keys()
    for key in one:
        assert np.array_equal(one[key].hashes, many[key].hashes)
        assert one[key].samples_sha256 == many[key].samples_sha256


def test_watkins_clips_share_tape_across_source_ids_and_leak_their_rate(shared_data):
    root = shared_data / "watkins10"
    with (root / "labels.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    clips = [Clip(root / row["file"], row["class_code"], row["source_id"]) for row in rows]
    source = {clip_key(clip): clip.group for clip in clips}
    started = time.perf_counter()
    fingerprints = fingerprint_clips(clips, workers=2)
    shared = find_shared_content(fingerprints)
    elapsed_s = time.perf_counter() - started
    source_pairs = {
        tuple(sorted((source[s.a], source[s.b]))) for s in shared if source[s.a] != source[s.b]
    }
    assert len(source_pairs) >= 30
    assert any(s.kind == "contained" for s in shared)
    assert elapsed_s < 60
    merged = groups_to_merge(shared, clips)
    assert set(merged) >= source_pairs
    report = audit({"train": clips}, fingerprints, shared=shared)
    leakage = report.sample_rate_leakage
    assert leakage is not None
    assert leakage.rates_by_class["MHW"] == (81920,)
    assert "MHW" in leakage.classes or leakage.baseline_accuracy > leakage.chance + 0.3
    assert leakage.is_leaky


def three_splits(tmp_path: Path, counts: dict[str, dict[str, int]]) -> dict[str, list[Clip]]:
    """Distinct noise clips, one group each, ``counts[split][label]`` of them."""
    splits: dict[str, list[Clip]] = {}
    seed = 0
    for split, per_class in counts.items():
        splits[split] = []
        for label, n in per_class.items():
            for _ in range(n):
                seed += 1
                path = write_wav(tmp_path / f"{split}_{label}_{seed}.wav", 0.1, seed=seed)
                splits[split].append(Clip(path, label, f"g{seed}"))
    return splits


def test_a_split_without_clips_is_not_clean(tmp_path):
    splits = three_splits(
        tmp_path, {"train": {"whale": 3, "seal": 3}, "val": {}, "test": {"whale": 1, "seal": 1}}
    )
    report = audit(splits)
    assert report.empty_splits == ("val",)
    assert not report.is_clean
    assert "empty splits: 1 splits without clips" in report.format_text()
    assert report.to_dict()["is_clean"] is False


def test_a_class_with_no_clip_in_one_split_is_not_clean(tmp_path):
    splits = three_splits(
        tmp_path,
        {"train": {"whale": 3, "seal": 3}, "val": {"whale": 1}, "test": {"whale": 1, "seal": 1}},
    )
    report = audit(splits)
    assert [(s.label, s.missing_from) for s in report.small_classes] == [("seal", ("val",))]
    assert not report.is_clean


def test_every_split_with_every_class_is_clean(tmp_path):
    counts = {"whale": 2, "seal": 2}
    report = audit(three_splits(tmp_path, {"train": counts, "val": counts, "test": counts}))
    assert (report.empty_splits, report.small_classes, report.split_leaks) == ((), (), ())
    assert report.is_clean


def test_a_rate_that_predicts_the_label_lists_the_classes_it_gives_away(tmp_path):
    # No class has a rate of its own, yet the rate tells whale (mostly 8 kHz) from seal.
    clips = []
    for label, main_hz, other_hz in (("whale", 8000, 22050), ("seal", 22050, 8000)):
        for i in range(6):
            rate = other_hz if i == 0 else main_hz
            path = write_wav(tmp_path / f"{label}{i}.wav", 0.1, sample_rate_hz=rate, seed=i)
            clips.append(Clip(path, label, f"{label}{i}"))
    report = audit({"train": clips})
    leakage = report.sample_rate_leakage
    assert leakage is not None and leakage.is_leaky
    assert leakage.baseline_accuracy == pytest.approx(10 / 12)
    assert leakage.classes == {"seal": (22050,), "whale": (8000,)}
    assert report.to_dict()["sample_rate_leakage"]["classes"] == {"seal": [22050], "whale": [8000]}
    assert "the rate predicts the label" in report.format_text()


def test_a_recording_moved_by_hand_into_a_second_split_is_a_leak(tmp_path):
    tape = write_wav(tmp_path / "tape.wav", 4.0, noise_level=0.1)
    other = write_wav(tmp_path / "other.wav", 1.0, noise_level=0.1, seed=3)
    splits = {
        "train": [Clip(tape, "whale", "tape", 0.0, 1.0), Clip(other, "whale", "other")],
        "val": [Clip(tape, "whale", "tape", 2.0, 3.0)],  # no shared audio, the same recording
    }
    report = audit(splits)
    assert [(s.kind, s.name, s.splits) for s in report.split_leaks] == [
        ("group", "tape", ("train", "val")),
        ("recording", str(tape), ("train", "val")),
    ]
    assert report.cross_split_overlaps == ()
    assert not report.is_clean
    assert "groups in several splits: 2 groups or recordings" in report.format_text()
