"""MRI from undersampled k-space: a 2D or 3D field fitted through the Fourier transform.

The image (or volume) is never seen: the observations are a subset of its
Fourier coefficients ``y = F x`` (``torch.fft.fftn``, ``norm="ortho"``). As in
Cartesian MRI the last array axis is the readout, always fully sampled; the
sampling mask selects lines (2D) or points of the phase-encoding plane (3D).

The mask is variable-density random: the locations nearest the k-space centre
(``center_fraction`` of the sampled budget) are all taken, and the rest are
drawn without replacement with probability ``∝ (1 - r)^decay`` (``r`` the
distance from the centre, 0 to 1 at the corner), all from ``seed``; the budget
is ``1 / acceleration`` of the phase-encoding locations.

The field is sampled on the voxel grid and Fourier transformed. A training step
uses a random batch of readout positions: inverse-transforming the observations
along the readout (which commutes with the mask) leaves, per readout position,
an independent 1D/2D Fourier problem over the phase-encoding axes.

The baseline is the zero-filled reconstruction ``|F^{-1}(mask · y)|``. Both are
clipped to [0, 1] and scored against the image.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
from tyro.conf import Positional

from .. import losses, metrics
from ..errors import InrkitError
from ..grids import evaluate_grid, grid_coordinates
from .image import READABLE, load_image
from .base import Kind, Signal, psnr_quality

__all__ = ["MRISignal", "MRIOptions", "KIND", "load_mri", "render_field", "sampling_mask"]


def sampling_mask(shape: tuple[int, ...], acceleration: float, seed: int = 0, center_fraction: float = 0.3,
                  decay: float = 2.0) -> np.ndarray:
    """A variable-density random mask over the phase-encoding ``shape`` (unshifted FFT order): bool.

    Exactly ``round(prod(shape) / acceleration)`` locations are sampled (at least 1).
    """
    if not acceleration >= 1:
        raise InrkitError(f"acceleration must be at least 1, got {acceleration}")
    if not 0 <= center_fraction <= 1:
        raise InrkitError(f"center fraction must be in [0, 1], got {center_fraction}")
    total = int(np.prod(shape))
    budget = max(1, round(total / acceleration))
    freqs = np.meshgrid(*[np.fft.fftfreq(n) / 0.5 for n in shape], indexing="ij")  # each in [-1, 1)
    r = np.sqrt(sum(f**2 for f in freqs) / len(shape)).ravel()  # (total,) 0 at DC, 1 at the corner
    order = np.argsort(r, kind="stable")
    n_center = int(round(budget * center_fraction))
    chosen = np.zeros(total, bool)
    chosen[order[:n_center]] = True
    rest = np.flatnonzero(~chosen)
    if budget > n_center:
        p = (1 - np.clip(r[rest], 0, 1)) ** decay + 1e-6
        pick = np.random.default_rng(seed).choice(rest, size=budget - n_center, replace=False, p=p / p.sum())
        chosen[pick] = True
    return chosen.reshape(shape)


def load_mri(source: str = "sample:epi", acceleration: float = 8.0, seed: int = 0, key: str | None = None,
             frame: int | None = None, center_fraction: float = 0.3, tv_weight: float = 0.0) -> "MRISignal":
    """An MRI problem from a 2D image or 3D volume: ``sample:NAME`` (the volume samples), an image
    file (grey), or ``.npy``/``.npz``/NIfTI holding a 2D or 3D array. Its k-space is simulated.
    ``tv_weight``: weight of a total-variation penalty on the field's grid values (0: none)."""
    from .volume import normalise_volume, read_volume, read_volume_sample

    if not tv_weight >= 0:
        raise InrkitError(f"tv weight must be non-negative, got {tv_weight}")

    info: dict = {}
    if source.startswith("sample:"):
        a, info = read_volume_sample(source.split(":", 1)[1])
    elif source.lower().endswith(READABLE):
        img = load_image(source).image  # (H, W, C) in [0, 1]
        if img.shape[-1] in (2, 4):
            img = img[..., :-1]
        a = img[..., 0] if img.shape[-1] == 1 else img @ np.array([0.2125, 0.7154, 0.0721], np.float32)
    else:
        a, info = read_volume(source, key=key, frame=frame, ndims=(2, 3))
    if min(a.shape) < 2:
        raise InrkitError(f"{source!r} has shape {a.shape}; every axis needs at least 2 samples")
    x, value_range = normalise_volume(np.asarray(a), repr(source))
    return MRISignal(x, acceleration=acceleration, seed=seed, center_fraction=center_fraction, name=source,
                     value_range=value_range, tv_weight=tv_weight, **info)


