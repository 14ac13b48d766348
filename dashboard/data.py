"""The data step of every dashboard view: a study on disk -> plain pandas tables.

The trials are read straight from Optuna's SQLite tables with a read-only connection. Through
Optuna's API (`load_study(...).get_trials()`), a study of 5 000 trials takes 3.6 s to read here;
these few queries take a fraction of that, so a large study's page renders in under 2 s. A
test checks this reader against Optuna's own on a real study, so a change of Optuna's schema
cannot go unnoticed. Nothing here imports torch or ray, or writes anything.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl.errors import ConfigError, DataError
from automl.seasonality import line_to_beat, marked_below
from automl.study import (
    CODES_MAP_FILE,
    CONFIG_FILE,
    STUDY_DB,
    check_study_name,
    exported_weights,
    list_study_names,
    read_config,
)
from automl.trial_record import (
    METRICS_FILE,
    REASON_ATTRS,
    STATUS,
    SUMMARY_FILE,
    Attr,
    rank_key,
    reason_of,
    trial_dir,
)

TRIAL_COLUMNS = [
    "trial",
    "family",
    "status",
    "score",
    "value",
    "score_spread",
    "weight",
    "val_loss",
    "n_params",
    "latency_ms",
    "epochs",
    "wall_time_s",
    "started_s",
    "ended_s",
    "reason",
    "params",
]


@dataclass(frozen=True)
class StudyData:
    """One study as the dashboard sees it.

    trials: one row per trial (TRIAL_COLUMNS; `score` is the objective of a complete trial,
    else its last reported epoch; `started_s`/`ended_s` are seconds since the study's first
    trial started; `params` holds the family's own parameters as a dict).
    curves: one row per reported epoch (trial, epoch, score).
    """

    name: str
    directory: Path
    config: dict[str, Any]
    trials: pd.DataFrame
    curves: pd.DataFrame

    @property
    def task(self) -> dict[str, Any]:
        return self.config.get("task", {})

    @property
    def unlabelled(self) -> bool:
        """A model of unlabelled data (not a forecaster, which predicts its own series)."""
        return self.task.get("target_kind") == "none"


class StudyNotFound(LookupError):
    pass


def study_path(studies_dir: Path, name: str) -> Path:
    """The directory of a listed study; any other name (a path, '..') is refused.

    Names come from the browser: they are checked against the listing of studies_dir, never
    joined to it as given, so no request reaches outside it.
    """
    try:
        check_study_name(name)
    except ConfigError as exc:  # not a study name at all ('..', a path)
        raise StudyNotFound(name) from exc
    if name not in list_study_names(studies_dir):
        raise StudyNotFound(name)
    return studies_dir / name


def study_version(study_dir: Path) -> tuple:
    """Changes whenever the search writes: the size and time of the database, its write-ahead
    log and config.json. The app reloads a study only when this changes."""
    version = []
    for name in (STUDY_DB, f"{STUDY_DB}-wal", CONFIG_FILE):
        try:
            stat = (study_dir / name).stat()
            version.append((stat.st_mtime_ns, stat.st_size))
        except FileNotFoundError:
            version.append(None)
    return tuple(version)


_LOADING = threading.Lock()
_CACHE: dict[Path, tuple[tuple, StudyData]] = {}  # each study as last read, with its version
_CACHED_STUDIES = 8


def load_study(study_dir: Path) -> StudyData:
    """Read a study; cached until it changes on disk.

    A page's callbacks ask for it at once, from the server's threads: one reads it, the
    others wait for that copy instead of each reading it again.
    """
    study_dir = Path(study_dir).resolve()
    with _LOADING:
        version = study_version(study_dir)
        cached = _CACHE.pop(study_dir, None)
        if cached is None or cached[0] != version:
            try:
                cached = version, read_study(study_dir)
            except sqlite3.DatabaseError as exc:
                # a search began writing in the instant the file was read as settled: the
                # page keeps what it showed, and the next refresh reads the log too
                if cached is None:
                    raise DataError(
                        f"{study_dir / STUDY_DB} cannot be read as a study database ({exc}); "
                        "it was damaged or is not one: run the search again into a new study."
                    ) from None
        _CACHE[study_dir] = cached  # the most recent last
        while len(_CACHE) > _CACHED_STUDIES:
            _CACHE.pop(next(iter(_CACHE)))
        return cached[1]


def read_study(study_dir: Path) -> StudyData:
    """Read a study from disk, uncached."""
    config = read_config(study_dir)
    trials, curves = _read_trials(study_dir / STUDY_DB, config.get("study_name", study_dir.name))
    trials["weight"] = trials["trial"].map(exported_weights(study_dir)).astype(float)
    return StudyData(study_dir.name, study_dir, config, trials, curves)


def _read_trials(db: Path, study_name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    empty = pd.DataFrame(columns=TRIAL_COLUMNS), pd.DataFrame(columns=["trial", "epoch", "score"])
    if not db.is_file():
        return empty
    # Without a write-ahead log beside it, no search is writing and the database is settled:
    # opened immutable, SQLite creates no -wal/-shm files, so reading leaves the study as it
    # was. While a search writes, the log exists and is read with the file (read-only).
    settled = not db.with_name(f"{db.name}-wal").exists()
    try:
        with contextlib.closing(
            sqlite3.connect(f"file:{db}?mode=ro{'&immutable=1' if settled else ''}", uri=True)
        ) as connection:
            row = connection.execute(
                "SELECT study_id FROM studies WHERE study_name = ?", (study_name,)
            ).fetchone()
            if row is None:  # the search is still creating the study
                return empty
            tables = _query_tables(connection, row[0])
    except sqlite3.OperationalError:  # the tables do not exist yet
        return empty
    return _trials_frame(*tables)


def _query_tables(connection: sqlite3.Connection, study_id: int) -> tuple[pd.DataFrame, ...]:
    of_study = "trial_id IN (SELECT trial_id FROM trials WHERE study_id = :study)"
    queries = (
        "SELECT trial_id, number, state, datetime_start, datetime_complete FROM trials"
        " WHERE study_id = :study",
        f"SELECT trial_id, value, value_type FROM trial_values WHERE objective = 0 AND {of_study}",
        f"SELECT trial_id, param_name, param_value, distribution_json FROM trial_params"
        f" WHERE {of_study}",
        f'SELECT trial_id, "key", value_json FROM trial_user_attributes WHERE {of_study}'
        f' AND "key" IN ({", ".join(repr(k) for k in _ATTRIBUTES)})',
        "SELECT trial_id, step, intermediate_value, intermediate_value_type"
        f" FROM trial_intermediate_values WHERE {of_study}",
    )
    # one transaction: a search writing meanwhile cannot make the tables disagree
    connection.execute("BEGIN")
    frames = tuple(pd.read_sql_query(q, connection, params={"study": study_id}) for q in queries)
    connection.execute("COMMIT")
    return frames


# the user attributes the views use (of those a trial records: automl.trial_record)
_ATTRIBUTES = (
    Attr.FAMILY,
    Attr.BEST_VAL_LOSS,
    Attr.N_PARAMS,
    Attr.LATENCY_MS,
    Attr.EPOCHS,
    Attr.WALL_TIME_S,
    Attr.SCORE_SPREAD,
    *REASON_ATTRS,
)
_SPECIAL = {"INF_POS": math.inf, "INF_NEG": -math.inf, "NAN": math.nan}


def _float_column(values: pd.Series, kinds: pd.Series) -> pd.Series:
    """Optuna stores infinities and NaN as a NULL value and a type."""
    return values.astype(float).where(kinds == "FINITE", kinds.map(_SPECIAL))


def _trials_frame(
    trials: pd.DataFrame,
    values: pd.DataFrame,
    params: pd.DataFrame,
    attrs: pd.DataFrame,
    steps: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    trials = trials.set_index("trial_id")
    number = trials["number"]

    curves = pd.DataFrame(
        {
            "trial": steps["trial_id"].map(number).to_numpy(),
            "epoch": steps["step"].to_numpy(),
            "score": _float_column(
                steps["intermediate_value"], steps["intermediate_value_type"]
            ).to_numpy(),
        }
    ).sort_values(["trial", "epoch"], ignore_index=True)
    last_score = curves.groupby("trial")["score"].last()

    attr = _attributes(attrs)
    start = pd.to_datetime(trials["datetime_start"])
    end = pd.to_datetime(trials["datetime_complete"])
    origin = start.min()
    value = pd.Series(
        _float_column(values["value"], values["value_type"]).to_numpy(), index=values["trial_id"]
    )

    frame = pd.DataFrame(index=trials.index)
    frame["trial"] = number
    frame["family"] = attr.get(Attr.FAMILY, pd.Series(dtype=object))
    frame["status"] = trials["state"].map(STATUS).fillna(trials["state"].str.lower())
    frame["value"] = value
    frame["score"] = frame["value"].fillna(frame["trial"].map(last_score))
    for column, key in (
        ("val_loss", Attr.BEST_VAL_LOSS),
        ("n_params", Attr.N_PARAMS),
        ("latency_ms", Attr.LATENCY_MS),
        ("epochs", Attr.EPOCHS),
        ("wall_time_s", Attr.WALL_TIME_S),
        ("score_spread", Attr.SCORE_SPREAD),
    ):
        frame[column] = pd.to_numeric(attr.get(key, pd.Series(dtype=float)), errors="coerce")
    frame["epochs"] = frame["epochs"].fillna(0).astype(int)
    frame["started_s"] = (start - origin).dt.total_seconds()
    frame["ended_s"] = (end - origin).dt.total_seconds()
    frame["weight"] = np.nan  # in the exported model: from its bundle (read_study)
    frame["reason"] = _reasons(attr, frame.index)
    frame["params"] = _family_params(params, frame.index)
    return frame.reset_index(drop=True)[TRIAL_COLUMNS], curves


def _attributes(attrs: pd.DataFrame) -> dict[str, pd.Series]:
    """User attributes as one Series per key, indexed by trial_id."""
    decoded = attrs.assign(value=attrs["value_json"].map(json.loads))
    return {
        key: group.set_index("trial_id")["value"]
        for key, group in decoded.groupby("key", sort=False)
    }


def _reasons(attr: dict[str, pd.Series], index: pd.Index) -> pd.Series:
    """Why a trial failed or stopped early, and whether it fell back to a smaller batch (the
    leaderboard's wording, automl.study.reason_of)."""
    columns = {k: attr.get(k, pd.Series(dtype=object)).to_dict() for k in REASON_ATTRS}
    reasons = []
    for tid in index:
        attrs = {k: values[tid] for k, values in columns.items() if tid in values}
        reasons.append(reason_of(attrs))
    return pd.Series(reasons, index=index, dtype=object)


def _family_params(params: pd.DataFrame, index: pd.Index) -> pd.Series:
    """Each trial's parameters but 'family', named without their 'family.' prefix, in
    Optuna's external form (a categorical is stored as the index of its choice)."""
    params = params[params["param_name"] != "family"]
    external = pd.Series(index=params.index, dtype=object)
    for dist_json, rows in params.groupby("distribution_json", sort=False):
        dist = _distribution(dist_json)
        values = rows["param_value"]
        lookup = {v: dist.to_external_repr(v) for v in values.unique()}
        external[rows.index] = values.map(lookup)
    names = params["param_name"].str.split(".", n=1).str[-1]
    out: dict[int, dict[str, Any]] = {tid: {} for tid in index}
    for tid, name, value in zip(params["trial_id"], names, external, strict=True):
        if tid in out:
            out[tid][name] = value
    return pd.Series(out, dtype=object).reindex(index)


def _distribution(dist_json: str) -> Any:
    import optuna

    return optuna.distributions.json_to_distribution(dist_json)


# --- what each view draws -------------------------------------------------------------------


def ranked(data: StudyData) -> pd.DataFrame:
    """The leaderboard, in the order every leaderboard uses (automl.trial_record.rank_key):
    complete trials by score, ties broken by the lower validation loss, then the others by
    their last score, then those with none."""
    trials = data.trials
    keys = [
        rank_key(status == "complete", score, loss, number)
        for status, score, loss, number in zip(
            trials["status"], trials["score"], trials["val_loss"], trials["trial"], strict=True
        )
    ]
    order = sorted(range(len(trials)), key=keys.__getitem__)
    frame = trials.iloc[order].reset_index(drop=True)
    frame.insert(0, "rank", range(1, len(frame) + 1))
    line = line_to_beat(data.task.get("forecast"))
    if line is not None:  # a forecaster's trials below the naive forecast say so
        marked = [
            marked_below(r, s, line) for r, s in zip(frame["reason"], frame["score"], strict=True)
        ]
        frame["reason"] = marked
    return frame


_OPERATORS = (  # DataTable's filter syntax, longest spelling first
    (">=", "ge"), ("<=", "le"), ("!=", "ne"), (">", "gt"), ("<", "lt"), ("=", "eq"),
    ("contains",), ("datestartswith",),
)  # fmt: skip


def filter_rows(frame: pd.DataFrame, query: str | None) -> pd.DataFrame:
    """Rows matching a DataTable filter query ('{score} > 0.9 && {family} contains cnn').

    The leaderboard pages, sorts and filters on the server, so a browser never receives a
    study's thousands of rows. A part naming no column of the frame, or not understood,
    filters nothing.
    """
    keep = pd.Series(True, index=frame.index)
    for part in (query or "").split(" && "):
        column, operator, value = _filter_part(part)
        if column not in frame.columns:
            continue
        values = frame[column]
        if operator == "contains":
            keep &= values.astype(str).str.contains(str(value), case=False, regex=False)
        elif operator == "datestartswith":
            keep &= values.astype(str).str.startswith(str(value))
        elif isinstance(value, float) and pd.api.types.is_numeric_dtype(values):
            keep &= getattr(values, f"__{operator}__")(value).fillna(False)
        elif operator in ("eq", "ne"):
            same = values.astype(str).str.lower() == str(value).lower()
            keep &= same if operator == "eq" else ~same
    return frame[keep]


def _filter_part(part: str) -> tuple[str | None, str | None, Any]:
    """(column, operator, value) of one condition. The table prefixes an operator with 's' or
    'i' (case-sensitive or not: '{family} scontains dbn'); text is matched ignoring case."""
    for spellings in _OPERATORS:
        for spelling in (f"{p}{s}" for s in spellings for p in ("", "s", "i")):
            token = f" {spelling} "
            if token in f" {part} ":
                name, raw = f" {part} ".split(token, 1)
                column = name[name.find("{") + 1 : name.rfind("}")]
                raw = raw.strip()
                if len(raw) > 1 and raw[0] == raw[-1] and raw[0] in "'\"`":
                    return column, spellings[-1], raw[1:-1].replace("\\" + raw[0], raw[0])
                try:
                    return column, spellings[-1], float(raw)
                except ValueError:
                    return column, spellings[-1], raw
    return None, None, None


def sort_rows(frame: pd.DataFrame, sort_by: list[dict[str, str]] | None) -> pd.DataFrame:
    """Rows in a DataTable's sort order ([{'column_id': 'score', 'direction': 'desc'}]);
    blanks last."""
    sort_by = [s for s in sort_by or [] if s.get("column_id") in frame.columns]
    if not sort_by:
        return frame
    return frame.sort_values(
        [s["column_id"] for s in sort_by],
        ascending=[s.get("direction") != "desc" for s in sort_by],
        na_position="last",
        kind="stable",
    )


def best_trial(data: StudyData) -> int | None:
    complete = data.trials[data.trials["status"] == "complete"]
    return None if complete.empty else int(ranked(data)["trial"].iloc[0])


def _complete(data: StudyData) -> pd.Series:
    return (data.trials["status"] == "complete") & data.trials["value"].notna()


def best_so_far(data: StudyData) -> pd.DataFrame:
    """The best score of a trial trained to the end, once each such trial ended, in the order
    they ended. (Optuna gives a trial stopped early its last epoch's score as its value; that
    is the score of a network not fully trained, so it is left out here.)"""
    done = data.trials[_complete(data)].sort_values(["ended_s", "trial"])
    best = done["value"].cummax()
    holder = done["family"].where(done["value"] == best).ffill()
    return pd.DataFrame(
        {
            "trial": done["trial"].to_numpy(),
            "ended_s": done["ended_s"].to_numpy(),
            "score": done["value"].to_numpy(),
            "best": best.to_numpy(),
            "family": done["family"].to_numpy(),
            "best_family": holder.to_numpy(),
        }
    )


def drawn(table: pd.DataFrame, limit: int, keep: pd.Series | None = None) -> pd.DataFrame:
    """At most `limit` rows of a table of trials to draw as points: every `keep` row (a Pareto
    front), the best-scoring half of the rest and a fixed random sample of the others, in the
    table's order. Past a thousand points a cloud says no more, and drawing it costs most of a
    large study's page."""
    if len(table) <= limit:
        return table
    kept = table[keep] if keep is not None else table.iloc[:0]
    rest = table.drop(kept.index)
    room = max(0, limit - len(kept))
    best = rest.nlargest(room // 2, "score")
    others = rest.drop(best.index)
    sample = others.sample(min(len(others), room - len(best)), random_state=0)
    return table.loc[table.index.isin(kept.index.union(best.index).union(sample.index))]


def family_scores(data: StudyData) -> pd.DataFrame:
    """Every trial that has a score, with its family and status."""
    scored = data.trials[data.trials["score"].notna()]
    return scored[["trial", "family", "status", "score"]].reset_index(drop=True)


def learning_curves(data: StudyData, trials: list[int]) -> pd.DataFrame:
    """Per-epoch validation score of the chosen trials, with training and validation loss
    where the trial's metrics.json has them."""
    curves = data.curves[data.curves["trial"].isin(trials)].copy()
    losses = []
    for number in trials:
        for row in read_json(trial_dir(data.directory, number) / METRICS_FILE) or []:
            losses.append(
                {"trial": number, "epoch": row["epoch"], "train_loss": row.get("train_loss"),
                 "val_loss": row.get("val_loss")}
            )  # fmt: skip
    if losses:
        curves = curves.merge(pd.DataFrame(losses), on=["trial", "epoch"], how="left")
    else:
        curves = curves.assign(train_loss=np.nan, val_loss=np.nan)
    return curves.reset_index(drop=True)


def parameters(data: StudyData, family: str) -> pd.DataFrame:
    """One row per scored trial of a family: its parameters as columns, then its score."""
    rows = data.trials[(data.trials["family"] == family) & data.trials["score"].notna()]
    table = pd.DataFrame(list(rows["params"]), index=rows.index)
    table = table[sorted(table.columns, key=str)]
    table.insert(0, "trial", rows["trial"])
    table["score"] = rows["score"]
    return table.reset_index(drop=True)


def importance(data: StudyData, family: str, bins: int = 5) -> pd.Series:
    """How much of the score's variance each parameter explains within a family.

    Epsilon squared: the between-group share of the variance, less what that many groups
    explain by chance (plain eta squared gives any parameter k-1/n-1 on pure noise), clipped
    at 0. Numeric parameters are binned by quantile. Cheap at any study size, comparable
    across parameter types.
    """
    table = parameters(data, family)
    score = table["score"]
    n, total = len(score), float(((score - score.mean()) ** 2).sum())
    result = {}
    for column in table.columns.drop(["trial", "score"]):
        values = table[column]
        numeric = pd.to_numeric(values, errors="coerce")
        if numeric.notna().all() and values.nunique() > bins:
            groups = pd.qcut(numeric.rank(method="first"), bins, labels=False)
        else:
            groups = as_labels(values)
        k = groups.nunique()
        if k < 2 or n <= k or total == 0:
            continue
        between = float(((score.groupby(groups).transform("mean") - score.mean()) ** 2).sum())
        within_mean_square = (total - between) / (n - k)
        result[column] = max(0.0, (between - (k - 1) * within_mean_square) / total)
    return pd.Series(result, dtype=float).sort_values(ascending=False)


def parallel_axes(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The axes of parallel coordinates over `parameters(...)`: each column's values placed
    in [0, 1] ('positions', by row), with tick marks [(position, text)]. Numbers are spaced
    evenly (log10 when they span more than two decades); choices and few-valued numbers
    become ordered categories; a trial without the parameter sits at NOT_USED_AT."""
    axes = []
    for column in [*table.columns.drop(["trial", "score"]), "score"]:
        values = table[column]
        present = values.notna()
        numeric = pd.to_numeric(values, errors="coerce")
        is_number = values[present].map(
            lambda v: isinstance(v, int | float) and not isinstance(v, bool)
        )
        if is_number.all() and numeric[present].nunique() > 8:
            log = bool(numeric[present].gt(0).all() and numeric.max() / numeric.min() > 100)
            scaled = numeric.map(math.log10) if log else numeric
            low, high = float(scaled.min()), float(scaled.max())
            span = (high - low) or 1.0
            positions = ((scaled - low) / span).where(present, NOT_USED_AT)
            ticks = [
                (p, f"{(10**v if log else v):.3g}")
                for p, v in ((0.0, low), (0.5, low + span / 2), (1.0, high))
            ]
        else:
            labels = as_labels(values)
            choices = sorted(labels.unique(), key=_choice_order)
            used = [c for c in choices if c != NOT_USED]
            place = {
                c: (i / max(1, len(used) - 1) if len(used) > 1 else 0.5) for i, c in enumerate(used)
            }
            place[NOT_USED] = NOT_USED_AT
            positions = labels.map(place)
            ticks = [(place[c], c) for c in choices]
        if (~present).any() and not any(t == NOT_USED for _, t in ticks):
            ticks.append((NOT_USED_AT, NOT_USED))
        axes.append({"label": column, "positions": positions.astype(float), "ticks": ticks})
    return axes


def _choice_order(label: str) -> tuple:
    """Numbers in numeric order, then words; 'not used' first."""
    if label == NOT_USED:
        return (0, 0.0, "")
    try:
        return (1, float(label), "")
    except ValueError:
        return (2, 0.0, label)


NOT_USED_AT = -0.1  # where parallel coordinates put a parameter a trial does not have
NOT_USED = "not used"  # a conditional parameter the trial's other choices left out


def as_labels(values: pd.Series) -> pd.Series:
    """A parameter's values as text ('0.00316', 'relu', 'True'), with NOT_USED where the trial
    has none."""
    return values.map(_label).astype(object)


def _label(value: Any) -> str:
    if value is None or value != value:
        return NOT_USED
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def pareto(data: StudyData, cost: str = "n_params") -> pd.DataFrame:
    """Complete trials with their cost, and whether each is on the Pareto front (no other
    trial is at least as good on both score and cost and better on one). Trials stopped early
    are left out: their score is of a network not trained to the end."""
    table = data.trials[_complete(data) & data.trials[cost].notna()]
    table = table[["trial", "family", "status", "score", cost]].sort_values(
        [cost, "score"], ascending=[True, False]
    )
    front, best = [], -math.inf
    for score in table["score"]:
        front.append(score > best)
        best = max(best, score)
    return table.assign(on_front=front).reset_index(drop=True)


def architecture(data: StudyData, trial: int) -> dict[str, Any] | None:
    """The trial's summary.json: family, parameters, n_params and layers (name, type,
    output_shape, params), or None when the trial has none."""
    return read_json(trial_dir(data.directory, trial) / SUMMARY_FILE)


def codes_map(data: StudyData) -> pd.DataFrame | None:
    """For an unlabelled study: a sample of the data's codes under the best model, projected
    to 2-D, with each sample's anomaly score."""
    stored = read_json(data.directory / CODES_MAP_FILE)
    if stored is None:
        return None
    table = pd.DataFrame(stored["points"], columns=["sample", "x", "y", "anomaly_score"])
    table.attrs["axes"] = tuple(stored.get("axes", ("component 1", "component 2")))
    return table


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):  # not written yet, or being written
        return None


def describe_params(params: Any) -> str:
    """A trial's parameters on one line: 'lr=0.00316, n_layers=2'."""
    if not isinstance(params, dict):
        return ""
    return ", ".join(f"{k}={f'{v:.3g}' if isinstance(v, float) else v}" for k, v in params.items())


def study_overview(studies_dir: Path) -> pd.DataFrame:
    """One row per study: name, task, families, trials, best score."""
    rows = []
    for name in list_study_names(studies_dir):
        data = load_study(studies_dir / name)
        best = data.trials.loc[_complete(data), "value"].max() if len(data.trials) else None
        rows.append(
            {
                "study": name,
                "task": data.task.get("row", "?"),
                "families": ", ".join(data.task.get("families", [])),
                "trials": len(data.trials),
                "best": None if best is None or pd.isna(best) else float(best),
            }
        )
    return pd.DataFrame(rows, columns=["study", "task", "families", "trials", "best"])
