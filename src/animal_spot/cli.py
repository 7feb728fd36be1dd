"""The ``animal-spot`` command: parse flags → config → one API call → print where output went."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import sys
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .cli_compat import add_predict_flags, add_train_flags, predict_flags, train_flags, write_jit
from .cli_options import (
    add_config_flags,
    add_fields,
    add_recipe_flag,
    add_section_flags,
    config_from_args,
    fields_from_args,
)
from .cli_tune import add_tune
from .config import check_split
from .console import say, set_quiet
from .errors import AnimalSpotError, BadConfig
from .verb_config import SPLIT_FIELDS, EvaluateConfig, PrepareConfig

Verb = Callable[[argparse.Namespace], int]
EVALUATION_DIR = Path("evaluation")  # where `evaluate` writes when --output_dir is not given
QUIET_HELP = "no progress and no status lines: warnings, errors and results only"
TRAIN_SECTIONS = ("audio", "spectrogram", "augment", "data", "model", "train")
PREPARE_SOURCE = tuple(
    f.name for f in dataclasses.fields(PrepareConfig) if f.name not in SPLIT_FIELDS
)


class DefaultsFormatter(argparse.HelpFormatter):
    """``--help`` that shows each flag's default once and names placeholders by their field."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "(default" in text
            or not action.option_strings
            or default is None
            or default is argparse.SUPPRESS
            or isinstance(default, bool)
        ):
            return text
        shown = ",".join(map(str, default)) if isinstance(default, tuple | list) else str(default)
        return f"{text} (default: {shown.replace('%', '%%')})".strip()

    def _get_default_metavar_for_optional(self, action: argparse.Action) -> str:
        return action.dest.rpartition(".")[2].upper()  # predict.window_s → WINDOW_S


class Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line, like every other error."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _fractions(text: str) -> tuple[float, ...]:
    """``--split``: train, val, test fractions (finite, ≥ 0, summing to 1, train above 0)."""
    try:
        split = tuple(float(part) for part in text.split(","))
        check_split(split, "--split")
    except (ValueError, BadConfig) as err:
        reason = str(err) if isinstance(err, BadConfig) else "is not a list like 0.7,0.15,0.15"
        raise argparse.ArgumentTypeError(f"{text!r}: {reason}") from None
    return split


def number(
    kind: type, low: float, high: float, *, is_low_open: bool = False
) -> Callable[[str], Any]:
    """An argparse type: a finite ``kind`` in ``[low, high]`` (``(low, high]`` if open)."""

    def parse(text: str) -> Any:
        try:
            value = float(text)
            if kind is int and not value.is_integer():
                raise ValueError
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"{text!r} is not {kind.__name__}") from None
        is_inside = (low < value if is_low_open else low <= value) and value <= high
        if not (math.isfinite(value) and is_inside):
            bracket = "(" if is_low_open else "["
            raise argparse.ArgumentTypeError(
                f"{text!r} is outside {bracket}{_bound(low)}, {_bound(high)}]"
            )
        return int(value) if kind is int else value

    return parse


