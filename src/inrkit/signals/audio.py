"""Sound as a field ``t -> amplitudes`` (one value per channel).

Sample ``i`` of ``N`` sits at ``t = (i + 0.5) / N * 2 - 1``: the whole clip spans
``[-1, 1]`` whatever its length and rate, so sampling the field at ``M`` other
centres resamples the clip to ``M / N`` times its rate. Values are in ``[-1, 1]``
(soundfile's float scaling of PCM); channels are the field's outputs.

Metrics: ``psnr = 10 log10(2² / MSE)`` (the peak-to-peak range of ``[-1, 1]``
signals, as images use their range) and ``snr = 10 log10(Σ x² / Σ (x - x̂)²)``;
``mse`` too, comparable with the SIREN paper's 1.1e-5 on its Bach clip.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .. import metrics
from ..errors import InrkitError, atomic_path, input_file
from ..grids import evaluate_grid, grid_coordinates

__all__ = ["AudioSignal", "AUDIO_SAMPLES", "load_audio", "save_audio", "render_audio", "snr", "synth_sample"]

# Built-in clips, synthesised (no download), by name: description.
AUDIO_SAMPLES = {
    "chord": "A-major chord (A3, C#4, E4) with decaying harmonics, 2 s at 22050 Hz, mono",
    "stereo": "left: the chord; right: a 200 Hz -> 4 kHz chirp; 1 s at 22050 Hz",
}
_READABLE = (".wav", ".flac", ".ogg", ".oga")
_SUBTYPES = {".wav": ("PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"), ".flac": ("PCM_16", "PCM_24")}


def _chord(n: int, rate: int) -> np.ndarray:
    t = np.arange(n) / rate
    out = np.zeros(n)
    for f in (220.0, 277.18, 329.63):  # A3, C#4, E4
        for k, a in ((1, 1.0), (2, 0.5), (3, 0.25), (4, 0.12)):
            out += a * np.sin(2 * np.pi * f * k * t)
    out *= np.exp(-1.5 * t) * np.minimum(1, t / 0.01)  # 10 ms attack, exponential decay
    return 0.8 * out / np.abs(out).max()


def _chirp(n: int, rate: int) -> np.ndarray:
    t = np.arange(n) / rate
    f0, f1, dur = 200.0, 4000.0, n / rate
    phase = 2 * np.pi * f0 * dur / math.log(f1 / f0) * ((f1 / f0) ** (t / dur) - 1)  # exponential sweep
    return 0.6 * np.sin(phase)


def synth_sample(name: str) -> tuple[np.ndarray, int]:
    """A built-in clip: ``(samples (N, C) float32 in [-1, 1], rate)``."""
    rate = 22050
    if name == "chord":
        return _chord(2 * rate, rate)[:, None].astype(np.float32), rate
    if name == "stereo":
        return np.stack([_chord(rate, rate), _chirp(rate, rate)], axis=1).astype(np.float32), rate
    raise InrkitError(f"unknown audio sample {name!r}; expected one of {', '.join(AUDIO_SAMPLES)}")


def load_audio(source: str) -> "AudioSignal":
    """Read a WAV, FLAC or OGG file (any channel count), or ``sample:NAME`` from :data:`AUDIO_SAMPLES`."""
    if source.startswith("sample:"):
        samples, rate = synth_sample(source.split(":", 1)[1])
        return AudioSignal(samples, rate, name=source)
    import soundfile as sf

    path = input_file(source, "audio file", "a WAV, FLAC or OGG file")
    try:
        info = sf.info(str(path))
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)  # (N, C) in [-1, 1]
    except Exception as e:  # libsndfile reports corrupt, empty and unknown files alike
        if _wav_header_rate(path) == 0:
            raise InrkitError(f"audio file {source!r} declares a sample rate of 0 Hz; expected a positive rate") from None
        raise InrkitError(f"could not read {source!r} as audio (WAV, FLAC or OGG): {e}") from None
    if data.size and not data.any():
        raise InrkitError(f"audio file {source!r} is silent (every sample is 0): there is nothing to fit")
    subtype = info.subtype if info.subtype in _SUBTYPES.get(path.suffix.lower(), ()) else "PCM_16"
    return AudioSignal(data, rate, name=source, subtype=subtype)


def _wav_header_rate(path: Path) -> int | None:
    """The sample rate a RIFF/WAVE file's ``fmt `` chunk declares, or None when there is none to read."""
    import struct

    with open(path, "rb") as f:
        head = f.read(4096)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos = 12
    while pos + 8 <= len(head):
        chunk, size = head[pos : pos + 4], struct.unpack("<I", head[pos + 4 : pos + 8])[0]
        if chunk == b"fmt " and pos + 16 <= len(head):
            return struct.unpack("<I", head[pos + 12 : pos + 16])[0]
        pos += 8 + size + (size & 1)
    return None


def save_audio(path: str | Path, samples: np.ndarray, rate: int, subtype: str | None = None) -> None:
    """Write ``samples: (N, C)`` (or ``(N,)``) in [-1, 1] at ``rate`` Hz, atomically; the format follows the suffix."""
    import soundfile as sf

    path = Path(path)
    a = np.clip(np.asarray(samples, np.float32), -1, 1)
    fmt = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}.get(path.suffix.lower())
    if fmt is None:
        raise InrkitError(f"cannot write {str(path)!r}: expected a .wav, .flac or .ogg file name")
    if fmt == "OGG":
        subtype = "VORBIS"
    elif subtype not in _SUBTYPES[path.suffix.lower()]:
        subtype = "PCM_16"
    try:
        with atomic_path(path) as tmp:
            sf.write(str(tmp), a, int(rate), format=fmt, subtype=subtype)
    except (OSError, RuntimeError) as e:
        raise InrkitError(f"could not write {str(path)!r}: {e}") from None


