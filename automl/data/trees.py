"""Parse trees: Penn-Treebank brackets with a label on every node, one tree per line.

The Sentiment Treebank's format, `(3 (2 not) (3 bad))`: a node is `(label word)` or
`(label child child ...)`. Files of such lines are read as text whose every row carries its
tree (`read_tree_file`); a tree is encoded for a network as fixed-width integer columns
(`encode_trees`), so trees travel through the same arrays, splits and folds as any data.
A line without brackets is a plain sentence: it gets a balanced binary tree over its tokens.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from automl.errors import DataError

TREE_TOKEN = re.compile(r"\(|\)|[^\s()]+")
EXAMPLE = "(3 (2 not) (3 bad))"
SHAPES = ("balanced", "left", "right")  # how a sentence without a tree is binarised


@dataclass(frozen=True)
class Tree:
    """A labelled node: a leaf holds a word, an inner node its children (two, once binarised)."""

    label: str
    word: str | None = None
    children: tuple[Tree, ...] = ()

    def leaves(self) -> list[str]:
        if self.word is not None:
            return [self.word]
        return [w for child in self.children for w in child.leaves()]

    def binarised(self) -> Tree:
        """Right-factored: (A B C) -> (A (B C)), the new inner node unlabelled (''); a node
        with one child is that child (under the outer label)."""
        if self.word is not None:
            return self
        kids = [c.binarised() for c in self.children]
        if len(kids) == 1:
            only = kids[0]
            return Tree(self.label, only.word, only.children)
        while len(kids) > 2:
            kids[-2:] = [Tree("", None, (kids[-2], kids[-1]))]
        return Tree(self.label, None, (kids[0], kids[1]))


class TreeSyntaxError(ValueError):
    pass


def parse_tree(line: str) -> Tree:
    """One bracketed tree; TreeSyntaxError says what is wrong with it."""
    tokens = TREE_TOKEN.findall(line)
    if not tokens or tokens[0] != "(":
        raise TreeSyntaxError("it does not start with '('")
    tree, end = _parse_node(tokens, 0)
    if end != len(tokens):
        raise TreeSyntaxError(f"text follows the tree's last ')': {' '.join(tokens[end:][:3])!r}")
    return tree


def _parse_node(tokens: list[str], at: int) -> tuple[Tree, int]:
    # tokens[at] is "("; returns the node and the index after its ")"
    if at + 1 >= len(tokens) or tokens[at + 1] in "()":
        raise TreeSyntaxError("a node has no label after '('")
    label, at = tokens[at + 1], at + 2
    if at < len(tokens) and tokens[at] not in "()":
        words = []  # a leaf's word may hold spaces (the treebank's "8 1\\/2")
        while at < len(tokens) and tokens[at] not in "()":
            words.append(tokens[at])
            at += 1
        if at >= len(tokens) or tokens[at] != ")":
            raise TreeSyntaxError(f"the leaf ({label} {words[0]} ...) is not closed by ')'")
        return Tree(label, " ".join(words)), at + 1
    children = []
    while at < len(tokens) and tokens[at] == "(":
        child, at = _parse_node(tokens, at)
        children.append(child)
    if at >= len(tokens):
        raise TreeSyntaxError("a '(' is never closed (missing ')')")
    if tokens[at] != ")":
        raise TreeSyntaxError(f"a word {tokens[at]!r} stands beside sub-trees")
    if not children:
        raise TreeSyntaxError(f"the node ({label}) holds neither a word nor sub-trees")
    return Tree(label, None, tuple(children)), at + 1


TREE_LINE = re.compile(r"^\s*\(\s*[^\s()]+\s+[(\S]")  # "(label child...": a tree, not "(sigh)"


def is_tree_line(line: str) -> bool:
    return TREE_LINE.match(line) is not None


def sentence_tree(line: str, tokenize: Callable[[str], list[str]]) -> Tree:
    """A line as a tree: parsed when it is bracketed, else a balanced binary tree over its
    tokens (unlabelled inner nodes)."""
    if is_tree_line(line):
        return parse_tree(line).binarised()
    words = tokenize(line) or [""]
    return _balanced([Tree("", w) for w in words])


def _balanced(nodes: list[Tree]) -> Tree:
    if len(nodes) == 1:
        return nodes[0]
    half = (len(nodes) + 1) // 2
    return Tree("", None, (_balanced(nodes[:half]), _balanced(nodes[half:])))


def looks_like_trees(path: Path) -> bool:
    """A .txt file whose first non-blank line is a bracketed tree with a label."""
    try:
        with path.open("rb") as handle:
            for raw in handle:
                line = raw.decode("utf-8", errors="replace").lstrip("\ufeff").strip()
                if line:
                    return is_tree_line(line)
    except OSError:
        return False
    return False


def tree_file_lines(path: Path, plain: bool = False) -> list[tuple[int, str, Tree | None]]:
    """(line number, line, its tree) of every non-blank line; a malformed tree raises
    DataError naming its line. `plain`: a line that is not a tree is a sentence (its tree
    None, as at prediction); otherwise every line must be a tree."""
    expected = f"one tree with a label on every node per line, such as {EXAMPLE}"
    if plain:
        expected = f"one tree such as {EXAMPLE} or a plain sentence per line"
    out: list[tuple[int, str, Tree | None]] = []
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        tree = None
        if not plain or is_tree_line(line):
            try:
                tree = parse_tree(line)
            except TreeSyntaxError as exc:
                raise DataError(
                    f"{path.name}, line {number}: not a bracketed tree ({exc}); give {expected}."
                ) from None
        out.append((number, line.strip(), tree))
    return out


def read_tree_file(path: Path) -> tuple[list[str], list[str]]:
    """(tree lines, root labels); a malformed line raises DataError naming its number."""
    read = tree_file_lines(path)
    if not read:
        raise DataError(f"{path.name} holds no trees; each line must be one tree like {EXAMPLE}.")
    return [line for _, line, _ in read], [tree.label for _, _, tree in read]


# ------------------------------------------------------------------------ network inputs
#
# A tree of n leaves over at most L: nodes 0..L-1 are the leaves (word order), L..L+n-2 the
# inner nodes in post-order (children before parents; the root is the last, L+n-2). Columns:
#   tokens (L) | left child (L-1) | right child (L-1) | level (L-1) | node label (2L-1)
# level: 1 + the higher child's level (leaves are 0), 0 for padding; label: a class index,
# -1 where a node has none.


def tree_width(leaves: int) -> int:
    return leaves + 3 * (leaves - 1) + 2 * leaves - 1


def tree_columns(x: np.ndarray | object, leaves: int) -> tuple:
    """(tokens, left, right, level, labels): the column blocks of encoded trees."""
    edges = np.cumsum([leaves, leaves - 1, leaves - 1, leaves - 1, 2 * leaves - 1])
    starts = [0, *edges[:-1]]
    return tuple(x[:, int(a) : int(b)] for a, b in zip(starts, edges, strict=True))


def fitted(tree: Tree, leaves: int) -> Tree:
    """The tree as encoded: one of more than `leaves` words keeps its first words under a
    balanced tree, unlabelled."""
    words = tree.leaves()
    if len(words) <= leaves:
        return tree
    return _balanced([Tree("", w) for w in words[:leaves]])


def numbered(tree: Tree, leaves: int) -> list[tuple[int, Tree, tuple[int, ...]]]:
    """(node id, node, child ids) of every node in post-order: leaves are 0, 1, ... in word
    order, inner nodes `leaves`, `leaves` + 1, ...; the root comes last."""
    out: list[tuple[int, Tree, tuple[int, ...]]] = []
    counts = [0, 0]  # leaves, inner nodes so far

    def visit(node: Tree) -> int:
        if node.word is not None:
            index, counts[0] = counts[0], counts[0] + 1
            out.append((index, node, ()))
            return index
        children = tuple(visit(child) for child in node.children)
        index, counts[1] = leaves + counts[1], counts[1] + 1
        out.append((index, node, children))
        return index

    visit(tree)
    return out


def encode_trees(
    trees: Sequence[Tree],
    leaves: int,
    word_id: Callable[[str], int],
    label_id: Callable[[str], int],
) -> np.ndarray:
    """Encoded trees (n, tree_width(leaves)) int64, each as `fitted` cuts it."""
    out = np.zeros((len(trees), tree_width(leaves)), dtype=np.int64)
    tokens, left, right, level, labels = tree_columns(out, leaves)
    labels[:] = -1
    for row, tree in enumerate(trees):
        heights: dict[int, int] = {}
        for index, node, children in numbered(fitted(tree, leaves), leaves):
            labels[row, index] = label_id(node.label)
            if not children:
                tokens[row, index], heights[index] = word_id(node.word or ""), 0
                continue
            inner = index - leaves
            (left[row, inner], right[row, inner]) = children
            heights[index] = level[row, inner] = 1 + max(heights[c] for c in children)
    return out


class Phrase(NamedTuple):
    node: int  # its id in the encoding (see `numbered`)
    words: str
    label: str  # as the tree gave it; '' for none
    children: tuple[int, ...]  # their node ids; () for a word


def phrases(tree: Tree, leaves: int) -> list[Phrase]:
    """Every node of the tree as encoded, in `numbered` order (the root last)."""
    spans: dict[int, str] = {}
    out = []
    for index, node, children in numbered(fitted(tree, leaves), leaves):
        spans[index] = node.word if not children else " ".join(spans[c] for c in children)
        out.append(Phrase(index, spans[index] or "", node.label, children))
    return out


def _chain(nodes: list[Tree], shape: str) -> Tree:
    """A binary tree over the nodes: balanced, left- or right-branching."""
    if shape == "balanced" or len(nodes) == 1:
        return _balanced(nodes)
    tree = nodes[0] if shape == "left" else nodes[-1]
    for node in nodes[1:] if shape == "left" else reversed(nodes[:-1]):
        tree = Tree("", None, (tree, node) if shape == "left" else (node, tree))
    return tree


@lru_cache(maxsize=4096)
def binarised_structure(n: int, leaves: int, shape: str) -> tuple[np.ndarray, ...]:
    """(left, right, level) of a binary tree over n tokens (balanced, left- or right-
    branching), padded to leaves - 1 inner nodes: for sentences that come without trees."""
    tree = _chain([Tree("", "") for _ in range(n)], shape)
    encoded = encode_trees([tree], leaves, lambda _: 1, lambda _: -1)
    _, left, right, level, _ = tree_columns(encoded, leaves)
    return left[0], right[0], level[0]
