"""Tables as people save them: every encoding, separator, decimal mark and workbook of one
table reads the same, trains the same model and predicts the same; malformed files give a
note or a one-line error naming the fix."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import automl
from automl.data import ReadOptions, load_path, read_table
from automl.data.table_files import parse_numbers, with_date_order
from automl.errors import ConfigError, DataError
from tests.support.cli import assert_cli_error, cli_in_process
from tests.support.tables import XLS_FIXTURE, spreadsheet_frame, write_delimited, write_variants

PLAIN = "utf-8-comma-decimal_point"
# The variants a model is trained on in the round trip: one of each kind of difference.
TRAINED = (
    "cp1252-semicolon-decimal_comma",
    "utf-8-sig-tab-decimal_point",
    "utf-8-comma-decimal_comma",
    "xlsx",
)


@pytest.fixture(scope="module")
def variants(tmp_path_factory) -> dict[str, Path]:
    files = write_variants(spreadsheet_frame(), tmp_path_factory.mktemp("variants"))
    return {**files, "xls": XLS_FIXTURE}


def detect(capsys, *args) -> dict:
    code, out, err = cli_in_process(capsys, "detect", *args, "--json")
    assert code == 0, err
    return json.loads(out)


def kinds(frame: pd.DataFrame) -> dict[str, str]:
    """Each column's type as a model sees it: number, date or text."""
    return {
        c: "date"
        if pd.api.types.is_datetime64_any_dtype(frame[c])
        else "number"
        if pd.api.types.is_numeric_dtype(frame[c])
        else "text"
        for c in frame.columns
    }


def test_every_variant_reads_as_the_plain_utf8_comma_file(variants):
    plain, _ = read_table(variants[PLAIN])
    assert kinds(plain) == {
        "sepal length": "number",
        "sepal width": "number",
        "petal length": "number",
        "petal width": "number",
        "city": "text",
        "measured": "date",
        "label": "text",
    }
    assert set(plain["city"]) == {"Genève", "Zürich", "Malmö", "São Paulo", "Kraków", "Besançon"}
    for name, path in variants.items():
        frame, reading = read_table(path)
        assert kinds(frame) == kinds(plain), name
        pd.testing.assert_frame_equal(frame, plain, check_dtype=False, obj=name)
        if name.startswith("cp1252"):
            assert reading.encoding == "cp1252"
            assert "read as Windows-1252, not UTF-8" in reading.notes[0], name


def test_every_variant_is_detected_with_the_same_task(capsys, variants):
    plain = detect(capsys, variants[PLAIN])
    assert plain["modality"] == "table" and plain["target_kind"] == "multiclass"
    assert plain["reading"]["sep"] == "," and plain["reading"]["dates"] == {"measured": "ISO8601"}
    for name, path in variants.items():
        info = detect(capsys, path)
        for key in ("modality", "row", "target_kind", "data_shape", "class_counts", "families"):
            assert info[key] == plain[key], (name, key)
        assert "target column 'label' chosen by its name" in info["notes"][-1]


def test_detect_prints_how_the_table_was_read(capsys, variants):
    code, out, _ = cli_in_process(capsys, "detect", variants["cp1252-semicolon-decimal_comma"])
    assert code == 0
    read = next(line for line in out.splitlines() if line.startswith("read "))
    assert "CSV, Windows-1252, separator ';', text numbers with decimal commas in 'sepal" in read
    assert "text dates in 'measured'" in read
    code, out, _ = cli_in_process(capsys, "detect", variants["xls"])
    assert "Excel workbook, sheet 'measurements'" in out
    assert "the first of 2 with data (measurements, notes); --sheet NAME reads another" in out


def fit_and_predict(capsys, data: Path, studies: Path, name: str, *predict_args) -> pd.DataFrame:
    """A one-trial fit (in this process, no Ray) and the model's probabilities for its file."""
    code, _, err = cli_in_process(
        capsys, "fit", data, "--studies-dir", studies, "--study", name, "--max-trials", "1",
        "--max-epochs", "3", "--budget", "2m", "--seed", "3", "--quiet",
    )  # fmt: skip
    assert code == 0, err[-2000:]
    out = studies.parent / f"{name}.csv"
    code, _, err = cli_in_process(
        capsys, "predict", studies / name, data, "-o", out, "--proba", *predict_args
    )
    assert code == 0, err
    return pd.read_csv(out)


