"""Studies on disk: where they live, how they are named, and reading them back.

A study directory (`studies/<name>/`) is the single source of truth of a search:
study.db (Optuna), config.json, trials/<n>/, ray/ and best/. This module reads them with
Optuna and pandas only, so the dashboard can use it without torch or ray.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from automl.errors import ConfigError
from automl.seasonality import line_to_beat, marked_below
from automl.trial_record import INTERRUPTED, Attr, TrialRecord, ranked

DEFAULT_STUDIES_DIR = "studies"
STUDY_DB = "study.db"
CONFIG_FILE = "config.json"
BEST_DIR = "best"
BUNDLE_FILE = "bundle.json"  # a bundle's config, in best/ (automl.bundle reads it)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")

CODES_MAP_FILE = "codes_map.json"  # an unlabelled study's sample of codes in 2-D (the finish)
# the exported model's held-out predictions, for the dashboard's model view (the finish;
# automl.model_records), a classifier's probabilities in columns proba::<class>
PREDICTIONS_FILE = "predictions.parquet"
PROBABILITY_PREFIX = "proba::"
# a forecaster's instead: the history, its forecasts of the validation windows and the next steps
FORECAST_FILE = "forecast.json"


def seen_first(frame: pd.DataFrame) -> pd.Index:
    """The order the model view lists samples in: mistakes (the surest first) then the rest,
    the largest errors, or the highest anomaly scores."""
    if "correct" in frame:
        return frame.sort_values(["correct", "confidence"], ascending=[True, False]).index
    if "error" in frame:
        return frame["error"].abs().sort_values(ascending=False).index
    return frame["score"].sort_values(ascending=False).index


LEADERBOARD_COLUMNS = [
    "rank",
    "trial",
    "family",
    "status",
    "score",
    "spread",  # cross-validated: the standard deviation of the folds' scores
    "weight",  # its share of the exported model (ensemble selection); blank: not in it
    "val_loss",
    "n_params",
    "epochs",
    "wall_time_s",
    "reason",
    "params",
]


def safe_study_name(text: str) -> str:
    """A file-system-safe study name: letters, digits, '.', '_' and '-' only."""
    name = _SAFE_NAME.sub("-", text).strip("-.")
    return name or "study"


def check_study_name(requested: str) -> str:
    name = safe_study_name(requested)
    if name != requested:
        raise ConfigError(
            f"Study names may use letters, digits, '.', '_' and '-'; got '{requested}'. "
            f"Try '{name}'."
        )
    return name


def check_new_study(studies_dir: Path, requested: str | None) -> None:
    """Fail before any work when a requested study name is taken."""
    if requested is not None and (studies_dir / check_study_name(requested)).exists():
        raise ConfigError(
            f"The study '{requested}' already exists in {studies_dir}; continue it with "
            "--resume, choose another --study name, or delete that folder."
        )


def new_study_dir(studies_dir: Path, requested: str | None, default_base: str) -> Path:
    """Create the directory of a new study and return it.

    A requested name must be free; without one, the data's name is used, with -2, -3, ...
    appended until it is free. Creation is atomic (mkdir), so two searches started at once
    into the same studies dir never share a study.
    """
    studies_dir.mkdir(parents=True, exist_ok=True)
    if requested is not None:
        path = studies_dir / check_study_name(requested)
        try:
            path.mkdir()
        except FileExistsError:
            check_new_study(studies_dir, requested)  # raises: the name was taken meanwhile
        return path
    base = safe_study_name(default_base)
    for n in itertools.count(1):
        path = studies_dir / (base if n == 1 else f"{base}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise AssertionError("unreachable")


def existing_study_dir(studies_dir: Path, requested: str | None) -> Path:
    """The directory of a study to resume; it must hold a started search."""
    if requested is None:
        raise ConfigError("--resume needs the --study name of the search to continue.")
    path = studies_dir / check_study_name(requested)
    if not (path / CONFIG_FILE).is_file():
        known = ", ".join(list_study_names(studies_dir)[:10]) or "none"
        raise ConfigError(
            f"There is no study '{requested}' in {studies_dir}/ to resume (known: {known}); "
            "leave --resume out to start it."
        )
    return path


_RERUN = f"{INTERRUPTED}: the search process stopped while this trial ran; re-run on --resume"
_DISCARDED = f"{INTERRUPTED} before its parameters were chosen; discarded on --resume"


def close_interrupted_trials(study_dir: Path) -> list[dict[str, Any]]:
    """Mark the trials a killed search left RUNNING as failed, saying so, and return the
    parameters of those to run again (a trial killed before it had them all is discarded)."""
    import optuna

    storage = open_storage(study_dir)
    study_id = storage.get_study_id_from_name(read_config(study_dir)["study_name"])
    rerun = []
    for trial in storage.get_all_trials(study_id, states=(optuna.trial.TrialState.RUNNING,)):
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
        # the space function sets run_id after the last parameter: without it, the kill came
        # while the parameters were being chosen, and they are incomplete
        chosen = Attr.RUN_ID in trial.user_attrs
        storage.set_trial_user_attr(trial_id, Attr.FAIL_REASON, _RERUN if chosen else _DISCARDED)
        storage.set_trial_state_values(trial_id, optuna.trial.TrialState.FAIL)
        if chosen:
            rerun.append(dict(trial.params))
    return rerun


def seconds_spent(study_dir: Path, config: dict[str, Any]) -> float:
    """Budget used by the study's earlier runs. A run that was killed has no end recorded:
    its last trial event (a start or an end) stands for it."""
    spent = 0.0
    runs = config.get("runs", [])
    unfinished = {run["run_id"] for run in runs if run.get("ended_at") is None}
    last_event: dict[str, float] = {}
    if unfinished:
        for trial in load_trials(study_dir):
            run_id = trial.user_attrs.get(Attr.RUN_ID)
            if run_id in unfinished:
                moments = [m for m in (trial.datetime_start, trial.datetime_complete) if m]
                for moment in moments:
                    last_event[run_id] = max(last_event.get(run_id, 0.0), moment.timestamp())
    for run in runs:
        ended = run.get("ended_at") or last_event.get(run["run_id"], run["started_at"])
        spent += max(0.0, ended - run["started_at"])
    return spent


def resolve_study_dir(name_or_dir: str | Path, studies_dir: Path | None = None) -> Path:
    """Accept a study name (looked up in studies_dir) or a study directory."""
    candidate = Path(name_or_dir).expanduser()
    if (candidate / STUDY_DB).is_file() or (candidate / CONFIG_FILE).is_file():
        return candidate
    base = Path(studies_dir or DEFAULT_STUDIES_DIR)
    named = base / safe_study_name(str(name_or_dir))
    if str(name_or_dir) == safe_study_name(str(name_or_dir)) and (named / CONFIG_FILE).is_file():
        return named
    known = ", ".join(list_study_names(base)[:10]) or "none"
    raise ConfigError(
        f"No study '{name_or_dir}' (looked for it as a directory and in {base}/; known: {known})."
    )


def list_study_names(studies_dir: Path) -> list[str]:
    if not studies_dir.is_dir():
        return []
    return sorted(p.name for p in studies_dir.iterdir() if (p / CONFIG_FILE).is_file())


def read_config(study_dir: Path) -> dict[str, Any]:
    return json.loads((study_dir / CONFIG_FILE).read_text())


def write_json(path: Path, payload: Any, indent: int = 1) -> None:
    """Write a study's JSON file atomically: a reader (the dashboard) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=indent, default=str))
    tmp.replace(path)


