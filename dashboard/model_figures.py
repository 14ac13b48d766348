"""The model view's figures: predictions frame -> plotly Figure, one function each.

Each draws what a function of `automl.dashboard.model_data` computed. A click on a confusion
matrix cell (its x: predicted, y: true) filters the gallery.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from automl.dashboard import figures as f
from automl.dashboard import model_data as m


def _layout(fig: go.Figure, title: str, **kwargs) -> go.Figure:
    """The search figures' look, with legends that list classes or curves, not families."""
    return f.layout(fig, title, **{"legend": {"title": ""}, **kwargs})


def confusion_figure(frame: pd.DataFrame) -> go.Figure:
    counts = m.confusion(frame)
    shares = m.confusion(frame, normalise=True)
    labels = list(counts.index)
    fig = go.Figure(
        go.Heatmap(
            z=shares.to_numpy(),
            x=labels,
            y=labels,
            text=counts.to_numpy(),
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=1,
            colorbar={"title": "share of row"},
            hovertemplate="true %{y}, predicted %{x}: %{text} (%{z:.1%} of the row)"
            "<extra>click: show them</extra>",
        )
    )
    return _layout(
        fig,
        "Confusion matrix (counts; colour: share of the true class)",
        xaxis={"title": "predicted", "type": "category"},
        yaxis={"title": "true", "type": "category", "autorange": "reversed"},
    )


def roc_figure(frame: pd.DataFrame) -> go.Figure:
    return _class_curves(
        m.roc_curves(frame), "fpr", "tpr", "auc", "AUC", "ROC, one class against the rest",
        "false positive rate", "true positive rate", chance=True,
    )  # fmt: skip


def pr_figure(frame: pd.DataFrame) -> go.Figure:
    return _class_curves(
        m.pr_curves(frame), "recall", "precision", "ap", "AP",
        "Precision-recall, one class against the rest", "recall", "precision",
    )  # fmt: skip


def _class_curves(
    curves: pd.DataFrame,
    x: str,
    y: str,
    area: str,
    area_name: str,
    title: str,
    x_title: str,
    y_title: str,
    chance: bool = False,
) -> go.Figure:
    """One curve per class, named with its area (AUC, AP)."""
    if curves.empty:
        return f.empty_figure(title, "every class needs samples of its own and of others")
    fig = go.Figure()
    f.add_lines_by(
        fig,
        curves,
        "class",
        x,
        y,
        name=lambda c, part: f"{c} ({area_name} {part[area].iloc[0]:.3f})",
    )
    if chance:
        f.add_reference_line(fig, [0, 1], [0, 1], "chance")
    return _layout(fig, title, xaxis={"title": x_title}, yaxis={"title": y_title})


def calibration_figure(frame: pd.DataFrame) -> go.Figure:
    bands = m.calibration(frame)
    fig = f.add_reference_line(go.Figure(), [0, 1], [0, 1], "calibrated")
    fig.add_scatter(
        x=bands["confidence"],
        y=bands["accuracy"],
        mode="lines+markers",
        marker={"size": np.clip(4 + np.sqrt(bands["count"]), 4, 18)},
        customdata=bands["count"],
        hovertemplate="confidence %{x:.2f}: %{y:.1%} right of %{customdata}<extra></extra>",
        name="model",
    )
    return _layout(
        fig,
        "Calibration: confidence against the share right",
        xaxis={"title": "confidence", "range": [0, 1.02]},
        yaxis={"title": "share right", "range": [0, 1.02]},
    )


def predicted_figure(frame: pd.DataFrame) -> go.Figure:
    low = float(min(frame["target"].min(), frame["prediction"].min()))
    high = float(max(frame["target"].max(), frame["prediction"].max()))
    fig = f.add_reference_line(go.Figure(), [low, high], [low, high], "exact")
    fig.add_scatter(
        x=frame["target"],
        y=frame["prediction"],
        mode="markers",
        marker={"size": 5, "opacity": 0.6},
        customdata=frame["sample"],
        hovertemplate="%{customdata}: true %{x:.4g}, predicted %{y:.4g}<extra></extra>",
        name="samples",
    )
    return _layout(
        fig, "Predicted against true", xaxis={"title": "true"}, yaxis={"title": "predicted"}
    )


def residuals_figure(frame: pd.DataFrame) -> go.Figure:
    fig = go.Figure(
        go.Scatter(
            x=frame["prediction"],
            y=frame["error"],
            mode="markers",
            marker={"size": 5, "opacity": 0.6},
            customdata=frame["sample"],
            hovertemplate="%{customdata}: predicted %{x:.4g}, error %{y:.4g}<extra></extra>",
        )
    )
    fig.add_hline(y=0, line={"dash": "dot", "color": "#aaa"})
    return _layout(
        fig,
        "Residuals (predicted - true) against the prediction",
        xaxis={"title": "predicted"},
        yaxis={"title": "error"},
    )


