"""AutoDeep: the scikit-learn-style front of the search."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from automl.errors import DataError


def _keep_arguments(estimator: BaseEstimator, arguments: dict[str, Any]) -> None:
    """Store each constructor argument unchanged under its own name, as scikit-learn's
    get_params / clone expect (and nothing else)."""
    for name, value in arguments.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


class _Search(BaseEstimator):
    """The search behind every estimator here: fit, predict, the leaderboard, export."""

    def fit(self, X: Any, y: Any = None) -> _Search:
        from automl.data import from_memory
        from automl.options import FitOptions
        from automl.pipeline import fit_dataset

        started = time.monotonic()
        seed = None if self.random_state is None else int(self.random_state)
        options = FitOptions.parse({**self.get_params(), "task": self.task, "seed": seed})
        dataset = from_memory(
            X, y, modality=self.modality, horizon=self.horizon, sample_rate=self.sample_rate
        )
        result = fit_dataset(dataset, options, started)
        self.task_ = result.task
        self.model_ = result.predictor
        self.study_dir_ = result.study_dir
        self.best_params_ = result.members[0].params
        self.best_score_ = result.validation_score
        if dataset.modality in ("table", "image"):
            self.n_features_in_ = int(np.prod(dataset.data_shape[1:]))
        if isinstance(X, pd.DataFrame) and dataset.modality == "table":
            self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        if self.task_.is_classification:
            self.classes_ = self.model_.classes_
        if isinstance(y, pd.Series) and y.name is not None:
            self.target_name_ = str(y.name)
        return self

    def _check_fitted(self) -> None:
        check_is_fitted(self, "model_")

    def _checked(self, X: Any) -> Any:
        """X, once the estimator is fitted and X has the training table's features. An array
        given to a model fitted on a DataFrame is read as its columns in order (with
        scikit-learn's warning); a DataFrame's columns are matched by name when it is read."""
        self._check_fitted()
        n = getattr(self, "n_features_in_", None)
        if n is None or self.task_.modality != "table" or isinstance(X, pd.DataFrame):
            return X
        shape = np.shape(X) if isinstance(X, np.ndarray | list) else ()
        if len(shape) == 2 and shape[1] != n:
            raise DataError(
                f"X has {shape[1]} features, but {type(self).__name__} is expecting {n} "
                "features as input (the training table's columns, in the same order)."
            )
        names = getattr(self, "feature_names_in_", None)
        if len(shape) == 2 and names is not None:
            warnings.warn(
                f"X does not have valid feature names, but {type(self).__name__} was fitted "
                "with feature names; its columns are read in the training order.",
                UserWarning,
                stacklevel=3,
            )
            return pd.DataFrame(np.asarray(X), columns=list(names))
        return X

    def set_output(self, *, transform: str | None = None) -> _Search:
        """transform="pandas": predict gives a Series, predict_proba and transform give
        DataFrames (class or code columns), indexed like X when X is a DataFrame. Also
        follows sklearn.set_config(transform_output="pandas")."""
        if transform is not None:
            self._sklearn_output_config = {"transform": transform}
        return self

    def _pandas_output(self) -> bool:
        from sklearn import get_config

        chosen = getattr(self, "_sklearn_output_config", {}).get("transform", "default")
        return (chosen if chosen != "default" else get_config()["transform_output"]) == "pandas"

    def _wrap(self, values: np.ndarray, X: Any, columns: list[str] | None = None) -> Any:
        if not self._pandas_output():
            return values
        index = X.index if isinstance(X, pd.DataFrame | pd.Series) else None
        if columns is None:
            return pd.Series(values, index=index, name=getattr(self, "target_name_", None))
        return pd.DataFrame(values, index=index, columns=columns)

    def predict(self, X: Any) -> np.ndarray:
        checked = self._checked(X)  # before self.model_ is looked up: NotFittedError first
        return self._wrap(self.model_.predict(checked), X)

    gives_probabilities = True

    @available_if(lambda estimator: estimator.gives_probabilities)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (columns in the order of `classes_`); classification only."""
        checked = self._checked(X)
        probabilities = self.model_.predict_proba(checked)
        return self._wrap(probabilities, X, [str(c) for c in self.classes_])

    def leaderboard(self) -> pd.DataFrame:
        """One row per trial of the search, best first."""
        from automl.study import leaderboard

        self._check_fitted()
        return leaderboard(self.study_dir_)

    def export(self, path: str | Path, format: str = "bundle") -> Path:
        """Write the best model: a bundle directory (load it with `automl.load`), or with
        format="onnx" / "pt2" its network as a graph checked against it on sample inputs
        (`path` a directory, or a .onnx / .pt2 file with its JSON beside it)."""
        from automl.export import export_model

        self._check_fitted()
        return export_model(self.study_dir_, path, format)


class AutoDeep(_Search):
    """Search deep architectures for (X, y) within a time budget and keep the best network.

    The families searched follow the decision table (tables: MLP, DBN; images: CNN, DBN; text,
    audio and series: recurrent nets; no y: autoencoders and RBMs); Ray Tune runs Optuna's
    trials and the study is stored in `studies_dir/<study>/`. X may be a 2-D array or
    DataFrame (a table), an (n, H, W[, C]) array (images), a list of strings (text), a list of
    (T_i, F) arrays or a NaN-padded (n, T, F) array with modality="series", waveforms with
    modality="audio" and `sample_rate`, or series to forecast `horizon` steps ahead (one series,
    or a long DataFrame with an id column: one model for all; `quantiles` sets the levels of
    `predict_quantiles`, the median being `predict`'s). Without y the model learns
    codes of `code_size` units (searched when None): `transform` gives them and `score_samples`
    gives anomaly scores.

    `budget` bounds the whole fit (None: 10 minutes). `resume=True` continues the named `study`
    after a crash or a stop, spending what is left of its budget (or of `budget`, its new
    total). `max_trials`, `concurrent_trials` (1: a seeded search repeats exactly),
    `trial_timeout`, `gpus_per_trial` (a fraction shares a GPU) and `selection` ("cv",
    "holdout", or "auto": k-fold cross-validation up to 2 000 labelled rows) are as on the
    command line.

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
        max_epochs: int | None = None,
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
        quantiles: list[float] | None = None,
        selection: str = "auto",
    ) -> None:
        _keep_arguments(self, locals())

    def predict_quantiles(self, X: Any) -> np.ndarray:
        """A forecaster's next `horizon` values at its quantile levels (`quantiles`, default
        0.1, 0.5, 0.9; the median is `predict`'s): (horizon, Q) for one series, (n, horizon,
        Q) for several."""
        self._check_fitted()
        return self.model_.predict_quantiles(X)

    def transform(self, X: Any) -> np.ndarray:
        """Codes of a model of unlabelled data (fit without y)."""
        checked = self._checked(X)
        codes = self.model_.transform(checked)
        return self._wrap(codes, X, list(self.get_feature_names_out()))

    def inverse_transform(self, X: Any) -> Any:
        """Codes (from `transform`) back to data through the model's decoder, as
        scikit-learn's PCA does: grey images (n, H, W) or colour (n, H, W, C), series
        (n, T, F), or a DataFrame of the training columns."""
        self._check_fitted()
        codes = X.to_numpy() if hasattr(X, "to_numpy") else X
        return self._as_fitted(self.model_.inverse_transform(codes))

    def reconstruct(self, X: Any) -> Any:
        """The model's reconstruction of X, as data (inverse_transform(transform(X)))."""
        checked = self._checked(X)  # not fitted: scikit-learn's NotFittedError first
        return self._as_fitted(self.model_.reconstruct(checked))

    def _as_fitted(self, data: Any) -> Any:
        """A table comes back as a DataFrame when fitted on one, else as the array it was."""
        if isinstance(data, pd.DataFrame) and getattr(self, "feature_names_in_", None) is None:
            return data.to_numpy(dtype=np.float64)
        return data

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The names of `transform`'s columns: code_0, code_1, ..."""
        self._check_fitted()
        from automl.export import example_inputs

        width = self.model_.codes(example_inputs(self.task_, 1)).shape[1]
        return np.asarray([f"code_{i}" for i in range(width)], dtype=object)

    def score_samples(self, X: Any) -> np.ndarray:
        """Anomaly scores of a model of unlabelled data: reconstruction error per sample."""
        checked = self._checked(X)
        return self._wrap(self.model_.score_samples(checked), X)

    def score(self, X: Any, y: Any) -> float:
        """Accuracy for classification, R^2 for regression."""
        self._check_fitted()
        predictions = self.predict(X)
        y = np.asarray(y)
        if self.task_.is_classification:
            return float(accuracy_score(y, predictions))
        return float(r2_score(y, predictions))