def test_fit_and_predict_on_each_kind_of_variant_gives_the_plain_files_predictions(
    capsys, tmp_path, variants
):
    studies = tmp_path / "studies"
    plain = fit_and_predict(capsys, variants[PLAIN], studies, "plain")
    assert plain["prediction"].isin(["setosa", "versicolor", "virginica"]).all()
    for name in TRAINED:
        predictions = fit_and_predict(capsys, variants[name], studies, name)
        pd.testing.assert_frame_equal(predictions, plain, obj=name)
    # the plain file's model on a European export: its number columns are numbers again
    out = tmp_path / "european.csv"
    european = variants["cp1252-semicolon-decimal_comma"]
    code, _, err = cli_in_process(
        capsys, "predict", studies / "plain", european, "-o", out, "--proba", "--sep", ";"
    )
    assert code == 0, err
    pd.testing.assert_frame_equal(pd.read_csv(out), plain)


def test_predict_reads_new_files_as_the_training_file_was_read(capsys, tmp_path, variants):
    """A model trained on a ';' Windows-1252 file with decimal commas and day-first dates reads
    new files of that export the same way, even where a small file alone would be ambiguous."""
    frame = spreadsheet_frame()
    frame["measured"] = pd.to_datetime(["2021-01-02", "2021-12-03", "2021-03-04"] * 50)
    dated = frame.assign(measured=frame["measured"].dt.strftime("%d/%m/%Y"))
    train = write_delimited(dated, tmp_path / "train.csv", "cp1252", ";", ",")
    studies = tmp_path / "studies"
    code, _, err = cli_in_process(
        capsys, "fit", train, "--studies-dir", studies, "--study", "eu", "--max-trials", "1",
        "--max-epochs", "2", "--budget", "2m", "--quiet",
    )  # fmt: skip
    assert code == 0, err[-2000:]
    assert "the dates in" not in err  # 03/12/2021 has a month over 12 read day first: certain
    # Two rows whose dates alone could be month first, whose numbers alone could be thousands
    new = write_delimited(dated.iloc[[0, 2]].assign(**{"sepal length": 1.234}), tmp_path / "new.csv", "cp1252", ";", ",")  # fmt: skip
    out = tmp_path / "p.csv"
    code, _, err = cli_in_process(capsys, "predict", studies / "eu", new, "-o", out, "--proba")
    assert code == 0, err
    model = automl.load(studies / "eu")
    expected = model.predict_proba(frame.iloc[[0, 2]].assign(**{"sepal length": 1.234}))
    assert np.allclose(pd.read_csv(out).filter(like="proba_").to_numpy(), expected, atol=1e-6)
    assert "read as Windows-1252" in err

    comma = write_delimited(dated.iloc[:5], tmp_path / "comma.csv")  # exported another way
    assert_cli_error(
        capsys,
        "lacks 6 column(s) the model was trained on: sepal length, sepal width",
        "predict", studies / "eu", comma, "-o", out,
    )  # fmt: skip
    assert_cli_error(
        capsys, "read as CSV, UTF-8, separator ';'", "predict", studies / "eu", comma, "-o", out
    )
    code, _, err = cli_in_process(
        capsys, "predict", studies / "eu", comma, "-o", out, "--sep", ",", "--decimal", "."
    )
    assert code == 0, err
    tabs = write_delimited(dated.iloc[:5], tmp_path / "new.tsv", sep="\t", decimal=",")
    code, _, err = cli_in_process(capsys, "predict", studies / "eu", tabs, "-o", out)
    assert code == 0, err  # a .tsv is split by tabs, whatever the training file's separator


# -------------------------------------------------------------------------- malformed files


def notes_of(capsys, path: Path, *args) -> list[str]:
    return detect(capsys, path, *args)["notes"]


def test_rows_with_too_few_or_too_many_fields_are_dropped_and_named(capsys, tmp_path):
    lines = ["x,z,label"] + [f"{i},{i % 7},{'ab'[i % 2]}" for i in range(40)]
    lines[5] = "4,1"  # a missing field
    lines[9] = "8,1,a,extra"  # one too many
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(lines) + "\n")
    notes = notes_of(capsys, path)
    assert "dropped 2 rows whose number of fields is not the header's 3 (lines 6, 10)" in notes[0]
    assert not any("target" in n and "missing" in n for n in notes), notes
    assert detect(capsys, path)["n_samples"] == 38
    frame, _ = read_table(path)  # rows keep their numbers: predictions stay matched to rows
    assert {4, 8}.isdisjoint(frame.index) and frame.index[-1] == 39

    path.write_text("\n".join(lines[:1] + [line + ",1" for line in lines[1:6]] + lines[6:]))
    assert_cli_error(capsys, "5 of 40 rows of 'ragged.csv' do not have the header's 3 fields (lines 2, 3, 4, 5, 10) when split by ','; pass --sep", "detect", path)  # fmt: skip


