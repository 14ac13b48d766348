"""`automl dashboard`: a Dash app over a studies directory, live while searches run.

Pages: `/` lists the studies; `/study/<name>` shows one; `/compare/<a>,<b>` sets studies
side by side. Every few seconds the page asks
whether its study changed on disk (a stat of three files); only then are the study and its
figures read again. Study names from the browser are looked up in the directory's listing
(`data.study_path`) and trial numbers are integers, so no request reaches a file outside the
studies directory; nothing is ever written. Neither torch nor ray is imported.
"""

from __future__ import annotations

import threading
import urllib.parse
from pathlib import Path
from typing import Any

import dash
import pandas as pd
from dash import Dash, Input, Output, State, dash_table, dcc, html

from automl.dashboard import compare as c
from automl.dashboard import data as d
from automl.dashboard import figures as f
from automl.dashboard import model_view
from automl.driver import read_driver
from automl.errors import AutoMLError

REFRESH_S = 2.0
PAGE_SIZE = 15
LEADERBOARD = [
    ("rank", "rank"),
    ("trial", "trial"),
    ("family", "family"),
    ("status", "status"),
    ("score", "score"),
    ("score_spread", "± folds"),
    ("weight", "weight in model"),
    ("n_params", "parameters"),
    ("latency_ms", "latency (ms)"),
    ("epochs", "epochs"),
    ("wall_time_s", "time (s)"),
    ("reason", "reason"),
    ("params", "parameters chosen"),
]
_GRAPH_STYLE = {"height": "420px"}
_CARD = {
    "border": "1px solid #ddd",
    "borderRadius": "6px",
    "padding": "8px 14px",
    "margin": "8px 0",
}


def create_app(studies_dir: Path, refresh_s: float = REFRESH_S) -> Dash:
    studies_dir = Path(studies_dir).resolve()
    app = Dash(
        __name__,
        title="automl dashboard",
        update_title=None,
        suppress_callback_exceptions=True,  # the study page's components exist on that page only
        assets_folder=str(Path(__file__).parent / "assets"),  # ours only (none): no user files
        serve_locally=True,  # Dash's and Plotly's scripts come from the installed packages
        eager_loading=True,  # every script loads with the first page, not on a first table or figure
        enable_mcp=False,
    )
    app.layout = html.Div(
        [
            dcc.Location(id="url"),
            dcc.Interval(id="tick", interval=int(refresh_s * 1000)),
            dcc.Store(id="version"),
            html.Div(
                [
                    dcc.Link("automl", href="/", style={"fontWeight": "bold", "fontSize": "20px"}),
                    html.Span(f"  studies in {studies_dir}", style={"color": "#666"}),
                ]
            ),
            html.Div(id="page"),
        ],
        style={"fontFamily": "sans-serif", "margin": "0 16px"},
    )
    _register(app, studies_dir)
    return app


def _study_name(pathname: str | None) -> str | None:
    """The study named by a '/study/<name>' path; None for the index."""
    if not pathname or not pathname.startswith("/study/"):
        return None
    return urllib.parse.unquote(pathname[len("/study/") :])


