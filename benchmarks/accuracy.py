"""Accuracy under shift on every labelled dataset of ../shared/data, one table per task.

Usage: python benchmarks/accuracy.py [--quick] [--tasks narw,watkins,finch] [--seeds 3]
       [--rows baseline,recommended,...] [--write]

Rows: the plain ResNet-18 (ANIMAL-SPOT's front end and training, today's defaults), each
improvement alone, and the recommended combination. The baseline and the recommended rows run
with every seed (mean ± half the range), the single improvements with the first seed. NARW:
leave-one-recording-out detection with the held-out audio also at ±6 and ±12 dB; Watkins-10:
species, band-limited, at 0 and ±6 dB beside a rate-only baseline; Bengalese finch: syllable
types. ``--write`` appends the tables to benchmarks/RESULTS.md with the machine and date.
``--quick`` is a smoke test (a few epochs, one fold, one seed) that checks the chain runs.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("ANIMAL_SPOT_REPORT", "0")  # figures only: no report.html per run

from accuracy_classification import (
    FINCH,
    SHIFT_GAINS_DB,
    WATKINS,
    ClassificationRun,
    finch_splits,
    rate_baseline,
    run_classification,
    watkins_splits,
)
from accuracy_common import GAIN_AUGMENT, Recipe, mean_spread, quiet_training
from accuracy_detection import BASE as DETECTION_BASE
from accuracy_detection import (
    GAINS_DB,
    SWEEP_THRESHOLDS,
    DetectionRun,
    pooled,
    run_detection,
    run_ensemble,
)
from animal_spot.recipes import recipe_overrides

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HAS_BIRDNET = importlib.util.find_spec("ai_edge_litert") is not None

SPEC_AUGMENT = {"augment.spec_augment": True}
NOISE_CLIPS = {"augment.mix_noise_clips": True, "augment.snr_db": (0, 15)}
PCEN = {"spectrogram.normalization": "pcen"}
PER_WINDOW = {"spectrogram.normalization": "per_window"}
# A cheap head on cached embeddings: more epochs and one hidden layer (Watkins: 0.72 → 0.81).
BIRDNET = {
    "model.backbone": "birdnet",
    "model.time_expansion": "auto",
    "model.head_hidden": 256,
    "train.max_train_epochs": 150,
}
BIRDNET_DETECTOR = {**BIRDNET, "train.lr": 6.25e-5}  # the head's default, not the ResNet's


def detector_recipes() -> list[Recipe]:
    recipes = [
        Recipe("baseline", is_main=True),
        Recipe("gain ±12 dB", GAIN_AUGMENT),
        Recipe("pcen", PCEN),
        Recipe("per-window", PER_WINDOW),
        Recipe("SpecAugment", SPEC_AUGMENT),
        Recipe("noise clips mixed", NOISE_CLIPS),
        Recipe("time shift", {"augment.time_shift_s": 0.5}),
        Recipe("hard negatives", hard_negatives=True),
    ]
    if HAS_BIRDNET:  # ~23 ms per window: a coarser hop and three gains (it is level-blind)
        recipes.append(Recipe("birdnet", BIRDNET_DETECTOR, gains_db=(0, -12, 12), hop_s=1.0))
    best = recommended("detector", DETECTION_BASE)
    recipes.append(best)
    recipes.append(Recipe("recommended + hard negatives", best.overrides, hard_negatives=True))
    return recipes


def classifier_recipes(task: str) -> list[Recipe]:
    """Watkins gets every ablation; the finch syllables (near the ceiling) the main rows."""
    recipes = [Recipe("baseline", is_main=True)]
    if task == "watkins":
        recipes += [
            Recipe("gain ±12 dB", GAIN_AUGMENT),
            Recipe("pcen", PCEN),
            Recipe("per-window", PER_WINDOW),
            Recipe("SpecAugment", SPEC_AUGMENT),
        ]
    if HAS_BIRDNET:
        recipes.append(Recipe("birdnet", BIRDNET))
    recipes.append(recommended("classifier", WATKINS))
    return recipes


def recommended(name: str, base) -> Recipe:
    """The package's own recipe (``train --recipe NAME``), as a row."""
    overrides = recipe_overrides(name, base)
    overrides.pop("train.task", None)  # the task's base config sets it
    return Recipe("recommended", overrides, is_main=True)


def chosen(recipes: list[Recipe], rows: set[str] | None, custom: list[str]) -> list[Recipe]:
    """The named rows, plus ``--custom "name|section.field=value|..."`` rows (``hard_negatives``
    as a bare word mines and retrains)."""
    picked = [r for r in recipes if rows is None or r.name in rows]
    for text in custom:
        name, *items = text.split("|")
        overrides = dict(item.split("=", 1) for item in items if "=" in item)
        picked.append(Recipe(name, overrides, hard_negatives="hard_negatives" in items))
    return picked


def seeds_for(recipe: Recipe, args) -> list[int]:
    return list(range(args.seeds)) if recipe.is_main else [0]