def error_by_range_figure(frame: pd.DataFrame) -> go.Figure:
    bands = m.regression_errors(frame)
    fig = go.Figure(
        go.Bar(
            x=bands["target"],
            y=bands["mae"],
            customdata=bands["count"],
            hovertemplate="true values near %{x:.4g}: MAE %{y:.4g} over %{customdata}<extra></extra>",
        )
    )
    return _layout(
        fig,
        "Mean absolute error by range of the true value",
        xaxis={"title": "true value (band mean)"},
        yaxis={"title": "MAE"},
    )


def score_histogram(frame: pd.DataFrame) -> go.Figure:
    fig = go.Figure(go.Histogram(x=frame["score"], nbinsx=40))
    return _layout(
        fig,
        "Anomaly scores (reconstruction error) of the held-out samples",
        xaxis={"title": "score"},
        yaxis={"title": "samples"},
    )


def forecast_figure(frames: dict[str, pd.DataFrame]) -> go.Figure:
    """The series, the model's forecasts of the validation windows, and the next steps."""
    history, backtests, future = frames["history"], frames["backtests"], frames["next"]
    fig = go.Figure()
    fig.add_scatter(
        x=history["step"],
        y=history["value"],
        mode="lines",
        name="history",
        line={"color": "#333"},
        customdata=history["time"],
        hovertemplate="%{customdata}: %{y:.4g}<extra></extra>",
    )
    for window, part in backtests.groupby("window"):
        fig.add_scatter(
            x=part["step"],
            y=part["predicted"],
            mode="lines",
            line={"color": f.PALETTE[1], "width": 1},
            opacity=0.7,
            name="forecasts of validation windows",
            legendgroup="backtests",
            showlegend=bool(window == backtests["window"].min()),
        )
    if "lower" in future:  # the interval between the outer quantiles, as a band
        steps = list(future["step"]) + list(future["step"])[::-1]
        fig.add_scatter(
            x=steps,
            y=list(future["upper"]) + list(future["lower"])[::-1],
            mode="lines",
            fill="toself",
            fillcolor="rgba(44, 160, 44, 0.2)",
            line={"width": 0},
            name="interval of the next steps",
            hoverinfo="skip",
        )
    fig.add_scatter(
        x=future["step"],
        y=future["predicted"],
        mode="lines+markers",
        name="the next steps",
        line={"color": f.PALETTE[2], "width": 3},
    )
    return _layout(
        fig,
        "Forecasts: validation windows and the next steps",
        xaxis={"title": "step"},
        yaxis={"title": "value"},
        legend={"title": ""},
    )


def model_figures(frame: pd.DataFrame) -> dict[str, go.Figure]:
    """Every figure of a split's model view, by the kind of model."""
    if "confidence" in frame:
        return {
            "fig-confusion": confusion_figure(frame),
            "fig-roc": roc_figure(frame),
            "fig-pr": pr_figure(frame),
            "fig-calibration": calibration_figure(frame),
        }
    if "error" in frame:
        return {
            "fig-predicted": predicted_figure(frame),
            "fig-residuals": residuals_figure(frame),
            "fig-error-range": error_by_range_figure(frame),
        }
    return {"fig-scores": score_histogram(frame)}


def tree_figure(tree_json: str, classes: list[str]) -> go.Figure:
    """A sentence's parse tree, every node coloured by the label the model predicts for its
    phrase (the classes' order runs from red to green, so sentiment reads at a glance); a
    node whose given label differs is ringed in black."""
    nodes = m.tree_layout(json.loads(tree_json))
    fig = go.Figure()
    edges_x: list[float | None] = []
    edges_y: list[float | None] = []
    for row in nodes.itertuples():
        for child in row.children:
            edges_x += [row.x, nodes.x[child], None]
            edges_y += [row.y, nodes.y[child], None]
    fig.add_trace(
        go.Scatter(x=edges_x, y=edges_y, mode="lines", line={"color": "#bbb"}, hoverinfo="skip")
    )
    rank = {c: i for i, c in enumerate(classes)}
    wrong = (nodes["label"] != "") & (nodes["label"] != nodes["prediction"])
    leaves = nodes["y"] == 0
    fig.add_trace(
        go.Scatter(
            x=nodes["x"],
            y=nodes["y"],
            mode="markers+text",
            text=np.where(leaves, nodes["phrase"], ""),
            textposition="bottom center",
            marker={
                "size": 14,
                "color": [rank.get(p, 0) for p in nodes["prediction"]],
                "colorscale": "RdYlGn",
                "cmin": 0,
                "cmax": max(1, len(classes) - 1),
                "line": {"width": np.where(wrong, 2.5, 0.5), "color": "black"},
                "colorbar": {
                    "title": "predicted",
                    "tickvals": list(range(len(classes))),
                    "ticktext": classes,
                },
            },
            hovertext=[
                f"{r.phrase}<br>given {r.label or '-'}, predicted {r.prediction} "
                f"({r.confidence:.0%})"
                for r in nodes.itertuples()
            ],
            hovertemplate="%{hovertext}<extra></extra>",
        )
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, "Predicted labels of every phrase", showlegend=False)
