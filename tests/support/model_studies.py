"""Small real studies of each kind of model, for the model view's tests and screenshots:
one-trial searches run in process (seconds each)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
from sklearn.datasets import load_diabetes, load_digits

from automl import AutoDeep, AutoDeepClassifier, AutoDeepRegressor
from tests.support.formats import SAMPLE_RATE, tone

OPTIONS = dict(budget="1m", max_trials=1, max_epochs=4, random_state=0, verbose=False)


def write_model_studies(root: Path) -> SimpleNamespace:
    """digits as images (a classifier; again as digits-2 with another seed), diabetes as a
    table (a regressor), digits without labels (an autoencoder: shapes), a monthly series
    with trend and season to forecast (sales) and two pitches of tones (audio: tones)."""
    digits = load_digits()
    images, labels = digits.images.astype(np.float32)[:600], digits.target[:600]
    classifier = AutoDeepClassifier(studies_dir=root, study="digits", families=["cnn"], **OPTIONS)
    classifier.fit(images, labels)
    again = {**OPTIONS, "random_state": 1, "max_epochs": 2}
    AutoDeepClassifier(studies_dir=root, study="digits-2", families=["cnn"], **again).fit(
        images, labels
    )
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    AutoDeepRegressor(studies_dir=root, study="diabetes", **OPTIONS).fit(X, y)
    unlabelled = AutoDeep(studies_dir=root, study="shapes", families=["autoencoder"], **OPTIONS)
    unlabelled.fit(images / 16)
    months = np.arange(120)
    sales = (100 + months + 10 * np.sin(2 * np.pi * months / 12)).astype(np.float32)
    AutoDeep(studies_dir=root, study="sales", horizon=6, **OPTIONS).fit(sales)
    rng = np.random.default_rng(7)
    pitches = [("low", "high")[i % 2] for i in range(40)]
    waves = [tone(label, rng) for label in pitches]
    AutoDeepClassifier(
        studies_dir=root, study="tones", modality="audio", sample_rate=SAMPLE_RATE, **OPTIONS
    ).fit(waves, pitches)
    return SimpleNamespace(root=root, classifier=classifier, images=images, labels=labels)
