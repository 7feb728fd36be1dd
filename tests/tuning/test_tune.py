"""Optuna studies of real training runs: shared storage, pruning, a killed process, the cache."""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from animal_spot.config import (
    AudioConfig,
    DataConfig,
    ExperimentConfig,
    ModelConfig,
    SpectrogramConfig,
    TrainConfig,
    load_config,
    override,
)
from animal_spot.errors import BadConfig
from animal_spot.training.fit import train
from animal_spot.tuning import TuneConfig, tune
from animal_spot.tuning.space import load_space, narrow

from .conftest import run_tune, tune_command, tune_env, write_space

LR_SPACE = '["train.lr"]\nkind = "float"\nlow = 1e-5\nhigh = 1e-2\nlog = true\n'


@pytest.fixture(autouse=True)
def _no_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANIMAL_SPOT_REPORT", "0")


def small_base(data: Path) -> ExperimentConfig:
    return ExperimentConfig(
        audio=AudioConfig(sample_rate_hz=16000),
        spectrogram=SpectrogramConfig(
            n_fft=256, hop_length=128, n_freq_bins=32, fmin_hz=200, fmax_hz=7000,
            sequence_len_ms=500,
        ),
        data=DataConfig(data_dir=data),
        model=ModelConfig(backbone="resnet", resnet=18),
        train=TrainConfig(batch_size=8, epochs_per_eval=1, num_workers=0, seed=0),
    )  # fmt: skip


