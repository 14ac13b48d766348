"""The model view's figures: predictions frame -> plotly Figure, one function each.

Each draws what a function of `automl.dashboard.model_data` computed. A click on a confusion
matrix cell (its x: predicted, y: true) filters the gallery.
"""

from __future__ import annotations

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
