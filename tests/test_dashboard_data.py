"""The dashboard's data step and figures, without a browser: what each view draws, checked
against independent computations on a study written through Optuna's API."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl import cli
from automl.dashboard import data as d
from automl.dashboard import figures as f
from automl.dashboard.report import write_report
from automl.study import load_records, load_trials, write_config
from automl.trial_record import ranked
from tests.support.files import files_of
from tests.support.synthetic_study import write_synthetic_study

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> d.StudyData:
    studies = tmp_path_factory.mktemp("dash-data") / "studies"
    write_synthetic_study(studies / "synthetic", 160)
    return d.load_study(studies / "synthetic")


def test_reader_matches_optuna(study):
    """The direct SQL reader gives what Optuna's own API gives, trial by trial."""
    frame = study.trials.set_index("trial")
    trials = load_trials(study.directory)
    assert sorted(frame.index) == [t.number for t in trials]
    for t in trials:
        row = frame.loc[t.number]
        family = t.user_attrs["family"]
        assert row["family"] == family
        assert row["status"] == d.STATUS[t.state.name]
        assert row["n_params"] == t.user_attrs["n_params"]
        assert row["epochs"] == t.user_attrs["epochs_completed"]
        assert row["params"] == {
            k.split(".", 1)[1]: v for k, v in t.params.items() if k.startswith(f"{family}.")
        }
        if t.value is not None:
            assert row["value"] == pytest.approx(t.value)
        last = t.intermediate_values[max(t.intermediate_values)] if t.intermediate_values else None
        expected = t.value if t.value is not None else last
        assert (
            pd.isna(row["score"]) if expected is None else row["score"] == pytest.approx(expected)
        )
        curve = study.curves[study.curves["trial"] == t.number]
        assert dict(zip(curve["epoch"], curve["score"], strict=True)) == pytest.approx(
            t.intermediate_values
        )
    # the leaderboard ranks as the command line's does
    assert d.ranked(study)["trial"].tolist() == [
        r.number for r in ranked(load_records(study.directory))
    ]


def test_best_so_far_is_the_running_maximum_in_order_of_ending(study):
    table = d.best_so_far(study)
    done = study.trials[study.trials["status"] == "complete"].sort_values(["ended_s", "trial"])
    expected = list(itertools.accumulate(done["value"], max))
    assert table["best"].tolist() == pytest.approx(expected)
    assert table["best"].iloc[-1] == pytest.approx(d.ranked(study)["score"].iloc[0])


def test_pareto_front_is_exactly_the_undominated_trials(study):
    table = d.pareto(study)
    assert len(table) == (study.trials["status"] == "complete").sum()
    for row in table.itertuples():
        others = table.drop(row.Index)
        dominated = (
            (others["n_params"] <= row.n_params)
            & (others["score"] >= row.score)
            & ((others["n_params"] < row.n_params) | (others["score"] > row.score))
        ).any()
        assert row.on_front == (not dominated), row


def test_importance_finds_the_parameter_that_decides_the_score(study):
    """The synthetic score depends on the learning rate only."""
    shares = d.importance(study, "mlp")
    assert shares.index[0] == "lr" and shares["lr"] > 0.2
    assert (shares.drop("lr") < 0.1).all(), shares


def test_parallel_axes_place_every_trial_on_every_axis(study):
    table = d.parameters(study, "dbn")
    axes = d.parallel_axes(table)
    assert [a["label"] for a in axes] == [*table.columns.drop(["trial", "score"]), "score"]
    for axis in axes:
        positions = axis["positions"]
        assert len(positions) == len(table) and positions.notna().all()
        assert ((positions.between(0, 1)) | (positions == d.NOT_USED_AT)).all()
    lr = next(a for a in axes if a["label"] == "lr")  # spans 3 decades: log-spaced ticks
    assert float(lr["ticks"][0][1]) < 1e-3 < 1e-2 < float(lr["ticks"][-1][1])


def test_leaderboard_filter_and_sort_as_the_table_asks(study):
    board = d.ranked(study)
    # as the table writes them: typed '> 0.9' and 'dbn' (s: case-sensitive, i: not)
    high = d.filter_rows(board, "{score} s> 0.9 && {family} scontains dbn")
    assert len(high) and (high["score"] > 0.9).all() and (high["family"] == "dbn").all()
    assert d.filter_rows(board, "{family} icontains DBN").equals(
        d.filter_rows(board, "{family} contains dbn")
    )
    failed = d.filter_rows(board, '{status} s= "failed"')
    assert len(failed) == (study.trials["status"] == "failed").sum()
    assert (
        len(d.filter_rows(board, "{reason} contains ASHA"))
        == (study.trials["status"] == "stopped early").sum()
    )
    assert len(d.filter_rows(board, "{no_such_column} > 1")) == len(board)  # ignored
    by_size = d.sort_rows(board, [{"column_id": "n_params", "direction": "desc"}])
    assert by_size["n_params"].is_monotonic_decreasing