def _bound(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


SECONDS = number(float, 0.0, 1e6)
POSITIVE_SECONDS = number(float, 0.0, 1e6, is_low_open=True)
FRACTION = number(float, 0.0, 1.0)
WORKERS = number(int, 1, 1024)


def add_prepare(sub: argparse._SubParsersAction) -> None:
    from .verb_config import SOURCE_FIELDS

    p = sub.add_parser("prepare", help="labelled audio → audited train/val/test manifests")
    add_fields(p, PrepareConfig, ["out_dir"], required=("out_dir",))
    source = p.add_argument_group(f"source (exactly one of --{', --'.join(SOURCE_FIELDS)})")
    add_fields(source, PrepareConfig, [n for n in PREPARE_SOURCE if n != "out_dir"])
    add_fields(p, PrepareConfig, SPLIT_FIELDS, metavars={"split": "TRAIN,VAL,TEST"})
    p.add_argument(
        "--no_merge",
        dest="merge_shared_content",
        action="store_false",
        default=None,
        help="= --no-merge_shared_content",
    )
    p.set_defaults(run=run_prepare)


def run_prepare(args: argparse.Namespace) -> int:
    from .data.prepare import prepare

    result = prepare(fields_from_args(PrepareConfig, args))
    print(result.format_text())
    print(f"wrote {result.out_dir}/train.csv, val.csv, test.csv and audit.json")
    print(f"wrote {result.suggested_config} (use: train --config {result.suggested_config})")
    return 0


def add_audit(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="re-audit a prepared folder (train/val/test.csv)")
    p.add_argument("--data_dir", type=Path, required=True, help="folder written by prepare")
    p.add_argument("--workers", type=WORKERS, default=1, help="processes reading audio")
    p.set_defaults(run=run_audit)


def run_audit(args: argparse.Namespace) -> int:
    from .data.prepare import audit_folder

    report = audit_folder(args.data_dir, workers=args.workers)
    print(report.format_text())
    print(f"wrote {args.data_dir}/audit.json")
    return 0


def add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a classifier or detector → run dir with model.pt")
    add_config_flags(p)
    add_recipe_flag(p)
    add_section_flags(p, TRAIN_SECTIONS)
    p.add_argument("--no_report", action="store_true", help="skip writing report.html at the end")
    add_train_flags(p)
    p.set_defaults(run=run_train)


def run_train(args: argparse.Namespace) -> int:
    with train_flags(args):
        config = config_from_args(args)  # a bad config is said before Lightning loads (seconds)
        from .training.fit import train

        result = train(config, report=False if args.no_report else None)
    if result.rank != 0:  # one report from a multi-process run
        return 0
    if args.jit_save:
        print(f"wrote {write_jit(result.model_path)}")
    test = result.metrics.get("test", {})
    if test:
        print(
            f"test accuracy {test.get('accuracy', float('nan')):.4f}, mean per-class accuracy "
            f"{test.get('mean_per_class_accuracy', float('nan')):.4f} (weights of epoch "
            f"{result.metrics.get('test_epoch')} counted from 0, the best on validation; "
            f"{result.metrics.get('epochs_run')} epochs run)"
        )
    print(f"wrote {result.model_path}")
    say_next(
        result.run_dir / "report.html",
        f"animal-spot predict --model_path {result.model_path} --input_file RECORDINGS/ "
        "--output_dir PREDICTIONS/",
    )
    return 0


def say_next(report: Path | None, *commands: str) -> None:
    """Where the report is and what to run next (stderr; nothing under --quiet)."""
    if report is not None and report.is_file():
        say(f"report: {report.resolve().as_uri()}")
    for command in commands:
        say(f"next: {command}")


def add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="a run, predict or evaluate folder → one report.html")
    p.add_argument(
        "run_dir", type=Path, metavar="FOLDER", help="written by train, predict or evaluate"
    )
    p.set_defaults(run=run_report)


def run_report(args: argparse.Namespace) -> int:
    from .reporting import write_report

    path = write_report(args.run_dir)
    print(f"wrote {path}")
    print(f"open it in a browser: {path.resolve().as_uri()}")
    return 0


def add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the whole chain on a built-in synthetic example")
    p.add_argument("--out", type=Path, default=Path("demo_output"))
    p.add_argument("--quick", action="store_true", help="a shorter recording and fewer epochs")
    p.add_argument(
        "--data",
        type=Path,
        help="your own clips folder (as prepare --clips_dir takes) instead of synthetic calls",
    )
    p.add_argument("--recordings", type=Path, help="with --data: recordings to predict over")
    p.add_argument(
        "--references", type=Path, help="with --recordings: their Raven tables, to evaluate"
    )
    p.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo as demo

    if args.data is None and (args.recordings or args.references):
        raise BadConfig("--recordings and --references go with --data (your own clips)")
    if args.references is not None and args.recordings is None:
        raise BadConfig("--references needs --recordings, the recordings they annotate")
    lines = demo(
        args.out,
        quick=args.quick,
        data=args.data,
        recordings=args.recordings,
        references=args.references,
    )
    for line in lines:
        print(line, flush=True)
    return 0