def _register(app: Dash, studies_dir: Path) -> None:
    def locate(pathname: str | None) -> Path | None:
        name = _study_name(pathname)
        return None if name is None else d.study_path(studies_dir, name)

    def version_of(pathname: str | None) -> list[str]:
        study_dir = locate(pathname)
        if study_dir is None:
            names = d.list_study_names(studies_dir)
            return names + [str(d.study_version(studies_dir / n)) for n in names]
        return [str(d.study_version(study_dir)), str(read_driver(study_dir) is not None)]

    def load(pathname: str | None, version: Any = None, rendered: Any = None) -> d.StudyData:
        """The study of a study page's callback. Nothing to do when the callback fired for a
        new version that the page already shows, or for a forged request for another study."""
        if dash.ctx.triggered_id == "version" and version == rendered:
            raise dash.exceptions.PreventUpdate
        try:
            study_dir = locate(pathname)
        except d.StudyNotFound:
            study_dir = None
        if study_dir is None:
            raise dash.exceptions.PreventUpdate
        return d.load_study(study_dir)

    @app.callback(
        Output("version", "data"),
        Input("url", "pathname"),
        Input("tick", "n_intervals"),
        State("version", "data"),
    )
    def check_version(pathname, _tick, known):
        """A new value only when the page's study (or the listing) changed on disk."""
        try:
            version = version_of(pathname)
        except d.StudyNotFound:
            return dash.no_update
        return dash.no_update if version == known else version

    @app.callback(Output("page", "children"), Input("url", "pathname"))
    def page(pathname):
        """The whole page, with its data: one round trip. The callbacks below only run for a
        user's action or a change on disk (none fires when the page is first shown)."""
        if pathname and pathname.startswith("/compare/"):
            names = [n for n in urllib.parse.unquote(pathname[len("/compare/") :]).split(",") if n]
            try:
                return _compare_page(studies_dir, names)
            except d.StudyNotFound as exc:
                return html.P(str(exc), id="not-found", style={"color": "#b00"})
        try:
            study_dir = locate(pathname)
        except d.StudyNotFound:
            name = _study_name(pathname)
            return html.P(
                f"No study named '{name}' in {studies_dir}.",
                id="not-found",
                style={"color": "#b00"},
            )
        rendered = dcc.Store(id="rendered", data=version_of(pathname))
        try:
            if study_dir is None:
                return [rendered, _index_page(d.study_overview(studies_dir))]
            return [rendered, _study_page(d.load_study(study_dir))]
        except AutoMLError as exc:  # a damaged study: say so on the page
            return html.P(str(exc), id="not-found", style={"color": "#b00"})

    @app.callback(
        Output("studies", "children"),
        Output("fig-studies", "figure"),
        Input("version", "data"),
        State("rendered", "data"),
        prevent_initial_call=True,
    )
    def studies(version, rendered):
        if version == rendered:
            raise dash.exceptions.PreventUpdate
        overview = d.study_overview(studies_dir)
        return _studies_table(overview), f.overview_figure(overview)

    @app.callback(Output("compare-link", "href"), Input("compare-pick", "value"))
    def compare_link(names):
        return "/compare/" + ",".join(urllib.parse.quote(n) for n in names or [])

    @app.callback(
        Output("summary", "children"),
        Output("fig-best", "figure"),
        Output("fig-families", "figure"),
        Output("fig-codes", "figure"),
        Input("version", "data"),
        State("rendered", "data"),
        State("url", "pathname"),
        prevent_initial_call=True,
    )
    def refresh(version, rendered, pathname):
        study = load(pathname, version, rendered)
        return (
            _summary(study),
            f.best_so_far_figure(study),
            f.family_figure(study),
            f.codes_figure(study),
        )

    @app.callback(
        Output("leaderboard", "data"),
        Output("leaderboard", "page_count"),
        Input("version", "data"),
        Input("leaderboard", "page_current"),
        Input("leaderboard", "sort_by"),
        Input("leaderboard", "filter_query"),
        State("rendered", "data"),
        State("url", "pathname"),
        prevent_initial_call=True,
    )
    def leaderboard(version, page_current, sort_by, filter_query, rendered, pathname):
        return _board_page(load(pathname, version, rendered), page_current, sort_by, filter_query)

    @app.callback(
        Output("fig-pareto", "figure"),
        Input("version", "data"),
        Input("pareto-cost", "value"),
        State("rendered", "data"),
        State("url", "pathname"),
        prevent_initial_call=True,
    )
    def pareto(version, cost, rendered, pathname):
        return f.pareto_figure(load(pathname, version, rendered), cost)

    @app.callback(
        Output("fig-parallel", "figure"),
        Output("fig-importance", "figure"),
        Input("version", "data"),
        Input("family", "value"),
        State("rendered", "data"),
        State("url", "pathname"),
        prevent_initial_call=True,
    )
    def per_family(version, family, rendered, pathname):
        study = load(pathname, version, rendered)
        return f.parallel_figure(study, family), f.importance_figure(study, family)

    @app.callback(
        Output("current-trial", "data"),
        Input("leaderboard", "active_cell"),
        Input("fig-best", "clickData"),
        Input("fig-families", "clickData"),
        Input("fig-pareto", "clickData"),
        Input("fig-parallel", "clickData"),
        prevent_initial_call=True,
    )
    def choose(cell, *clicks):
        """The trial last clicked: a leaderboard row or a point of a figure."""
        if dash.ctx.triggered_id == "leaderboard":
            return dash.no_update if cell is None else int(cell["row_id"])
        click = dash.ctx.triggered[0]["value"] or {}
        points = [p for p in click.get("points", []) if isinstance(p.get("customdata"), int)]
        return points[0]["customdata"] if points else dash.no_update

    @app.callback(
        Output("trial-title", "children"),
        Output("fig-architecture", "figure"),
        Output("architecture-table", "data"),
        Output("fig-curves", "figure"),
        Input("current-trial", "data"),
        Input("leaderboard", "selected_row_ids"),
        Input("version", "data"),
        State("rendered", "data"),
        State("url", "pathname"),
        prevent_initial_call=True,
    )
    def trial_detail(current, selected, version, rendered, pathname):
        return _trial_view(load(pathname, version, rendered), current, selected)

    model_view.register(app, load, _GRAPH_STYLE)