class MRISignal(Signal):
    """``image``: ``(H, W)`` or ``(n0, n1, n2)`` float32 in [0, 1], observed through ``mask · F image``.

    ``mask``: bool over the phase-encoding axes (all but the last); ``kspace``: the observed
    coefficients (zeros elsewhere), complex64, same shape as the image. ``tv_weight``: weight of a
    total-variation penalty on the field's grid values (0: none); ``cache_mb``: memory for the field's
    caches of the fixed grid coordinates (:meth:`inrkit.fields.Field.cache`), reused across steps.
    """

    kind = "mri"
    out_dim = 1
    metric = "psnr"

    def __init__(self, image: np.ndarray, acceleration: float = 8.0, seed: int = 0, center_fraction: float = 0.3,
                 name: str = "", value_range=(0.0, 1.0), affine=None, voxel_size=None, tv_weight: float = 0.0,
                 cache_mb: int = 1024):
        self.image = np.asarray(image, np.float32)
        if self.image.ndim not in (2, 3):
            raise InrkitError(f"MRI needs a 2D image or a 3D volume, got shape {self.image.shape}")
        self.in_dim = self.image.ndim
        self.shape = self.image.shape
        self.mask = sampling_mask(self.shape[:-1], acceleration, seed, center_fraction)  # (PE...)
        self.acceleration, self.seed, self.center_fraction = float(acceleration), seed, center_fraction
        self.name, self.value_range, self.affine, self.voxel_size = name, list(value_range), affine, voxel_size
        full = torch.fft.fftn(torch.from_numpy(self.image).to(torch.complex64), norm="ortho")
        self.kspace = (full * torch.from_numpy(self.mask)[..., None]).numpy()  # observed; zeros elsewhere
        zf = torch.fft.ifftn(torch.from_numpy(self.kspace), norm="ortho").abs().numpy()
        self.zero_filled = np.clip(zf, 0, 1).astype(np.float32)
        self.output_name = "reconstruction.png" if self.in_dim == 2 else "slices.png"
        self._cache = None
        self.tv_weight, self.cache_mb = float(tv_weight), cache_mb
        self._planes, self._planes_bytes, self._planes_for = {}, 0, None  # the field's caches, by readout position

    @property
    def resolution(self) -> int:
        """Half the largest side: hash grids and band limits size themselves by it. The variable-density
        mask puts most samples in the central half of each k-space axis; a field finer than that mostly
        fits aliasing (on the EPI benchmark, full resolution scores lower and trains 2-3x slower)."""
        return max(2, max(self.shape) // 2)

    def metadata(self) -> dict:
        meta = {"kind": self.kind, "source": self.name, "shape": [*self.shape, 1], "value_range": self.value_range,
                "acceleration": self.acceleration, "sampled_fraction": float(self.mask.mean()), "mask_seed": self.seed,
                "center_fraction": self.center_fraction, "tv_weight": self.tv_weight}
        if self.affine is not None:
            meta.update(affine=self.affine, voxel_size=self.voxel_size)
        return meta

    def _device_data(self, dev):
        if self._cache is None or self._cache[0] != dev:
            # Observations inverse-transformed along the readout: per readout position, the PE-plane spectrum.
            hybrid = torch.fft.ifft(torch.from_numpy(self.kspace), dim=-1, norm="ortho")  # (PE..., R)
            mask = torch.from_numpy(self.mask).to(dev)
            self._cache = (dev, hybrid.to(dev)[mask], mask, grid_coordinates(self.shape, device=dev))  # (M, R)
        return self._cache[1:]

    def _slab(self, field, readout: torch.Tensor) -> torch.Tensor:
        """The field on the grid at readout positions ``readout: (B,)``: ``(PE..., B)`` real.

        The field caches what depends on a position's fixed grid coordinates alone
        (:meth:`inrkit.fields.Field.cache`; for a hash grid, a sparse interpolation matrix: steps then
        cost one sparse matmul each way), while the caches fit in ``cache_mb``.
        """
        _, _, coords = self._device_data(readout.device)
        if self._planes_for is None or self._planes_for() is not field:
            self._planes, self._planes_bytes, self._planes_for = {}, 0, weakref.ref(field)
        cols = []
        for r in readout.tolist():
            x = coords[..., r, :].reshape(-1, self.in_dim)  # (plane, in_dim)
            cache = self._planes.get(r)
            if cache is None and self._planes_bytes < self.cache_mb * 2**20 and hasattr(field, "cache"):
                cache = self._planes[r] = field.cache(x)
                self._planes_bytes += cache.nbytes
            cols.append((field(x) if cache is None else field.forward_cached(cache))[:, 0])  # (plane,)
        return torch.stack(cols, -1).reshape(*self.shape[:-1], len(cols))  # (PE..., B)

    def forward_kspace(self, field, readout: torch.Tensor, slab: torch.Tensor | None = None) -> torch.Tensor:
        """The field's PE-plane spectrum at the sampled locations for readout positions ``readout: (B,)``:
        ``(M, B)`` complex, ``M`` the sampled locations (``mask`` order)."""
        _, mask, coords = self._device_data(readout.device)
        x = field(coords[..., readout, :])[..., 0] if slab is None else slab  # (PE..., B)
        pe_dims = tuple(range(self.in_dim - 1))
        return torch.fft.fftn(x.to(torch.complex64), dim=pe_dims, norm="ortho")[mask]  # (M, B)

    def loss(self, field, step: int, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """Mean squared magnitude of the k-space residual over ``batch_size // PE-plane size`` random
        readout positions (at least one; all of them when the batch covers the volume), plus
        ``tv_weight`` times the total variation of the field over those positions' PE planes."""
        dev = generator.device
        observed, _, _ = self._device_data(dev)
        n_ro, plane = self.shape[-1], int(np.prod(self.shape[:-1]))
        b = max(1, batch_size // plane)
        readout = torch.arange(n_ro, device=dev) if b >= n_ro else torch.randperm(n_ro, device=dev, generator=generator)[:b]
        slab = self._slab(field, readout)  # (PE..., B)
        pred = self.forward_kspace(field, readout, slab)  # (M, B) complex
        loss = losses.mse(pred, observed[:, readout])  # mean squared magnitude of the residual
        if self.tv_weight > 0:
            loss = loss + self.tv_weight * losses.total_variation(slab.diff(dim=a) for a in range(self.in_dim - 1))
        return loss

    def predict(self, fn: Callable[[torch.Tensor], torch.Tensor], device=None) -> np.ndarray:
        """The field at every pixel/voxel, clipped to [0, 1]: the image's shape."""
        return np.clip(evaluate_grid(fn, self.shape, 1, device=device)[..., 0], 0, 1)

    def _ssim(self, a: np.ndarray) -> float:
        from .volume import ssim_3d

        if self.in_dim == 2:
            return metrics.ssim(a, self.image)
        return ssim_3d(a, self.image) if min(self.shape) >= 11 else float("nan")

    def evaluate(self, pred: np.ndarray, full: bool = True) -> dict:
        """PSNR (with ``full``: SSIM, and both for the zero-filled baseline) against the image."""
        out = {"psnr": metrics.psnr(pred, self.image)}
        if full:
            out["ssim"] = self._ssim(pred)
            out["psnr_zero_filled"] = metrics.psnr(self.zero_filled, self.image)
            out["ssim_zero_filled"] = self._ssim(self.zero_filled)
            out["psnr_gain_over_zero_filled"] = out["psnr"] - out["psnr_zero_filled"]
            out["acceleration"] = self.acceleration
            out["sampled_fraction"] = float(self.mask.mean())
        return out

    def save(self, path: str | Path, pred: np.ndarray) -> None:
        """2D: the reconstruction at ``path``, plus ``zero_filled.png`` and ``comparison.png`` (reference |
        zero-filled | field, with their PSNRs, and the field's absolute error). 3D: the mid-planes at
        ``path`` (columns: reference, zero-filled, field; rows: planes), plus ``reconstruction`` and
        ``zero_filled`` volumes (NIfTI for NIfTI sources, else .npy) in original units."""
        from ..plots import db, image_comparison
        from .image import save_image
        from .volume import save_slices, save_volume

        path = Path(path)
        labels = ["reference", f"zero-filled {db(metrics.psnr(self.zero_filled, self.image))}",
                  f"field {db(metrics.psnr(pred, self.image))}"]
        if self.in_dim == 2:
            save_image(path, pred[..., None])
            save_image(path.with_name("zero_filled.png"), self.zero_filled[..., None])
            image_comparison(path.with_name("comparison.png"),
                             list(zip([self.image, self.zero_filled, pred], labels)),
                             error=(np.abs(pred - self.image), "|field - reference|"),
                             title=f"MRI, {self.acceleration:g}x undersampled k-space")
            return
        save_slices(path, [self.image, self.zero_filled, pred], self.voxel_size, nifti=self.affine is not None,
                    labels=labels, value_range=self.value_range, affine=self.affine)
        lo, hi = self.value_range
        ext = ".nii.gz" if self.affine is not None else ".npy"
        save_volume(path.with_name("reconstruction" + ext), pred * (hi - lo) + lo, self.affine)
        save_volume(path.with_name("zero_filled" + ext), self.zero_filled * (hi - lo) + lo, self.affine)


# ---------------------------------------------------------------- the kind: `inrkit fit mri`, render, info


@dataclass
class MRIOptions:
    """Reconstruct an image or volume from undersampled k-space (compared with the zero-filled inverse FFT)."""

    source: Positional[str] = "sample:epi"
    """sample:NAME (the volume samples), an image file, or a 2D/3D .npy, .npz or NIfTI; its k-space is simulated."""
    acceleration: float = 8.0
    """Undersampling factor: 1/ACCELERATION of the phase-encoding locations are sampled."""
    center_fraction: float = 0.3
    """Share of the samples taken as the fully sampled k-space centre."""
    mask_seed: int = 0
    """Seed of the random sampling mask."""
    key: Optional[str] = None
    """Array to read from a .npz holding several."""
    frame: Optional[int] = None
    """Volume to take from a 4D file (0-based, along the last axis, where NIfTI keeps time; also for .npy)."""
    tv_weight: float = 0.03
    """Weight of a total-variation penalty on the field's grid values (0: none)."""


def _load(o: MRIOptions, seed: int = 0, preset=None) -> MRISignal:
    return load_mri(o.source, acceleration=o.acceleration, seed=o.mask_seed, key=o.key, frame=o.frame,
                    center_fraction=o.center_fraction, tv_weight=o.tv_weight)


def _summary(m: dict, o, signal) -> str:
    return (f"{m['preset']} on {o.source}, {m['acceleration']:g}x: PSNR {m['psnr']:.2f} dB "
            f"(zero-filled {m['psnr_zero_filled']:.2f}), SSIM {m['ssim']:.4f} (zero-filled {m['ssim_zero_filled']:.4f}), "
            f"{m['steps']} steps in {m['seconds']:.1f} s")


def _is_2d(sig: dict) -> bool:
    return len(sig["shape"]) == 3  # (H, W, 1); a volume's is (n0, n1, n2, 1)


def _describe(sig: dict) -> str:
    from .image import describe_image
    from .volume import describe_volume

    return describe_image(sig) if _is_2d(sig) else describe_volume(sig)


def _quality(m: dict) -> list[tuple[str, str]]:
    rows = psnr_quality(m)
    if "psnr_zero_filled" in m:  # against the zero-filled inverse FFT
        rows.append(("baseline", f"zero-filled at {m.get('acceleration', 0):g}x: PSNR "
                                 f"{m['psnr_zero_filled']:.2f} dB, SSIM {m['ssim_zero_filled']:.4f}"))
    return rows


def render_field(field, size=None, scale: float = 1.0, region=None, chunk_size: int = 1 << 16, device=None):
    """A 2D MRI field as an image (:func:`inrkit.signals.image.render_field`, ``region`` too); a 3D one as a
    volume (:func:`inrkit.signals.volume.render_field`)."""
    from ..outputs import field_meta
    from . import image, volume

    if _is_2d(field_meta(field)["signal"]):
        return image.render_field(field, size, scale, region, chunk_size, device)
    return volume.render_field(field, size, scale, chunk_size, device)


def _write(field, out, folder, **options) -> str:
    from ..outputs import field_meta
    from . import image, volume

    if _is_2d(field_meta(field)["signal"]):
        return image.write_field(field, out, folder, **options)
    return volume.write_field(field, out, folder, **options)


def _samples():
    from .volume import KIND as VOLUME

    return VOLUME.samples


KIND = Kind(name="mri", help=MRIOptions.__doc__, options=MRIOptions, load=_load, summary=_summary,
            describe=_describe, quality=_quality, render=render_field, write=_write, samples=_samples(),
            preset="mri")
