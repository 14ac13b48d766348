"""Recursive neural tensor network (Socher et al., 2013): meaning composed up a parse tree.

Leaves are word vectors; the parent of children a and b is
p = tanh(W [a; b] + b_W + [a; b]^T V [a; b]), the tensor V holding d slices of 2d x 2d, so
each child can scale the other ("not" flips what follows it, "very" sharpens it), which a
plain recursive net (no tensor: a searched choice) can only add. A softmax classifies every
node: a treebank trains on every labelled phrase, a sentence without a tree on its root.

Trees are batched level by level: every node whose children are done, across the whole
batch, is composed in one batched product, so a batch costs one step per tree level rather
than one per node. Sentences that come without trees get binary ones: balanced, left- or
right-branching (searched). Searched: d, the tensor, dropout before the classifier, the tree
shape, AdaGrad (the paper's) or AdamW, rate, L2, batch.

The composition may also be a gated cell, the binary Tree-LSTM (Tai et al. 2015): each node
keeps a memory c beside its state h, and a forget gate per child decides how much of each
child's memory the parent carries up, so a word's effect can travel further up the tree than
through a tanh per level. Leaves read their word through the same gates.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from automl.data.trees import SHAPES, binarised_structure, tree_columns
from automl.families import Hyperparameters, register_family_module
from automl.search_spaces._training import batch_size_choices
from automl.task_info import TaskInfo

NAME = "rntn"
SUPPORTS = frozenset({"text_processing"})
SUMMARY = "recursive neural tensor network over parse trees (level-batched)"
CLASSES_ONLY = True  # a softmax at every node: phrases have classes, not values
BATCH_SIZES = (16, 27, 64, 128)  # 27: Stanford CoreNLP's default
MAX_CHAIN = 64  # words; longer texts get balanced trees only


def suggest(hp: Hyperparameters, task: TaskInfo) -> None:
    hp.int("dim", 10, 50)
    if hp.categorical("cell", ["tanh", "lstm"]) == "tanh":
        hp.categorical("tensor", [True, False])
    hp.float("dropout", 0.0, 0.5)
    if task.tree_leaves is None:
        hp.categorical("shape", _shapes(task))
    hp.categorical("train_optimizer", ["adagrad", "adamw"])
    hp.float("train_lr", 1e-3, 1e-1, log=True)
    hp.float("train_weight_decay", 1e-6, 1e-3, log=True)
    hp.categorical("train_batch_size", _batch_sizes(task))
    hp.categorical("train_schedule", ["constant", "cosine"])
    hp.categorical("train_grad_clip", [0.0, 5.0])


def defaults(task: TaskInfo) -> dict[str, Any]:
    """Stanford CoreNLP's AdaGrad at 0.01, batches of 27, the tensor on; d = 30 and dropout
    0.3 rather than its 25 and none: 45.4 % against 41.3 % on SST's 5-class test roots,
    measured (an unregularised RNTN stops improving after a dozen epochs)."""
    params: dict[str, Any] = {
        "dim": 30,
        "cell": "tanh",
        "tensor": True,
        "dropout": 0.3,
        "train_optimizer": "adagrad",
        "train_lr": 0.01,
        "train_weight_decay": 1e-5,
        "train_batch_size": 27 if 27 in _batch_sizes(task) else _batch_sizes(task)[0],
        "train_schedule": "constant",
        "train_grad_clip": 0.0,
    }
    if task.tree_leaves is None:
        params["shape"] = "balanced"
    return params


def alternatives(task: TaskInfo) -> list[dict[str, Any]]:
    """Two measured on SST, one run or study each: the Tree-LSTM, d = 50, AdamW at 2e-3 (5-class
    test roots 45.9 % in 2.6 minutes, against 43.9 % for the tensor default); and a small
    tensor RNTN under AdaGrad at 0.05 with clipped gradients, what every tanh member of the
    best binary ensemble had (d 12-31, rates 0.02-0.09, 86.3 %), where Tree-LSTMs alone scored
    85.1 %."""
    lstm = {**defaults(task), "dim": 50, "cell": "lstm", "train_optimizer": "adamw"}
    lstm["train_lr"] = 2e-3
    del lstm["tensor"]
    small = {**defaults(task), "dim": 15, "train_lr": 0.05, "train_grad_clip": 5.0}
    if 16 in _batch_sizes(task):
        small["train_batch_size"] = 16
    return [lstm, small]


def grace_epochs(hp: dict[str, Any]) -> int:
    """The tanh composition climbs slowly under AdaGrad: early stopping judges it at epoch 9,
    not 3. On SST 5-class the default scored 35.6 % on dev at epoch 3, where ASHA stopped it,
    while fastText led there; trained on, it reached 44.6 % at epoch 8. (The Tree-LSTM under
    AdaGrad had 43.9 % at epoch 3.)"""
    slow = hp["train_optimizer"] == "adagrad" and hp.get("cell", "tanh") == "tanh"
    return 9 if slow else 0


def _shapes(task: TaskInfo) -> tuple[str, ...]:
    """Left- or right-branching trees are as deep as the text is long: for sentences only (a
    400-word chain is a recurrent net without gates, one level a word, and keeps every level's
    states for the backward pass)."""
    return SHAPES if task.input_shape and task.input_shape[-1] <= MAX_CHAIN else ("balanced",)


def _batch_sizes(task: TaskInfo) -> tuple[int, ...]:
    fitting = set(batch_size_choices(task))
    return tuple(b for b in BATCH_SIZES if b <= max(fitting)) or BATCH_SIZES[:1]


class RNTN(nn.Module):
    # automl.export reads this: a graph cannot hold a loop whose length each tree decides
    graph_unsupported = (
        "its loop over tree levels and the nodes composed at each level depend on each "
        "sentence's tree, which ONNX and torch.export graphs of fixed shape cannot hold"
    )

    def __init__(self, hp: dict[str, Any], task: TaskInfo) -> None:
        super().__init__()
        if task.vocab_size is None:
            raise ValueError("rntn reads token ids; the data has no vocabulary")
        d = hp["dim"]
        self.dim = d
        self.leaves = task.tree_leaves  # None: rows of token ids without trees
        self.shape = hp.get("shape", "balanced")
        self.lstm = hp.get("cell", "tanh") == "lstm"
        self.embed = nn.Embedding(task.vocab_size, d, padding_idx=0)
        if self.lstm:  # gates i, o, u of a leaf; i, f_left, f_right, o, u of a parent
            self.leaf_gates = nn.Linear(d, 3 * d)
            self.compose = nn.Linear(2 * d, 5 * d)
        else:
            self.compose = nn.Linear(2 * d, d)
        tensor = hp.get("tensor") and not self.lstm
        self.tensor = nn.Parameter(torch.empty(d, 2 * d, 2 * d)) if tensor else None
        self.dropout = nn.Dropout(hp["dropout"])
        self.classify = nn.Linear(d, task.output_dim)
        self._init()

    def _init(self) -> None:
        # CoreNLP's: W averages the children plus noise, the tensor starts small
        d = self.dim
        nn.init.normal_(self.embed.weight, std=0.1)
        with torch.no_grad():
            self.embed.weight[0].zero_()
            if self.lstm:  # PyTorch's default for the gates; forget gates start open
                self.compose.bias[d : 3 * d].fill_(1.0)
                return
            nn.init.uniform_(self.compose.weight, -0.5 / d**0.5, 0.5 / d**0.5)
            self.compose.weight += 0.5 * torch.cat([torch.eye(d), torch.eye(d)], dim=1)
            nn.init.zeros_(self.compose.bias)
            if self.tensor is not None:
                nn.init.uniform_(self.tensor, -1 / (4 * d), 1 / (4 * d))

    def trees(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(tokens, left, right, level, node labels or None) of a batch."""
        if self.leaves is not None:
            return tree_columns(x, self.leaves)
        lengths = (x != 0).sum(dim=1).clamp_min(1).tolist()
        parts = [binarised_structure(int(n), x.shape[1], self.shape) for n in lengths]
        left, right, level = (
            torch.as_tensor(np.stack([p[i] for p in parts]), device=x.device) for i in range(3)
        )
        return x, left, right, level, None

    def node_states(
        self, tokens: torch.Tensor, left: torch.Tensor, right: torch.Tensor, level: torch.Tensor
    ) -> torch.Tensor:
        """Every node's vector (n, 2L-1, d): leaves, then inner nodes, one level at a time."""
        n, leaves = tokens.shape
        nodes = 2 * leaves - 1
        leaf = self.embed(tokens)
        if self.lstm:  # a node's state is [h; c]
            leaf = self.leaf_cell(leaf)
        width = leaf.shape[-1]
        inner = torch.zeros((n, leaves - 1, width), device=tokens.device)
        h = torch.cat([leaf, inner], dim=1).reshape(n * nodes, width)
        base = torch.arange(n, device=tokens.device)[:, None] * nodes
        left, right = left + base, right + base
        parent = base + leaves + torch.arange(leaves - 1, device=tokens.device)[None, :]
        for depth in range(1, int(level.max()) + 1 if level.numel() else 1):
            at = level == depth
            joined = self.join(h[left[at]], h[right[at]])
            if torch.is_grad_enabled():  # autograd needs each level's states kept
                h = h.index_copy(0, parent.expand_as(at)[at], joined)
            else:  # predicting: in place, not a copy of every node's state per level
                h.index_copy_(0, parent.expand_as(at)[at], joined)
        return h.reshape(n, nodes, width)[..., : self.dim]  # h (the Tree-LSTM's memory dropped)

    def leaf_cell(self, x: torch.Tensor) -> torch.Tensor:
        i, o, u = self.leaf_gates(x).chunk(3, dim=-1)
        c = torch.sigmoid(i) * torch.tanh(u)
        return torch.cat([torch.sigmoid(o) * torch.tanh(c), c], dim=-1)

    def join(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if self.lstm:
            d = self.dim
            gates = self.compose(torch.cat([a[:, :d], b[:, :d]], dim=1))
            i, f_a, f_b, o = torch.sigmoid(gates[:, : 4 * d]).chunk(4, dim=1)
            u = torch.tanh(gates[:, 4 * d :])
            c = i * u + f_a * a[:, d:] + f_b * b[:, d:]
            return torch.cat([o * torch.tanh(c), c], dim=1)
        children = torch.cat([a, b], dim=1)
        z = self.compose(children)
        if self.tensor is not None:
            z = z + nn.functional.bilinear(children, children, self.tensor)
        return torch.tanh(z)

    @staticmethod
    def roots(tokens: torch.Tensor) -> torch.Tensor:
        """Each tree's root node: the last inner node, or its only leaf."""
        words = (tokens != 0).sum(dim=1)
        return torch.where(words >= 2, tokens.shape[1] + words - 2, 0)

    def node_outputs(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """(logits of every node (n, 2L-1, classes), the node labels the rows carry (None
        without trees), each row's root node)."""
        tokens, left, right, level, labels = self.trees(x)
        states = self.node_states(tokens, left, right, level)
        return self.classify(self.dropout(states)), labels, self.roots(tokens)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens, left, right, level, _ = self.trees(x)
        states = self.node_states(tokens, left, right, level)
        rows = torch.arange(len(tokens), device=x.device)
        return self.classify(self.dropout(states[rows, self.roots(tokens)]))

    def training_loss(self, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Cross-entropy over every labelled node, the root's label being the target."""
        logits, labels, roots = self.node_outputs(x)
        if labels is None:
            labels = torch.full(logits.shape[:2], -1, dtype=torch.long, device=x.device)
        labels = labels.clone()
        labels[torch.arange(len(labels), device=x.device), roots] = targets
        return nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-1
        )

    def layer_rows(self) -> list[dict[str, Any]]:
        """The architecture view's rows (a forward pass on `meta` cannot follow trees)."""
        d = self.dim
        rows = [("embed", "Embedding (word vectors)", [d], self.embed.weight.numel())]
        if self.lstm:
            rows += [
                ("leaf_gates", "Tree-LSTM leaf gates i, o, u", [2 * d], 3 * d * (d + 1)),
                (
                    "compose",
                    "Tree-LSTM gates i, f_a, f_b, o, u of [a; b]",
                    [2 * d],
                    5 * d * (2 * d + 1),
                ),
            ]
        else:
            rows.append(("compose", "Linear W [a; b] + b", [d], 2 * d * d + d))
        if self.tensor is not None:
            rows.append(("tensor", f"Tensor V ({d} x {2 * d} x {2 * d})", [d], self.tensor.numel()))
        out = self.classify.out_features
        rows.append(("classify", "Linear softmax at every node", [out], (d + 1) * out))
        return [{"name": n, "type": t, "output_shape": s, "params": int(p)} for n, t, s, p in rows]


def build(hp: dict[str, Any], task: TaskInfo) -> nn.Module:
    return RNTN(hp, task)


FAMILY = register_family_module(__name__)