def test_a_header_holding_the_other_separator_is_split_by_the_one_that_gives_numbers(tmp_path):
    path = tmp_path / "umsatz.csv"  # ',' splits every line in two as well as ';' does
    path.write_text("Umsatz, EUR;Menge\n" + "".join(f"{i},5;{i % 7}\n" for i in range(20)))
    frame, reading = read_table(path)
    assert reading.sep == ";" and list(frame.columns) == ["Umsatz, EUR", "Menge"]
    assert frame["Umsatz, EUR"].tolist()[:3] == [0.5, 1.5, 2.5]


def test_trailing_separators_and_excels_sep_line_are_not_part_of_the_table(capsys, tmp_path):
    path = tmp_path / "trailing.csv"
    path.write_text("a;b;label;\n" + "".join(f"{i};{i * 2};{'xy'[i % 2]};\n" for i in range(30)))
    frame, reading = read_table(path)
    assert list(frame.columns) == ["a", "b", "label"] and len(frame) == 30
    assert not any("dropped" in n for n in reading.notes)
    path.write_text("sep=|\r\na|b|label\r\n1,5|2|x\r\n3|4|y\r\n")  # Excel's hint line
    frame, reading = read_table(path)
    assert list(frame.columns) == ["a", "b", "label"] and reading.sep == "|"
    assert frame["a"].tolist() == [1.5, 3.0]


def test_infinities_are_missing_values_with_a_note(capsys, tmp_path):
    path = tmp_path / "inf.csv"
    values = ["1.5", "inf", "-inf", "2"] * 8
    path.write_text("x,z,label\n" + "".join(f"{v},{i},{i % 2}\n" for i, v in enumerate(values)))
    notes = notes_of(capsys, path)
    assert "read 16 infinite values (inf, -inf) as missing, in 'x'" in notes
    frame, _ = read_table(path)
    assert frame["x"].isna().sum() == 16 and np.isfinite(frame["x"].dropna()).all()