def narw_table(runs: list[DetectionRun], recipes: list[Recipe], folds: list[int]) -> list[str]:
    head = (
        "| recipe | seeds | recall, 0 dB (calls) | precision, 0 dB | FP/h, 0 dB "
        "| flagged s/h, 0 dB "
        "| lowest recall of any fold at any gain | highest FP/h of any fold at any gain "
        "| target met (≥ 0.85 at ≤ 10 FP/h everywhere) |"
    )
    lines = [head, "|" + "---|" * 9]
    notes: list[str] = []
    detail = ["", "Per gain (recall · FP/h, all folds pooled):", ""]
    detail.append("| recipe | " + " | ".join(f"{g:+d} dB" for g in GAINS_DB) + " |")
    detail.append("|" + "---|" * (len(GAINS_DB) + 1))
    for recipe in recipes:
        group = [r for r in runs if r.recipe == recipe.name]
        if not group:
            continue
        totals = [pooled(r, folds, 0) for r in group]
        worst_recall = [min(f.recall for f in r.figures.values()) for r in group]
        worst_fp = [max(f.fp_per_h for f in r.figures.values()) for r in group]
        met = all(f.recall >= 0.85 and f.fp_per_h <= 10 for r in group for f in r.figures.values())
        lines.append(
            f"| {recipe.name} | {','.join(r.seeds_label or str(r.seed) for r in group)} "
            f"| {mean_spread([t.recall for t in totals])} ({totals[0].tp}/{totals[0].n_ref}) "
            f"| {mean_spread([t.precision for t in totals])} "
            f"| {mean_spread([t.fp_per_h for t in totals], 1)} ({totals[0].fp} in "
            f"{totals[0].hours:.2f} h) | {mean_spread([t.flagged_s_per_h for t in totals], 1)} "
            f"| {mean_spread(worst_recall)} | {mean_spread(worst_fp, 1)} "
            f"| {'yes' if met else 'no'} |"
        )
        cells = []
        for gain in GAINS_DB:
            at_gain = [pooled(r, folds, gain) for r in group]
            cells.append(
                f"{mean_spread([p.recall for p in at_gain])} · "
                f"{mean_spread([p.fp_per_h for p in at_gain], 1)}"
            )
        detail.append(f"| {recipe.name} | " + " | ".join(cells) + " |")
        if recipe.gains_db or recipe.hop_s:
            notes.append(
                f"{recipe.name}: gains {', '.join(f'{g:+d}' for g in recipe.gains_db or GAINS_DB)}"
                f" dB only, hop {recipe.hop_s or 'as the others'} s (scoring cost)."
            )
    if notes:
        detail += ["", *notes]
    mining = [f"- seed {r.seed}, {line}" for r in runs for line in r.mining]
    if mining:
        detail += ["", "Hard negatives (FP/h before and after, at equal recall, 0 dB):", *mining]
    return lines + detail


def sweep_lines(ensembles: list[DetectionRun], folds: list[int]) -> list[str]:
    """Ensembles at higher thresholds than the stored one, per fold and gain (for reading the
    trade-off, not chosen on these recordings)."""
    lines = []
    for run in ensembles:
        lines += ["", f"{run.recipe} at other thresholds (recall · FP/h per fold, every gain):", ""]
        lines.append("| threshold | gain | " + " | ".join(f"fold {f}" for f in folds) + " |")
        lines.append("|" + "---|" * (2 + len(folds)))
        for threshold in SWEEP_THRESHOLDS:
            for gain in GAINS_DB:
                cells = [run.sweep[(f, gain, threshold)] for f in folds]
                lines.append(
                    f"| {threshold} | {gain:+d} dB | "
                    + " | ".join(
                        f"{c.recall:.2f} ({c.tp}/{c.n_ref}) · {c.fp_per_h:.0f}" for c in cells
                    )
                    + " |"
                )
    return lines


def clip_table(
    runs: list[ClassificationRun], recipes: list[Recipe], baseline: tuple[float, float] | None
) -> list[str]:
    shifted = " | ".join(f"balanced acc., {g:+d} dB" for g in SHIFT_GAINS_DB)
    lines = [
        f"| recipe | seeds | balanced accuracy (95 % CI, seed 0) | macro-F1 | {shifted} "
        "| per-class accuracy (seed 0) | best epoch |",
        "|" + "---|" * (6 + len(SHIFT_GAINS_DB)),
    ]
    if baseline is not None:
        lines.append(
            f"| sample-rate-only baseline | – | {baseline[0]:.3f} | {baseline[1]:.3f} | "
            + " | ".join("–" for _ in SHIFT_GAINS_DB)
            + " | | |"
        )
    for recipe in recipes:
        group = [r for r in runs if r.recipe == recipe.name]
        if not group:
            continue
        first = group[0]
        per_class = ", ".join(
            f"{c} {a:.2f}" for c, a in zip(first.classes, first.per_class, strict=True)
        )
        lines.append(
            f"| {recipe.name} | {','.join(str(r.seed) for r in group)} "
            f"| {mean_spread([r.balanced[0] for r in group])} "
            f"[{first.interval[0]:.3f}, {first.interval[1]:.3f}] "
            f"| {mean_spread([r.f1[0] for r in group])} | "
            + " | ".join(mean_spread([r.balanced[g] for r in group]) for g in SHIFT_GAINS_DB)
            + f" | {per_class} | {','.join(str(r.best_epoch) for r in group)} |"
        )
    return lines


