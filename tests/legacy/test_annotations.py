"""Legacy evaluation: prediction logs → annotation tables with ANIMAL-SPOT's merge rules (§8)."""

from __future__ import annotations

import pytest

from animal_spot.errors import BadConfig
from animal_spot.legacy.annotations import evaluate_legacy, evaluate_legacy_config

from .test_logs import write_binary, write_multi

HEADER = (
    "Selection\tView\tChannel\tBegin time (s)\tEnd time (s)\tLow Freq (Hz)\tHigh Freq (Hz)"
    "\tSound type\tComments"
)


def row(number, start, end, label):
    return f"{number}\tSpectrogram_1\t1\t{start}\t{end}\t50\t450\t{label}\t "


def test_binary_table_merges_overlapping_windows_and_fills_noise(tmp_path):
    # target probabilities 0.1, 0.8, 0.3, 0.7, 0.2 over windows [k, k + 1.999] s
    write_binary(tmp_path / "pred")
    [table] = evaluate_legacy(tmp_path / "pred", tmp_path / "out", 0.5, noise_in_anno=True)
    assert table == tmp_path / "out" / "site1_predict_output.log.annotation.result.txt"
    assert table.read_text().splitlines() == [
        HEADER,
        row(1, 0.0, 1.0, "noise"),
        row(2, 1.0, 2.999, "target"),
        row(3, 2.999, 3.0, "noise"),  # 2.999 < 3.000: no overlap, so a gap
        row(4, 3.0, 4.999, "target"),
        row(5, 4.999, 5.999, "noise"),  # tail up to the last window's end
    ]
    assert table.read_text().endswith("noise\t \n")  # one space in Comments, then a newline


def test_noise_rows_are_left_out_unless_asked_for_and_numbering_follows_the_rows(tmp_path):
    write_binary(tmp_path)
    [table] = evaluate_legacy(tmp_path, tmp_path, 0.5)
    assert table.read_text().splitlines() == [
        HEADER,
        row(1, 1.0, 2.999, "target"),
        row(2, 3.0, 4.999, "target"),
    ]


def test_threshold_decides_which_windows_count(tmp_path):
    write_binary(tmp_path)
    [table] = evaluate_legacy(tmp_path, tmp_path / "out", 0.75)
    assert table.read_text().splitlines() == [HEADER, row(1, 1.0, 2.999, "target")]
    [table] = evaluate_legacy(tmp_path, tmp_path / "out", 0.95, noise_in_anno=True)
    assert table.read_text().splitlines() == [HEADER, row(1, 0.0, 5.999, "noise")]  # all noise


def test_multi_class_noise_windows_do_not_split_and_a_new_class_starts_at_the_previous_end(
    tmp_path,
):
    # windows [k/4, k/4 + 0.999] s: Noise, orca 0.8, seal 0.5 (< 0.6 → noise), orca 0.7,
    # seal 0.7, Noise, Noise
    write_multi(tmp_path)
    [table] = evaluate_legacy(tmp_path, tmp_path, 0.6, noise_in_anno=True)
    assert table.read_text().splitlines() == [
        HEADER,
        row(1, 0.0, 0.25, "Noise"),
        row(2, 0.25, 1.749, "orca"),  # the sub-threshold seal window between does not split
        row(3, 1.749, 1.999, "seal"),  # overlaps orca: starts at orca's end
        row(4, 1.999, 2.499, "Noise"),
    ]


def test_multi_class_threshold_turns_weak_windows_into_noise(tmp_path):
    write_multi(tmp_path)
    [table] = evaluate_legacy(tmp_path, tmp_path, 0.75)
    assert table.read_text().splitlines() == [HEADER, row(1, 0.25, 1.249, "orca")]


def test_evaluation_template_runs_as_it_is(tmp_path):
    write_binary(tmp_path / "pred")
    config = tmp_path / "eval.cfg"
    config.write_text(
        f"prediction_dir={tmp_path / 'pred'}\noutput_dir={tmp_path / 'anno'}\n"
        "threshold=0.75\nnoise_in_anno=false\n"
    )
    [table] = evaluate_legacy_config(config)
    assert table.parent == tmp_path / "anno"
    assert table.read_text().splitlines() == [HEADER, row(1, 1.0, 2.999, "target")]


def test_a_folder_without_prediction_logs_is_a_clear_error(tmp_path):
    with pytest.raises(BadConfig, match=r"no \*_predict_output\.log files"):
        evaluate_legacy(tmp_path, tmp_path)
