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
_EXCEL_SEP_LINE = re.compile(r'"?sep=(.)"?\r?\n')  # Excel's hint, quoted by some re-savers
SNIFF_BYTES = 64 * 1024  # the separator is sniffed from the first lines
# More malformed rows than this share (and more than one) means the separator or quoting is
# wrong, not the rows: the file is refused rather than mostly dropped.
MAX_MALFORMED_SHARE = 0.1
SHOWN_LINES = 5  # line numbers named in a note
DATE_ORDERS = ("auto", "dmy", "mdy")
ENCODING_NAMES = {  # by Python's codec name
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "utf-16": "UTF-16",
    "cp1252": "Windows-1252",
    "iso8859-1": "Latin-1",
}
# Single-byte encodings tried when a file is not UTF-8: Windows-1252 (what Excel writes in the
# Americas and Western Europe) leaves 5 bytes undefined; Latin-1 decodes every byte.
FALLBACK_ENCODINGS = ("cp1252", "latin-1")

# A number written as text: digits grouped by thousands (. , space, no-break space or ') and a
# decimal mark. Which mark is the decimal one is decided per column. The patterns hold the
# characters themselves, not \u escapes, so that pandas runs them in Arrow (RE2), not Python.
_SPACES = " \u00a0\u202f'"
_COMMA_DECIMAL = r"[+-]?(?:\d{1,3}(?:[." + _SPACES + r"]\d{3})+|\d+)(?:,\d+)?"
_POINT_DECIMAL = r"[+-]?(?:\d{1,3}(?:[," + _SPACES + r"]\d{3})+|\d+)(?:\.\d+)?"
_INFINITY = r"[+-]?(?:inf|infinity)"
_NUMBER_LIKE = re.compile(f"{_COMMA_DECIMAL}|{_POINT_DECIMAL}")  # for sniffing a separator
# Date formats tried on text columns; the order is what a format leaves ambiguous.
_DAY_FIRST = ("%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%y")
_MONTH_FIRST = ("%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y")
_TIMES = ("", " %H:%M", " %H:%M:%S")
SAMPLE = 1000  # distinct values a column's number or date format is decided on
HEADER_ROWS = 50  # a sheet's header is looked for in its first rows
# pandas raises these for a file it cannot parse (its ParserError and pyarrow's errors
# subclass ValueError or OSError)
_PARSE_ERRORS = (OSError, ValueError, KeyError, zipfile.BadZipFile)
# Which options apply to which formats: given for another, they are an error.
_OPTION_FORMATS = {
    "encoding": ("csv", "tsv"),
    "sep": ("csv", "tsv"),
    "decimal": ("csv", "tsv", "excel"),
    "sheet": ("excel",),
}


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
            if len(sep) != 1:
                raise ConfigError(
                    f"--sep must be one character (, ; | or 'tab'); got {self.sep!r}."
                )
            if sep in '"\r\n':
                raise ConfigError(f"--sep cannot be {self.sep!r}: it quotes or ends fields.")
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
        """Column -> format of the text-date columns to convert; None: detect them. An explicit
        --date-order turns the recorded day/month formats its way."""
        dates = self.recorded("dates")
        if dates is None or self.date_order == "auto":
            return dates
        return {column: with_date_order(fmt, self.date_order) for column, fmt in dates.items()}


@dataclass
class TableReading:
    """How a table file was read, and what the reading changed (`notes`)."""

    format: str
    encoding: str | None = None
    sep: str | None = None
    sheet: str | None = None
    numbers: dict[str, str] = field(default_factory=dict)  # text column -> its decimal mark
    dates: dict[str, str] = field(default_factory=dict)  # text column -> its strptime format
    numeric: list[str] = field(default_factory=list)  # columns that were numbers as read
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
            "numeric": self.numeric,
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
        for mark, name in ((",", "decimal commas"), (".", "decimal points")):
            columns = [c for c, used in self.numbers.items() if used == mark]
            if columns:
                parts.append(f"text numbers with {name} in {_columns(columns)}")
        if self.dates:
            parts.append(f"text dates in {_columns(list(self.dates))}")
        return ", ".join(parts)


