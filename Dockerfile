# animal-spot in a container: the package in a virtual environment, `animal-spot` as the command.
#
#   docker build -t animal-spot .                                          # CPU (the default)
#   docker build -t animal-spot:gpu --build-arg TORCH_INDEX=https://pypi.org/simple .   # CUDA
#
# PyPI's Linux wheels of torch 2.14.1 are its CUDA 13.0 build (NVIDIA driver 580 or newer); an
# index of download.pytorch.org/whl/cu1xx that carries 2.14.1 gives another CUDA. Those wheels
# bring CUDA's own libraries, so the slim base serves a GPU too: the host needs only the NVIDIA
# driver and the NVIDIA Container Toolkit (`docker run --gpus all`). A CUDA base image also
# works (`--build-arg BASE=nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04`, with a CUDA
# TORCH_INDEX): a base without Python gets the distribution's python3 (3.10 or newer needed).
# README.md, section "Containers", shows the compose services built on this image.

ARG BASE=python:3.11-slim

# ---- base: Python, installed from the distribution when the base image has none ------------
FROM ${BASE} AS base
# hadolint ignore=DL3008
RUN if ! command -v python3 >/dev/null 2>&1; then \
        apt-get update \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            python3 python3-venv ca-certificates \
        && rm -rf /var/lib/apt/lists/*; \
    fi

# ---- build: the virtual environment, later copied whole into the runtime stage ---------------
FROM base AS build
# The wheel index decides CPU or CUDA: download.pytorch.org/whl/cpu, pypi.org/simple (CUDA).
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
# The releases the project is tested with; the CPU index names them 2.14.1+cpu, which == matches.
ARG TORCH_VERSION=2.14.1
ARG TORCHVISION_VERSION=0.29.1
# Extras of the package to add, comma-separated: export (ONNX), birdnet.
ARG EXTRAS=""
ARG OPTUNA_DASHBOARD_VERSION=0.21.0
ARG PSYCOPG2_VERSION=2.9.13
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python3 -m venv /opt/animal-spot
ENV PATH=/opt/animal-spot/bin:$PATH

# torch first, from its own index: the package's `torch>=2.2` is then already met, and the
# constraints file keeps pip from swapping in another build while it installs the rest.
RUN pip install --no-cache-dir --index-url "$TORCH_INDEX" \
        "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" \
    && printf 'torch==%s\ntorchvision==%s\n' "$TORCH_VERSION" "$TORCHVISION_VERSION" \
        > /opt/animal-spot/torch-constraints.txt

COPY pyproject.toml README.md /src/
COPY src/ /src/src/
# soundfile's and soxr's manylinux wheels bring libsndfile and libsoxr, so no system audio
# libraries are needed. optuna-dashboard and psycopg2 serve the tune workers and the dashboard
# (a study shared through PostgreSQL); they are not dependencies of the package itself.
RUN spec=/src; \
    if [ -n "$EXTRAS" ]; then spec="/src[$EXTRAS]"; fi; \
    pip install --no-cache-dir --constraint /opt/animal-spot/torch-constraints.txt \
        "$spec" \
        "optuna-dashboard==$OPTUNA_DASHBOARD_VERSION" \
        "psycopg2-binary==$PSYCOPG2_VERSION" \
    && animal-spot --version

# ---- runtime: the environment, the training scripts and a user that is not root --------------
FROM base AS runtime
LABEL org.opencontainers.image.title="animal-spot" \
      org.opencontainers.image.description="Detectors and classifiers of animal sounds" \
      org.opencontainers.image.licenses="GPL-3.0-or-later"

COPY --from=build /opt/animal-spot /opt/animal-spot
COPY TRAINING/ /opt/animal-spot-scripts/TRAINING/

# uid 1000 owns /work and its folders (ubuntu:24.04-based images already have a user 1000,
# which is then kept). docker-compose.yml runs as ANIMAL_SPOT_UID:ANIMAL_SPOT_GID, so that the
# files written into mounted host folders belong to the host's user.
RUN if ! getent passwd 1000 >/dev/null; then \
        useradd --create-home --uid 1000 --user-group --shell /usr/sbin/nologin animal-spot; \
    fi \
    && mkdir -p /work/data /work/recordings /work/runs /work/predictions /work/tuning \
        /work/cache \
    && chown -R 1000:1000 /work

# Log lines appear as they are written; caches live where any uid may write (compose may run
# as another uid than 1000); pretrained weights are looked for in the mounted cache folder
# (torch hub layout: /work/cache/torch/hub/checkpoints), never downloaded.
ENV PATH=/opt/animal-spot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    XDG_CACHE_HOME=/tmp/cache \
    TORCH_HOME=/work/cache/torch

# No VOLUME here: an anonymous volume would keep results out of sight of the host. Mount host
# folders at /work/data, /work/recordings, /work/runs, /work/predictions, /work/tuning,
# /work/cache (docker-compose.yml does).
WORKDIR /work
USER 1000:1000
# TensorBoard, optuna-dashboard
EXPOSE 6006 8080

ENTRYPOINT ["animal-spot"]
CMD ["--help"]
