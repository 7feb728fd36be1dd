"""docs/config.md is the config as it is, and a TOML file may use the flag names."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from animal_spot.config import SECTIONS, load_toml, option_name
from animal_spot.config_reference import render
from animal_spot.errors import BadConfig

ROOT = Path(__file__).resolve().parents[1]


def test_docs_config_md_is_what_the_dataclasses_say():
    written = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    assert written == render(), "run: python -m animal_spot.config_reference > docs/config.md"
    for section, cls in SECTIONS.items():
        assert f"## [{section}]" in written
        for f in dataclasses.fields(cls):
            assert f"| `{f.name}` | `--{option_name(f)}` |" in written


def test_a_toml_file_may_use_the_flag_names(tmp_path):
    by_flag = tmp_path / "flags.toml"
    by_flag.write_text(
        "[audio]\nsr = 16000\n[spectrogram]\nsequence_len = 500\nfmax = 7000\n"
        "[predict]\nhop = 0.25\n"
    )
    by_key = tmp_path / "keys.toml"
    by_key.write_text(
        "[audio]\nsample_rate_hz = 16000\n[spectrogram]\nsequence_len_ms = 500\n"
        "fmax_hz = 7000\n[predict]\nhop_s = 0.25\n"
    )
    config = load_toml(by_flag)
    assert config == load_toml(by_key)
    assert (config.audio.sample_rate_hz, config.predict.hop_s) == (16000, 0.25)


def test_a_key_given_under_both_names_is_one_line_naming_both(tmp_path):
    path = tmp_path / "twice.toml"
    path.write_text("[audio]\nsr = 16000\nsample_rate_hz = 8000\n")
    with pytest.raises(BadConfig, match="given twice") as caught:
        load_toml(path)
    assert "as sr and as sample_rate_hz" in str(caught.value) and "\n" not in str(caught.value)
