"""`automl report`: the dashboard's figures as one self-contained HTML file.

Plotly's script is embedded once, so the file opens offline, mailed or archived with a model.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
import plotly.io as pio
from plotly.offline import get_plotlyjs

from automl.dashboard import data as d
from automl.dashboard import figures as f
from automl.dashboard import model_data as m
from automl.dashboard import model_figures as mf
from automl.errors import ConfigError

TOP_ROWS = 50  # leaderboard rows in the report
CURVES = 5  # learning curves of the top trials


def report_html(study: d.StudyData) -> str:
    board = d.ranked(study)
    best = d.best_trial(study)
    top = [int(t) for t in board.loc[board["status"] == "complete", "trial"].head(CURVES)]
    figures = [
        f.best_so_far_figure(study),
        f.family_figure(study),
        f.pareto_figure(study, "n_params"),
    ]
    if study.trials["latency_ms"].notna().any():
        figures.append(f.pareto_figure(study, "latency_ms"))
    figures.append(f.curves_figure(study, top))
    sections = []
    if best is not None:
        sections.append(
            (f"Architecture of the best trial ({best})", [f.architecture_figure(study, best)],
             _table(f.architecture_table(study, best)))
        )  # fmt: skip
    for family in study.task.get("families", []):
        if (study.trials["family"] == family).any():
            sections.append(
                (f"Parameters of {family}",
                 [f.parallel_figure(study, family), f.importance_figure(study, family)], "")
            )  # fmt: skip
    if study.unlabelled:
        sections.append(("Learned codes", [f.codes_figure(study)], ""))
    forecast = m.forecast(study)
    if forecast is not None:
        sections.append(("The model's forecasts", [mf.forecast_figure(forecast)], ""))
    predictions = m.predictions(study)
    if predictions is not None:
        sections.append(
            ("The model on the validation split", list(mf.model_figures(predictions).values()),
             _gallery(predictions))
        )  # fmt: skip

    def embed(fig) -> str:
        return pio.to_html(fig, full_html=False, include_plotlyjs=False, default_width="100%")

    task = study.task
    counts = study.trials["status"].value_counts().to_dict()
    shown = board.head(TOP_ROWS).drop(columns=["value", "started_s", "ended_s"])
    shown["params"] = shown["params"].map(d.describe_params)
    parts = [
        f"<script>{get_plotlyjs()}</script>",  # once, for every figure: the file needs no network
        f"<h1>automl study {html.escape(study.name)}</h1>",
        f"<p><b>Task:</b> {html.escape(str(task.get('row', '?')))} "
        f"({html.escape(str(task.get('modality', '?')))}) &rarr; families "
        f"{html.escape(', '.join(task.get('families', [])))}<br>"
        f"<b>Why:</b> {html.escape(str(task.get('reason', '')))}<br>"
        f"<b>Trials:</b> <span id='trial-count'>{len(study.trials)}</span> "
        f"({html.escape(', '.join(f'{n} {s}' for s, n in counts.items()))})</p>",
        *(embed(fig) for fig in figures),
        f"<h2>Leaderboard (top {min(TOP_ROWS, len(board))} of {len(board)})</h2>",
        _table(shown),
    ]
    for title, figs, extra in sections:
        parts += [f"<h2>{html.escape(title)}</h2>", *(embed(fig) for fig in figs), extra]
    body = "\n".join(parts)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>automl report: {html.escape(study.name)}</title>"
        "<style>body{font-family:sans-serif;margin:0 24px}table{border-collapse:collapse;"
        "font-size:13px}td,th{border:1px solid #ddd;padding:2px 8px;text-align:left}</style>"
        f"</head><body>{body}</body></html>"
    )


def _gallery(frame: pd.DataFrame) -> str:
    """The gallery's first page as plain HTML: pictures inline, so the file stays offline."""
    rows, total = m.gallery(frame)
    tiles = []
    for row in rows.to_dict("records"):
        picture = m.preview_image(row.get("preview"), row.get("preview_kind", ""))
        shown = (
            f"<img class='sample-image' src='{html.escape(picture, quote=True)}'>"
            if picture
            else f"<div>{html.escape(str(row.get('preview', ''))[:200])}</div>"
        )
        label = " ".join(
            f"{k} {row[k]:.3g}" if isinstance(row[k], float) else f"{k} {row[k]}"
            for k in ("sample", "target", "prediction", "confidence", "score")
            if k in row
        )
        tiles.append(
            f"<div style='display:inline-block;width:150px;margin:4px;font-size:11px'>{shown}"
            f"<div>{html.escape(label)}</div></div>"
        )
    return f"<h3>Samples ({len(rows)} of {total:,})</h3>" + "".join(tiles)


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, escape=True, na_rep="", float_format=lambda v: f"{v:.4g}")


def write_report(study_dir: Path, output: Path) -> Path:
    output = Path(output)
    text = report_html(d.load_study(study_dir))
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"Cannot write the report to {output} ({exc.strerror}); choose another -o."
        ) from None
    return output
