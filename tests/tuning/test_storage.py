"""Opening a study storage: the race of workers started together is retried, the rest is not."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import ArgumentError, OperationalError

from animal_spot.errors import BadConfig
from animal_spot.tuning.settings import TuneConfig
from animal_spot.tuning.study import _is_creation_race, _storage


def test_a_table_another_worker_just_made_counts_as_the_race():
    made = OperationalError(
        "CREATE TABLE studies (...)", {}, sqlite3.OperationalError("table studies already exists")
    )
    assert _is_creation_race(made)
    assert not _is_creation_race(ArgumentError("Could not parse SQLAlchemy URL from 'nope'"))


def test_a_bad_url_is_one_line_at_once(tmp_path):
    config = TuneConfig(output_dir=tmp_path, storage="nope://x")
    with pytest.raises(BadConfig, match="cannot open the study storage nope://x"):
        _storage(config)


def test_a_new_sqlite_file_opens_and_opens_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    _storage(TuneConfig(output_dir=tmp_path, storage=url))
    assert _storage(TuneConfig(output_dir=tmp_path, storage=url)).get_all_studies() == []
