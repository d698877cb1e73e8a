"""3D shapes as fields ``(x, y, z) -> signed distance`` or ``-> occupancy logit``.

Sources are meshes (OBJ, PLY, STL, OFF, GLB/GLTF through trimesh), oriented point
clouds (PLY with ``nx ny nz`` vertex properties, ``.xyz`` text with six columns
``x y z nx ny nz`` as the SIREN paper's data) and built-in procedural shapes
(``sample:NAME``, see :data:`SHAPES`), read by :mod:`inrkit.shape_io`; shaded renders
and queries in the input's units (:func:`render_shape`, :func:`signed_distance`) live in
:mod:`inrkit.shape_render`. Both are re-exported here.

The shape's bounding box is centred and scaled uniformly so that its longest side
spans ``[-extent, extent]`` of the field's cube ``[-1, 1]³``:
``x_field = (x_input - center) * scale``. The transform is stored in the
checkpoint and every mesh and distance written comes back in the input's units.

Three ways to fit (``mode``):

- ``pointcloud`` (kind ``sdf``): the SIREN paper's losses on an oriented point
  cloud (Sitzmann et al. 2020, Sec. 4.2 and its ``sdf_loss``): per step
  ``B/2`` surface points and ``B/2`` uniform points of the cube; with
  ``s = [point is on the surface]``, means over all ``B`` points of
  ``w_sdf s |f|``, ``w_normal s (1 - cos(∇f, n))``, ``w_off (1 - s) exp(-α |f|)``
  and ``w_eik | ‖∇f‖ - 1 |`` (weights 3e3, 1e2, 1e2, 5e1, α = 100);
- ``mesh`` (kind ``sdf``): L1 regression on true signed distances (point-cloud-utils'
  closest-point queries, the sign from the fast generalised winding number of
  Barill et al. 2018, so meshes with small holes still have an inside) at a pool of
  points near the surface and in the volume;
- ``occupancy`` (kind ``occupancy``): binary cross-entropy of the network's logit
  on inside/outside labels of the same pool (Fourier-features paper, Sec. 6).

Signed distances are negative inside; the occupancy field's logit is positive
inside. Both are meshed at level 0.
"""
from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tyro.conf import Positional

from .. import losses, shape_metrics
from ..errors import InrkitError
from ..grids import evaluate_points
from ..shape_io import SAVE_SUFFIXES, SHAPES, ShapeData, load_shape, mesh_to_cloud, normalisation, save_mesh
from ..shape_render import occupancy_probability, render_shape, render_shape_orbit, signed_distance
from .base import Kind, SampleSet, Signal

__all__ = [
    # the signal
    "MODES",
    "ShapeSignal",
    "ShapePrediction",
    "SdfLossWeights",
    "shape_function",
    "mesh_field",
    "SdfOptions",
    "OccupancyOptions",
    "SDF_KIND",
    "OCCUPANCY_KIND",
    "render_field",
    "write_field",
    # re-exported from inrkit.shape_io and inrkit.shape_render
    "SHAPES",
    "SAVE_SUFFIXES",
    "ShapeData",
    "load_shape",
    "save_mesh",
    "normalisation",
    "render_shape",
    "render_shape_orbit",
    "signed_distance",
    "occupancy_probability",
]

MODES = ("pointcloud", "mesh", "occupancy")


@dataclass
class SdfLossWeights:
    """Weights of the SIREN paper's point-cloud SDF losses (its defaults)."""

    surface: float = 3e3
    """|f| at surface points."""
    normal: float = 1e2
    """1 - cos(∇f, n) at surface points."""
    off_surface: float = 1e2
    """exp(-α |f|) at off-surface points: keeps the zero set away from empty space."""
    eikonal: float = 5e1
    """| ‖∇f‖ - 1 | everywhere."""
    alpha: float = 1e2
    """α of the off-surface penalty."""


