"""The Predictor: a trained network with its preprocessing, predicting on raw data in memory.

>>> predictor = automl.load("studies/digits/best")     # doctest: +SKIP
>>> predictor.predict(X_new)                            # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from automl.data import ReadOptions, features_from_memory
from automl.data.tables import numeric_values, read_dated
from automl.errors import DataError
from automl.forecaster import median_index
from automl.preprocessing import Preprocessing
from automl.preprocessing.forecast import without_missing_end
from automl.runtime import GraphNetwork, GraphRunner, TorchNetwork
from automl.task_info import TaskInfo


class Predictor:
    """Classifiers and regressors predict labels or values; a forecaster predicts the next
    `horizon` values after each series it is given; a model of unlabelled data predicts
    anomaly scores (reconstruction error per sample) and `transform` gives its codes.

    The network is the PyTorch `model`, or an exported graph's `runner` (then `model` is
    None); `config` is the bundle's JSON.
    """

    def __init__(
        self,
        model: nn.Module | None,
        config: dict[str, Any],
        task: TaskInfo,
        preprocessing: Preprocessing,
        runner: GraphRunner | None = None,
        decoder: GraphRunner | None = None,
    ) -> None:
        self.model = model
        self.config = config
        self.task = task
        self.preprocessing = preprocessing
        self.network = TorchNetwork(model) if model is not None else GraphNetwork(runner, decoder)

    @property
    def has_tree_network(self) -> bool:
        """Whether a network composes parse trees (an RNTN: `predict --nodes` works)."""
        modules = self.model.modules() if self.model is not None else []
        return any(hasattr(module, "node_outputs") for module in modules)

    @property
    def classes_(self) -> np.ndarray | None:
        classes = self.preprocessing.target.classes
        return None if classes is None else np.asarray(classes)

    def predict(self, X: Any) -> np.ndarray:
        if self.task.target_kind == "none":
            return self.score_samples(X)
        if self.task.target_kind == "forecasting":  # the median forecast
            return self.predict_quantiles(X)[..., median_index(self.quantiles)]
        return self.preprocessing.target.decode(self._outputs(X))

    @property
    def quantiles(self) -> list[float]:
        """A forecaster's quantile levels (the columns of `predict_quantiles`)."""
        return list(self.preprocessing.inputs.quantiles)

    def predict_quantiles(self, X: Any) -> np.ndarray:
        """A forecaster's next `horizon` values at each of its quantile levels: (horizon, Q)
        for one series, (n, horizon, Q) for a list of series or a long table's series (in the
        order each id first appears)."""
        values = self.forecast_series(*self._series_to_forecast(X))
        return values if self._many(X) else values[0]

    def forecast_series(
        self,
        series: list[np.ndarray],
        ids: list[str | None],
        times: list[list[str]] | None = None,
    ) -> np.ndarray:
        """(n, horizon, Q) forecasts after each (T_i, F) series; a known id's training scale is
        used (see ForecastPreprocessor.scale_of); `times` date the steps of a model that reads
        the calendar."""
        inputs, scales = self._forecast_inputs(series, ids, times)
        outputs = self.network_outputs(inputs)
        pre = self.preprocessing.inputs
        if pre.legacy:  # 0.2.0: one globally standardised output per step
            return self.preprocessing.target.decode(outputs)[..., None]
        return pre.decode(outputs, scales)

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.probabilities(self._outputs(X))

    def score_samples(self, X: Any) -> np.ndarray:
        """Anomaly scores of a model of unlabelled data: mean squared reconstruction error per
        sample, on the standardised inputs (higher is more unusual)."""
        self._need_unlabelled("score_samples")
        return self.reconstruction_errors(self.inputs(X))

    def transform(self, X: Any) -> np.ndarray:
        """The codes a model of unlabelled data gives each sample."""
        self._need_unlabelled("transform")
        return self.codes(self.inputs(X))

    def inverse_transform(self, codes: Any) -> Any:
        """Codes back to data, through the decoder of a model of unlabelled data: images,
        series (n, T, F) or a table, in the training data's units."""
        self._need_unlabelled("inverse_transform")
        codes = torch.as_tensor(np.asarray(codes, dtype=np.float32))
        if codes.ndim != 2:
            raise DataError(f"Codes are (n, code size); got shape {tuple(codes.shape)}.")
        return self.preprocessing.inputs.inverse_transform(self.network.decode(codes))

    def reconstruct(self, X: Any) -> Any:
        """The model's reconstruction of each sample (its forward pass), as data: the same as
        inverse_transform(transform(X))."""
        self._need_unlabelled("reconstruct")
        return self.preprocessing.inputs.inverse_transform(self._outputs(X))

    def predict_path(
        self,
        path: str | Path,
        proba: bool = False,
        scores: bool = False,
        codes: bool = False,
        reading: ReadOptions | None = None,
        nodes: bool = False,
    ) -> pd.DataFrame:
        """Predictions for new files, read the way the training data was (see
        automl.prediction_table); `reading` overrides how a table file is read; `nodes`: a
        label per phrase of each parse tree."""
        from automl.prediction_table import predict_files

        return predict_files(
            self,
            Path(path),
            proba=proba,
            scores=scores,
            codes=codes,
            reading=reading,
            nodes=nodes,
        )

    # --- on inputs already preprocessed ------------------------------------------------------

    def inputs(self, X: Any) -> torch.Tensor:
        """Raw data in memory -> the network's inputs."""
        if self.task.target_kind == "forecasting":
            return self._forecast_inputs(*self._series_to_forecast(X))[0]
        layout = self.config.get("source", {}).get("layout")  # a 3-D series array's
        X = features_from_memory(X, self.task.modality, layout)
        return torch.from_numpy(self.preprocessing.transform(X))

    def _forecast_inputs(
        self,
        series: list[np.ndarray],
        ids: list[str | None],
        times: list[list[str]] | None = None,
    ) -> tuple[torch.Tensor, list[float]]:
        pre = self.preprocessing.inputs
        if not pre.legacy:  # rows after the last known value (future dates) are not history
            series = [without_missing_end(s) for s in series]
            if times is not None:
                times = [t[: len(s)] for t, s in zip(times, series, strict=True)]
            self._check_positive(series, ids)
        scales = [pre.scale_of(i, s) for i, s in zip(ids, series, strict=True)]
        # series without dates can do without them when no network reads the calendar
        undated = not any(self._member_params("calendar"))
        return torch.from_numpy(pre.last_windows(series, scales, times, undated)), scales

    def _member_params(self, name: str) -> list[Any]:
        """One parameter of every exported network (`calendar`, `transform`)."""
        members = self.config.get("members", [])
        return [m["params"].get(f"{m['family']}.{name}") for m in members]

    def _check_positive(self, series: list[np.ndarray], ids: list[str | None]) -> None:
        """A network that takes the log (or Box-Cox) of the values needs them positive."""
        if not {"log", "boxcox"} & set(self._member_params("transform")):
            return
        for i, (values, name) in enumerate(zip(series, ids, strict=True)):
            if (values[:, 0] <= 0).any():
                raise DataError(
                    f"Series {name or i} has values of 0 or below, but this forecaster was "
                    "trained on positive values and takes their logarithm; forecast it with "
                    "a model fitted on data like it."
                )

    def network_outputs(self, inputs: torch.Tensor) -> np.ndarray:
        """Logits, standardised values, or reconstructions."""
        return self.network.outputs(inputs)

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        if not self.task.is_classification:
            raise DataError("predict_proba is only for classifiers; this model is not one.")
        return class_probabilities(outputs)

    def reconstruction_errors(self, inputs: torch.Tensor) -> np.ndarray:
        """Anomaly scores (`score_samples` preprocesses)."""
        return reconstruction_errors(self.network_outputs(inputs), inputs.numpy())

    def codes(self, inputs: torch.Tensor) -> np.ndarray:
        """Codes (`transform` preprocesses)."""
        return self.network.codes(inputs)

    def _outputs(self, X: Any) -> np.ndarray:
        return self.network_outputs(self.inputs(X))

    def _series_to_forecast(
        self, X: Any
    ) -> tuple[list[np.ndarray], list[str | None], list[list[str]] | None]:
        """(series, ids, times) of forecasting data: one series (1-D, (T, F)), a list of them,
        or a DataFrame like the training table (a long table: one series per id; its times)."""
        if isinstance(X, pd.DataFrame):
            source = self.config.get("source", {})
            if source.get("time") in X.columns:
                ids, times, series, _ = read_dated(
                    X, source["time"], source["columns"], source.get("id")
                )
                return series, ids if source.get("id") else [None], times
            return [numeric_values(X)], [None], None
        if isinstance(X, list):
            series = [np.asarray(s, dtype=np.float32).reshape(len(s), -1) for s in X]
            return series, [None] * len(series), None
        values = np.asarray(X, dtype=np.float32)
        return [values.reshape(len(values), -1)], [None], None

    def _many(self, X: Any) -> bool:
        """Whether forecasting data holds several series (a list, or a long table)."""
        id_col = self.config.get("source", {}).get("id")
        return isinstance(X, list) or (isinstance(X, pd.DataFrame) and id_col in X.columns)

    def _need_unlabelled(self, what: str) -> None:
        if self.task.target_kind != "none":
            raise DataError(f"{what} is for models of unlabelled data; this one predicts labels.")


def class_probabilities(outputs: np.ndarray) -> np.ndarray:
    """A classifier's logits (n, classes) -> probabilities."""
    return torch.softmax(torch.from_numpy(outputs), dim=1).numpy()


def reconstruction_errors(outputs: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """Mean squared difference per sample between a reconstruction and its (preprocessed)
    input: a model of unlabelled data's anomaly score."""
    difference = outputs.reshape(len(inputs), -1) - inputs.reshape(len(inputs), -1)
    return (difference**2).mean(axis=1)
