"""Preprocessing fitted on the training split only (the label list on all labels, so every class
has an output), stored as plain JSON in the bundle.

- Tables: numeric and date columns are imputed with the median (plus a missing-value indicator
  where the training data had gaps; infinities count as gaps) and standardised; categorical
  columns are one-hot encoded over their most frequent values, with one slot for anything else;
  free-text columns become log word counts over their most frequent words.
- Images: scaled to [0, 1] and standardised per channel, channels first.
- Text: token ids over a vocabulary of the training documents (0 pads, 1 is an unknown word),
  or, for unlabelled text, log word counts (a bag of words an autoencoder can reconstruct).
- Series: standardised per feature; series of different lengths are padded at the end with
  all-NaN steps, which the sequence families read as a mask. Audio becomes log-mel frames first.
- Forecasting: windows of the standardised series, each followed by the `horizon` values to
  predict.
- Labels: class names to indices; regression targets standardised.

Every fitted value is a number or a string, so a bundle never needs unpickling.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from automl.data import Dataset
from automl.data.audio import frame_parameters, log_mel
from automl.data.text import is_free_text, tokenize
from automl.errors import DataError
from automl.task import TaskInfo

MAX_CATEGORIES = 50  # per column; rarer values share the "other" slot
MAX_COLUMN_WORDS = 100  # per free-text column of a table
MAX_VOCABULARY = 20_000
MIN_WORD_COUNT = 2  # rarer words are unknown: a word seen once teaches nothing
MAX_BOW_WORDS = 2_000  # bag-of-words width for unlabelled text
MAX_TOKENS = 400  # longer documents keep their first MAX_TOKENS tokens
TOKEN_PERCENTILE = 95  # the token length covers this share of the training documents
MAX_STEPS = 1_000  # longer series keep their last MAX_STEPS steps
PAD, UNKNOWN = 0, 1


@dataclass
class TablePreprocessor:
    numeric: dict[str, dict[str, float]] = field(default_factory=dict)  # col -> median/mean/std
    missing_indicators: list[str] = field(default_factory=list)
    categorical: dict[str, list[str]] = field(default_factory=dict)  # col -> kept values
    text: dict[str, list[str]] = field(default_factory=dict)  # free-text col -> its words
    columns: list[str] = field(default_factory=list)

    @classmethod
    def fit(cls, frame: pd.DataFrame) -> TablePreprocessor:
        pre = cls(columns=[str(c) for c in frame.columns])
        for col in frame.columns:
            series = frame[col]
            if _is_numeric(series):
                values = _numeric_values(series)
                median = float(values.median()) if values.notna().any() else 0.0
                filled = values.fillna(median)
                std = float(filled.std(ddof=0))
                pre.numeric[col] = {
                    "median": median,
                    "mean": float(filled.mean()),
                    "std": std if std > 1e-12 else 1.0,
                }
                if values.isna().any():
                    pre.missing_indicators.append(col)
            elif is_free_text(series):
                pre.text[col] = _top_words(series.dropna().astype(str), MAX_COLUMN_WORDS, 1)
            else:
                counts = series.dropna().astype(str).value_counts()
                pre.categorical[col] = [str(v) for v in counts.index[:MAX_CATEGORIES]]
        return pre

    @property
    def n_features(self) -> int:
        return (
            len(self.numeric)
            + len(self.missing_indicators)
            + sum(len(v) + 1 for v in self.categorical.values())
            + sum(len(v) for v in self.text.values())
        )

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        absent = [c for c in self.columns if c not in frame.columns]
        if absent:
            raise DataError(
                f"The data lacks {len(absent)} column(s) the model was trained on: "
                f"{', '.join(absent[:8])}; pass a table with the same columns."
            )
        parts: list[np.ndarray] = []
        for col, stats in self.numeric.items():
            values = _numeric_values(frame[col])
            filled = values.fillna(stats["median"]).to_numpy()
            parts.append(((filled - stats["mean"]) / stats["std"])[:, None])
        for col in self.missing_indicators:
            parts.append(_numeric_values(frame[col]).isna().to_numpy(dtype=np.float64)[:, None])
        for col, kept in self.categorical.items():
            index = {v: i for i, v in enumerate(kept)}
            codes = [index.get(str(v), len(kept)) if pd.notna(v) else len(kept) for v in frame[col]]
            onehot = np.zeros((len(frame), len(kept) + 1))
            onehot[np.arange(len(frame)), codes] = 1.0
            parts.append(onehot)
        for col, words in self.text.items():
            parts.append(_bag_of_words(frame[col].fillna("").astype(str).tolist(), words))
        return (
            np.hstack(parts).astype(np.float32) if parts else np.zeros((len(frame), 0), np.float32)
        )


@dataclass
class ImagePreprocessor:
    height: int
    width: int
    channels: int
    scale: float  # divide by this to reach [0, 1]
    mean: list[float]
    std: list[float]

    @classmethod
    def fit(cls, images: np.ndarray) -> ImagePreprocessor:
        scale = 255.0 if float(images.max()) > 1.0 else 1.0
        scaled = images / scale
        std = scaled.std(axis=(0, 1, 2))
        return cls(
            height=int(images.shape[1]),
            width=int(images.shape[2]),
            channels=int(images.shape[3]),
            scale=scale,
            mean=[float(m) for m in scaled.mean(axis=(0, 1, 2))],
            std=[float(s) if s > 1e-6 else 1.0 for s in std],
        )

    def transform(self, images: np.ndarray) -> np.ndarray:
        expected = (self.height, self.width, self.channels)
        if tuple(images.shape[1:]) != expected:
            raise DataError(
                f"The model takes images of shape {expected} (H, W, C); got {tuple(images.shape[1:])}."
            )
        out = (images / self.scale - np.asarray(self.mean)) / np.asarray(self.std)
        return np.ascontiguousarray(out.transpose(0, 3, 1, 2), dtype=np.float32)


@dataclass
class TextPreprocessor:
    """Token ids (labelled text) or a bag of words (unlabelled text) over a fitted vocabulary."""

    vocabulary: list[str]  # index i + 2 is the id of vocabulary[i]; 0 pads, 1 is unknown
    max_tokens: int
    bag_of_words: bool = False

    @classmethod
    def fit(cls, documents: list[str], bag_of_words: bool = False) -> TextPreprocessor:
        if bag_of_words:
            words = _top_words(documents, MAX_BOW_WORDS, MIN_WORD_COUNT) or _top_words(
                documents, MAX_BOW_WORDS, 1
            )
            if not words:
                raise DataError("The documents hold no words; check the text files.")
            return cls(words, 0, True)
        lengths = [len(tokenize(d)) for d in documents]
        longest = int(np.ceil(np.percentile(lengths, TOKEN_PERCENTILE))) if lengths else 1
        words = _top_words(documents, MAX_VOCABULARY, MIN_WORD_COUNT)
        return cls(words, int(np.clip(longest, 1, MAX_TOKENS)))

    @property
    def vocab_size(self) -> int:
        return len(self.vocabulary) + 2

    def transform(self, documents: list[str]) -> np.ndarray:
        if self.bag_of_words:
            return _bag_of_words(documents, self.vocabulary)
        index = {w: i + 2 for i, w in enumerate(self.vocabulary)}
        ids = np.full((len(documents), self.max_tokens), PAD, dtype=np.int64)
        for row, doc in enumerate(documents):
            tokens = [index.get(t, UNKNOWN) for t in tokenize(doc)[: self.max_tokens]]
            ids[row, : len(tokens)] = tokens or [UNKNOWN]  # an empty document is one unknown
        return ids

    def truncated(self, documents: list[str]) -> int:
        return sum(len(tokenize(d)) > self.max_tokens for d in documents)


@dataclass
class SeriesPreprocessor:
    """Per-feature standardisation; padding to a common length with all-NaN steps (a mask).

    `fixed_steps` (unlabelled series) pads or cuts every series to that many steps and pads
    with zeros, since an autoencoder reconstructs a fixed-size vector.
    """

    n_features: int
    mean: list[float]
    std: list[float]
    max_steps: int
    fixed_steps: bool = False

    @classmethod
    def fit(cls, series: list[np.ndarray], fixed_steps: bool = False) -> SeriesPreprocessor:
        stacked = np.concatenate([s[-MAX_STEPS:] for s in series])
        mean = np.nanmean(stacked, axis=0)
        std = np.nanstd(stacked, axis=0)
        return cls(
            n_features=int(stacked.shape[1]),
            mean=[float(v) if np.isfinite(v) else 0.0 for v in mean],
            std=[float(v) if np.isfinite(v) and v > 1e-8 else 1.0 for v in std],
            max_steps=int(min(MAX_STEPS, max(len(s) for s in series))),
            fixed_steps=fixed_steps,
        )

    def standardise(self, series: np.ndarray) -> np.ndarray:
        if series.ndim != 2 or series.shape[1] != self.n_features:
            raise DataError(
                f"The model takes series with {self.n_features} feature(s) per step; got "
                f"shape {series.shape}."
            )
        out = (series - np.asarray(self.mean)) / np.asarray(self.std)
        return np.nan_to_num(out, nan=0.0).astype(np.float32)  # a missing value is the mean

    def transform(self, series: list[np.ndarray]) -> np.ndarray:
        cut = [self.standardise(s[-self.max_steps :]) for s in series]
        steps = self.max_steps if self.fixed_steps else max((len(s) for s in cut), default=1)
        fill = 0.0 if self.fixed_steps else np.nan
        out = np.full((len(cut), max(steps, 1), self.n_features), fill, dtype=np.float32)
        for i, s in enumerate(cut):
            out[i, : len(s)] = s[:steps]
        return out


@dataclass
class AudioPreprocessor:
    """Log-mel frames at the training sample rate; the frames then go through `series`."""

    frames: dict[str, int]  # sample_rate, n_fft, win_length, hop_length, n_mels
    series: SeriesPreprocessor

    @classmethod
    def fit(cls, waves: list[np.ndarray], sample_rate: int, fixed_steps: bool) -> AudioPreprocessor:
        frames = frame_parameters(sample_rate)
        mels = [log_mel(w, frames) for w in waves]
        return cls(frames, SeriesPreprocessor.fit(mels, fixed_steps))

    def transform(self, waves: list[np.ndarray]) -> np.ndarray:
        return self.series.transform([log_mel(w, self.frames) for w in waves])


def forecast_window(horizon: int, n_train_steps: int) -> int:
    """The longest input window: a few horizons (24 to 96 steps), at most a quarter of the
    training history, since short series need many windows more than long ones. The families
    search shorter windows inside it."""
    window = int(np.clip(4 * horizon, 24, 96))
    return max(2, min(window, n_train_steps // 4))


@dataclass
class ForecastPreprocessor:
    """Sliding windows of `window` steps over a standardised series; the target is feature 0."""

    window: int
    horizon: int
    series: SeriesPreprocessor

    @classmethod
    def fit(cls, values: np.ndarray, horizon: int, window: int) -> ForecastPreprocessor:
        """`values`: the training steps only."""
        return cls(window, horizon, SeriesPreprocessor.fit([values]))

    def windows(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, window, F) inputs and (n, horizon) standardised targets, in time order."""
        scaled = self.series.standardise(values)
        starts = range(0, len(scaled) - self.window - self.horizon + 1)
        X = np.stack([scaled[t : t + self.window] for t in starts])
        y = np.stack([scaled[t + self.window : t + self.window + self.horizon, 0] for t in starts])
        return X, y

    def last_window(self, values: np.ndarray) -> np.ndarray:
        if len(values) < self.window:
            raise DataError(
                f"The model forecasts from the last {self.window} steps; the series has only "
                f"{len(values)}."
            )
        return self.series.standardise(values[-self.window :])[None]


