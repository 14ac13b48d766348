"""AutoDeep: the scikit-learn-style front of the search."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.metrics import accuracy_score, r2_score

from automl.budget import parse_budget, parse_duration
from automl.errors import NotFittedError


class AutoDeep(BaseEstimator):
    """Search deep architectures for (X, y) within a time budget and keep the best network.

    The families searched follow the decision table (tables: MLP, DBN; images: CNN, DBN; text,
    audio and series: recurrent nets; no y: autoencoders and RBMs); Ray Tune runs Optuna's
    trials and the study is stored in `studies_dir/<study>/`. X may be a 2-D array or
    DataFrame (a table), an (n, H, W[, C]) array (images), a list of strings (text), a list of
    (T_i, F) arrays or a NaN-padded (n, T, F) array with modality="series", waveforms with
    modality="audio" and `sample_rate`, or one series to forecast `horizon` steps ahead. Without y the model learns
    codes of `code_size` units (searched when None): `transform` gives them and `score_samples`
    gives anomaly scores.

    `budget` bounds the whole fit (None: 10 minutes). `resume=True` continues the named `study`
    after a crash or a stop, spending what is left of its budget (or of `budget`, its new
    total). `max_trials`, `concurrent_trials` (1: a seeded search repeats exactly),
    `trial_timeout` and `gpus_per_trial` (a fraction shares a GPU) are as on the command line.

    >>> from sklearn.datasets import load_breast_cancer
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> est = AutoDeep(budget="2m", random_state=0).fit(X, y)     # doctest: +SKIP
    >>> est.score(X, y), est.leaderboard().head()                # doctest: +SKIP
    """

    def __init__(
        self,
        budget: str | float | None = None,
        task: str = "auto",
        families: list[str] | None = None,
        random_state: int | None = None,
        studies_dir: str | Path = "studies",
        study: str | None = None,
        max_epochs: int = 30,
        address: str | None = None,
        verbose: bool = True,
        modality: str = "auto",
        horizon: int | None = None,
        sample_rate: int | None = None,
        code_size: int | None = None,
        max_trials: int | None = None,
        concurrent_trials: int | None = None,
        trial_timeout: str | float | None = None,
        gpus_per_trial: float | None = None,
        resume: bool = False,
    ) -> None:
        self.budget = budget
        self.task = task
        self.families = families
        self.random_state = random_state
        self.studies_dir = studies_dir
        self.study = study
        self.max_epochs = max_epochs
        self.address = address
        self.verbose = verbose
        self.modality = modality
        self.horizon = horizon
        self.sample_rate = sample_rate
        self.code_size = code_size
        self.max_trials = max_trials
        self.concurrent_trials = concurrent_trials
        self.trial_timeout = trial_timeout
        self.gpus_per_trial = gpus_per_trial
        self.resume = resume

    def fit(self, X: Any, y: Any = None) -> AutoDeep:
        from automl.data import from_memory
        from automl.pipeline import FitOptions, fit_dataset

        started = time.monotonic()
        budget_s = parse_budget(self.budget) if self.budget is not None else None
        timeout_s = None
        if self.trial_timeout is not None:
            timeout_s = parse_duration(self.trial_timeout, "trial_timeout")
        families = [self.families] if isinstance(self.families, str) else self.families
        options = FitOptions(
            budget_s=budget_s,
            task=self.task,
            families=list(families) if families else None,
            seed=0 if self.random_state is None else int(self.random_state),
            studies_dir=Path(self.studies_dir),
            study=self.study,
            address=self.address,
            max_epochs=self.max_epochs,
            code_size=self.code_size,
            verbose=bool(self.verbose),
            resume=bool(self.resume),
            max_trials=self.max_trials,
            concurrent_trials=self.concurrent_trials,
            trial_timeout_s=timeout_s,
            gpus_per_trial=self.gpus_per_trial,
        )
        dataset = from_memory(
            X, y, modality=self.modality, horizon=self.horizon, sample_rate=self.sample_rate
        )
        result = fit_dataset(dataset, options, started)
        self.task_ = result.task
        self.model_ = result.predictor
        self.study_dir_ = result.study_dir
        self.best_params_ = result.members[0]["params"]
        self.best_score_ = result.validation_score
        if dataset.modality in ("table", "image"):
            self.n_features_in_ = int(np.prod(dataset.data_shape[1:]))
        if isinstance(X, pd.DataFrame) and dataset.modality == "table":
            self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        if self.task_.is_classification:
            self.classes_ = self.model_.classes_
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(X, y) first."
            )

    def predict(self, X: Any) -> np.ndarray:
        self._check_fitted()
        return self.model_.predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        self._check_fitted()
        return self.model_.predict_proba(X)

    def transform(self, X: Any) -> np.ndarray:
        """Codes of a model of unlabelled data (fit without y)."""
        self._check_fitted()
        return self.model_.transform(X)

    def score_samples(self, X: Any) -> np.ndarray:
        """Anomaly scores of a model of unlabelled data: reconstruction error per sample."""
        self._check_fitted()
        return self.model_.score_samples(X)

    def score(self, X: Any, y: Any) -> float:
        """Accuracy for classification, R^2 for regression."""
        self._check_fitted()
        predictions = self.predict(X)
        y = np.asarray(y)
        if self.task_.is_classification:
            return float(accuracy_score(y, predictions))
        return float(r2_score(y, predictions))

    def leaderboard(self) -> pd.DataFrame:
        """One row per trial of the search, best first."""
        from automl.study import leaderboard

        self._check_fitted()
        return leaderboard(self.study_dir_)

    def export(self, directory: str | Path) -> Path:
        """Copy the best model's bundle to `directory` (load it with `automl.load`)."""
        import shutil

        from automl.study import BEST_DIR

        self._check_fitted()
        target = Path(directory)
        shutil.copytree(self.study_dir_ / BEST_DIR, target, dirs_exist_ok=True)
        return target
