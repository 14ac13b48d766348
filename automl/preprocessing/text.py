"""Text as token ids over a vocabulary of the training documents (0 pads, 1 is an unknown
word), or, for unlabelled text, log word counts (a bag of words an autoencoder can rebuild)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from automl.data import Dataset
from automl.data.text import TOKEN_PATTERN, tokenize
from automl.errors import DataError
from automl.preprocessing.base import ModalityPreprocessor
from automl.task_info import TaskInfo

MAX_VOCABULARY = 20_000
MIN_WORD_COUNT = 2  # rarer words are unknown: a word seen once teaches nothing
MAX_BOW_WORDS = 2_000  # bag-of-words width for unlabelled text
MAX_TOKENS = 400  # longer documents keep their first MAX_TOKENS tokens
TOKEN_PERCENTILE = 95  # the token length covers this share of the training documents
PAD, UNKNOWN = 0, 1
TOKENS_IN_WORDS = (
    f"lower-case the text and split it into tokens with the regular expression "
    f"{TOKEN_PATTERN.pattern!r} (runs of letters, runs of digits, single punctuation)"
)


@dataclass
class TextPreprocessor(ModalityPreprocessor):
    """Token ids (labelled text) or a bag of words (unlabelled text) over a fitted vocabulary."""

    KEY = "text"
    vocabulary: list[str]  # index i + 2 is the id of vocabulary[i]; 0 pads, 1 is unknown
    max_tokens: int
    bag_of_words: bool = False

    @classmethod
    def from_training(cls, part: Dataset, task: TaskInfo) -> TextPreprocessor:
        return cls.fit(part.X, bag_of_words=task.target_kind == "none")

    @classmethod
    def fit(cls, documents: list[str], bag_of_words: bool = False) -> TextPreprocessor:
        if bag_of_words:
            words = top_words(documents, MAX_BOW_WORDS, MIN_WORD_COUNT) or top_words(
                documents, MAX_BOW_WORDS, 1
            )
            if not words:
                raise DataError("The documents hold no words; check the text files.")
            return cls(words, 0, True)
        lengths = [len(tokenize(d)) for d in documents]
        longest = int(np.ceil(np.percentile(lengths, TOKEN_PERCENTILE))) if lengths else 1
        words = top_words(documents, MAX_VOCABULARY, MIN_WORD_COUNT)
        return cls(words, int(np.clip(longest, 1, MAX_TOKENS)))

    @property
    def vocab_size(self) -> int | None:
        """Token ids run from 0 to vocab_size - 1; None for a bag of words (not ids)."""
        return None if self.bag_of_words else len(self.vocabulary) + 2

    def transform(self, documents: list[str]) -> np.ndarray:
        if self.bag_of_words:
            return bag_of_words(documents, self.vocabulary)
        index = {w: i + 2 for i, w in enumerate(self.vocabulary)}
        ids = np.full((len(documents), self.max_tokens), PAD, dtype=np.int64)
        for row, doc in enumerate(documents):
            tokens = [index.get(t, UNKNOWN) for t in tokenize(doc)[: self.max_tokens]]
            ids[row, : len(tokens)] = tokens or [UNKNOWN]  # an empty document is one unknown
        return ids

    def input_shape(self) -> tuple[int, ...]:
        return (len(self.vocabulary),) if self.bag_of_words else (self.max_tokens,)

    def notes(self, documents: list[str]) -> list[str]:
        if self.bag_of_words:
            return []
        cut = sum(len(tokenize(d)) > self.max_tokens for d in documents)
        if not cut:
            return []
        return [
            f"{cut} documents are longer than {self.max_tokens} tokens (the 95th percentile of "
            "the training documents) and keep their first tokens"
        ]

    def describe(self) -> list[str]:
        if self.bag_of_words:
            return [
                f"{TOKENS_IN_WORDS}; log(1 + count) of each word of text.vocabulary, in its order"
            ]
        return [
            f"{TOKENS_IN_WORDS}; keep the first text.max_tokens tokens",
            "a token's id is 2 + its index in text.vocabulary; 1 for any other token; an "
            "empty document is one 1",
            "pad with 0 to text.max_tokens (a graph with a dynamic steps axis takes any "
            "length of at least 2)",
        ]


def top_words(documents: Any, limit: int, min_count: int) -> list[str]:
    """The most frequent tokens (ties broken alphabetically, so fitting is deterministic)."""
    counts: dict[str, int] = {}
    for doc in documents:
        for token in tokenize(doc):
            counts[token] = counts.get(token, 0) + 1
    ranked = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    return ranked[:limit]


def bag_of_words(documents: list[str], words: list[str]) -> np.ndarray:
    """log(1 + count) of each word per document."""
    index = {w: i for i, w in enumerate(words)}
    out = np.zeros((len(documents), len(words)), dtype=np.float32)
    for row, doc in enumerate(documents):
        for token in tokenize(doc):
            col = index.get(token)
            if col is not None:
                out[row, col] += 1.0
    return np.log1p(out)
