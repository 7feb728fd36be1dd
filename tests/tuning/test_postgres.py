"""Two tune workers on a real local PostgreSQL server (Debian's postgresql; skips elsewhere)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

from .conftest import tune_command, tune_env, write_space
from .test_tune import LR_SPACE

pytest.importorskip("psycopg2")


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name)]
    return found[-1]


def _as_server_user(command: list[str]) -> list[str]:
    # The server refuses to run as root; Debian's package makes a postgres user for it.
    if os.geteuid() != 0:
        return command
    if shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
    return ["runuser", "-u", "postgres", "--", *command]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A server on a Unix socket in a fresh folder (no TCP port), torn down afterwards."""
    initdb, pg_ctl, createdb = _bin("initdb"), _bin("pg_ctl"), _bin("createdb")
    if initdb is None or pg_ctl is None or createdb is None:
        pytest.skip("PostgreSQL's server is not installed (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="animal-spot-pg-"))  # not under pytest's 0700 folders
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, socket_dir = root / "data", root
    run = lambda *c: subprocess.run(_as_server_user(list(c)), check=True, capture_output=True)  # noqa: E731
    try:
        run(initdb, "-D", str(data), "-U", "animal", "--auth=trust", "-E", "UTF8")
        options = f"-k {socket_dir} -c listen_addresses='' -p 5432"
        run(pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
    except subprocess.CalledProcessError as err:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"PostgreSQL did not start: {err.stderr.decode(errors='replace')[-300:]}")
    try:
        run(createdb, "-h", str(socket_dir), "-p", "5432", "-U", "animal", "optuna")
        yield f"postgresql+psycopg2://animal@/optuna?host={socket_dir}&port=5432"
    finally:
        subprocess.run(
            _as_server_user([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def test_two_workers_share_one_study_in_postgresql(tmp_path, prepared, postgres_url):
    space = write_space(tmp_path / "space.toml", LR_SPACE)
    workers = [
        subprocess.Popen(
            tune_command(
                tmp_path / f"worker{i}",
                prepared,
                "--storage",
                postgres_url,
                "--n_trials",
                "4",
                "--max_epochs",
                "1",
                "--space",
                str(space),
                "--load_if_exists",
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=tune_env(),
        )
        for i in range(2)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err[-2000:]
    study = optuna.load_study(study_name="animal-spot", storage=postgres_url)
    numbers = [t.number for t in study.trials]
    assert len(numbers) == len(set(numbers))
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert 4 <= len(complete) <= 5
    # Each worker drew its own first trials: the joined workers' seeds differ.
    learning_rates = [t.params["train.lr"] for t in complete]
    assert len(set(learning_rates)) == len(learning_rates)
    assert all((tmp_path / f"worker{i}" / "trials.csv").is_file() for i in range(2))