@dataclass
class TargetEncoder:
    classes: list[Any] | None = None  # classification: index -> label
    mean: float = 0.0  # regression and forecasting: standardisation of y
    std: float = 1.0
    kind: str = "class"  # class / value / forecast / none

    @classmethod
    def fit(cls, y: np.ndarray | None, task: TaskInfo) -> TargetEncoder:
        if task.is_classification:
            return cls(classes=[_plain(v) for v in np.unique(y)])
        if task.target_kind == "none":
            return cls(kind="none")
        values = y.astype(np.float64)
        std = float(values.std())
        kind = "forecast" if task.target_kind == "forecasting" else "value"
        return cls(mean=float(values.mean()), std=std if std > 1e-12 else 1.0, kind=kind)

    def encode(self, y: np.ndarray) -> np.ndarray:
        if self.classes is None:
            return ((y.astype(np.float64) - self.mean) / self.std).astype(np.float32)
        index = {c: i for i, c in enumerate(self.classes)}
        return np.asarray([index[_plain(v)] for v in y], dtype=np.int64)

    def decode(self, outputs: np.ndarray) -> np.ndarray:
        """Class labels from logits; regression values (n,) or forecasts (n, horizon)."""
        if self.kind == "forecast":
            return outputs.astype(np.float64) * self.std + self.mean
        if self.classes is None:
            return outputs.reshape(-1).astype(np.float64) * self.std + self.mean
        labels = np.asarray(self.classes, dtype=object)[outputs.argmax(axis=1)]
        return labels.astype(type(self.classes[0])) if _uniform(self.classes) else labels


