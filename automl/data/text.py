"""Text: documents read from .txt files (or a free-text column) and the tokenizer.

The tokenizer is a fixed rule (lower case, words and single punctuation marks), so only the
vocabulary is fitted (in `automl.preprocessing`, on the training split) and saved.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from automl.data.dataset import count_text
from automl.errors import DataError

TEXT_EXTENSIONS = frozenset({".txt", ".text"})
TOKEN_PATTERN = re.compile(r"[^\W\d_]+|\d+|[^\w\s]")
# A column is free text (not a category) when most of its values are distinct and run to
# several words: categories repeat, sentences rarely do.
FREE_TEXT_MIN_WORDS = 4
FREE_TEXT_MIN_DISTINCT = 0.5


def tokenize(text: str) -> list[str]:
    return TOKEN_PATTERN.findall(text.lower())


def read_texts(paths: Sequence[Path]) -> tuple[list[str], list[str]]:
    """Decode each file as UTF-8; a file that is not UTF-8 is read as Latin-1 and counted.

    Returns (documents, notes). An empty file is kept as an empty document and counted.
    """
    documents, not_utf8, empty = [], [], []
    for path in paths:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise DataError(f"Cannot read '{path}': {exc.strerror or exc}") from exc
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")  # every byte is a Latin-1 character: never fails
            not_utf8.append(path.name)
        if not text.strip():
            empty.append(path.name)
        documents.append(text)
    notes = []
    if not_utf8:
        notes.append(
            f"read {count_text(len(not_utf8))} files that are not UTF-8 as Latin-1 "
            f"(e.g. {', '.join(not_utf8[:3])})"
        )
    if empty:
        notes.append(f"{count_text(len(empty))} empty documents (e.g. {', '.join(empty[:3])})")
    return documents, notes


def is_free_text(series: pd.Series) -> bool:
    """True for a column of sentences or documents rather than categories."""
    if not (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
        return False
    values = series.dropna()
    if len(values) == 0 or not all(isinstance(v, str) for v in values.head(200)):
        return False
    words = values.astype(str).str.split().str.len()
    distinct = values.nunique() / len(values)
    return float(words.median()) >= FREE_TEXT_MIN_WORDS and distinct >= FREE_TEXT_MIN_DISTINCT
