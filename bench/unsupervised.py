"""Benchmarks of the unlabelled-data and pretrained families (autoencoder, RBM, DBN), each
against a scikit-learn reference computed in the same script on the same split. Registered in
bench/run.py:

    python bench/run.py autoencoder_k8 --budget 5m   # held-out per-pixel MSE vs PCA-8 (0.0249)
    python bench/run.py autoencoder_k16 --budget 5m  # ... vs PCA-16 (0.0119)
    python bench/run.py dbn --budget 5m              # --families dbn; with/without pretraining
    python bench/run.py rbm_features --budget 3m     # RBM codes + LR vs BernoulliRBM + LR
    python bench/run.py anomaly --budget 1m          # per held-out digit: ROC AUC vs IF and PCA

Data: scikit-learn's digits (8x8, pixels / 16 in [0, 1]), split 75/25 stratified with seed 0.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from automl import AutoDeep

RBM_HIDDEN = 100  # scikit-learn's RBM example: 100 components, learning rate 0.06, 10 iterations
LOGISTIC_C = 6000.0  # the same example's logistic regression, used for both feature sets
ANOMALY_PCA_K = 16


def digits_split():
    """(X_train, X_test, y_train, y_test): images (n, 8, 8) with pixels in [0, 1]."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return train_test_split(X.reshape(-1, 8, 8), y, test_size=0.25, stratify=y, random_state=0)


def _fit(runs_dir, budget: str, X, y=None, **options) -> tuple[AutoDeep, float]:
    started = time.monotonic()
    est = AutoDeep(budget=budget, random_state=0, studies_dir=runs_dir / "studies", **options)
    est.fit(X, y)
    return est, time.monotonic() - started


def _figures(est: AutoDeep, wall: float, study_figures) -> dict:
    families = sorted({m["family"] for m in est.model_.config["members"]})
    return {"wall_s": wall, "families": families, **study_figures(est.study_dir_)}


def pixel_mse(est: AutoDeep, X: np.ndarray) -> float:
    """Mean squared reconstruction error per pixel in [0, 1]: the anomaly scores are the same
    error on the standardised pixels, which differ from [0, 1] by one scale factor."""
    std = est.model_.preprocessing.inputs.std[0]
    return float(np.mean(est.score_samples(X)) * std**2)


def pca_mse(X_train: np.ndarray, X_test: np.ndarray, k: int) -> float:
    from sklearn.decomposition import PCA

    pca = PCA(k, random_state=0).fit(X_train.reshape(len(X_train), -1))
    flat = X_test.reshape(len(X_test), -1)
    return float(np.mean((pca.inverse_transform(pca.transform(flat)) - flat) ** 2))


def bench_autoencoder(k: int, runs_dir, study_figures, budget: str) -> list[dict]:
    X_train, X_test, _, _ = digits_split()
    est, wall = _fit(runs_dir, budget, X_train, code_size=k)
    dataset = f"digits without labels, code size {k} (75/25 seed 0)"
    metric = "held-out per-pixel MSE"
    ours = {"test_score": pixel_mse(est, X_test), **_figures(est, wall, study_figures)}
    return [
        {"dataset": dataset, "metric": metric, "budget": budget, "system": "automl", **ours},
        {
            "dataset": dataset,
            "metric": metric,
            "budget": "-",
            "system": f"PCA, {k} components (sklearn)",
            "test_score": pca_mse(X_train, X_test, k),
        },
    ]


def bench_dbn(runs_dir, study_figures, budget: str) -> list[dict]:
    """The DBN family alone; then the exported members' architectures retrained on the same
    split with and without their greedy pretraining, three seeds each."""
    X_train, X_test, y_train, y_test = digits_split()
    est, wall = _fit(runs_dir, budget, X_train, y_train, families=["dbn"])
    dataset = "digits, DBN only (75/25 seed 0)"
    rows = [
        {
            "dataset": dataset,
            "metric": "test accuracy",
            "budget": budget,
            "system": "automl --families dbn",
            "test_score": est.score(X_test, y_test),
            **_figures(est, wall, study_figures),
        }
    ]
    prepared = _prepare(X_train, y_train)
    for pretrain in (True, False):
        scores = [
            _retrain_member(prepared, X_test, y_test, member, seed, pretrain)
            for member in est.model_.config["members"]
            for seed in range(3)
        ]
        rows.append(
            {
                "dataset": dataset,
                "metric": "test accuracy",
                "budget": "-",
                "system": "exported DBN members retrained "
                + ("with" if pretrain else "without")
                + f" pretraining (mean of {len(scores)})",
                "test_score": float(np.mean(scores)),
                "min": float(np.min(scores)),
                "max": float(np.max(scores)),
            }
        )
    return rows


def _prepare(X_train, y_train):
    """The split and preprocessing the fit made (same seed), for retraining its members."""
    from automl.data import from_memory
    from automl.prepare import prepare_data
    from automl.task import detect_task

    dataset = from_memory(X_train, y_train)
    return prepare_data(dataset, detect_task(dataset, families=["dbn"]), seed=0)


