"""FitOptions: what the CLI and the estimators are given, parsed and validated in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from automl import AutoDeep, AutoDeepClassifier
from automl.cli import build_parser
from automl.errors import ConfigError
from automl.options import FitOptions


def from_cli(*argv: str) -> FitOptions:
    args = build_parser().parse_args(["fit", "data.csv", *argv])
    return FitOptions.parse({**vars(args), "verbose": not args.quiet})


def test_the_cli_and_the_estimator_give_the_same_options():
    cli = from_cli(
        "--budget", "1h30m", "--families", "mlp, dbn", "--seed", "3", "--max-trials", "20",
        "--trial-timeout", "2m", "--concurrent-trials", "2", "--gpus-per-trial", "0.5",
        "--study", "s", "--max-epochs", "12", "--quiet",
    )  # fmt: skip
    estimator = AutoDeep(
        budget="1h30m",
        families=["mlp", "dbn"],
        random_state=3,
        max_trials=20,
        trial_timeout="2m",
        concurrent_trials=2,
        gpus_per_trial=0.5,
        study="s",
        max_epochs=12,
        verbose=False,
    )
    from_estimator = FitOptions.parse({**estimator.get_params(), "seed": 3})
    assert cli == from_estimator
    assert cli.study_budget_s == 5400 and cli.study_max_trials == 20
    assert cli.trial_timeout_s == 120 and cli.families == ("mlp", "dbn")
    assert cli.studies_dir == Path("studies") and not cli.verbose


def test_defaults_and_names_that_are_not_fit_options():
    options = FitOptions.parse({"modality": "series", "horizon": 3, "sample_rate": 8000})
    assert options == FitOptions()  # data options are the reader's
    assert FitOptions.parse({"families": "cnn"}).families == ("cnn",)
    assert FitOptions.parse({"families": ""}).families is None
    assert FitOptions.parse({"seed": None}).seed == 0


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ({"budget": "fast"}, "duration like '90s'"),
        ({"budget": "10s"}, "at least 30s"),
        ({"seed": -1}, "The seed must be an integer"),
        ({"seed": 2**32}, "The seed must be an integer"),
        ({"seed": 1.5}, "The seed must be an integer"),
        ({"max_trials": 0}, "max_trials (--max-trials) must be a positive integer"),
        ({"max_epochs": -3}, "max_epochs (--max-epochs) must be a positive integer"),
        ({"concurrent_trials": 2.5}, "concurrent_trials (--concurrent-trials)"),
        ({"trial_timeout": "soon"}, "--trial-timeout must be a duration"),
        ({"trial_timeout": 0}, "The trial timeout must be a positive duration"),
        ({"gpus_per_trial": -1}, "--gpus-per-trial must be a fraction"),
        ({"gpus_per_trial": 1.5}, "--gpus-per-trial must be a fraction"),
        ({"families": "mlp,nope"}, "Unknown model family 'nope'; available: autoencoder"),
    ],
)
def test_bad_values_are_refused_with_the_fix(given, fragment):
    with pytest.raises(ConfigError) as error:
        FitOptions.parse(given)
    assert fragment in str(error.value)


def test_options_made_by_hand_are_checked_too():
    import dataclasses

    with pytest.raises(ConfigError, match="max_epochs"):
        FitOptions(max_epochs=0)
    with pytest.raises(ConfigError, match="The seed must be an integer"):
        dataclasses.replace(FitOptions(), seed=-4)


def test_the_estimators_refuse_bad_options_before_reading_the_data(tmp_path):
    with pytest.raises(ConfigError, match="duration like"):
        AutoDeepClassifier(budget="soon", studies_dir=tmp_path).fit(object(), [0, 1])
    assert not tmp_path.joinpath("studies").exists()


def test_a_resume_keeps_what_the_study_recorded():
    first = FitOptions.parse({"families": "mlp", "seed": 4, "max_epochs": 5, "code_size": None})
    recorded = first.recorded()
    assert recorded["families"] == ["mlp"]  # JSON-ready
    later = FitOptions.parse({"resume": True, "study": "s", "seed": 9, "budget": "1h"})
    resumed = later.with_recorded(recorded)
    assert resumed.families == ("mlp",) and resumed.seed == 4 and resumed.max_epochs == 5
    assert resumed.study_budget_s == 3600 and resumed.resume  # the new total is the command's
