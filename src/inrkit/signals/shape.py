"""3D shapes as fields ``(x, y, z) -> signed distance`` or ``-> occupancy logit``.

Sources are meshes (OBJ, PLY, STL, OFF, GLB/GLTF through trimesh), oriented point
clouds (PLY with ``nx ny nz`` vertex properties, ``.xyz`` text with six columns
``x y z nx ny nz`` as the SIREN paper's data) and built-in procedural shapes
(``sample:NAME``, see :data:`SHAPES`).

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
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .. import losses, shape_metrics
from ..errors import InrkitError
from ..grids import evaluate_points
from ..io import atomic_path, input_file, output_folder_exists
from ..nerf.rendering import render_chunked
from ..nerf.sampling import ray_aabb
from .base import Signal

__all__ = [
    "SHAPES",
    "MODES",
    "ShapeData",
    "ShapeSignal",
    "SdfLossWeights",
    "load_shape",
    "save_mesh",
    "shape_function",
    "render_shape",
]

# Built-in procedural shapes (trimesh.creation), by name: description.
SHAPES = {
    "sphere": "unit sphere (icosphere, 5 subdivisions)",
    "torus": "torus, major radius 1, minor radius 0.35",
    "box": "box 1.6 x 1.0 x 1.2",
    "capsule": "capsule, radius 0.5, height 1",
    "cylinder": "cylinder, radius 0.5, height 1.5",
}
MODES = ("pointcloud", "mesh", "occupancy")
MESH_SUFFIXES = (".obj", ".ply", ".stl", ".off", ".glb", ".gltf")
SAVE_SUFFIXES = (".ply", ".obj", ".glb", ".stl", ".off")


@dataclass
class ShapeData:
    """A shape in its own units: a mesh (``faces`` set) or an oriented point cloud.

    ``vertices: (V, 3)`` float64; ``faces: (F, 3)`` int64 or None; ``normals: (V, 3)``
    unit point normals or None.
    """

    vertices: np.ndarray
    faces: np.ndarray | None = None
    normals: np.ndarray | None = None
    name: str = ""

    @property
    def is_mesh(self) -> bool:
        return self.faces is not None

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.vertices.min(0), self.vertices.max(0)


def _procedural(name: str) -> ShapeData:
    import trimesh

    make = {
        "sphere": lambda: trimesh.creation.icosphere(subdivisions=5, radius=1.0),
        "torus": lambda: trimesh.creation.torus(major_radius=1.0, minor_radius=0.35, major_sections=128,
                                                minor_sections=64),
        "box": lambda: trimesh.creation.box(extents=(1.6, 1.0, 1.2)),
        "capsule": lambda: trimesh.creation.capsule(height=1.0, radius=0.5, count=(64, 64)),
        "cylinder": lambda: trimesh.creation.cylinder(radius=0.5, height=1.5, sections=128),
    }[name]
    m = make()
    return ShapeData(np.asarray(m.vertices, np.float64), np.asarray(m.faces, np.int64), None, f"sample:{name}")


def load_shape(source: str) -> ShapeData:
    """Read a mesh or an oriented point cloud from ``source`` (a file, or ``sample:NAME``)."""
    if source.startswith("sample:"):
        name = source.split(":", 1)[1]
        if name not in SHAPES:
            raise InrkitError(f"unknown sample shape {name!r}; expected one of {', '.join(SHAPES)}")
        return _procedural(name)
    path = input_file(source, "shape file", "a mesh or point-cloud file")
    suffix = path.suffix.lower()
    if suffix == ".xyz":
        data = _read_xyz(path)
    elif suffix in MESH_SUFFIXES:
        data = _read_trimesh(path)
    else:
        raise InrkitError(
            f"{source!r} has an unsupported extension; expected a mesh ({', '.join(MESH_SUFFIXES)}) "
            "or a point cloud (.ply with normals, .xyz)"
        )
    v = data.vertices
    if len(v) == 0:
        raise InrkitError(f"{source!r} holds no vertices or points")
    if not np.isfinite(v).all():
        raise InrkitError(f"{source!r} has NaN or infinite coordinates")
    lo, hi = data.bounds()
    if not (hi - lo).max() > 0:
        raise InrkitError(f"{source!r} has no extent: all its points coincide")
    if data.normals is not None:
        n = np.linalg.norm(data.normals, axis=1)
        if not (np.isfinite(n).all() and n.min() > 0):
            raise InrkitError(f"{source!r} has zero, NaN or infinite normals")
        data.normals = data.normals / n[:, None]
    data.name = source
    return data


def _read_xyz(path: Path) -> ShapeData:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy warns on an empty file
            a = np.loadtxt(path, dtype=np.float64, ndmin=2, comments="#")
    except (ValueError, UnicodeDecodeError) as e:
        raise InrkitError(f"could not read {str(path)!r} as .xyz text with numbers in columns ({e})") from None
    if a.size == 0:
        raise InrkitError(f"{str(path)!r} holds no points")
    if a.shape[1] not in (3, 6):
        raise InrkitError(f"{str(path)!r} has {a.shape[1]} columns; expected x y z or x y z nx ny nz")
    return ShapeData(a[:, :3].copy(), None, a[:, 3:].copy() if a.shape[1] == 6 else None)


def _read_trimesh(path: Path) -> ShapeData:
    import trimesh

    try:
        loaded = trimesh.load(str(path), process=False)
    except Exception as e:  # each format's parser raises its own types
        raise InrkitError(f"could not read {str(path)!r} as a mesh ({type(e).__name__}: {e})") from None
    if isinstance(loaded, trimesh.Scene):
        geoms = [g for g in loaded.dump() if isinstance(g, trimesh.Trimesh) and len(g.faces)]
        if not geoms:
            raise InrkitError(f"{str(path)!r} holds no triangle mesh")
        loaded = trimesh.util.concatenate(geoms)
    if isinstance(loaded, trimesh.PointCloud) or (isinstance(loaded, trimesh.Trimesh) and len(loaded.faces) == 0):
        v = np.asarray(loaded.vertices, np.float64)
        return ShapeData(v, None, _ply_normals(loaded, len(v)))
    if not isinstance(loaded, trimesh.Trimesh):
        raise InrkitError(f"{str(path)!r} holds a {type(loaded).__name__}, not a mesh or point cloud")
    faces = np.asarray(loaded.faces, np.int64)
    v = np.asarray(loaded.vertices, np.float64)
    if len(faces) == 0 or faces.max() >= len(v) or faces.min() < 0:
        raise InrkitError(f"{str(path)!r} has faces that index missing vertices")
    return ShapeData(v, faces, None)


def _ply_normals(obj, n: int) -> np.ndarray | None:
    raw = obj.metadata.get("_ply_raw", {}).get("vertex", {}).get("data")
    # binary PLY: a structured array; ASCII PLY: a dict of columns
    names = raw.keys() if isinstance(raw, dict) else getattr(getattr(raw, "dtype", None), "names", None) or ()
    if not all(k in names for k in ("nx", "ny", "nz")):
        return None
    return np.stack([np.asarray(raw[k], np.float64).reshape(-1) for k in ("nx", "ny", "nz")], axis=1)[:n]


def save_mesh(path: str | Path, vertices: np.ndarray, faces: np.ndarray) -> None:
    """Write a triangle mesh (PLY, OBJ, GLB, STL or OFF by the suffix), atomically."""
    import trimesh

    path = Path(path)
    if path.suffix.lower() not in SAVE_SUFFIXES:
        raise InrkitError(f"cannot write a mesh as {path.name!r}; expected a name ending in {', '.join(SAVE_SUFFIXES)}")
    output_folder_exists(path)
    mesh = trimesh.Trimesh(np.asarray(vertices), np.asarray(faces), process=False)
    try:
        with atomic_path(path) as tmp:
            mesh.export(str(tmp), file_type=path.suffix.lower()[1:])
    except OSError as e:
        raise InrkitError(f"could not write {str(path)!r}: {e.strerror or e}") from None


def normalisation(data: ShapeData, extent: float) -> tuple[np.ndarray, float]:
    """``(center (3,), scale)`` putting the bounding box's longest side on ``[-extent, extent]``."""
    lo, hi = data.bounds()
    return (lo + hi) / 2, 2 * extent / float((hi - lo).max())


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
                data = _mesh_to_cloud(data, n_train, seed)
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


