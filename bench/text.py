"""Text benchmarks: the Sentiment Treebank (trees and plain sentences), the generated negation
treebank, and the RNTN's level-batched throughput; anchors in the same run.

    python bench/run.py sst --trees DIR --budget 30m      # fine-grained and binary, roots and
                                                          # all phrases, TF-IDF + LR, NB-SVM
    python bench/run.py sst_fine --trees DIR --budget 30m # one of the two
    python bench/run.py sst_sentences --trees DIR --budget 10m  # binary, plain text (no trees)
    python bench/run.py negation --budget 2m              # generated treebank: RNTN vs bag
    python bench/run.py rntn_throughput --trees DIR       # level-batched vs node at a time

DIR holds the treebank's train.txt, dev.txt and test.txt (PTB format). No package ships it;
copy it from a public repository, e.g. `git clone https://github.com/munikarmanish/RNTN` and
pass RNTN/trees (that copy's train.txt also holds the dev trees: they are dropped here).
Never commit it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "runs" / "data"
BINARY = {"0": "0", "1": "0", "2": "n", "3": "1", "4": "1"}  # n: neutral, not a class
PAPER = "RNTN 85.4 / 45.7, all phrases 80.7 (Socher et al. 2013)"


def treebank(trees: str | None) -> Path:
    if not trees or not (Path(trees) / "train.txt").is_file():
        raise SystemExit(
            "the SST benchmarks need --trees DIR with train.txt, dev.txt and test.txt of the "
            "Sentiment Treebank; see bench/text.py's docstring for where to get them"
        )
    return Path(trees)


def sst_folder(trees: Path, labels: str) -> Path:
    """The treebank as this benchmark reads it: dev trees dropped from train.txt; `binary`:
    neutral sentences dropped, 0-1 -> 0, 3-4 -> 1, neutral phrases unlabelled ('n')."""
    out = DATA / f"sst_{labels}"
    out.mkdir(parents=True, exist_ok=True)
    dev = set((trees / "dev.txt").read_text().splitlines())
    for split in ("train", "dev", "test"):
        lines = [ln for ln in (trees / f"{split}.txt").read_text().splitlines() if ln.strip()]
        if split == "train":
            lines = [ln for ln in lines if ln not in dev]
        if labels == "binary":
            lines = [
                re.sub(r"\((\d)", lambda m: "(" + BINARY[m.group(1)], ln)
                for ln in lines
                if ln[1] != "2"
            ]
        (out / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return out


def _phrases(folder: Path, split: str, leaves: int = 10_000) -> pd.DataFrame:
    from automl.data.trees import parse_tree, phrases

    rows = []
    for number, line in enumerate((folder / f"{split}.txt").read_text().splitlines()):
        nodes = phrases(parse_tree(line).binarised(), leaves)
        for phrase in nodes:
            rows.append((number, phrase.node, phrase.words, phrase.label, phrase is nodes[-1]))
    return pd.DataFrame(rows, columns=["sentence", "node", "phrase", "label", "root"])


def anchors(folder: Path, dataset: str) -> list[dict]:
    """TF-IDF + logistic regression (C by 5-fold CV) and NB-SVM (Wang & Manning 2012: NB
    log-count ratios scaling uni+bigram features, a linear model), trained on the training
    sentences, and again on every labelled training phrase; scored on the test roots."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

    train, test = _phrases(folder, "train"), _phrases(folder, "test")
    train = train[train["label"] != "n"]
    test_roots = test[test["root"]]
    rows = []
    for scope, part in (("sentences", train[train["root"]]), ("all phrases", train)):
        texts, labels = part["phrase"].str.lower(), part["label"]
        tfidf = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
        started = time.perf_counter()
        lr = LogisticRegressionCV(Cs=8, cv=5, max_iter=2000, l1_ratios=(0.0,))
        lr.fit(tfidf.fit_transform(texts), labels)
        score = lr.score(tfidf.transform(test_roots["phrase"].str.lower()), test_roots["label"])
        rows.append(_anchor(dataset, f"TF-IDF + LogReg (C by CV), {scope}", score, started))
        started = time.perf_counter()
        counts = CountVectorizer(ngram_range=(1, 2), binary=True)
        X = counts.fit_transform(texts)
        X_test = counts.transform(test_roots["phrase"].str.lower())
        scores = []
        classes = sorted(labels.unique())
        for c in classes:  # one-vs-rest NB-SVM: each class its own log-count ratio
            positive = np.asarray(X[(labels == c).to_numpy()].sum(0)).ravel() + 1
            negative = np.asarray(X[(labels != c).to_numpy()].sum(0)).ravel() + 1
            ratio = np.log((positive / positive.sum()) / (negative / negative.sum()))
            model = LogisticRegression(C=1.0, max_iter=2000)
            model.fit(X.multiply(ratio).tocsr(), (labels == c).astype(int))
            scores.append(model.decision_function(X_test.multiply(ratio).tocsr()))
        predicted = np.asarray(classes)[np.argmax(np.stack(scores, 1), 1)]
        score = float((predicted == test_roots["label"].to_numpy()).mean())
        rows.append(_anchor(dataset, f"NB-SVM (uni+bigrams), {scope}", score, started))
    return rows


