"""`animal-spot prepare` in a subprocess: real folders in, audited leak-free splits out."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from animal_spot import __version__
from animal_spot.synthetic import synthesize_clips


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "animal_spot", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def split_groups(out: Path) -> dict[str, set[str]]:
    return {s: {r["group"] for r in read_rows(out / f"{s}.csv")} for s in ("train", "val", "test")}


def assert_disjoint(groups: dict[str, set[str]]) -> None:
    assert not groups["train"] & groups["val"]
    assert not groups["train"] & groups["test"]
    assert not groups["val"] & groups["test"]


def test_help_lists_the_verbs_and_version_prints():
    result = run_cli("--help")
    assert result.returncode == 0
    for verb in ("prepare", "train", "demo"):
        assert verb in result.stdout
    assert run_cli("--version").stdout.strip() == f"animal-spot {__version__}"


def test_every_verb_prints_its_help():
    from animal_spot.cli import build_parser

    parser = build_parser()
    verbs = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"prepare", "audit", "train", "predict", "evaluate", "export", "demo"} <= set(verbs)
    for verb, sub in verbs.items():
        text = sub.format_help()  # what --help prints
        assert text.startswith("usage:"), verb
    assert "5 % of the clips" in " ".join(verbs["train"].format_help().split())


def test_prepare_splits_convention_clips_by_tape_and_writes_the_audit(tmp_path):
    made = synthesize_clips(tmp_path / "clips", clips_per_class=12, n_tapes=6, duration_s=0.3)
    result = run_cli("prepare", "--clips_dir", made.folder, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    groups = split_groups(tmp_path / "out")
    assert_disjoint(groups)
    rows = [r for s in ("train", "val", "test") for r in read_rows(tmp_path / "out" / f"{s}.csv")]
    assert len(rows) == 48
    audit = json.loads((tmp_path / "out" / "audit.json").read_text())
    assert sum(audit["split_sizes"].values()) == 48
    assert "audit of 48 clips" in result.stdout


def write_bad_folder(root: Path, corrupt_flac: Path | None) -> list[str]:
    rng = np.random.default_rng(0)
    root.mkdir(parents=True)
    for label in ("tone", "noise"):
        for i in range(12):
            name = f"{label}-x_{i}_2020_T{i % 4}_0_500.wav"
            sf.write(str(root / name), rng.standard_normal(8000).astype(np.float32) * 0.1, 16000)
    bad = [
        "tone-x_98_2020_T1_0_500.wav",
        "noise-x_97_2020_T2_0_500.wav",
        "noise-x_96_2020_T2_0_500.wav",
        "badname.wav",
    ]
    (root / bad[0]).write_bytes(b"")
    sf.write(str(root / bad[1]), np.zeros(0, np.float32), 16000)
    with_nan = np.zeros(8000, np.float32)
    with_nan[5] = np.nan
    sf.write(str(root / bad[2]), with_nan, 16000, subtype="FLOAT")
    sf.write(str(root / bad[3]), rng.standard_normal(8000).astype(np.float32), 16000)
    if corrupt_flac is not None:
        bad.append("tone-x_99_2020_T1_0_500.flac")
        shutil.copy(corrupt_flac, root / bad[-1])
    return bad


def check_bad_files_reported_once(tmp_path: Path, corrupt_flac: Path | None) -> None:
    bad = write_bad_folder(tmp_path / "clips", corrupt_flac)
    result = run_cli("prepare", "--clips_dir", tmp_path / "clips", "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    for name in bad:
        assert output.count(name) == 1, (name, output)
    kept = [r for s in ("train", "val", "test") for r in read_rows(tmp_path / "out" / f"{s}.csv")]
    assert len(kept) == 24  # every good clip is still there
    skipped = json.loads((tmp_path / "out" / "audit.json").read_text())["skipped_files"]
    assert sorted(Path(s["path"]).name for s in skipped) == sorted(bad)


def test_empty_zero_length_nan_and_misnamed_files_are_reported_once_and_skipped(tmp_path):
    check_bad_files_reported_once(tmp_path, None)


def test_corrupt_flac_from_the_orca_catalogue_is_reported_once_and_skipped(tmp_path, shared_data):
    flac = shared_data / "orca_ford_catalog" / "Sounds" / "catalog" / "flac" / "FO-S46.flac"
    check_bad_files_reported_once(tmp_path, flac)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--clips_dir", "a", "--csv", "b.csv"], "exactly one source"),
        (["--raven_dir", "r"], "--audio_dir"),
        (["--clips_dir", "/nonexistent/folder"], "no such folder"),
    ],
)
def test_bad_prepare_arguments_exit_2_with_one_line(tmp_path, extra, message):
    result = run_cli("prepare", "--out", tmp_path / "out", *extra)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_missing_csv_column_is_named(tmp_path):
    (tmp_path / "list.csv").write_text("file,species\na.wav,x\n")
    result = run_cli(
        "prepare",
        "--csv",
        tmp_path / "list.csv",
        "--path_column",
        "path",
        "--label_column",
        "species",
        "--out",
        tmp_path / "out",
    )
    assert result.returncode == 2 and "path" in result.stderr and "file" in result.stderr


def test_watkins_prepare_keeps_sources_apart_and_names_the_sample_rate_leak(tmp_path, shared_data):
    result = run_cli(
        "prepare",
        "--csv",
        shared_data / "watkins10" / "labels.csv",
        "--path_column",
        "file",
        "--label_column",
        "class_code",
        "--group_column",
        "source_id",
        "--out",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert_disjoint(split_groups(tmp_path))
    # Every source id lies in exactly one split, even after merging those sharing audio.
    sources: dict[str, set[str]] = {}
    for split in ("train", "val", "test"):
        for row in read_rows(tmp_path / f"{split}.csv"):
            for source in row["group"].split("+"):
                sources.setdefault(source, set()).add(split)
    assert len(sources) > 300 and all(len(s) == 1 for s in sources.values())
    audit = json.loads((tmp_path / "audit.json").read_text())
    leakage = audit["sample_rate_leakage"]
    assert leakage["baseline_accuracy"] > leakage["chance"] + 0.2
    assert "sample-rate leakage" in result.stdout and "MHW" in result.stdout
    assert len(audit["merged_groups"]) >= 30


def test_narw_raven_tables_give_a_clip_per_upcall_plus_noise(tmp_path, shared_data):
    narw = shared_data / "narw_upcalls"
    result = run_cli(
        "prepare",
        "--raven_dir",
        narw / "raven",
        "--audio_dir",
        narw / "narw",
        "--noise_per_selection",
        "2",
        "--window_s",
        "2",
        "--margin_s",
        "1",
        "--out",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    rows = [r for s in ("train", "val", "test") for r in read_rows(tmp_path / f"{s}.csv")]
    labels = [r["label"] for r in rows]
    assert labels.count("upcall") == 53 and labels.count("noise") == 106
    assert all(float(r["end_s"]) - float(r["start_s"]) >= 2 - 1e-6 for r in rows)


def test_audit_verb_reaudits_a_prepared_folder_and_keeps_what_prepare_recorded(tmp_path):
    made = synthesize_clips(tmp_path / "clips", clips_per_class=6, n_tapes=3, duration_s=0.3)
    (made.folder / "tone" / "broken.wav").write_bytes(b"")
    assert run_cli("prepare", "--clips_dir", made.folder, "--out", tmp_path / "out").returncode == 0
    # A clip copied into another split is a leak the re-audit must find.
    train_rows = read_rows(tmp_path / "out" / "train.csv")
    with (tmp_path / "out" / "test.csv").open("a", newline="") as handle:
        row = train_rows[0]
        handle.write(f"{row['path']},{row['label']},other-group,,\n")
    result = run_cli("audit", "--data_dir", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "cross-split duplicates: 1" in result.stdout
    audit = json.loads((tmp_path / "out" / "audit.json").read_text())
    assert len(audit["cross_split_duplicates"]) == 1
    assert [Path(s["path"]).name for s in audit["skipped_files"]] == ["broken.wav"]


def write_raven_recordings(root: Path, rate_hz: int = 8000) -> list[tuple[float, float]]:
    """Two 40 s recordings, a 0.3 s 2 kHz tone every 5 s with its box, two call-free ones."""
    from animal_spot.annotations.event import Event
    from animal_spot.annotations.raven import write_table
    from tests.conftest import write_wav

    starts = [2.0 + 5.0 * i for i in range(7)]
    calls = [(s, 0.3, 2000.0) for s in starts]
    for seed, stem in enumerate(("site_a", "site_b")):
        write_wav(
            root / "audio" / f"{stem}.wav", 40.0, sample_rate_hz=rate_hz, calls=calls, seed=seed
        )
        events = [Event(s, s + 0.3, "tone", low_hz=1800.0, high_hz=2200.0) for s in starts]
        write_table(events, root / "raven" / f"{stem}.Table.1.selections.txt")
    for seed, stem in enumerate(("quiet1", "quiet2"), start=2):
        write_wav(root / "background" / f"{stem}.wav", 30.0, sample_rate_hz=rate_hz, seed=seed)
    (root / "background" / "broken.wav").write_bytes(b"")
    return [(s, s + 0.3) for s in starts]


def test_prepare_raven_with_background_and_crops_counts_every_clip_and_suggests_a_config(
    tmp_path,
):
    boxes = write_raven_recordings(tmp_path)
    out = tmp_path / "out"
    result = run_cli(
        "prepare", "--raven_dir", tmp_path / "raven", "--audio_dir", tmp_path / "audio",
        "--background_dir", tmp_path / "background", "--crops_per_selection", "3",
        "--noise_per_selection", "1", "--window_s", "1", "--margin_s", "0.5", "--out", out,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [r for s in ("train", "val", "test") for r in read_rows(out / f"{s}.csv")]
    by_kind: dict[str, int] = {}
    for row in rows:
        kind = "background" if "background" in row["path"] else row["label"]
        by_kind[kind] = by_kind.get(kind, 0) + 1
    # 14 selections × 3 crops, 14 noise clips between them, ⌈14 / 3 files⌉ = 5 per quiet file.
    assert by_kind == {"tone": 42, "noise": 14, "background": 10}
    for row in rows:
        if row["label"] == "noise" and "background" not in row["path"]:
            start, end = float(row["start_s"]), float(row["end_s"])
            assert all(end <= a - 0.5 + 1e-6 or start >= b + 0.5 - 1e-6 for a, b in boxes)
    groups = split_groups(out)
    assert_disjoint(groups)
    assert set().union(*groups.values()) == {"site_a", "site_b", "quiet1", "quiet2"}
    assert result.stdout.count("broken.wav") == 1
    assert f"wrote {out / 'suggested.toml'}" in result.stdout
    from animal_spot.config import load_toml

    config = load_toml(out / "suggested.toml")
    assert config.audio.sample_rate_hz == 8000  # 2.5 × fmax ≈ 6 kHz: no lower common rate fits
    assert 1500 <= config.spectrogram.fmin_hz < 1800 and 2200 < config.spectrogram.fmax_hz <= 2600
    assert config.spectrogram.sequence_len_ms == 400  # 1.25 × 0.3 s, rounded up to 50 ms


def test_crops_per_selection_without_raven_tables_exits_2_with_one_line(tmp_path):
    result = run_cli(
        "prepare", "--clips_dir", tmp_path, "--crops_per_selection", "3", "--out", tmp_path / "o"
    )
    assert result.returncode == 2
    assert "--raven_dir" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_narw_prepare_with_background_and_crops_keeps_noise_off_every_box(tmp_path, shared_data):
    narw = shared_data / "narw_upcalls"
    result = run_cli(
        "prepare", "--raven_dir", narw / "raven", "--audio_dir", narw / "narw",
        "--background_dir", narw / "background", "--background_clips", "10",
        "--crops_per_selection", "3", "--noise_per_selection", "2", "--window_s", "2",
        "--margin_s", "1", "--out", tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [r for s in ("train", "val", "test") for r in read_rows(tmp_path / f"{s}.csv")]
    background = [r for r in rows if Path(r["path"]).parent.name == "background"]
    calls = [r for r in rows if r["label"] == "upcall"]
    noise = [r for r in rows if r["label"] == "noise" and r not in background]
    assert len(calls) == 3 * 53 and len(noise) == 2 * 53 and len(background) == 3 * 10
    assert {r["label"] for r in background} == {"noise"}
    assert all(float(r["end_s"]) - float(r["start_s"]) == pytest.approx(2.0) for r in rows)
    from animal_spot.annotations.raven import read_table

    boxes = {
        table.name.split(".")[0]: read_table(table) for table in (narw / "raven").glob("*.txt")
    }
    for row in noise:
        start, end = float(row["start_s"]), float(row["end_s"])
        assert all(
            end <= e.start_s - 1 + 1e-6 or start >= e.end_s + 1 - 1e-6 for e in boxes[row["group"]]
        )
    for row in calls:  # every crop holds a whole up-call, or lies inside one longer than 2 s
        start, end = float(row["start_s"]), float(row["end_s"])
        assert any(
            (start <= e.start_s and e.end_s <= end) or (e.start_s <= start and end <= e.end_s)
            for e in boxes[row["group"]]
        )
    assert_disjoint(split_groups(tmp_path))
    suggested = (tmp_path / "suggested.toml").read_text()
    assert "sample_rate_hz = 1000" in suggested and "53 boxes" in suggested


def write_species_clips(root: Path, n: int = 12) -> list[str]:
    rng = np.random.default_rng(3)
    root.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n):
        name = f"clip{i}.wav"
        sf.write(str(root / name), rng.standard_normal(4000).astype(np.float32) * 0.1, 16000)
        names.append(name)
    return names


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("cp1252", ","), ("latin-1", ","), ("utf-16", ","), ("utf-8-sig", ";"), ("cp1252", ";")],
)
def test_prepare_reads_a_csv_exported_by_excel_in_its_encoding(tmp_path, encoding, delimiter):
    names = write_species_clips(tmp_path / "audio")
    labels = ["mésange", "grive"]
    lines = [delimiter.join(["fichier", "espèce", "durée"])]
    lines += [delimiter.join([n, labels[i % 2], "0,25"]) for i, n in enumerate(names)]
    (tmp_path / "audio" / "list.csv").write_bytes("\r\n".join(lines).encode(encoding))
    result = run_cli(
        "prepare",
        "--csv",
        tmp_path / "audio" / "list.csv",
        "--path_column",
        "fichier",
        "--label_column",
        "espèce",
        "--out",
        tmp_path / "out",
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    rows = [r for s in ("train", "val", "test") for r in read_rows(tmp_path / "out" / f"{s}.csv")]
    assert sorted(r["label"] for r in rows) == sorted(labels * 6)


def test_prepare_leaves_out_a_csv_row_whose_label_holds_a_tab_and_names_its_line(tmp_path):
    names = write_species_clips(tmp_path / "audio")
    with (tmp_path / "audio" / "list.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label"])
        writer.writerows([n, "wren" if i % 2 else "=robin"] for i, n in enumerate(names))
        writer.writerow([names[0], "bad\tlabel"])
    out = tmp_path / "out"
    result = run_cli("prepare", "--csv", tmp_path / "audio" / "list.csv", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "line 14: the label holds a control character ('\\t')" in result.stdout
    rows = [r for s in ("train", "val", "test") for r in read_rows(out / f"{s}.csv")]
    assert sorted({r["label"] for r in rows}) == ["'=robin", "wren"]  # a spreadsheet shows text
    from animal_spot.config import DataConfig
    from animal_spot.data.prepare import load_splits

    splits = load_splits(DataConfig(data_dir=out))
    assert sorted({c.label for clips in splits.values() for c in clips}) == ["=robin", "wren"]


def test_help_says_each_default_once_for_every_verb():
    import re

    from animal_spot.cli import build_parser

    verbs = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for verb, sub in verbs.items():
        text = " ".join(sub.format_help().split())
        assert not re.search(r"\(default:[^)]*\) \(default:", text), verb
        sections = "AUDIO|SPECTROGRAM|AUGMENT|DATA|MODEL|TRAIN|PREDICT"
        assert not re.search(rf"--\w+ ({sections})\.", text), verb  # readable placeholders
    prepare = " ".join(verbs["prepare"].format_help().split())
    seed = "--seed INT seed of the split (and of the noise clips' places) (default: 0)"
    for shown in ("(default: 0.7,0.15,0.15)", seed, "(default: 0.0)", "(default: path)"):
        assert shown in prepare
    evaluate = " ".join(verbs["evaluate"].format_help().split())
    assert "(default: 101)" in evaluate  # --n_thresholds