def _board_page(
    study: d.StudyData, page_current: int | None, sort_by: list | None, filter_query: str | None
) -> tuple[list[dict], int]:
    """One page of the ranked trials, sorted and filtered here: a browser never holds a
    study's thousands of rows."""
    rows = d.sort_rows(d.filter_rows(d.ranked(study), filter_query), sort_by)
    start = (page_current or 0) * PAGE_SIZE
    shown = rows.iloc[start : start + PAGE_SIZE]
    shown = shown.assign(id=shown["trial"], params=shown["params"].map(d.describe_params))
    shown = shown.round(
        {"score": 4, "score_spread": 4, "weight": 3, "latency_ms": 3, "wall_time_s": 1}
    )
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    return shown[[*dict(LEADERBOARD), "id"]].to_dict("records"), pages


def _trial_view(study: d.StudyData, current: int | None, selected: list | None) -> tuple:
    """The chosen trial (the best until one is clicked): title, architecture diagram and
    table, and the learning curves of it, the best and the rows ticked."""
    best = d.best_trial(study)
    trial = current if current is not None else best
    if trial is None:
        return "No trial yet", f.architecture_figure(study, -1), [], f.curves_figure(study, [])
    chosen = [int(t) for t in (selected or [])] + [int(trial)]
    return (
        f"Trial {trial}" + (" (best)" if trial == best else ""),
        f.architecture_figure(study, int(trial)),
        f.architecture_table(study, int(trial)).to_dict("records"),
        f.curves_figure(study, chosen),
    )


def _index_page(overview: pd.DataFrame) -> html.Div:
    return html.Div(
        [
            html.H2("Studies"),
            html.Div(_studies_table(overview), id="studies"),
            html.Div(
                [
                    dcc.Checklist(
                        id="compare-pick", options=list(overview["study"]), value=[], inline=True
                    ),
                    dcc.Link("compare the ticked studies", id="compare-link", href="/compare/"),
                ],
                style=_CARD,
            ),
            dcc.Graph(id="fig-studies", figure=f.overview_figure(overview)),
        ]
    )