def read_table(path: Path, options: ReadOptions | None = None) -> tuple[pd.DataFrame, TableReading]:
    """Read a table file; one that cannot be read is a DataError naming it and the fix."""
    options = options or ReadOptions()
    kind = TABLE_READERS.get(path.suffix.lower())
    if kind is None:
        raise DataError(
            f"Cannot read '{path.name}': supported tables are {', '.join(sorted(TABLE_READERS))}."
        )
    _refuse_options_for(kind, options, path)
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
    if df.shape[1] == 0:
        raise DataError(f"The table '{path}' has no columns; pass a file with a header row.")
    if df.empty:
        raise DataError(f"The table '{path}' has a header but no rows; pass a file with data.")
    df = _drop_empty_unnamed(df.rename(columns=str))
    if kind in ("csv", "tsv", "excel"):
        df = _text_numbers(df, options, reading)
    df = _text_dates(df, options, reading)
    df = _infinities_missing(df, reading)
    return df, reading


def _refuse_options_for(kind: str, options: ReadOptions, path: Path) -> None:
    """An option given for a format it does not apply to is a mistake worth saying."""
    for name, kinds in _OPTION_FORMATS.items():
        if getattr(options, name) is not None and kind not in kinds:
            readable = ", ".join(FORMAT_NAMES[k] for k in kinds)
            raise DataError(
                f"--{name} is for {readable} files; '{path.name}' is {FORMAT_NAMES[kind]}: leave "
                f"--{name} out."
            )


# ----------------------------------------------------------------------------- delimited text


def _read_delimited(
    path: Path, kind: str, options: ReadOptions, reading: TableReading
) -> pd.DataFrame:
    raw = path.read_bytes()
    text, reading.encoding = _decode(raw, path, options, reading.notes)
    if not text.strip():
        raise DataError(f"The table '{path}' is empty; pass a file with a header and rows.")
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
    header, text, kept_rows = _well_formed(
        text, reading.sep, path, reading.notes, skipped_lines=1 if declared else 0
    )
    _note_duplicates(header, reading)
    # Numbers and dates written as text are converted per column afterwards (_text_numbers),
    # so pandas reads every cell with its defaults and a decimal point.
    frame = pd.read_csv(io.StringIO(text), sep=reading.sep, low_memory=False)
    # ... except that "1.500" in a European file is 1 500, which pandas read as 1.5: such
    # columns are read again as text and decided like the others.
    european = options.decimal == "," or (options.decimal is None and reading.sep == ";")
    commas = {c for c, mark in (options.numbers or {}).items() if mark == ","}
    again = [
        i
        for i, c in enumerate(frame.columns)
        if pd.api.types.is_float_dtype(frame[c]) and (european or c in commas)
    ]
    if again:
        texts = pd.read_csv(
            io.StringIO(text), sep=reading.sep, usecols=again, dtype=str, low_memory=False
        )
        for position, i in enumerate(again):  # usecols keeps the file's order
            frame[frame.columns[i]] = texts.iloc[:, position].to_numpy()
    if kept_rows is not None:
        frame.index = pd.Index(kept_rows)  # a row keeps its number when one before it is dropped
    return frame


