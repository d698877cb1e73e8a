"""Video signal: loading (GIF, folders of frames, MP4), the memory guard, fitting, rendering, bad inputs."""
import json

import imageio.v3 as iio
import numpy as np
import pytest
import torch

import inrkit
from inrkit import InrkitError
from inrkit.cli import main
from inrkit.encodings import HashGridConfig
from inrkit.fields import FieldConfig
from inrkit.networks import MLPConfig
from inrkit.signals.video import VideoSignal, has_codec, load_video, render_video, save_video

needs_codec = pytest.mark.skipif(not has_codec(), reason="PyAV (the video extra) is not installed")


def _clip(t=6, h=12, w=16):
    """A smooth moving colour ramp: (T, H, W, 3) uint8."""
    k, i, j = np.meshgrid(np.arange(t), np.arange(h), np.arange(w), indexing="ij")
    r = 0.5 + 0.4 * np.sin(2 * np.pi * (j / w + k / t))
    g = 0.5 + 0.4 * np.cos(2 * np.pi * (i / h))
    b = 0.3 + 0.3 * (k / t)
    return (np.stack([r, g, b], -1) * 255 + 0.5).astype(np.uint8)


def test_coordinates_are_x_y_t_at_centres():
    sig = VideoSignal(np.zeros((2, 3, 4, 3), np.uint8), fps=10)
    coords, values = sig.train_data()
    assert coords.shape == (24, 3) and values.shape == (24, 3)
    # Frame-major, then rows, then columns; (x, y, t) = ((j+.5)/W, (i+.5)/H, (k+.5)/T) * 2 - 1.
    k, i, j = 1, 2, 3
    assert torch.allclose(coords[k * 12 + i * 4 + j], torch.tensor([(j + 0.5) / 4 * 2 - 1, (i + 0.5) / 3 * 2 - 1, 0.5]))


def test_gif_and_frame_folder(tmp_path):
    clip = _clip()
    iio.imwrite(tmp_path / "clip.gif", clip, duration=100, loop=0)
    sig = load_video(str(tmp_path / "clip.gif"))
    assert sig.frames.shape == clip.shape and sig.fps == pytest.approx(10)
    assert np.abs(sig.frames.astype(int) - clip).mean() < 12  # GIF palettes quantise colours
    folder = tmp_path / "frames"
    folder.mkdir()
    for k, f in enumerate(clip):
        iio.imwrite(folder / f"f{k:03d}.png", f)
    sig = load_video(str(folder), frame_step=2, max_frames=2)
    assert np.array_equal(sig.frames, clip[::2][:2])
    sig = load_video(str(folder), size=(8, 6))
    assert sig.frames.shape == (6, 6, 8, 3)


@needs_codec
def test_mp4_round_trip(tmp_path):
    clip = _clip(8, 32, 32)
    written = save_video(tmp_path / "clip.mp4", clip, fps=12)
    assert written.suffix == ".mp4"
    sig = load_video(str(written))
    assert sig.frames.shape == clip.shape and sig.fps == pytest.approx(12)
    assert inrkit.psnr(sig.frames / 255, clip / 255) > 30  # H.264 is lossy


def test_memory_guard_refuses_before_decoding(tmp_path, monkeypatch):
    clip = _clip()
    for k, f in enumerate(clip):
        iio.imwrite(tmp_path / f"f{k}.png", f)
    import inrkit.signals.video as video

    decoded = []
    monkeypatch.setattr(video, "_frames", lambda path: decoded.append(path) or iter(()))
    with pytest.raises(InrkitError, match=r"needs about .* MiB but .* MiB is available; use --size"):
        load_video(str(tmp_path), memory_limit=1000)
    assert not decoded  # refused from the header alone
    # The estimate covers what the fit holds: per pixel the uint8 clip (3), float (x, y, t) twice (24),
    # float values, prediction and target (3 x 12).
    assert video.fit_memory(6, 12, 16, 3) == 6 * 12 * 16 * (3 + 24 + 36)
    # --size shrinks what is held, so the same clip passes once resized to fit.
    monkeypatch.undo()
    assert load_video(str(tmp_path), size=(4, 3), memory_limit=6 * 3 * 4 * 63).frames.shape == (6, 3, 4, 3)
    with pytest.raises(InrkitError, match="needs about"):
        load_video(str(tmp_path), size=(4, 3), memory_limit=6 * 3 * 4 * 63 - 1)


