"""automl: architecture search for deep networks.

Ray Tune schedules Optuna trials over the model families that the data calls for; the best
network is trained to completion and exported as a bundle.

    >>> from automl import AutoDeep
    >>> est = AutoDeep(budget="2m").fit(X, y)          # doctest: +SKIP
    >>> est.predict(X_new)                              # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

# In a source checkout, search_spaces/ and dashboard/ sit beside automl/; installed, they are
# automl's own subpackages. Extending __path__ lets `automl.search_spaces` resolve in both.
_CHECKOUT_ROOT = Path(__file__).resolve().parent.parent
if (_CHECKOUT_ROOT / "search_spaces" / "__init__.py").is_file() and (
    _CHECKOUT_ROOT / "pyproject.toml"
).is_file():
    __path__.append(str(_CHECKOUT_ROOT))  # noqa: F821 - __path__ is set for packages

from automl.errors import AutoMLError  # noqa: E402

__version__ = "0.2.0"
__all__ = [
    "AutoDeep",
    "AutoDeepClassifier",
    "AutoDeepRegressor",
    "AutoMLError",
    "Predictor",
    "load",
    "__version__",
]

# Imported lazily: the dashboard and `automl --help` must not pay for (or need) torch and ray.
_LAZY = {
    "AutoDeep": "automl.estimator",
    "AutoDeepClassifier": "automl.estimator",
    "AutoDeepRegressor": "automl.estimator",
    "Predictor": "automl.predictor",
    "load": "automl.bundle",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'automl' has no attribute {name!r}")
