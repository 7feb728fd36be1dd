"""mine(): a model's false positives on target-free audio become noise clips in train, once."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from animal_spot.annotations.event import Event
from animal_spot.annotations.raven import write_table
from animal_spot.bundle import ModelBundle
from animal_spot.cli import main
from animal_spot.config import (
    DataConfig,
    ExperimentConfig,
    ModelConfig,
    PredictConfig,
    TrainConfig,
)
from animal_spot.data.manifest import Clip, read_manifest, write_manifest
from animal_spot.data.mining import mine
from animal_spot.data.mining_files import (
    MINED_COLUMNS,
    MinedClip,
    check_no_leak,
    read_rejected,
    write_mined,
)
from animal_spot.data.prepare import load_splits, prepare
from animal_spot.errors import BadData
from animal_spot.models import build_model
from animal_spot.prediction.api import predict
from animal_spot.prediction.scores import read_scores
from animal_spot.training.fit import train
from tests.conftest import write_wav
from tests.prediction.conftest import SMALL_AUDIO, SMALL_SPECTROGRAM, save_random_model

RATE_HZ = 8000  # the small front end's rate; its windows hold 0.512 s, its clips 0.5 s
CLIP_S = 0.5


@pytest.fixture(scope="module", autouse=True)
def _one_thread_per_module(one_thread: None) -> None:
    """Every test here on one intra-op thread (tests/conftest.py)."""


def save_firing_model(path: Path) -> Path:
    """A real ResNet-18 whose head ignores its input: ``tone`` scores 0.9997 in every window."""
    torch.manual_seed(0)
    config = ExperimentConfig(audio=SMALL_AUDIO, spectrogram=SMALL_SPECTROGRAM, model=ModelConfig())
    model = build_model(config.model, 2).eval()
    with torch.no_grad():
        model.fc.weight.zero_()
        model.fc.bias.copy_(torch.tensor([-4.0, 4.0]))
    return ModelBundle(config, ["noise", "tone"], model).save(path)


@pytest.fixture
def firing_model(tmp_path: Path) -> Path:
    return save_firing_model(tmp_path / "models" / "firing.pt")


def make_prepared(folder: Path) -> Path:
    """A prepared folder by hand: tone and noise clips in train, one clip in val and in test."""
    clips = folder / "clips"
    split_clips = {
        "train": [
            Clip(write_wav(clips / "t1.wav", 0.5, sample_rate_hz=RATE_HZ), "tone", "tapeA"),
            Clip(write_wav(clips / "n1.wav", 0.5, sample_rate_hz=RATE_HZ), "noise", "tapeA"),
        ],
        "val": [Clip(write_wav(clips / "v1.wav", 0.5, sample_rate_hz=RATE_HZ), "tone", "tapeV")],
        "test": [Clip(write_wav(clips / "s1.wav", 0.5, sample_rate_hz=RATE_HZ), "tone", "tapeT")],
    }
    data = folder / "data"
    for name, listed in split_clips.items():
        write_manifest(listed, data / f"{name}.csv")
    return data


def quiet_recordings(folder: Path, n: int = 2, duration_s: float = 6.0) -> Path:
    for i in range(n):
        write_wav(folder / f"bg{i + 1}.wav", duration_s, sample_rate_hz=RATE_HZ, seed=10 + i)
    return folder


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_mine_adds_the_expected_clips_once_and_a_rerun_adds_none(firing_model, tmp_path):
    data = make_prepared(tmp_path)
    quiet = quiet_recordings(tmp_path / "quiet")
    result = mine(firing_model, quiet, data, max_per_recording=3)

    assert (result.n_recordings, result.n_events, result.n_duplicates) == (2, 2, 0)
    assert result.hours == pytest.approx(12 / 3600)
    assert len(result.added) == 6
    train = read_manifest(data / "train.csv")
    assert len(train) == 2 + 6
    mined = [c for c in train if c.group.startswith("bg")]
    for clip in mined:
        assert clip.label == "noise"
        assert clip.path == (quiet / f"{clip.group}.wav").resolve()
        assert clip.end_s - clip.start_s == pytest.approx(CLIP_S)
    # equal scores everywhere: the first three windows, centred; windows are 0.512 s long and
    # start on STFT frames (16 ms) nearest to 0, 0.5 and 1 s: 0, 0.496, 0.992 s
    starts = sorted(c.start_s for c in mined if c.group == "bg1")
    assert starts == pytest.approx([0.006, 0.502, 0.998])
    record = rows(data / "mined.csv")
    assert tuple(record[0]) == MINED_COLUMNS
    assert len(record) == 6
    assert {r["class"] for r in record} == {"tone"}
    assert {r["model"] for r in record} == {str(firing_model.resolve())}
    assert float(record[0]["score"]) == pytest.approx(torch.tensor([-4.0, 4.0]).softmax(0)[1])

    before = {name: (data / name).read_bytes() for name in ("train.csv", "mined.csv")}
    again = mine(firing_model, quiet, data, max_per_recording=3)
    assert (len(again.added), again.n_duplicates, again.files) == (0, 6, [])
    assert {name: (data / name).read_bytes() for name in before} == before
    assert "added 0 noise clips" in again.summary()


def test_a_rejected_clip_stays_out_and_a_train_csv_prepared_again_gets_clips_again(
    firing_model, tmp_path
):
    data = make_prepared(tmp_path)
    quiet = quiet_recordings(tmp_path / "quiet", n=1)
    first = mine(firing_model, quiet, data, max_per_recording=2)
    assert len(first.added) == 2
    rejected = first.added[0].clip
    record = rows(data / "mined.csv")
    assert {r["status"] for r in record} == {"added"}
    record[0]["status"] = "rejected"
    with (data / "mined.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=MINED_COLUMNS)
        writer.writeheader()
        writer.writerows(record)
    kept = [c for c in read_manifest(data / "train.csv") if c != rejected]
    write_manifest(kept, data / "train.csv")  # the reviewer deletes it from train

    again = mine(firing_model, quiet, data, max_per_recording=2)
    assert (again.added, again.n_duplicates) == ([], 2)
    assert rejected not in read_manifest(data / "train.csv")

    make_prepared(tmp_path)  # train.csv written afresh, mined.csv kept
    fresh = mine(firing_model, quiet, data, max_per_recording=2)
    assert [m.clip for m in fresh.added] == [first.added[1].clip]


def test_mined_clips_lie_in_target_free_stretches_never_within_the_margin(firing_model, tmp_path):
    data = make_prepared(tmp_path)
    audio_dir = tmp_path / "annotated"
    write_wav(audio_dir / "night.wav", 12.0, sample_rate_hz=RATE_HZ, calls=[(3.0, 0.5, 1000)])
    write_wav(audio_dir / "unlabelled.wav", 4.0, sample_rate_hz=RATE_HZ, seed=3)
    selections = [Event(3.0, 3.5, "tone"), Event(8.0, 8.4, "tone")]
    tables = tmp_path / "tables"
    write_table(selections, tables / "night.Table.1.selections.txt")

    result = mine(
        firing_model, audio_dir, data, references=tables, margin_s=1.0, hop_s=0.25,
        max_per_recording=100,
    )  # fmt: skip
    free = [(0.0, 2.0), (4.5, 7.0), (9.4, 12.0)]
    assert result.n_recordings == 1
    assert result.free_hours == pytest.approx(sum(b - a for a, b in free) / 3600)
    assert result.n_events == 3  # the model fires in each free stretch
    assert [(p.name, "no selection table" in why) for p, why in result.errors] == [
        ("unlabelled.wav", True)
    ]
    clips = [m.clip for m in result.added]
    assert {c.group for c in clips} == {"night"}
    for clip in clips:
        assert any(a - 1e-6 <= clip.start_s and clip.end_s <= b + 1e-6 for a, b in free), clip
        for event in selections:  # at least the margin away from every selection
            assert clip.end_s <= event.start_s - 1.0 + 1e-6 or clip.start_s >= event.end_s + 1.0
    for a, b in free:
        assert any(a <= c.start_s < b for c in clips)


def test_the_clip_is_centred_on_the_highest_scoring_window_predict_reports(tmp_path):
    data = make_prepared(tmp_path)
    calls = [(1.0, 0.4, 1200.0), (3.5, 0.6, 2400.0), (6.2, 0.3, 3000.0)]
    recording = write_wav(tmp_path / "quiet" / "site.wav", 8.0, sample_rate_hz=RATE_HZ, calls=calls)
    model = save_random_model(tmp_path / "models" / "random.pt", ("noise", "tone"), seed=3)
    config = PredictConfig(model_path=(model,), input_file=recording, output_dir=tmp_path / "pred")
    predict(config, progress=False)
    (track,) = read_scores(tmp_path / "pred" / "site.scores.csv")
    tone = track.column("tone")
    # the four best windows fire: halfway to the fifth, so float noise cannot flip one
    threshold = float(np.sort(tone)[-4] + np.sort(tone)[-5]) / 2
    firing = np.concatenate([[False], tone >= threshold, [False]])
    n_runs = int((np.diff(firing.astype(int)) == 1).sum())

    result = mine(model, recording, data, threshold=threshold, max_per_recording=1)
    assert result.n_events == n_runs
    (found,) = result.added
    best = int(np.argmax(tone))
    centre_s = (track.start_s[best] + track.end_s[best]) / 2
    assert (found.clip.start_s + found.clip.end_s) / 2 == pytest.approx(centre_s, abs=1e-5)
    assert found.score == pytest.approx(tone.max(), rel=1e-5)


def prepare_from_raven(folder: Path) -> tuple[Path, Path, dict[str, list[Clip]]]:
    """8 annotated recordings prepared by `prepare`: (data folder, tables, splits)."""
    audio_dir, tables = folder / "audio", folder / "raven"
    for i in range(8):
        calls = [(1.0, 0.4, 1500.0), (3.0, 0.4, 2500.0)]
        write_wav(audio_dir / f"rec{i}.wav", 4.5, sample_rate_hz=RATE_HZ, calls=calls, seed=i)
        selections = [Event(1.0, 1.4, "tone"), Event(3.0, 3.4, "tone")]
        write_table(selections, tables / f"rec{i}.Table.1.selections.txt")
    data = folder / "data"
    splits = prepare(
        data, raven_dir=tables, audio_dir=audio_dir, window_s=0.5, noise_per_selection=1,
        margin_s=0.5, split=(0.5, 0.25, 0.25),
    ).splits  # fmt: skip
    return data, tables, splits


def test_mining_a_recording_of_the_val_or_test_split_is_refused(firing_model, tmp_path):
    data, tables, splits = prepare_from_raven(tmp_path)
    held_out = splits["val"][0].path
    before = (data / "train.csv").read_bytes()
    with pytest.raises(BadData, match=r"val\.csv") as caught:
        mine(firing_model, held_out, data, references=tables, margin_s=0.5)
    assert str(held_out) in str(caught.value) and "\n" not in str(caught.value)
    assert (data / "train.csv").read_bytes() == before
    assert not (data / "mined.csv").exists()

    in_train = splits["train"][0]
    result = mine(firing_model, in_train.path, data, references=tables, margin_s=0.5)
    assert result.added
    assert {m.clip.group for m in result.added} == {in_train.group}  # prepare's group


def test_a_merged_group_or_a_tape_named_in_val_or_test_guards_its_recordings(tmp_path):
    splits = {"train": [], "val": [Clip(tmp_path / "rec7.wav", "tone", "rec7+rec8")], "test": []}
    with pytest.raises(BadData, match="rec8"):
        check_no_leak([tmp_path / "other" / "rec8.wav"], splits, {})
    check_no_leak([tmp_path / "rec9.wav"], splits, {})
    taped = {"test": [Clip(tmp_path / "a.wav", "tone", "2010_101BC")]}
    with pytest.raises(BadData, match="2010_101BC"):  # a cut of the same tape, by its name
        check_no_leak([tmp_path / "noise-_7_2010_101BC_0_9000.wav"], taped, {})


def test_nothing_above_the_threshold_writes_nothing(firing_model, tmp_path):
    data = make_prepared(tmp_path)
    before = (data / "train.csv").read_bytes()
    result = mine(firing_model, quiet_recordings(tmp_path / "quiet", n=1), data, threshold=1.0)
    assert (result.n_events, result.added, result.files) == (0, [], [])
    assert (data / "train.csv").read_bytes() == before
    assert not (data / "mined.csv").exists()
    assert "wrote nothing" in result.summary()


def test_a_corrupt_recording_among_good_ones_is_reported_and_skipped(firing_model, tmp_path):
    data = make_prepared(tmp_path)
    quiet = quiet_recordings(tmp_path / "quiet", n=1)
    (quiet / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk" * 10)
    (quiet / "empty.wav").write_bytes(b"")
    result = mine(firing_model, quiet, data, max_per_recording=2)
    assert result.n_recordings == 1
    assert len(result.added) == 2
    assert sorted(p.name for p, _ in result.errors) == ["corrupt.wav", "empty.wav"]
    assert "corrupt.wav" in result.summary()


def test_cli_errors_are_one_line_naming_the_file(firing_model, tmp_path, capsys):
    quiet = quiet_recordings(tmp_path / "quiet", n=1)
    empty = tmp_path / "not_prepared"
    empty.mkdir()
    argv = ["mine", "--model_path", str(firing_model), "--input_file", str(quiet)]
    assert main([*argv, "--data_dir", str(empty)]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and str(empty) in error and "prepare" in error

    data = make_prepared(tmp_path)
    corrupt = tmp_path / "bad" / "corrupt.wav"
    corrupt.parent.mkdir()
    corrupt.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk" * 10)
    argv = ["mine", "--model_path", str(firing_model), "--input_file", str(corrupt)]
    assert main([*argv, "--data_dir", str(data)]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and str(corrupt) in error and "cannot be read" in error


def test_cli_mine_runs_in_a_subprocess_and_reports_what_it_added(firing_model, tmp_path):
    data = make_prepared(tmp_path)
    quiet = quiet_recordings(tmp_path / "quiet")
    command = [
        sys.executable, "-m", "animal_spot", "mine", "--model_path", str(firing_model),
        "--input_file", str(quiet / "bg1.wav"), str(quiet / "bg2.wav"), "--data_dir", str(data),
        "--max_per_recording", "2", "--hop", "0.25", "--device", "cpu",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "scanned 2 recordings" in done.stdout
    assert "added 4 noise clips" in done.stdout
    assert len(read_manifest(data / "train.csv")) == 2 + 4


def test_prepare_train_mine_train_again_runs_and_the_second_run_sees_the_mined_clips(tmp_path):
    data, tables, splits = prepare_from_raven(tmp_path)
    config = ExperimentConfig(
        audio=SMALL_AUDIO,
        spectrogram=SMALL_SPECTROGRAM,
        data=DataConfig(data_dir=data),
        train=TrainConfig(
            model_dir=tmp_path / "runs", run_name="first", max_train_epochs=1, batch_size=8
        ),
    )
    first = train(config)
    recordings = sorted({c.path for c in splits["train"]})
    result = mine(first.model_path, recordings, data, references=tables, margin_s=0.5,
                  threshold=1e-3)  # fmt: skip
    assert result.added
    second = train(replace(config, train=replace(config.train, run_name="second")))
    assert second.model_path.is_file()
    grown = load_splits(DataConfig(data_dir=data))["train"]
    assert len(grown) == len(splits["train"]) + len(result.added)


def test_mined_rows_keep_formula_like_text_as_text_and_read_back_the_same(tmp_path):
    data = tmp_path / "data"
    write_manifest([Clip(tmp_path / "a.wav", "call", "g")], data / "train.csv")
    odd = Clip(tmp_path / "=HYPERLINK(x).wav", "@noise", "+group", 1.0, 3.0)
    write_mined(data, [MinedClip(odd, 0.93, "-call")], tmp_path / "model.pt")
    with (data / "train.csv").open(newline="", encoding="utf-8") as handle:
        written = list(csv.DictReader(handle))[-1]
    assert [written[k][0] for k in ("label", "group")] == ["'", "'"]
    assert read_manifest(data / "train.csv")[-1] == odd
    with (data / "mined.csv").open(newline="", encoding="utf-8") as handle:
        mined = list(csv.DictReader(handle))[-1]
    assert mined["class"] == "'-call"
    rows = (data / "mined.csv").read_text(encoding="utf-8").replace(",added", ",rejected")
    (data / "mined.csv").write_text(rows, encoding="utf-8")
    assert read_rejected(data / "mined.csv") == [odd]
