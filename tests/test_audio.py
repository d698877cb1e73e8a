"""Audio signal: loading (WAV, FLAC, OGG; mono and multi-channel), fitting, resampling, checkpoints, bad inputs."""
import json
import struct
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

import inrkit
from inrkit import InrkitError
from inrkit.cli import main
from inrkit.encodings import HashGridConfig
from inrkit.fields import FieldConfig
from inrkit.networks import MLPConfig
from inrkit.signals.audio import AUDIO_SAMPLES, AudioSignal, load_audio, snr


def _sine(n=800, rate=8000, f=440.0, channels=1):
    t = np.arange(n) / rate
    cols = [0.5 * np.sin(2 * np.pi * f * (c + 1) * t) for c in range(channels)]
    return np.stack(cols, axis=1).astype(np.float32)


def test_time_coordinates_at_sample_centres():
    sig = AudioSignal(np.zeros((4, 2), np.float32), 100)
    t, v = sig.train_data()
    assert t.shape == (4, 1) and v.shape == (4, 2)
    assert torch.allclose(t[:, 0], torch.tensor([-0.75, -0.25, 0.25, 0.75]))
    assert sig.metadata()["sample_rate"] == 100 and sig.duration == pytest.approx(0.04)


@pytest.mark.parametrize("ext,subtype,channels", [(".wav", "PCM_16", 1), (".wav", "FLOAT", 2), (".flac", "PCM_24", 3),
                                                  (".ogg", "VORBIS", 2)])
def test_read_formats(tmp_path, ext, subtype, channels):
    a = _sine(4000, 16000, channels=channels)
    path = tmp_path / f"clip{ext}"
    sf.write(path, a, 16000, subtype=subtype)
    sig = load_audio(str(path))
    assert sig.samples.shape == (4000, channels) and sig.rate == 16000 and sig.out_dim == channels
    if ext == ".ogg":  # Vorbis is lossy: the waveform comes back, not the bits
        assert snr(sig.samples, a) > 15
    else:
        assert np.abs(sig.samples - a).max() < 1e-4


def test_samples():
    for name in AUDIO_SAMPLES:
        sig = load_audio(f"sample:{name}")
        assert sig.rate == 22050 and np.abs(sig.samples).max() <= 1 and sig.length >= 22050
    assert load_audio("sample:stereo").channels == 2


def test_metrics_closed_form():
    x = np.array([[0.5], [-0.5], [0.5], [-0.5]], np.float32)
    y = x + 0.05
    sig = AudioSignal(x, 10)
    m = sig.evaluate(y)
    assert m["mse"] == pytest.approx(0.0025, rel=1e-5)
    assert m["psnr"] == pytest.approx(10 * np.log10(4 / 0.0025), rel=1e-5)
    assert m["snr"] == pytest.approx(10 * np.log10(0.25 / 0.0025), rel=1e-5)
    assert snr(x, x) == float("inf")


def _small_field(signal):
    cfg = FieldConfig(HashGridConfig(n_levels=8, n_features=2, log2_hashmap_size=12, base_resolution=8,
                                     finest_resolution=0), MLPConfig(width=32, depth=2))
    return inrkit.make_field(cfg, signal, seed=0)


def test_short_fit_reaches_threshold_and_resamples(fast):
    # A 440 Hz + 880 Hz tone at 8 kHz; the fitted field resampled at 16 kHz must match the tone at the new times.
    sig = AudioSignal(_sine(800, 8000, channels=2), 8000)
    field = _small_field(sig)
    res = inrkit.fit(field, sig, fast(steps=100), inrkit.OptimConfig(lr=1e-2))
    assert res.metrics["psnr"] > 40 and res.metrics["snr"] > 25
    from inrkit.signals.audio import render_audio

    up = render_audio(field, 1600, 2)  # (1600, 2): same 0.1 s at twice the rate
    t = (np.arange(1600) + 0.5) / 16000 - 0.5 / 8000  # times of the new sample centres, on the old clock
    truth = np.stack([0.5 * np.sin(2 * np.pi * 440 * (c + 1) * t) for c in range(2)], axis=1)
    assert inrkit.psnr(up[2:-2], truth[2:-2], data_range=2.0) > 30


def test_siren_audio_preset():
    p = inrkit.get_preset("siren-audio")
    assert p.field.network.kind == "siren" and p.field.network.first_omega == 3000
    assert p.field.network.hidden_omega == 30 and p.optim.lr == 1e-4