def test_drawn_keeps_the_front_and_the_best():
    table = pd.DataFrame({"trial": range(5000), "score": np.random.default_rng(0).random(5000)})
    front = table["trial"] % 997 == 0
    shown = d.drawn(table, 1000, keep=front)
    assert len(shown) == 1000 and front[shown.index].sum() == front.sum()
    best = table.drop(table.index[front]).nlargest(497, "score")
    assert set(best.index) <= set(shown.index)
    assert d.drawn(table.head(10), 1000).equals(table.head(10))


def test_every_figure_has_data_and_an_empty_study_explains_itself(study, tmp_path):
    figures = [
        f.best_so_far_figure(study),
        f.family_figure(study),
        f.pareto_figure(study, "n_params"),
        f.pareto_figure(study, "latency_ms"),
        f.curves_figure(study, [0, 1]),
        f.parallel_figure(study, "mlp"),
        f.importance_figure(study, "mlp"),
        f.architecture_figure(study, 3),
    ]
    for fig in figures:
        assert fig.data or fig.layout.shapes, fig.layout.title.text
    assert len(f.architecture_table(study, 3)) == len(d.architecture(study, 3)["layers"])

    empty_dir = tmp_path / "studies" / "new"
    write_config(empty_dir, {"study_name": "new", "task": {"families": ["mlp"]}})
    empty = d.load_study(empty_dir)  # a search that has not written its database yet
    assert empty.trials.empty
    for fig in (f.best_so_far_figure(empty), f.pareto_figure(empty), f.codes_figure(empty)):
        assert not fig.data and fig.layout.annotations  # a note, not a blank plot


def test_report_is_one_offline_file(study, tmp_path, capsys):
    code = cli.main(["report", str(study.directory), "-o", str(tmp_path / "r.html")])
    assert code == 0, capsys.readouterr().err
    text = (tmp_path / "r.html").read_text()
    # plotly.js is inside the file: no script or style is fetched from anywhere
    assert "<script" in text and not re.search(r"<(script|link)[^>]+(src|href)=", text)
    assert text.count('class="plotly-graph-div"') >= 8
    code = cli.main(["report", "missing", "--studies-dir", str(tmp_path), "-o", "x.html"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "No study 'missing'" in err[0]


def test_dashboard_imports_neither_torch_nor_ray(study, tmp_path):
    script = (
        "import sys; from pathlib import Path\n"
        "from automl.dashboard import app, data, report\n"
        f"study = data.load_study(Path({str(study.directory)!r}))\n"
        "app.create_app(study.directory.parent); app._study_page(study)\n"
        f"report.write_report(study.directory, Path({str(tmp_path / 'r.html')!r}))\n"
        "print(sorted(m for m in ('torch', 'ray') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "[]", out.stderr


def test_dashboard_refuses_a_taken_port(capsys, tmp_path):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        code = cli.main(["dashboard", str(tmp_path), "--port", str(port)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "choose another --port" in err[0]
    (tmp_path / "file").write_text("")
    code = cli.main(["dashboard", str(tmp_path / "file")])
    assert code == 2 and "is a file" in capsys.readouterr().err


def test_bad_report_and_dashboard_arguments_are_one_line_errors(study, tmp_path, capsys):
    damaged = tmp_path / "studies" / "damaged"
    write_config(damaged, {"study_name": "damaged", "task": {}})
    (damaged / "study.db").write_text("not a database")
    cases = [
        (["report", str(damaged), "-o", str(tmp_path / "r.html")], "cannot be read as a study"),
        (["report", str(study.directory), "-o", "/proc/no/r.html"], "Cannot write the report"),
        (["dashboard", str(tmp_path), "--port", "99999"], "a port is a number from 1 to 65535"),
        (["dashboard", str(tmp_path), "--host", "no.such.host.invalid"], "Cannot listen on"),
    ]
    for args, expected in cases:
        try:
            code = cli.main(args)
        except SystemExit as exc:  # argparse's own usage error, one line as well
            code = exc.code
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and expected in err[0], (args, err)


def test_report_writes_nothing_into_the_study(study, tmp_path):
    before = files_of(study.directory)
    write_report(study.directory, tmp_path / "r.html")
    assert files_of(study.directory) == before
    assert json.loads((study.directory / "config.json").read_text())["study_name"] == "synthetic"
