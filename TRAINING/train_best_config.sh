#!/usr/bin/env bash
# Train a model from a tuning result: the best trial's settings that `animal-spot tune` wrote.
#
# Usage: TRAINING/train_best_config.sh [TUNE_OUT] [extra animal-spot train flags]
#   TUNE_OUT   the --output_dir of `animal-spot tune` (default tuning); its best/config.toml
#              holds every setting of the best trial, the data folder among them
#   extra flags come last and so override the file; it holds the base config's epochs and early
#              stopping, not the trials' --max_epochs, so a bound on the run goes here:
#              --max_train_epochs 150 --early_stopping_patience_epochs 25
# Environment: DATA_DIR and NUM_WORKERS (default: the config's), MODEL_DIR (default runs),
#   RUN_NAME (default best_<date-time>), ANIMAL_SPOT (the command, default animal-spot).
set -euo pipefail

TUNE_OUT=tuning
if [[ $# -gt 0 && "$1" != -* ]]; then
    TUNE_OUT=${1%/}
    shift
fi
CONFIG=$TUNE_OUT/best/config.toml
if [[ ! -f "$CONFIG" ]]; then
    echo "error: $CONFIG: no tuning result there; run \`animal-spot tune --output_dir $TUNE_OUT\` first, or give its output folder as the first argument" >&2
    exit 2
fi

MODEL_DIR=${MODEL_DIR:-runs}
RUN_NAME=${RUN_NAME:-best_$(date +%Y%m%d-%H%M%S)}
ANIMAL_SPOT=${ANIMAL_SPOT:-animal-spot}

# Flags only for what the environment sets: the rest stays as the tuning result has it.
optional=()
if [[ -n "${DATA_DIR:-}" ]]; then
    optional+=(--data_dir "$DATA_DIR")
fi
if [[ -n "${NUM_WORKERS:-}" ]]; then
    optional+=(--num_workers "$NUM_WORKERS")
fi

# ${a[@]+...}: an empty array under `set -u` (bash before 4.4 calls it unbound otherwise)
exec "$ANIMAL_SPOT" train \
    --config "$CONFIG" \
    --model_dir "$MODEL_DIR" \
    --run_name "$RUN_NAME" \
    ${optional[@]+"${optional[@]}"} \
    "$@"