def _retrain_member(prepared, X_test, y_test, member, seed, pretrain) -> float:
    import torch

    from automl.data import from_memory
    from automl.search_spaces import get_family
    from automl.trainer import TrainingConfig, predict_outputs, train_model

    task = prepared.task
    params = dict(member["params"])
    if not pretrain:
        params["dbn.pretrain_epochs"] = 0
    torch.manual_seed(seed)
    model = get_family("dbn").build(params, task)
    train, val = prepared.data.tensors(task)
    train_model(model, task, train, val, TrainingConfig.from_params(params, 30, 8), seed=seed)
    inputs = torch.from_numpy(prepared.preprocessing.transform(from_memory(X_test).X))
    predicted = prepared.preprocessing.target.decode(predict_outputs(model, inputs).numpy())
    return float(np.mean(predicted == y_test))


def bench_rbm_features(runs_dir, study_figures, budget: str) -> list[dict]:
    """Codes of the searched RBM (`transform`) against scikit-learn's BernoulliRBM pipeline
    example, both at 100 hidden units, both read by the same logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import BernoulliRBM
    from sklearn.pipeline import Pipeline

    X_train, X_test, y_train, y_test = digits_split()
    flat_train, flat_test = X_train.reshape(len(X_train), -1), X_test.reshape(len(X_test), -1)
    est, wall = _fit(runs_dir, budget, X_train, families=["rbm"], code_size=RBM_HIDDEN)

    def logistic():
        return LogisticRegression(C=LOGISTIC_C, max_iter=5000)

    codes = logistic().fit(est.transform(X_train), y_train)
    ours = float(codes.score(est.transform(X_test), y_test))
    started = time.monotonic()
    reference = Pipeline(
        [
            (
                "rbm",
                BernoulliRBM(
                    n_components=RBM_HIDDEN, learning_rate=0.06, n_iter=10, random_state=0
                ),
            ),
            ("logistic", logistic()),
        ]
    ).fit(flat_train, y_train)
    reference_wall = time.monotonic() - started
    raw = logistic().fit(flat_train, y_train).score(flat_test, y_test)
    dataset = f"digits, RBM features ({RBM_HIDDEN} hidden) + logistic regression (75/25 seed 0)"
    common = {"dataset": dataset, "metric": "test accuracy"}
    return [
        {
            **common,
            "budget": budget,
            "system": "automl --families rbm, transform + LR",
            "test_score": ours,
            **_figures(est, wall, study_figures),
        },
        {
            **common,
            "budget": "-",
            "system": "sklearn BernoulliRBM + LR (sklearn's example settings)",
            "test_score": float(reference.score(flat_test, y_test)),
            "wall_s": reference_wall,
        },
        {**common, "budget": "-", "system": "LR on raw pixels", "test_score": float(raw)},
    ]


def bench_anomaly(runs_dir, study_figures, budget: str) -> list[dict]:
    """For each digit: fit on the training split without that digit and without labels, then
    score the whole test split; the held-out digit's test images are the anomalies."""
    from sklearn.ensemble import IsolationForest
    from sklearn.metrics import roc_auc_score

    X_train, X_test, y_train, y_test = digits_split()
    flat_test = X_test.reshape(len(X_test), -1)
    aucs: dict[str, list[float]] = {"automl": [], "if": [], "pca": []}
    walls = []
    for digit in range(10):
        normal = X_train[y_train != digit]
        is_anomaly = y_test == digit
        est, wall = _fit(runs_dir, budget, normal, verbose=False)
        walls.append(wall)
        aucs["automl"].append(roc_auc_score(is_anomaly, est.score_samples(X_test)))
        forest = IsolationForest(random_state=0).fit(normal.reshape(len(normal), -1))
        aucs["if"].append(roc_auc_score(is_anomaly, -forest.score_samples(flat_test)))
        aucs["pca"].append(roc_auc_score(is_anomaly, _pca_errors(normal, X_test)))
        print(
            f"digit {digit}: automl {aucs['automl'][-1]:.4f} | IsolationForest "
            f"{aucs['if'][-1]:.4f} | PCA-{ANOMALY_PCA_K} {aucs['pca'][-1]:.4f}",
            file=sys.stderr,
        )
    dataset = "digits, one digit held out as anomalies (mean over the 10 digits)"
    common = {"dataset": dataset, "metric": "ROC AUC"}

    def row(system: str, key: str, **extra) -> dict:
        values = aucs[key]
        return {
            **common,
            "system": system,
            "test_score": float(np.mean(values)),
            "per_digit": [round(v, 4) for v in values],
            **extra,
        }

    return [
        row("automl (anomaly scores)", "automl", budget=f"{budget} per digit", wall_s=max(walls)),
        row("IsolationForest (sklearn)", "if", budget="-"),
        row(f"PCA-{ANOMALY_PCA_K} reconstruction error", "pca", budget="-"),
    ]


def _pca_errors(normal: np.ndarray, X: np.ndarray) -> np.ndarray:
    from sklearn.decomposition import PCA

    pca = PCA(ANOMALY_PCA_K, random_state=0).fit(normal.reshape(len(normal), -1))
    flat = X.reshape(len(X), -1)
    return np.mean((pca.inverse_transform(pca.transform(flat)) - flat) ** 2, axis=1)