def _compare_page(studies_dir: Path, names: list[str]) -> html.Div:
    """Studies side by side: scores, budgets, best-so-far curves, the exported members."""
    table = c.comparison(studies_dir, names).round(4)
    members = c.members(studies_dir, names).round(4)
    cell = {"textAlign": "left", "padding": "3px 8px"}
    return html.Div(
        [
            html.H2("Compare " + ", ".join(names)),
            dash_table.DataTable(
                id="compare-table",
                data=table.to_dict("records"),
                columns=[{"name": col.replace("_", " "), "id": col} for col in table.columns],
                style_cell=cell,
            ),
            dcc.Graph(
                id="fig-compare",
                figure=c.compare_figure(c.compare_curves(studies_dir, names)),
                style=_GRAPH_STYLE,
            ),
            html.H3("The exported models"),
            dash_table.DataTable(
                id="compare-members",
                data=members.to_dict("records"),
                columns=[{"name": col.replace("_", " "), "id": col} for col in members.columns],
                style_cell={**cell, "maxWidth": "600px", "whiteSpace": "normal"},
            ),
        ]
    )


def _studies_table(overview: pd.DataFrame) -> html.Table:
    """Each study's name links to its page (in-app links: no reload of the page's scripts)."""
    cell = {"padding": "4px 12px", "borderBottom": "1px solid #eee", "textAlign": "left"}
    header = ["study", "task", "families", "trials", "best score"]
    rows = [
        html.Tr(
            [
                html.Td(
                    dcc.Link(r.study, href=f"/study/{urllib.parse.quote(r.study)}"), style=cell
                ),
                html.Td(r.task, style=cell),
                html.Td(r.families, style=cell),
                html.Td(f"{r.trials:,}", style=cell),
                html.Td("" if pd.isna(r.best) else f"{r.best:.4f}", style=cell),
            ]
        )
        for r in overview.itertuples()
    ]
    return html.Table(
        [html.Thead(html.Tr([html.Th(h, style=cell) for h in header])), html.Tbody(rows)],
        style={"borderCollapse": "collapse"},
    )


def _study_page(study: d.StudyData) -> html.Div:
    families = list(study.task.get("families", []))
    # the family with the most scored trials: the one whose parameters say most
    scored = d.family_scores(study)["family"].value_counts()
    family = max(families, key=lambda f_: scored.get(f_, 0)) if families else None
    numeric = {
        "rank",
        "trial",
        "score",
        "score_spread",
        "weight",
        "n_params",
        "latency_ms",
        "epochs",
        "wall_time_s",
    }
    board, pages = _board_page(study, 0, None, None)
    title, architecture, layers, curves = _trial_view(study, None, None)
    figures = {
        "fig-best": f.best_so_far_figure(study),
        "fig-families": f.family_figure(study),
        "fig-pareto": f.pareto_figure(study, "n_params"),
        "fig-architecture": architecture,
        "fig-curves": curves,
        "fig-parallel": f.parallel_figure(study, family) if family else None,
        "fig-importance": f.importance_figure(study, family) if family else None,
        "fig-codes": f.codes_figure(study),
    }
    graph = lambda id_, **style: dcc.Graph(  # noqa: E731
        id=id_, figure=figures[id_], style={**_GRAPH_STYLE, **style}
    )
    row = lambda *children: html.Div(  # noqa: E731
        [html.Div(c, style={"flex": "1", "minWidth": "0"}) for c in children],
        style={"display": "flex", "gap": "12px"},
    )
    return html.Div(
        [
            dcc.Store(id="current-trial"),  # the trial last clicked, on this page
            html.H2(f"Study {study.name}"),
            html.Div(_summary(study), id="summary", style=_CARD),
            html.H3("Leaderboard"),
            html.P(
                "Click a row for its architecture and learning curve; tick rows to compare "
                "their curves. Columns sort and filter (e.g. '> 0.9', 'cnn').",
                style={"color": "#666", "margin": "0"},
            ),
            dash_table.DataTable(
                id="leaderboard",
                data=board,
                page_count=pages,
                columns=[
                    {"name": name, "id": key, "type": "numeric" if key in numeric else "text"}
                    for key, name in LEADERBOARD
                ],
                page_action="custom",
                sort_action="custom",
                filter_action="custom",
                page_current=0,
                page_size=PAGE_SIZE,
                row_selectable="multi",
                style_table={"overflowX": "auto"},
                style_cell={
                    "textAlign": "left",
                    "padding": "3px 8px",
                    "maxWidth": "420px",
                    "overflow": "hidden",
                    "textOverflow": "ellipsis",
                },
                tooltip_duration=None,
                style_data_conditional=[
                    {"if": {"filter_query": '{status} = "failed"'}, "color": "#b00"},
                    {"if": {"filter_query": '{status} = "stopped early"'}, "color": "#777"},
                ],
            ),
            graph("fig-best"),
            row(
                graph("fig-families"),
                html.Div(
                    [
                        dcc.RadioItems(
                            id="pareto-cost",
                            options=[
                                {"label": " size (parameters)", "value": "n_params"},
                                {"label": " latency (ms per sample)", "value": "latency_ms"},
                            ],
                            value="n_params",
                            inline=True,
                        ),
                        graph("fig-pareto"),
                    ]
                ),
            ),
            html.H3("The model: where it is right and wrong"),
            model_view.model_section(study, _GRAPH_STYLE),
            html.H3(title, id="trial-title"),
            row(
                graph("fig-architecture", height="auto", minHeight="420px"),
                html.Div(
                    [
                        graph("fig-curves"),
                        dash_table.DataTable(
                            id="architecture-table",
                            data=layers,
                            columns=[
                                {"name": "layer", "id": "name"},
                                {"name": "type", "id": "type"},
                                {"name": "output shape", "id": "output_shape"},
                                {"name": "parameters", "id": "params"},
                            ],
                            page_size=12,
                            style_cell={"textAlign": "left", "padding": "2px 8px"},
                        ),
                    ]
                ),
            ),
            html.H3("Parameters by family"),
            dcc.Dropdown(
                id="family",
                options=families,
                value=family,
                clearable=False,
                style={"maxWidth": "300px"},
            ),
            graph("fig-parallel", height="480px"),  # full width: one axis per parameter
            graph("fig-importance"),
            html.Div(
                graph("fig-codes"),
                style={} if study.unlabelled else {"display": "none"},
            ),
        ]
    )


