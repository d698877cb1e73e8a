"""Neural tangent kernels of fields, and what they predict about training.

The empirical NTK of a field ``f(x; θ)`` is ``K(x1, x2) = ∇θ f(x1) · ∇θ f(x2)``.
For a wide network trained by gradient descent on ``L = ½ Σ (f(X) − y)²`` with
learning rate ``η``, the outputs evolve (to first order in the parameters) as
``f_t(X) = y + exp(−η K t) (f_0(X) − y)``, and anywhere else as
``f_t(x) = f_0(x) + K(x, X) K⁻¹ (I − exp(−η K t)) (y − f_0(X))``
(Jacot et al. 2018; Lee et al. 2019). The eigenvalues of ``K`` set how fast
each eigenfunction is learned, which is the Fourier-features paper's argument
(Tancik et al. 2020, Sec. 3-4): a Fourier feature mapping makes the kernel
stationary, ``k(v1, v2) = Σ_j a_j² cos(2π b_j · (v1 − v2))``, and its
frequencies ``b_j`` choose the bandwidth that the network can learn.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.func import functional_call, jacrev, vmap

__all__ = ["empirical_ntk", "fourier_kernel", "ntk_predict", "spectrum", "train_gd"]


def _jacobian(model: nn.Module, params: dict, x: torch.Tensor, output: int) -> dict:
    """Per-point gradients of output ``output``: ``{name: (N, *param.shape)}``."""

    def f(p, xi):
        return functional_call(model, p, (xi[None],))[0, output]

    return vmap(jacrev(f), in_dims=(None, 0))(params, x)


def empirical_ntk(
    model: nn.Module,
    x1: torch.Tensor,
    x2: torch.Tensor | None = None,
    output: int = 0,
    chunk_size: int = 256,
) -> torch.Tensor:
    """``K: (N1, N2)`` with ``K[i, j] = ∇θ f(x1_i) · ∇θ f(x2_j)`` for output channel ``output``.

    ``x1: (N1, in_dim)``, ``x2: (N2, in_dim)`` (default ``x1``). Gradients are
    taken for the trainable parameters. Memory: the Jacobian of ``x2`` plus one
    chunk of ``x1``'s, ``(N2 + chunk_size) x n_params`` floats.
    """
    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    same = x2 is None
    x2 = x1 if same else x2
    j2 = _jacobian(model, params, x2, output)
    j2 = torch.cat([j.reshape(x2.shape[0], -1) for j in j2.values()], dim=1)  # (N2, P)
    rows = []
    for start in range(0, x1.shape[0], chunk_size):
        if same and chunk_size >= x1.shape[0]:
            j1 = j2
        else:
            jc = _jacobian(model, params, x1[start : start + chunk_size], output)
            j1 = torch.cat([j.reshape(j.shape[0], -1) for j in jc.values()], dim=1)  # (chunk, P)
        rows.append(j1 @ j2.T)  # (chunk, N2)
    k = torch.cat(rows)
    return (k + k.T) / 2 if same else k


def fourier_kernel(v1: torch.Tensor, v2: torch.Tensor, b: torch.Tensor, a: torch.Tensor | None = None) -> torch.Tensor:
    """Closed-form kernel of ``γ(v) = [a cos(2π B v), a sin(2π B v)]``: ``(N1, N2)``.

    ``k(v1, v2) = γ(v1) · γ(v2) = Σ_j a_j² cos(2π b_j · (v1 − v2))``; ``v1: (N1, d)``,
    ``v2: (N2, d)``, ``b: (m, d)``, ``a: (m,)`` (default ones). inrkit's Fourier
    encodings use ``v = (x + 1) / 2``.
    """
    a2 = torch.ones(b.shape[0], dtype=b.dtype) if a is None else a.square()
    diff = v1[:, None, :] - v2[None, :, :]  # (N1, N2, d)
    return (a2 * torch.cos(2 * math.pi * diff @ b.T)).sum(-1)


def spectrum(k: torch.Tensor) -> torch.Tensor:
    """Eigenvalues of a symmetric kernel matrix, largest first."""
    return torch.linalg.eigvalsh(k.double()).flip(0).to(k.dtype)


def ntk_predict(
    k_train: torch.Tensor,
    k_test_train: torch.Tensor,
    y_train: torch.Tensor,
    f0_train: torch.Tensor | None = None,
    f0_test: torch.Tensor | None = None,
    lr: float | None = None,
    steps: int | None = None,
) -> torch.Tensor:
    """Kernel-regression prediction of a network trained by gradient descent on ``½ Σ (f − y)²``.

    ``k_train: (N, N)``, ``k_test_train: (M, N)``, ``y_train: (N,)``; ``f0_*`` the
    network's outputs at initialisation (default zero). With ``lr`` and ``steps``
    the prediction after that many steps, otherwise the converged one. ``(M,)``.
    """
    dtype = k_train.dtype
    k, kx, y = k_train.double(), k_test_train.double(), y_train.double()
    f0 = torch.zeros_like(y) if f0_train is None else f0_train.double()
    g0 = torch.zeros(kx.shape[0], dtype=torch.float64) if f0_test is None else f0_test.double()
    evals, evecs = torch.linalg.eigh(k)
    keep = evals > evals.max() * 1e-12  # pseudo-inverse on the kernel's numerical range
    evals, evecs = evals[keep], evecs[:, keep]
    residual = evecs.T @ (y - f0)  # (r,)
    if lr is not None and steps is not None:
        gain = -torch.expm1(-lr * evals * steps)  # 1 - exp(-η λ t), per eigenvalue
    else:
        gain = torch.ones_like(evals)
    return (g0 + kx @ evecs @ (gain / evals * residual)).to(dtype)


def train_gd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, lr: float, steps: int) -> nn.Module:
    """Plain full-batch gradient descent on ``½ Σ (f(x)[:, 0] − y)²``, the dynamics ``ntk_predict`` models."""
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        loss = 0.5 * (model(x)[:, 0] - y).square().sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def _field_1d(kind: str, sigma: float, width: int, seed: int) -> nn.Module:
    from .encodings import GaussianFourierConfig, IdentityConfig
    from .fields import FieldConfig
    from .networks import MLPConfig

    torch.manual_seed(seed)
    enc = GaussianFourierConfig(m=256, sigma=sigma, seed=seed) if kind == "gaussian" else IdentityConfig()
    return FieldConfig(enc, MLPConfig(width=width, depth=3)).build(1, 1)


def paper_figures(out, n_train: int = 64, width: int = 256, seed: int = 0, log=print) -> dict:
    """The Fourier-features paper's argument on a 1D signal, as figures and numbers in ``out``.

    A random band-limited 1D signal is sampled at ``2 n_train`` points; the
    fields see every second one. For no mapping and Gaussian features of several
    σ, the empirical NTK of a 3-layer ReLU network gives the converged kernel
    regression; its PSNR on the training and held-out points shows underfitting
    (no mapping, σ too small) and overfitting (σ too large). Writes
    ``ntk_regression.png``, ``ntk_spectra.png``, ``ntk_kernels.png``,
    ``ntk_2d.png`` and ``ntk.json``.
    """
    import json

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .encodings import FFNPositional, GaussianFourier
    from .io import output_folder

    out = output_folder(out)
    g = torch.Generator().manual_seed(seed)
    n = 2 * n_train
    x_all = ((torch.arange(n) + 0.5) / n * 2 - 1)[:, None]  # (n, 1) sample centres in [-1, 1]
    # Band-limited signal: random phases and 1/f amplitudes up to the Nyquist of the full sampling.
    freqs = torch.arange(1, n // 4 + 1, dtype=torch.float32)
    amps = torch.randn(len(freqs), generator=g) / freqs
    phases = torch.rand(len(freqs), generator=g) * 2 * math.pi
    y_all = (amps * torch.sin(math.pi * freqs * x_all + phases)).sum(-1)  # (n,)
    y_all = (y_all - y_all.min()) / (y_all.max() - y_all.min())
    x_tr, y_tr, x_te, y_te = x_all[::2], y_all[::2], x_all[1::2], y_all[1::2]
    dense = torch.linspace(-1, 1, 512)[:, None]

    def psnr(a, b):
        return float(10 * torch.log10(1 / (a - b).square().mean().clamp_min(1e-10)))  # 100 dB: exact

    settings = [("no mapping", "identity", 0.0)] + [(f"Gaussian σ={s:g}", "gaussian", s) for s in (1, 4, 16, 64, 256)]
    results, curves, spectra = {}, {}, {}
    for label, kind, sigma in settings:
        f = _field_1d(kind, sigma, width, seed)
        k = empirical_ntk(f, x_tr)
        with torch.no_grad():
            f0_tr, f0_te, f0_d = f(x_tr)[:, 0], f(x_te)[:, 0], f(dense)[:, 0]
        pred_te = ntk_predict(k, empirical_ntk(f, x_te, x_tr), y_tr, f0_tr, f0_te)
        pred_tr = ntk_predict(k, k, y_tr, f0_tr, f0_tr)
        curves[label] = ntk_predict(k, empirical_ntk(f, dense, x_tr), y_tr, f0_tr, f0_d)
        spectra[label] = spectrum(k)
        results[label] = {"sigma": sigma, "train_psnr": psnr(pred_tr, y_tr), "test_psnr": psnr(pred_te, y_te)}
        log(f"{label:18s} train {results[label]['train_psnr']:6.2f} dB, held-out {results[label]['test_psnr']:6.2f} dB")

    fig, axes = plt.subplots(2, 3, figsize=(13, 6), sharex=True, sharey=True)
    for ax, (label, curve) in zip(axes.flat, curves.items()):
        ax.plot(x_all[:, 0], y_all, color="0.6", lw=1, label="signal")
        ax.plot(x_tr[:, 0], y_tr, "k.", ms=3, label="training points")
        ax.plot(dense[:, 0], curve, lw=1.2, label="NTK prediction")
        r = results[label]
        ax.set_title(f"{label}: held-out {r['test_psnr']:.1f} dB")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Kernel regression with the NTK of a 3-layer ReLU network (converged)")
    fig.tight_layout()
    fig.savefig(out / "ntk_regression.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, ev in spectra.items():
        ax.semilogy((ev / ev[0]).clamp_min(1e-12), label=label)
    ax.set_xlabel("eigenvalue index")
    ax.set_ylabel("eigenvalue / largest")
    ax.set_title("NTK spectra: no mapping decays fastest")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "ntk_spectra.png", dpi=110)
    plt.close(fig)

    # Stationary Fourier-feature kernels: bandwidth set by σ.
    fig, ax = plt.subplots(figsize=(6, 4))
    v = torch.linspace(-0.5, 0.5, 401)[:, None]
    for sigma in (1, 4, 16, 64):
        b = GaussianFourier(1, 256, sigma, seed).B
        kv = fourier_kernel(v, torch.zeros(1, 1), b)[:, 0]
        ax.plot(v[:, 0], kv / kv.max(), label=f"σ={sigma}")
    ax.set_xlabel("v1 − v2")
    ax.set_title("Gaussian Fourier-feature kernel k(v1 − v2)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "ntk_kernels.png", dpi=110)
    plt.close(fig)

    # 2D: positional encoding's kernel is axis-aligned, the Gaussian one isotropic.
    s = torch.linspace(-0.25, 0.25, 121)
    grid = torch.stack(torch.meshgrid(s, s, indexing="xy"), -1).reshape(-1, 2)  # (121², 2)
    kernels = {
        "positional (scale 6)": FFNPositional(2, 256, 6.0).B,
        "Gaussian (σ=10)": GaussianFourier(2, 256, 10.0, seed).B,
    }
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, (label, b) in zip(axes, kernels.items()):
        kv = fourier_kernel(grid, torch.zeros(1, 2), b)[:, 0].reshape(121, 121)
        ax.imshow(kv / kv.max(), extent=(-0.25, 0.25, -0.25, 0.25), cmap="magma")
        ax.set_title(label)
    fig.suptitle("2D kernels k(v, 0)")
    fig.tight_layout()
    fig.savefig(out / "ntk_2d.png", dpi=110)
    plt.close(fig)

    (out / "ntk.json").write_text(json.dumps(results, indent=1) + "\n")
    return results
