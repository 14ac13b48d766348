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
    """The section as first drawn: the validation split, the mistakes gallery. It is drawn
    again when the study changes (the finish writes the predictions at a live search's end)."""
    return html.Div(section_children(study, graph_style), id="model-section")


def section_children(study: d.StudyData, graph_style: dict) -> list:
    forecast = m.forecast(study)
    if forecast is not None:
        errors = m.backtest_errors(forecast["backtests"])
        ahead = ", ".join(f"{int(r.ahead)}: {r.mae:.4g}" for r in errors.itertuples())
        return [
            html.Div(
                "Mean absolute error of the validation windows' forecasts, by steps ahead: "
                + ahead,
                id="model-summary",
            ),
            dcc.Graph(id="fig-forecast", figure=mf.forecast_figure(forecast), style=graph_style),
        ]
    splits = m.splits(study)
    if not splits:
        return [
            html.P(
                "No predictions recorded for this study yet: the finish records them at the end "
                "of a search (a study made before they were has none).",
                style={"color": "#666"},
            )
        ]
    frame = m.predictions(study, splits[0])
    tiles, caption, _ = gallery_page(frame, None, 0)
    orders = _ORDER_NAMES[_kind(frame)]
    return [
        dcc.Store(id="gallery-state", data={"cell": None, "page": 0}),
        dcc.RadioItems(
            id="model-split",
            options=[{"label": f" {_split_name(study, s)}", "value": s} for s in splits],
            value=splits[0],
            inline=True,
        ),
        html.Div(_headline(frame), id="model-summary"),
        html.Div(
            _graphs(frame, graph_style),
            id="model-figures",
            style={"display": "flex", "flexWrap": "wrap", "gap": "8px"},
        ),
        html.Div(_class_table(frame), id="class-report", style={"maxWidth": "640px"}),
        html.Div(_tree_view(frame, graph_style), id="tree-view"),
        html.H4(caption, id="gallery-caption"),
        dcc.RadioItems(
            id="gallery-order",
            options=[
                {"label": f" {orders[0]} first", "value": "first"},
                {"label": f" {orders[1]} first", "value": "last"},
            ],
            value="first",
            inline=True,
        ),
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
    ]


_SPLIT_NAMES = {"val": "validation (held out)", "test": "test (the given split)"}


def _split_name(study: d.StudyData, split: str) -> str:
    """A cross-validated study's validation rows are every training row, out of fold."""
    if split == "val" and study.config.get("selection", {}).get("scheme") == "cv":
        return "validation (every row, predicted out of fold)"
    return _SPLIT_NAMES[split]


_ORDER_NAMES = {
    "classifier": ("most confident", "least confident"),
    "regressor": ("largest errors", "smallest errors"),
    "unlabelled": ("most anomalous", "most ordinary"),
}


def _tree_view(frame: pd.DataFrame, graph_style: dict) -> list:
    """A model of parse trees: a chosen sentence's tree, every phrase's predicted label."""
    options = m.tree_choices(frame)
    if not options:
        return []
    first = options[0]["value"]
    return [
        html.H4("A sentence's tree"),
        dcc.Dropdown(id="tree-sentence", options=options, value=first, clearable=False),
        dcc.Graph(
            id="fig-tree",
            figure=mf.tree_figure(frame.loc[first, "tree"], m.classes(frame)),
            style=graph_style,
        ),
    ]


def _kind(frame: pd.DataFrame) -> str:
    if "confidence" in frame:
        return "classifier"
    return "regressor" if "error" in frame else "unlabelled"


def _graphs(frame: pd.DataFrame, graph_style: dict) -> list:
    return [
        dcc.Graph(id=key, figure=fig, style={**graph_style, "flex": "1 1 420px"})
        for key, fig in mf.model_figures(frame).items()
    ]