def _selection(selection: dict | None) -> str:
    """How the study scored its trials, and why."""
    if not selection:
        return "one validation split"
    if selection["scheme"] == "cv":
        return (
            f"{selection['folds']}-fold cross-validation: scores are the folds' pooled "
            f"out-of-fold score, ± the spread of the folds' own ({selection['reason']})"
        )
    return f"one validation split ({selection['reason']})"


def _summary(study: d.StudyData) -> list:
    task = study.task
    counts = study.trials["status"].value_counts()
    running = read_driver(study.directory) is not None
    parts = ", ".join(
        f"{int(counts[s])} {s}"
        for s in ("complete", "stopped early", "failed", "running")
        if s in counts
    )
    best = d.best_so_far(study)["best"].max() if len(study.trials) else float("nan")
    return [
        html.Div(
            [
                html.B("Task: "),
                f"{task.get('row', '?')} ({task.get('modality', '?')}, "
                f"{task.get('target_kind', '?')}) -> families {', '.join(task.get('families', []))}",
            ]
        ),
        html.Div([html.B("Why: "), task.get("reason", "")], id="task-reason"),
        html.Div(
            [html.B("Selection: "), _selection(study.config.get("selection"))], id="selection"
        ),
        html.Div(
            [
                html.B("Trials: "),
                html.Span(str(len(study.trials)), id="trial-count"),
                f" ({parts})" if parts else "",
                "" if best != best else f" · best score {best:.4f}",
                html.Span(
                    " · search running (refreshes live)" if running else " · no search running",
                    id="search-state",
                ),
            ]
        ),
    ]


def serve(studies_dir: Path, host: str, port: int) -> None:
    """Run the dashboard until interrupted (Flask's threaded server: one user, local)."""
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    app = create_app(studies_dir)
    # read the studies once while the first browser fetches its scripts: the first page then
    # finds them read (what the index page does on its first visit anyway)
    threading.Thread(target=d.study_overview, args=(Path(studies_dir),), daemon=True).start()
    app.run(host=host, port=port, debug=False)
