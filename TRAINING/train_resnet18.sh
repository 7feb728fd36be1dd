#!/usr/bin/env bash
# ResNet-18 from scratch with the fork's settings (IaroslavSheipak/ANIMAL-SPOT TRAINING/ scripts).
#
# Usage: TRAINING/train_resnet18.sh DATA_DIR [extra animal-spot train flags]
#   DATA_DIR   a folder written by `animal-spot prepare`, or a folder of convention-named clips
#              (split by tape on the fly; the split CSVs are written into it)
#   extra flags come last and so override the defaults below, e.g. --max_train_epochs 5
# Environment: MODEL_DIR (default runs), RUN_NAME (default resnet18_<date-time>),
#   NUM_WORKERS (default 2), ANIMAL_SPOT (the command, default animal-spot).
#
# --lr is per clip: Adam gets lr × batch size = 5e-6 × 8 = 4e-5, as in ANIMAL-SPOT.
set -euo pipefail

if [[ $# -lt 1 || "$1" == -* ]]; then
    echo "usage: $0 DATA_DIR [extra animal-spot train flags]" >&2
    exit 2
fi
DATA_DIR=$1
shift

MODEL_DIR=${MODEL_DIR:-runs}
RUN_NAME=${RUN_NAME:-resnet18_$(date +%Y%m%d-%H%M%S)}
NUM_WORKERS=${NUM_WORKERS:-2}
ANIMAL_SPOT=${ANIMAL_SPOT:-animal-spot}

exec "$ANIMAL_SPOT" train \
    --data_dir "$DATA_DIR" \
    --model_dir "$MODEL_DIR" \
    --run_name "$RUN_NAME" \
    --backbone resnet \
    --resnet 18 \
    --batch_size 8 \
    --lr 5e-6 \
    --beta1 0.5 \
    --max_train_epochs 150 \
    --epochs_per_eval 2 \
    --lr_patience_epochs 8 \
    --lr_decay_factor 0.5 \
    --early_stopping_patience_epochs 20 \
    --num_workers "$NUM_WORKERS" \
    --augmentation \
    --sequence_len 500 \
    --sr 44100 \
    --n_fft 1024 \
    --hop_length 172 \
    --n_freq_bins 256 \
    --freq_compression linear \
    --fmin 500 \
    --fmax 10000 \
    --min_max_norm \
    --filter_broken_audio \
    "$@"
