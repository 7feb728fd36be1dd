"""Clips from long recordings: Raven selections, crops, noise at a margin, call-free background."""

from __future__ import annotations

import itertools
import os
from collections import Counter
from pathlib import Path

import pytest

from animal_spot.annotations.event import Event
from animal_spot.annotations.raven import read_table, write_table
from animal_spot.data.manifest import Clip
from animal_spot.data.recordings import read_background, read_raven
from tests.conftest import write_wav

RATE_HZ = 8000


def recording_with_table(folder: Path, stem: str, duration_s: float, events: list[Event]) -> Path:
    write_wav(folder / "audio" / f"{stem}.wav", duration_s, sample_rate_hz=RATE_HZ)
    return write_table(events, folder / "raven" / f"{stem}.Table.1.selections.txt")


def test_raven_calls_are_widened_to_the_window_and_shifted_inside_the_recording(tmp_path):
    events = [Event(0.1, 0.3, "call"), Event(5.0, 5.5, "call"), Event(9.0, 12.0, "song")]
    recording_with_table(tmp_path, "rec", 10.0, events)
    write_wav(tmp_path / "audio" / "untabled.wav", 1.0, sample_rate_hz=RATE_HZ)
    write_table([], tmp_path / "raven" / "lost.Table.1.selections.txt")
    clips, problems = read_raven(tmp_path / "raven", tmp_path / "audio", window_s=2.0)
    assert [(c.label, c.group, c.start_s, c.end_s) for c in clips] == [
        ("call", "rec", 0.0, 2.0),
        ("call", "rec", 4.25, 6.25),
        ("song", "rec", 7.0, 10.0),
    ]
    assert sorted((p.path.name, p.reason.split(";")[0]) for p in problems) == [
        ("lost.Table.1.selections.txt", "no recording of this name"),
        ("untabled.wav", "no selection table of this name"),
    ]


def test_raven_noise_clips_keep_the_margin_do_not_overlap_and_follow_the_seed(tmp_path):
    events = [Event(3.0, 3.5, "call"), Event(20.0, 21.0, "call")]
    recording_with_table(tmp_path, "rec", 30.0, events)
    kwargs = dict(window_s=1.0, noise_per_selection=3, margin_s=2.0, noise_label="bg")
    clips, problems = read_raven(tmp_path / "raven", tmp_path / "audio", seed=4, **kwargs)
    noise = [c for c in clips if c.label == "bg"]
    assert len(noise) == 6
    assert not problems
    for clip in noise:
        assert clip.end_s - clip.start_s == pytest.approx(1.0)
        assert clip.start_s >= 0
        assert clip.end_s <= 30.0
        assert all(
            clip.end_s <= e.start_s - 2.0 + 1e-6 or clip.start_s >= e.end_s + 2.0 - 1e-6
            for e in events
        )
    assert all(a.end_s <= b.start_s + 1e-6 for a, b in itertools.pairwise(noise))
    again = read_raven(tmp_path / "raven", tmp_path / "audio", seed=4, **kwargs).clips
    other = read_raven(tmp_path / "raven", tmp_path / "audio", seed=5, **kwargs).clips
    assert again == clips
    assert other != clips


def test_raven_noise_overlaps_only_when_the_gaps_are_too_short_and_is_missing_without_room(
    tmp_path,
):
    recording_with_table(tmp_path / "a", "tight", 6.0, [Event(2.5, 3.5, "call")])
    clips, problems = read_raven(
        tmp_path / "a" / "raven", tmp_path / "a" / "audio", window_s=1.0, noise_per_selection=4
    )
    noise = [c for c in clips if c.label == "noise"]
    assert len(noise) == 4
    assert not problems
    assert all(c.end_s <= 1.5 + 1e-6 or c.start_s >= 4.5 - 1e-6 for c in noise)
    recording_with_table(tmp_path / "b", "full", 3.0, [Event(1.0, 2.0, "call")])
    clips, problems = read_raven(
        tmp_path / "b" / "raven", tmp_path / "b" / "audio", window_s=1.0, noise_per_selection=1
    )
    assert [c.label for c in clips] == ["call"]
    assert [p.reason for p in problems] == ["room for 0 of 1 noise clips"]


def is_clear_of(clip: Clip, events: list[Event], margin_s: float) -> bool:
    """The clip lies at least ``margin_s`` from every event."""
    return all(
        clip.end_s <= e.start_s - margin_s + 1e-6 or clip.start_s >= e.end_s + margin_s - 1e-6
        for e in events
    )


def test_raven_noise_keeps_the_margin_from_every_selection_of_its_recording(tmp_path):
    # Twelve selections in 60 s, one unlabelled: noise must avoid all, not only "its own".
    events = [Event(4.0 * i + 1.0, 4.0 * i + 1.5, "call") for i in range(12)]
    events.append(Event(52.0, 53.0, ""))
    recording_with_table(tmp_path, "busy", 60.0, events)
    clips, problems = read_raven(
        tmp_path / "raven", tmp_path / "audio", window_s=1.0, noise_per_selection=1, margin_s=1.0
    )
    noise = [c for c in clips if c.label == "noise"]
    assert len(noise) == 12
    assert [p.reason for p in problems] == ["12 selections used, 1 skipped (1 without a label)"]
    assert all(is_clear_of(clip, events, 1.0) for clip in noise)


