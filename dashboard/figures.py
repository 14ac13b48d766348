"""Every figure of the dashboard and the report: plain functions, study -> plotly Figure.

Each draws what a function of `automl.dashboard.data` computed, so the numbers are tested
without a browser. Trial numbers ride along as `customdata`, so a click on a point selects
that trial in the app.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative, sample_colorscale

from automl.dashboard import data as d
from automl.dashboard.data import StudyData
from automl.seasonality import line_to_beat

PALETTE = qualitative.Plotly
_MANY = 1000  # at most this many trials are drawn as points (data.drawn picks which)
# A light look set by hand: Plotly's named templates are deep-copied into every figure (12 ms
# each here) and sent with it (6 kB).
_TEMPLATE = {
    "layout": {
        "plot_bgcolor": "white",
        "xaxis": {"gridcolor": "#eee", "zerolinecolor": "#ddd", "linecolor": "#ccc"},
        "yaxis": {"gridcolor": "#eee", "zerolinecolor": "#ddd", "linecolor": "#ccc"},
        "font": {"family": "sans-serif", "size": 12},
    }
}
_BANDS = 8  # score bands of the parallel coordinates' lines (one SVG path each)


def family_colours(data: StudyData) -> dict[str, str]:
    """One colour per family, in the task's order, the same in every figure."""
    families = list(data.task.get("families", []))
    families += sorted(set(data.trials["family"].dropna()) - set(families))
    return {family: PALETTE[i % len(PALETTE)] for i, family in enumerate(families)}


def layout(fig: go.Figure, title: str, **kwargs) -> go.Figure:
    settings = {
        "title": title,
        "template": _TEMPLATE,
        "margin": {"l": 60, "r": 20, "t": 70, "b": 50},
        "legend": {"title": "family"},
    }
    fig.update_layout(**{**settings, **kwargs})
    return fig


def add_lines_by(
    fig: go.Figure,
    frame: pd.DataFrame,
    by: str,
    x: str,
    y: str,
    name: Callable[[Any, pd.DataFrame], str] | None = None,
    line: dict | None = None,
    mode: str = "lines",
) -> go.Figure:
    """One line per group of `frame` (by `by`), in the palette's colours; `name(key, part)`
    labels each (default: the key)."""
    for i, (key, part) in enumerate(frame.groupby(by, sort=False)):
        fig.add_scatter(
            x=part[x],
            y=part[y],
            mode=mode,
            name=str(key) if name is None else name(key, part),
            line={"color": PALETTE[i % len(PALETTE)], **(line or {})},
        )
    return fig


def add_reference_line(fig: go.Figure, x: list, y: list, name: str) -> go.Figure:
    """A dotted grey line to read the data against (chance, perfect calibration, y = x)."""
    fig.add_scatter(x=x, y=y, mode="lines", line={"dash": "dot", "color": "#aaa"}, name=name)
    return fig