def add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="predicted vs reference Raven tables → P/R/F1, thresholds")
    add_fields(
        p,
        EvaluateConfig,
        shown_defaults={"output_dir": str(EVALUATION_DIR)},
        metavars={"write_thresholds_to": "MODEL_PT"},
    )
    p.add_argument("--no_report", dest="report", action="store_false", help="= --no-report")
    legacy = p.add_argument_group("ANIMAL-SPOT evaluation: prediction logs → annotation tables")
    legacy.add_argument("--legacy", action="store_true", help="read *_predict_output.log files")
    legacy.add_argument("--prediction_dir", type=Path, help="folder of prediction logs")
    legacy.add_argument("--threshold", type=FRACTION, default=0.5, help="window score threshold")
    legacy.add_argument("--noise_in_anno", action="store_true", help="write noise rows too")
    legacy.add_argument("--config", type=Path, help="ANIMAL-SPOT evaluation config file")
    p.set_defaults(run=run_evaluate)


def run_legacy_evaluate(args: argparse.Namespace) -> int:
    from .legacy.annotations import evaluate_legacy, evaluate_legacy_config

    if args.config is not None:
        tables = evaluate_legacy_config(args.config)
    else:
        logs = args.prediction_dir or args.predictions
        if logs is None:
            raise BadConfig("--legacy needs --prediction_dir, the folder of prediction logs")
        output_dir = args.output_dir or EVALUATION_DIR
        tables = evaluate_legacy(logs, output_dir, args.threshold, args.noise_in_anno)
    folder = tables[0].parent if tables else args.output_dir or EVALUATION_DIR
    print(f"wrote {len(tables)} annotation tables into {folder}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from .evaluation import evaluate

    if args.legacy or args.config is not None:
        return run_legacy_evaluate(args)
    config = fields_from_args(EvaluateConfig, args, {"output_dir": EVALUATION_DIR})
    if config.references is None and not config.background:
        raise BadConfig("no reference tables given", fix="pass --references DIR_or_table")
    result = evaluate(config)
    print(result.format_text())
    print(f"wrote {', '.join(str(path) for path in result.files)}")
    later = []
    if config.scores is not None and config.write_thresholds_to is None:
        later.append(
            "add --write_thresholds MODEL.pt to store these thresholds for prediction "
            "(choose them on recordings you do not report figures on)"
        )
    report = None if config.output_dir is None else config.output_dir / "report.html"
    say_next(report, *later)
    return 0


def add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="model.pt → TorchScript or ONNX, front end as JSON beside")
    p.add_argument("--model_path", type=Path, help="model.pt to export")
    from .export import EXPORT_FORMATS

    p.add_argument("--format", choices=EXPORT_FORMATS.names(), default="torchscript")
    p.add_argument("--output", type=Path, help="file to write (default: beside the model)")
    p.add_argument(
        "--precision",
        choices=("32", "int8"),
        default="32",
        help="int8: quantize the CNN for the CPU, check it against fp32 on the model's test "
        "clips and store it beside the model as <model>.int8.onnx, which predict --precision "
        "int8 loads (default: 32)",
    )
    p.add_argument(
        "--int8_calibration_dir",
        type=Path,
        help="int8: prepared data folder (default: the model's)",
    )
    legacy = p.add_argument_group("convert an ANIMAL-SPOT .pk into a model.pt")
    legacy.add_argument("--from_legacy", type=Path, metavar="PK", help="ANIMAL-SPOT model file")
    legacy.add_argument(
        "--sequence_len", type=number(float, 1, 3_600_000), help="its training window in ms"
    )
    legacy.add_argument("--min_max_norm", action="store_true", help="it was trained with min-max")
    p.set_defaults(run=run_export)