def test_duplicate_column_names_are_made_unique_with_a_note(capsys, tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("x,x,x,label\n" + "".join(f"{i},{i + 1},{i + 2},{i % 2}\n" for i in range(20)))
    frame, reading = read_table(path)
    assert list(frame.columns) == ["x", "x.1", "x.2", "label"]
    assert (
        "column name 'x' appears more than once; later copies are read as NAME.1"
        in (reading.notes[0])
    )
    book = tmp_path / "dup.xlsx"
    pd.DataFrame([[1, 2, 0]] * 12, columns=["a", "b", "label"]).rename(columns={"b": "a"}).to_excel(
        book, index=False
    )
    frame, reading = read_table(book)
    assert list(frame.columns) == ["a", "a.1", "label"] and "'a' appears" in reading.notes[0]


def test_ambiguous_dates_say_which_order_was_assumed(capsys, tmp_path):
    rows = "".join(f"0{1 + i % 9}/0{1 + i % 7}/2021,{i},{i % 2}\n" for i in range(30))
    path = tmp_path / "dates.csv"
    path.write_text("when,x,label\n" + rows)
    frame, reading = read_table(path)
    assert frame["when"][0] == pd.Timestamp("2021-01-01")
    assert frame["when"][1] == pd.Timestamp("2021-02-02")
    assert frame["when"][7] == pd.Timestamp("2021-08-01")  # 08/01/2021: month first
    assert "read month first (08/01/2021" not in reading.notes[0]
    assert "could be day or month first (no day is over 12); read month first" in reading.notes[0]
    assert "--date-order dmy reads them the other way" in reading.notes[0]
    frame, _ = read_table(path, ReadOptions(date_order="dmy"))
    assert frame["when"][7] == pd.Timestamp("2021-01-08")
    # a semicolon file is European: day first; a day over 12 settles it with no note
    semicolon = tmp_path / "semicolon.csv"
    semicolon.write_text("when;x;label\n" + rows.replace(",", ";"))
    assert read_table(semicolon)[0]["when"][7] == pd.Timestamp("2021-01-08")
    certain = tmp_path / "certain.csv"
    certain.write_text("when,x,label\n13/04/2021,1,a\n" + rows)
    frame, reading = read_table(certain)
    assert frame["when"][0] == pd.Timestamp("2021-04-13") and not reading.notes


def test_thousands_separators_and_decimal_marks_are_told_apart_per_column(tmp_path):
    path = tmp_path / "numbers.csv"
    path.write_text(
        'eu;us;plain;code;label\n1.234,5;"1,234.5";3;A-1;a\n12,25;2,000.75;4;B-2;b\n-7;10;5;C-3;a\n'
    )
    frame, reading = read_table(path)
    assert frame["eu"].tolist() == [1234.5, 12.25, -7.0]
    assert frame["us"].tolist() == [1234.5, 2000.75, 10.0]
    assert frame["code"].tolist() == ["A-1", "B-2", "C-3"]  # not numbers, not dates
    assert reading.numbers == {"eu": ",", "us": "."}
    # 1,234 alone could be either: a point in a ',' file, a comma with --decimal ,
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('n,label\n"1,234",a\n"5,678",b\n')
    assert read_table(quoted)[0]["n"].tolist() == [1234.0, 5678.0]
    assert read_table(quoted, ReadOptions(decimal=","))[0]["n"].tolist() == [1.234, 5.678]


def test_other_encodings_and_excel_exports(tmp_path):
    utf16 = tmp_path / "unicode.csv"  # Excel's "Unicode text": UTF-16 with a BOM, tabs
    utf16.write_bytes("ville\tlabel\nGenève\ta\nZürich\tb\n".encode("utf-16"))
    frame, reading = read_table(utf16)
    assert frame["ville"].tolist() == ["Genève", "Zürich"] and reading.sep == "\t"
    latin = tmp_path / "latin.csv"  # 0x81 is not Windows-1252: Latin-1 reads every byte
    latin.write_bytes(b"name,label\ncaf\xe9\x81,a\nb,b\n")
    frame, reading = read_table(latin)
    assert reading.encoding == "latin-1" and frame["name"][0] == "caf\xe9\x81"
    frame, _ = read_table(latin, ReadOptions(encoding="cp850"))
    assert frame["name"][0] == "caf\u00da\u00fc"


def test_excel_sheets_and_text_numbers_in_cells(capsys, tmp_path):
    book = tmp_path / "book.xlsx"
    with pd.ExcelWriter(book) as writer:
        pd.DataFrame({"note": ["x"]}).to_excel(writer, sheet_name="README", index=False)
        pd.DataFrame(
            {"price": ["3,5", "4,25", "1.000,5"] * 4, "n": range(12), "label": [0, 1] * 6}
        ).to_excel(writer, sheet_name="data", index=False)
    frame, reading = read_table(book, ReadOptions(sheet="data"))
    assert frame["price"].tolist()[:3] == [3.5, 4.25, 1000.5] and reading.sheet == "data"
    assert_cli_error(
        capsys, "has no sheet 'Data'; its sheets: README, data", "detect", book, "--sheet", "Data"
    )
    info = detect(capsys, book, "--sheet", "data")
    assert info["reading"]["sheet"] == "data" and info["n_samples"] == 12


def test_a_resume_reads_the_table_as_the_study_first_did(capsys, tmp_path):
    """Read with --decimal ., the 3,5 of a ';' file are categories, not numbers: a resume
    that forgot the option would read other data and be refused."""
    path = tmp_path / "prices.csv"
    path.write_text(
        "n;price;label\n" + "".join(f"{i};{i % 4},5;{'ab'[i % 2]}\n" for i in range(40))
    )
    studies = tmp_path / "studies"
    common = (
        "--studies-dir",
        studies,
        "--study",
        "prices",
        "--max-epochs",
        "2",
        "--budget",
        "2m",
        "--quiet",
    )
    code, _, err = cli_in_process(
        capsys, "fit", path, "--decimal", ".", "--max-trials", "1", *common
    )
    assert code == 0, err[-2000:]
    code, _, err = cli_in_process(capsys, "fit", path, "--resume", "--max-trials", "2", *common)
    assert code == 0, err[-2000:]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--sep", "ab"], "--sep must be one character"),
        (["--encoding", "klingon"], "is not an encoding Python knows"),
        (["--encoding", "utf-8"], "is not UTF-8: byte 0xe8 on line 2; leave --encoding out"),
    ],
)
def test_bad_reading_options_are_one_line_errors(capsys, tmp_path, args, fragment):
    path = tmp_path / "latin.csv"
    path.write_bytes("city,label\nGenève,a\nLyon,b\n".encode("cp1252"))
    assert_cli_error(capsys, fragment, "detect", path, *args)


def test_reading_options_are_refused_for_data_that_is_not_a_table(tmp_path, digits_folder):
    with pytest.raises(DataError, match="--sheet and --date-order say how to read a table"):
        load_path(digits_folder, reading=ReadOptions(sep=";"))
    with pytest.raises(ConfigError, match="--decimal must be"):
        ReadOptions(decimal=" ")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="Cannot read .* as Excel workbook"):
        read_table(broken)


