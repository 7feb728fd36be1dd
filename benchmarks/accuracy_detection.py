"""NARW up-call detection under shift: leave one call recording out, ±gain on the held-out audio.

Per fold: train on two call recordings (crops of every selection, noise at a margin from the
boxes) plus noise from one background recording; predict the third call recording and another
background recording at −12, −6, 0, +6, +12 dB; match events one to one with the selections
(time IoU ≥ 0.3 or onsets within 0.5 s) at the thresholds stored in the model.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from accuracy_common import Recipe, train_once, with_seed
from animal_spot.annotations.event import Event
from animal_spot.annotations.raven import read_table
from animal_spot.config import (
    AudioConfig,
    ExperimentConfig,
    ModelConfig,
    PredictConfig,
    SpectrogramConfig,
    TrainConfig,
)
from animal_spot.data.manifest import Clip
from animal_spot.data.prepare import read_source
from animal_spot.evaluation import match_events
from animal_spot.prediction.api import predict
from animal_spot.prediction.events import from_scores
from animal_spot.prediction.scores import read_scores

CALL_STEMS = (
    "NOPP6_EST_20090328_000000",
    "NOPP6_EST_20090328_001500",
    "NOPP6_EST_20090328_003000",
)
BACKGROUND_STEMS = (
    "GSC_2000-05-19_00-00-00",
    "GSC_2000-05-19_00-15-00",
    "GSC_2000-05-19_00-30-00",
)
GAINS_DB = (0, -12, -6, 6, 12)
WINDOW_S = 2.0
ONSET_S = 0.5
BASE = ExperimentConfig(
    audio=AudioConfig(sample_rate_hz=2000),
    spectrogram=SpectrogramConfig(
        n_fft=256,
        hop_length=64,
        n_freq_bins=64,
        fmin_hz=50,
        fmax_hz=400,
        sequence_len_ms=WINDOW_S * 1000,
    ),
    model=ModelConfig(backbone="resnet", resnet=18),
    train=TrainConfig(
        task="detector", epochs_per_eval=1, batch_size=16, lr=2e-5, weighted_sampling=True
    ),
)


@dataclass
class FoldFigures:
    """Counts of one fold at one gain: matched calls, calls, events, false positives, hours."""

    tp: int = 0
    n_ref: int = 0
    n_pred: int = 0
    fp: int = 0
    flagged_s: float = 0.0
    hours: float = 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.n_ref if self.n_ref else float("nan")

    @property
    def precision(self) -> float:
        return self.tp / self.n_pred if self.n_pred else float("nan")

    @property
    def fp_per_h(self) -> float:
        return self.fp / self.hours

    @property
    def flagged_s_per_h(self) -> float:
        return self.flagged_s / self.hours


@dataclass
class DetectionRun:
    """One recipe, one seed: figures per (fold, gain), and FP/h at equal recall if mined."""

    recipe: str
    seed: int
    figures: dict[tuple[int, int], FoldFigures] = field(default_factory=dict)
    mining: list[str] = field(default_factory=list)
    seconds: float = 0.0
    train_s: float = 0.0
    models: dict[int, Path] = field(default_factory=dict)  # fold → the model it scored with
    seeds_label: str = ""  # an ensemble: the seeds it combines
    sweep: dict[tuple[int, int, float], FoldFigures] = field(default_factory=dict)


def fold_clips(data: Path, work: Path, fold: int, args) -> dict[str, list[Clip]]:
    """Training and validation clips of a fold: two call recordings and one background."""
    tables = work / "tables"
    background = work / "background"
    for folder in (tables, background):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    for k, stem in enumerate(CALL_STEMS):
        if k != fold:
            shutil.copy(data / "raven" / f"{stem}.Table.1.selections.txt", tables)
    noise_stem = BACKGROUND_STEMS[fold]
    (background / f"{noise_stem}.wav").symlink_to(data / "background" / f"{noise_stem}.wav")
    clips, problems = read_source(
        raven_dir=tables,
        audio_dir=data / "narw",
        window_s=WINDOW_S,
        noise_per_selection=args.noise_per_selection,
        margin_s=1.0,
        crops_per_selection=args.crops_per_selection,
        background_dir=background,
        background_clips=args.background_clips,
        seed=fold,
    )
    for problem in problems:
        print(f"    prepare: {problem}")
    rng = np.random.default_rng(fold)
    order = rng.permutation(len(clips))
    n_val = len(clips) * 15 // 100  # validation only picks the epoch; test audio is elsewhere
    return {"train": [clips[i] for i in order[n_val:]], "val": [clips[i] for i in order[:n_val]]}


def gain_copies(data: Path, work: Path, fold: int) -> dict[int, Path]:
    """The fold's held-out recordings at every gain, as float WAVs (no clipping)."""
    held_out = [data / "narw" / f"{CALL_STEMS[fold]}.wav"]
    held_out.append(data / "background" / f"{BACKGROUND_STEMS[(fold + 1) % 3]}.wav")
    folders = {}
    for gain in GAINS_DB:
        folder = work / "gains" / f"fold{fold}" / f"{gain:+d}dB"
        folder.mkdir(parents=True, exist_ok=True)
        for path in held_out:
            target = folder / path.name
            if not target.exists():
                samples, rate = sf.read(path, dtype="float32")
                sf.write(target, samples * 10 ** (gain / 20), rate, subtype="FLOAT")
        folders[gain] = folder
    return folders


