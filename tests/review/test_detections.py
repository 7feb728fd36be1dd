"""What a review finds in a predict output folder, and the one-line errors when it cannot."""

from __future__ import annotations

from pathlib import Path

import pytest

from animal_spot import cli
from animal_spot.errors import BadConfig
from animal_spot.review import read_detections

from .conftest import RECORDINGS, Folder, write_predictions


def test_detections_come_from_each_recordings_table_and_audio_dir(folder: Folder):
    found = read_detections(folder.predictions, folder.audio)
    names = [d.recording.name for d in found.detections]
    assert names == ["a.wav"] * 5 + ["site2/b.wav"] * 2
    assert [d.id for d in found.detections] == list(range(7))
    first = found.detections[5]
    assert first.recording.audio == folder.audio / "site2" / "b.wav"
    assert first.recording.table == Path("site2/b.selections.txt")
    assert (first.event.start_s, first.event.end_s, first.event.label) == (1.5, 2.0, "upsweep")
    assert first.event.score == pytest.approx(0.8)
    assert found.classes == ["tone", "upsweep"]
    assert found.audio_dir == folder.audio


def test_prediction_json_says_where_recordings_are_and_adds_the_models_classes(tmp_path):
    folder = write_predictions(tmp_path, with_json=True)
    found = read_detections(folder.predictions)
    assert [d.recording.audio for d in found.detections] == [
        (folder.audio / name).absolute()
        for name, (_, _, events) in RECORDINGS.items()
        for _ in events
    ]
    assert found.classes == ["click", "tone", "upsweep"]  # the model's order, noise left out
    assert found.audio_dir == folder.audio.absolute()


def test_audio_dir_wins_over_the_paths_in_prediction_json(tmp_path):
    folder = write_predictions(tmp_path, with_json=True)
    moved = tmp_path / "moved"
    folder.audio.rename(moved)
    found = read_detections(folder.predictions, moved)
    assert found.detections[0].recording.audio == moved / "a.wav"


def test_a_missing_recording_names_the_file_and_the_flag_that_fixes_it(folder: Folder):
    (folder.audio / "site2" / "b.wav").unlink()
    with pytest.raises(BadConfig) as caught:
        read_detections(folder.predictions, folder.audio)
    assert caught.value.path == str(folder.audio / "site2" / "b.wav")
    assert "--audio_dir" in str(caught.value)


def test_a_moved_recording_of_prediction_json_is_one_line_on_the_command_line(tmp_path, capsys):
    folder = write_predictions(tmp_path, with_json=True)
    (folder.audio / "a.wav").unlink()
    assert cli.main(["review", str(folder.predictions), "--port", "0"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith("animal-spot review: ")
    assert str((folder.audio / "a.wav").absolute()) in error
    assert "pass --audio_dir DIR" in error


def test_a_folder_without_prediction_json_needs_audio_dir(folder: Folder):
    with pytest.raises(BadConfig, match="--audio_dir"):
        read_detections(folder.predictions)


def test_a_folder_that_predict_did_not_write_is_refused(tmp_path):
    with pytest.raises(BadConfig, match="output folder of `animal-spot predict`"):
        read_detections(tmp_path, tmp_path)
