"""Sound as a field ``t -> amplitudes`` (one value per channel).

Sample ``i`` of ``N`` sits at ``t = (i + 0.5) / N * 2 - 1``: the whole clip spans
``[-1, 1]`` whatever its length and rate, so sampling the field at ``M > N`` other
centres resamples the clip to ``M / N`` times its rate; a lower rate needs a low-pass
filter first (:func:`resample_field` does both). Values are in ``[-1, 1]``
(soundfile's float scaling of PCM); channels are the field's outputs.

Metrics: ``psnr = 10 log10(2² / MSE)`` (the peak-to-peak range of ``[-1, 1]``
signals, as images use their range) and ``snr = 10 log10(Σ x² / Σ (x - x̂)²)``;
``mse`` too, comparable with the SIREN paper's 1.1e-5 on its Bach clip.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
from tyro.conf import Positional

from .. import metrics
from ..errors import InrkitError
from ..grids import evaluate_grid, grid_coordinates
from ..io import atomic_path, input_file
from .base import Kind, SampledSignal, SampleSet

__all__ = ["AudioSignal", "AUDIO_SAMPLES", "WRITABLE", "load_audio", "save_audio", "render_audio", "resample_field",
           "snr", "synth_sample", "AudioOptions", "KIND", "render_field", "write_field"]

# Built-in clips, synthesised (no download), by name: description.
AUDIO_SAMPLES = {
    "chord": "A-major chord (A3, C#4, E4) with decaying harmonics, 2 s at 22050 Hz, mono",
    "stereo": "left: the chord; right: a 200 Hz -> 4 kHz chirp; 1 s at 22050 Hz",
}
_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}  # soundfile's format for each suffix save_audio writes
WRITABLE = tuple(_FORMATS)
"""The suffixes :func:`save_audio` writes."""
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


def load_audio(source: str, start: float = 0.0, duration: float | None = None) -> "AudioSignal":
    """Read a WAV, FLAC or OGG file (any channel count), or ``sample:NAME`` from :data:`AUDIO_SAMPLES`.

    ``start`` and ``duration`` (seconds) select part of it: samples ``round(start * rate)`` onwards,
    ``round(duration * rate)`` of them (default: to the end). Only that part is read from a file
    (soundfile seeks to it), so a long recording never loads in full. ``start`` must be a finite number
    in ``[0, length)`` and ``duration`` a finite positive number; a ``duration`` running past the end is
    clipped to the end with a one-line warning. The signal's metadata records ``start`` (and, as always,
    the ``duration`` actually fitted).

    Examples:
        >>> sig = load_audio("sample:chord", start=0.5, duration=1.0)
        >>> sig.length, sig.rate, sig.start
        (22050, 22050, 0.5)
    """
    _check_span(source, start, duration)
    if source.startswith("sample:"):
        samples, rate = synth_sample(source.split(":", 1)[1])
        first, count = _frames(source, rate, len(samples), start, duration)
        return AudioSignal(samples[first : first + count], rate, name=source, start=first / rate)
    import soundfile as sf

    path = input_file(source, "audio file", "a WAV, FLAC or OGG file")
    try:
        info = sf.info(str(path))
    except Exception as e:  # libsndfile reports corrupt, empty and unknown files alike
        raise _unreadable(source, path, e) from None
    first, count = _frames(source, info.samplerate, info.frames, start, duration)
    try:  # only the selected frames: soundfile seeks to `first`
        data, rate = sf.read(str(path), frames=count, start=first, dtype="float32", always_2d=True)  # (count, C)
    except Exception as e:
        raise _unreadable(source, path, e) from None
    if data.size and not data.any():
        part = " in the selected part" if start or duration is not None else ""
        raise InrkitError(f"audio file {source!r} is silent{part} (every sample is 0): there is nothing to fit")
    subtype = info.subtype if info.subtype in _SUBTYPES.get(path.suffix.lower(), ()) else "PCM_16"
    return AudioSignal(data, rate, name=source, subtype=subtype, start=first / rate)


def _unreadable(source: str, path: Path, e: Exception) -> InrkitError:
    if _wav_header_rate(path) == 0:
        return InrkitError(f"audio file {source!r} declares a sample rate of 0 Hz; expected a positive rate")
    return InrkitError(f"could not read {source!r} as audio (WAV, FLAC or OGG): {e}")


def _check_span(source: str, start: float, duration: float | None) -> None:
    """``start`` and ``duration`` as numbers, before anything is read."""
    if not (math.isfinite(start) and start >= 0):
        raise InrkitError(f"start of {source!r} must be a finite number of seconds, 0 or more; got {start}")
    if duration is not None and not (math.isfinite(duration) and duration > 0):
        raise InrkitError(f"duration of {source!r} must be a finite positive number of seconds; got {duration}")


def _frames(source: str, rate: float, frames: int, start: float, duration: float | None) -> tuple[int, int]:
    """``(first, count)``: the frames that ``start`` and ``duration`` (seconds) select of ``frames`` at ``rate``."""
    if not rate > 0:  # left to the reader's own error (a 0 Hz header)
        return 0, frames
    first = round(start * rate)
    if start > 0 and first >= frames:  # (start 0 of an empty file is left to the "0 samples" error)
        raise InrkitError(f"start {start:g} s is past the end of {source!r}, which is {frames / rate:.3f} s long")
    count = frames - first if duration is None else round(duration * rate)
    clipped = first + count > frames
    count = min(count, frames - first)
    if count < 2 and (start > 0 or duration is not None):
        raise InrkitError(f"the part of {source!r} from {start:g} s holds {count} sample(s) at {rate:g} Hz; "
                          "expected at least 2")
    if clipped:
        warnings.warn(f"{source!r} ends {count / rate:.3f} s after start {start:g} s, before the "
                      f"{duration:g} s asked for: fitting the {count / rate:.3f} s to the end")
    return first, count


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
    fmt = _FORMATS.get(path.suffix.lower())
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


class AudioSignal(SampledSignal):
    """A clip ``samples: (N, C)`` float32 in [-1, 1] at ``rate`` Hz; coordinates ``t: (N, 1)`` at sample centres.

    ``start``: seconds into the source where the clip begins (0 unless part of a file was loaded).
    """

    kind = "audio"
    in_dim = 1
    output_name = "reconstruction.wav"

    def __init__(self, samples: np.ndarray, rate: float, name: str = "", subtype: str = "PCM_16", start: float = 0.0):
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
        self.start = float(start)  # seconds into the source where the clip begins (load_audio's start)
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
            "start": self.start,
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
    from ..plots import new_figure, save_figure

    fig = new_figure(path.name, (10, 8))
    if fig is None:
        return False
    x, y = target[:, 0], pred[:, 0]
    t = np.arange(len(x)) / rate
    ax = fig.subplots(3, 1)
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
    save_figure(fig, path)
    return True


def render_audio(
    fn: Callable[[torch.Tensor], torch.Tensor], n: int, channels: int, chunk_size: int = 1 << 16, device=None
) -> np.ndarray:
    """Point-sample a field at ``n`` evenly spaced sample centres over ``[-1, 1]``: ``(n, C)`` in [-1, 1].

    No filtering: fewer samples than the field was fitted on alias whatever lies above the new Nyquist
    frequency. To change a clip's sample rate use :func:`resample_field`, which filters when it lowers it.
    """
    return np.clip(evaluate_grid(fn, (n,), channels, chunk_size=chunk_size, device=device), -1, 1)


def resample_field(
    fn: Callable[[torch.Tensor], torch.Tensor],
    length: int,
    channels: int,
    source_rate: float,
    rate: float,
    chunk_size: int = 1 << 16,
    device=None,
) -> np.ndarray:
    """A field fitted on ``length`` samples at ``source_rate`` Hz, as a clip at ``rate`` Hz: ``(M, C)`` in [-1, 1].

    ``M = max(1, round(length * rate / source_rate))``: the same duration at the new rate.

    - ``rate > source_rate``: the field is sampled at the ``M`` new sample centres over ``[-1, 1]``
      (:func:`render_audio`). Values between the fitted samples are the field's own continuous
      interpolation, not a band-limited (sinc) one: what the network makes of the gaps.
    - ``rate == source_rate``: the field at its own samples.
    - ``rate < source_rate``: the field is evaluated at its own samples (the times it was fitted at),
      then low-pass filtered and decimated by :func:`scipy.signal.resample_poly` (a polyphase
      Kaiser-windowed FIR, cutoff at the new Nyquist frequency), so content above it is removed rather
      than aliased. The ratio ``rate / source_rate`` is the nearest fraction ``up / down`` with
      ``down <= 1000`` (exact for the usual rates: 44100 -> 8000 is 80/441). Sample ``j`` of the result
      is the filtered signal at the time of input sample ``j * source_rate / rate``, first samples
      coinciding, as resample_poly, sox and libsamplerate align them; so it compares sample for sample
      with ``resample_poly`` of the original. (The upsampling path instead puts sample centres over
      ``[-1, 1]``: the two alignments differ by half an output period less half an input period.)

    Memory: the field is evaluated and filtered in blocks of about ``chunk_size`` input samples (each
    with the filter's half-length of overlap, so the result equals one resample_poly call over the whole
    clip), through the one chunked evaluator; peak memory is the output plus one block.

    Examples:
        A 3 kHz tone fitted at 8 kHz, lowered to 4 kHz (Nyquist 2 kHz): the tone is filtered out, where
        point sampling would fold it down to a full-level 1 kHz tone.

        >>> import torch
        >>> tone = lambda t: 0.5 * torch.sin(2 * torch.pi * 3000 * (t + 1) / 2)  # t: (n, 1) over 1 s -> (n, 1)
        >>> clip = resample_field(tone, 8000, 1, source_rate=8000, rate=4000)
        >>> clip.shape
        (4000, 1)
        >>> bool(np.abs(clip[100:-100]).max() < 0.01), bool(render_audio(tone, 4000, 1).std() > 0.3)
        (True, True)
    """
    from fractions import Fraction

    from scipy.signal import resample_poly

    if not (length >= 1 and channels >= 1):
        raise InrkitError(f"cannot resample {length} samples of {channels} channel(s); expected at least 1 of each")
    if not (0 < source_rate < math.inf and 0 < rate < math.inf):
        raise InrkitError(f"sample rates must be positive numbers of Hz, got {source_rate} -> {rate}")
    m = max(1, round(length * rate / source_rate))  # same duration at the new rate
    if rate > source_rate or m == length:
        return render_audio(fn, m, channels, chunk_size=chunk_size, device=device)
    ratio = (Fraction(rate) / Fraction(source_rate)).limit_denominator(max(1000, math.ceil(source_rate / rate)))
    up, down = ratio.numerator, ratio.denominator  # coprime, up < down
    if up == down:  # a ratio within 1/1000 of 1 (never reached for integer rates below 48 kHz)
        return render_audio(fn, m, channels, chunk_size=chunk_size, device=device)
    # resample_poly's filter spans `half` samples of the up-sampled signal either side of an output;
    # output j sits at up-sampled index j * down and needs inputs i with |j * down - i * up| <= half.
    half = 10 * down  # scipy's choice, 10 * max(up, down)
    margin = half // up + 2  # input samples of overlap on each side of a block
    n_full = -(-length * up // down)  # resample_poly's output length, ceil(length * up / down)
    out = np.zeros((m, channels), np.float32)  # (M, C); past n_full (an inexact ratio) stays silent
    step = max(1, max(chunk_size, 8 * (2 * margin + down)) * up // down)  # outputs per block
    for j0 in range(0, min(m, n_full), step):
        j1 = min(j0 + step, m, n_full)
        a = max(0, (j0 * down - half) // up - 1) // down * down  # block start: a multiple of `down`, so
        b = min(length, -(-(j1 * down + half) // up) + 2)  # that block output k is global output a*up/down + k
        region = ((-1 + 2 * a / length,), (-1 + 2 * b / length,))  # input samples a..b-1 at their centres
        x = np.clip(evaluate_grid(fn, (b - a,), channels, region, chunk_size=chunk_size, device=device), -1, 1)
        y = resample_poly(x, up, down, axis=0)  # (ceil((b - a) * up / down), C), zero outside the block
        k0 = j0 - a * up // down
        out[j0:j1] = y[k0 : k0 + j1 - j0]
    return np.clip(out, -1, 1)


# ---------------------------------------------------------------- the kind: `inrkit fit audio`, render, info


@dataclass
class AudioOptions:
    """Fit a field to a sound (WAV, FLAC or OGG; any channel count) or sample:NAME (chord, stereo)."""

    source: Positional[str] = "sample:chord"
    """Audio file (WAV, FLAC, OGG) or sample:chord / sample:stereo (synthesised)."""
    start: float = 0.0
    """Seconds into the source where the part to fit begins; only that part is read."""
    duration: Optional[float] = None
    """Seconds to fit from --start (default: to the end); one running past the end is cut there, with a warning."""


def _load(o: AudioOptions, seed: int = 0, preset=None) -> "AudioSignal":
    return load_audio(o.source, start=o.start, duration=o.duration)


def _summary(m: dict, o, sig: "AudioSignal") -> str:
    part = f" from {sig.start:.2f} s" if sig.start else ""
    return (f"{m['preset']} on {o.source} ({sig.duration:.2f} s{part} at {sig.rate} Hz, {sig.channels} channel(s)): "
            f"PSNR {m['psnr']:.2f} dB, SNR {m['snr']:.2f} dB, MSE {m['mse']:.3g}, {m['steps']} steps in "
            f"{m['seconds']:.1f} s")


def _describe(sig: dict) -> str:
    start = f" from {sig['start']:g} s" if sig.get("start") else ""
    n, c = sig["shape"]
    return f"audio {sig.get('source', '')}{start}, {n:,} samples at {sig.get('sample_rate')} Hz, {c} channel(s)"


def _quality(m: dict) -> list[tuple[str, str]]:
    if "psnr" not in m:
        return []
    return [("quality", f"PSNR {m['psnr']:.2f} dB, SNR {m['snr']:.2f} dB, MSE {m['mse']:.3g}")]


def render_field(field, rate: float | None = None, chunk_size: int = 1 << 16, device=None) -> np.ndarray:
    """A sound field at ``rate`` Hz (default: the clip's own) over the clip's duration: ``(M, C)`` float32
    in [-1, 1]; a lower rate is low-pass filtered (anti-aliased), a higher one sampled between the samples."""
    from ..outputs import field_meta

    sig = field_meta(field)["signal"]
    n, channels = sig["shape"]
    out_rate = sig["sample_rate"] if rate is None else rate
    if not (isinstance(out_rate, (int, float)) and 0 < out_rate < float("inf")):
        raise InrkitError(f"sample rate must be a positive number of Hz, got {rate}")
    device = device if device is not None else next(field.parameters()).device
    return resample_field(field, n, channels, sig["sample_rate"], out_rate, chunk_size=chunk_size, device=device)


def write_field(field, out, folder, **options) -> str:
    """``inrkit render`` of a sound field: a WAV (or ``out``: .wav, .flac, .ogg) at ``rate``."""
    from ..outputs import field_meta, render_target

    sig = field_meta(field)["signal"]
    render_target(out, folder, WRITABLE, "sound")
    samples = render_field(field, **options)  # (M, C)
    rate = sig["sample_rate"] if options.get("rate") is None else options["rate"]
    target = render_target(out, folder, WRITABLE, "sound", f"render_{rate}hz.wav")
    save_audio(target, samples, rate, sig.get("subtype"))
    part = f", from {sig['start']:.2f} s of {sig.get('source')}" if sig.get("start") else ""
    return f"wrote {target} ({len(samples)} samples at {rate} Hz, {len(samples) / rate:.2f} s{part})"


KIND = Kind(name="audio", help=AudioOptions.__doc__, options=AudioOptions, load=_load, summary=_summary,
            describe=_describe, quality=_quality, render=render_field, write=write_field,
            samples=SampleSet("sounds", AUDIO_SAMPLES))
