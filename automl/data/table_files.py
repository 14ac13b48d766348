"""Table files as people save them: encodings, separators, decimal commas, Excel workbooks,
malformed rows.

`read_table` returns the frame and a `TableReading`: how the file was read (encoding,
separator, the columns whose numbers or dates were text) and the notes a user should see. The
reading is recorded with the study and the model, and `ReadOptions.for_prediction` reads new
files the same way, so a column is never a number at training and a category at prediction.

    frame, reading = read_table(Path("sales.csv"))  # a Windows-1252, ';' file with 3,5 numbers
    reading.describe()  # "CSV, Windows-1252, separator ';', decimal commas in 'price'"
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl.data.dataset import count_text
from automl.errors import ConfigError, DataError

TABLE_READERS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}
FORMAT_NAMES = {
    "csv": "CSV",
    "tsv": "TSV",
    "excel": "Excel workbook",
    "parquet": "Parquet",
    "jsonl": "JSON lines",
    "json": "JSON",
}
LEGACY_RECORD = {"numbers": {}, "dates": {}}  # a model saved before readings were recorded
SEPARATORS = (",", "\t", ";", "|")  # sniffed in this order of preference on a tie
SEPARATOR_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
_EXCEL_SEP_LINE = re.compile(r"sep=(.)\r?\n")
SNIFF_BYTES = 64 * 1024  # the separator is sniffed from the first lines
# More malformed rows than this share (and more than one) means the separator or quoting is
# wrong, not the rows: the file is refused rather than mostly dropped.
MAX_MALFORMED_SHARE = 0.1
SHOWN_LINES = 5  # line numbers named in a note
DATE_ORDERS = ("auto", "dmy", "mdy")
ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "utf-16": "UTF-16"}
# Single-byte encodings tried when a file is not UTF-8: Windows-1252 (what Excel writes in the
# Americas and Western Europe) leaves 5 bytes undefined; Latin-1 decodes every byte.
FALLBACK_ENCODINGS = ("cp1252", "latin-1")

# A number written as text: digits grouped by thousands (. , space, no-break space or ') and a
# decimal mark. Which mark is the decimal one is decided per column.
_COMMA_DECIMAL = re.compile(r"[+-]?(?:\d{1,3}(?:[.\u00a0\u202f' ]\d{3})+|\d+)(?:,\d+)?")
_POINT_DECIMAL = re.compile(r"[+-]?(?:\d{1,3}(?:[,\u00a0\u202f' ]\d{3})+|\d+)(?:\.\d+)?")
_INFINITY = r"[+-]?(?:inf|infinity)"
# Date formats tried on text columns; the order is what a format leaves ambiguous.
_DAY_FIRST = ("%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%y")
_MONTH_FIRST = ("%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y")
_TIMES = ("", " %H:%M", " %H:%M:%S")
SAMPLE = 1000  # distinct values a column's number or date format is decided on
# pandas raises these for a file it cannot parse (pyarrow's errors subclass ValueError/OSError)
_PARSE_ERRORS = (
    OSError,
    ValueError,
    KeyError,
    pd.errors.ParserError,
    UnicodeDecodeError,
    zipfile.BadZipFile,
)


@dataclass(frozen=True)
class ReadOptions:
    """What the user forces (`--encoding --sep --decimal --sheet --date-order`); None detects.

    At prediction, `record` (how the training file was read) fills in what is not forced: its
    separator (for a file of the same format), its sheet (when the workbook has it), the
    columns whose numbers and dates were text, and its encoding as the one to fall back to
    when a file is not UTF-8.
    """

    encoding: str | None = None
    sep: str | None = None
    decimal: str | None = None
    sheet: str | None = None
    date_order: str = "auto"
    record: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.encoding is not None:
            try:
                object.__setattr__(self, "encoding", codecs.lookup(self.encoding).name)
            except LookupError:
                raise ConfigError(
                    f"--encoding {self.encoding!r} is not an encoding Python knows; try utf-8, "
                    "cp1252 or latin-1."
                ) from None
        if self.sep is not None:
            sep = SEPARATOR_NAMES.get(self.sep.lower(), self.sep)
            if len(sep) != 1 or sep in '"\r\n':
                raise ConfigError(
                    f"--sep must be one character (, ; | or 'tab'); got {self.sep!r}."
                )
            object.__setattr__(self, "sep", sep)
        if self.decimal not in (None, ".", ","):
            raise ConfigError(f"--decimal must be '.' or ','; got {self.decimal!r}.")
        if self.date_order not in DATE_ORDERS:
            raise ConfigError(
                f"--date-order must be one of {', '.join(DATE_ORDERS)}; got {self.date_order!r}."
            )

    @classmethod
    def parse(cls, values: dict[str, Any]) -> ReadOptions:
        """From CLI arguments or keyword arguments; names it does not know are ignored."""
        names = ("encoding", "sep", "decimal", "sheet", "date_order")
        return cls(**{k: values[k] for k in names if values.get(k) is not None})

    def for_prediction(self, record: dict[str, Any] | None) -> ReadOptions:
        """These overrides on top of how the training file was read (`TableReading.record`).

        A model saved before readings were recorded read numbers and dates as pandas did, with
        no conversion of text: its columns keep that reading.
        """
        return replace(self, record=record if record is not None else LEGACY_RECORD)

    def recorded(self, key: str, kind: str | None = None) -> Any:
        """The training file's `key`, if there is a record (and it was a `kind` file)."""
        if self.record is None or (kind is not None and self.record.get("format") != kind):
            return None
        return self.record.get(key)

    @property
    def numbers(self) -> dict[str, str] | None:
        """Column -> decimal mark of the text-number columns to convert; None: detect them."""
        return None if self.decimal is not None else self.recorded("numbers")

    @property
    def dates(self) -> dict[str, str] | None:
        """Column -> format of the text-date columns to convert; None: detect them."""
        return self.recorded("dates")


