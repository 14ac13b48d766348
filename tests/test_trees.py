"""Parse trees and the RNTN: reading and refusing tree files, the level-batched composition
(checked against a node-at-a-time recursion), composition learnt where a bag of words cannot
(negation scope), and a tree folder through fit, predict --nodes and export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

import automl
from automl.dashboard import data as d
from automl.dashboard import figures as f
from automl.dashboard import model_data as m
from automl.data.loading import load_path
from automl.data.text import tokenize
from automl.data.trees import (
    binarised_structure,
    parse_tree,
    phrases,
    sentence_tree,
)
from automl.errors import DataError
from automl.model_records import TREES
from automl.prepare import prepare_data
from automl.search_spaces import get_family
from automl.study import seen_first
from automl.task import detect_task
from automl.trainer import TrainingConfig, train_model
from tests.support.browser import chromium, dashboard, require_browser, wait_for
from tests.support.cli import assert_cli_error, cli_in_process, run_cli
from tests.support.treebank import BUNDLED, write_treebank


@pytest.fixture(scope="module")
def treebank(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("trees") / "sentiment"
    write_treebank(folder, seed=1)
    return folder


def test_trees_parse_binarise_and_number_their_nodes():
    tree = parse_tree("(1 (2 a) (2 b) (3 8 1\\/2))")  # three children; a word with a space
    assert tree.leaves() == ["a", "b", "8 1\\/2"]
    binary = tree.binarised()
    assert binary.children[1].label == ""  # the new inner node carries no label
    nodes = phrases(binary, leaves=4)
    assert [n[0] for n in nodes] == [0, 1, 2, 4, 5]  # leaves, then inner nodes, root last
    assert nodes[-1] == (5, "a b 8 1\\/2", "1", (0, 4))  # (b 8 1/2) is node 4
    # a plain sentence gets a balanced tree; a longer tree than fits is cut and rebalanced
    plain = sentence_tree("good film , really", tokenize)
    assert [len(c.leaves()) for c in plain.children] == [2, 2]
    assert len(phrases(sentence_tree("a b c d e f", tokenize), leaves=3)) == 5
    left, right, level = binarised_structure(4, 5, "left")
    assert left[:3].tolist() == [0, 5, 6] and level[:3].tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("(3 (2 not) (3 bad)", "never closed"),
        ("(3 (2 not) (3 bad))) extra", "text follows"),
        ("(3 (2 a) stray)", "stands beside sub-trees"),
        ("( (2 a))", "no label"),
    ],
)
def test_a_malformed_tree_is_refused_with_its_line_number(tmp_path, capsys, line, problem):
    folder = tmp_path / "bank"
    folder.mkdir()
    good = "(3 (2 a) (3 good))\n"
    (folder / "train.txt").write_text(good * 12 + line + "\n")
    (folder / "test.txt").write_text(good)
    with pytest.raises(DataError, match=rf"train.txt, line 13: .*{problem}"):
        load_path(folder)
    assert_cli_error(capsys, "line 13", "detect", folder)


def test_tree_files_are_detected_as_the_rntn_row(treebank, capsys):
    code, out, err = cli_in_process(capsys, "detect", treebank)
    assert code == 0, err
    assert "parse trees in dev.txt, test.txt, train.txt" in out
    assert "with parse trees (RNTN first" in out and "-> rntn, rnn, text_cnn, fasttext" in out
    dataset = load_path(treebank / "train.txt")  # one file: trees too, no split given
    assert dataset.source == {"format": "trees"} and dataset.split is None
    # a folder of plain .txt documents is still plain text
    plain = treebank.parent / "plain"
    (plain / "pos").mkdir(parents=True)
    (plain / "neg").mkdir()
    for i in range(6):
        (plain / "pos" / f"{i}.txt").write_text("(a good film) by any measure")
        (plain / "neg" / f"{i}.txt").write_text("a dull film")
    assert load_path(plain).source == {"format": "text_folder"}


def test_tree_folders_as_users_save_them(treebank, tmp_path, capsys):
    """A byte-order mark (Windows editors) and a README beside the trees change nothing; a
    task the trees cannot have is refused in one line."""
    folder = tmp_path / "bom"
    folder.mkdir()
    for name in ("train.txt", "test.txt"):
        (folder / name).write_bytes(b"\xef\xbb\xbf" + (treebank / name).read_bytes())
    (folder / "README.txt").write_text("Sentences from our reviews, labelled 0-4.\n")
    dataset = load_path(folder)
    assert dataset.source == {"format": "trees"} and set(dataset.split) == {"train", "test"}
    assert any("README.txt" in note for note in dataset.notes)
    for task in ("unsupervised", "regression"):
        assert_cli_error(
            capsys, "Parse trees label their nodes", "detect", treebank, "--task", task
        )


def _prepared(folder: Path):
    dataset = load_path(folder)
    return dataset, prepare_data(dataset, detect_task(dataset), seed=0)


def _trained_rntn(prepared, epochs: int, **params):
    family = get_family("rntn")
    values = {"family": "rntn", **family.defaults(prepared.task)}
    values.update({f"rntn.{k}": v for k, v in params.items()})
    torch.manual_seed(0)
    model = family.build(values, prepared.task)
    data = prepared.data
    train_model(
        model,
        prepared.task,
        (torch.as_tensor(data.X_train), torch.as_tensor(data.y_train)),
        (torch.as_tensor(data.X_val), torch.as_tensor(data.y_val)),
        TrainingConfig.from_params(values, max_epochs=epochs, patience=epochs),
    )
    return model.eval()


@pytest.mark.parametrize("cell", ["tanh", "lstm"])
def test_level_batching_equals_a_node_at_a_time_recursion(treebank, cell):
    _, prepared = _prepared(treebank)
    task = prepared.task
    torch.manual_seed(3)
    params = {"family": "rntn", **get_family("rntn").defaults(task), "rntn.cell": cell}
    model = get_family("rntn").build(params, task)
    x = torch.as_tensor(prepared.data.X_val[:20])
    tokens, left, right, level, _ = model.trees(x)
    batched = model.node_states(tokens, left, right, level)
    with torch.no_grad():  # predicting writes each level in place
        assert torch.equal(model.node_states(tokens, left, right, level), batched)

    def state(row: int, node: int) -> torch.Tensor:  # the recursion the batching replaces
        if node < task.tree_leaves:
            leaf = model.embed(tokens[row, node])
            return model.leaf_cell(leaf[None])[0] if cell == "lstm" else leaf  # [h; c]
        inner = node - task.tree_leaves
        a, b = state(row, int(left[row, inner])), state(row, int(right[row, inner]))
        return model.join(a[None], b[None])[0]

    for row in range(len(x)):
        root = int(model.roots(tokens)[row])
        assert torch.allclose(batched[row, root], state(row, root)[: model.dim], atol=1e-5)


@pytest.mark.slow
def test_the_rntn_learns_negation_scope_that_a_bag_of_words_cannot(fitted):
    """The searched RNTN of the bundled example on its held-out phrases with 'not', against
    a bag of words (logistic regression on word counts) fitted on every training phrase."""
    predictor = automl.load(fitted / "trees" / "best")
    nodes = predictor.predict_path(BUNDLED / "test.txt", nodes=True)
    negated = nodes[nodes["phrase"].str.split().apply(lambda words: "not" in words)]
    assert len(negated) > 200 and (negated["label"] != "").all()
    rntn = float((negated["prediction"].astype(str) == negated["label"]).mean())

    lines = (BUNDLED / "train.txt").read_text().splitlines()
    train = [(p.words, p.label) for line in lines for p in phrases(parse_tree(line), 99)]
    vectorizer = CountVectorizer(token_pattern=r"\S+")
    bag = LogisticRegression(max_iter=2000).fit(
        vectorizer.fit_transform([w for w, _ in train]), [label for _, label in train]
    )
    bow = float((bag.predict(vectorizer.transform(negated["phrase"])) == negated["label"]).mean())
    assert rntn >= 0.95, (rntn, bow)
    assert bow <= rntn - 0.2, (rntn, bow)


def test_the_plain_recursive_net_and_binarised_plain_sentences_train(treebank, tmp_path):
    """V = 0 (no tensor) and the Tree-LSTM's gated cell are the same family; sentences without
    trees get binarised ones."""
    _, prepared = _prepared(treebank)
    plain = _trained_rntn(prepared, epochs=1, tensor=False)
    assert plain.tensor is None
    tree_lstm = _trained_rntn(prepared, epochs=1, cell="lstm")
    rows = {row["name"]: row["params"] for row in tree_lstm.layer_rows()}
    assert tree_lstm.tensor is None and "tensor" not in rows
    assert sum(rows.values()) == sum(p.numel() for p in tree_lstm.parameters())
    documents = tmp_path / "docs"
    for label, words in (("pos", "a truly good film"), ("neg", "not a good film at all")):
        (documents / label).mkdir(parents=True)
        for i in range(12):
            (documents / label / f"{i}.txt").write_text(f"{words} number {i}")
    dataset = load_path(documents)
    prepared = prepare_data(dataset, detect_task(dataset, families=["rntn"]), seed=0)
    assert prepared.task.tree_leaves is None
    for shape in ("balanced", "left", "right"):
        model = _trained_rntn(prepared, epochs=2, shape=shape)
        outputs = model(torch.as_tensor(prepared.data.X_val))
        assert outputs.shape == (len(prepared.data.X_val), 2)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> Path:
    """The bundled example fitted as the README runs it (RNTN only): its studies folder. One
    trial (run in process: Ray's searches are tested elsewhere) of 8 epochs on one validation
    split (not 5 folds) ends the search long before its budget on any machine."""
    studies = tmp_path_factory.mktemp("fitted") / "studies"
    args = ("--studies-dir", studies, "--study", "trees", "--max-trials", "1", "--max-epochs", "8")
    args += ("--selection", "holdout")
    fit = run_cli("fit", BUNDLED, "--budget", "4m", "--families", "rntn", *args, timeout=300)
    assert fit.returncode == 0, fit.stderr[-3000:]
    assert "model: " in fit.stdout
    return studies


@pytest.mark.slow
def test_a_tree_folder_predicts_every_phrase_and_exports(fitted, tmp_path, capsys):
    """Predict the roots and --nodes, export the bundle (ONNX refuses the RNTN with the
    reason, in one line)."""
    studies = fitted
    roots = tmp_path / "roots.csv"
    code, _, err = cli_in_process(
        capsys, "predict", "trees", BUNDLED / "test.txt", "-o", roots, "--studies-dir", studies
    )
    assert code == 0, err
    frame = pd.read_csv(roots)
    given = [parse_tree(line).label for line in (BUNDLED / "test.txt").read_text().splitlines()]
    assert len(frame) == len(given)
    assert (frame["prediction"].astype(str) == pd.Series(given)).mean() >= 0.8

    nodes = tmp_path / "nodes.csv"
    code, _, err = cli_in_process(
        capsys,
        "predict", "trees", BUNDLED / "test.txt", "-o", nodes, "--nodes", "--proba",
        "--studies-dir", studies,
    )  # fmt: skip
    assert code == 0, err
    phrases_frame = pd.read_csv(nodes, keep_default_na=False)
    assert {"id", "node", "phrase", "label", "prediction", "proba_0"} <= set(phrases_frame.columns)
    root_rows = phrases_frame.groupby("id", sort=False).tail(1)  # post-order: the root is last
    assert np.array_equal(root_rows["prediction"].to_numpy(), frame["prediction"].to_numpy())
    labelled = phrases_frame[phrases_frame["label"] != ""]
    assert (labelled["prediction"].astype(str) == labelled["label"].astype(str)).mean() >= 0.8

    # a plain sentence (no brackets, or brackets that are not a tree) gets a balanced tree
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("the plot is not very good\nthe cast is great\n(sigh) dull .\n")
    predictor = automl.load(studies / "trees" / "best")
    assert len(predictor.predict_path(sentences)) == 3

    assert_cli_error(
        capsys, "RNTN cannot be exported to onnx", "export", "trees", "--format", "onnx",
        "-o", tmp_path / "m.onnx", "--studies-dir", studies,
    )  # fmt: skip
    code, _, err = cli_in_process(
        capsys, "export", "trees", "-o", tmp_path / "bundle", "--studies-dir", studies
    )
    assert code == 0, err
    assert json.loads((tmp_path / "bundle" / "bundle.json").read_text())["preprocessing"]["trees"]


@pytest.mark.slow
def test_the_dashboard_draws_a_predicted_tree_and_the_rntn_architecture(fitted):
    study = d.load_study(fitted / "trees")
    frame = m.predictions(study, "test")
    # the trees of the sentences the view offers first (mistakes first) are recorded
    recorded = frame["tree"].notna()
    assert len(frame) == 400 and recorded.sum() == TREES
    assert recorded[seen_first(frame)[:TREES]].all()
    first = recorded.idxmax()
    tree = json.loads(frame.loc[first, "tree"])
    assert tree[-1]["phrase"] == frame.loc[first, "preview"]  # the root spans the sentence
    layers = f.architecture_table(study, int(study.trials["trial"].iloc[0]))
    assert layers["type"].str.startswith("Tensor V (30 x 60 x 60)").any()

    require_browser()
    first = m.tree_choices(m.predictions(study, "val"))[0]["value"]
    expected = len(json.loads(m.predictions(study, "val").loc[first, "tree"]))
    with dashboard(fitted) as url, chromium() as driver:
        driver.get(f"{url}/study/trees")
        drawn = wait_for(
            driver,
            lambda drv: drv.execute_script(
                "const p = document.querySelector('#fig-tree .js-plotly-plot');"
                "return p && p._fullData && p._fullData[1]._length;"
            ),
            what="the predicted tree",
        )
        assert drawn == expected  # one marker per node of the first sentence offered


def test_the_rntn_classifies_only():
    """A softmax at every node: a numeric target leaves the RNTN out of the text row."""
    from automl.data import Dataset
    from automl.errors import ConfigError

    texts = [f"review number {i} was {'good' if i % 2 else 'bad'}" for i in range(40)]
    dataset = Dataset("text", texts, np.linspace(1.0, 5.0, 40), "scores", "40 texts")
    assert "rntn" not in detect_task(dataset).families
    with pytest.raises(ConfigError, match="'rntn' classifies; this target is numeric"):
        detect_task(dataset, families=["rntn"])
