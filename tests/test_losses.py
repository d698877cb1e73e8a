"""inrkit.losses against hand-written formulas, and the signals that fit through them."""
from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
import torch

import inrkit.losses
from inrkit import losses


def test_examples_in_the_docstrings_run():
    result = doctest.testmod(inrkit.losses)
    assert result.failed == 0 and result.attempted >= 8


def test_mse_and_l1_are_means_over_every_element():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    d = (a - b).numpy().astype(np.float64)
    assert losses.mse(a, b).item() == pytest.approx((d**2).mean(), rel=1e-6)
    assert losses.l1(a, b).item() == pytest.approx(np.abs(d).mean(), rel=1e-6)


def test_complex_mse_is_the_mean_squared_magnitude():
    a = torch.tensor([1 + 2j, 3 - 1j], dtype=torch.complex64)
    b = torch.tensor([0j, 1 + 1j], dtype=torch.complex64)
    assert losses.mse(a, b).item() == pytest.approx((5 + 8) / 2)


def test_multiscale_mse_averages_the_scales():
    t = torch.zeros(4)
    assert losses.multiscale_mse([torch.ones(4), torch.full((4,), 3.0)], t).item() == pytest.approx(5.0)


def test_bce_logits_matches_the_formula():
    z, y = torch.tensor([-2.0, 0.5, 3.0]), torch.tensor([0.0, 1.0, 1.0])
    s = 1 / (1 + np.exp(-z.numpy().astype(np.float64)))
    ref = -(y.numpy() * np.log(s) + (1 - y.numpy()) * np.log(1 - s)).mean()
    assert losses.bce_logits(z, y).item() == pytest.approx(ref, rel=1e-6)


def test_siren_sdf_loss_term_by_term():
    f = torch.tensor([0.1, -0.2, 0.5, 0.05])
    g = torch.tensor([[0.0, 0, 2], [1, 0, 0], [0, 1, 0], [0.6, 0.8, 0]])
    n = torch.tensor([[0.0, 0, 1], [0, 1, 0], [0, 0, 0], [0, 0, 0]])
    on = torch.tensor([1.0, 1.0, 0.0, 0.0])
    w = dict(surface=3.0, normal=5.0, off_surface=7.0, eikonal_weight=11.0, alpha=2.0)
    surface = (0.1 + 0.2) / 4
    normal = ((1 - 1) + (1 - 0)) / 4  # cos(∇f, n) = 1, then 0
    off = (math.exp(-2 * 0.5) + math.exp(-2 * 0.05)) / 4
    eik = (1 + 0 + 0 + 0) / 4  # ‖∇f‖ = 2, 1, 1, 1
    ref = 3 * surface + 5 * normal + 7 * off + 11 * eik
    assert losses.siren_sdf_loss(f, g, n, on, **w).item() == pytest.approx(ref, rel=1e-6)


def test_total_variation_on_a_grid_by_loops():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(4, 5, 6, generator=g)
    a = x.numpy().astype(np.float64)
    ref = sum(np.abs(np.diff(a, axis=k)).mean() for k in range(3))
    assert losses.total_variation(x.diff(dim=k) for k in range(3)).item() == pytest.approx(ref, rel=1e-6)
    assert losses.total_variation([]) == 0


def _mlp(in_dim: int) -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(in_dim, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))


def test_ct_loss_is_the_scaled_sinogram_mse_plus_tv_by_forward_differences():
    from inrkit.signals.ct import CTSignal, project

    img = np.zeros((16, 16), np.float32)
    img[4:12, 5:10] = 1
    theta = np.linspace(0, 180, 6, endpoint=False)
    field = _mlp(2)
    plain, tv = CTSignal(img, theta=theta), CTSignal(img, theta=theta, tv_weight=0.5)
    gen = torch.Generator().manual_seed(3)
    idx = torch.arange(16 * 6)  # a batch of every ray: (bin, view) flat
    bins, view = idx // 6, idx % 6
    jitter = torch.rand(len(idx), 16, generator=gen) - 0.5  # (R, N), drawn as the loss draws it
    pred = project(field, 16, torch.from_numpy(theta).float()[view], bins, jitter)  # (R,) line integrals
    data = (((pred - torch.from_numpy(plain.sinogram)[bins, view]) / 16) ** 2).mean()
    assert plain.loss(field, 0, 16 * 16 * 6, torch.Generator().manual_seed(3)).item() == pytest.approx(data.item(),
                                                                                                       rel=1e-5)
    p = torch.rand(4096, 2, generator=gen) * 2 - 1  # the points the TV term draws next
    h = 2.0 / 16
    f0, fx, fy = (field(q)[:, 0] for q in (p, p + torch.tensor([h, 0.0]), p + torch.tensor([0.0, h])))
    ref = data + 0.5 * ((fx - f0).abs() + (fy - f0).abs()).mean()
    got = tv.loss(field, 0, 16 * 16 * 6, torch.Generator().manual_seed(3))
    assert got.item() == pytest.approx(ref.item(), rel=1e-5)


