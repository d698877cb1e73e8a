"""Poisson reconstruction: fit an image from its gradient field alone, or its Laplacian alone.

The SIREN paper's experiment (Sitzmann et al. 2020, Sec. 4.1): the image itself is
never shown to the field. Its derivatives are computed once, on the pixel grid,
with a Sobel filter (gradient) or the 5-point stencil (Laplacian,
``scipy.ndimage.laplace``'s), converted to the field's ``[-1, 1]`` coordinate
units (a pixel is ``2 / W`` wide). Training draws pixel centres, differentiates
the field there by autograd (:mod:`inrkit.diffops`) and fits the derivatives
with MSE: the forward model is the derivative operator.

What the observations cannot give, and how it is fixed:

- gradient: the constant. Fixed by the image's mean, one number kept in the
  checkpoint: the reconstruction is ``f - mean(f) + mean(image)``.
- Laplacian: the affine part ``a + b x + c y`` (strictly, any harmonic
  function; the field's smoothness prior has to choose the rest, and whatever
  it gets wrong counts as error). Fixed by the image's least-squares affine fit,
  three numbers kept in the checkpoint: the reconstruction is
  ``f - A(f) + A(image)``, ``A`` the least-squares projection onto
  ``{1, x, y}``.

For the gradient case this equals scoring after the best constant offset, for
the Laplacian after the best affine correction; PSNR is on ``[0, 1]`` grey
values.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Annotated, Callable

import numpy as np
import torch
from tyro.conf import Positional, arg

from .. import losses, metrics
from ..diffops import gradient, laplacian
from ..errors import InrkitError
from ..grids import evaluate_grid, grid_coordinates
from .image import KIND as IMAGE_KIND
from .image import describe_image, load_image, save_image, write_field
from .base import Kind, Signal

__all__ = ["PoissonSignal", "PoissonOptions", "KIND", "load_poisson", "render_field", "image_derivatives", "align", "MODES"]

MODES = ("gradient", "laplacian")


def image_derivatives(image: np.ndarray, mode: str) -> np.ndarray:
    """Derivatives of a grey ``image: (H, W)`` in ``[-1, 1]`` coordinate units.

    ``gradient``: ``(H, W, 2)`` = ``(∂/∂x, ∂/∂y)`` by Sobel filters (x along columns, y down the rows);
    ``laplacian``: ``(H, W, 1)`` = ``∂²/∂x² + ∂²/∂y²`` by the 5-point stencil. Edges are reflected.
    """
    from scipy import ndimage

    img = np.asarray(image, np.float64)
    h, w = img.shape
    if mode == "gradient":
        # Sobel is 8 x the central difference per pixel; one pixel is 2/W (2/H) coordinate units.
        gx = ndimage.sobel(img, axis=1, mode="reflect") / 8 * (w / 2)
        gy = ndimage.sobel(img, axis=0, mode="reflect") / 8 * (h / 2)
        return np.stack([gx, gy], axis=-1).astype(np.float32)
    if mode == "laplacian":
        stencil = np.array([1.0, -2.0, 1.0])
        dxx = ndimage.correlate1d(img, stencil, axis=1, mode="reflect") * (w / 2) ** 2
        dyy = ndimage.correlate1d(img, stencil, axis=0, mode="reflect") * (h / 2) ** 2
        return (dxx + dyy)[..., None].astype(np.float32)
    raise InrkitError(f"unknown derivative {mode!r}; expected gradient or laplacian")


def _basis(shape: tuple[int, int], mode: str) -> np.ndarray:
    """Unobservable part's basis on a pixel grid: ``(H*W, 1)`` (constant) or ``(H*W, 3)`` (1, x, y)."""
    if mode == "gradient":
        return np.ones((shape[0] * shape[1], 1))
    xy = grid_coordinates(shape).reshape(-1, 2).double().numpy()  # (H*W, 2)
    return np.concatenate([np.ones((len(xy), 1)), xy], axis=1)


def unobservable_part(values: np.ndarray, mode: str) -> list[float]:
    """Least-squares coefficients of ``values: (H, W)`` on the unobservable basis: ``[mean]`` or ``[a, b, c]``."""
    basis = _basis(values.shape, mode)
    coef, *_ = np.linalg.lstsq(basis, np.asarray(values, np.float64).reshape(-1), rcond=None)
    return [float(c) for c in coef]


def align(values: np.ndarray, mode: str, anchor: list[float]) -> np.ndarray:
    """Replace the unobservable part of a field's ``values: (H, W)`` with ``anchor`` (the image's): ``(H, W)``."""
    basis = _basis(values.shape, mode)
    own = np.asarray(unobservable_part(values, mode))
    return (values.reshape(-1) + basis @ (np.asarray(anchor) - own)).reshape(values.shape).astype(np.float32)


def load_poisson(source: str, mode: str = "gradient", size: tuple[int, int] | None = (256, 256)) -> "PoissonSignal":
    """An image file or ``sample:NAME`` as grey values in [0, 1], resized to ``size = (W, H)``, observed by ``mode``."""
    if mode not in MODES:
        raise InrkitError(f"unknown derivative {mode!r}; expected gradient or laplacian")
    sig = load_image(source, size=size)
    img = sig.image
    if img.shape[-1] >= 3:
        from skimage.color import rgb2gray

        img = rgb2gray(img[..., :3])[..., None]
    else:
        img = img[..., :1]  # grey (drop alpha)
    return PoissonSignal(img[..., 0], mode, name=source)


