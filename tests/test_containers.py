"""The Dockerfile, the compose files and TRAINING/train_best_config.sh say what the package takes.

Each compose service that runs the image has its command parsed by the real ``animal-spot``
parser (after the file's ``${VAR:-default}`` values are filled in with their defaults), and so has
each ``docker run`` / ``docker compose run`` line of the README. ``docker compose config``,
hadolint and shellcheck run where they are installed and are skipped where not.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from animal_spot.cli import build_parser
from animal_spot.cli_options import config_from_args
from animal_spot.config import load_toml, save_toml

from .readme_commands import ROOT, shell_commands

yaml = pytest.importorskip("yaml")  # PyYAML, which Lightning installs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

COMPOSE = ROOT / "docker-compose.yml"
COMPOSE_GPU = ROOT / "docker-compose.gpu.yml"
DOCKERFILE = ROOT / "Dockerfile"
BEST_SCRIPT = ROOT / "TRAINING" / "train_best_config.sh"
SCRIPTS_IN_IMAGE = "/opt/animal-spot-scripts/TRAINING/"
# ${VAR}, ${VAR:-default}, ${VAR-default}; $$ is a literal $.
VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?::?-([^}]*))?\}")


def with_defaults(value: object) -> object:
    """The compose value as it reads with no variable set: every ``${VAR:-x}`` becomes ``x``."""
    if isinstance(value, str):
        return VARIABLE.sub(lambda m: "$" if m.group(0) == "$$" else m.group(2) or "", value)
    if isinstance(value, list):
        return [with_defaults(v) for v in value]
    if isinstance(value, dict):
        return {k: with_defaults(v) for k, v in value.items()}
    return value


def compose(path: Path = COMPOSE) -> dict:
    return with_defaults(yaml.safe_load(path.read_text(encoding="utf-8")))  # type: ignore[return-value]


def services(path: Path = COMPOSE) -> dict[str, dict]:
    return compose(path)["services"]


def dockerfile_stages() -> list[list[str]]:
    """The Dockerfile's instructions, continuation lines joined and comments dropped, per stage."""
    stages: list[list[str]] = [[]]
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        instruction = (pending + line).strip()
        pending = ""
        if instruction.upper().startswith("FROM "):
            stages.append([])
        stages[-1].append(instruction)
    return stages[1:]


def final_stage(keyword: str) -> list[str]:
    """The arguments of the final stage's ``keyword`` instructions, in order."""
    return [
        i.split(None, 1)[1]
        for i in dockerfile_stages()[-1]
        if i.split(None, 1)[0].upper() == keyword
    ]


def entrypoint() -> list[str]:
    return json.loads(final_stage("ENTRYPOINT")[-1])


def image_services() -> dict[str, dict]:
    """The services that run the animal-spot image (all but postgres)."""
    return {name: s for name, s in services().items() if "build" in s}