def _anchor(dataset: str, system: str, score: float, started: float) -> dict:
    return {
        "dataset": dataset,
        "metric": "test accuracy (roots)",
        "budget": "-",
        "system": system,
        "test_score": float(score),
        "wall_s": time.perf_counter() - started,
    }


def _predict(study_dir: Path, tree_file: Path, *flags: str) -> pd.DataFrame:
    out = DATA / "predictions.csv"
    subprocess.run(
        [sys.executable, "-m", "automl", "predict", str(study_dir / "best"), str(tree_file),
         *flags, "-o", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    return pd.read_csv(out, keep_default_na=False, dtype={"label": str, "prediction": str})


def _predict_nodes(study_dir: Path, tree_file: Path) -> pd.DataFrame:
    return _predict(study_dir, tree_file, "--nodes")


def binary_from_fine(study_dir: Path, tree_file: Path) -> float:
    """The paper's binary protocol: the 5-class model on the test sentences that are not
    neutral, positive when P(3) + P(4) > P(0) + P(1)."""
    from automl.data.trees import parse_tree

    roots = _predict(study_dir, tree_file, "--proba")
    truth = np.asarray([parse_tree(line).label for line in tree_file.read_text().splitlines()])
    keep = truth != "2"
    positive = roots["proba_3"] + roots["proba_4"] > roots["proba_0"] + roots["proba_1"]
    return float((positive.to_numpy()[keep] == np.isin(truth[keep], ["3", "4"])).mean())


def _automl_row(dataset: str, budget: str, figures: dict) -> tuple[dict, Path]:
    """The results row of an `automl fit` (its test score is the exported model's on the
    given test split), and its study's folder."""
    import json

    study_dir = Path(figures.pop("study_dir"))
    bundle = json.loads((study_dir / "best" / "bundle.json").read_text())
    row = {
        "dataset": dataset,
        "metric": "test accuracy (roots)",
        "budget": budget,
        "system": "automl (Ray Tune + Optuna)",
        "test_score": bundle.get("test_score"),
        "families": sorted({m["family"] for m in bundle["members"]}),
        **figures,
    }
    return row, study_dir


def bench_sst(labels: list[str], trees: str | None, budget: str, run_cli) -> list[dict]:
    """automl on the treebank (its detection: RNTN first, then the sequence families),
    root accuracy and, fine-grained, every phrase's; the anchors beside it."""
    source = treebank(trees)
    rows = []
    for kind in labels:
        folder = sst_folder(source, kind)
        dataset = f"SST {kind}, sentence level ({PAPER})"
        row, study_dir = _automl_row(dataset, budget, run_cli(folder, budget, []))
        if "rntn" in row["families"]:
            nodes = _predict_nodes(study_dir, folder / "test.txt")
            labelled = nodes[~nodes["label"].isin(["", "n"])]
            row["all_phrases"] = float((labelled["label"] == labelled["prediction"]).mean())
        if kind == "fine":
            row["binary_from_fine"] = binary_from_fine(study_dir, folder / "test.txt")
        rows.append(row)
        rows += anchors(folder, dataset)
    return rows


def bench_sst_sentences(trees: str | None, budget: str, run_cli) -> list[dict]:
    """Binary SST as a user's plain text: one .txt file per sentence in class folders (no
    trees), train/val/test as the treebank splits them."""
    from automl.data.trees import parse_tree

    folder = sst_folder(treebank(trees), "binary")
    out = DATA / "sst_sentences"
    for split, name in (("train", "train"), ("dev", "val"), ("test", "test")):
        for number, line in enumerate((folder / f"{split}.txt").read_text().splitlines()):
            tree = parse_tree(line)
            target = out / name / ("positive" if tree.label == "1" else "negative")
            target.mkdir(parents=True, exist_ok=True)
            (target / f"{number:05d}.txt").write_text(" ".join(tree.leaves()))
    dataset = "SST binary as plain sentences (no trees)"
    row, _ = _automl_row(dataset, budget, run_cli(out, budget, []))
    return [row, *[r for r in anchors(folder, dataset) if "sentences" in r["system"]]]


def bench_negation(budget: str, run_cli) -> list[dict]:
    """The generated treebank (examples/make_treebank.py, seed 0: the bundled example): the
    RNTN's accuracy on held-out phrases that contain 'not', against a bag of words (logistic
    regression on word counts) trained on every labelled training phrase."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    sys.path.insert(0, str(ROOT))
    from tests.support.treebank import write_treebank

    folder = DATA / "negation"
    write_treebank(folder, seed=0)
    figures = run_cli(folder, budget, ["--families", "rntn"])
    study_dir = Path(figures.pop("study_dir"))
    nodes = _predict_nodes(study_dir, folder / "test.txt")
    negated = nodes[nodes["phrase"].str.split().apply(lambda w: "not" in w)]
    train = _phrases(folder, "train")
    counts = CountVectorizer(token_pattern=r"\S+")
    bag = LogisticRegression(max_iter=2000).fit(
        counts.fit_transform(train["phrase"]), train["label"]
    )
    bow = float((bag.predict(counts.transform(negated["phrase"])) == negated["label"]).mean())
    dataset = f"generated negation treebank: {len(negated)} held-out phrases with 'not'"
    return [
        {
            "dataset": dataset,
            "metric": "phrase accuracy",
            "budget": budget,
            "system": "automl, RNTN",
            "test_score": float((negated["prediction"] == negated["label"]).mean()),
            **figures,
        },
        {
            "dataset": dataset,
            "metric": "phrase accuracy",
            "budget": "-",
            "system": "bag of words + LogReg (every training phrase)",
            "test_score": bow,
        },
    ]


def bench_rntn_throughput(trees: str | None) -> list[dict]:
    """Training steps (forward, loss over every node, backward) per second on SST's first
    540 training trees in batches of 27: the level-batched RNTN against the same network
    run node at a time (the recursion level batching replaces), same weights, same run."""
    import torch

    from automl.data.loading import load_path
    from automl.prepare import prepare_data
    from automl.search_spaces import get_family
    from automl.task import detect_task

    if trees:
        folder = sst_folder(treebank(trees), "fine")
    else:
        sys.path.insert(0, str(ROOT))
        from tests.support.treebank import BUNDLED as folder
    dataset = load_path(folder)
    prepared = prepare_data(dataset, detect_task(dataset), seed=0)
    task, family = prepared.task, get_family("rntn")
    model = family.build({"family": "rntn", **family.defaults(task)}, task)
    model.eval()  # no dropout: both ways compute the same loss (gradients flow all the same)
    X = torch.as_tensor(prepared.data.X_train[:540])
    y = torch.as_tensor(prepared.data.y_train[:540])

    def batched(x, targets):
        return model.training_loss(x, targets)

    def node_at_a_time(x, targets):
        tokens, left, right, level, labels = model.trees(x)
        roots = model.roots(tokens)
        losses = []
        for row in range(len(x)):
            cache: dict[int, torch.Tensor] = {}

            def state(node: int, row: int = row, cache: dict = cache) -> torch.Tensor:
                if node not in cache:
                    if node < task.tree_leaves:
                        cache[node] = model.embed(tokens[row, node])
                    else:
                        inner = node - task.tree_leaves
                        a, b = state(int(left[row, inner])), state(int(right[row, inner]))
                        cache[node] = model.join(a[None], b[None])[0]
                return cache[node]

            state(int(roots[row]))
            for node, vector in cache.items():
                label = int(targets[row]) if node == int(roots[row]) else int(labels[row, node])
                if label >= 0:
                    losses.append(
                        torch.nn.functional.cross_entropy(
                            model.classify(vector)[None], torch.tensor([label])
                        )
                    )
        return torch.stack(losses).mean()

    rows = []
    for system, loss_of in (("level-batched", batched), ("node at a time", node_at_a_time)):
        started = time.perf_counter()
        for i in range(0, len(X), 27):
            loss = loss_of(X[i : i + 27], y[i : i + 27])
            model.zero_grad()
            loss.backward()
        seconds = time.perf_counter() - started
        rows.append(
            {
                "dataset": f"RNTN training throughput, {folder.name} ({len(X)} trees)",
                "metric": "sentences per second",
                "budget": "-",
                "system": f"RNTN {system}",
                "test_score": len(X) / seconds,
                "wall_s": seconds,
            }
        )
    return rows