def _note_duplicates(header: list[str], reading: TableReading) -> None:
    duplicated = sorted({name for name in header if header.count(name) > 1 and name.strip()})
    if duplicated:
        several = len(duplicated) > 1
        reading.notes.append(
            f"column name{'s' * several} {_columns(duplicated)} appear{'' if several else 's'} "
            "more than once; later copies are read as NAME.1, NAME.2"
        )


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
    head = raw[:4096]
    if head.count(0) > len(head) // 4:  # ASCII text in UTF-16 without its BOM: every other byte 0
        encoding = "utf-16-le" if head[1::2].count(0) > head[::2].count(0) else "utf-16-be"
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            pass
        else:
            notes.append(f"read as {encoding.upper()} (no byte-order mark); --encoding overrides")
            return text, encoding
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    recorded = options.recorded("encoding")
    candidates = [recorded] if recorded and not recorded.startswith("utf") else []
    for encoding in dict.fromkeys([*candidates, *FALLBACK_ENCODINGS]):
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
    least 2) of fields as the header; ',' when none does (a one-column table).

    Ties go to more fields, then to the split whose data fields more often read as numbers
    ("Umsatz, EUR;Menge" over "1,5;3" splits evenly both ways; only ';' gives 1,5 and 3),
    then to the order of SEPARATORS.
    """
    lines = head.splitlines()
    if len(head) >= SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    best, best_key = ",", (0.0, 0, 0.0, 0)
    for rank, sep in enumerate(SEPARATORS):
        rows = [row for row in csv.reader(lines, delimiter=sep) if row]
        if not rows or len(rows[0]) < 2:
            continue
        agreeing = sum(len(row) == len(rows[0]) for row in rows) / len(rows)
        fields = [field.strip() for row in rows[1:] for field in row]
        numeric = sum(bool(_NUMBER_LIKE.fullmatch(f)) for f in fields) / max(1, len(fields))
        key = (agreeing, len(rows[0]), numeric, -rank)
        if key > best_key:
            best, best_key = sep, key
    return best


def _well_formed(
    text: str, sep: str, path: Path, notes: list[str], skipped_lines: int = 0
) -> tuple[list[str], str, list[int] | None]:
    """(header, text, the numbers of the rows kept when some were dropped).

    Rows with more or fewer fields than the header are dropped and their lines named; more
    than MAX_MALFORMED_SHARE of them (and more than one) is an error, since then the separator
    or the quoting is wrong rather than the rows. Empty fields after the last column (a
    trailing separator) and blank lines are not errors. `skipped_lines` were cut from the top
    of the file (a "sep=;" line), for the line numbers.
    """
    if '"' not in text:  # no quoting: counting separators per line says as much, faster
        lines = [line for line in text.splitlines() if line.strip()]
        if len({line.count(sep) for line in lines}) == 1:
            return lines[0].split(sep), text, None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    header = next((row for row in reader if not _blank(row)), [])
    width = len(header)
    rows, bad_lines, trailing = 0, [], False
    bad_records: set[int] = set()
    for row in reader:
        if _blank(row):
            continue
        if len(row) > width and not any(row[width:]):
            trailing = True  # cut when the text is written again
        elif len(row) != width:
            bad_lines.append(reader.line_num + skipped_lines)
            bad_records.add(rows)
        rows += 1
    if not bad_lines and not trailing:
        return header, text, None
    shown = ", ".join(str(n) for n in bad_lines[:SHOWN_LINES]) + (
        " ..." if len(bad_lines) > SHOWN_LINES else ""
    )
    several = len(bad_lines) > 1
    if len(bad_lines) > max(1.0, MAX_MALFORMED_SHARE * rows):
        raise DataError(
            f"{count_text(len(bad_lines))} of {_counted(rows, 'row')} of '{path.name}' do not "
            f"have the header's {_counted(width, 'field')} (lines {shown}) when split by "
            f"{separator_name(sep)}; pass --sep if that is not the separator, or fix those rows."
        )
    if bad_lines:
        notes.append(
            f"dropped {_counted(len(bad_lines), 'row')} whose number of fields is not the "
            f"header's {width} (line{'s' * several} {shown}); fix "
            f"{'them' if several else 'it'} to keep {'them' if several else 'it'}"
        )
    kept = io.StringIO(newline="")
    writer = csv.writer(kept, delimiter=sep, lineterminator="\n")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    writer.writerow(next(row for row in reader if not _blank(row)))
    kept_rows = []
    for index, row in enumerate(r for r in reader if not _blank(r)):
        if index not in bad_records:
            writer.writerow(row[:width])
            kept_rows.append(index)
    return header, kept.getvalue(), kept_rows


def _blank(row: list[str]) -> bool:
    """An empty or whitespace-only line, which pandas skips too."""
    return len(row) <= 1 and not (row and row[0].strip())


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
        raise DataError(
            f"Cannot read '{path}' as Excel workbook ({exc}); open and save it again in a "
            "spreadsheet program, or export the sheet as .csv."
        ) from exc


def _read_sheet(book: Any, path: Path, options: ReadOptions, reading: TableReading) -> pd.DataFrame:
    """The sheet asked for, else the training file's, else the first one that is not empty; its
    header is its first row that is not empty (a table may start below or right of A1)."""
    sheets = list(book.sheet_names)
    sheet = options.sheet or options.recorded("sheet", "excel")
    if options.sheet is not None and sheet not in sheets:
        raise DataError(
            f"The workbook '{path.name}' has no sheet '{sheet}'; its sheets: {', '.join(sheets)}."
        )
    if sheet not in sheets:
        filled = [name for name in sheets if _header_row(book, name) is not None]
        if not filled:
            raise DataError(f"The workbook '{path.name}' has no sheet with data.")
        sheet = filled[0]
        if len(sheets) > 1:
            reading.notes.append(
                f"read the sheet '{sheet}', the first of {len(sheets)} with data "
                f"({', '.join(sheets[:6])}); --sheet NAME reads another"
            )
    reading.sheet = sheet
    found = _header_row(book, sheet)
    if found is None:
        raise DataError(
            f"The sheet '{sheet}' of '{path.name}' is empty; its sheets: {', '.join(sheets)}: "
            "pass --sheet NAME."
        )
    row, header = found
    if row > 0:
        reading.notes.append(
            f"the table of sheet '{sheet}' starts on row {row + 1}; the rows above it are empty"
        )
    _note_duplicates(header, reading)
    return pd.read_excel(path, sheet_name=sheet, engine="calamine", header=row)


def _header_row(book: Any, sheet: str) -> tuple[int, list[str]] | None:
    """(index, names) of a sheet's first row with a value in it, among its first rows."""
    rows = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False, nrows=HEADER_ROWS)
    for index, values in enumerate(rows):
        names = [str(v) for v in values if v != ""]
        if names:
            return index, names
    return None