def register(app: Dash, load, graph_style: dict) -> None:
    """The section's callbacks; `load(pathname, version, rendered)` gives the page's study
    (and stops a callback fired for a version the page already shows)."""

    @app.callback(
        Output("model-section", "children"),
        Input("version", "data"),
        State("rendered", "data"),
        State("url", "pathname"),
        prevent_initial_call=True,
    )
    def redraw(version, rendered, pathname):
        return section_children(load(pathname, version, rendered), graph_style)

    @app.callback(
        Output("model-summary", "children"),
        Output("model-figures", "children"),
        Output("class-report", "children"),
        Output("tree-view", "children"),
        Input("model-split", "value"),
        State("url", "pathname"),
        prevent_initial_call=True,
    )
    def split_view(split, pathname):
        frame = m.predictions(load(pathname), split)
        if frame is None:
            raise dash.exceptions.PreventUpdate
        return (
            _headline(frame),
            _graphs(frame, graph_style),
            _class_table(frame),
            _tree_view(frame, graph_style),
        )

    @app.callback(
        Output("fig-tree", "figure"),
        Input("tree-sentence", "value"),
        State("model-split", "value"),
        State("url", "pathname"),
        prevent_initial_call=True,
    )
    def tree_view(index, split, pathname):
        frame = m.predictions(load(pathname), split)
        if frame is None or "tree" not in frame or index not in frame.index:
            raise dash.exceptions.PreventUpdate
        return mf.tree_figure(frame.loc[index, "tree"], m.classes(frame))

    @app.callback(
        Output("gallery", "children"),
        Output("gallery-caption", "children"),
        Output("gallery-state", "data"),
        # only a classifier's page has the confusion matrix: optional, or Dash would not run
        # the callback at all on the others
        Input("fig-confusion", "clickData", allow_optional=True),
        Input("gallery-previous", "n_clicks"),
        Input("gallery-next", "n_clicks"),
        Input("gallery-reset", "n_clicks"),
        Input("model-split", "value"),
        Input("gallery-order", "value"),
        State("gallery-state", "data"),
        State("url", "pathname"),
        prevent_initial_call=True,
    )
    def gallery(click, _previous, _next, _reset, split, order, state, pathname):
        state = dict(state or {"cell": None, "page": 0})
        trigger = dash.ctx.triggered_id
        if trigger == "fig-confusion":
            # a heatmap's click carries the cell's axis values: x predicted, y true
            points = (click or {}).get("points", [])
            cell = [str(points[0]["y"]), str(points[0]["x"])] if points else None
            state = {"cell": cell, "page": 0}
        elif trigger in ("gallery-reset", "model-split"):
            state = {"cell": None, "page": 0}
        elif trigger == "gallery-order":
            state["page"] = 0
        elif trigger == "gallery-next":
            state["page"] += 1
        elif trigger == "gallery-previous":
            state["page"] = max(0, state["page"] - 1)
        frame = m.predictions(load(pathname), split)
        if frame is None:
            raise dash.exceptions.PreventUpdate
        tiles, caption, state["page"] = gallery_page(
            frame, state["cell"], state["page"], order == "last"
        )
        return tiles, caption, state


def gallery_page(
    frame: pd.DataFrame, cell: list | None, page: int, reverse: bool = False
) -> tuple[list, str, int]:
    """(tiles, caption, the page shown) of one page of the gallery; a page past the last
    shows the last."""
    target, prediction = (cell or [None, None])[:2]
    rows, total = m.gallery(frame, target, prediction, page, reverse=reverse)
    pages = max(1, -(-total // m.GALLERY_PAGE))
    page = min(max(0, page), pages - 1)  # as m.gallery clamped it
    first = _ORDER_NAMES[_kind(frame)][1 if reverse else 0]
    if "confidence" in frame:
        if cell:
            what = f"true {target}, predicted {prediction}, {first} first"
        elif frame["correct"].all():
            first = _ORDER_NAMES["classifier"][0 if reverse else 1]
            what = f"no mistakes: every sample, {first} first"
        else:
            what = f"the mistakes, {first} first"
    elif "error" in frame:
        what = f"the {first} first"
    else:
        what = f"the {first} samples first, beside their reconstructions"
    caption = f"Samples: {what} ({total:,}; page {page + 1} of {pages})"
    return [_tile(row) for row in rows.to_dict("records")], caption, page


def _tile(values: dict) -> html.Div:
    kind = values.get("preview_kind", "")
    bounds = None
    if kind == "series":  # a sample and its reconstruction on one scale
        bounds = m.series_bounds(values.get("preview"), values.get("reconstruction"))
    picture = m.preview_image(values.get("preview"), kind, bounds)
    if picture is not None:
        content = [html.Img(src=picture, className="sample-image", style={"maxWidth": "140px"})]
        if values.get("media"):  # an audio sample: its first seconds, playable
            content.append(
                html.Audio(
                    src=values["media"],
                    controls=True,
                    className="sample-audio",
                    style={"width": "140px"},
                )
            )
        rebuilt = m.preview_image(values.get("reconstruction"), kind, bounds)
        if rebuilt is not None:
            content.append(
                html.Img(
                    src=rebuilt, className="sample-reconstruction", style={"maxWidth": "140px"}
                )
            )
    elif kind == "table":
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
    shown = f"{numbers['samples']:,} samples"
    if "of" in numbers:
        shown += f" (a sample of {numbers['of']:,})"
    parts = [shown] + [
        f"{name.replace('_', ' ')} {value:.4f}"
        for name, value in numbers.items()
        if name not in ("samples", "of")
    ]
    return " · ".join(parts)


def _class_table(frame: pd.DataFrame) -> list:
    if "confidence" not in frame:
        return []
    report = m.class_report(frame).round(4)
    return [
        dash_table.DataTable(
            data=report.to_dict("records"),
            columns=[{"name": c, "id": c} for c in report.columns],
            sort_action="native",
            page_size=20,
            style_cell={"textAlign": "left", "padding": "2px 8px"},
        )
    ]
