"""NTK: empirical kernels against closed forms, and kernel predictions against real training."""
import math

import pytest
import torch
from torch import nn

import inrkit
from inrkit.ntk import empirical_ntk, fourier_kernel, ntk_predict, spectrum, train_gd


def _mlp_field(kind="gaussian", sigma=4.0, width=64, depth=2, seed=0):
    torch.manual_seed(seed)
    enc = inrkit.GaussianFourierConfig(m=32, sigma=sigma, seed=seed) if kind == "gaussian" else inrkit.IdentityConfig()
    cfg = inrkit.FieldConfig(enc,
                             inrkit.MLPConfig(width=width, depth=depth))
    return cfg.build(1, 1)


def test_empirical_ntk_symmetric_psd():
    f = _mlp_field()
    x = torch.linspace(-1, 1, 40)[:, None]
    k = empirical_ntk(f, x, chunk_size=16)  # chunked on purpose
    assert k.shape == (40, 40)
    torch.testing.assert_close(k, k.T)
    ev = spectrum(k)
    assert ev[0] > 0 and ev[-1] > -1e-4 * ev[0]
    assert torch.all(ev[:-1] >= ev[1:])  # largest first


def test_cross_kernel_matches_blocks():
    f = _mlp_field()
    x1, x2 = torch.rand(7, 1) * 2 - 1, torch.rand(5, 1) * 2 - 1
    full = empirical_ntk(f, torch.cat([x1, x2]))
    torch.testing.assert_close(empirical_ntk(f, x1, x2, chunk_size=3), full[:7, 7:], rtol=1e-4, atol=1e-5)


def test_fourier_mapping_then_linear_equals_closed_form():
    # f(x) = w · γ(v) + c: ∇_w f = γ(v), ∇_c f = 1, so K = γ(v1)·γ(v2) + 1 exactly.
    enc = inrkit.GaussianFourier(2, m=48, sigma=3.0, seed=1)
    model = nn.Sequential(enc, nn.Linear(enc.out_dim, 1))
    x1, x2 = torch.rand(9, 2) * 2 - 1, torch.rand(6, 2) * 2 - 1
    k = empirical_ntk(model, x1, x2)
    closed = fourier_kernel((x1 + 1) / 2, (x2 + 1) / 2, enc.B) + 1
    torch.testing.assert_close(k, closed, rtol=1e-4, atol=1e-4)


def test_fourier_kernel_is_stationary():
    b = torch.randn(64, 2) * 5
    v1, v2, t = torch.rand(10, 2), torch.rand(8, 2), torch.rand(1, 2)
    torch.testing.assert_close(fourier_kernel(v1 + t, v2 + t, b), fourier_kernel(v1, v2, b), rtol=1e-4, atol=1e-4)
    # and equals a function of the difference alone: k(v, v) = Σ a² for every v
    a = torch.rand(64)
    diag = fourier_kernel(v1, v1, b, a).diagonal()
    torch.testing.assert_close(diag, torch.full((10,), float(a.square().sum())), rtol=1e-5, atol=1e-4)


def test_converged_prediction_interpolates_training_points():
    f = _mlp_field(width=128)
    x = torch.linspace(-1, 1, 20)[:, None]
    y = torch.sin(3 * x[:, 0])
    k = empirical_ntk(f, x)
    with torch.no_grad():
        f0 = f(x)[:, 0]
    pred = ntk_predict(k, k, y, f0, f0)
    torch.testing.assert_close(pred, y, rtol=1e-3, atol=1e-3)


def test_ntk_prediction_matches_real_training_of_a_wide_network():
    # Wide ReLU network on Gaussian Fourier features, plain gradient descent on ½Σ(f − y)².
    # In the wide limit training is linear in the parameters and follows the NTK
    # prediction exactly; at width 4096 the kernel moves by O(1/√width) (≈ 1.6%)
    # during training, so we ask for agreement within 10% of how far training moved
    # the outputs (measured ~2-4% here; a wrong prediction formula misses by 30-100%).
    torch.manual_seed(0)
    f = _mlp_field("gaussian", sigma=3.0, width=4096, depth=1, seed=0)
    x_tr = torch.linspace(-1, 1, 16)[:, None]
    x_te = torch.linspace(-0.97, 0.97, 37)[:, None]
    y = torch.sin(math.pi * x_tr[:, 0]) + 0.5 * torch.cos(3 * math.pi * x_tr[:, 0])
    k = empirical_ntk(f, x_tr)
    k_te = empirical_ntk(f, x_te, x_tr)
    with torch.no_grad():
        f0_tr, f0_te = f(x_tr)[:, 0], f(x_te)[:, 0]
    lr = 0.5 / float(spectrum(k)[0])
    steps = 300
    pred = ntk_predict(k, k_te, y, f0_tr, f0_te, lr=lr, steps=steps)
    train_gd(f, x_tr, y, lr, steps)
    with torch.no_grad():
        actual = f(x_te)[:, 0]
    moved = (actual - f0_te).norm()
    assert moved > 0.5  # training did something substantial
    assert (actual - pred).norm() / moved < 0.10


def test_no_mapping_learns_high_frequencies_slowest():
    # The paper's point in numbers: how much of a high-frequency target the converged
    # kernel regression recovers on held-out points, with and without a mapping.
    x_all = ((torch.arange(128) + 0.5) / 128 * 2 - 1)[:, None]
    y_all = torch.sin(12 * math.pi * x_all[:, 0])
    x_tr, y_tr, x_te, y_te = x_all[::2], y_all[::2], x_all[1::2], y_all[1::2]

    def held_out_error(kind, sigma):
        f = _mlp_field(kind, sigma=sigma, width=256, depth=2)
        k = empirical_ntk(f, x_tr)
        with torch.no_grad():
            f0_tr, f0_te = f(x_tr)[:, 0], f(x_te)[:, 0]
        pred = ntk_predict(k, empirical_ntk(f, x_te, x_tr), y_tr, f0_tr, f0_te)
        return float((pred - y_te).square().mean())

    none = held_out_error("identity", 0.0)
    good = held_out_error("gaussian", 8.0)
    assert good < 0.1 * none


def test_cli_ntk_writes_figures(tmp_path):
    pytest.importorskip("matplotlib")
    from inrkit.cli import main

    assert main(["ntk", "--out", str(tmp_path), "--points", "24", "--width", "64"]) == 0
    for name in ["ntk_regression.png", "ntk_spectra.png", "ntk_kernels.png", "ntk_2d.png", "ntk.json"]:
        assert (tmp_path / name).stat().st_size > 0
    import json

    r = json.loads((tmp_path / "ntk.json").read_text())
    assert r["no mapping"]["test_psnr"] < max(v["test_psnr"] for v in r.values())


def test_cli_ntk_bad_options_are_one_sentence(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from inrkit.cli import main

    assert main(["ntk", "--out", str(tmp_path), "--points", "2"]) == 2
    assert "points must be at least 4" in capsys.readouterr().err and not any(tmp_path.iterdir())