def rows(out: Path) -> list[dict[str, str]]:
    with (out / "trials.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_two_processes_on_one_sqlite_file_share_the_trials(tmp_path, prepared):
    out = tmp_path / "study"
    space = write_space(tmp_path / "space.toml", LR_SPACE)
    args = ("--n_trials", "4", "--max_epochs", "1", "--space", str(space), "--load_if_exists")
    workers = [
        subprocess.Popen(
            tune_command(out, prepared, *args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=tune_env(),
        )
        for _ in range(2)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err[-2000:]
    study = optuna.load_study(study_name="animal-spot", storage=f"sqlite:///{out / 'study.db'}")
    numbers = [t.number for t in study.trials]
    assert len(numbers) == len(set(numbers))
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    # The budget is the study's: 4 between them (a race at the last trial may add one).
    assert 4 <= len(complete) <= 5
    assert len({t.user_attrs["run_dir"] for t in complete}) == len(complete)
    assert len(rows(out)) == len(study.trials)


def test_a_hopeless_trial_is_pruned(tmp_path, prepared):
    out = tmp_path / "study"
    out.mkdir()
    storage = f"sqlite:///{out / 'study.db'}"
    study = optuna.create_study(storage=storage, study_name="s", direction="minimize")
    # Per-clip rates (Adam gets 8×): the last one blows the validation loss up to the hundreds.
    for lr in (1e-6, 1e-6, 1e-2):
        study.enqueue_trial({"train.lr": lr})
    space = write_space(tmp_path / "space.toml", LR_SPACE.replace("1e-5", "1e-7"))
    config = TuneConfig(
        output_dir=out, n_trials=3, max_epochs=4, study_name="s", storage=storage,
        metric="val_loss", load_if_exists=True, space=space, pruner_startup_trials=2,
        pruner_warmup_epochs=1,
    )  # fmt: skip
    result = tune(small_base(prepared), config)
    states = {
        t.params["train.lr"]: t.state
        for t in optuna.load_study(study_name="s", storage=storage).trials
    }
    assert states[1e-2] == optuna.trial.TrialState.PRUNED, states
    assert result.best_number in (0, 1)
    pruned = next(r for r in rows(out) if r["state"] == "PRUNED")
    assert pruned["note"].startswith("pruned after epoch")


def test_a_study_killed_mid_trial_resumes_and_retries_that_trial(tmp_path, prepared):
    out = tmp_path / "study"
    space = write_space(tmp_path / "space.toml", LR_SPACE)
    args = ("--n_trials", "2", "--max_epochs", "5", "--space", str(space), "--heartbeat_s", "1")
    first = subprocess.Popen(tune_command(out, prepared, *args), env=tune_env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    last = out / "trials" / "trial-0000" / "last.ckpt"
    deadline = time.monotonic() + 300
    while not last.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert last.exists()
    time.sleep(2.5)  # past the grace period of two heartbeats
    done = run_tune(out, prepared, *args, "--load_if_exists")
    assert done.returncode == 0, done.stderr[-2000:]
    study = optuna.load_study(study_name="animal-spot", storage=f"sqlite:///{out / 'study.db'}")
    by_number = {t.number: t for t in study.trials}
    assert by_number[0].state == optuna.trial.TrialState.FAIL
    retry = by_number[1]
    assert retry.state == optuna.trial.TrialState.COMPLETE
    assert retry.params == by_number[0].params
    assert retry.user_attrs["run_dir"].endswith("trial-0000")  # its run directory, resumed
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 2
    log = (out / "trials" / "trial-0000" / "train.log").read_text()
    assert "resum" in log.lower()


def test_the_best_config_trains_and_the_results_are_written(tmp_path, prepared):
    out = tmp_path / "study"
    space = write_space(
        tmp_path / "space.toml",
        LR_SPACE + '["train.beta1"]\nlow = 0.5\nhigh = 0.9\nkind = "float"\n',
    )
    done = run_tune(out, prepared, "--n_trials", "3", "--max_epochs", "1", "--space", str(space))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "optuna-dashboard sqlite:///" in done.stderr
    for name in ("trials.csv", "optimization_history.png", "param_importances.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "optimization_history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    best = load_config(out / "best" / "config.toml")
    assert (out / "best" / "run" / "model.pt").is_file()
    table = rows(out)
    best_row = max(table, key=lambda r: float(r["value"]))
    assert float(best_row["train.lr"]) == pytest.approx(best.train.lr)
    again = override(best, {"train.model_dir": tmp_path / "runs", "train.max_train_epochs": 1})
    assert train(again, report=False).model_path.is_file()
    # a second study under the same name is refused unless told to continue it
    refused = run_tune(out, prepared, "--n_trials", "1", "--space", str(space))
    assert refused.returncode == 2 and "--load_if_exists" in refused.stderr
    assert refused.stderr.count("\n") == 1


def test_front_end_trials_reuse_the_cached_stages(tmp_path, prepared):
    out = tmp_path / "study"
    space = write_space(
        tmp_path / "space.toml",
        '["spectrogram.n_freq_bins"]\nchoices = [16, 32]\n'
        '["spectrogram.fmax_hz"]\nchoices = [5000.0, 7000.0]\n'
        '["spectrogram.n_fft"]\nchoices = [256, 512]\n',
    )
    config = TuneConfig(output_dir=out, n_trials=4, max_epochs=1, space=space)
    tune(small_base(prepared), config)
    study = optuna.load_study(study_name="animal-spot", storage=config.storage_url)
    n_ffts = {t.params["spectrogram.n_fft"] for t in study.trials}
    n_clips = sum(1 for split in ("train", "val", "test")
                  for _ in csv.DictReader((prepared / f"{split}.csv").open()))  # fmt: skip
    cache = out / "cache"
    power = sorted(cache.glob("power-*"))
    audio = sorted(cache.glob("audio-*"))
    # one set of power STFTs per n_fft, however many bins and bands were tried; one of clips
    assert len(power) == len(n_ffts) and len(audio) == 1
    for folder in (*power, *audio):
        assert len(list(folder.rglob("*.npy"))) == n_clips, folder


def test_the_fork_range_flags_narrow_the_default_space():
    space = narrow(load_space(), lr_min=1e-5, lr_max=1e-4, batch_size_options=(4, 8),
                   sequence_len_min=400, sequence_len_max=800)  # fmt: skip
    by_key = {p.key: p for p in space.parameters}
    assert (by_key["train.lr"].low, by_key["train.lr"].high) == (1e-5, 1e-4)
    assert by_key["train.batch_size"].choices == (4, 8)
    assert (
        by_key["spectrogram.sequence_len_ms"].low,
        by_key["spectrogram.sequence_len_ms"].high,
    ) == (400, 800)
    assert space.searches_power_stft()  # the default space searches n_fft and hop


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('["train.nope"]\nchoices = [1]\n', "no config key"),
        ('["train.lr"]\nkind = "float"\nlow = 1\nhigh = 0\n', "low < high"),
        ('["train.lr"]\nkind = "gauss"\n', "kind"),
        ('["train.focal_gamma"]\nchoices = [2.0]\nwhen = { "train.loss" = "focal" }\n', "above it"),
        ("not toml [", "not valid TOML"),
    ],
)
def test_a_bad_space_is_a_one_line_error_naming_the_file(tmp_path, text, says):
    path = write_space(tmp_path / "space.toml", text)
    with pytest.raises(BadConfig, match=says) as caught:
        load_space(path)
    assert "space.toml" in str(caught.value) and "\n" not in str(caught.value)


def test_every_trial_of_the_default_space_is_a_valid_config(prepared):
    space = load_space()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    base = small_base(prepared)
    for _ in range(30):
        trial = study.ask()
        from animal_spot.tuning.space import apply

        apply(override(base, {"audio.sample_rate_hz": 44100, "spectrogram.fmax_hz": 10000.0}),
              space.suggest(trial))  # fmt: skip
        study.tell(trial, 0.0)


def test_a_worker_that_joins_a_study_draws_with_its_own_seed():
    from animal_spot.tuning.study import worker_seed

    alone = TuneConfig(output_dir=Path("s"), seed=3)
    joining = TuneConfig(output_dir=Path("s"), seed=3, load_if_exists=True)
    assert worker_seed(alone) == 3  # a study of its own repeats exactly
    joined = worker_seed(joining)
    assert joined != 3 and joined == worker_seed(joining)
    other = subprocess.run(
        [sys.executable, "-c", "from pathlib import Path; "
         "from animal_spot.tuning import TuneConfig; "
         "from animal_spot.tuning.study import worker_seed; "
         "print(worker_seed(TuneConfig(output_dir=Path('s'), seed=3, load_if_exists=True)))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert int(other.stdout) not in (3, joined)  # another process, another seed