def references(data: Path) -> dict[str, list[Event]]:
    return {
        stem: read_table(data / "raven" / f"{stem}.Table.1.selections.txt") for stem in CALL_STEMS
    }


def score_events(events: dict[str, list[Event]], refs, hours: float) -> FoldFigures:
    """Class-agnostic one-to-one matching; recordings without a table hold no call."""
    figures = FoldFigures(hours=hours)
    for stem, predicted in events.items():
        truth = [dataclasses.replace(e, label="call") for e in refs.get(stem, [])]
        guesses = [dataclasses.replace(e, label="call") for e in predicted]
        matching = match_events(guesses, truth, iou_threshold=0.3, onset_tolerance_s=ONSET_S)
        figures.tp += len(matching.pairs)
        figures.n_ref += len(truth)
        figures.n_pred += len(guesses)
        false = matching.unmatched_predictions()
        figures.fp += len(false)
        figures.flagged_s += sum(e.duration_s for e in false)
    return figures


def predict_folder(
    model_path: Path | tuple[Path, ...], folder: Path, out: Path, hop_s: float
) -> dict[str, Path]:
    """Predict every recording of ``folder`` (several models: their ensemble, mean scores);
    the exact path's events via ``--cascade``."""
    config = PredictConfig(
        model_path=model_path if isinstance(model_path, tuple) else (model_path,),
        input_file=folder,
        output_dir=out,
        hop_s=hop_s,
        overwrite=True,
        cascade=hop_s <= WINDOW_S / 4,
    )
    predict(config, progress=False)
    return {p.stem: out / f"{p.stem}.scores.csv" for p in sorted(folder.glob("*.wav"))}


def stored_events(score_files: dict[str, Path], thresholds: dict[str, float] | None):
    """Events per recording from its written table (``None``) or from scores at a threshold."""
    out = {}
    for stem, scores in score_files.items():
        if thresholds is None:
            out[stem] = read_table(scores.parent / f"{stem}.selections.txt")
        else:
            out[stem] = from_scores(read_scores(scores)[0], thresholds)
    return out


@dataclass
class Fold:
    """One fold's inputs: what it trains on and the held-out audio at every gain."""

    index: int
    data: Path
    work: Path
    splits: dict[str, list[Clip]]
    gains: dict[int, Path]
    refs: dict[str, list[Event]]


def run_fold(recipe: Recipe, seed: int, fold: Fold, args, run: DetectionRun) -> None:
    config = recipe.apply(BASE)
    config = dataclasses.replace(
        config,
        train=dataclasses.replace(
            config.train,
            model_dir=fold.work / "runs",
            max_train_epochs=int(recipe.overrides.get("train.max_train_epochs", args.epochs)),
            early_stopping_patience_epochs=int(
                recipe.overrides.get("train.max_train_epochs", args.epochs)
            ),
        ),
        data=dataclasses.replace(config.data, cache_dir=args.cache_dir),
    )
    start = time.perf_counter()
    model_path = train_once(with_seed(config, seed, "model"), fold.splits).model_path
    if recipe.hard_negatives:
        model_path = mine_and_retrain(config, seed, model_path, fold, args, run)
    run.train_s += time.perf_counter() - start
    run.models[fold.index] = model_path
    for gain in recipe.gains_db or GAINS_DB:
        folder = fold.gains[gain]
        hop_s = recipe.hop_s or args.hop
        files = predict_folder(model_path, folder, fold.work / f"pred{gain:+d}", hop_s)
        run.figures[(fold.index, gain)] = score_events(
            stored_events(files, None), fold.refs, hours_of(folder)
        )


def hours_of(folder: Path) -> float:
    return sum(sf.info(p).duration for p in folder.glob("*.wav")) / 3600


