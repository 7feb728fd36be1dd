"""Clip readers: ANIMAL-SPOT names, class folders and CSV lists."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from animal_spot.data.clips import (
    ClipName,
    format_clip_name,
    parse_clip_name,
    read_class_folders,
    read_clips_dir,
    read_convention_folder,
    read_csv,
)
from animal_spot.data.manifest import Clip
from animal_spot.errors import BadData, BadTable
from tests.conftest import write_wav

RATE_HZ = 8000


@pytest.mark.parametrize(
    "name",
    [
        "noise-_2381_2010_101BC_149817_150055.wav",
        "orca-N9_call_12_1998_tape7a_0_1280.wav",
        "target-x_1-2_2199_A-B_5_5.flac",
    ],
)
def test_a_convention_name_round_trips_exactly(name):
    assert format_clip_name(parse_clip_name(name), suffix=Path(name).suffix) == name


def test_a_name_with_empty_labelinfo_keeps_the_class_and_the_fields():
    name = parse_clip_name(Path("some/folder_with_under/noise-_2381_2010_101BC_149817_150055.wav"))
    assert name == ClipName("noise", "", "2381", 2010, "101BC", 149817, 150055)
    assert name.group == "2010_101BC"


def test_double_underscores_count_as_one_and_the_tape_is_upper_cased_in_the_group():
    name = parse_clip_name("target-call__1234_2015__tapeA_100_1100.wav")
    assert (name.label, name.label_info, name.id, name.tape) == ("target", "call", "1234", "tapeA")
    assert name.group == "2015_TAPEA"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("orca_1_2010_A_0_100.wav", "no '-'"),
        ("-x_1_2010_A_0_100.wav", "empty class"),
        ("orca-x_2010_A_0_100.wav", "5 '_'-separated fields"),
        ("orca-x_1_20l0_A_0_100.wav", "YEAR = '20l0' is not a whole number"),
        ("orca-x_1_1949_A_0_100.wav", "YEAR = 1949 lies outside"),
        ("orca-x_1_2200_A_0_100.wav", "YEAR = 2200 lies outside"),
        ("orca-x_1_2010_A_0_1.5.wav", "ENDMS = '1.5'"),
    ],
)
def test_a_bad_name_raises_bad_data_naming_the_file_and_the_pattern(name, reason):
    with pytest.raises(BadData, match=reason) as caught:
        parse_clip_name(Path("clips") / name)
    assert name in str(caught.value)
    assert "CLASS-LABELINFO_ID_YEAR_TAPE_STARTMS_ENDMS" in str(caught.value)


def test_a_name_that_cannot_read_back_the_same_is_refused():
    with pytest.raises(ValueError, match="reads back"):
        format_clip_name(ClipName("orca", "a", "1_2", 2010, "A", 0, 1))
    with pytest.raises(ValueError, match="no ANIMAL-SPOT file name"):
        format_clip_name(ClipName("orca", "", "1", 1800, "A", 0, 1))


def test_a_convention_folder_is_read_recursively_and_bad_files_are_reported(tmp_path):
    write_wav(tmp_path / "orca" / "call-N9_1_2010_A_0_100.wav", 0.1, sample_rate_hz=RATE_HZ)
    write_wav(tmp_path / "orca" / "deep" / "noise-_2_2011_b_0_100.WAV", 0.1, sample_rate_hz=RATE_HZ)
    write_wav(tmp_path / "orca" / "bkp" / "call-x_3_2010_A_0_100.wav", 0.1, sample_rate_hz=RATE_HZ)
    write_wav(tmp_path / "orca" / "badname.wav", 0.1, sample_rate_hz=RATE_HZ)
    (tmp_path / "orca" / "call-x_4_2010_A_0_100.wav").write_bytes(b"")
    clips, problems = read_convention_folder(tmp_path)
    assert [(c.path.name, c.label, c.group) for c in clips] == [
        ("call-N9_1_2010_A_0_100.wav", "call", "2010_A"),
        ("noise-_2_2011_b_0_100.WAV", "noise", "2011_B"),
    ]
    assert [p.path.name for p in problems] == ["badname.wav", "call-x_4_2010_A_0_100.wav"]
    assert "no '-'" in problems[0].reason
    assert "empty (0 bytes)" in problems[1].reason


def test_class_folders_give_the_folder_name_as_label_and_the_stem_as_group(tmp_path):
    write_wav(tmp_path / "bird" / "a.wav", 0.1, sample_rate_hz=RATE_HZ)
    write_wav(tmp_path / "bird" / "sub" / "b.flac", 0.1, sample_rate_hz=RATE_HZ)
    write_wav(tmp_path / "frog" / "c.ogg", 0.1, sample_rate_hz=RATE_HZ, subtype="VORBIS")
    write_wav(tmp_path / "frog" / "frog-x_9_2012_T1_0_100.wav", 0.1, sample_rate_hz=RATE_HZ)
    write_wav(tmp_path / "loose.wav", 0.1, sample_rate_hz=RATE_HZ)
    clips, problems = read_clips_dir(tmp_path)
    assert sorted((c.label, c.group) for c in clips) == [
        ("bird", "a"), ("bird", "b"), ("frog", "2012_T1"), ("frog", "c"),
    ]  # fmt: skip
    assert [(p.path.name, p.reason) for p in problems] == [
        ("loose.wav", "lies outside every class folder")
    ]
    assert read_class_folders(tmp_path).clips == clips


def test_a_folder_of_species_folders_with_convention_names_is_read_by_name(tmp_path):
    write_wav(tmp_path / "orca" / "call-a_1_2010_A_0_100.wav", 0.1, sample_rate_hz=RATE_HZ)
    write_wav(tmp_path / "orca" / "noise-_2_2010_B_0_100.wav", 0.1, sample_rate_hz=RATE_HZ)
    write_wav(tmp_path / "seal" / "oops.wav", 0.1, sample_rate_hz=RATE_HZ)
    clips, problems = read_clips_dir(tmp_path)
    assert [c.label for c in clips] == ["call", "noise"]
    assert [p.path.name for p in problems] == ["oops.wav"]


def test_an_empty_folder_or_one_without_usable_clips_raises_bad_data(tmp_path):
    with pytest.raises(BadData, match="no audio files"):
        read_clips_dir(tmp_path)
    write_wav(tmp_path / "plain.wav", 0.1, sample_rate_hz=RATE_HZ)
    with pytest.raises(BadData, match="none of its 1 audio files can be used"):
        read_clips_dir(tmp_path)


def test_a_csv_list_is_read_with_paths_relative_to_its_folder(tmp_path):
    write_wav(tmp_path / "audio" / "x.wav", 0.1, sample_rate_hz=RATE_HZ)
    write_wav(tmp_path / "audio" / "y.wav", 0.1, sample_rate_hz=RATE_HZ)
    listing = tmp_path / "lists" / "clips.csv"
    listing.parent.mkdir()
    with listing.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "species", "site"])
        writer.writerow(["../audio/x.wav", "wren", "north"])
        writer.writerow([str(tmp_path / "audio" / "y.wav"), "robin", ""])
        writer.writerow(["../audio/gone.wav", "robin", "south"])
    clips, problems = read_csv(listing, "file", "species", "site")
    assert clips == [
        Clip(listing.parent / "../audio/x.wav", "wren", "north"),
        Clip(tmp_path / "audio" / "y.wav", "robin", "y"),
    ]
    assert [(p.path.name, p.reason) for p in problems] == [
        ("gone.wav", "line 4 of clips.csv: no such file")
    ]
    with pytest.raises(
        BadTable, match=r"did you mean 'species'.*columns found: file, species, site"
    ):
        read_csv(listing, "file", "specie")