@dataclass
class Preprocessing:
    """Everything needed to turn raw data into model inputs and outputs into predictions."""

    modality: str
    target: TargetEncoder
    table: TablePreprocessor | None = None
    image: ImagePreprocessor | None = None
    text: TextPreprocessor | None = None
    series: SeriesPreprocessor | None = None
    audio: AudioPreprocessor | None = None
    forecast: ForecastPreprocessor | None = None

    @classmethod
    def fit(
        cls, dataset: Dataset, task: TaskInfo, rows: np.ndarray, window: int | None = None
    ) -> Preprocessing:
        """Fit on the training rows (for forecasting: the steps `rows` of the series, cut into
        windows of `window` steps)."""
        unlabelled = task.target_kind == "none"
        if task.target_kind == "forecasting":
            values = dataset.X[0][rows]
            if window is None:
                raise ValueError("forecasting needs the window prepare_data chose")
            forecast = ForecastPreprocessor.fit(values, task.horizon, window)
            target = TargetEncoder(
                mean=forecast.series.mean[0], std=forecast.series.std[0], kind="forecast"
            )
            return cls("series", target, forecast=forecast)
        # every class gets an output (labels from all rows); a numeric target is scaled by the
        # training rows only
        target = TargetEncoder.fit(
            dataset.y if task.is_classification else None if dataset.y is None else dataset.y[rows],
            task,
        )
        part = dataset.subset(rows)
        if dataset.modality == "table":
            return cls("table", target, table=TablePreprocessor.fit(part.X))
        if dataset.modality == "image":
            return cls("image", target, image=ImagePreprocessor.fit(part.X))
        if dataset.modality == "text":
            return cls("text", target, text=TextPreprocessor.fit(part.X, unlabelled))
        if dataset.modality == "audio":
            audio = AudioPreprocessor.fit(part.X, dataset.sample_rate, unlabelled)
            return cls("audio", target, audio=audio)
        return cls("series", target, series=SeriesPreprocessor.fit(part.X, unlabelled))

    def transform(self, X: Any) -> np.ndarray:
        """Model inputs: float32 arrays, or int64 token ids for labelled text."""
        if self.forecast is not None:
            return np.concatenate([self.forecast.last_window(s) for s in X])
        part = self.table or self.image or self.text or self.audio or self.series
        return part.transform(X)

    def input_shape(self) -> tuple[int, ...]:
        if self.table is not None:
            return (self.table.n_features,)
        if self.image is not None:
            return (self.image.channels, self.image.height, self.image.width)
        if self.text is not None:
            width = len(self.text.vocabulary) if self.text.bag_of_words else self.text.max_tokens
            return (width,)
        if self.forecast is not None:
            return (self.forecast.window, self.forecast.series.n_features)
        series = self.audio.series if self.audio is not None else self.series
        return (series.max_steps, series.n_features)

    @property
    def vocab_size(self) -> int | None:
        return (
            self.text.vocab_size if self.text is not None and not self.text.bag_of_words else None
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessing:
        def part(key: str, kind: type) -> Any:
            return kind(**data[key]) if data.get(key) else None

        audio = data.get("audio")
        forecast = data.get("forecast")
        return cls(
            modality=data["modality"],
            target=TargetEncoder(**data["target"]),
            table=part("table", TablePreprocessor),
            image=part("image", ImagePreprocessor),
            text=part("text", TextPreprocessor),
            series=part("series", SeriesPreprocessor),
            audio=AudioPreprocessor(audio["frames"], SeriesPreprocessor(**audio["series"]))
            if audio
            else None,
            forecast=ForecastPreprocessor(
                forecast["window"], forecast["horizon"], SeriesPreprocessor(**forecast["series"])
            )
            if forecast
            else None,
        )


def describe_preprocessing(pre: Preprocessing) -> list[str]:
    """The steps from raw data to the network's input, in words, for a program outside
    Python; every number they name is under `preprocessing` in the bundle JSON."""
    from automl.data.text import TOKEN_PATTERN

    tokens = (
        f"lower-case the text and split it into tokens with the regular expression "
        f"{TOKEN_PATTERN.pattern!r} (runs of letters, runs of digits, single punctuation)"
    )
    series = (
        "standardise each step's features: (value - series.mean[f]) / series.std[f], a "
        "missing value becoming 0; keep the last series.max_steps steps; pad a batch to its "
        "longest series with all-NaN steps (the network reads them as absent)"
    )
    if pre.table is not None:
        return [
            "columns are read by name (table.columns lists the training columns)",
            "numeric and date columns (table.numeric; a date as days since 1970-01-01 UTC): a "
            "missing value becomes median, then (value - mean) / std",
            "table.missing_indicators: 1.0 where that column's value is missing, else 0.0",
            "table.categorical: one-hot over the listed values, plus a last slot for any other "
            "value or a missing one",
            f"table.text: {tokens}; log(1 + count) of each listed word",
            "the input concatenates, in this order: the numeric columns, the missing "
            "indicators, the one-hot blocks, the word counts",
        ]
    if pre.image is not None:
        return [
            "decode the image and resize it to image.height x image.width, in image.channels "
            "channels (1: grey, 3: RGB)",
            "pixels / image.scale, then (value - image.mean[c]) / image.std[c] per channel",
            "lay it out channels first: (channels, height, width)",
        ]
    if pre.text is not None and pre.text.bag_of_words:
        return [f"{tokens}; log(1 + count) of each word of text.vocabulary, in its order"]
    if pre.text is not None:
        return [
            f"{tokens}; keep the first text.max_tokens tokens",
            "a token's id is 2 + its index in text.vocabulary; 1 for any other token; an "
            "empty document is one 1",
            "pad with 0 to text.max_tokens (a graph with a dynamic steps axis takes any "
            "length of at least 2)",
        ]
    if pre.audio is not None:
        return [
            "read the waveform as floats in [-1, 1] at audio.frames.sample_rate",
            "log-mel frames: Hann windows of win_length samples every hop_length samples, "
            "power spectrum over n_fft points, n_mels triangular HTK mel filters from 0 Hz to "
            "half the sample rate, log(energy + 1e-6)",
            series.replace("series.", "audio.series."),
        ]
    if pre.forecast is not None:
        return [
            "the last forecast.window steps of the series, each step's features "
            "standardised: (value - forecast.series.mean[f]) / forecast.series.std[f], a "
            "missing value becoming 0; feature 0 is the forecast one"
        ]
    if pre.series is not None and pre.series.fixed_steps:
        return [series.split("; pad")[0] + "; pad with 0 steps to series.max_steps"]
    return [series]


def _top_words(documents: Any, limit: int, min_count: int) -> list[str]:
    """The most frequent tokens (ties broken alphabetically, so fitting is deterministic)."""
    counts: dict[str, int] = {}
    for doc in documents:
        for token in tokenize(doc):
            counts[token] = counts.get(token, 0) + 1
    ranked = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    return ranked[:limit]


def _bag_of_words(documents: list[str], words: list[str]) -> np.ndarray:
    """log(1 + count) of each word per document."""
    index = {w: i for i, w in enumerate(words)}
    out = np.zeros((len(documents), len(words)), dtype=np.float32)
    for row, doc in enumerate(documents):
        for token in tokenize(doc):
            col = index.get(token)
            if col is not None:
                out[row, col] += 1.0
    return np.log1p(out)


def _is_numeric(series: pd.Series) -> bool:
    """Numbers and dates are scaled; booleans, strings and categories are one-hot encoded."""
    if pd.api.types.is_bool_dtype(series):
        return False
    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series)


def _numeric_values(series: pd.Series) -> pd.Series:
    """Floats with inf treated as missing; dates as days since 1970."""
    if pd.api.types.is_datetime64_any_dtype(series):
        dates = pd.to_datetime(series, errors="coerce")
        if getattr(dates.dt, "tz", None) is not None:
            dates = dates.dt.tz_convert(None)
        days = (dates - pd.Timestamp(0)) / pd.Timedelta(days=1)
        return days.astype(float)
    values = pd.to_numeric(series, errors="coerce").astype(float)
    return values.where(np.isfinite(values))


def _plain(value: Any) -> Any:
    """numpy scalars to Python scalars, so labels survive JSON unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def _uniform(values: list[Any]) -> bool:
    return len({type(v) for v in values}) == 1 and isinstance(values[0], int | float | str)