# ----------------------------------------------------------------------------- column types


def _drop_empty_unnamed(df: pd.DataFrame) -> pd.DataFrame:
    """A trailing separator, or an empty spreadsheet column, makes an unnamed empty column."""
    empty = [c for c in df.columns if c.startswith("Unnamed: ") and df[c].isna().all()]
    if empty and len(empty) < df.shape[1]:
        df = df.drop(columns=empty)
    return df


def _text_numbers(df: pd.DataFrame, options: ReadOptions, reading: TableReading) -> pd.DataFrame:
    """Columns of numbers written as text ("3,5", "1.234,5", "1,234.5") become numbers.

    The decimal mark is decided per column: a value only one reading fits ("3,5", "1,234.5")
    decides it; a column every value of which fits both ("1,234") takes the file's convention:
    a comma in a ';'-separated file (or with --decimal ,), else a point. At prediction the
    training file's columns are converted as they were, and a column that was a number at
    training is one again, whichever way this file writes it.
    """
    european = options.decimal == "," or (options.decimal is None and reading.sep == ";")
    reading.numeric = [c for c in df.columns if _is_number_column(df[c])]
    were_numbers = set(options.recorded("numeric") or [])
    for column in _text_columns(df):
        if options.numbers is None:
            mark = _decimal_mark(_sample(df[column]), options.decimal, european)
        elif column in options.numbers:  # prediction: as the training file's column
            mark = options.numbers[column]
        elif column in were_numbers:
            mark = _decimal_mark(_sample(df[column]), None, european) or "."
        else:
            continue
        if mark is None:
            continue
        parsed = parse_numbers(df[column], mark)
        _note_unparsed(df[column], parsed, column, "numbers", reading)
        df[column] = parsed
        reading.numbers[column] = mark
    if options.numbers is None:
        for mark, example, other in (
            (",", "3,5 = 3.5, 1.234 = 1234", "."),
            (".", "1,234.5 = 1234.5", ","),
        ):
            columns = [c for c, used in reading.numbers.items() if used == mark]
            if columns:
                name = "commas" if mark == "," else "points"
                reading.notes.append(
                    f"read the text numbers of {_columns(columns)} with decimal {name} "
                    f"({example}); --decimal {other} overrides"
                )
    return df