def write_config(study_dir: Path, config: dict[str, Any]) -> None:
    write_json(study_dir / CONFIG_FILE, config, indent=2)


def storage_url(study_dir: Path) -> str:
    return f"sqlite:///{(study_dir / STUDY_DB).resolve()}"


def open_storage(study_dir: Path) -> Any:
    """The study's Optuna storage, tuned for one writer and concurrent readers.

    WAL journaling lets the dashboard read while the search writes; synchronous=NORMAL drops
    the fsync per commit (about 16 ms each here), which the driver pays for every report.
    A crash can lose the last commits, never corrupt the file.
    """
    import sqlite3

    import optuna
    from sqlalchemy import event

    study_dir.mkdir(parents=True, exist_ok=True)
    # closing(): sqlite3's own context manager commits but leaves the connection open
    with contextlib.closing(sqlite3.connect(study_dir / STUDY_DB)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")  # persistent: stored in the file

    storage = optuna.storages.RDBStorage(
        storage_url(study_dir), engine_kwargs={"connect_args": {"timeout": 60}}
    )

    def tune_connection(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    event.listen(storage.engine, "connect", tune_connection)
    storage.engine.dispose()  # connections opened before the listener reconnect with it
    return storage


def _schema_ready(db: Path) -> bool:
    """Whether the search has finished creating the study database's tables.

    Opening an Optuna storage on a database without them creates them: a reader arriving in
    the moment the search does the same would race it (both insert the schema version, one
    fails). So a reader looks first, read-only, and opens the storage only once they exist.
    """
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as connection:
            return (
                connection.execute("SELECT version_num FROM alembic_version").fetchone() is not None
            )
    except sqlite3.Error:
        return False


def load_trials(study_dir: Path) -> list[Any]:
    """All Optuna trials of the study (FrozenTrial), read-only; none while the search is still
    creating the study."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if not _schema_ready(study_dir / STUDY_DB):
        return []
    name = read_config(study_dir)["study_name"]
    try:
        study = optuna.load_study(study_name=name, storage=storage_url(study_dir))
    except KeyError:  # the tables exist, the study's row not yet
        return []
    return study.get_trials(deepcopy=False)


def load_records(study_dir: Path) -> list[TrialRecord]:
    """Every trial of the study as a TrialRecord, in trial order."""
    return [TrialRecord.from_trial(t) for t in load_trials(study_dir)]


def exported_weights(study_dir: Path) -> dict[int, float]:
    """Trial number -> its weight in the exported model ({} before the finish)."""
    try:
        members = json.loads((Path(study_dir) / BEST_DIR / BUNDLE_FILE).read_text())["members"]
    except (OSError, ValueError, KeyError):
        return {}
    return {int(m["trial"]): float(m.get("weight", 1.0 / len(members))) for m in members}


def leaderboard(study_dir: Path) -> pd.DataFrame:
    """One row per trial, best first: rank, family, status, score (cross-validated: the
    folds' pooled score, and their spread), weight in the exported model, size, epochs, time,
    reason (for a forecaster, "worse than seasonal naive" where a trial scored below it)."""
    rows = []
    line = line_to_beat(read_config(study_dir).get("task", {}).get("forecast"))
    weights = exported_weights(study_dir)
    for record in ranked(load_records(study_dir)):
        family = record.family
        reason = marked_below(record.reason, record.score, line)
        params = {k: v for k, v in record.params.items() if k.startswith(f"{family}.")}
        rows.append(
            {
                "trial": record.number,
                "family": family,
                "status": record.status,
                "score": record.score,
                "spread": record.get(Attr.SCORE_SPREAD),
                "weight": weights.get(record.number),
                "val_loss": record.get(Attr.BEST_VAL_LOSS),
                "n_params": record.get(Attr.N_PARAMS),
                "epochs": record.get(Attr.EPOCHS, 0),
                "wall_time_s": record.get(Attr.WALL_TIME_S),
                "reason": reason,
                "params": json.dumps(params, default=str),
            }
        )
    frame = pd.DataFrame(rows, columns=[c for c in LEADERBOARD_COLUMNS if c != "rank"])
    frame.insert(0, "rank", range(1, len(frame) + 1))
    return frame
