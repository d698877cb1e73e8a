"""Computed tomography from sparse views: a 2D field fitted through parallel-beam projections.

The image itself is never seen: the observations are its sinogram, the line
integrals along parallel rays at a few angles. The field ``(x, y) -> density``
is integrated along the same rays by sampling it (one sample per pixel of path,
vectorised over rays) and fitted to the measured line integrals.

Geometry and scaling are scikit-image's :func:`skimage.transform.radon` with
``circle=True``: an ``N x N`` image, centre pixel ``c = N // 2``, ``N`` detector
bins; at angle ``θ`` detector bin ``d`` (offset ``d - c``) integrates the image
along the ray through pixel positions

    col = c + cos θ (d - c) + sin θ s,    row = c - sin θ (d - c) + cos θ s,

for ``s`` in ``-c .. N - 1 - c`` (unit steps, so a line integral is a sum of
pixel values), and the image is zero outside the inscribed circle ``|(d - c, s)| <= N // 2``.
Pixel ``(row, col)`` is field coordinate ``((col + 0.5) / N * 2 - 1, (row + 0.5) / N * 2 - 1)``.

The baseline is filtered back-projection (:func:`skimage.transform.iradon`, ramp
filter) from the same views; both reconstructions are clipped to the image's
value range [0, 1] and scored against the image.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tyro.conf import Positional

from .. import losses, metrics
from ..errors import InrkitError
from ..grids import evaluate_grid
from .base import Kind, SampleSet, Signal, psnr_quality
from .image import describe_image, write_field

__all__ = ["CTSignal", "CTOptions", "KIND", "load_ct", "render_field", "project", "ray_points", "view_angles"]


def view_angles(views: int) -> np.ndarray:
    """``views`` angles in degrees, evenly spaced over [0, 180)."""
    if views < 1:
        raise InrkitError(f"views must be at least 1, got {views}")
    return np.linspace(0.0, 180.0, views, endpoint=False)


def ray_points(
    n: int, theta_deg: torch.Tensor, bins: torch.Tensor, jitter: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample points of the rays ``(theta_deg[r], bins[r])`` of an ``n x n`` image.

    ``theta_deg, bins: (R,)``; ``jitter: (R, n)`` offsets in [-0.5, 0.5) pixels along each
    ray (stratified sampling), or None for the pixel-centre positions radon sums.
    Returns field coordinates ``(R, n, 2)`` and a mask ``(R, n)`` of the points inside
    the reconstruction circle (the others are zero by definition).
    """
    c = n // 2
    dev = bins.device
    t = torch.deg2rad(theta_deg.to(torch.float32))[:, None]  # (R, 1)
    cos, sin = torch.cos(t), torch.sin(t)
    d = (bins.to(torch.float32) - c)[:, None]  # (R, 1) detector offset
    s = (torch.arange(n, device=dev, dtype=torch.float32) - c)[None, :]  # (1, n) position along the ray
    if jitter is not None:
        s = s + jitter  # (R, n)
    col = c + cos * d + sin * s  # (R, n)
    row = c - sin * d + cos * s
    xy = torch.stack([(col + 0.5) / n * 2 - 1, (row + 0.5) / n * 2 - 1], dim=-1)  # (R, n, 2)
    inside = (d**2 + s**2) <= c**2  # (R, n)
    return xy, inside.expand(xy.shape[:2])


def project(
    fn: Callable[[torch.Tensor], torch.Tensor],
    n: int,
    theta_deg: torch.Tensor,
    bins: torch.Tensor,
    jitter: torch.Tensor | None = None,
) -> torch.Tensor:
    """Line integrals of the field ``fn: (P, 2) -> (P, 1)`` along rays ``(theta_deg, bins): (R,)``: ``(R,)``.

    Same geometry and scale as ``skimage.transform.radon(image, theta, circle=True)[bins, view]``
    (see the module docstring); only the points inside the circle are evaluated.
    """
    xy, inside = ray_points(n, theta_deg, bins, jitter)  # (R, n, 2), (R, n)
    values = fn(xy[inside])[:, 0]  # (P,)
    ray_of_point = torch.arange(len(bins), device=bins.device)[:, None].expand_as(inside)[inside]  # (P,)
    return torch.zeros(len(bins), device=values.device, dtype=values.dtype).index_add(0, ray_of_point, values)