def parse(argv: list[str], where: str, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:
        pytest.fail(f"{where}: {shlex.join(argv)}\n{capsys.readouterr().err.strip()} ({stop.code})")
    assert callable(args.run), where


def script_argv(tmp_path: Path, tune_out_args: list[str], env: dict[str, str]) -> list[str]:
    """The ``animal-spot`` command line train_best_config.sh runs, caught by a stand-in."""
    stand_in = tmp_path / "stand-in"
    stand_in.write_text(
        f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n",
        encoding="utf-8",
    )
    stand_in.chmod(0o755)
    done = subprocess.run(
        ["bash", str(BEST_SCRIPT), *tune_out_args],
        env={**os.environ, **env, "ANIMAL_SPOT": str(stand_in)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def fake_tuning_result(tmp_path: Path) -> Path:
    out = tmp_path / "tuning"
    (out / "best").mkdir(parents=True)
    (out / "best" / "config.toml").write_text("[train]\nbatch_size = 4\n", encoding="utf-8")
    return out


# ------------------------------------------------------------------------------- Dockerfile


def test_the_image_runs_animal_spot_and_shows_its_help_by_default():
    assert entrypoint() == ["animal-spot"]
    assert json.loads(final_stage("CMD")[-1]) == ["--help"]
    assert final_stage("WORKDIR")[-1] == "/work"


def test_the_image_runs_as_a_user_that_is_not_root():
    user = final_stage("USER")[-1].split(":")[0]
    assert user not in ("root", "0")


def build_arg(name: str) -> str:
    (value,) = (
        i.split(None, 1)[1].partition("=")[2]
        for stage in dockerfile_stages()
        for i in stage
        if i.upper().startswith(f"ARG {name}=".upper())
    )
    return value


def test_the_image_pins_torch_and_torchvision_within_the_package_requirements():
    from packaging.requirements import Requirement

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = {r.name: r for r in map(Requirement, pyproject["project"]["dependencies"])}
    for name, arg in (("torch", "TORCH_VERSION"), ("torchvision", "TORCHVISION_VERSION")):
        assert wanted[name].specifier.contains(build_arg(arg)), (name, build_arg(arg))
    assert build_arg("TORCH_INDEX").endswith("/whl/cpu")  # CPU unless asked


def test_the_training_scripts_are_in_the_image_where_compose_looks_for_them():
    copies = [i for stage in dockerfile_stages() for i in stage if i.upper().startswith("COPY ")]
    assert any(c.split()[-1] == SCRIPTS_IN_IMAGE and "TRAINING" in c for c in copies)
    entry = services()["train-best"]["entrypoint"]
    assert entry[-1] == SCRIPTS_IN_IMAGE + BEST_SCRIPT.name


def test_the_build_context_holds_what_the_dockerfile_copies_and_no_data():
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    kept = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    sources = set()
    for stage in dockerfile_stages():
        for i in stage:
            words = i.split()
            if words[0].upper() == "COPY" and not any(w.startswith("--from") for w in words):
                sources |= {w.rstrip("/") for w in words[1:-1]}
    assert sources <= kept
    assert "*" in ignore  # everything else (data, runs, .venv, .git) stays out


@pytest.mark.skipif(shutil.which("hadolint") is None, reason="hadolint is not installed")
def test_hadolint_finds_nothing_in_the_dockerfile():
    done = subprocess.run(["hadolint", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


# ---------------------------------------------------------------------------- compose files


@pytest.mark.parametrize("name", sorted(image_services()))
def animal_spot_argv(service: dict, command: list[str], tmp_path: Path) -> list[str] | None:
    """What ``animal-spot`` gets when the service runs ``command``; None for another program."""
    entry = service.get("entrypoint", entrypoint())
    if entry == ["animal-spot"]:
        return command
    if entry[-1].endswith(BEST_SCRIPT.name):
        # The script in the image is the one in TRAINING/: run it on a stand-in tuning folder
        # with the service's environment and arguments, and take what it would run.
        assert command[0] == "/work/tuning"
        env = {k: str(v) for k, v in service.get("environment", {}).items()}
        return script_argv(tmp_path, [str(fake_tuning_result(tmp_path)), *command[1:]], env)
    return None


@pytest.mark.parametrize("name", sorted(image_services()))
def test_each_service_runs_a_command_the_package_takes(name, tmp_path, capsys):
    service = image_services()[name]
    command = service.get("command", [])
    where = f"docker-compose.yml: {name}"
    assert isinstance(command, list), f"{where}: give the command as a list"
    argv = animal_spot_argv(service, command, tmp_path)
    entry = service.get("entrypoint", entrypoint())
    if argv is not None:
        parse(argv, where, capsys)
    elif entry == ["tensorboard"]:
        logdir = command[command.index("--logdir") + 1]
        mounted = {v.split(":")[1] for v in service["volumes"]}
        assert {f"{logdir}/runs", f"{logdir}/tuning"} <= mounted, where
    else:
        assert entry == ["optuna-dashboard"], f"{where}: unknown entrypoint {entry}"


def test_tune_workers_and_the_dashboard_share_one_study_in_the_postgres_service():
    all_services = services()
    tune, dashboard, postgres = (all_services[n] for n in ("tune", "optuna-dashboard", "postgres"))
    for service in (tune, dashboard):
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
    storage = tune["command"][tune["command"].index("--storage") + 1]
    assert storage in dashboard["command"]
    env = postgres["environment"]
    assert storage == (
        f"postgresql+psycopg2://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}"
        f"@postgres:5432/{env['POSTGRES_DB']}"
    )
    assert "--load_if_exists" in tune["command"]  # so that --scale tune=N joins one study
    assert "container_name" not in tune  # a fixed name would forbid --scale


def test_postgres_keeps_its_data_in_a_named_volume_and_has_a_healthcheck():
    file = compose()
    postgres = file["services"]["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in file["volumes"]


def test_every_host_folder_is_set_from_the_environment():
    raw = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    for name, service in raw["services"].items():
        for volume in service.get("volumes", []):
            host = volume.split(":")[0]
            assert host == "postgres-data" or host.startswith("${"), f"{name}: {volume}"


def test_the_gpu_file_reserves_gpus_for_the_services_that_compute():
    gpu = services(COMPOSE_GPU)
    for name in ("train", "train-best", "predict", "tune"):
        (device,) = gpu[name]["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia"
        assert device["capabilities"] == ["gpu"]
        assert gpu[name]["build"]["args"]["TORCH_INDEX"] != build_arg("TORCH_INDEX")  # not CPU
    assert set(gpu) <= set(services())


def compose_command() -> list[str] | None:
    """``docker compose`` (the plugin), else a ``docker-compose`` of v2 or later, else None.

    Compose v1 (Python, end of life in 2023) predates the spec's top-level ``name``.
    """
    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]) is None:
            continue
        done = subprocess.run(
            [*command, "version", "--short"], capture_output=True, text=True, timeout=60
        )
        major = done.stdout.strip().lstrip("v").split(".")[0]
        if done.returncode == 0 and major.isdigit() and int(major) >= 2:
            return command
    return None


@pytest.mark.skipif(compose_command() is None, reason="no docker compose (v2 or later)")
@pytest.mark.parametrize("files", [[COMPOSE], [COMPOSE, COMPOSE_GPU]], ids=["cpu", "gpu"])
def test_docker_compose_config_accepts_the_files(files):
    command = compose_command()
    assert command is not None
    with_files = [*command, *(a for f in files for a in ("-f", str(f)))]
    done = subprocess.run(
        [*with_files, "config", "--quiet"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


# ------------------------------------------------------------------- train_best_config.sh


def test_best_config_script_without_a_tuning_result_says_so_in_one_line(tmp_path):
    done = subprocess.run(
        ["bash", str(BEST_SCRIPT), str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(tmp_path / "nowhere" / "best" / "config.toml") in lines[0]
    assert "animal-spot tune" in lines[0]
    assert done.stdout == ""


def test_best_config_script_looks_in_tuning_by_default_and_passes_extra_flags_on(
    tmp_path, capsys, monkeypatch
):
    fake_tuning_result(tmp_path)
    monkeypatch.chdir(tmp_path)
    argv = script_argv(tmp_path, ["--max_train_epochs", "3"], {"RUN_NAME": "final"})
    assert argv[:3] == ["train", "--config", "tuning/best/config.toml"]
    assert argv[-2:] == ["--max_train_epochs", "3"]  # last, so they win
    assert "--data_dir" not in argv  # the tuning result's own
    parse(argv, "train_best_config.sh", capsys)


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_shellcheck_finds_nothing_in_the_training_scripts():
    scripts = sorted(str(p) for p in (ROOT / "TRAINING").glob("*.sh"))
    done = subprocess.run(["shellcheck", *scripts], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


# ------------------------------------------------------------------------------- README


def docker_lines() -> list:
    return [c for c in shell_commands(ROOT / "README.md") if c.words[0] == "docker"]


# docker options that take a value (the rest shown in the README are switches)
VALUED = {
    "-f", "--file", "-v", "--volume", "-e", "--env", "-w", "--workdir", "-u", "--user",
    "-p", "--publish", "--gpus", "--name", "--entrypoint", "--shm-size", "--profile",
    "--scale", "--build-arg", "-t", "--tag", "--env-file", "--mount", "--network",
}  # fmt: skip


def split_options(words: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Leading docker options (``--opt value``, ``--opt=value``, switches) and what follows."""
    options: dict[str, list[str]] = {}
    at = 0
    while at < len(words) and words[at].startswith("-"):
        name, _, value = words[at].partition("=")
        if name in VALUED and not value:
            at += 1
            value = words[at]
        options.setdefault(name, []).append(value)
        at += 1
    return options, words[at:]


def test_the_readme_shows_the_containers():
    shown = {" ".join(c.words[:3]) for c in docker_lines()}
    assert "docker build -t" in shown or any(s.startswith("docker build") for s in shown)
    assert any(s.startswith("docker compose") for s in shown)


@pytest.mark.parametrize("line", docker_lines(), ids=lambda c: c.where[:90])
def test_each_docker_line_of_the_readme_runs_what_the_package_takes(line, tmp_path, capsys):
    words = list(line.words[1:])
    if words[0] == "run":  # docker run [options] IMAGE [animal-spot arguments]
        options, rest = split_options(words[1:])
        if "--entrypoint" not in options and len(rest) > 1:
            parse(rest[1:], line.where, capsys)
        return
    if words[0] != "compose":
        return  # docker build, docker logs, ...
    options, rest = split_options(words[1:])
    names = services()
    for file in options.get("-f", []):
        assert (ROOT / file).is_file(), line.where
    if rest[0] in ("run", "up", "logs", "stop", "down", "build", "pull"):
        run_options, targets = split_options(rest[1:])
        if rest[0] == "run":
            service, *argv = targets
            assert service in names, line.where
            if argv and "--entrypoint" not in run_options:
                given = animal_spot_argv(names[service], argv, tmp_path)
                if given is not None:
                    parse(given, line.where, capsys)
        else:
            assert set(targets) <= set(names), line.where
            for scale in run_options.get("--scale", []):
                assert scale.split("=")[0] in names, line.where


# --------------------------------------------------------- train_best_config.sh, for real


def test_best_config_script_trains_with_the_tuning_results_settings(tmp_path):
    from animal_spot.data.prepare import prepare
    from animal_spot.synthetic import synthesize_clips

    clips = synthesize_clips(tmp_path / "clips", classes=("tone", "click"), clips_per_class=8,
                             n_tapes=8).folder  # fmt: skip
    data_dir = prepare(tmp_path / "data", clips_dir=clips).out_dir
    # What a tuning run leaves: every setting of the best trial, the data folder among them.
    best = config_from_args(build_parser().parse_args([
        "train", "--data_dir", str(data_dir), "--sr", "16000", "--n_fft", "256",
        "--hop_length", "128", "--n_freq_bins", "32", "--fmin", "200", "--fmax", "7000",
        "--sequence_len", "500", "--max_train_epochs", "1", "--batch_size", "4", "--lr", "2e-5",
    ]))  # fmt: skip
    (tmp_path / "tuning" / "best").mkdir(parents=True)
    save_toml(best, tmp_path / "tuning" / "best" / "config.toml")
    done = subprocess.run(
        ["bash", str(BEST_SCRIPT), str(tmp_path / "tuning"), "--beta1", "0.8"],
        env={
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "OMP_NUM_THREADS": "1",
            "MODEL_DIR": str(tmp_path / "runs"),
            "RUN_NAME": "best",
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    config = load_toml(tmp_path / "runs" / "best" / "config.toml")
    assert config.train.batch_size == 4
    assert config.train.lr == 2e-5
    assert config.train.beta1 == 0.8  # an extra flag
    assert config.audio.sample_rate_hz == 16000
    assert (tmp_path / "runs" / "best" / "model.pt").is_file()
