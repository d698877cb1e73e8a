"""Poisson signal: derivative observations, the forward model, alignment of the unobservable part, fits, CLI."""
import json

import numpy as np
import pytest
import torch

import inrkit
from inrkit import InrkitError
from inrkit.cli import main
from inrkit.grids import grid_coordinates
from inrkit.signals.poisson import PoissonSignal, align, image_derivatives, load_poisson, unobservable_part


def _on_grid(fn, h, w):
    xy = grid_coordinates((h, w)).double().numpy()  # (H, W, 2)
    return fn(xy[..., 0], xy[..., 1])


def test_gradient_observations_in_coordinate_units():
    # I = 0.3 x - 0.2 y + 0.5: the Sobel gradient is exact for it away from the reflected border.
    img = _on_grid(lambda x, y: 0.3 * x - 0.2 * y + 0.5, 16, 20)
    g = image_derivatives(img, "gradient")
    assert g.shape == (16, 20, 2)
    assert np.allclose(g[1:-1, 1:-1, 0], 0.3, atol=1e-5) and np.allclose(g[1:-1, 1:-1, 1], -0.2, atol=1e-5)


def test_laplacian_observations_in_coordinate_units():
    # I = x² + 2 y²: Laplacian 6; the 5-point stencil is exact for quadratics.
    img = _on_grid(lambda x, y: x**2 + 2 * y**2, 12, 16)
    lap = image_derivatives(img, "laplacian")
    assert lap.shape == (12, 16, 1)
    assert np.allclose(lap[1:-1, 1:-1, 0], 6.0, atol=1e-3)


@pytest.mark.parametrize("mode", ["gradient", "laplacian"])
def test_forward_model_is_the_derivative_of_the_field(mode):
    # A field that is exactly the image function: its autograd derivatives equal the observations inside.
    img = _on_grid(lambda x, y: 0.2 * x**2 + 0.1 * x * y - 0.15 * y**2 + 0.5, 16, 16).astype(np.float32)
    sig = PoissonSignal(img, mode)

    def field(x):  # (N, 2) -> (N, 1)
        return (0.2 * x[:, :1] ** 2 + 0.1 * x[:, :1] * x[:, 1:] - 0.15 * x[:, 1:] ** 2 + 0.5)

    loss = sig.loss(field, 0, 1 << 20, torch.Generator().manual_seed(0))
    inside = np.zeros((16, 16), bool)
    inside[1:-1, 1:-1] = True
    x = sig.coords.clone().requires_grad_(True)
    from inrkit import diffops

    d = diffops.gradient(field(x), x) if mode == "gradient" else diffops.laplacian(field(x), x)
    err = (d.detach() - sig.observed).reshape(16, 16, -1).square()
    assert err[inside].max() < 1e-6  # interior: closed form = observation
    assert float(loss.detach()) == pytest.approx(float(err.mean()), rel=1e-4)  # full-batch loss = the MSE of the derivative


def test_alignment_fixes_only_the_unobservable_part():
    rng = np.random.default_rng(0)
    img = rng.random((10, 12)).astype(np.float32)
    anchor = unobservable_part(img, "gradient")
    assert anchor == pytest.approx([img.mean()], rel=1e-6)
    assert np.allclose(align(img + 3.0, "gradient", anchor), img, atol=1e-5)  # a constant is removed
    affine = _on_grid(lambda x, y: 0.4 - 0.7 * x + 1.1 * y, 10, 12)
    anchor = unobservable_part(img, "laplacian")
    assert np.allclose(align(img + affine, "laplacian", anchor), img, atol=1e-5)  # an affine part is removed
    assert not np.allclose(align(img + affine, "gradient", unobservable_part(img, "gradient")), img, atol=1e-2)


@pytest.mark.parametrize("mode,threshold", [("gradient", 38.0), ("laplacian", 24.0)])
def test_fit_from_derivatives_reaches_threshold(tmp_path, fast, mode, threshold):
    # A smooth 20x20 image seen only through its derivatives; scored after fixing the unobservable part.
    img = _on_grid(lambda x, y: 0.5 + 0.25 * np.sin(3 * x) * np.cos(2 * y)
                   + 0.15 * np.exp(-8 * ((x - 0.3) ** 2 + (y + 0.2) ** 2)), 20, 20).astype(np.float32)
    sig = PoissonSignal(img, mode)
    cfg = inrkit.FieldConfig(inrkit.IdentityConfig(),
                             inrkit.SirenConfig(width=32, depth=2, first_omega=10.0, hidden_omega=30.0))
    field = inrkit.make_field(cfg, sig, seed=0)
    res = inrkit.fit(field, sig, fast(steps=60), inrkit.OptimConfig(lr=1e-3), out_dir=tmp_path)
    baseline = inrkit.psnr(np.full_like(img, img.mean()), img)  # the mean alone: 17.5 dB
    assert res.metrics["psnr"] > threshold and res.metrics["psnr"] > baseline + 6
    assert (tmp_path / "reconstruction.png").exists()


def test_cli_round_trip_laplacian(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["fit", "poisson", "sample:camera", "--from", "laplacian", "--size", "16x16", "--out", str(out),
                 "--steps", "10", "--no-progress", "--compile", "off", "--device", "cpu"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    field = inrkit.load(out)
    assert field.meta["signal"]["mode"] == "laplacian" and len(field.meta["signal"]["anchor"]) == 3
    # Rendering at the training size reproduces the scored reconstruction.
    assert main(["render", str(out), "--size", "16x16", "--out", str(tmp_path / "r.png")]) == 0
    import imageio.v3 as iio

    r = iio.imread(tmp_path / "r.png") / 255
    rec = iio.imread(out / "reconstruction.png") / 255
    assert np.abs(r - rec).max() <= 1 / 255 + 1e-9
    sig = load_poisson("sample:camera", "laplacian", (16, 16))
    assert inrkit.psnr(rec, sig.image) == pytest.approx(m["psnr"], abs=0.1)
    assert main(["render", str(out), "--scale", "2"]) == 0 and (out / "render_32x32.png").exists()


def test_bad_inputs(tmp_path, capsys):
    with pytest.raises(InrkitError, match="gradient or laplacian"):
        load_poisson("sample:camera", "curl", (16, 16))
    with pytest.raises(InrkitError, match="at least 3x3"):
        PoissonSignal(np.zeros((2, 5)), "gradient")
    assert main(["fit", "poisson", "sample:camera", "--from", "divergence", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("inrkit: error:") and "gradient or laplacian" in err and not (tmp_path / "r").exists()
    assert main(["fit", "poisson", str(tmp_path / "missing.png"), "--out", str(tmp_path / "r")]) == 2