def _disc(n: int) -> np.ndarray:
    """``(n, n)`` bool: radon's reconstruction circle (distance from pixel ``n // 2`` at most ``n // 2``)."""
    i = np.arange(n) - n // 2
    return (i[:, None] ** 2 + i[None, :] ** 2) <= (n // 2) ** 2


def load_ct(source: str = "sample:shepp-logan", views: int = 20, size: int | None = 256,
            tv_weight: float = 0.0) -> "CTSignal":
    """A CT problem: ``sample:shepp-logan``, an image file (its views are simulated with radon),
    or a ``.npz`` holding ``sinogram`` ``(N, V)`` and ``theta`` ``(V,)`` degrees (radon's layout;
    no reference image, so only the projection error is scored).

    Images are converted to grey, resized to ``size x size`` (``None``: keep; it must then be
    square) and set to zero outside the inscribed circle, which is all radon's geometry sees.
    ``tv_weight``: weight of a total-variation penalty on the field (0: none).
    """
    if not tv_weight >= 0:
        raise InrkitError(f"tv weight must be non-negative, got {tv_weight}")
    if source.lower().endswith(".npz") and not source.startswith("sample:"):
        sino, theta = _read_sinogram(Path(source))
        return CTSignal(sinogram=sino, theta=theta, name=source, tv_weight=tv_weight)
    theta = view_angles(views)
    if size is not None and size < 8:
        raise InrkitError(f"CT size must be at least 8 pixels, got {size}")
    if source == "sample:shepp-logan":
        import skimage.data

        image = skimage.data.shepp_logan_phantom().astype(np.float32)  # (400, 400) in [0, 1]
    elif source.startswith("sample:"):
        raise InrkitError(f"unknown CT sample {source!r}; expected sample:shepp-logan, an image file or a .npz sinogram")
    else:
        from .image import load_image

        image = load_image(source).image  # (H, W, C) in [0, 1]
        if image.shape[-1] in (2, 4):
            image = image[..., :-1]  # drop alpha
        image = image[..., 0] if image.shape[-1] == 1 else image @ np.array([0.2125, 0.7154, 0.0721], np.float32)
    if size is None:
        if image.shape[0] != image.shape[1]:
            raise InrkitError(f"{source!r} is {image.shape[1]}x{image.shape[0]}; CT needs a square image, give --size")
    elif image.shape != (size, size):
        from skimage.transform import resize

        image = resize(image, (size, size), order=1, anti_aliasing=True, preserve_range=True)
    image = np.clip(image, 0, 1).astype(np.float32) * _disc(image.shape[0])
    return CTSignal(image=image, theta=theta, name=source, tv_weight=tv_weight)


def _read_sinogram(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.exists():
        raise InrkitError(f"sinogram file {str(path)!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as z:
            if "sinogram" not in z or "theta" not in z:
                raise InrkitError(f"{str(path)!r} must hold arrays 'sinogram' (N, views) and 'theta' (views,) in degrees")
            sino, theta = np.asarray(z["sinogram"], np.float64), np.asarray(z["theta"], np.float64)
    except InrkitError:
        raise
    except Exception as e:
        raise InrkitError(f"could not read {str(path)!r} as a .npz sinogram ({type(e).__name__}: {e})") from None
    if sino.ndim != 2 or theta.ndim != 1 or sino.shape[1] != len(theta):
        raise InrkitError(f"{str(path)!r}: sinogram {sino.shape} and theta {theta.shape} do not match; "
                          "expected (N, views) and (views,)")
    if len(theta) < 1:
        raise InrkitError(f"{str(path)!r} holds no views; views must be at least 1")
    if sino.shape[0] < 8 or not np.isfinite(sino).all() or not np.isfinite(theta).all():
        raise InrkitError(f"{str(path)!r}: the sinogram needs at least 8 detector bins and finite values")
    return sino, theta


class CTSignal(Signal):
    """A parallel-beam CT problem: ``sinogram (N, V)`` at angles ``theta (V,)`` degrees, of an
    unseen ``image (N, N)`` in [0, 1] (None when only a sinogram was given).

    ``samples_per_ray``: points per ray in a training step are ``N`` with stratified jitter;
    ``tv_weight``: weight of a total-variation penalty on the field's grid (0: none).
    """

    kind = "ct"
    in_dim = 2
    out_dim = 1

    def __init__(self, image: np.ndarray | None = None, theta=None, sinogram: np.ndarray | None = None,
                 name: str = "", tv_weight: float = 0.0):
        from skimage.transform import iradon, radon

        if theta is None or len(theta) < 1:
            raise InrkitError("views must be at least 1")
        self.theta = np.asarray(theta, np.float64)
        self.image = None if image is None else np.asarray(image, np.float32)
        if sinogram is None:
            if self.image is None:
                raise InrkitError("a CT signal needs an image or a sinogram")
            sinogram = radon(self.image.astype(np.float64), theta=self.theta, circle=True)
        self.sinogram = np.asarray(sinogram, np.float32)  # (N, V)
        self.n = self.sinogram.shape[0]
        self.name, self.tv_weight = name, float(tv_weight)
        self.disc = _disc(self.n)
        self.fbp = np.clip(iradon(self.sinogram.astype(np.float64), theta=self.theta, filter_name="ramp",
                                  circle=True, output_size=self.n), 0, 1).astype(np.float32)
        self.metric = "psnr" if self.image is not None else "projection_psnr"
        self.output_name = "reconstruction.png"
        self._sino_t = None

    @property
    def resolution(self) -> int:
        return self.n

    @property
    def views(self) -> int:
        return len(self.theta)

    def metadata(self) -> dict:
        return {"kind": self.kind, "source": self.name, "shape": [self.n, self.n, 1], "value_range": [0.0, 1.0],
                "views": self.views, "theta": self.theta.tolist(), "tv_weight": self.tv_weight}

    def loss(self, field, step: int, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """Mean squared error of the field's line integrals (divided by ``N``) on a random batch of
        ``batch_size // N`` rays (all rays when there are fewer), with jittered samples along each."""
        dev = generator.device
        if self._sino_t is None or self._sino_t.device != dev:
            self._sino_t = torch.from_numpy(self.sinogram).to(dev)  # (N, V)
            self._theta_t = torch.from_numpy(self.theta).to(dev, torch.float32)
        n, v = self.n, self.views
        rays = max(1, batch_size // n)
        if rays >= n * v:
            idx = torch.arange(n * v, device=dev)
        else:
            idx = torch.randint(n * v, (rays,), device=dev, generator=generator)  # (R,) flat (bin, view)
        bins, view = idx // v, idx % v
        jitter = torch.rand(len(idx), n, device=dev, generator=generator) - 0.5  # (R, N)
        pred = project(field, n, self._theta_t[view], bins, jitter)  # (R,)
        loss = losses.mse(pred, self._sino_t[bins, view]) / n**2
        if self.tv_weight > 0:
            loss = loss + self.tv_weight * _tv(field, n, generator)
        return loss

    def predict(self, fn: Callable[[torch.Tensor], torch.Tensor], device=None) -> np.ndarray:
        """The field at every pixel, zero outside the reconstruction circle, clipped: ``(N, N)`` float32."""
        out = evaluate_grid(fn, (self.n, self.n), 1, device=device)[..., 0]
        return np.clip(out, 0, 1) * self.disc

    def reproject(self, image: np.ndarray) -> np.ndarray:
        from skimage.transform import radon

        return radon(image.astype(np.float64), theta=self.theta, circle=True)

    def evaluate(self, pred: np.ndarray, full: bool = True) -> dict:
        """PSNR (and with ``full`` SSIM) of the field and of FBP against the image; with only a
        sinogram, the PSNR of each one's re-projection against it (peak: the sinogram's maximum)."""
        out = {}
        if self.image is not None:
            out["psnr"] = metrics.psnr(pred, self.image)
            if full:
                out["ssim"] = metrics.ssim(pred, self.image)
                out["psnr_fbp"] = metrics.psnr(self.fbp, self.image)
                out["ssim_fbp"] = metrics.ssim(self.fbp, self.image)
                out["psnr_gain_over_fbp"] = out["psnr"] - out["psnr_fbp"]
        if self.image is None or full:
            peak = float(np.abs(self.sinogram).max())
            out["projection_psnr"] = metrics.psnr(self.reproject(pred), self.sinogram, data_range=peak)
            if full:
                out["projection_psnr_fbp"] = metrics.psnr(self.reproject(self.fbp), self.sinogram, data_range=peak)
        if full:
            out["views"] = self.views
        return out

    def save(self, path: str | Path, pred: np.ndarray) -> None:
        """The reconstruction at ``path``; ``fbp.png`` and ``comparison.png`` beside it: reference |
        FBP | field with their PSNRs and the field's absolute error (with only a sinogram: FBP | field
        with the PSNRs of their re-projections)."""
        from ..plots import db, image_comparison
        from .image import save_image

        path = Path(path)
        save_image(path, pred[..., None])
        save_image(path.with_name("fbp.png"), self.fbp[..., None])
        title = f"CT from {self.views} parallel-beam views"
        if self.image is not None:
            panels = [(self.image, "reference"), (self.fbp, f"FBP {db(metrics.psnr(self.fbp, self.image))}"),
                      (pred, f"field {db(metrics.psnr(pred, self.image))}")]
            image_comparison(path.with_name("comparison.png"), panels,
                             error=(np.abs(pred - self.image), "|field - reference|"), title=title)
        else:
            peak = float(np.abs(self.sinogram).max())
            psnr = [metrics.psnr(self.reproject(a), self.sinogram, data_range=peak) for a in (self.fbp, pred)]
            image_comparison(path.with_name("comparison.png"),
                             [(self.fbp, f"FBP {db(psnr[0])}"), (pred, f"field {db(psnr[1])}")],
                             title=title + " (PSNR of the re-projections against the sinogram)")


def _tv(field, n: int, generator: torch.Generator) -> torch.Tensor:
    """Anisotropic total variation of the field at random points, by forward differences of one pixel."""
    dev = generator.device
    p = torch.rand(4096, 2, device=dev, generator=generator) * 2 - 1  # (P, 2)
    h = 2.0 / n
    pts = torch.cat([p, p + torch.tensor([h, 0.0], device=dev), p + torch.tensor([0.0, h], device=dev)])  # (3P, 2)
    f = field(pts)[:, 0].reshape(3, -1)  # (3, P): at p, one pixel along x, one along y
    return losses.total_variation((f[1] - f[0], f[2] - f[0]))


# ---------------------------------------------------------------- the kind: `inrkit fit ct`, render, info


@dataclass
class CTOptions:
    """Reconstruct a CT image from a sparse-view parallel-beam sinogram (compared with filtered back-projection)."""

    source: Positional[str] = "sample:shepp-logan"
    """sample:shepp-logan, an image file (its views are simulated), or a .npz with 'sinogram' (N, views) and 'theta'."""
    views: int = 20
    """Projection angles, evenly spaced over [0, 180) degrees (ignored for a .npz sinogram)."""
    size: int = 256
    """Resize the image to SIZE x SIZE first (ignored for a .npz sinogram)."""
    tv_weight: float = 0.0
    """Weight of a total-variation penalty on the field (0: none)."""


def _load(o: CTOptions, seed: int = 0, preset=None) -> CTSignal:
    return load_ct(o.source, views=o.views, size=o.size, tv_weight=o.tv_weight)


def _summary(m: dict, o, signal) -> str:
    head = f"{m['preset']} on {o.source}, {m['views']} views: "
    tail = f"{m['steps']} steps in {m['seconds']:.1f} s"
    if "psnr" in m:
        return (head + f"PSNR {m['psnr']:.2f} dB (FBP {m['psnr_fbp']:.2f}), SSIM {m['ssim']:.4f} "
                f"(FBP {m['ssim_fbp']:.4f}), " + tail)
    return head + f"projection PSNR {m['projection_psnr']:.2f} dB (FBP {m['projection_psnr_fbp']:.2f}), " + tail


def _quality(m: dict) -> list[tuple[str, str]]:
    if "projection_psnr" in m and "psnr" not in m:
        return [("quality", f"projection PSNR {m['projection_psnr']:.2f} dB")]
    rows = psnr_quality(m)
    if "psnr_fbp" in m:  # against filtered back-projection from the same views
        rows.append(("baseline", f"FBP from {m.get('views')} views: PSNR {m['psnr_fbp']:.2f} dB, "
                                 f"SSIM {m['ssim_fbp']:.4f}"))
    return rows


def render_field(field, size=None, scale: float = 1.0, region=None, chunk_size: int = 1 << 16,
                 device=None) -> np.ndarray:
    """A CT field as an image (:func:`inrkit.signals.image.render_field`), zero outside the reconstruction
    circle, where no ray constrains it: ``uint8 (H, W, 1)``."""
    from .image import render_field as render_image_field

    def inside(x: torch.Tensor) -> torch.Tensor:  # (N, 2) -> (N, 1)
        return field(x) * (x.square().sum(-1, keepdim=True) <= 1)

    return render_image_field(field, size, scale, region, chunk_size, device, fn=inside)


KIND = Kind(name="ct", help=CTOptions.__doc__, options=CTOptions, load=_load, summary=_summary,
            describe=describe_image, quality=_quality, render=render_field,
            write=partial(write_field, render=render_field), preset="ct",
            samples=SampleSet("phantoms", {"shepp-logan": "Shepp-Logan phantom, 400x400 grey (resized to --size)"}))