@dataclass
class TableReading:
    """How a table file was read, and what the reading changed (`notes`)."""

    format: str
    encoding: str | None = None
    sep: str | None = None
    sheet: str | None = None
    numbers: dict[str, str] = field(default_factory=dict)  # text column -> its decimal mark
    dates: dict[str, str] = field(default_factory=dict)  # text column -> its strptime format
    notes: list[str] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """What the model keeps (JSON), to read new files the same way."""
        return {
            "format": self.format,
            "encoding": self.encoding,
            "sep": self.sep,
            "sheet": self.sheet,
            "numbers": self.numbers,
            "dates": self.dates,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> TableReading:
        return cls(**{k: v for k, v in record.items() if k in cls.__dataclass_fields__})

    def describe(self) -> str:
        """One line for `automl detect`: "CSV, UTF-8, separator ';', decimal commas in 'x'"."""
        parts = [FORMAT_NAMES.get(self.format, self.format)]
        if self.encoding:
            parts.append(encoding_name(self.encoding))
        if self.sep:
            parts.append(f"separator {separator_name(self.sep)}")
        if self.sheet:
            parts.append(f"sheet '{self.sheet}'")
        commas = [c for c, mark in self.numbers.items() if mark == ","]
        if commas:
            parts.append(f"decimal commas in {_columns(commas)}")
        points = [c for c, mark in self.numbers.items() if mark == "."]
        if points:
            parts.append(f"thousands separators in {_columns(points)}")
        if self.dates:
            parts.append(f"dates in {_columns(list(self.dates))}")
        return ", ".join(parts)


def read_table(path: Path, options: ReadOptions | None = None) -> tuple[pd.DataFrame, TableReading]:
    """Read a table file; one that cannot be read is a DataError naming it and the fix."""
    options = options or ReadOptions()
    kind = TABLE_READERS.get(path.suffix.lower())
    if kind is None:
        raise DataError(
            f"Cannot read '{path.name}': supported tables are {', '.join(sorted(TABLE_READERS))}."
        )
    reading = TableReading(format=kind)
    try:
        if kind in ("csv", "tsv"):
            df = _read_delimited(path, kind, options, reading)
        elif kind == "excel":
            df = _read_excel(path, options, reading)
        elif kind == "parquet":
            df = pd.read_parquet(path)
        else:
            df = pd.read_json(path, lines=kind == "jsonl")
    except _PARSE_ERRORS as exc:
        if isinstance(exc, DataError):
            raise
        text = str(exc).strip().strip("'\"")
        first_line = text.splitlines()[0] if text else type(exc).__name__
        raise DataError(f"Cannot read '{path}' as {FORMAT_NAMES[kind]}: {first_line}") from exc
    if df.empty or df.shape[1] == 0:
        where = f" (sheet '{reading.sheet}')" if reading.sheet else ""
        raise DataError(f"The table '{path}'{where} has no rows or no columns.")
    df = df.rename(columns=str)
    df = _drop_empty_unnamed(df, reading)
    if kind in ("csv", "tsv", "excel"):
        df = _text_numbers(df, options, reading)
    df = _text_dates(df, options, reading)
    df = _infinities_missing(df, reading)
    return df, reading


# ----------------------------------------------------------------------------- delimited text


def _read_delimited(
    path: Path, kind: str, options: ReadOptions, reading: TableReading
) -> pd.DataFrame:
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"The table '{path}' is empty.")
    text, reading.encoding = _decode(raw, path, options, reading.notes)
    declared = _EXCEL_SEP_LINE.match(text)
    if declared:  # Excel's own hint, a first line "sep=;", is not part of the table
        text = text[declared.end() :]
    if options.sep:
        reading.sep = options.sep
    elif declared:
        reading.sep = declared.group(1)
    elif options.recorded("sep", kind):  # prediction: as the training file was separated
        reading.sep = options.recorded("sep", kind)
    elif kind == "tsv":
        reading.sep = "\t"
    else:
        reading.sep = sniff_separator(text[:SNIFF_BYTES])
        if reading.sep != ",":
            reading.notes.append(
                f"fields separated by {separator_name(reading.sep)} (sniffed from the first "
                "lines); --sep overrides"
            )
    header, text, kept_rows = _well_formed(text, reading.sep, path, reading.notes)
    duplicated = sorted({name for name in header if header.count(name) > 1 and name.strip()})
    if duplicated:
        reading.notes.append(
            f"column name{'s' * (len(duplicated) > 1)} {_columns(duplicated)} appear more than "
            "once; later copies are read as NAME.1, NAME.2"
        )
    # Numbers and dates written as text are converted per column afterwards (_text_numbers),
    # so pandas reads every cell with its defaults and a decimal point.
    frame = pd.read_csv(io.StringIO(text), sep=reading.sep, low_memory=False)
    if kept_rows is not None:
        frame.index = pd.Index(kept_rows)  # a row keeps its number when one before it is dropped
    return frame