def test_raven_crops_keep_the_whole_selection_inside_each_window_at_seeded_shifts(tmp_path):
    events = [Event(0.2, 0.5, "call"), Event(5.0, 5.4, "call"), Event(9.7, 9.9, "call")]
    recording_with_table(tmp_path, "rec", 10.0, events)
    kwargs = dict(window_s=2.0, crops_per_selection=4, seed=3)
    clips, problems = read_raven(tmp_path / "raven", tmp_path / "audio", **kwargs)
    assert not problems
    for event in events:
        crops = [c for c in clips if c.start_s <= event.start_s and c.end_s >= event.end_s]
        assert len(crops) == 4
        assert len({c.start_s for c in crops}) == 4  # calls at different places in the window
    assert len(clips) == 12
    assert all(c.end_s - c.start_s == pytest.approx(2.0) for c in clips)
    assert all(c.start_s >= 0 and c.end_s <= 10.0 for c in clips)
    assert {c.group for c in clips} == {"rec"}
    assert read_raven(tmp_path / "raven", tmp_path / "audio", **kwargs).clips == clips
    other = read_raven(tmp_path / "raven", tmp_path / "audio", **{**kwargs, "seed": 4}).clips
    assert other != clips


def test_raven_crops_of_a_selection_longer_than_the_window_lie_inside_it(tmp_path):
    recording_with_table(tmp_path, "long", 20.0, [Event(5.0, 11.0, "song")])
    clips, _ = read_raven(
        tmp_path / "raven", tmp_path / "audio", window_s=2.0, crops_per_selection=3
    )
    assert len(clips) == 3
    assert all(c.start_s >= 5.0 and c.end_s <= 11.0 + 1e-6 for c in clips)
    assert all(c.end_s - c.start_s == pytest.approx(2.0) for c in clips)


def test_one_crop_per_selection_is_the_centred_clip_of_before(tmp_path):
    events = [Event(5.0, 5.5, "call")]
    recording_with_table(tmp_path, "rec", 10.0, events)
    one = read_raven(tmp_path / "raven", tmp_path / "audio", window_s=2.0, crops_per_selection=1)
    assert [(c.start_s, c.end_s) for c in one.clips] == [(4.25, 6.25)]


def test_background_recordings_give_seeded_noise_clips_one_group_each(tmp_path):
    for name in ("night1", "sub/night2"):
        write_wav(tmp_path / "bg" / f"{name}.wav", 30.0, sample_rate_hz=RATE_HZ)
    write_wav(tmp_path / "bg" / "short.wav", 0.5, sample_rate_hz=RATE_HZ)
    (tmp_path / "bg" / "broken.wav").write_bytes(b"RIFF not really")
    clips, problems = read_background(tmp_path / "bg", window_s=2.0, clips_per_recording=5)
    assert Counter(c.group for c in clips) == {"night1": 5, "night2": 5}
    assert {c.label for c in clips} == {"noise"}
    for group in ("night1", "night2"):
        spans = sorted((c.start_s, c.end_s) for c in clips if c.group == group)
        assert all(b - a == pytest.approx(2.0) for a, b in spans)
        assert all(a[1] <= b[0] + 1e-6 for a, b in itertools.pairwise(spans))  # apart
        assert spans[0][0] >= 0 and spans[-1][1] <= 30.0
    assert sorted(p.path.name for p in problems) == ["broken.wav", "short.wav"]
    again = read_background(tmp_path / "bg", window_s=2.0, clips_per_recording=5).clips
    assert again == clips
    spread = read_background(tmp_path / "bg", window_s=2.0, total_clips=7).clips
    assert Counter(c.group for c in spread) == {"night1": 2, "night2": 2}  # ⌈7 / 4 files⌉


def test_raven_clips_of_the_real_recordings_count_53_calls_and_k_times_53_noise(shared_data):
    folder = shared_data / "narw_upcalls"
    clips, problems = read_raven(
        folder / "raven", folder / "narw", window_s=2.0, noise_per_selection=2, margin_s=1.0
    )
    assert not problems
    assert Counter(c.label for c in clips) == {"upcall": 53, "noise": 106}
    selections = {
        stem: read_table(next((folder / "raven").glob(f"{stem}.*")))
        for stem in {c.group for c in clips}
    }
    for clip in clips:
        assert clip.end_s - clip.start_s >= 2.0 - 1e-6
        assert clip.start_s >= 0
        if clip.label == "noise":
            assert all(
                clip.end_s <= e.start_s - 1.0 + 1e-6 or clip.start_s >= e.end_s + 1.0 - 1e-6
                for e in selections[clip.group]
            )


def test_entries_the_folder_walk_leaves_out_are_reported_by_both_readers(tmp_path):
    events = [Event(2.0, 3.0, "call")]
    recording_with_table(tmp_path, "rec", 10.0, events)
    write_wav(tmp_path / "bg" / "quiet.wav", 10.0, sample_rate_hz=RATE_HZ)
    for folder in (tmp_path / "audio", tmp_path / "bg"):
        (folder / "gone.wav").symlink_to(folder / "nowhere.wav")
        os.mkfifo(folder / "pipe.wav")
    _, problems = read_raven(tmp_path / "raven", tmp_path / "audio", window_s=1.0)
    assert {p.path.name for p in problems} >= {"gone.wav", "pipe.wav"}
    _, problems = read_background(tmp_path / "bg", window_s=2.0, clips_per_recording=2)
    assert {p.path.name for p in problems} == {"gone.wav", "pipe.wav"}