def mine_and_retrain(config, seed: int, first_model: Path, fold: Fold, args, run) -> Path:
    """Mine the first model's false positives on the training audio, add them, retrain."""
    from animal_spot.data.manifest import read_manifest, write_manifest
    from animal_spot.data.mining import mine

    train_calls = [
        fold.data / "narw" / f"{s}.wav" for k, s in enumerate(CALL_STEMS) if k != fold.index
    ]
    background = sorted((fold.work / "background").glob("*.wav"))
    # Validation clips come from the training recordings too: it only picks the epoch, so it
    # stays out of the prepared folder that the leak guard of `mine` reads.
    prepared = fold.work / "prepared"
    write_manifest(fold.splits["train"], prepared / "train.csv")
    options = {"margin_s": 1.0, "hop_s": args.hop, "max_per_recording": args.mine_per_recording}
    # Outside the boxes of the annotated recordings, and anywhere in the background one.
    result = mine(first_model, train_calls, prepared, references=fold.work / "tables", **options)
    from_background = mine(first_model, background, prepared, **options)
    grown = read_manifest(prepared / "train.csv")
    mined = grown[len(fold.splits["train"]) :]
    augmented = {"train": grown, "val": fold.splits["val"]}
    retrained = train_once(with_seed(config, seed, "model_mined"), augmented).model_path
    # FP/h before and after at equal recall, on the unshifted held-out audio.
    hours = hours_of(fold.gains[0])
    before = predict_folder(first_model, fold.gains[0], fold.work / "before", args.hop)
    after = predict_folder(retrained, fold.gains[0], fold.work / "after", args.hop)
    first = score_events(stored_events(before, None), fold.refs, hours)
    second = score_events(stored_events(after, None), fold.refs, hours)
    threshold, matched = equal_recall(after, fold.refs, hours, first.recall)
    at_equal = (
        f"at equal recall (threshold {threshold:.2f}): {matched.fp_per_h:.1f} FP/h"
        if threshold is not None
        else f"no threshold reaches that recall (best {matched.recall:.2f})"
    )
    run.mining.append(
        f"fold {fold.index}: {result.n_events + from_background.n_events} false-positive "
        f"events on {result.free_hours + from_background.free_hours:.2f} h of call-free "
        f"training audio, {len(mined)} clips mined; before: recall {first.recall:.2f} "
        f"({first.tp}/{first.n_ref}), {first.fp_per_h:.1f} FP/h; after, at the stored "
        f"threshold: recall {second.recall:.2f} ({second.tp}/{second.n_ref}), "
        f"{second.fp_per_h:.1f} FP/h; {at_equal}"
    )
    return retrained


def equal_recall(files, refs, hours: float, recall: float) -> tuple[float | None, FoldFigures]:
    """The highest threshold whose recall reaches ``recall`` and the figures there; ``None``
    and the figures of the best recall when no threshold from 0.99 down to 0.01 reaches it."""
    best: tuple[float, FoldFigures] | None = None
    for threshold in np.arange(0.99, 0.0, -0.01):
        figures = score_events(stored_events(files, {"target": float(threshold)}), refs, hours)
        if figures.recall >= recall - 1e-9:
            return float(threshold), figures
        if best is None or figures.recall > best[1].recall:
            best = (float(threshold), figures)
    assert best is not None
    return None, best[1]


def make_fold(index: int, data: Path, work: Path, args) -> Fold:
    fold_work = work / f"fold{index}"
    splits = fold_clips(data, fold_work, index, args)
    # The gain copies depend only on the fold: shared by every recipe and seed.
    gains = gain_copies(data, work.parent.parent, index)
    return Fold(index, data, fold_work, splits, gains, references(data))


def run_detection(recipe: Recipe, seed: int, data: Path, work: Path, args) -> DetectionRun:
    run = DetectionRun(recipe.name, seed)
    start = time.perf_counter()
    for index in args.folds:
        fold = make_fold(index, data, work / recipe.name.replace(" ", "_") / f"seed{seed}", args)
        run_fold(recipe, seed, fold, args, run)
        gains = recipe.gains_db or GAINS_DB
        pairs = [(g, run.figures[(index, g)]) for g in gains]
        recalls = ", ".join(f"{g:+d}: {f.recall:.2f}" for g, f in pairs)
        rates = ", ".join(f"{g:+d}: {f.fp_per_h:.0f}" for g, f in pairs)
        print(
            f"    {recipe.name} seed {seed} fold {index}: recall {recalls}; FP/h {rates}; "
            f"{time.perf_counter() - start:.0f} s so far, {run.train_s:.0f} s of it training",
            flush=True,
        )
    run.seconds = time.perf_counter() - start
    return run


SWEEP_THRESHOLDS = (0.7, 0.9)


def run_ensemble(group: list[DetectionRun], data: Path, work: Path, args) -> DetectionRun:
    """The seeds' models of one recipe as one ensemble (``predict`` with every model_path)."""
    run = DetectionRun(f"{group[0].recipe}, ensemble of {len(group)} seeds", -1)
    run.seeds_label = "+".join(str(r.seed) for r in group)
    refs = references(data)
    for index in args.folds:
        models = tuple(r.models[index] for r in group)
        folders = gain_copies(data, work, index)
        for gain in GAINS_DB:
            out = work / "ensemble" / group[0].recipe.replace(" ", "_") / f"fold{index}{gain:+d}"
            files = predict_folder(models, folders[gain], out, args.hop)
            hours = hours_of(folders[gain])
            run.figures[(index, gain)] = score_events(stored_events(files, None), refs, hours)
            for threshold in SWEEP_THRESHOLDS:
                events = stored_events(files, {"target": threshold})
                run.sweep[(index, gain, threshold)] = score_events(events, refs, hours)
    return run


def pooled(run: DetectionRun, folds: list[int], gain: int) -> FoldFigures:
    total = FoldFigures()
    for fold in folds:
        f = run.figures.get((fold, gain))
        if f is None:  # a gain this row did not score
            return FoldFigures(tp=0, n_ref=0, hours=float("nan"))
        total.tp += f.tp
        total.n_ref += f.n_ref
        total.n_pred += f.n_pred
        total.fp += f.fp
        total.flagged_s += f.flagged_s
        total.hours += f.hours
    return total