class _Supervised(_Search):
    """AutoDeep for one kind of target, with scikit-learn's estimator contract: the task is
    fixed by the class (so a classifier treats numeric labels as classes and a regressor
    integer targets as values); y is required."""

    horizon = None  # forecasting and unlabelled data are AutoDeep's, not these estimators'
    code_size = None
    quantiles = None

    def __init__(
        self,
        budget: str | float | None = None,
        families: list[str] | None = None,
        random_state: int | None = None,
        studies_dir: str | Path = "studies",
        study: str | None = None,
        max_epochs: int | None = None,
        address: str | None = None,
        verbose: bool = True,
        modality: str = "auto",
        sample_rate: int | None = None,
        max_trials: int | None = None,
        concurrent_trials: int | None = None,
        trial_timeout: str | float | None = None,
        gpus_per_trial: float | None = None,
        resume: bool = False,
        selection: str = "auto",
    ) -> None:
        _keep_arguments(self, locals())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # a table's missing values are imputed
        return tags

    def fit(self, X: Any, y: Any) -> _Supervised:
        name = type(self).__name__
        if y is None:
            raise DataError(
                f"{name} requires y to be passed, but the target y is None; for unlabelled "
                "data use AutoDeep().fit(X)."
            )
        if not isinstance(y, pd.Series | pd.DataFrame):  # a Series keeps its name
            y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:  # a column vector, as scikit-learn allows
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected; it is read as "
                "y.ravel().",
                DataConversionWarning,
                stacklevel=2,
            )
            y = y.iloc[:, 0] if isinstance(y, pd.DataFrame) else y.ravel()
        if self.task == "classification" and y.ndim == 1:
            kind = type_of_target(np.asarray(y)) if len(y) else "unknown"
            if kind == "continuous":
                raise DataError(
                    f"Unknown label type: continuous. {name} needs class labels; for numeric "
                    "values use AutoDeepRegressor."
                )
        return super().fit(X, y)


class AutoDeepClassifier(ClassifierMixin, _Supervised):
    """Architecture search for classification: labels may be strings or numbers.

    >>> clf = AutoDeepClassifier(budget="2m").fit(X, y)   # doctest: +SKIP
    >>> clf.predict_proba(X_new)                          # doctest: +SKIP
    """

    task = "classification"


class AutoDeepRegressor(RegressorMixin, _Supervised):
    """Architecture search for regression: a numeric target, integers included.

    >>> reg = AutoDeepRegressor(budget="2m").fit(X, y)    # doctest: +SKIP
    """

    task = "regression"
    gives_probabilities = False  # so hasattr(reg, 'predict_proba') is False
