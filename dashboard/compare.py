"""Studies side by side: what a longer budget or another family set bought.

`comparison` gives one row per study (task, budget, trials, best search score, the exported
model's validation and test scores, its members); `compare_curves` the best-so-far curve of
each; `compare_figure` draws them together. The dashboard's /compare/<a>,<b> page shows all
three; each is usable from Python:

    comparison(studies_dir, ["digits-10m", "digits-1h"])
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from automl.dashboard import data as d
from automl.dashboard import figures as f
from automl.study import BEST_DIR, BUNDLE_FILE


def exported(study_dir: Path) -> dict:
    """The study's exported model as its bundle.json says ({} before the finish)."""
    return d.read_json(study_dir / BEST_DIR / BUNDLE_FILE) or {}


def comparison(studies_dir: Path, names: list[str]) -> pd.DataFrame:
    """One row per named study, in the order given."""
    rows = []
    for name in names:
        study = d.load_study(d.study_path(studies_dir, name))
        bundle = exported(study.directory)
        curve = d.best_so_far(study)
        members = bundle.get("members", [])
        rows.append(
            {
                "study": name,
                "task": study.task.get("row", "?"),
                "metric": bundle.get("metric", study.task.get("metric", "")),
                "budget_s": study.config.get("budget_s"),
                "budget_used_s": study.config.get("budget_used_s"),
                "trials": len(study.trials),
                "best_search_score": None if curve.empty else float(curve["best"].max()),
                "validation_score": bundle.get("validation_score"),
                "test_score": bundle.get("test_score"),
                "exported": ", ".join(f"trial {m['trial']} ({m['family']})" for m in members),
            }
        )
    return pd.DataFrame(rows)


def compare_curves(studies_dir: Path, names: list[str]) -> pd.DataFrame:
    """Each study's best score so far against minutes of search, stacked (study, minutes, best)."""
    parts = []
    for name in names:
        curve = d.best_so_far(d.load_study(d.study_path(studies_dir, name)))
        parts.append(
            pd.DataFrame({"study": name, "minutes": curve["ended_s"] / 60, "best": curve["best"]})
        )
    return (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["study", "minutes", "best"])
    )


def compare_figure(curves: pd.DataFrame) -> go.Figure:
    title = "Best so far, study by study"
    if curves.empty:
        return f.empty_figure(title, "no trial of these studies has completed")
    # points too: a study of one trial is one point
    fig = f.add_lines_by(
        go.Figure(), curves, "study", "minutes", "best", line={"shape": "hv"}, mode="lines+markers"
    )
    return f.layout(
        fig,
        title,
        xaxis={"title": "wall time (min)"},
        yaxis={"title": "best score"},
        legend={"title": "study"},
    )


def members(studies_dir: Path, names: list[str]) -> pd.DataFrame:
    """The exported model of each study: its member trials, families and parameters."""
    rows = []
    for name in names:
        for member in exported(d.study_path(studies_dir, name)).get("members", []):
            family = member.get("family")
            params = {
                k.removeprefix(f"{family}."): v
                for k, v in member.get("params", {}).items()
                if k != "family"
            }
            rows.append(
                {
                    "study": name,
                    "trial": member.get("trial"),
                    "family": family,
                    "validation_score": member.get("validation_score"),
                    "params": d.describe_params(params),
                }
            )
    return pd.DataFrame(rows, columns=["study", "trial", "family", "validation_score", "params"])