def test_fit_reaches_threshold_and_renders_other_rates(tmp_path, fast):
    sig = VideoSignal(_clip(), fps=8, name="ramp")
    cfg = FieldConfig(HashGridConfig(n_levels=6, n_features=2, log2_hashmap_size=12, base_resolution=4,
                                     finest_resolution=0), MLPConfig(width=32, depth=2), output="sigmoid")
    field = inrkit.make_field(cfg, sig, seed=0)
    res = inrkit.fit(field, sig, fast(steps=100, batch_size=512), inrkit.OptimConfig(lr=1e-2), out_dir=tmp_path)
    m = res.metrics
    assert m["psnr"] > 28 and len(m["psnr_per_frame"]) == 6 and m["psnr_min_frame"] > 24
    assert (tmp_path / sig.output_name).exists() and (tmp_path / "comparison.png").exists()
    # Temporal super-resolution: 3x the frames over the same duration, at twice the size; the middle
    # rendered frame of every triple sits at an original frame's time and must match it.
    out = render_video(field, tmp_path / "up.mp4", (32, 24), 18, 24.0, 3)
    frames = iio.imread(out) if out.suffix == ".gif" else iio.imread(out, plugin="pyav")
    assert frames.shape[0] == 18 and frames.shape[1:3] == (24, 32)
    from skimage.transform import resize

    mids = np.stack([resize(frames[3 * k + 1] / 255, (12, 16), anti_aliasing=True) for k in range(6)])
    assert inrkit.psnr(mids, sig.target()) > 22


def test_cli_round_trip(tmp_path):
    src = tmp_path / "clip.gif"
    iio.imwrite(src, _clip(4, 8, 8), duration=100, loop=0)
    out = tmp_path / "run"
    assert main(["fit", "video", str(src), "--out", str(out), "--steps", "20", "--batch-size", "256",
                 "--no-progress", "--compile", "off", "--device", "cpu"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert len(m["psnr_per_frame"]) == 4
    field = inrkit.load(out)
    assert field.meta["signal"]["fps"] == pytest.approx(10)
    assert main(["render", str(out), "--fps", "20", "--size", "12x10"]) == 0
    written = list(out.glob("render_12x10_20fps.*"))
    assert len(written) == 1
    frames = iio.imread(written[0]) if written[0].suffix == ".gif" else iio.imread(written[0], plugin="pyav")
    assert frames.shape[:3] == (8, 10, 12)
    assert main(["info", str(out)]) == 0
    assert main(["render", str(out), "--out", str(tmp_path / "v.png")]) == 2  # a video is not an image
    assert not (tmp_path / "v.png").exists()


def test_bad_inputs(tmp_path, capsys):
    with pytest.raises(InrkitError, match="does not exist"):
        load_video(str(tmp_path / "missing.mp4"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InrkitError, match="holds no frames"):
        load_video(str(tmp_path / "empty"))
    (tmp_path / "junk.gif").write_bytes(b"GIF89a but not really")
    with pytest.raises(InrkitError, match="could not"):
        load_video(str(tmp_path / "junk.gif"))
    if has_codec():
        (tmp_path / "junk.mp4").write_bytes(b"\x00" * 100)
        with pytest.raises(InrkitError, match="could not"):
            load_video(str(tmp_path / "junk.mp4"))
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    iio.imwrite(mixed / "a.png", np.zeros((8, 8, 3), np.uint8))
    iio.imwrite(mixed / "b.png", np.zeros((8, 9, 3), np.uint8))
    with pytest.raises(InrkitError, match="unlike frame 0"):
        load_video(str(mixed))
    with pytest.raises(InrkitError, match="unknown video sample"):
        load_video("sample:nope")
    with pytest.raises(InrkitError, match="frame step"):
        load_video("sample:disks", frame_step=0)
    with pytest.raises(InrkitError, match="shape"):
        VideoSignal(np.zeros((4, 4), np.uint8), fps=10)
    assert main(["fit", "video", str(tmp_path / "empty"), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("inrkit: error:") and "Traceback" not in err and not (tmp_path / "r").exists()
