"""Typed errors. The CLI prints any AutoMLError as one line and exits with code 2."""

from __future__ import annotations


class AutoMLError(Exception):
    """A problem the user can fix; the message says what was expected, what was got, and how."""


class DataError(AutoMLError, ValueError):
    """The data cannot be read or does not fit the task (a ValueError, as scikit-learn's
    conventions expect of bad input)."""


class DataTypeError(DataError, TypeError):
    """Data of the wrong type (objects where numbers are needed)."""


class ConfigError(AutoMLError, ValueError):
    """An argument or option is invalid."""


class SearchError(AutoMLError):
    """The search produced no usable model."""


class TrialFailed(Exception):
    """Raised inside a trial (diverged loss, bad architecture); recorded, never fatal."""
