"""scikit-learn's own estimator checks (`parametrize_with_checks`) for AutoDeepClassifier and
AutoDeepRegressor, each fit a real one-trial search (run in process: a one-trial search starts
no Ray, see automl.engine.uses_ray).

About 100 searches (under a minute), kept as their own CI step after the main suite:

    python -m pytest -m estimator_checks
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from automl import AutoDeepClassifier, AutoDeepRegressor

pytestmark = pytest.mark.estimator_checks

STUDIES = Path(tempfile.gettempdir()) / "automl-estimator-checks"
TINY = dict(
    budget="30s",
    max_trials=1,
    max_epochs=2,
    random_state=0,
    concurrent_trials=1,  # a seeded one-trial search repeats exactly: fit is idempotent
    verbose=False,
    studies_dir=STUDIES,
)


# Every check passes. One that could not would be listed through parametrize_with_checks'
# expected_failed_checks, with the reason.
@parametrize_with_checks([AutoDeepClassifier(**TINY), AutoDeepRegressor(**TINY)])
def test_scikit_learn_estimator_check(estimator, check):
    check(estimator)
