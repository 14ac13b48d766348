"""The `automl` command: fit, detect, predict, export, studies, dashboard, report.

Every AutoMLError becomes one line on stderr and exit code 2; nothing prints a traceback for
bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from automl.errors import AutoMLError, ConfigError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
LEADERBOARD_ROWS = 10


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    from automl.data.series import LAYOUTS
    from automl.task import TASK_CHOICES

    parser.add_argument(
        "data",
        help="a table (CSV/TSV/Parquet/JSON lines), a series file (.ts/.npy/.npz), or a folder "
        "of images, .txt or .wav files (one sub-folder per class; none if unlabelled)",
    )
    parser.add_argument(
        "--target",
        help="the table's label column, or the column to forecast "
        "(default: one named target/label/class/y; none: unlabelled)",
    )
    parser.add_argument(
        "--horizon", type=int, help="forecast this many steps of a dated series (a table)"
    )
    _add_reading_options(parser)
    images = parser.add_argument_group("reading a folder of images")
    images.add_argument(
        "--image-size",
        type=int,
        help="bring every image to this many pixels square and search no other resolution "
        "(default: small images keep their size; photos get a working side of 64-256 px, by "
        "budget and hardware, and the network searches 32 px and up below it)",
    )
    images.add_argument(
        "--image-fit",
        default="search",
        choices=["search", "crop", "pad"],
        help="how a photo that is not square becomes square: its centre cropped, padded, or "
        "(default) search both",
    )
    parser.add_argument(
        "--layout",
        default="auto",
        choices=LAYOUTS,
        help="axes of a 3-D series array: n,time,features or n,features,time "
        "(auto: the longer axis is time)",
    )
    parser.add_argument(
        "--task", default="auto", choices=TASK_CHOICES, help="override the detected task"
    )
    parser.add_argument("--families", help="comma-separated families to search, e.g. mlp,cnn")
    parser.add_argument(
        "--code-size",
        type=int,
        help="unlabelled data: the width of the learnt codes (autoencoder code, RBM hidden "
        "units); default: searched",
    )


def _add_reading_options(parser: argparse.ArgumentParser) -> None:
    """How a table file is read; detected when left out (see automl.data.table_files)."""
    from automl.data.table_files import DATE_ORDERS

    table = parser.add_argument_group("reading a table file (detected unless given)")
    table.add_argument(
        "--encoding",
        help="the file's text encoding, e.g. utf-8, cp1252, latin-1 "
        "(default: UTF-8, else Windows-1252)",
    )
    table.add_argument(
        "--sep", help="the field separator: , ; | or tab (default: sniffed from the first lines)"
    )
    table.add_argument(
        "--decimal",
        choices=[".", ","],
        help="the decimal mark of numbers (default: decided per column, 3,5 or 3.5)",
    )
    table.add_argument("--sheet", help="an Excel workbook's sheet (default: the first)")
    table.add_argument(
        "--date-order",
        choices=DATE_ORDERS,
        help="dates whose day and month could be either, like 03/04/2021: dmy or mdy "
        "(default: day first in a ';' file, else month first)",
    )


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line, like every other error."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="automl",
        description="Search deep network architectures for your data (Ray Tune + Optuna).",
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )

    fit = sub.add_parser("fit", help="search architectures and export the best model")
    _add_data_options(fit)
    fit.add_argument(
        "--budget",
        help="time for the whole command: 90s, 30m, 4h, 1h30m (default 10m); with --resume, "
        "the study's new total (default: as first given)",
    )
    fit.add_argument("--study", help="study name (default: the data's name, made unique)")
    fit.add_argument("--studies-dir", default="studies", help="where studies are stored")
    fit.add_argument(
        "--resume",
        action="store_true",
        help="continue the --study named, after it was killed or stopped: its trials are kept, "
        "interrupted ones re-run, and what is left of its budget is spent",
    )
    fit.add_argument("--seed", type=int, default=0, help="random seed of the search")
    fit.add_argument(
        "--max-epochs",
        type=int,
        help="epochs of a full trial (default: 30 up to a 30-minute budget, then 30 x "
        "sqrt(budget / 30 min), at most 120: 84 for 4h)",
    )
    fit.add_argument(
        "--max-trials", type=int, help="trials in the whole study (default: until the budget)"
    )
    fit.add_argument(
        "--concurrent-trials",
        type=int,
        help="trials run at once (default: as many as the CPUs or GPU shares allow; 1 makes "
        "a search with --seed repeat itself exactly)",
    )
    fit.add_argument(
        "--trial-timeout",
        help="stop a trial running longer than this, e.g. 5m (default: a quarter of the "
        "search, at least 1m)",
    )
    fit.add_argument(
        "--gpus-per-trial",
        type=float,
        help="GPUs per trial; a fraction lets trials share one, e.g. 0.25 (default: from the "
        "model size, when the cluster has GPUs)",
    )
    fit.add_argument(
        "--address",
        help="a running Ray cluster: auto, host:port or ray://host:port (default: $RAY_ADDRESS, "
        "else a local Ray for this command)",
    )
    fit.add_argument(
        "--selection",
        choices=("auto", "cv", "holdout"),
        default="auto",
        help="how trials are scored: k-fold cross-validation, one validation split, or auto "
        "(cross-validation up to 2 000 labelled rows; the default)",
    )
    fit.add_argument("--quiet", action="store_true", help="print only the result")
    fit.add_argument(
        "--quantiles",
        help="forecasting: the quantile levels predicted, e.g. 0.05,0.5,0.95 (default "
        "0.1,0.5,0.9: the median and an 80 %% interval; the median is always added)",
    )

    detect = sub.add_parser(
        "detect", help="say what the data is and which families will be searched"
    )
    _add_data_options(detect)
    detect.add_argument("--json", action="store_true", help="print the TaskInfo as JSON")

    predict = sub.add_parser("predict", help="predict with an exported model")
    predict.add_argument(
        "model",
        help="a bundle directory, a study directory or name, or an exported .onnx/.pt2 file",
    )
    predict.add_argument(
        "data", help="new data in the training data's form (a file or a folder of files)"
    )
    predict.add_argument("-o", "--output", required=True, help="CSV file to write")
    predict.add_argument(
        "--proba", action="store_true", help="add one probability column per class"
    )
    predict.add_argument(
        "--scores",
        action="store_true",
        help="models of unlabelled data: per-sample anomaly scores (reconstruction error; the "
        "default output of such a model)",
    )
    predict.add_argument(
        "--codes", action="store_true", help="models of unlabelled data: add the learnt codes"
    )
    predict.add_argument(
        "--nodes",
        action="store_true",
        help="parse trees: one row per phrase (every node of each tree), labelled by the RNTN",
    )
    predict.add_argument(
        "--runtime",
        choices=["torch", "onnx", "pt2"],
        help="run the bundle's PyTorch network (default for a directory) or its exported graph",
    )
    predict.add_argument("--studies-dir", default="studies", help="where study names are looked up")
    _add_reading_options(predict)  # defaults: as the training file was read

    export = sub.add_parser(
        "export", help="write a study's model as a bundle, an ONNX graph or a torch.export program"
    )
    export.add_argument("study", help="a study name or directory, or a bundle directory")
    export.add_argument(
        "--format",
        default="bundle",
        choices=["bundle", "onnx", "pt2"],
        help="bundle: weights + JSON (default); onnx / pt2: the network as a graph, checked "
        "against it on sample inputs",
    )
    export.add_argument(
        "-o",
        "--output",
        required=True,
        help="a directory (a bundle; onnx and pt2 add model.onnx / model.pt2 to it), or a "
        ".onnx / .pt2 file (its JSON is written beside it)",
    )
    export.add_argument("--studies-dir", default="studies", help="where study names are looked up")

    studies = sub.add_parser("studies", help="list stored searches")
    studies.add_argument("studies_dir", nargs="?", default="studies")

    board = sub.add_parser("dashboard", help="watch searches in the browser (live, read-only)")
    board.add_argument("studies_dir", nargs="?", default="studies")
    board.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: this machine only; 0.0.0.0 shares it with "
        "your network, unauthenticated)",
    )
    board.add_argument("--port", type=_port, default=8050)

    report = sub.add_parser("report", help="write a study's figures to one offline HTML file")
    report.add_argument("study", help="a study name (in --studies-dir) or a study directory")
    report.add_argument("-o", "--output", required=True, help="the HTML file to write")
    report.add_argument("--studies-dir", default="studies", help="where study names are looked up")
    return parser


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a number from 1 to 65535; got {text!r}")
    return int(text)


def _load(args: argparse.Namespace):
    """The data, read as the options say; a resume reads it as the study first did (its
    table reading options, its images' side and fit) unless they are given again."""
    from automl.data import ReadOptions, load_path

    recorded = _recorded_source(args) if getattr(args, "resume", False) else {}
    reading = ReadOptions.parse(vars(args))
    if reading == ReadOptions() and recorded.get("reading") is not None:
        reading = ReadOptions().for_prediction(recorded["reading"])
    return load_path(
        args.data,
        target=args.target,
        horizon=args.horizon,
        layout=args.layout,
        reading=reading,
        images=_image_reading(args, recorded.get("image")),
    )


def _recorded_source(args: argparse.Namespace) -> dict:
    """How the resumed study read its data (config.json's data source); {} when there is no
    such study (the resume itself says so)."""
    from automl.study import read_config

    try:
        return read_config(Path(args.studies_dir) / str(args.study))["data"]["source"]
    except (OSError, ValueError, KeyError):
        return {}


def _image_reading(args: argparse.Namespace, recorded: dict | None):
    """How a folder of images is read: the user's side, or the resumed study's (`recorded`),
    else a cap from the budget and the hardware; decoded folders are cached beside the
    studies."""
    import torch

    from automl.budget import parse_budget
    from automl.data.images import CACHE_DIR, ImageReading, side_cap
    from automl.options import DEFAULT_BUDGET_S

    side, fit = args.image_size, args.image_fit
    if side is None and recorded is not None and recorded["fit"] != "stretch":
        side = int(recorded["size"][0])
        fit = "search" if "content" in recorded else recorded["fit"]
    budget = getattr(args, "budget", None)
    studies = getattr(args, "studies_dir", None)
    return ImageReading(
        side=side,
        fit=fit,
        max_side=side_cap(
            parse_budget(budget) if budget else DEFAULT_BUDGET_S, torch.cuda.is_available()
        ),
        cache_dir=Path(studies) / CACHE_DIR if studies else None,
    )


def cmd_fit(args: argparse.Namespace) -> int:
    started = time.monotonic()  # the budget covers the whole command, loading included
    from automl.budget import format_seconds
    from automl.options import FitOptions

    options = FitOptions.parse({**vars(args), "verbose": not args.quiet})
    from automl.pipeline import fit_dataset
    from automl.seasonality import line_to_beat
    from automl.study import BEST_DIR, leaderboard

    dataset = _load(args)
    result = fit_dataset(dataset, options, started)
    _print_leaderboard(leaderboard(result.study_dir))
    line = line_to_beat(result.task.forecast)
    if line is not None:
        print(
            f"the line to beat: {line[0]}, {result.task.metric} {line[1]:.4f} on the same "
            "validation origins"
        )
    best_dir = result.study_dir / BEST_DIR
    best = result.members[0]
    parts = [f"{m.trial} ({100 * m.weight:.0f} %)" for m in result.members]
    exported = f"trials {', '.join(parts)}" if len(parts) > 1 else f"trial {best.trial}"
    scored = "validation"
    if best.networks > 1:
        exported += f", each as its {best.networks} fold networks"
        scored = "out-of-fold"
    print(
        f"\nbest: trial {best.trial} ({best.family}); exported {exported}, {scored} "
        f"{result.task.metric} {result.validation_score:.4f}; {result.search['trials']} trials; "
        f"budget used {format_seconds(time.monotonic() - started)} of "
        f"{format_seconds(result.budget_s)}"
    )
    backtests = result.predictor.config.get("backtests")
    if backtests:
        print(
            f"backtests: MASE {backtests['mase']:.4f}, sMAPE {backtests['smape']:.2f} %, "
            f"{100 * backtests['interval']:.0f} % interval covering "
            f"{100 * backtests['coverage']:.0f} % of the validation values it was not "
            "calibrated on"
        )
    if result.model.test_score is not None:
        print(
            f"test: {result.task.metric} {result.model.test_score:.4f} on the "
            f"{result.model.n_test} rows of the given test split"
        )
    elif result.model.n_test:
        print(
            f"test: not scored: predicting the {result.model.n_test} rows of the given test "
            f"split did not fit in the budget; `automl predict {best_dir} TEST_DATA` predicts "
            "them"
        )
    memory = result.search["peak_memory"]
    worker = memory.get("trial_worker_mb")
    print(
        f"peak memory: {memory['this_process_mb'] / 1024:.2f} GB in this process"
        + (f", {worker / 1024:.2f} GB in the largest trial worker" if worker else "")
    )
    print(f"model: {best_dir}")
    print(f"predict: automl predict {best_dir} NEW_DATA -o predictions.csv")
    study = result.study_dir
    print(
        f"explore: automl dashboard {study.parent}  (http://127.0.0.1:8050/study/{study.name}), "
        f"or automl report {study} -o report.html"
    )
    return 0


def _print_leaderboard(board) -> None:
    import pandas as pd

    shown = board.drop(columns=["params"]).head(LEADERBOARD_ROWS)
    with pd.option_context("display.width", 140, "display.max_colwidth", 48):
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def cmd_detect(args: argparse.Namespace) -> int:
    from automl.options import FitOptions
    from automl.search_spaces import get_family
    from automl.task import DECISION_TABLE, detect_task

    options = FitOptions.parse(vars(args))
    dataset = _load(args)
    info = detect_task(dataset, options.task, options.families, options.code_size)
    if args.json:
        report = {
            **info.to_dict(),
            "labelled": dataset.y is not None,
            "row_title": DECISION_TABLE[info.row].title,
            "evidence": dataset.evidence,
            "reading": dataset.source.get("reading"),
            "notes": dataset.notes,
        }
        print(json.dumps(report, indent=2, default=str))
        return 0
    rows = [
        ("data", dataset.evidence),
        *_reading_row(dataset.source.get("reading")),
        ("modality", info.modality),
        (
            "labelled",
            "by its own future values"
            if info.horizon
            else ("yes" if dataset.y is not None else "no"),
        ),
        ("shape", " x ".join(str(d) for d in info.data_shape)),
        (
            "target",
            f"{info.target_kind}"
            + (f", {info.n_classes} classes" if info.n_classes else "")
            + (f", {info.horizon} step(s) ahead" if info.horizon else ""),
        ),
        ("row", f"{info.row} ({DECISION_TABLE[info.row].title})"),
        ("families", "; ".join(f"{f}: {get_family(f).summary}" for f in info.families)),
        ("reason", info.reason),
    ]
    if info.class_counts:
        counts = sorted(info.class_counts.items(), key=lambda kv: -kv[1])
        shown = ", ".join(f"{k}: {v}" for k, v in counts[:10])
        rows.insert(5, ("classes", shown + (" ..." if len(counts) > 10 else "")))
    if info.unavailable_families:
        rows.append(("not yet available", ", ".join(info.unavailable_families)))
    rows += [("note", note) for note in dataset.notes]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0


def _reading_row(record: dict | None) -> list[tuple[str, str]]:
    """How a table file was read (encoding, separator, converted columns), when it was one."""
    from automl.data import TableReading

    return [] if record is None else [("read", TableReading.from_record(record).describe())]


def _model_path(name: str, studies_dir: str) -> Path:
    from automl.study import resolve_study_dir

    path = Path(name)
    return path if path.exists() else resolve_study_dir(name, Path(studies_dir))


def cmd_predict(args: argparse.Namespace) -> int:
    from automl.bundle import load
    from automl.data import ReadOptions

    reading = ReadOptions.parse(vars(args))
    predictor = load(_model_path(args.model, args.studies_dir), runtime=args.runtime)
    frame = predictor.predict_path(
        args.data,
        proba=args.proba,
        scores=args.scores,
        codes=args.codes,
        reading=reading,
        nodes=args.nodes,
    )
    output = Path(args.output)
    if output.is_dir():
        raise AutoMLError(f"-o must name a CSV file; '{output}' is a directory.")
    output.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(output, index=False)
    print(f"wrote {len(frame)} predictions to {output}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from automl.bundle import graph_config_file
    from automl.export import export_model

    written = export_model(_model_path(args.study, args.studies_dir), args.output, args.format)
    if args.format == "bundle":
        print(f"wrote the bundle {written}; load it with automl.load('{written}')")
        return 0
    config = graph_config_file(written)
    checked = json.loads(config.read_text())["exports"][args.format]["checked"]
    print(
        f"wrote {written} ({written.stat().st_size / 1e6:.2f} MB) and {config}; checked on "
        f"sample inputs: max difference {checked['max_scaled_diff']:.1e} from the PyTorch "
        f"network (relative past 1; tolerance {checked['tolerance']:g})"
    )
    return 0


def cmd_studies(args: argparse.Namespace) -> int:
    import pandas as pd

    from automl.study import leaderboard, list_study_names, read_config

    base = Path(args.studies_dir)
    names = list_study_names(base)
    if not names:
        print(f"no studies in {base}/")
        return 0
    print(
        f"{'study':<28} {'row':<18} {'trials':>6} {'best':>8} {'± folds':>8} {'scored by':<10} created"
    )
    for name in names:
        config = read_config(base / name)
        try:
            board = leaderboard(base / name)
        except (KeyError, ValueError) as exc:  # a study.db without its study (interrupted early)
            print(f"{name:<28} unreadable study: {exc}")
            continue
        complete = board[board["status"] == "complete"]
        top = complete.loc[complete["score"].idxmax()] if len(complete) else None
        best = "-" if top is None else f"{top['score']:.4f}"
        spread = "-" if top is None or pd.isna(top["spread"]) else f"{top['spread']:.4f}"
        selection = config.get("selection", {})
        scheme = f"{selection['folds']}-fold CV" if selection.get("scheme") == "cv" else "holdout"
        row = config.get("task", {}).get("row", "?")
        print(
            f"{name:<28} {row:<18} {len(board):>6} {best:>8} {spread:>8} {scheme:<10} "
            f"{config.get('created', '')}"
        )
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    import socket

    from automl.dashboard.app import serve

    base = Path(args.studies_dir)
    if base.exists() and not base.is_dir():
        raise ConfigError(
            f"{base} is a file, not a studies directory; give the folder 'automl fit' writes studies to."
        )
    try:  # a clear error before Flask's own on a taken port
        with socket.create_server((args.host, args.port)):
            pass
    except OSError as exc:
        raise ConfigError(
            f"Cannot listen on {args.host}:{args.port} ({exc.strerror or exc}); choose another "
            "--port, or a --host address of this machine."
        ) from None
    note = "" if base.is_dir() else " (none yet: they appear as searches start)"
    print(
        f"automl dashboard: http://{args.host}:{args.port}/  studies in {base}/{note}; Ctrl-C stops it"
    )
    serve(base, args.host, args.port)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from automl.dashboard.report import write_report
    from automl.study import resolve_study_dir

    study_dir = resolve_study_dir(args.study, Path(args.studies_dir))
    output = write_report(study_dir, Path(args.output))
    print(f"wrote {output} ({output.stat().st_size / 1e6:.1f} MB, opens offline)")
    return 0


COMMANDS = {
    "fit": cmd_fit,
    "detect": cmd_detect,
    "predict": cmd_predict,
    "export": cmd_export,
    "studies": cmd_studies,
    "dashboard": cmd_dashboard,
    "report": cmd_report,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except AutoMLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted; everything recorded so far is kept in the study", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
