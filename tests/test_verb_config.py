"""prepare and evaluate take typed configs whose fields are their flags, like train and predict."""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys

import pytest

from animal_spot.cli import build_parser
from animal_spot.config import option_name
from animal_spot.errors import BadConfig
from animal_spot.verb_config import EvaluateConfig, PrepareConfig

# Flags of the verbs that are no config field: ANIMAL-SPOT-style spellings of a field's
# negation, evaluate's ANIMAL-SPOT log mode, and what every verb has.
ALIASES = {"prepare": {"--no_merge"}, "evaluate": {"--no_report"}}
LEGACY_EVALUATE = {"--legacy", "--prediction_dir", "--threshold", "--noise_in_anno", "--config"}
COMMON = {"-h", "--help", "--quiet"}


def verb_parser(verb: str) -> argparse.ArgumentParser:
    parser = build_parser()
    verbs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return verbs.choices[verb]


def flags_of(verb: str) -> set[str]:
    return {flag for action in verb_parser(verb)._actions for flag in action.option_strings}


def field_flags(cls: type) -> set[str]:
    flags = set()
    for f in dataclasses.fields(cls):
        flags.add(f"--{option_name(f)}")
        if f.type in ("bool", "bool | None"):
            flags.add(f"--no-{option_name(f)}")
    return flags


@pytest.mark.parametrize(
    ("verb", "cls", "extra"),
    [("prepare", PrepareConfig, set()), ("evaluate", EvaluateConfig, LEGACY_EVALUATE)],
)
def test_every_flag_is_a_config_field_and_every_field_a_flag(verb, cls, extra):
    assert flags_of(verb) == field_flags(cls) | ALIASES[verb] | extra | COMMON


@pytest.mark.parametrize("verb", ["prepare", "evaluate"])
def test_help_states_each_default_once(verb):
    text = verb_parser(verb).format_help()
    assert "(default: None) (default" not in text
    for action in verb_parser(verb)._actions:
        assert (action.help or "").count("(default") <= 1, action.option_strings


def test_evaluate_help_shows_the_folder_the_cli_writes_to():
    action = next(a for a in verb_parser("evaluate")._actions if "--output_dir" in a.option_strings)
    assert "(default: evaluation)" in action.help


@pytest.mark.parametrize(
    ("cls", "options", "message"),
    [
        (PrepareConfig, {"split": (0.5, 0.2, 0.2)}, "sum to 1"),
        (PrepareConfig, {"seed": -1}, "prepare.seed"),
        (PrepareConfig, {"workers": 0}, "prepare.workers"),
        (PrepareConfig, {"window_s": 0.0}, "prepare.window_s"),
        (PrepareConfig, {"clips_dir": "a", "csv": "b.csv"}, "exactly one source"),
        (EvaluateConfig, {"iou_threshold": 0.0}, "evaluate.iou_threshold"),
        (EvaluateConfig, {"n_thresholds": 1}, "evaluate.n_thresholds"),
        (EvaluateConfig, {"event_span": "middle"}, "evaluate.event_span"),
        (EvaluateConfig, {"onset_tolerance_s": float("nan")}, "finite"),
    ],
)
def test_bad_values_are_refused_naming_the_field(cls, options, message):
    with pytest.raises(BadConfig, match=message):
        cls(**options)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["prepare", "--out", "x", "--clips_dir", "c", "--seed", "-1"], "prepare.seed"),
        (["prepare", "--out", "x", "--clips_dir", "c", "--workers", "two"], "not an integer"),
        (["evaluate", "--references", "r", "--iou", "0"], "evaluate.iou_threshold"),
        (["evaluate", "--references", "r", "--event_span", "middle"], "evaluate.event_span"),
    ],
)
def test_a_bad_flag_value_is_one_line_naming_the_field(tmp_path, args, message):
    result = subprocess.run(
        [sys.executable, "-m", "animal_spot", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_evaluate_keywords_are_the_config_fields():
    from animal_spot.evaluation import evaluate

    with pytest.raises(BadConfig, match="unknown key 'iou_treshold' in evaluate; did you mean"):
        evaluate("p.txt", "r.txt", iou_treshold=0.5)
    with pytest.raises(TypeError, match="no other arguments"):
        evaluate(EvaluateConfig(references="r.txt"), n_thresholds=11)


def test_the_prepare_source_is_every_argument_read_source_takes():
    import inspect

    from animal_spot.data.prepare import read_source

    wanted = set(inspect.signature(read_source).parameters)
    assert set(PrepareConfig(clips_dir="c").source()) == wanted