def run_export(args: argparse.Namespace) -> int:
    from .export import export, frontend_path

    if args.from_legacy is not None:
        from .legacy.export import convert_legacy

        converted = convert_legacy(
            args.from_legacy,
            args.output,
            sequence_len_ms=args.sequence_len,
            min_max_norm=True if args.min_max_norm else None,
        )
        print(f"wrote {converted}")
        return 0
    if args.model_path is None:
        raise BadConfig("no model given", fix="pass --model_path model.pt or --from_legacy X.pk")
    if args.precision == "int8":
        return _export_int8(args)
    output = export(args.model_path, args.format, args.output)
    print(f"wrote {output} and {frontend_path(output)}")
    return 0


def _export_int8(args: argparse.Namespace) -> int:
    import torch

    from .bundle import load_model
    from .prediction.int8 import build_int8, int8_paths

    if args.output is not None:
        raise BadConfig(
            "--precision int8 writes <model>.int8.onnx beside the model, for predict to find",
            fix="drop --output",
        )
    bundle = load_model(args.model_path)
    _, agreement = build_int8(
        bundle, args.model_path, args.int8_calibration_dir, torch.get_num_threads()
    )
    print(f"wrote {int8_paths(args.model_path)[0]}: {agreement.summary()}")
    return 0


def add_predict(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="model.pt over recordings → window scores, Raven tables")
    add_config_flags(p)
    add_section_flags(p, ["predict"])
    p.add_argument("--no_report", action="store_true", help="skip writing report.html at the end")
    add_predict_flags(p)
    p.set_defaults(run=run_predict)


def check_device(device: str) -> None:
    """Refuse a CUDA device this machine does not have, before any model is loaded."""
    if not device.startswith("cuda"):
        return
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    index = int(device.partition(":")[2] or 0)
    if index >= count:
        raise BadConfig(
            f"--device {device}: this machine has {count} CUDA device(s)",
            fix="use --device auto or cpu",
        )


def run_predict(args: argparse.Namespace) -> int:
    from .prediction.api import predict

    config = config_from_args(args)
    check_device(config.predict.device)
    with predict_flags(args):
        result = predict(config, report=False if args.no_report else None)
    print(f"wrote {result.output_dir}")
    print(result.summary())
    out = result.output_dir
    if result.combined_table is None:  # a shard, and others have not finished
        print(
            f"the last shard to finish writes {out / 'all.selections.txt'}; "
            f"or run: animal-spot merge {out}"
        )
        return 0
    say_next(
        out / "report.html",
        f"animal-spot review {out}   (listen to the detections, mark them right or wrong)",
        f"animal-spot evaluate --predictions {out} --scores {out} --references TABLES/",
    )
    return 0