def shape_function(field, kind: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """``x: (N, 3) -> (N,)``, the implicit function that is 0 on the surface: the signed
    distance for ``sdf`` (negative inside), the network's logit for ``occupancy`` (positive inside)."""
    if kind == "sdf":
        return lambda x: field(x)[..., 0]
    if kind == "occupancy":
        return lambda x: field.network(field.encoding(x.reshape(-1, 3)))[..., 0].reshape(x.shape[:-1])
    raise InrkitError(f"unknown shape kind {kind!r}; expected sdf or occupancy")


class ShapeSignal(Signal):
    """A shape to fit: a mesh or an oriented point cloud, with its forward model (``loss``).

    Args:
        data: the shape in its own units.
        mode: ``pointcloud``, ``mesh`` or ``occupancy`` (see the module doc).
        extent: the shape's longest side spans ``[-extent, extent]`` of the field's cube.
        detail: finest detail in samples across the cube (sizes hash-grid levels).
        mesh_resolution: grid points per axis of the mesh written at the end and scored.
        n_train: size of the pool of supervised points (``mesh`` and ``occupancy``).
        near_sigma: standard deviations, in field units, of the two Gaussian offsets
            of near-surface pool points (DeepSDF's sampling); a fifth of the pool is uniform.
        n_eval: points of the fixed IoU set and samples per surface for the Chamfer metrics.
        fscore_ratio: the F-score's ``τ`` as a fraction of the bounding-box diagonal.
        weights: the SIREN losses' weights (``pointcloud``).
        seed: every random choice of the pools and evaluation sets.
    """

    in_dim = 3
    out_dim = 1
    output_name = "mesh.ply"

    def __init__(
        self,
        data: ShapeData,
        mode: str = "mesh",
        extent: float = 0.9,
        detail: int = 512,
        mesh_resolution: int = 256,
        n_train: int = 500_000,
        near_sigma: tuple[float, float] = (0.01, 0.05),
        n_eval: int = 100_000,
        fscore_ratio: float = 0.01,
        weights: SdfLossWeights | None = None,
        seed: int = 0,
    ):
        if mode not in MODES:
            raise InrkitError(f"unknown shape mode {mode!r}; expected one of {', '.join(MODES)}")
        if not 0 < extent <= 1:
            raise InrkitError(f"extent must be in (0, 1], got {extent}")
        for name, value, least in (("mesh resolution", mesh_resolution, 8), ("detail", detail, 2),
                                   ("training points", n_train, 2), ("evaluation points", n_eval, 100)):
            if value < least:
                raise InrkitError(f"{name} must be at least {least}, got {value}")
        if not 0 < fscore_ratio < 1:
            raise InrkitError(f"the F-score ratio must be in (0, 1), got {fscore_ratio}")
        for name, value in dataclasses.asdict(weights or SdfLossWeights()).items():
            if not 0 <= value < float("inf"):
                raise InrkitError(f"loss weight {name} must be a non-negative finite number, got {value}")
        if mode == "pointcloud" and data.normals is None:
            if data.is_mesh:
                data = mesh_to_cloud(data, n_train, seed + 4)
            else:
                raise InrkitError(
                    f"{data.name!r} is a point cloud without normals; the SIREN losses need oriented points "
                    "(a PLY with nx, ny, nz or an .xyz file with six columns)"
                )
        if mode in ("mesh", "occupancy") and not data.is_mesh:
            raise InrkitError(f"{data.name!r} is a point cloud; {mode} fitting needs a closed mesh "
                              "(use `inrkit fit sdf --mode pointcloud` for oriented points)")
        self.data, self.mode = data, mode
        self.kind = "occupancy" if mode == "occupancy" else "sdf"
        self.metric = "iou" if data.is_mesh else "chamfer_l1"
        self.extent, self.detail, self.mesh_resolution = extent, detail, mesh_resolution
        self.weights = weights or SdfLossWeights()
        self.fscore_ratio, self.seed = fscore_ratio, seed
        self.center, self.scale = normalisation(data, extent)
        lo, hi = data.bounds()
        self.diagonal = float(np.linalg.norm(hi - lo))
        rng = np.random.default_rng(seed)
        v = self.to_field(data.vertices)  # (V, 3)

        # Reference surface samples (input units) for the Chamfer metrics.
        if data.is_mesh:
            self.ref = shape_metrics.sample_surface(data.vertices, data.faces, n_eval, seed=seed + 1)
        else:
            pick = rng.choice(len(v), size=min(n_eval, len(v)), replace=False)
            self.ref = (data.vertices[pick], data.normals[pick])

        self._device_cache: dict = {}
        if mode == "pointcloud":
            self.points = torch.from_numpy(v.astype(np.float32))  # (V, 3)
            self.normals = torch.from_numpy(data.normals.astype(np.float32))  # (V, 3)
        if data.is_mesh:
            self.vf = (v, data.faces)
            # Fixed IoU set: uniform in the bounding box padded by 5% (Occupancy Networks),
            # and as many near the surface.
            pad = 0.05 * (v.max(0) - v.min(0))
            uni = rng.uniform(v.min(0) - pad, v.max(0) + pad, size=(n_eval, 3))
            near = self.to_field(self.ref[0]) + rng.normal(0, near_sigma[0], size=(n_eval, 3))
            self.eval_uniform, self.eval_near = uni, near
            w_uni = self._winding(uni)
            ambiguous = float(((w_uni > 0.25) & (w_uni < 0.75)).mean())
            inside = w_uni > 0.5
            if ambiguous > 0.02 or not inside.any():
                raise InrkitError(
                    f"{data.name!r} does not enclose a volume (it is open, non-manifold or a single sheet: "
                    f"{100 * ambiguous:.0f}% of points are neither inside nor outside); signed distances and "
                    "occupancy need a closed mesh; fit its surface with `inrkit fit sdf --mode pointcloud`"
                )
            self.inside_uniform, self.inside_near = inside, self._winding(near) > 0.5
        if mode in ("mesh", "occupancy"):
            k = n_train // 5
            surf, _ = shape_metrics.sample_surface(v, data.faces, n_train - k, seed=seed + 2)
            half = (n_train - k) // 2
            surf[:half] += rng.normal(0, near_sigma[0], size=(half, 3))
            surf[half:] += rng.normal(0, near_sigma[1], size=(n_train - k - half, 3))
            pool = np.concatenate([surf, rng.uniform(-1, 1, size=(k, 3))])  # (n_train, 3)
            pool = np.clip(pool, -1, 1)
            self.pool = torch.from_numpy(pool.astype(np.float32))
            if mode == "mesh":
                self.target = torch.from_numpy(self.signed_distance(pool).astype(np.float32))  # (n_train,)
            else:
                self.target = torch.from_numpy((self._winding(pool) > 0.5).astype(np.float32))  # (n_train,)

    # -- coordinates ------------------------------------------------------------------------------
    def to_field(self, x: np.ndarray) -> np.ndarray:
        """Input units -> field cube: ``(x - center) * scale``."""
        return (np.asarray(x, np.float64) - self.center) * self.scale

    def to_input(self, x: np.ndarray) -> np.ndarray:
        """Field cube -> input units."""
        return np.asarray(x, np.float64) / self.scale + self.center

    def _winding(self, p: np.ndarray) -> np.ndarray:
        import point_cloud_utils as pcu

        v, f = self.vf
        return pcu.triangle_soup_fast_winding_number(v, f.astype(np.int32), np.ascontiguousarray(p, np.float64))

    def signed_distance(self, p: np.ndarray) -> np.ndarray:
        """True signed distance (field units, negative inside) at ``p: (N, 3)`` in field units."""
        import point_cloud_utils as pcu

        v, f = self.vf
        d, _, _ = pcu.closest_points_on_mesh(np.ascontiguousarray(p, np.float64), v, f.astype(np.int32))
        return np.where(self._winding(p) > 0.5, -d, d)

    # -- the fit loop's protocol -----------------------------------------------------------------
    @property
    def resolution(self) -> int:
        """The finest detail, in samples across the field's cube (``detail``): sizes hash grids."""
        return self.detail

    def metadata(self) -> dict:
        lo, hi = self.data.bounds()
        return {
            "kind": self.kind,
            "mode": self.mode,
            "source": self.data.name,
            "shape": [len(self.data.vertices), 0 if self.data.faces is None else len(self.data.faces)],
            "transform": {"center": [float(c) for c in self.center], "scale": float(self.scale)},
            "extent": self.extent,
            "bounds": [[float(x) for x in lo], [float(x) for x in hi]],
            "level": 0.0,
            "inside": "below" if self.kind == "sdf" else "above",
            "mesh_resolution": self.mesh_resolution,
            "detail": self.detail,
        }

    def _on(self, device) -> dict:
        key = str(device)
        if key not in self._device_cache:
            names = ("points", "normals", "pool", "target")
            self._device_cache = {key: {n: getattr(self, n).to(device) for n in names if hasattr(self, n)}}
        return self._device_cache[key]

    def loss(self, field, step: int, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """One batch of the forward model: a scalar loss (see the module doc for each mode)."""
        device = generator.device
        t = self._on(device)
        if self.mode == "pointcloud":
            return self._siren_loss(field, t, max(batch_size // 2, 1), generator)
        n = t["pool"].shape[0]
        idx = torch.randint(n, (min(batch_size, n),), device=device, generator=generator)  # (B,)
        x, target = t["pool"][idx], t["target"][idx]
        if self.mode == "mesh":
            return losses.l1(field(x)[:, 0], target)
        return losses.bce_logits(shape_function(field, "occupancy")(x), target)  # logits (B,)

    def _siren_loss(self, field, t: dict, half: int, gen: torch.Generator) -> torch.Tensor:
        w, device = self.weights, gen.device
        idx = torch.randint(t["points"].shape[0], (half,), device=device, generator=gen)  # (B/2,)
        off = torch.rand(half, 3, device=device, generator=gen) * 2 - 1  # (B/2, 3) uniform in the cube
        x = torch.cat([t["points"][idx], off]).requires_grad_(True)  # (B, 3)
        f = field(x)[:, 0]  # (B,)
        (g,) = torch.autograd.grad(f.sum(), x, create_graph=True)  # (B, 3)
        on = torch.zeros(2 * half, device=device)
        on[:half] = 1
        normals = torch.cat([t["normals"][idx], torch.zeros_like(off)])  # (B, 3)
        return losses.siren_sdf_loss(f, g, normals, on, surface=w.surface, normal=w.normal,
                                     off_surface=w.off_surface, eikonal_weight=w.eikonal, alpha=w.alpha)

    def predict(self, field, device=None) -> "ShapePrediction":
        """A lazy prediction: inside labels and the mesh are computed when first asked for."""
        return ShapePrediction(self, field, device)

    def evaluate(self, pred: "ShapePrediction", full: bool = True) -> dict:
        """IoU on the fixed point set (meshes); with ``full`` (or for point clouds, on a coarse mesh)
        Chamfer-L1/L2 in input units and as a fraction of the bounding-box diagonal, normal
        consistency and F-score at ``τ = fscore_ratio x diagonal``."""
        out = {}
        if self.data.is_mesh:
            out["iou"] = shape_metrics.iou(pred.inside(self.eval_uniform), self.inside_uniform)
            if full:
                out["iou_near_surface"] = shape_metrics.iou(pred.inside(self.eval_near), self.inside_near)
        if full or not self.data.is_mesh:
            v, f = pred.mesh(self.mesh_resolution if full else 64)
            tau = self.fscore_ratio * self.diagonal
            if len(f) == 0:
                empty = None if full else float("nan")
                out.update(chamfer_l1=empty, chamfer_l2=empty, normal_consistency=empty, fscore=empty)
            else:
                n = len(self.ref[0]) if full else 10_000
                samples = shape_metrics.sample_surface(v, f, n, seed=self.seed + 3)
                ref = self.ref if full else (self.ref[0][:n], self.ref[1][:n])
                ref_mesh = (self.data.vertices, self.data.faces) if self.data.is_mesh else None
                out.update(shape_metrics.surface_metrics(samples, ref, tau, pred_mesh=(v, f), ref_mesh=ref_mesh))
                out["chamfer_l1_ratio"] = out["chamfer_l1"] / self.diagonal
            if full:
                out.update(fscore_threshold=tau, bbox_diagonal=self.diagonal, mesh_vertices=len(v), mesh_faces=len(f))
        return out

    def save(self, path: str | Path, pred: "ShapePrediction") -> None:
        v, f = pred.mesh(self.mesh_resolution)
        if len(f) == 0:
            stale = Path(path).exists()
            if stale:  # an earlier run's mesh would pass for this field's
                Path(path).unlink()
            warnings.warn(f"the field has no surface at level 0: {path} was not written"
                          + (" (the earlier run's mesh there was removed)" if stale else ""))
            return
        save_mesh(path, v, f)


class ShapePrediction:
    """A fitted shape field, queried on demand (in input units)."""

    def __init__(self, signal: ShapeSignal, field, device=None):
        self.signal, self.field = signal, field
        self.device = device if device is not None else next(field.parameters()).device
        self.fn = shape_function(field, signal.kind)
        self._meshes: dict = {}

    def values(self, x_field: np.ndarray, chunk_size: int = 1 << 16) -> np.ndarray:
        """The implicit function at ``(N, 3)`` field coordinates: ``(N,)``."""
        return evaluate_points(self.fn, np.asarray(x_field, np.float64), 1, chunk_size, self.device)[:, 0]

    def inside(self, x_field: np.ndarray) -> np.ndarray:
        vals = self.values(x_field)
        return vals < 0 if self.signal.kind == "sdf" else vals > 0

    def mesh(self, resolution: int) -> tuple[np.ndarray, np.ndarray]:
        """Marching cubes over the field's cube at ``resolution``³, vertices in input units."""
        if resolution not in self._meshes:
            self._meshes[resolution] = mesh_field(
                self.field, self.signal.metadata(), resolution, device=self.device
            )
        return self._meshes[resolution]


def mesh_field(
    field,
    meta: dict,
    resolution: int,
    coarse_to_fine: bool | None = None,
    chunk_size: int = 1 << 17,
    device=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Mesh a shape field described by its signal metadata ``meta``: vertices ``(V, 3)`` in the
    input's units, faces ``(F, 3)``. ``coarse_to_fine`` defaults to on from 256³ up."""
    from ..meshing import extract_mesh

    ctf = resolution >= 256 if coarse_to_fine is None else coarse_to_fine
    fn = shape_function(field, meta["kind"])
    v, f = extract_mesh(fn, ((-1.0,) * 3, (1.0,) * 3), resolution, level=meta.get("level", 0.0),
                        inside=meta.get("inside", "below"), chunk_size=chunk_size, coarse_to_fine=ctf,
                        device=device)
    tr = meta["transform"]
    v = (v.astype(np.float64) / tr["scale"] + np.asarray(tr["center"])).astype(np.float32)
    return v, f


# ---------------------------------------------------------------- the kinds: `inrkit fit sdf|occupancy`, render, info


@dataclass
class _ShapeOptions:
    source: Positional[str] = "sample:torus"
    """Mesh (OBJ, PLY, STL, OFF, GLB), oriented point cloud (PLY with normals, .xyz) or sample:NAME
    (sphere, torus, box, capsule, cylinder)."""
    mesh_resolution: int = 256
    """Grid points per axis of the mesh written at the end (mesh.ply, in the input's units) and scored."""
    detail: int = 512
    """Finest detail in samples across the field's cube (sizes hash-grid presets' finest level)."""
    extent: float = 0.9
    """The shape's longest side spans [-extent, extent] of the field's cube [-1, 1]³."""
    n_train: int = 500_000
    """Supervised points in the training pool (mesh and occupancy modes; surface samples for a mesh
    fitted in pointcloud mode)."""
    fscore_ratio: float = 0.01
    """F-score threshold τ as a fraction of the bounding-box diagonal."""

    def _signal(self, mode: str, seed: int, **kw) -> ShapeSignal:
        return ShapeSignal(load_shape(self.source), mode=mode, extent=self.extent, detail=self.detail,
                           mesh_resolution=self.mesh_resolution, n_train=self.n_train,
                           fscore_ratio=self.fscore_ratio, seed=seed, **kw)


@dataclass
class SdfOptions(_ShapeOptions):
    """Fit a signed-distance field to a mesh or an oriented point cloud (or sample:NAME)."""

    mode: str = "auto"
    """auto (mesh for a mesh, pointcloud for a point cloud), mesh (true signed distances of a closed mesh)
    or pointcloud (the SIREN paper's losses on oriented points; a mesh is sampled)."""
    w_surface: float = 3e3
    """pointcloud: weight of |f| on the surface (SIREN: 3e3)."""
    w_normal: float = 1e2
    """pointcloud: weight of 1 - cos(∇f, n) on the surface (SIREN: 1e2)."""
    w_off_surface: float = 1e2
    """pointcloud: weight of exp(-α|f|) off the surface (SIREN: 1e2)."""
    w_eikonal: float = 5e1
    """pointcloud: weight of | ‖∇f‖ - 1 | (SIREN: 5e1)."""
    alpha: float = 1e2
    """pointcloud: α of the off-surface penalty (SIREN: 100)."""


@dataclass
class OccupancyOptions(_ShapeOptions):
    """Fit an occupancy field (inside/outside, binary cross-entropy) to a closed mesh (or sample:NAME)."""


def _load_sdf(o: SdfOptions, seed: int = 0, preset=None) -> ShapeSignal:
    if o.mode not in ("auto", "mesh", "pointcloud"):
        raise InrkitError(f"unknown sdf mode {o.mode!r}; expected auto, mesh or pointcloud")
    mode = o.mode
    if mode == "auto":
        mode = "mesh" if load_shape(o.source).is_mesh else "pointcloud"
    w = SdfLossWeights(o.w_surface, o.w_normal, o.w_off_surface, o.w_eikonal, o.alpha)
    return o._signal(mode, seed, weights=w)


def _load_occupancy(o: OccupancyOptions, seed: int = 0, preset=None) -> ShapeSignal:
    return o._signal("occupancy", seed)


def _summary(m: dict, o, signal) -> str:
    parts = []
    if m.get("iou") is not None:
        parts.append(f"IoU {m['iou']:.4f}")
    if m.get("chamfer_l1") is not None:
        parts.append(f"Chamfer-L1 {m['chamfer_l1']:.4g} ({100 * m['chamfer_l1_ratio']:.3f}% of the diagonal), "
                     f"normal consistency {m['normal_consistency']:.4f}, F-score {m['fscore']:.4f}")
    else:
        parts.append("no surface at level 0 (no mesh written)")
    return f"{m['preset']} on {o.source}: {', '.join(parts)}, {m['steps']} steps in {m['seconds']:.1f} s, " \
           f"{m['params']:,} parameters"


def _describe(sig: dict) -> str:
    shape = sig.get("shape") or [0]
    faces = f", {shape[1]:,} faces" if len(shape) > 1 and shape[1] else " (points)"
    return f"{sig['kind']} {sig.get('source', '')} ({sig.get('mode', sig['kind'])}), {shape[0]:,} vertices{faces}"


def _quality(m: dict) -> list[tuple[str, str]]:
    return [(key, f"{m[key]:.4g}") for key in ("iou", "chamfer_l1", "normal_consistency", "fscore")
            if m.get(key) is not None]


def render_field(field, size=None, azimuth: float | None = None, elevation: float | None = None,
                 camera_path: str | None = None, frames: int | None = None, chunk_size: int = 1 << 16, device=None,
                 progress: bool = True) -> np.ndarray:
    """A shaded preview of a fitted shape, ``(H, W, 3)`` float32 in [0, 1] (``size`` default 512x512, any
    aspect: the view widens, nothing stretches), from ``azimuth``/``elevation`` degrees (default 30, 20);
    with ``camera_path="orbit"`` a turntable of ``frames`` (default 120), ``uint8 (F, H, W, 3)``."""
    import math

    from ..outputs import field_meta, size_pair

    kind = field_meta(field, ("sdf", "occupancy"))["signal"]["kind"]
    az = 30.0 if azimuth is None else azimuth
    el = 20.0 if elevation is None else elevation
    if not (math.isfinite(az) and math.isfinite(el)):
        raise InrkitError(f"azimuth and elevation must be finite angles, got {az} and {el}")
    wh = (512, 512) if size is None else size_pair(size)
    if camera_path is None:
        return render_shape(field, kind, wh, az, el, chunk_size=chunk_size, device=device)
    if camera_path != "orbit":
        raise InrkitError(f"a shape's camera path is orbit (a turntable about the up axis), got {camera_path!r}; "
                          "spiral, dataset and camera files are for radiance fields")
    return render_shape_orbit(field, kind, wh, 120 if frames is None else frames, az, el, chunk_size=chunk_size,
                              device=device, progress=progress)


def write_field(field, out, folder, fps: float | None = None, **options) -> str:
    """``inrkit render`` of a shape: a shaded still (PNG) or, with ``camera_path="orbit"``, a turntable video."""
    from ..outputs import render_target
    from .image import WRITABLE, save_image
    from .video import save_video

    az = 30.0 if options.get("azimuth") is None else options["azimuth"]
    el = 20.0 if options.get("elevation") is None else options["elevation"]
    if options.get("camera_path") is None:
        render_target(out, folder, WRITABLE, "an image")
        image = render_field(field, **options)  # (H, W, 3) in [0, 1]
        h, w = image.shape[:2]
        target = render_target(out, folder, WRITABLE, "an image", f"render_{w}x{h}.png")
        save_image(target, image)
        return f"wrote {target} ({w}x{h}, azimuth {az:g}°, elevation {el:g}°)"
    if fps is not None and not fps > 0:
        raise InrkitError(f"fps must be positive, got {fps}")
    render_target(out, folder, (".mp4", ".gif"), "a video")
    frames = render_field(field, **options)  # (F, H, W, 3) uint8
    h, w = frames.shape[1:3]
    target = render_target(out, folder, (".mp4", ".gif"), "a video", f"render_orbit_{w}x{h}.mp4")
    written = save_video(target, frames, 30 if fps is None else fps)
    return f"wrote {written} ({len(frames)} frames of {w}x{h}, a turn from azimuth {az:g}° at elevation {el:g}°)"


SHAPE_SAMPLES = SampleSet("shapes", SHAPES)
SDF_KIND = Kind(name="sdf", help=SdfOptions.__doc__, options=SdfOptions, load=_load_sdf, summary=_summary,
                describe=_describe, quality=_quality, render=render_field, write=write_field,
                samples=SHAPE_SAMPLES, preset="ngp-sdf")
OCCUPANCY_KIND = Kind(name="occupancy", help=OccupancyOptions.__doc__, options=OccupancyOptions,
                      load=_load_occupancy, summary=_summary, describe=_describe, quality=_quality,
                      render=render_field, write=write_field, samples=SHAPE_SAMPLES, preset="ngp-occupancy")