def snr(pred: np.ndarray, target: np.ndarray) -> float:
    """Signal-to-noise ratio ``10 log10(Σ x² / Σ (x - x̂)²)`` in dB."""
    t, p = np.asarray(target, np.float64), np.asarray(pred, np.float64)
    err, power = float(((p - t) ** 2).sum()), float((t**2).sum())
    if err == 0:
        return float("inf")
    return float("-inf") if power == 0 else 10 * math.log10(power / err)


class AudioSignal:
    """A clip ``samples: (N, C)`` float32 in [-1, 1] at ``rate`` Hz; coordinates ``t: (N, 1)`` at sample centres."""

    kind = "audio"
    in_dim = 1
    output_name = "reconstruction.wav"

    def __init__(self, samples: np.ndarray, rate: float, name: str = "", subtype: str = "PCM_16"):
        a = np.asarray(samples, np.float32)
        if a.ndim == 1:
            a = a[:, None]  # (N, 1)
        if a.ndim != 2 or a.shape[1] < 1:
            raise InrkitError(f"audio {name!r} has shape {a.shape}; expected (samples,) or (samples, channels)")
        if a.shape[0] < 2:
            raise InrkitError(f"audio {name!r} has {a.shape[0]} samples; expected at least 2")
        if not (rate > 0 and math.isfinite(rate)):
            raise InrkitError(f"audio {name!r} has sample rate {rate}; expected a positive number of Hz")
        if not np.isfinite(a).all():
            raise InrkitError(f"audio {name!r} contains NaN or infinite samples")
        if np.abs(a).max() > 1:
            raise InrkitError(f"audio {name!r} has samples outside [-1, 1]; expected full-scale floating point audio")
        self.samples, self.rate, self.name, self.subtype = a, int(round(rate)), name, subtype
        self.length, self.channels = a.shape
        self.out_dim = self.channels

    @property
    def resolution(self) -> int:
        """Samples across the clip (sizes hash grids and band limits)."""
        return self.length

    @property
    def duration(self) -> float:
        return self.length / self.rate

    def train_data(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Coordinates ``(N, 1)`` and values ``(N, C)``."""
        return grid_coordinates((self.length,)), torch.from_numpy(self.samples)

    def metadata(self) -> dict:
        return {
            "kind": self.kind,
            "source": self.name,
            "shape": [self.length, self.channels],
            "sample_rate": self.rate,
            "duration": self.duration,
            "value_range": [-1.0, 1.0],
            "subtype": self.subtype,
        }

    def predict(self, fn: Callable[[torch.Tensor], torch.Tensor], device=None) -> np.ndarray:
        """Field values at every sample: ``(N, C)`` float32 clipped to [-1, 1]."""
        return np.clip(evaluate_grid(fn, (self.length,), self.channels, device=device), -1, 1)

    def evaluate(self, pred: np.ndarray, full: bool = True) -> dict:
        """``psnr`` (range 2), and with ``full`` ``snr`` and ``mse``, of a prediction ``(N, C)``."""
        out = {"psnr": metrics.psnr(pred, self.samples, data_range=2.0)}
        if full:
            out["snr"] = snr(pred, self.samples)
            out["mse"] = metrics.mse(pred, self.samples)
        return out

    def save(self, path: str | Path, pred: np.ndarray) -> None:
        """Write the reconstruction, and beside it ``comparison.png`` (waveforms and spectrograms)."""
        path = Path(path)
        save_audio(path, pred, self.rate, self.subtype)
        plot_comparison(path.parent / "comparison.png", self.samples, pred, self.rate)


def plot_comparison(path: Path, target: np.ndarray, pred: np.ndarray, rate: int) -> bool:
    """Waveforms (with the error) and spectrograms of the first channel, original above fit; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        warnings.warn("matplotlib is not installed: comparison.png skipped (pip install matplotlib)")
        return False
    x, y = target[:, 0], pred[:, 0]
    t = np.arange(len(x)) / rate
    fig, ax = plt.subplots(3, 1, figsize=(10, 8))
    ax[0].plot(t, x, lw=0.5, label="original")
    ax[0].plot(t, y, lw=0.5, alpha=0.7, label="field")
    ax[0].plot(t, y - x, lw=0.5, label="error")
    ax[0].set(xlabel="seconds", ylabel="amplitude", xlim=(0, t[-1]), title="waveform (channel 1)")
    ax[0].legend(loc="upper right")
    nfft = 1 << max(6, min(11, int(math.log2(max(len(x) // 64, 64)))))
    for a, s, title in ((ax[1], x, "original"), (ax[2], y, "field")):
        with np.errstate(divide="ignore"):  # silent stretches: log10(0) = -inf, drawn at vmin
            a.specgram(s, NFFT=nfft, Fs=rate, noverlap=nfft // 2, cmap="magma", vmin=-120)
        a.set(xlabel="seconds", ylabel="Hz", title=f"spectrogram: {title}")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return True


def render_audio(
    fn: Callable[[torch.Tensor], torch.Tensor], n: int, channels: int, chunk_size: int = 1 << 16, device=None
) -> np.ndarray:
    """Sample a field at ``n`` evenly spaced sample centres over ``[-1, 1]``: ``(n, C)`` in [-1, 1]."""
    return np.clip(evaluate_grid(fn, (n,), channels, chunk_size=chunk_size, device=device), -1, 1)