def _is_number_column(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _decimal_mark(values: pd.Series, forced: str | None, european: bool) -> str | None:
    """The decimal mark that every sampled value fits, or None when they are not numbers."""
    values = values[~values.str.fullmatch(_INFINITY, case=False)]  # read as missing later
    if values.empty or not values.str.contains(r"\d", regex=True).all():
        return None
    comma = values.str.fullmatch(_COMMA_DECIMAL).all()
    point = values.str.fullmatch(_POINT_DECIMAL).all()
    if forced == ",":
        return "," if comma else None
    if forced == ".":
        return "." if point else None
    if comma and point:
        return "," if european else "."
    return "," if comma else "." if point else None


def parse_numbers(column: pd.Series, mark: str) -> pd.Series:
    """Text numbers with `mark` as the decimal mark; a value that is not one is missing."""
    text = column.astype("str").str.strip()
    fits = text.str.fullmatch(_COMMA_DECIMAL if mark == "," else _POINT_DECIMAL)
    text = text.where(fits | text.str.fullmatch(_INFINITY, case=False))
    # plain replacements, not one regex: pandas runs these in Arrow, a regex in Python
    for group in (*_SPACES, "." if mark == "," else ","):
        text = text.str.replace(group, "", regex=False)
    if mark == ",":
        text = text.str.replace(",", ".", regex=False)
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
        if (
            parsed.dt.tz is not None
            and fmt == "ISO8601"
            and _to_dates(df[column], fmt, False) is None
        ):
            reading.notes.append(
                f"the times in '{column}' have different UTC offsets (summer and winter time): "
                "read in UTC"
            )
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


def _to_dates(values: pd.Series, fmt: str, utc_if_mixed: bool = True) -> pd.Series | None:
    """Dates in one format, NaT where a value does not fit; times with different UTC offsets
    in UTC (pandas refuses to mix them); None when pandas refuses the column."""
    for utc in (False, True) if utc_if_mixed else (False,):
        try:
            return pd.to_datetime(values, format=fmt, errors="coerce", utc=utc)
        except (ValueError, TypeError, OverflowError):
            continue
    return None


def with_date_order(fmt: str, order: str) -> str:
    """A day/month format turned to `order` ("dmy" or "mdy"): %m/%d/%Y -> %d/%m/%Y."""
    first, rest = fmt[:2], fmt[5:]
    if (order, first) == ("dmy", "%m"):
        return f"%d{fmt[2]}%m{rest}"
    if (order, first) == ("mdy", "%d"):
        return f"%m{fmt[2]}%d{rest}"
    return fmt


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
    return ENCODING_NAMES.get(name, name)


def separator_name(sep: str) -> str:
    return "tab" if sep == "\t" else f"'{sep}'"


def _counted(n: int, what: str) -> str:
    return f"{count_text(n)} {what}{'s' * (n != 1)}"


def _columns(names: list[str]) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:6])
    return shown + (f" and {len(names) - 6} more" if len(names) > 6 else "")