def _decode(raw: bytes, path: Path, options: ReadOptions, notes: list[str]) -> tuple[str, str]:
    """(text, encoding): the forced one, else UTF-8 (BOMs honoured), else a single-byte one."""
    if options.encoding:
        try:
            return raw.decode(options.encoding), options.encoding
        except UnicodeDecodeError as exc:
            raise DataError(
                f"'{path.name}' is not {encoding_name(options.encoding)}: byte "
                f"0x{raw[exc.start]:02x} on line {_line_of(raw, exc.start)}; leave "
                "--encoding out to detect it, or pass the file's encoding."
            ) from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16"), "utf-16"  # Excel's "Unicode text" export
    if raw.startswith(codecs.BOM_UTF8):
        return raw.decode("utf-8-sig"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    recorded = options.recorded("encoding")
    candidates = [recorded] if recorded and not recorded.startswith("utf") else []
    for encoding in (*candidates, *FALLBACK_ENCODINGS):
        try:
            text = raw.decode(encoding)  # the last, Latin-1, decodes every byte
        except UnicodeDecodeError:
            continue
        notes.append(
            f"read as {encoding_name(encoding)}, not UTF-8 (byte 0x{raw[first_bad]:02x} on line "
            f"{_line_of(raw, first_bad)} is not UTF-8); --encoding overrides"
        )
        break
    return text, encoding


def _line_of(raw: bytes, position: int) -> int:
    return raw.count(b"\n", 0, position) + 1


def sniff_separator(head: str) -> str:
    """The separator among , tab ; | that splits the first lines into the same number (at
    least 2) of fields as the header; ',' when none does (a one-column table)."""
    lines = head.splitlines()
    if len(head) >= SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    best, best_key = ",", (0.0, 0, 0)
    for rank, sep in enumerate(SEPARATORS):
        counts = [len(row) for row in csv.reader(lines, delimiter=sep) if row]
        if not counts or counts[0] < 2:
            continue
        agreeing = sum(c == counts[0] for c in counts) / len(counts)
        key = (agreeing, counts[0], -rank)
        if key > best_key:
            best, best_key = sep, key
    return best


def _well_formed(
    text: str, sep: str, path: Path, notes: list[str]
) -> tuple[list[str], str, list[int] | None]:
    """(header, text, the numbers of the rows kept when some were dropped): rows with more or
    fewer fields than the header are dropped and their lines named; more than MAX_MALFORMED_SHARE of them is an error, since then the separator or
    the quoting is wrong rather than the rows. Empty fields after the last column (a trailing
    separator) are not an error."""
    if '"' not in text:  # no quoting: counting separators per line says as much, faster
        counts = {line.count(sep) for line in text.splitlines() if line}
        if len(counts) == 1:
            return next(line for line in text.splitlines() if line).split(sep), text, None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    header = next((row for row in reader if row), [])
    width = len(header)
    rows, bad_lines, trailing = 0, [], False
    bad_records: set[int] = set()
    for row in reader:
        if not row:
            continue
        if len(row) > width and not any(row[width:]):
            trailing = True  # cut when the text is written again
        elif len(row) != width:
            bad_lines.append(reader.line_num)
            bad_records.add(rows)
        rows += 1
    if not bad_lines and not trailing:
        return header, text, None
    shown = ", ".join(str(n) for n in bad_lines[:SHOWN_LINES]) + (
        " ..." if len(bad_lines) > SHOWN_LINES else ""
    )
    if len(bad_lines) > max(1.0, MAX_MALFORMED_SHARE * rows):
        raise DataError(
            f"{count_text(len(bad_lines))} of {_counted(rows, 'row')} of '{path.name}' do not have "
            f"the header's {_counted(width, 'field')} (lines {shown}) when split by {separator_name(sep)}; "
            "pass --sep if that is not the separator, or fix those rows."
        )
    if bad_lines:
        notes.append(
            f"dropped {_counted(len(bad_lines), 'row')} whose number of fields is not the "
            f"header's {width} (line{'s' * (len(bad_lines) > 1)} {shown}); fix "
            f"{'them' if len(bad_lines) > 1 else 'it'} to keep {'them' if len(bad_lines) > 1 else 'it'}"
        )
    kept = io.StringIO(newline="")
    writer = csv.writer(kept, delimiter=sep, lineterminator="\n")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    writer.writerow(next(row for row in reader if row))
    kept_rows = []
    for index, row in enumerate(r for r in reader if r):
        if index not in bad_records:
            writer.writerow(row[:width])
            kept_rows.append(index)
    return header, kept.getvalue(), kept_rows


# ----------------------------------------------------------------------------- Excel


def _read_excel(path: Path, options: ReadOptions, reading: TableReading) -> pd.DataFrame:
    """The first sheet (or --sheet) with a header row; numbers and dates keep Excel's types."""
    try:
        from python_calamine import CalamineError, CalamineWorkbook
    except ImportError as exc:
        raise DataError(
            f"Reading '{path.name}' needs the package python-calamine: pip install python-calamine"
        ) from exc
    try:
        return _read_sheet(CalamineWorkbook.from_path(str(path)), path, options, reading)
    except CalamineError as exc:
        raise DataError(f"Cannot read '{path}' as Excel workbook: {exc}") from exc


def _read_sheet(book: Any, path: Path, options: ReadOptions, reading: TableReading) -> pd.DataFrame:
    sheets = list(book.sheet_names)
    if not sheets:
        raise DataError(f"The workbook '{path}' has no sheets.")
    sheet = options.sheet
    if sheet is None and options.recorded("sheet", "excel") in sheets:
        sheet = options.recorded("sheet", "excel")
    if sheet is None:
        sheet = sheets[0]
        if len(sheets) > 1:
            reading.notes.append(
                f"read the sheet '{sheet}', the first of {len(sheets)} "
                f"({', '.join(sheets[:6])}); --sheet NAME reads another"
            )
    elif sheet not in sheets:
        raise DataError(
            f"The workbook '{path.name}' has no sheet '{sheet}'; its sheets: {', '.join(sheets)}."
        )
    reading.sheet = sheet
    first_rows = book.get_sheet_by_name(sheet).to_python(nrows=1)
    header = [str(v) for v in (first_rows[0] if first_rows else []) if v != ""]
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        reading.notes.append(
            f"column name{'s' * (len(duplicated) > 1)} {_columns(duplicated)} appear more than "
            "once; later copies are read as NAME.1, NAME.2"
        )
    return pd.read_excel(path, sheet_name=sheet, engine="calamine")


# ----------------------------------------------------------------------------- column types


def _drop_empty_unnamed(df: pd.DataFrame, reading: TableReading) -> pd.DataFrame:
    """A trailing separator, or an empty spreadsheet column, makes an unnamed empty column."""
    empty = [c for c in df.columns if c.startswith("Unnamed: ") and df[c].isna().all()]
    if empty and len(empty) < df.shape[1]:
        df = df.drop(columns=empty)
    return df


def _text_numbers(df: pd.DataFrame, options: ReadOptions, reading: TableReading) -> pd.DataFrame:
    """Columns of numbers written as text ("3,5", "1.234,5", "1,234.5") become numbers.

    The decimal mark is decided per column: a value only one reading fits ("3,5", "1,234.5")
    decides it; a column every value of which fits both ("1,234") takes the file's convention:
    a comma in a ';'-separated file (or with --decimal ,), else a point.
    """
    european = options.decimal == "," or (options.decimal is None and reading.sep == ";")
    for column in _text_columns(df):
        if options.numbers is not None:  # prediction: the training file's columns only
            mark = options.numbers.get(column)
        else:
            mark = _decimal_mark(_sample(df[column]), options.decimal, european)
        if mark is None:
            continue
        parsed = parse_numbers(df[column], mark)
        _note_unparsed(df[column], parsed, column, "numbers", reading)
        df[column] = parsed
        reading.numbers[column] = mark
    commas = [c for c, mark in reading.numbers.items() if mark == ","]
    if commas and options.numbers is None:
        reading.notes.append(
            f"read decimal commas (3,5 = 3.5) in {_columns(commas)}; --decimal . overrides"
        )
    return df


def _decimal_mark(values: pd.Series, forced: str | None, european: bool) -> str | None:
    """The decimal mark that every sampled value fits, or None when they are not numbers."""
    values = values[~values.str.fullmatch(_INFINITY, case=False)]  # read as missing later
    if values.empty or not values.str.contains(r"\d", regex=True).all():
        return None
    comma = values.str.fullmatch(_COMMA_DECIMAL.pattern).all()
    point = values.str.fullmatch(_POINT_DECIMAL.pattern).all()
    if forced == ",":
        return "," if comma else None
    if forced == ".":
        return "." if point else None
    if comma and point:
        return "," if european else "."
    return "," if comma else "." if point else None


def parse_numbers(column: pd.Series, mark: str) -> pd.Series:
    """Text numbers with `mark` as the decimal mark; anything else becomes missing."""
    text = column.astype("str").str.strip()
    # plain replacements, not one regex: pandas runs these in Arrow, a regex in Python
    for group in (" ", "\u00a0", "\u202f", "'", "." if mark == "," else ","):
        text = text.str.replace(group, "", regex=False)
    if mark == ",":
        text = text.str.replace(",", ".", regex=False)
    try:
        return text.astype("float64")
    except (TypeError, ValueError):  # a value that is not a number: missing, counted later
        return pd.to_numeric(text, errors="coerce").astype(float)


def _text_dates(df: pd.DataFrame, options: ReadOptions, reading: TableReading) -> pd.DataFrame:
    """Columns of dates written as text become dates, in one format per column.

    A format that leaves day and month ambiguous (every value is like 03/04/2021) is read day
    first in a European file (';' separators or decimal commas), else month first, unless
    --date-order says which; a note names the order assumed.
    """
    european = reading.sep == ";" or "," in reading.numbers.values()
    for column in _text_columns(df):
        if options.dates is not None:  # prediction: the training file's columns only
            fmt = options.dates.get(column)
            ambiguous = False
        else:
            fmt, ambiguous = _date_format(df[column], options.date_order, european)
        if fmt is None:
            continue
        parsed = _to_dates(df[column], fmt)
        if parsed is None:
            continue
        original = df[column]
        _note_unparsed(original, parsed, column, "dates", reading)
        df[column] = parsed
        reading.dates[column] = fmt
        if ambiguous:
            order = "day first" if fmt.startswith("%d") else "month first"
            other = "mdy" if fmt.startswith("%d") else "dmy"
            first = parsed.first_valid_index()
            example = f"{original[first]} = {parsed[first]:%Y-%m-%d}" if first is not None else ""
            reading.notes.append(
                f"the dates in '{column}' could be day or month first (no day is over 12); read "
                f"{order} ({example}); --date-order {other} reads them the other way"
            )
    return df


def _date_format(values: pd.Series, order: str, european: bool) -> tuple[str | None, bool]:
    """(the strptime format every sampled value fits, whether day and month were ambiguous)."""
    sample = _sample(values)
    if sample.empty or not sample.str.contains(r"\d.*\d", regex=True).all():
        return None, False
    if not sample.str.contains(r"[-/.]", regex=True).all():
        return None, False  # plain numbers and words are not dates

    def fits(fmt: str) -> bool:
        parsed = _to_dates(sample, fmt)
        return parsed is not None and bool(parsed.notna().all())

    if fits("ISO8601"):
        return "ISO8601", False
    day = next((d + t for d in _DAY_FIRST for t in _TIMES if fits(d + t)), None)
    month = next((d + t for d in _MONTH_FIRST for t in _TIMES if fits(d + t)), None)
    if day and month:
        if order == "auto":
            order = "dmy" if european else "mdy"
        return (day if order == "dmy" else month), True
    return day or month, False


def _sample(values: pd.Series) -> pd.Series:
    """Up to SAMPLE distinct values, as stripped text: what a column's format is decided on."""
    return pd.Series(values.dropna().astype(str).str.strip().unique()[:SAMPLE], dtype=object)


def _note_unparsed(
    before: pd.Series, after: pd.Series, column: str, what: str, reading: TableReading
) -> None:
    """Values beyond the sample that do not fit the column's format become missing, counted."""
    unparsed = int((after.isna() & before.notna()).sum())
    if unparsed:
        reading.notes.append(
            f"{_counted(unparsed, 'value')} of '{column}' are not {what} like the others: read "
            "as missing"
        )


def _to_dates(values: pd.Series, fmt: str) -> pd.Series | None:
    """Dates in one format, NaT where a value does not fit; None when pandas refuses the column
    (mixed time zones)."""
    try:
        return pd.to_datetime(values, format=fmt, errors="coerce")
    except (ValueError, TypeError, OverflowError):
        return None


def _infinities_missing(df: pd.DataFrame, reading: TableReading) -> pd.DataFrame:
    """inf and -inf (written "inf", "-Infinity", or a spreadsheet's overflow) are missing."""
    counts = {}
    for column in df.columns:
        if pd.api.types.is_float_dtype(df[column]):
            infinite = np.isinf(df[column].to_numpy(dtype=float, na_value=np.nan))
            if infinite.any():
                counts[column] = int(infinite.sum())
                df[column] = df[column].mask(infinite)
    if counts:
        reading.notes.append(
            f"read {_counted(sum(counts.values()), 'infinite value')} (inf, -inf) as missing, in "
            f"{_columns(list(counts))}"
        )
    return df


def _text_columns(df: pd.DataFrame) -> list[str]:
    return [
        c
        for c in df.columns
        if pd.api.types.is_object_dtype(df[c]) or pd.api.types.is_string_dtype(df[c])
    ]


# ----------------------------------------------------------------------------- names


def encoding_name(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return encoding
    return {"cp1252": "Windows-1252", "latin-1": "Latin-1", "iso8859-1": "Latin-1"}.get(
        name, ENCODING_NAMES.get(encoding, ENCODING_NAMES.get(name, name))
    )


def separator_name(sep: str) -> str:
    return "tab" if sep == "\t" else f"'{sep}'"


def _counted(n: int, what: str) -> str:
    return f"{count_text(n)} {what}{'s' * (n != 1)}"


def _columns(names: list[str]) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:6])
    return shown + (f" and {len(names) - 6} more" if len(names) > 6 else "")