def test_cli_fit_render_info_round_trip(tmp_path, capsys):
    src = tmp_path / "tone.wav"
    sf.write(src, _sine(1000, 8000), 8000, subtype="FLOAT")
    out = tmp_path / "run"
    assert main(["fit", "audio", str(src), "--out", str(out), "--steps", "30", "--no-progress", "--compile", "off",
                 "--device", "cpu"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert {"psnr", "snr", "mse"} <= m.keys()
    rec, rate = sf.read(out / "reconstruction.wav", dtype="float32", always_2d=True)
    assert rec.shape == (1000, 1) and rate == 8000
    assert (out / "comparison.png").stat().st_size > 0
    # The reconstruction file is the field at the samples; a reloaded field gives the same.
    field = inrkit.load(out)
    again = AudioSignal(rec, rate).samples
    pred = load_audio(str(src)).predict(field)
    assert np.abs(pred - again).max() < 1e-6
    assert inrkit.psnr(rec, load_audio(str(src)).samples, data_range=2) == pytest.approx(m["psnr"], abs=1e-3)
    assert main(["render", str(out), "--rate", "22050"]) == 0
    up, r2 = sf.read(out / "render_22050hz.wav", always_2d=True)
    assert r2 == 22050 and up.shape == (round(1000 * 22050 / 8000), 1)
    assert main(["info", str(out)]) == 0
    assert main(["fit", "audio", str(src), "--out", str(out), "--steps", "40", "--resume", "--no-progress",
                 "--compile", "off", "--device", "cpu"]) == 0
    assert json.loads((out / "metrics.json").read_text())["steps"] == 40


def test_plot_skipped_without_matplotlib(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    sig = AudioSignal(_sine(200), 8000)
    with pytest.warns(UserWarning, match="matplotlib"):
        sig.save(tmp_path / "reconstruction.wav", sig.samples)
    assert (tmp_path / "reconstruction.wav").exists() and not (tmp_path / "comparison.png").exists()


def _wav_with_rate(path, rate):
    data = np.zeros(100, "<i2").tobytes()
    fmt = struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    path.write_bytes(b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + fmt + b"data"
                     + struct.pack("<I", len(data)) + data)


def test_bad_inputs(tmp_path, capsys):
    _wav_with_rate(tmp_path / "zero.wav", 0)
    with pytest.raises(InrkitError, match="sample rate of 0"):
        load_audio(str(tmp_path / "zero.wav"))
    with pytest.raises(InrkitError, match="sample rate"):
        AudioSignal(np.zeros((10, 1)), 0)
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(InrkitError, match="could not read"):
        load_audio(str(tmp_path / "empty.wav"))
    sf.write(tmp_path / "noframes.wav", np.zeros((0, 1)), 8000)
    with pytest.raises(InrkitError, match="0 samples"):
        load_audio(str(tmp_path / "noframes.wav"))
    (tmp_path / "junk.flac").write_bytes(b"not audio at all" * 10)
    with pytest.raises(InrkitError, match="could not read"):
        load_audio(str(tmp_path / "junk.flac"))
    with pytest.raises(InrkitError, match="does not exist"):
        load_audio(str(tmp_path / "missing.wav"))
    with pytest.raises(InrkitError, match="unknown audio sample"):
        load_audio("sample:nope")
    with pytest.raises(InrkitError, match="outside"):
        AudioSignal(np.full((10, 1), 2.0), 100)
    sf.write(tmp_path / "silent.wav", np.zeros((100, 1)), 8000)
    with pytest.raises(InrkitError, match="silent"):
        load_audio(str(tmp_path / "silent.wav"))
    # Through the CLI: one sentence, exit status 2, nothing written.
    assert main(["fit", "audio", str(tmp_path / "empty.wav"), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("inrkit: error:") and "Traceback" not in err and not (tmp_path / "r").exists()


def test_render_bad_rate(tmp_path, capsys):
    src = tmp_path / "tone.wav"
    sf.write(src, _sine(300, 8000), 8000)
    out = tmp_path / "run"
    assert main(["fit", "audio", str(src), "--out", str(out), "--steps", "5", "--no-progress", "--compile", "off",
                 "--device", "cpu"]) == 0
    before = sorted(p.name for p in out.iterdir())
    assert main(["render", str(out), "--rate", "0"]) == 2
    assert "sample rate must be a positive" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == before


# Resampling: a lower rate is low-pass filtered (scipy's polyphase resampler), a higher one samples the field.


def _chord_field(n, rate, freqs):
    """A perfect "field" of n samples at `rate` Hz: ``t (k, 1) -> (k, 1)``, the sum of `freqs` ((Hz, amplitude))
    at the continuous time of t (sample i's centre is i / rate seconds), and the same signal at the samples."""
    def fn(t):  # t: (k, 1) in [-1, 1]
        seconds = ((t[:, :1].double() + 1) / 2 * n - 0.5) / rate  # (k, 1)
        return sum(a * torch.sin(2 * np.pi * f * seconds) for f, a in freqs).float()

    seconds = np.arange(n, dtype=np.float64) / rate
    return fn, sum(a * np.sin(2 * np.pi * f * seconds) for f, a in freqs)[:, None]  # (n, 1)


def test_downsampling_is_anti_aliased_and_matches_resample_poly():
    from scipy.signal import resample_poly

    from inrkit.signals.audio import render_audio, resample_field

    # 0.5 s at 44.1 kHz with strong content above the 4 kHz Nyquist of 8 kHz (5.5 and 9 kHz).
    n, rate, new = 22050, 44100, 8000
    fn, x = _chord_field(n, rate, [(440, 0.3), (1320, 0.15), (2200, 0.1), (5500, 0.15), (9000, 0.1)])
    ref = resample_poly(x, 80, 441, axis=0)[: round(n * new / rate)]  # 8000 / 44100 = 80 / 441
    y = resample_field(fn, n, 1, rate, new)
    assert y.shape == (4000, 1) and y.dtype == np.float32  # same 0.5 s
    assert snr(y, ref) > 50
    # Point sampling (the old render) aliases 5.5 and 9 kHz into the band: far below, also when the points
    # sit exactly at the reference's instants (j / 8000 s), so the filter, not the alignment, makes the gap.
    assert snr(render_audio(fn, 4000, 1), ref) < 15
    at_ref_times = fn(torch.from_numpy((np.arange(4000) / new * rate + 0.5) / n * 2 - 1)[:, None]).numpy()
    assert snr(at_ref_times, ref) < 15
    # Blocks (small chunks) change nothing: equal to one resample_poly call over the whole clip.
    assert snr(resample_field(fn, n, 1, rate, new, chunk_size=500), y) > 70  # (float32 coordinates differ a little)


@pytest.mark.parametrize("new", [8000, 11025, 16000, 22050, 7999, 44099, 30000, 100])
def test_resampled_length_keeps_the_duration(new):
    from inrkit.signals.audio import resample_field

    fn, _ = _chord_field(1001, 44100, [(440, 0.5)])
    y = resample_field(fn, 1001, 1, 44100, new, chunk_size=300)
    assert y.shape == (max(1, round(1001 * new / 44100)), 1) and np.isfinite(y).all() and np.abs(y).max() <= 1


def test_upsampling_path_unchanged():
    from inrkit.signals.audio import render_audio, resample_field

    fn, _ = _chord_field(800, 8000, [(440, 0.5), (3000, 0.3)])
    fn2 = lambda t: torch.cat([fn(t), -fn(t)], dim=1)  # noqa: E731  (k, 1) -> (k, 2)
    assert np.array_equal(resample_field(fn2, 800, 2, 8000, 22050), render_audio(fn2, round(800 * 22050 / 8000), 2))
    assert np.array_equal(resample_field(fn2, 800, 2, 8000, 8000), render_audio(fn2, 800, 2))
    with pytest.raises(InrkitError, match="positive"):
        resample_field(fn2, 800, 2, 8000, 0)


# Part of a file: --start / --duration.


def _ramp(n=16000, channels=2):
    """Every sample distinct, so a slice is recognisable: (n, channels) float32."""
    return (np.linspace(-0.9, 0.9, n * channels, dtype=np.float32).reshape(n, channels))


@pytest.mark.parametrize("ext,subtype", [(".wav", "FLOAT"), (".flac", "PCM_24"), (".ogg", "VORBIS")])
def test_load_part_reads_only_that_part(tmp_path, monkeypatch, ext, subtype):
    a = _ramp() if ext != ".ogg" else _sine(16000, 8000, channels=2)
    path = tmp_path / f"clip{ext}"
    sf.write(path, a, 8000, subtype=subtype)
    calls = []
    read = sf.read
    monkeypatch.setattr(sf, "read", lambda *args, **kw: calls.append(kw) or read(*args, **kw))
    sig = load_audio(str(path), start=0.25, duration=0.5)
    assert calls and calls[0]["start"] == 2000 and calls[0]["frames"] == 4000  # not the whole file
    assert sig.samples.shape == (4000, 2) and sig.start == 0.25 and sig.duration == 0.5
    if ext == ".ogg":
        assert snr(sig.samples, a[2000:6000]) > 15
    else:
        assert np.abs(sig.samples - a[2000:6000]).max() < 1e-6
    meta = sig.metadata()
    assert meta["start"] == 0.25 and meta["duration"] == 0.5 and meta["shape"] == [4000, 2]
    tail = load_audio(str(path), start=1.5)  # to the end
    assert tail.length == 4000 and tail.start == 1.5
    assert load_audio("sample:chord", start=1.0, duration=0.5).length == 11025


def test_load_part_past_the_end_is_clipped_with_a_warning(tmp_path):
    sf.write(tmp_path / "clip.wav", _ramp(), 8000, subtype="FLOAT")
    with pytest.warns(UserWarning, match="before the 5 s asked for"):
        sig = load_audio(str(tmp_path / "clip.wav"), start=0.5, duration=5)
    assert sig.length == 12000 and np.abs(sig.samples - _ramp()[4000:]).max() < 1e-6


@pytest.mark.parametrize("args,message", [
    (["--start", "2"], "start 2 s is past the end of .*, which is 2.000 s long"),
    (["--start", "1e6"], "start 1e\\+06 s is past the end of"),
    (["--start", "-1"], "start of .* must be a finite number of seconds, 0 or more; got -1"),
    (["--start", "nan"], "start of .* must be a finite number of seconds, 0 or more; got nan"),
    (["--duration", "0"], "duration of .* must be a finite positive number of seconds; got 0"),
    (["--duration", "-2"], "duration of .* must be a finite positive number of seconds; got -2"),
    (["--duration", "inf"], "duration of .* must be a finite positive number of seconds; got inf"),
    (["--start", "1.9999", "--duration", "1"], "holds 1 sample"),
    (["--start", "1.9999"], "holds 1 sample"),
])
def test_cli_part_bad_inputs(tmp_path, capsys, args, message):
    import re

    sf.write(tmp_path / "clip.wav", _ramp(), 8000, subtype="FLOAT")  # 2 s
    out = tmp_path / "run"
    assert main(["fit", "audio", str(tmp_path / "clip.wav"), "--out", str(out), *args, "--steps", "2",
                 "--no-progress", "--compile", "off", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("inrkit: error:") and re.search(message, err) and "Traceback" not in err
    assert err.count("\n") == 1 and not out.exists()


def test_cli_part_fit_and_render(tmp_path, capsys):
    src = tmp_path / "tone.wav"
    sf.write(src, _sine(8000, 8000), 8000, subtype="FLOAT")  # 1 s
    out = tmp_path / "run"
    with pytest.warns(UserWarning, match="before the 5 s asked for"):
        assert main(["fit", "audio", str(src), "--out", str(out), "--start", "0.75", "--duration", "5",
                     "--steps", "5", "--no-progress", "--compile", "off", "--device", "cpu"]) == 0
    assert "0.25 s from 0.75 s at 8000 Hz" in capsys.readouterr().out
    sig = json.loads((out / "field.json").read_text())["signal"]
    assert sig["start"] == 0.75 and sig["duration"] == 0.25 and sig["shape"] == [2000, 1]
    rec, rate = sf.read(out / "reconstruction.wav", always_2d=True)
    assert rec.shape == (2000, 1) and rate == 8000
    # A lower rate: filtered, the same 0.25 s; image options warn that they do nothing for sound.
    with pytest.warns(UserWarning, match="--size and --scale ignored for audio"):
        assert main(["render", str(out), "--rate", "3000", "--scale", "2", "--size", "64x64"]) == 0
    assert "750 samples at 3000 Hz, 0.25 s, from 0.75 s of" in capsys.readouterr().out
    down, r2 = sf.read(out / "render_3000hz.wav", always_2d=True)
    assert r2 == 3000 and down.shape == (750, 1)
    with pytest.warns(UserWarning, match="--scale ignored for audio"):
        assert main(["render", str(out), "--scale", "0.5"]) == 0
    capsys.readouterr()
    assert main(["info", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["signal"]["start"] == 0.75


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg"])
def test_save_audio_writes_each_suffix_it_lists(tmp_path, suffix):
    from inrkit.signals.audio import WRITABLE, save_audio

    assert suffix in WRITABLE
    t = np.arange(4000) / 8000
    save_audio(tmp_path / f"a{suffix}", 0.5 * np.sin(2 * np.pi * 440 * t), 8000)
    assert sf.info(str(tmp_path / f"a{suffix}")).samplerate == 8000
    with pytest.raises(InrkitError, match="expected a .wav, .flac or .ogg"):
        save_audio(tmp_path / "a.mp3", t, 8000)
