"""The study page's model section: where the exported model is right and wrong.

Figures by kind of model (classification, regression, unlabelled), the per-class report, and a
gallery of the samples themselves (pictures, texts, series drawn as lines, table rows), paged
on the server. A click on a confusion-matrix cell shows that cell's samples.
"""

from __future__ import annotations

import json

import dash
import pandas as pd
from dash import Dash, Input, Output, State, dash_table, dcc, html

from automl.dashboard import data as d
from automl.dashboard import model_data as m
from automl.dashboard import model_figures as mf

_TILE = {
    "display": "inline-block",
    "verticalAlign": "top",
    "width": "150px",
    "margin": "4px",
    "padding": "4px",
    "border": "1px solid #eee",
    "fontSize": "11px",
    "overflow": "hidden",
}


def model_section(study: d.StudyData, graph_style: dict) -> html.Div:
    """The section as first drawn: the validation split, the mistakes gallery."""
    forecast = m.forecast(study)
    if forecast is not None:
        errors = m.backtest_errors(forecast["backtests"])
        ahead = ", ".join(f"{int(r.ahead)}: {r.mae:.4g}" for r in errors.itertuples())
        return html.Div(
            [
                html.Div(
                    f"Mean absolute error of the validation windows' forecasts, by steps ahead: {ahead}",
                    id="model-summary",
                ),
                dcc.Graph(
                    id="fig-forecast", figure=mf.forecast_figure(forecast), style=graph_style
                ),
            ],
            id="model-section",
        )
    splits = m.splits(study)
    if not splits:
        return html.Div(
            html.P(
                "No predictions recorded for this study (a search still running, or a study "
                "made before automl 0.3).",
                style={"color": "#666"},
            ),
            id="model-section",
        )
    frame = m.predictions(study, splits[0])
    figures = mf.model_figures(frame)
    tiles, caption = gallery_page(frame, None, 0)
    return html.Div(
        [
            dcc.Store(id="gallery-state", data={"cell": None, "page": 0}),
            dcc.RadioItems(
                id="model-split",
                options=[{"label": f" {_SPLIT_NAMES[s]}", "value": s} for s in splits],
                value=splits[0],
                inline=True,
            ),
            html.Div(_headline(frame), id="model-summary"),
            html.Div(
                [
                    dcc.Graph(id=key, figure=fig, style={**graph_style, "flex": "1 1 420px"})
                    for key, fig in figures.items()
                ],
                id="model-figures",
                style={"display": "flex", "flexWrap": "wrap", "gap": "8px"},
            ),
            _class_table(frame),
            html.H4(caption, id="gallery-caption"),
            html.Div(
                [
                    html.Button(
                        "show the mistakes" if "confidence" in frame else "first page",
                        id="gallery-reset",
                    ),
                    html.Button("previous", id="gallery-previous"),
                    html.Button("next", id="gallery-next"),
                ],
                style={"display": "flex", "gap": "6px"},
            ),
            html.Div(tiles, id="gallery"),
        ],
        id="model-section",
    )


_SPLIT_NAMES = {"val": "validation (held out)", "test": "test (the given split)"}