def test_mri_loss_is_the_kspace_residual_plus_tv_on_the_grid():
    from inrkit.grids import grid_coordinates
    from inrkit.signals.mri import MRISignal

    img = np.random.default_rng(0).random((8, 12)).astype(np.float32)
    sig = MRISignal(img, acceleration=2.0)
    sig.tv_weight = 0.25  # as the CLI sets it
    field = _mlp(2)
    got = sig.loss(field, 0, 8 * 12, torch.Generator().manual_seed(0))  # the batch covers every readout
    with torch.no_grad():
        x = field(grid_coordinates((8, 12)))[..., 0].double()  # (PE, RO)
    mask = torch.from_numpy(sig.mask)
    hybrid = torch.fft.ifft(torch.from_numpy(sig.kspace).to(torch.complex128), dim=-1, norm="ortho")
    resid = torch.fft.fft(x.to(torch.complex128), dim=0, norm="ortho")[mask] - hybrid[mask]  # (M, RO)
    data = (resid.abs() ** 2).mean()
    tv = (x[1:] - x[:-1]).abs().mean()  # along the phase-encoding axis only
    assert got.item() == pytest.approx((data + 0.25 * tv).item(), rel=1e-5)


def test_shape_losses_keep_each_weight_on_its_own_term():
    """The point-cloud SIREN loss, the mesh L1 and the occupancy BCE, recomputed from the same draws."""
    from inrkit.signals.shape import SdfLossWeights, ShapeSignal, load_shape

    class Net(torch.nn.Module):  # f(x) = 1.7 (|x| - 0.5) + 0.1 x: neither a distance nor zero on the surface
        def forward(self, x):
            return (1.7 * (x.norm(dim=-1) - 0.5) + 0.1 * x[..., 0])[..., None]

    class Radial(torch.nn.Module):  # a field: encoding, network, no output activation
        def __init__(self):
            super().__init__()
            self.encoding, self.network = torch.nn.Identity(), Net()

        def forward(self, x):
            return self.network(self.encoding(x))

    w = SdfLossWeights(surface=3.0, normal=5.0, off_surface=7.0, eikonal=11.0, alpha=13.0)
    small = dict(detail=16, mesh_resolution=16, n_train=400, n_eval=200)
    sig = ShapeSignal(load_shape("sample:sphere"), mode="pointcloud", weights=w, **small)
    field, half = Radial(), 32
    got = sig.loss(field, 0, 2 * half, torch.Generator().manual_seed(5))
    gen = torch.Generator().manual_seed(5)
    idx = torch.randint(sig.points.shape[0], (half,), generator=gen)
    off = torch.rand(half, 3, generator=gen) * 2 - 1
    x = torch.cat([sig.points[idx], off]).requires_grad_(True)
    f = field(x)[:, 0]
    (g,) = torch.autograd.grad(f.sum(), x)
    on = torch.cat([torch.ones(half), torch.zeros(half)])
    cos = torch.nn.functional.cosine_similarity(g, torch.cat([sig.normals[idx], torch.zeros_like(off)]), dim=-1)
    ref = (3.0 * (on * f.abs()).mean() + 5.0 * (on * (1 - cos)).mean()
           + 7.0 * ((1 - on) * torch.exp(-13.0 * f.abs())).mean() + 11.0 * (g.norm(dim=-1) - 1).abs().mean())
    assert got.item() == pytest.approx(ref.item(), rel=1e-5)

    for mode in ("mesh", "occupancy"):
        sig = ShapeSignal(load_shape("sample:sphere"), mode=mode, **small)
        got = sig.loss(field, 0, 64, torch.Generator().manual_seed(2))
        i = torch.randint(sig.pool.shape[0], (64,), generator=torch.Generator().manual_seed(2))
        v, t = field(sig.pool[i])[:, 0], sig.target[i]
        if mode == "mesh":
            ref = (v - t).abs().mean()
        else:  # the network's raw output is the occupancy logit
            p = torch.sigmoid(v)
            ref = -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).mean()
        assert got.item() == pytest.approx(ref.item(), rel=1e-5), mode