class PoissonSignal(Signal):
    """A grey ``image: (H, W)`` in [0, 1] seen only through its gradient or Laplacian (``mode``)."""

    kind = "poisson"
    in_dim = 2
    out_dim = 1
    output_name = "reconstruction.png"

    def __init__(self, image: np.ndarray, mode: str = "gradient", name: str = ""):
        if mode not in MODES:
            raise InrkitError(f"unknown derivative {mode!r}; expected gradient or laplacian")
        img = np.asarray(image, np.float32)
        if img.ndim != 2 or min(img.shape) < 3:
            raise InrkitError(f"image {name!r} has shape {img.shape}; expected a grey image of at least 3x3")
        self.image, self.mode, self.name = img, mode, name
        self.height, self.width = img.shape
        self.observed = torch.from_numpy(image_derivatives(img, mode)).reshape(-1, 2 if mode == "gradient" else 1)
        self.coords = grid_coordinates(img.shape).reshape(-1, 2)  # (H*W, 2)
        self.anchor = unobservable_part(img, mode)

    @property
    def resolution(self) -> int:
        return max(self.height, self.width)

    def loss(self, field, step: int, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """MSE between the field's derivative (autograd) and the observed one, on a batch of pixel centres."""
        device = generator.device
        n = self.coords.shape[0]
        if batch_size >= n:
            x, target = self.coords.to(device), self.observed.to(device)
        else:
            idx = torch.randint(n, (batch_size,), generator=generator, device=device).cpu()  # (B,)
            x, target = self.coords[idx].to(device), self.observed[idx].to(device)
        x = x.detach().requires_grad_(True)  # (B, 2), a leaf of its own
        y = field(x)  # (B, 1)
        d = gradient(y, x) if self.mode == "gradient" else laplacian(y, x)  # (B, 2) or (B, 1)
        return losses.mse(d, target)

    def metadata(self) -> dict:
        return {
            "kind": self.kind,
            "source": self.name,
            "shape": [self.height, self.width, 1],
            "mode": self.mode,
            "anchor": self.anchor,
            "value_range": [0.0, 1.0],
        }

    def predict(self, fn: Callable[[torch.Tensor], torch.Tensor], device=None) -> np.ndarray:
        """The field on the pixel grid with the unobservable part set from the image: ``(H, W, 1)`` in [0, 1]."""
        raw = evaluate_grid(fn, (self.height, self.width), 1, device=device)[..., 0]  # (H, W)
        return np.clip(align(raw, self.mode, self.anchor), 0, 1)[..., None]

    def evaluate(self, pred: np.ndarray, full: bool = True) -> dict:
        """PSNR (and with ``full`` SSIM) of the aligned prediction ``(H, W, 1)`` against the unseen image."""
        out = {"psnr": metrics.psnr(pred[..., 0], self.image)}
        if full and min(self.height, self.width) >= 11:  # SSIM's 11x11 Gaussian window
            out["ssim"] = metrics.ssim(pred[..., 0], self.image)
        return out

    def save(self, path: str | Path, pred: np.ndarray) -> None:
        save_image(path, pred)


# ---------------------------------------------------------------- the kind: `inrkit fit poisson`, render, info


@dataclass
class PoissonOptions:
    """Fit an image from its gradient field only or its Laplacian only (the SIREN paper's Poisson experiment)."""

    source: Positional[str] = "sample:camera"
    """Image file or sample:NAME; it is turned to grey and only its derivatives are shown to the field."""
    from_: Annotated[str, arg(name="from")] = "gradient"
    """Which derivative the field sees: gradient (Sobel) or laplacian (5-point stencil)."""
    size: str = "256x256"
    """Resize the image to WIDTHxHEIGHT first."""


def _load(o: PoissonOptions, seed: int = 0, preset=None) -> PoissonSignal:
    from .image import parse_size

    return load_poisson(o.source, o.from_, parse_size(o.size))


def _summary(m: dict, o, signal) -> str:
    fixed = "its mean" if o.from_ == "gradient" else "its least-squares affine part"
    return (f"{m['preset']} on {o.source} from its {o.from_} only: PSNR {m['psnr']:.2f} dB, "
            f"SSIM {m.get('ssim', float('nan')):.4f} (the unobservable part set to the image's: {fixed}), "
            f"{m['steps']} steps in {m['seconds']:.1f} s")


def render_field(field, size=None, scale: float = 1.0, chunk_size: int = 1 << 16, device=None) -> np.ndarray:
    """A Poisson field as an image at any size, its unobservable part (mean, or affine part) set to the
    image's: float32 ``(H, W, 1)`` in the image's [0, 1] units."""
    from ..outputs import field_meta, output_size

    sig = field_meta(field)["signal"]
    h0, w0, _ = sig["shape"]
    w, h = output_size(size, scale, (w0, h0))
    raw = field.sample_grid((h, w), chunk_size=chunk_size)[..., 0]  # (H, W)
    return align(raw, sig["mode"], sig["anchor"])[..., None]


KIND = Kind(name="poisson", help=PoissonOptions.__doc__, options=PoissonOptions, load=_load, summary=_summary,
            describe=describe_image, render=render_field,
            write=partial(write_field, render=render_field, note=", the unobservable part set from the image's"),
            preset="siren", samples=IMAGE_KIND.samples,
            # to 1/10 over the run: it settles the noisy mini-batch derivative fit (32.7 dB against 29.2 dB
            # with a constant rate, BENCHMARKS.md)
            optim_defaults={"schedule": "exponential"})