def add_merge(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("merge", help="the shards of predict --shard I/N → one combined table")
    p.add_argument("output_dir", type=Path, metavar="FOLDER", help="the shards' --output_dir")
    p.add_argument("--no_report", action="store_true", help="skip writing report.html")
    p.set_defaults(run=run_merge)


def run_merge(args: argparse.Namespace) -> int:
    from .prediction.sharded import merge

    result = merge(args.output_dir, report=False if args.no_report else None)
    print(f"wrote {result.combined_table}")
    print(
        f"{len(result.skipped)} recordings from the shards ({result.hours:.2f} h of audio), "
        f"{len(result.errors)} not scored; {result.n_events} events"
    )
    return 0


def add_mine(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("mine", help="a model's false positives on target-free audio → train.csv")
    p.add_argument("--model_path", type=Path, required=True, help="the current model.pt")
    p.add_argument(
        "--input_file", type=Path, nargs="+", required=True, help="target-free recordings/folders"
    )
    p.add_argument("--data_dir", type=Path, required=True, help="folder written by prepare")
    p.add_argument("--references", type=Path, help="Raven table or folder: mine away from them")
    p.add_argument("--margin_s", type=SECONDS, default=1.0, help="kept from references (1.0)")
    p.add_argument("--threshold", type=FRACTION, help="score threshold (default: the model's)")
    p.add_argument(
        "--hop", type=POSITIVE_SECONDS, help="window hop in seconds (default: the model's)"
    )
    p.add_argument(
        "--max_per_recording", type=number(int, 1, 1_000_000), default=20, help="per file (20)"
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.set_defaults(run=run_mine)


def run_mine(args: argparse.Namespace) -> int:
    from .data.mining import mine

    check_device(args.device)
    result = mine(
        args.model_path,
        args.input_file,
        args.data_dir,
        references=args.references,
        margin_s=args.margin_s,
        threshold=args.threshold,
        hop_s=args.hop,
        max_per_recording=args.max_per_recording,
        device=args.device,
        progress=True,
    )
    print(result.summary())
    return 0


def add_review(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("review", help="a local web page to mark detections correct or wrong")
    p.add_argument("predictions_dir", type=Path, help="the output folder of predict")
    p.add_argument("--audio_dir", type=Path, help="the recordings (default: prediction.json's)")
    p.add_argument("--out", type=Path, help="verdict tables (default: PREDICTIONS_DIR/reviewed)")
    p.add_argument("--padding_s", type=SECONDS, default=1.0, help="audio around each detection")
    p.add_argument("--fmin_hz", type=number(float, 0, 1e7), default=0.0, help="spectrogram floor")
    p.add_argument(
        "--fmax_hz", type=number(float, 0, 1e7, is_low_open=True), help="top (default: Nyquist)"
    )
    p.add_argument("--port", type=number(int, 0, 65535), default=8765, help="0: any free port")
    p.add_argument("--no_browser", action="store_true", help="(the default) print the address")
    p.set_defaults(run=run_review)


def run_review(args: argparse.Namespace) -> int:
    from .review import open_review, serve

    review = open_review(
        args.predictions_dir,
        audio_dir=args.audio_dir,
        out_dir=args.out,
        padding_s=args.padding_s,
        fmin_hz=args.fmin_hz,
        fmax_hz=args.fmax_hz,
    )

    def ready(url: str) -> None:
        print(f"review at {url} (on this machine only; Ctrl-C stops)", flush=True)
        print(review.format_text(), flush=True)

    serve(review, args.port, on_ready=ready)
    print(f"stopped; {review.n_reviewed} verdicts in {review.out_dir}")
    return 0


VERBS = (
    add_prepare,
    add_audit,
    add_train,
    add_report,
    add_demo,
    add_evaluate,
    add_export,
    add_predict,
    add_merge,
    add_mine,
    add_review,
    add_tune,
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="animal-spot",
        description="Train detectors and classifiers of animal sounds; run them over recordings.",
    )
    parser.add_argument("--version", action="version", version=f"animal-spot {__version__}")
    parser.add_argument("--log_level", default="WARNING", help="DEBUG, INFO, WARNING or ERROR")
    parser.add_argument("--quiet", action="store_true", help=QUIET_HELP)
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for add in VERBS:
        add(sub)
    for verb_parser in sub.choices.values():  # `animal-spot train --quiet` works as well
        verb_parser.formatter_class = DefaultsFormatter
        verb_parser.add_argument(
            "--quiet", action="store_true", default=argparse.SUPPRESS, help=QUIET_HELP
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from . import legacy  # noqa: F401  every verb reads ANIMAL-SPOT's files too (its readers)

    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    set_quiet(args.quiet)
    try:
        return int(args.run(args))
    except AnimalSpotError as err:
        print(f"animal-spot {args.verb}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"animal-spot {args.verb}: interrupted", file=sys.stderr)
        return 130
    except OSError as err:  # the last line of defence: a full disk, a read-only folder
        print(f"animal-spot {args.verb}: {os_error_text(err)}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"animal-spot {args.verb}: out of memory", file=sys.stderr)
        return 1


def os_error_text(err: OSError) -> str:
    """``PATH: strerror`` of a failed system call, on one line."""
    reason = err.strerror or str(err) or type(err).__name__
    if err.filename is None:
        return reason
    return f"{err.filename}: {reason}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
