"""Audio: .wav files to mono float waveforms, and waveforms to log-mel frames (numpy/scipy).

The frame parameters depend only on the sample rate (25 ms windows every 10 ms, 40 mel bands,
the speech-recognition standard); `automl.preprocessing` saves them with the model.
"""

from __future__ import annotations

import collections
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from automl.data.dataset import count_text
from automl.errors import DataError

AUDIO_EXTENSIONS = frozenset({".wav", ".wave"})
MIN_SAMPLE_RATE = 1000  # Hz; below this a 25 ms window holds too few samples to analyse
WINDOW_S = 0.025
HOP_S = 0.010
N_MELS = 40


def read_wavs(
    paths: Sequence[Path], sample_rate: int | None = None
) -> tuple[list[np.ndarray], int, list[int], list[str]]:
    """Decode .wav files to mono float32 waveforms in [-1, 1] at one sample rate.

    Without `sample_rate` (fitting) the most common rate wins; other rates are resampled.
    Unreadable files are skipped and counted. Returns (waveforms, rate, kept indices, notes).
    """
    from scipy.io import wavfile
    from scipy.signal import resample_poly

    decoded: list[tuple[int, int, np.ndarray]] = []
    unreadable: list[str] = []
    for i, path in enumerate(paths):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # scipy warns about unknown chunks (LIST, etc.)
                rate, data = wavfile.read(path)
            wave = _to_float_mono(np.asarray(data))
        except (OSError, ValueError, EOFError) as exc:
            unreadable.append(f"{path.name} ({str(exc).splitlines()[0][:60]})")
            continue
        if wave.size == 0:
            unreadable.append(f"{path.name} (no samples)")
            continue
        decoded.append((i, int(rate), wave))
    if not decoded:
        raise DataError(
            f"None of the {len(paths)} .wav files could be read (e.g. {unreadable[0]}); "
            "check they are PCM or float WAV files."
        )
    rate = sample_rate or collections.Counter(r for _, r, _ in decoded).most_common(1)[0][0]
    if rate < MIN_SAMPLE_RATE:
        raise DataError(
            f"The audio is sampled at {rate} Hz; speech needs at least {MIN_SAMPLE_RATE} Hz."
        )
    waves, kept, resampled = [], [], 0
    for i, r, wave in decoded:
        if r != rate:
            g = np.gcd(r, rate)
            wave = resample_poly(wave, rate // g, r // g).astype(np.float32)
            resampled += 1
        waves.append(wave)
        kept.append(i)
    notes = []
    if resampled:
        notes.append(f"resampled {count_text(resampled)} files to {rate} Hz")
    if unreadable:
        notes.append(
            f"skipped {count_text(len(unreadable))} unreadable .wav files "
            f"(e.g. {', '.join(unreadable[:3])})"
        )
    return waves, rate, kept, notes


def _to_float_mono(data: np.ndarray) -> np.ndarray:
    if data.dtype.kind in "iu":
        info = np.iinfo(data.dtype)
        middle = (int(info.max) + int(info.min) + 1) / 2  # 0 for signed, 128 for 8-bit unsigned
        data = (data.astype(np.float64) - middle) / (info.max - middle)
    data = data.astype(np.float32)
    if data.ndim == 2:
        data = data.mean(axis=1)
    return np.nan_to_num(data)


def frame_parameters(sample_rate: int) -> dict[str, int]:
    win = int(round(WINDOW_S * sample_rate))
    return {
        "sample_rate": int(sample_rate),
        "n_fft": int(2 ** np.ceil(np.log2(win))),
        "win_length": win,
        "hop_length": int(round(HOP_S * sample_rate)),
        "n_mels": N_MELS,
    }


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """Triangular filters evenly spaced on the mel scale (HTK formula), (n_mels, n_fft//2+1)."""

    def to_mel(hz):
        return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)

    def to_hz(mel):
        return 700.0 * (10.0 ** (np.asarray(mel) / 2595.0) - 1.0)

    edges = to_hz(np.linspace(to_mel(0.0), to_mel(sample_rate / 2), n_mels + 2))
    bins = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - lower) / np.maximum(centre - lower, 1e-9)
    falling = (upper - bins) / np.maximum(upper - centre, 1e-9)
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)


def log_mel(wave: np.ndarray, params: dict[str, int]) -> np.ndarray:
    """(frames, n_mels) log-mel energies of one waveform; a clip shorter than a window is
    zero-padded to one frame."""
    n_fft, win, hop = params["n_fft"], params["win_length"], params["hop_length"]
    if len(wave) < win:
        wave = np.pad(wave, (0, win - len(wave)))
    n_frames = 1 + (len(wave) - win) // hop
    index = np.arange(win)[None, :] + hop * np.arange(n_frames)[:, None]
    frames = wave[index] * np.hanning(win).astype(np.float32)
    power = np.abs(np.fft.rfft(frames, n=n_fft, axis=1)) ** 2
    mel = power @ mel_filterbank(params["sample_rate"], n_fft, params["n_mels"]).T
    return np.log(mel + 1e-6).astype(np.float32)
