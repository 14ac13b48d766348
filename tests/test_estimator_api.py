"""AutoDeepClassifier and AutoDeepRegressor inside scikit-learn's own machinery: clone,
get/set_params, cross_validate, Pipeline, and pandas in and out (set_output). Each fit is a
real one-trial search (run in process: no Ray); with tests/test_estimator_checks.py they
are CI's second step (python -m pytest -m estimator_checks)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import config_context
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.model_selection import cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import automl
from automl import AutoDeep, AutoDeepClassifier, AutoDeepRegressor

pytestmark = pytest.mark.estimator_checks


def tiny(cls, tmp_path, **extra):
    options = dict(budget="30s", max_trials=1, max_epochs=3, random_state=0, verbose=False)
    return cls(studies_dir=tmp_path / "studies", **options, **extra)


def test_params_clone_and_kinds(tmp_path):
    clf = tiny(AutoDeepClassifier, tmp_path, families=["mlp"])
    assert is_classifier(clf) and is_regressor(tiny(AutoDeepRegressor, tmp_path))
    assert "task" not in clf.get_params()  # fixed by the class
    copy = clone(clf.set_params(max_epochs=2))
    assert copy.get_params() == clf.get_params() and copy is not clf
    assert not hasattr(tiny(AutoDeepRegressor, tmp_path), "predict_proba")
    assert {"task", "horizon", "code_size"} <= set(AutoDeep().get_params())


def test_cross_validated_pipeline_with_pandas_in_and_out(tmp_path):
    frame = load_breast_cancer(as_frame=True).frame.sample(240, random_state=0)
    X, y = frame.drop(columns=["target"]), frame["target"].rename("malignant")
    pipeline = make_pipeline(StandardScaler(), tiny(AutoDeepClassifier, tmp_path))
    with config_context(transform_output="pandas"):  # the scaler hands on named columns
        folds = cross_validate(pipeline, X, y, cv=2, return_estimator=True)
        assert folds["test_score"].shape == (2,) and folds["test_score"].min() > 0.8
        fitted = folds["estimator"][0]
        model = fitted[-1]
        assert list(model.feature_names_in_) == list(X.columns)
        new = X.iloc[:7].set_index(pd.Index([f"p{i}" for i in range(7)]))
        labels = fitted.predict(new)
        probabilities = fitted.predict_proba(new)
    assert isinstance(labels, pd.Series) and labels.name == "malignant"
    assert list(labels.index) == list(new.index)
    assert isinstance(probabilities, pd.DataFrame) and list(probabilities.columns) == ["0", "1"]
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    # without pandas output the scaler hands on an array: read in the training column order,
    # with scikit-learn's warning, and the predictions are a plain array
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        plain = fitted.predict(new)
    assert isinstance(plain, np.ndarray) and list(plain) == list(labels)
    with pytest.raises(ValueError, match="lacks 1 column"):
        model.predict(X.iloc[:5, 1:])
    with pytest.raises(
        ValueError, match="X has 29 features, but AutoDeepClassifier is expecting 30"
    ):
        model.predict(X.iloc[:5, 1:].to_numpy())


def test_regressor_takes_integer_targets_as_values(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    reg = tiny(AutoDeepRegressor, tmp_path).set_output(transform="pandas")
    reg.fit(X[:200], np.round(y[:200]).astype(int))  # whole numbers: still regression
    assert reg.task_.target_kind == "regression"
    predictions = reg.predict(X[200:230])
    assert isinstance(predictions, pd.Series) and predictions.dtype == np.float64
    assert reg.score(X[200:300], y[200:300]) > 0.0
    # the estimator's export is automl export's: the ONNX graph predicts the same values
    graph = reg.export(tmp_path / "regressor.onnx", format="onnx")
    np.testing.assert_allclose(
        automl.load(graph).predict(X[200:230]), predictions.to_numpy(), rtol=1e-5, atol=1e-3
    )


@pytest.mark.parametrize("family", ["autoencoder", "rbm"])
def test_codes_turn_back_into_the_models_reconstruction(tmp_path, family):
    """inverse_transform(transform(X)) is the forward pass, as data; its per-pixel error is
    the one bench/unsupervised.py reports (score_samples x std^2)."""
    images = load_digits().images.astype(np.float32)[:300] / 16
    est = tiny(AutoDeep, tmp_path, families=[family]).fit(images)
    codes = est.transform(images[:40])
    back = est.inverse_transform(codes)
    assert back.shape == (40, 8, 8)
    model = est.model_
    forward = model.network_outputs(model.inputs(images[:40])).reshape(40, 8, 8)
    pre = model.preprocessing.inputs
    np.testing.assert_allclose(back, (forward * pre.std[0] + pre.mean[0]) * pre.scale, atol=1e-5)
    np.testing.assert_allclose(est.reconstruct(images[:40]), back, atol=1e-5)
    pixel_mse = np.mean((back - images[:40]) ** 2)
    assert pixel_mse == pytest.approx(
        np.mean(est.score_samples(images[:40])) * pre.std[0] ** 2, rel=1e-4
    )
    bundle = automl.load(est.study_dir_ / "best")
    np.testing.assert_allclose(bundle.inverse_transform(codes), back, atol=1e-5)
    graph = automl.load(est.export(tmp_path / f"{family}.onnx", format="onnx"))
    np.testing.assert_allclose(graph.inverse_transform(codes), back, atol=1e-3)
    with pytest.raises(ValueError, match="Codes are \\(n, code size\\)"):
        est.inverse_transform(codes[0])


def test_tables_come_back_as_tables_and_exported_graphs_decode_too(tmp_path):
    frame = load_breast_cancer(as_frame=True).data.iloc[:200, :6].copy()
    frame["site"] = np.where(frame.iloc[:, 0] > frame.iloc[:, 0].median(), "left", "right")
    est = tiny(AutoDeep, tmp_path).fit(frame)
    back = est.inverse_transform(est.transform(frame.iloc[:10]))
    assert list(back.columns) == list(frame.columns)
    assert set(back["site"]) <= {"left", "right", None}
    pd.testing.assert_frame_equal(back, est.reconstruct(frame.iloc[:10]))
    arrays = tiny(AutoDeep, tmp_path / "arrays").fit(frame.iloc[:, :6].to_numpy())
    assert arrays.inverse_transform(arrays.transform(frame.iloc[:3, :6].to_numpy())).shape == (3, 6)
    # an exported graph carries the decoder beside it, checked: the same data back
    codes = arrays.transform(frame.iloc[:5, :6].to_numpy())
    graph = arrays.export(tmp_path / "codes.onnx", format="onnx")
    assert (tmp_path / "codes.decoder.onnx").is_file()
    np.testing.assert_allclose(
        automl.load(graph).inverse_transform(codes),
        arrays.model_.inverse_transform(codes),
        rtol=1e-4,
        atol=1e-4,
    )
    (tmp_path / "codes.decoder.onnx").write_bytes(b"tampered")
    with pytest.raises(ValueError, match="Refusing to load .*codes.decoder.onnx"):
        automl.load(graph)
    classifier = tiny(AutoDeepClassifier, tmp_path / "clf").fit(frame.iloc[:, :6], frame["site"])
    with pytest.raises(ValueError, match="inverse_transform is for models of unlabelled data"):
        classifier.model_.inverse_transform(np.zeros((2, 4)))


def test_univariate_series_arrays_in_keras_and_aeon_layouts(tmp_path):
    """(n, T, 1) and (n, 1, T) are series without modality=, and predict in their layout."""
    rng = np.random.default_rng(0)
    steps = np.linspace(0, 6 * np.pi, 150)
    y = np.arange(40) % 2
    waves = [np.sin(steps + rng.uniform(0, 3)) for _ in y]
    X = np.stack([w if c == 0 else np.sign(w) for w, c in zip(waves, y, strict=True)])
    X = (X + 0.1 * rng.normal(size=X.shape)).astype(np.float32)
    for name, arr in {"keras": X[:, :, None], "aeon": X[:, None, :]}.items():
        clf = tiny(AutoDeepClassifier, tmp_path / name, families=["conv1d"]).fit(arr, y)
        assert clf.task_.modality == "series" and tuple(clf.task_.data_shape) == (40, 150, 1)
        layout = "(n, T, F)" if name == "keras" else "(n, F, T)"
        assert clf.model_.config["source"]["layout"] == ("ntf" if name == "keras" else "nft")
        assert f"from an array of shape {layout}" in clf.task_.reason
        assert clf.predict(arr[:6]).shape == (6,)
