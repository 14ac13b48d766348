"""Typed errors. The CLI prints any AutoMLError as one line and exits with code 2."""

from __future__ import annotations


class AutoMLError(Exception):
    """A problem the user can fix; the message says what was expected, what was got, and how."""


class DataError(AutoMLError):
    """The data cannot be read or does not fit the task."""


class ConfigError(AutoMLError):
    """An argument or option is invalid."""


class SearchError(AutoMLError):
    """The search produced no usable model."""


class NotFittedError(AutoMLError, AttributeError):
    """A method that needs a fitted estimator was called before fit()."""


class TrialFailed(Exception):
    """Raised inside a trial (diverged loss, bad architecture); recorded, never fatal."""
