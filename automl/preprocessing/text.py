"""Text as token ids over a vocabulary of the training documents (0 pads, 1 is an unknown
word), or, for unlabelled text, log word counts (a bag of words an autoencoder can rebuild)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from automl.data import Dataset
from automl.data.text import TOKEN_PATTERN, tokenize
from automl.data.trees import encode_trees, sentence_tree, tree_width
from automl.errors import DataError
from automl.preprocessing.base import ModalityPreprocessor
from automl.task_info import TaskInfo

MAX_VOCABULARY = 20_000
MIN_WORD_COUNT = 2  # rarer words are unknown: a word seen once teaches nothing
MAX_BOW_WORDS = 2_000  # bag-of-words width for unlabelled text
MAX_TOKENS = 400  # longer documents keep their first MAX_TOKENS tokens
MAX_TREE_LEAVES = 200
TREE_MARGIN = 1.25  # room for test sentences a little longer than the longest training one
TOKEN_PERCENTILE = 95  # the token length covers this share of the training documents
# ... and every document up to this many tokens: a sentence cut short loses its end, which
# may decide it ("good acting, but a dull film"); only long documents are cut
WHOLE_UP_TO = 100
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
        longest = max(longest, min(max(lengths, default=1), WHOLE_UP_TO))
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
            f"the training documents, or their longest up to {WHOLE_UP_TO}) and keep their first "
            "tokens"
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


@dataclass
class TreePreprocessor(TextPreprocessor):
    """Sentences with parse trees (automl.data.trees): each row encoded as its leaves' token
    ids followed by the tree's structure and node labels, `max_tokens` leaves at most. The
    sequence families read the leaves (the first max_tokens columns), the RNTN the tree."""

    KEY = "trees"
    node_classes: list[str] = field(default_factory=list)  # a node label's class index

    @classmethod
    def fit_trees(cls, lines: list[str], classes: list[Any]) -> TreePreprocessor:
        trees = [sentence_tree(line, tokenize) for line in lines]
        leaves = [[w.lower() for w in tree.leaves()] for tree in trees]
        longest = max((len(words) for words in leaves), default=2)
        width = int(np.clip(np.ceil(longest * TREE_MARGIN), 2, MAX_TREE_LEAVES))
        words = top_words(leaves, MAX_VOCABULARY, MIN_WORD_COUNT, tokens_of=list)
        return cls(words, width, node_classes=[str(c) for c in classes])

    @property
    def tree_leaves(self) -> int:
        return self.max_tokens

    def transform(self, lines: list[str]) -> np.ndarray:
        index = {w: i + 2 for i, w in enumerate(self.vocabulary)}
        labels = {c: i for i, c in enumerate(self.node_classes)}
        trees = [sentence_tree(line, tokenize) for line in lines]
        return encode_trees(
            trees,
            self.max_tokens,
            lambda word: index.get(word.lower(), UNKNOWN),
            lambda label: labels.get(label, -1),
        )

    def input_shape(self) -> tuple[int, ...]:
        return (tree_width(self.max_tokens),)

    def notes(self, documents: list[str]) -> list[str]:
        cut = sum(
            len(sentence_tree(line, tokenize).leaves()) > self.max_tokens for line in documents
        )
        if not cut:
            return []
        return [
            f"{cut} sentences have more than {self.max_tokens} words; each keeps its first "
            "words under a balanced tree"
        ]

    def describe(self) -> list[str]:
        return [
            "each line is a bracketed tree '(label (label word) ...)' (nodes of more than two "
            "children right-factored: (A B C) -> (A (B C))) or a plain sentence, lower-cased "
            f"and split by the regular expression {TOKEN_PATTERN.pattern!r} under a balanced "
            "binary tree",
            "L = trees.max_tokens; a leaf's id is 2 + the index of its lower-cased word in "
            "trees.vocabulary, 1 for any other word, 0 pads",
            "columns: leaf ids (L) | left child (L-1) | right child (L-1) | level (L-1) | node "
            "label (2L-1); node i < L is leaf i, node L+k the k-th inner node in post-order; "
            "level = 1 + the higher child's (0 pads); a node label is the index of its label "
            "in trees.node_classes, -1 for none",
        ]


def top_words(
    documents: Any,
    limit: int,
    min_count: int,
    tokens_of: Callable[[Any], list[str]] = tokenize,
) -> list[str]:
    """The most frequent tokens (ties broken alphabetically, so fitting is deterministic)."""
    counts: dict[str, int] = {}
    for doc in documents:
        for token in tokens_of(doc):
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
