"""CT: the ray-sampled projection against scikit-image's radon, a short fit beating FBP, checkpoints, bad input."""
import json

import numpy as np
import pytest
import torch

import inrkit
from inrkit.cli import main
from inrkit.signals.ct import CTSignal, load_ct, project, view_angles


pytestmark = pytest.mark.usefixtures("one_thread")  # small tensors: see conftest.one_thread


def _bilinear_field(image: np.ndarray):
    """The field that is the image's bilinear interpolation (pixel centres at the grid convention), zero outside."""
    t = torch.from_numpy(image)[None, None]  # (1, 1, N, N)

    def f(xy):  # (P, 2) -> (P, 1)
        g = xy.reshape(1, -1, 1, 2)
        return torch.nn.functional.grid_sample(t, g, mode="bilinear", padding_mode="zeros", align_corners=False).reshape(-1, 1)

    return f


@pytest.mark.parametrize("n", [64, 65])
def test_projection_matches_skimage_radon(n):
    from skimage.transform import radon

    sig = load_ct("sample:shepp-logan", views=7, size=n)
    theta = np.array([0.0, 13.0, 45.0, 90.0, 121.5, 170.0])
    expected = radon(sig.image.astype(np.float64), theta=theta, circle=True)  # (N, V)
    bins = torch.arange(n).repeat_interleave(len(theta))
    view = torch.arange(len(theta)).repeat(n)
    got = project(_bilinear_field(sig.image), n, torch.tensor(theta, dtype=torch.float32)[view], bins).reshape(n, -1)
    assert np.abs(got.numpy() - expected).max() < 1e-3 * expected.max()


def test_sinogram_and_fbp_of_the_phantom():
    from skimage.transform import iradon, radon

    sig = load_ct(views=12, size=64)
    assert sig.image.shape == (64, 64) and sig.image.max() <= 1 and sig.image.min() >= 0
    np.testing.assert_allclose(sig.theta, np.arange(12) * 15.0)
    np.testing.assert_allclose(sig.sinogram, radon(sig.image.astype(np.float64), theta=sig.theta), rtol=1e-5, atol=1e-4)
    fbp = np.clip(iradon(sig.sinogram.astype(np.float64), theta=sig.theta, circle=True), 0, 1)
    np.testing.assert_allclose(sig.fbp, fbp, atol=1e-5)
    m = sig.evaluate(sig.image)
    assert m["psnr"] == float("inf") and m["psnr_fbp"] < 30


def test_short_fit_beats_fbp(fast, tmp_path):
    sig = load_ct(views=10, size=64)
    preset = inrkit.get_preset("ct")
    field = inrkit.make_field(preset.field, sig)
    result = inrkit.fit(field, sig, fast(steps=300, batch_size=1 << 12, eval_every=100), preset.optim, out_dir=tmp_path)
    m = result.metrics
    assert m["psnr"] > m["psnr_fbp"] + 2, m
    assert m["projection_psnr"] > m["projection_psnr_fbp"]
    for name in ("reconstruction.png", "fbp.png", "comparison.png", "metrics.json", "field.json"):
        assert (tmp_path / name).exists()
    loaded = inrkit.load(tmp_path)
    assert loaded.meta["signal"]["kind"] == "ct" and loaded.meta["signal"]["views"] == 10
    np.testing.assert_allclose(sig.predict(loaded), result.prediction, atol=1e-6)


def test_cli_fit_render_and_sinogram_file(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["fit", "ct", "--views", "6", "--size", "32", "--steps", "5", "--no-progress", "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["views"] == 6 and "psnr_fbp" in m
    assert main(["render", str(out), "--size", "48x48"]) == 0
    import imageio.v3 as iio

    rendered = iio.imread(out / "render_48x48.png")
    assert rendered.shape == (48, 48) and rendered[0, 0] == 0 and rendered[-1, -1] == 0  # outside the circle
    # A measured sinogram with its angles, no reference image: scored on the projections.
    sig = load_ct(views=5, size=32)
    np.savez(tmp_path / "sino.npz", sinogram=sig.sinogram, theta=sig.theta)
    out2 = tmp_path / "run2"
    assert main(["fit", "ct", str(tmp_path / "sino.npz"), "--steps", "5", "--no-progress", "--out", str(out2)]) == 0
    m2 = json.loads((out2 / "metrics.json").read_text())
    assert "psnr" not in m2 and m2["views"] == 5 and np.isfinite(m2["projection_psnr"])


def test_bad_inputs(tmp_path, capsys):
    with pytest.raises(inrkit.InrkitError, match="views must be at least 1"):
        view_angles(0)
    assert main(["fit", "ct", "--views", "0", "--out", str(tmp_path / "a")]) == 2
    assert "views must be at least 1" in capsys.readouterr().err
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    assert main(["fit", "ct", str(bad), "--out", str(tmp_path / "b")]) == 2
    assert "could not read" in capsys.readouterr().err
    np.savez(tmp_path / "wrong.npz", sinogram=np.zeros((32, 4, 2)), theta=np.zeros(4))
    assert main(["fit", "ct", str(tmp_path / "wrong.npz"), "--out", str(tmp_path / "c")]) == 2
    assert "do not match" in capsys.readouterr().err
    assert main(["fit", "ct", str(tmp_path / "missing.png"), "--out", str(tmp_path / "d")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(inrkit.InrkitError, match="views must be at least 1"):
        CTSignal(image=np.zeros((16, 16), np.float32), theta=[])
