"""Every registered family, trained on small real data, exported to a bundle, ONNX and pt2;
each export reloaded (ONNX through onnxruntime) predicts what the PyTorch network predicts,
on raw inputs of other batch sizes and sequence lengths than the export saw."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest

import automl
from automl import cli
from automl.bundle import graph_config_file
from automl.export import ExportError, export_model
from automl.search_spaces import available_families
from tests.support.bundles import (
    cancer,
    diabetes,
    digits,
    forecast,
    series,
    text,
    trained_bundle,
)

# family, parameters over its defaults, data; the recurrent cases cover every cell type, both
# directions and the poolings that read the sequence's own length
CASES = [
    ("mlp", {}, cancer),
    ("dbn", {}, diabetes),
    ("cnn", {}, lambda: digits(True)),
    ("rbm", {}, lambda: digits(False)),
    ("autoencoder", {}, lambda: (cancer()[0], None, {})),
    ("rnn", {"cell": "lstm", "pooling": "last", "n_layers": 2}, text),
    ("rnn", {"cell": "rnn", "pooling": "attention"}, series),
    ("rnn", {"cell": "gru", "bidirectional": False, "pooling": "max"}, forecast),
    # the forecaster's wrapper in the graph: a Box-Cox transform, global scaling, a drift base
    ("conv1d", {"transform": "boxcox", "scaling": "global", "base": "drift"}, forecast),
    ("nbeats", {"blocks_kind": "interpretable", "degree": 2, "harmonics": 2}, forecast),
    ("nbeats", {"transform": "log", "differences": True}, forecast),
    # Holt's damped trend: a recurrence unrolled over the window, its weights learnt
    ("smoothing", {"base": "holt"}, forecast),
    # log-scale extrapolations reach 1e4: the graph is checked relative to the output's size
    ("smoothing", {"base": "holt_winters", "transform": "log"}, forecast),
    ("text_cnn", {}, text),
    ("fasttext", {"ngrams": 3, "hidden": 64}, text),
    ("conv1d", {}, series),
    # random kernels with a ridge head: fixed features masked over each series' own length
    ("conv1d", {"kernels": "random", "n_kernels": 100, "head": "ridge"}, series),
    # MiniRocket's layout: PPVs over every step or only where a kernel misses the padding
    ("conv1d", {"kernels": "random", "layout": "minirocket", "n_features": 84}, series),
]
# families whose networks no graph can hold: they export as bundles, and say why not as graphs
BUNDLE_ONLY = {"rntn"}


def test_every_built_in_family_has_an_export_case():
    built_in = {  # other tests register failing families of their own
        name
        for name, family in available_families().items()
        if family.build.__module__.startswith("automl.search_spaces.")
    }
    assert {name for name, _, _ in CASES} | set(BUNDLE_ONLY) == built_in


@pytest.mark.parametrize("family", sorted(BUNDLE_ONLY))
def test_a_bundle_only_family_exports_its_bundle_and_refuses_graphs(tmp_path, family):
    bundle, X = trained_bundle(tmp_path / "best", family, {}, text)
    reference = automl.load(bundle)
    loaded = automl.load(export_model(bundle, tmp_path / "b", "bundle"))
    np.testing.assert_allclose(predictions(loaded, X)[0], predictions(reference, X)[0])
    for format in ("onnx", "pt2"):
        with pytest.raises(ExportError, match=rf"cannot be exported to {format}: .*tree"):
            export_model(bundle, tmp_path / f"m.{format}", format)
        assert not (tmp_path / f"m.{format}").exists()


def predictions(predictor, X) -> list[np.ndarray]:
    if predictor.task.target_kind == "none":
        return [predictor.score_samples(X), predictor.transform(X)]
    if predictor.task.is_classification:
        return [predictor.predict_proba(X)]
    return [np.asarray(predictor.predict(X), dtype=np.float64)]


@pytest.mark.parametrize(("family", "changes", "data"), CASES)
def test_export_reload_and_predict_the_same(tmp_path, family, changes, data):
    bundle, X = trained_bundle(tmp_path / "best", family, changes, data)
    reference = automl.load(bundle)
    expected = predictions(reference, X)
    task = reference.task
    scale = reference.preprocessing.target.std if task.target_kind != "none" else 1.0

    targets = {"bundle": tmp_path / "b", "onnx": tmp_path / "m.onnx", "pt2": tmp_path / "p"}
    for format, target in targets.items():
        written = export_model(bundle, target, format)
        loaded = automl.load(written)
        assert (loaded.model is None) == (format != "bundle")
        for want, got in zip(expected, predictions(loaded, X), strict=True):
            # regression values are in the target's units: the tolerance scales with them
            np.testing.assert_allclose(got, want, atol=1e-4 * scale, rtol=0, err_msg=format)
        if task.is_classification:
            assert list(loaded.predict(X)) == list(reference.predict(X))
        if format != "bundle":
            config = json.loads(graph_config_file(written).read_text())
            record = config["exports"][format]
            assert record["checked"]["max_scaled_diff"] < 1e-4
            sequences = task.modality in ("text", "series") and task.target_kind != "forecasting"
            assert (record["dynamic_axes"].get("1") == "steps") == sequences
            assert config["model_io"]["preprocessing_steps"]


def test_cli_export_then_predict_with_the_graph(tmp_path, capsys):
    """`automl export` writes each format; `automl predict` runs the ONNX graph and the pt2
    program on a CSV exactly as the bundle's PyTorch network does; bad requests are one line."""
    bundle, X = trained_bundle(tmp_path / "best", "mlp", {}, cancer)
    table = tmp_path / "new.csv"
    X.to_csv(table, index=False)

    def cli_run(*args) -> tuple[int, str]:
        code = cli.main([str(a) for a in args])
        return code, capsys.readouterr().err

    code, err = cli_run("predict", bundle, table, "-o", tmp_path / "torch.csv", "--proba")
    assert code == 0, err
    reference = pd.read_csv(tmp_path / "torch.csv")
    for format, model in [("onnx", tmp_path / "m.onnx"), ("pt2", tmp_path / "deploy")]:
        code, err = cli_run("export", bundle, "--format", format, "-o", model)
        assert code == 0, err
        out = tmp_path / f"{format}.csv"
        code, err = cli_run("predict", model, table, "-o", out, "--proba", "--runtime", format)
        assert code == 0, err
        got = pd.read_csv(out)
        assert got["prediction"].tolist() == reference["prediction"].tolist()
        np.testing.assert_allclose(
            got.filter(like="proba_"), reference.filter(like="proba_"), atol=1e-5
        )

    def one_line(*args) -> str:
        code, err = cli_run(*args)
        lines = [line for line in err.splitlines() if line.strip()]
        assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
        return lines[0]

    assert "name the file *.pt2" in one_line(
        "export", bundle, "--format", "pt2", "-o", tmp_path / "a.onnx"
    )
    assert "no onnx export" in one_line(
        "predict", tmp_path / "deploy", table, "-o", tmp_path / "p.csv", "--runtime", "onnx"
    )
    # a program that differs from the one exported is refused before torch.export.load runs it
    program = tmp_path / "deploy" / "model.pt2"
    program.write_bytes(pickle.dumps({"evil": print}))
    assert "Refusing to load" in one_line("predict", program, table, "-o", tmp_path / "p.csv")
    assert not (tmp_path / "p.csv").exists()