def register(app: Dash, load) -> None:
    """The section's callbacks; `load(pathname)` gives the page's study."""

    @app.callback(
        Output("model-summary", "children"),
        Output("model-figures", "children"),
        Input("model-split", "value"),
        State("url", "pathname"),
        prevent_initial_call=True,
    )
    def split_view(split, pathname):
        frame = m.predictions(load(pathname), split)
        if frame is None:
            raise dash.exceptions.PreventUpdate
        graphs = [
            dcc.Graph(id=key, figure=fig, style={"height": "420px", "flex": "1 1 420px"})
            for key, fig in mf.model_figures(frame).items()
        ]
        return _headline(frame), graphs

    @app.callback(
        Output("gallery", "children"),
        Output("gallery-caption", "children"),
        Output("gallery-state", "data"),
        Input("fig-confusion", "clickData"),
        Input("gallery-previous", "n_clicks"),
        Input("gallery-next", "n_clicks"),
        Input("gallery-reset", "n_clicks"),
        Input("model-split", "value"),
        State("gallery-state", "data"),
        State("url", "pathname"),
        prevent_initial_call=True,
    )
    def gallery(click, _previous, _next, _reset, split, state, pathname):
        state = dict(state or {"cell": None, "page": 0})
        trigger = dash.ctx.triggered_id
        if trigger == "fig-confusion":
            # a heatmap's click carries the cell's axes values: x predicted, y true
            points = (click or {}).get("points", [])
            cell = [str(points[0]["y"]), str(points[0]["x"])] if points else None
            state = {"cell": cell, "page": 0}
        elif trigger in ("gallery-reset", "model-split"):
            state = {"cell": None, "page": 0}
        elif trigger == "gallery-next":
            state["page"] += 1
        elif trigger == "gallery-previous":
            state["page"] = max(0, state["page"] - 1)
        frame = m.predictions(load(pathname), split)
        if frame is None:
            raise dash.exceptions.PreventUpdate
        tiles, caption = gallery_page(frame, state["cell"], state["page"])
        return tiles, caption, state


def gallery_page(frame: pd.DataFrame, cell: list | None, page: int) -> tuple[list, str]:
    """(tiles, caption) of one page of the gallery."""
    target, prediction = (cell or [None, None])[:2]
    rows, total = m.gallery(frame, target, prediction, page)
    pages = max(1, -(-total // m.GALLERY_PAGE))
    page = min(page, pages - 1)
    if "confidence" in frame:
        what = (
            f"true {target}, predicted {prediction}"
            if cell
            else "the mistakes, most confidently wrong first"
        )
    elif "error" in frame:
        what = "the largest errors first"
    else:
        what = "the most anomalous samples first, beside their reconstructions"
    caption = f"Samples: {what} ({total:,}; page {page + 1} of {pages})"
    return [_tile(row) for row in rows.itertuples(index=False)], caption


def _tile(row) -> html.Div:
    values = row._asdict()
    picture = m.preview_image(values.get("preview"))
    if picture is not None:
        content = [html.Img(src=picture, className="sample-image", style={"maxWidth": "140px"})]
        rebuilt = m.preview_image(values.get("reconstruction"))
        if rebuilt is not None:
            content.append(
                html.Img(
                    src=rebuilt, className="sample-reconstruction", style={"maxWidth": "140px"}
                )
            )
    elif str(values.get("preview", "")).startswith("{"):
        fields = json.loads(values["preview"])
        content = [html.Div(f"{k}: {v}") for k, v in list(fields.items())[:8]]
    else:
        content = [html.Div(str(values.get("preview", "")), style={"whiteSpace": "normal"})]
    return html.Div(
        [*content, html.Div(_label(values), className="sample-label", style={"color": "#444"})],
        className="sample",
        title=str(values.get("sample", "")),
        style=_TILE,
    )


def _label(values: dict) -> str:
    if "confidence" in values:
        return (
            f"{values['sample']}: true {values['target']}, predicted {values['prediction']} "
            f"({values['confidence']:.0%})"
        )
    if "error" in values:
        return (
            f"{values['sample']}: true {values['target']:.4g}, predicted {values['prediction']:.4g}"
        )
    return f"{values['sample']}: score {values['score']:.4g}"


def _headline(frame: pd.DataFrame) -> str:
    numbers = m.summary(frame)
    parts = [f"{numbers['samples']:,} samples"]
    parts += [
        f"{name.replace('_', ' ')} {value:.4f}"
        for name, value in numbers.items()
        if name != "samples"
    ]
    return " · ".join(parts)


def _class_table(frame: pd.DataFrame) -> html.Div:
    if "confidence" not in frame:
        return html.Div(id="class-report")
    report = m.class_report(frame).round(4)
    return html.Div(
        dash_table.DataTable(
            data=report.to_dict("records"),
            columns=[{"name": c, "id": c} for c in report.columns],
            sort_action="native",
            page_size=20,
            style_cell={"textAlign": "left", "padding": "2px 8px"},
        ),
        id="class-report",
        style={"maxWidth": "640px"},
    )
