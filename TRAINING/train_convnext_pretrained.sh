#!/usr/bin/env bash
# ConvNeXt-Tiny from ImageNet weights with the fork's settings (IaroslavSheipak/ANIMAL-SPOT).
#
# Usage: TRAINING/train_convnext_pretrained.sh DATA_DIR [extra animal-spot train flags]
#   DATA_DIR   a folder written by `animal-spot prepare`, or a folder of convention-named clips
#   extra flags come last and so override the defaults below
# Environment: MODEL_DIR (default runs), RUN_NAME (default convnext_tiny_<date-time>),
#   NUM_WORKERS (default 2), ANIMAL_SPOT (the command, default animal-spot),
#   PRETRAINED (default: torchvision's ImageNet file in the torch hub cache; or a state dict).
#
# Nothing is downloaded: without the weights file the run stops at once and says which file to
# put where (torchvision's convnext_tiny-983f1562.pth under $TORCH_HOME/hub/checkpoints/).
# --lr is per clip: Adam gets 1e-6 × 8 = 8e-6. The one-channel stem is the mean of the RGB
# kernels (the fork's way); add --stem_adapt sum for timm's.
set -euo pipefail

if [[ $# -lt 1 || "$1" == -* ]]; then
    echo "usage: $0 DATA_DIR [extra animal-spot train flags]" >&2
    exit 2
fi
DATA_DIR=$1
shift

MODEL_DIR=${MODEL_DIR:-runs}
RUN_NAME=${RUN_NAME:-convnext_tiny_$(date +%Y%m%d-%H%M%S)}
NUM_WORKERS=${NUM_WORKERS:-2}
ANIMAL_SPOT=${ANIMAL_SPOT:-animal-spot}
PRETRAINED=${PRETRAINED:-hub}

exec "$ANIMAL_SPOT" train \
    --data_dir "$DATA_DIR" \
    --model_dir "$MODEL_DIR" \
    --run_name "$RUN_NAME" \
    --backbone convnext \
    --convnext tiny \
    --pretrained "$PRETRAINED" \
    --batch_size 8 \
    --lr 1e-6 \
    --beta1 0.9 \
    --max_train_epochs 150 \
    --epochs_per_eval 2 \
    --lr_patience_epochs 10 \
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