def test_numbers_in_european_files_and_values_that_do_not_fit(tmp_path):
    dots = tmp_path / "dots.csv"  # pandas alone reads 1.500 as 1.5
    dots.write_text("grouped;decimal;label\n1.500;1.5;a\n2.250;2.25;b\n3;3;a\n")
    frame, reading = read_table(dots)
    assert frame["grouped"].tolist() == [1500.0, 2250.0, 3.0]
    assert frame["decimal"].tolist() == [1.5, 2.25, 3.0]  # not groups of three digits
    assert reading.numbers == {"grouped": ",", "decimal": "."}
    mixed = parse_numbers(pd.Series(["1,5", "1.5", "1,234.5", "-0,5", "1 234,5"]), ",")
    assert mixed[[0, 3, 4]].tolist() == [1.5, -0.5, 1234.5] and mixed[[1, 2]].isna().all()
    # at prediction, a value that does not fit the training column's mark is missing, counted
    frame, reading = read_table(dots, ReadOptions().for_prediction({"numbers": {"decimal": ","}}))
    assert frame["decimal"].isna().sum() == 2
    assert "2 values of 'decimal' are not numbers like the others: read as missing" in (
        reading.notes
    )


def test_blank_lines_excels_hint_line_and_utf16_without_a_mark(tmp_path):
    blank = tmp_path / "blank.csv"
    blank.write_text('a,b\n1,"x y"\n \n3,z\n\n   \n')
    frame, reading = read_table(blank)
    assert len(frame) == 2 and not reading.notes
    hinted = tmp_path / "hinted.csv"
    hinted.write_text('"sep=;"\na;b\n' + "".join(f"{i};{i}\n" for i in range(20)) + "9;9;9\n")
    frame, reading = read_table(hinted)
    assert reading.sep == ";" and len(frame) == 20
    assert "(line 23)" in reading.notes[0]  # the file's own line numbers, hint line included
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("ville;label\nGenève;a\nLyon;b\n".encode("utf-16-le"))
    frame, reading = read_table(utf16)
    assert frame["ville"].tolist() == ["Genève", "Lyon"]
    assert "read as UTF-16-LE (no byte-order mark)" in reading.notes[0]


def test_workbooks_with_empty_sheets_or_a_table_below_a1(capsys, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    data = book.create_sheet("Data")
    data["B3"], data["C3"] = "x", "label"
    for row in range(4, 16):
        data[f"B{row}"], data[f"C{row}"] = row, "ab"[row % 2]
    path = tmp_path / "offset.xlsx"
    book.save(path)
    frame, reading = read_table(path)
    assert list(frame.columns) == ["x", "label"] and len(frame) == 12
    assert "read the sheet 'Data', the first of 2 with data" in reading.notes[0]
    assert "the table of sheet 'Data' starts on row 3" in reading.notes[1]
    assert_cli_error(capsys, "The sheet 'Notes' of 'offset.xlsx' is empty; its sheets: Notes, Data: pass --sheet NAME", "detect", path, "--sheet", "Notes")  # fmt: skip


def test_options_for_another_format_and_date_order_at_prediction(capsys, tmp_path, variants):
    assert_cli_error(capsys, "--sheet is for Excel workbook files; 'utf-8-comma-decimal_point.csv' is CSV", "detect", variants[PLAIN], "--sheet", "x")  # fmt: skip
    assert_cli_error(capsys, "--sep is for CSV, TSV files; 'workbook.xlsx' is Excel workbook", "detect", variants["xlsx"], "--sep", ";")  # fmt: skip
    assert with_date_order("%m/%d/%Y %H:%M", "dmy") == "%d/%m/%Y %H:%M"
    assert (
        with_date_order("%d.%m.%Y", "mdy") == "%m.%d.%Y"
        and with_date_order("ISO8601", "dmy") == "ISO8601"
    )
    path = tmp_path / "d.csv"
    path.write_text("d,label\n03/04/2021,a\n05/06/2021,b\n")
    record = {"numbers": {}, "dates": {"d": "%m/%d/%Y"}}
    frame, _ = read_table(path, ReadOptions(date_order="dmy").for_prediction(record))
    assert frame["d"][0] == pd.Timestamp("2021-04-03")


def test_times_with_different_utc_offsets_are_read_in_utc(tmp_path):
    path = tmp_path / "tz.csv"
    path.write_text("t,label\n2021-03-27T10:00:00+01:00,a\n2021-03-29T10:00:00+02:00,b\n")
    frame, reading = read_table(path)
    assert str(frame["t"].dt.tz) == "UTC" and frame["t"][1] == pd.Timestamp("2021-03-29 08:00Z")
    assert "different UTC offsets (summer and winter time): read in UTC" in reading.notes[0]