def empty_figure(title: str, why: str) -> go.Figure:
    fig = layout(go.Figure(), title)
    fig.add_annotation(text=why, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def _sampled(title: str, shown: int, total: int) -> str:
    if shown == total:
        return title
    return f"{title}<br><sup>{shown:,} of {total:,} trials drawn: the best half and a sample</sup>"


def _score_name(data: StudyData) -> str:
    if data.unlabelled:
        return "score (minus reconstruction MSE)"
    if data.task.get("forecast"):
        return "minus MASE"
    return "R²" if data.task.get("target_kind") in ("regression", "forecasting") else "accuracy"


def overview_figure(overview: pd.DataFrame) -> go.Figure:
    """The index page's studies: best score of each, with its number of trials."""
    title = "Best score of each study"
    scored = overview[overview["best"].notna()]
    if scored.empty:
        return empty_figure(title, "no study has a complete trial yet")
    fig = go.Figure(
        go.Bar(
            x=scored["study"],
            y=scored["best"],
            text=[f"{n:,} trials" for n in scored["trials"]],
            hovertemplate="%{x}<br>best %{y:.4f}<br>%{text}<extra></extra>",
        )
    )
    return layout(fig, title, yaxis_title="best score", height=320)


def best_so_far_figure(data: StudyData) -> go.Figure:
    """The best score found so far against wall time and against trial number; every complete
    trial is a point coloured by family."""
    table = d.best_so_far(data)
    title = "Best so far"
    if table.empty:
        return empty_figure(title, "no trial has completed yet")
    colours = family_colours(data)
    points = d.drawn(table, _MANY)
    title = _sampled(title, len(points), len(table))
    # two panels sharing the score axis (set by hand: make_subplots costs 0.2 s per call)
    fig = go.Figure(
        layout={
            "xaxis": {"domain": [0, 0.48]},
            "xaxis2": {"domain": [0.52, 1], "anchor": "y"},
            "yaxis": {"anchor": "x"},
        }
    )
    for col, x, label in (
        (1, table["ended_s"] / 60, "wall time (min)"),
        (2, table["trial"], "trial"),
    ):
        xaxis = "x" if col == 1 else "x2"
        for family, rows in points.groupby("family", sort=False):
            fig.add_trace(
                go.Scatter(
                    x=x[rows.index],
                    y=rows["score"],
                    mode="markers",
                    name=family,
                    legendgroup=family,
                    showlegend=col == 1,
                    marker={"color": colours.get(family), "size": 5, "opacity": 0.6},
                    customdata=rows["trial"],
                    hovertemplate="trial %{customdata}<br>score %{y:.4f}<extra>"
                    + family
                    + "</extra>",
                    xaxis=xaxis,
                )
            )
        order = x.sort_values().index
        fig.add_trace(
            go.Scatter(
                x=x[order],
                y=table["score"][order].cummax() if col == 2 else table["best"][order],
                mode="lines",
                line={"shape": "hv", "color": "black"},
                name="best so far",
                showlegend=col == 1,
                hoverinfo="skip",
                xaxis=xaxis,
            )
        )
        fig.layout["xaxis" if col == 1 else "xaxis2"].title = label
    line = line_to_beat(data.task.get("forecast"))
    if line is not None:  # a forecaster's trials against the naive forecast
        ends = table["ended_s"] / 60
        add_reference_line(
            fig, [ends.min(), ends.max()], [line[1]] * 2, f"{line[0]} (the line to beat)"
        )
    fig.layout.yaxis.title = _score_name(data)
    return layout(fig, title)


def family_figure(data: StudyData) -> go.Figure:
    """The distribution of scores per family (trials stopped early count with their last
    epoch's score)."""
    table = d.family_scores(data)
    title = "Scores by family"
    if table.empty:
        return empty_figure(title, "no trial has reported a score yet")
    colours = family_colours(data)
    fig = go.Figure()
    for family, rows in table.groupby("family", sort=False):
        fig.add_trace(
            go.Box(
                y=rows["score"],
                name=f"{family} ({len(rows)})",
                marker={"color": colours.get(family)},
                boxpoints="outliers" if len(table) > _MANY else "all",
                jitter=0.4,
                pointpos=0,
                customdata=rows["trial"],
                hovertemplate="trial %{customdata}<br>score %{y:.4f}<extra></extra>",
            )
        )
    return layout(fig, title, yaxis_title=_score_name(data), showlegend=False)


def curves_figure(data: StudyData, trials: list[int]) -> go.Figure:
    """Validation score per epoch of the chosen trials; the best trial's line is thick."""
    title = "Learning curves"
    best = d.best_trial(data)
    chosen = list(dict.fromkeys([*trials, *([best] if best is not None else [])]))
    table = d.learning_curves(data, chosen)
    if table.empty:
        return empty_figure(title, "no epoch reported yet for these trials")
    families = data.trials.set_index("trial")["family"]
    colours = family_colours(data)
    fig = go.Figure()
    for number, rows in table.groupby("trial", sort=False):
        family = families.get(number)
        is_best = number == best
        fig.add_trace(
            go.Scatter(
                x=rows["epoch"],
                y=rows["score"],
                mode="lines+markers",
                name=f"trial {number} ({family}){' best' if is_best else ''}",
                line={"width": 4 if is_best else 1.5, "color": colours.get(family)},
                customdata=rows[["train_loss", "val_loss"]],
                hovertemplate=(
                    "epoch %{x}<br>score %{y:.4f}<br>train loss %{customdata[0]:.4f}"
                    "<br>val loss %{customdata[1]:.4f}"
                ),
            )
        )
    return layout(
        fig, title, xaxis_title="epoch", yaxis_title=_score_name(data), legend={"title": ""}
    )


def parallel_figure(data: StudyData, family: str) -> go.Figure:
    """Parallel coordinates of a family's parameters and score, one line per trial coloured
    by its score; a click on a line's point selects that trial.

    Drawn as SVG lines rather than Plotly's WebGL `parcoords`: without a GPU (headless, remote
    desktops) that costs about a second per figure whatever the study's size.
    """
    table = d.parameters(data, family)
    title = f"Parameters of {family}"
    if table.empty:
        return empty_figure(title, f"no scored {family} trial yet")
    axes = d.parallel_axes(table)  # scaled over every trial, whichever are drawn
    low, high = float(table["score"].min()), float(table["score"].max())
    shown = d.drawn(table, _MANY)
    title = _sampled(title, len(shown), len(table))
    table, score = shown, shown["score"]
    fig = go.Figure()
    bands = pd.qcut(score.rank(method="first"), min(_BANDS, len(score)), labels=False)
    n_axes = len(axes)
    # one row per trial: its place on every axis, then a gap (NaN) that ends its line
    places = np.column_stack(
        [axis["positions"][table.index].to_numpy() for axis in axes] + [np.full(len(table), np.nan)]
    )
    xs = np.tile(np.append(np.arange(n_axes, dtype=float), np.nan), (len(table), 1))
    trials = np.repeat(table["trial"].to_numpy()[:, None], n_axes + 1, axis=1)
    for band in sorted(bands.unique()):
        rows = (bands == band).to_numpy()
        colour = sample_colorscale("Viridis", (score[rows].mean() - low) / ((high - low) or 1))[0]
        fig.add_trace(
            go.Scatter(
                x=xs[rows].ravel(), y=places[rows].ravel(), customdata=trials[rows].ravel(),
                mode="lines", line={"color": colour, "width": 1}, opacity=0.5,
                showlegend=False, hovertemplate="trial %{customdata}<extra></extra>",
            )
        )  # fmt: skip
    fig.add_trace(  # the colour scale's legend
        go.Scatter(
            x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
            marker={"colorscale": "Viridis", "cmin": low, "cmax": high, "color": [low],
                    "showscale": True, "colorbar": {"title": "score"}},
        )
    )  # fmt: skip
    for i, axis in enumerate(axes):
        fig.add_shape(type="line", x0=i, x1=i, y0=0, y1=1, line={"color": "#444", "width": 1})
        fig.add_annotation(
            x=i,
            y=1.04,
            text=f"<b>{axis['label']}</b>",
            showarrow=False,
            textangle=-20,
            yanchor="bottom",
        )
        for position, text in axis["ticks"]:
            fig.add_annotation(
                x=i,
                y=position,
                text=text,
                showarrow=False,
                xanchor="right",
                xshift=-3,
                font={"size": 9, "color": "#555"},
            )
    fig.update_xaxes(visible=False, range=[-0.6, n_axes - 0.7])
    fig.update_yaxes(visible=False, range=[-0.15, 1.2])
    return layout(fig, title, margin={"l": 20, "r": 20, "t": 40, "b": 10})


def importance_figure(data: StudyData, family: str) -> go.Figure:
    """The share of the score's variance each of the family's parameters explains."""
    shares = d.importance(data, family)
    title = f"Parameter importance, {family} (variance explained)"
    if shares.empty:
        return empty_figure(title, f"too few scored {family} trials")
    fig = go.Figure(go.Bar(x=shares.to_numpy()[::-1], y=shares.index[::-1], orientation="h"))
    return layout(fig, title, xaxis_title="share of score variance explained (ε², chance removed)")


def pareto_figure(data: StudyData, cost: str = "n_params") -> go.Figure:
    """Score against model size (or measured latency), with the Pareto front."""
    table = d.pareto(data, cost)
    label = {"n_params": "parameters", "latency_ms": "latency (ms per sample)"}[cost]
    title = f"Score against {label}, with the Pareto front"
    if table.empty:
        return empty_figure(title, f"no complete trial with its {label} yet")
    colours = family_colours(data)
    points = d.drawn(table, _MANY, keep=table["on_front"])
    title = _sampled(title, len(points), len(table))
    fig = go.Figure()
    for family, rows in points.groupby("family", sort=False):
        fig.add_trace(
            go.Scatter(
                x=rows[cost],
                y=rows["score"],
                mode="markers",
                name=family,
                marker={"color": colours.get(family), "size": 6, "opacity": 0.6},
                customdata=rows["trial"],
                hovertemplate=f"trial %{{customdata}}<br>{label} %{{x:,}}<br>score %{{y:.4f}}"
                "<extra></extra>",
            )
        )
    front = table[table["on_front"]]
    fig.add_trace(
        go.Scatter(
            x=front[cost],
            y=front["score"],
            mode="lines+markers",
            line={"shape": "hv", "color": "black"},
            marker={"size": 9, "symbol": "diamond-open", "color": "black"},
            name="Pareto front",
            customdata=front["trial"],
            hovertemplate="trial %{customdata}<extra>Pareto front</extra>",
        )
    )
    return layout(fig, title, xaxis={"type": "log", "title": label}, yaxis_title=_score_name(data))


def architecture_figure(data: StudyData, trial: int) -> go.Figure:
    """A diagram of the trial's network: one box per layer, input at the top, each labelled
    with its type, output shape and parameters; the width grows with the output's size."""
    summary = d.architecture(data, trial)
    title = f"Architecture of trial {trial}"
    if not summary or not summary.get("layers"):
        why = (summary or {}).get("error") or "no architecture recorded for this trial"
        return empty_figure(title, why)
    layers = summary["layers"]
    sizes = [max(1, math.prod(layer["output_shape"] or [1])) for layer in layers]
    widest = math.log10(max(sizes)) + 1
    fig = go.Figure()
    rows = [("input", list(data.task.get("input_shape") or []), 0, 1)]
    rows += [
        (layer["type"], layer["output_shape"], layer["params"], size)
        for layer, size in zip(layers, sizes, strict=True)
    ]
    for i, (kind, shape, n_params, size) in enumerate(rows):
        half = 0.15 + 0.35 * (math.log10(size) + 1) / widest
        y = -i
        fig.add_shape(
            type="rect", x0=0.5 - half, x1=0.5 + half, y0=y - 0.38, y1=y + 0.38,
            fillcolor="#dbe7f5" if n_params else "#f0f0f0", line={"color": "#4a6fa5"},
        )  # fmt: skip
        text = f"{kind}  {tuple(shape)}" + (f"  ·  {n_params:,} params" if n_params else "")
        fig.add_annotation(x=0.5, y=y, text=text, showarrow=False, font={"size": 11})
        if i:
            fig.add_annotation(
                x=0.5, y=y + 0.38, ax=0.5, ay=y + 0.62, xref="x", yref="y", axref="x",
                ayref="y", showarrow=True, arrowhead=2, text="",
            )  # fmt: skip
    fig.update_xaxes(visible=False, range=[0, 1])
    fig.update_yaxes(visible=False, range=[-len(rows) + 0.5, 0.5])
    n_params = summary.get("n_params", sum(r[2] for r in rows))
    return layout(
        fig,
        f"{title}: {summary.get('family')}, {n_params:,} parameters",
        height=max(300, 36 * len(rows) + 80),
        showlegend=False,
    )


def architecture_table(data: StudyData, trial: int) -> pd.DataFrame:
    """Layer by layer: name, type, output shape, parameters."""
    summary = d.architecture(data, trial) or {}
    table = pd.DataFrame(
        summary.get("layers", []), columns=["name", "type", "output_shape", "params"]
    )
    return table.assign(output_shape=table["output_shape"].map(lambda s: " × ".join(map(str, s))))


def codes_figure(data: StudyData) -> go.Figure:
    """An unlabelled study's sample of learned codes in 2-D, coloured by anomaly score."""
    table = d.codes_map(data)
    title = "Learned codes of a data sample (2-D projection)"
    if table is None or table.empty:
        return empty_figure(title, "written when the search finishes")
    fig = go.Figure(
        go.Scatter(
            x=table["x"],
            y=table["y"],
            mode="markers",
            marker={
                "color": table["anomaly_score"],
                "colorscale": "Viridis",
                "showscale": True,
                "colorbar": {"title": "anomaly<br>score"},
                "size": 6,
            },
            hovertemplate="sample %{customdata}<br>anomaly score %{marker.color:.4f}<extra></extra>",
            customdata=table["sample"],
        )
    )
    axes = table.attrs.get("axes", ("component 1", "component 2"))
    return layout(fig, title, xaxis_title=axes[0], yaxis_title=axes[1])