def machine() -> str:
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        model = platform.processor()
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    from animal_spot.prediction.runtime import native_bf16

    precision = "bf16 (native)" if native_bf16() else "fp32"
    return (
        f"{model}, {torch.get_num_threads()} threads, {isa}; torch {torch.__version__}; "
        f"prediction in {precision}; commit {_commit()}"
    )


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--tasks", default="narw,watkins,finch")
    parser.add_argument("--rows", help="comma-separated recipe names (default: all)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the main rows")
    parser.add_argument("--folds", default="0,1,2", help="NARW folds (held-out recordings)")
    parser.add_argument("--custom", action="append", default=[], help="name|key=value|... row")
    parser.add_argument("--epochs", type=int, default=12, help="NARW epochs")
    parser.add_argument("--watkins_epochs", type=int, default=40)
    parser.add_argument("--finch_epochs", type=int, default=4)
    parser.add_argument("--hop", type=float, default=0.5, help="NARW prediction hop")
    parser.add_argument("--noise_per_selection", type=float, default=10)
    parser.add_argument("--crops_per_selection", type=int, default=5)
    parser.add_argument("--background_clips", type=int, default=150)
    parser.add_argument("--mine_per_recording", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="smoke test: tiny and fast")
    parser.add_argument("--write", action="store_true", help="append the tables to RESULTS.md")
    parser.add_argument("--work", type=Path, help="keep runs here (default: a temp folder)")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.folds, args.epochs = 1, "0", 1
        args.watkins_epochs = args.finch_epochs = 1
        args.rows = args.rows or "baseline,recommended"
    args.folds = [int(f) for f in str(args.folds).split(",")]
    return args


def main() -> None:
    args = parse_args()
    quiet_training()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    rows = set(args.rows.split(",")) if args.rows else None
    tasks = args.tasks.split(",")
    started = time.perf_counter()
    out = ["## Accuracy under shift (`benchmarks/accuracy.py`)", ""]
    out.append(
        f"{datetime.date.today()} · {machine()} · `{' '.join(sys.argv[1:]) or '(defaults)'}`"
    )
    with tempfile.TemporaryDirectory() as name:
        work = args.work or Path(name)
        args.cache_dir = work / "cache"  # spectrograms and embeddings, shared by every row
        if "narw" in tasks:
            recipes = chosen(detector_recipes(), rows, args.custom)
            runs = [
                run_detection(r, seed, args.data / "narw_upcalls", work / "narw", args)
                for r in recipes
                for seed in seeds_for(r, args)
            ]
            ensembles = []
            for recipe in recipes:
                group = [r for r in runs if r.recipe == recipe.name]
                if recipe.name == "recommended" and len(group) > 1:
                    ensemble = run_ensemble(group, args.data / "narw_upcalls", work / "narw", args)
                    ensembles.append(ensemble)
                    recipes.append(Recipe(ensemble.recipe))
            out += ["", "### NARW up-calls: leave one recording out, ±gain", ""]
            out += narw_table([*runs, *ensembles], recipes, args.folds)
            out += sweep_lines(ensembles, args.folds)
        for task in ("watkins", "finch"):
            if task not in tasks:
                continue
            if task == "watkins":
                splits, rates = watkins_splits(args.data / "watkins10")
                baseline, base = rate_baseline(splits, rates), WATKINS
            else:
                songs = 20 if args.quick else None
                splits = finch_splits(args.data / "bengalese_finch", songs)
                baseline, base = None, FINCH
            sizes = ", ".join(f"{k} {len(v)}" for k, v in splits.items())
            recipes = chosen(classifier_recipes(task), rows, args.custom)
            runs = [
                run_classification(task, r, seed, splits, base, work, args)
                for r in recipes
                for seed in seeds_for(r, args)
            ]
            title = (
                "Watkins-10 species (5 kHz, 50–2500 Hz)"
                if task == "watkins"
                else "Bengalese finch syllable types"
            )
            out += ["", f"### {title}: clips {sizes}", ""]
            out += clip_table(runs, recipes, baseline)
    minutes = (time.perf_counter() - started) / 60
    out += ["", f"Whole run: {minutes:.0f} min."]
    text = "\n".join(out)
    print(text)
    if args.write:
        with RESULTS.open("a", encoding="utf-8") as handle:
            handle.write("\n" + text + "\n")


if __name__ == "__main__":
    main()