def _mesh_to_cloud(data: ShapeData, n: int, seed: int) -> ShapeData:
    """Oriented samples of a mesh's surface (for the point-cloud mode on a mesh or a procedural shape)."""
    pts, normals = shape_metrics.sample_surface(data.vertices, data.faces, n, seed=seed + 4)
    return ShapeData(pts, None, normals, data.name)


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


def _camera(azimuth: float, elevation: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orthographic view direction, right and up vectors (y is up)."""
    az, el = math.radians(azimuth), math.radians(elevation)
    eye = np.array([math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)])
    d = -eye
    right = np.cross(d, [0.0, 1.0, 0.0])
    if np.linalg.norm(right) < 1e-6:  # looking straight up or down
        right = np.array([1.0, 0.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, d)
    return d, right, up


def render_shape(
    field,
    kind: str,
    size: tuple[int, int] = (512, 512),
    azimuth: float = 30.0,
    elevation: float = 20.0,
    chunk_size: int = 1 << 16,
    max_steps: int = 128,
    device=None,
) -> np.ndarray:
    """A shaded image ``(H, W, 3)`` in [0, 1] of a shape field's surface, seen orthographically.

    Signed distances are sphere-traced (step ``0.9 f``, hit at ``|f| < 1e-3``); occupancy
    logits are marched in ``max_steps`` even steps across the cube and the crossing refined by
    bisection. Normals are ``∇f`` by autograd (``-∇logit`` for occupancy); the surface is
    lit by a headlight and a key light (Lambert) over an ambient term, the background is white.
    """
    w, h = size
    fn = shape_function(field, kind)
    device = device if device is not None else next(field.parameters()).device
    d, right, up = _camera(azimuth, elevation)
    # Pixel centres on a plane through the origin facing the camera, covering [-1.15, 1.15]².
    u = ((np.arange(w) + 0.5) / w * 2 - 1) * 1.15 * max(w / h, 1)
    vv = -((np.arange(h) + 0.5) / h * 2 - 1) * 1.15 * max(h / w, 1)
    uu, vg = np.meshgrid(u, vv)  # (H, W)
    origins = uu[..., None] * right + vg[..., None] * up - 2.0 * d  # (H, W, 3), 2 units in front
    dirs = torch.tensor(d, dtype=torch.float32, device=device)
    light = torch.tensor(-d + 0.6 * up + 0.4 * right, dtype=torch.float32, device=device)
    light = light / light.norm()
    colour = torch.tensor([0.62, 0.72, 0.86], device=device)

    def shade_rays(o: torch.Tensor, _d: torch.Tensor) -> dict[str, torch.Tensor]:
        o = o.to(device=device, dtype=torch.float32)  # (C, 3); every ray looks along `dirs`
        rgb = torch.ones(len(o), 3, device=device)  # white background
        t0, t1 = ray_aabb(o, dirs)  # (C,) entry and exit of the field's cube
        hit, t = (_sphere_trace if kind == "sdf" else _march)(fn, o, dirs, t0, t1, max_steps)
        if hit.any():
            x = (o[hit] + t[hit, None] * dirs).requires_grad_(True)  # (K, 3)
            with torch.enable_grad():
                (g,) = torch.autograd.grad(fn(x).sum(), x)
            n = g if kind == "sdf" else -g
            n = n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)
            shade = 0.25 + 0.45 * (n @ -dirs).clamp_min(0) + 0.35 * (n @ light).clamp_min(0)  # (K,)
            rgb[hit] = (colour * shade[:, None]).clamp(0, 1)
        return {"rgb": rgb}

    flat = torch.from_numpy(origins.reshape(-1, 3))  # (H W, 3) float64 on the CPU, cast per chunk
    image = render_chunked(shade_rays, flat, flat.new_tensor(d).expand_as(flat), chunk_size)["rgb"]  # (H W, 3)
    return image.cpu().numpy().reshape(h, w, 3)


@torch.no_grad()
def _sphere_trace(fn, o, d, t0, t1, max_steps):
    t = t0.clone()
    hit = torch.zeros_like(t, dtype=torch.bool)
    alive = t0 < t1
    for _ in range(max_steps):
        if not alive.any():
            break
        idx = alive.nonzero().flatten()
        f = fn(o[idx] + t[idx, None] * d)  # (K,)
        done = f.abs() < 1e-3
        hit[idx[done]] = True
        t[idx] += torch.where(done, torch.zeros_like(f), 0.9 * f)
        alive[idx[done]] = False
        alive &= (t < t1) & (t >= t0 - 1e-3)
    return hit, t


@torch.no_grad()
def _march(fn, o, d, t0, t1, max_steps):
    """Even steps of ``(t1 - t0) / max_steps`` until the logit turns positive, then bisection."""
    dt = (t1 - t0).clamp_min(0) / max_steps  # (C,)
    t = t0.clone()  # last point known outside
    found = torch.zeros_like(t0, dtype=torch.bool)
    alive = t0 < t1
    for _ in range(max_steps):
        if not alive.any():
            break
        idx = alive.nonzero().flatten()
        tk = t[idx] + dt[idx]
        inside = fn(o[idx] + tk[:, None] * d) > 0
        found[idx[inside]] = True
        t[idx] = torch.where(inside, t[idx], tk)
        alive[idx] = ~inside & (tk < t1[idx])
    idx = found.nonzero().flatten()
    lo, hi = t[idx], t[idx] + dt[idx]
    for _ in range(8):  # bisection of the first crossing
        mid = (lo + hi) / 2
        inside = fn(o[idx] + mid[:, None] * d) > 0
        hi, lo = torch.where(inside, mid, hi), torch.where(inside, lo, mid)
    t[idx] = hi
    return found, t


# -- querying a fitted shape in the input's units ---------------------------------------------------


def _fitted_shape(field, kind: str, function: str):
    """``field`` (or its checkpoint folder), once it is a fitted ``kind`` field, and its signal metadata."""
    from ..outputs import as_field, field_meta

    field = as_field(field)
    sig = field_meta(field, ("sdf", "occupancy"))["signal"]
    if sig["kind"] != kind:
        other = "occupancy_probability" if kind == "sdf" else "signed_distance"
        raise InrkitError(f"{function} needs an {kind} field, and this is an {sig['kind']} field "
                          f"(use inrkit.{other})")
    return field, sig


def _query_input_units(field, fn, points, sig: dict, chunk_size: int, post):
    """``post(fn(x_field))`` at ``points (..., 3)`` in the input's units: ``(...,)``, numpy for numpy
    input (chunked, no gradients), a differentiable tensor on the field's device for a tensor."""
    tr = sig["transform"]
    center, scale = np.asarray(tr["center"], np.float64), float(tr["scale"])
    device = next(field.parameters()).device
    if torch.is_tensor(points):
        if points.ndim == 0 or points.shape[-1] != 3:
            raise InrkitError(f"points must have shape (..., 3), got {tuple(points.shape)}")
        x = (points.to(device=device, dtype=torch.float32) - torch.as_tensor(center, dtype=torch.float32,
                                                                           device=device)) * scale  # (..., 3)
        return post(fn(x.reshape(-1, 3)).reshape(points.shape[:-1]))
    p = np.asarray(points, np.float64)
    if p.ndim == 0 or p.shape[-1] != 3:
        raise InrkitError(f"points must have shape (..., 3), got {p.shape}")
    if not np.isfinite(p).all():
        raise InrkitError("points must be finite (found NaN or infinity)")
    if not chunk_size >= 1:
        raise InrkitError(f"chunk size must be positive, got {chunk_size}")
    v = evaluate_points(fn, (p.reshape(-1, 3) - center) * scale, 1, int(chunk_size), device)[:, 0]  # (N,)
    return post(v).reshape(p.shape[:-1]).astype(np.float32)


def signed_distance(field, points, chunk_size: int = 1 << 16):
    """The signed distance of a fitted SDF field at ``points`` in the input's units, in the input's units
    (negative inside).

    The field works in its cube: ``x_field = (x - center) * scale`` with ``center`` and ``scale`` from
    ``field.meta["signal"]["transform"]``, and its distances are in cube units; this maps the points
    in and the distances back out (divided by ``scale``).

    Args:
        field: an ``sdf`` field from :func:`inrkit.load`, or its checkpoint folder.
        points: ``(..., 3)``. A numpy array (or list) gives a numpy ``(...,)`` float32, evaluated
            ``chunk_size`` points at a time without gradients; a torch tensor gives a ``(...,)``
            tensor on the field's device that gradients flow through (normals: its autograd gradient).

    Examples:
        >>> field = inrkit.load("runs/torus")    # doctest: +SKIP
        >>> inrkit.signed_distance(field, [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]).round(2)   # doctest: +SKIP
        array([-0.35,  0.65], dtype=float32)

        (``sample:torus`` has major radius 1 and minor radius 0.35: the tube's centre line is 0.35 inside.)
    """
    field, sig = _fitted_shape(field, "sdf", "signed_distance")
    scale = float(sig["transform"]["scale"])
    return _query_input_units(field, shape_function(field, "sdf"), points, sig, chunk_size, lambda v: v / scale)


def occupancy_probability(field, points, chunk_size: int = 1 << 16):
    """The probability that ``points (..., 3)`` in the input's units are inside a fitted occupancy field's
    shape: ``sigmoid(logit)`` of the field at ``(x - center) * scale`` (``meta["signal"]["transform"]``),
    ``(...,)`` in [0, 1]; numpy in, numpy out (chunked), tensor in, differentiable tensor out.

    Examples:
        >>> p = [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]                          # the tube's centre, the hole
        >>> inrkit.occupancy_probability("runs/torus-occ", p).round(2)       # doctest: +SKIP
        array([1., 0.], dtype=float32)
    """
    field, sig = _fitted_shape(field, "occupancy", "occupancy_probability")

    def sigmoid(v):
        return torch.sigmoid(v) if torch.is_tensor(v) else 1 / (1 + np.exp(-np.clip(v, -60, 60)))

    return _query_input_units(field, shape_function(field, "occupancy"), points, sig, chunk_size, sigmoid)


def render_shape_orbit(
    field,
    kind: str,
    size: tuple[int, int] = (512, 512),
    frames: int = 120,
    azimuth: float = 30.0,
    elevation: float = 20.0,
    chunk_size: int = 1 << 16,
    device=None,
    progress: bool = True,
) -> np.ndarray:
    """A turntable of a shape field: :func:`render_shape` at ``frames`` azimuths a full turn apart,
    starting at ``azimuth``, at ``elevation``: ``uint8 (F, H, W, 3)``.

    Examples:
        >>> clip = render_shape_orbit(inrkit.load("runs/torus"), "sdf", (64, 64), frames=4)   # doctest: +SKIP
        >>> clip.shape                                                                          # doctest: +SKIP
        (4, 64, 64, 3)
    """
    from ..progress import track

    if not (isinstance(frames, (int, np.integer)) and frames >= 1):
        raise InrkitError(f"frames must be a positive number of frames, got {frames}")
    frames, (w, h) = int(frames), size
    out = np.empty((frames, h, w, 3), np.uint8)
    for i in track(range(frames), "rendering", enabled=progress):
        image = render_shape(field, kind, size, azimuth + 360.0 * i / frames, elevation, chunk_size=chunk_size,
                             device=device)
        out[i] = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
    return out


__all__ += ["mesh_field", "occupancy_probability", "render_shape_orbit", "signed_distance"]
